/* SPDX-License-Identifier: Apache-2.0 */
/*
 * workflow.h - the commands of the hotline: each is one PostgreSQL
 * transaction that checks the rules, changes the ticket and appends its
 * event together, so a ticket and its history never disagree.
 */
#ifndef HOTLINE_WORKFLOW_H
#define HOTLINE_WORKFLOW_H

#include "auth.h"
#include "db.h"
#include "pii.h"
#include "ticket.h"
#include "sign.h"
#include "ticketdb.h"

/* What every command of a node needs, read-only once the node runs. */
struct hotline {
    const char *node_code;
    struct ticket_periods periods;
    int repeat_window_days;
    struct pii_keys pii;
};

/* An intake as the API validated it, personal data in clear. */
struct intake {
    enum ticket_kind kind;
    const char *channel, *category, *content;
    const char *citizen_type;
    const char *name, *phone, *id_number, *contact; /* id_number, contact may be NULL */
    const char *division, *address;
    const double *lat, *lon;
    const struct emergency_rule *emergency; /* the emergency rule it matched, or NULL */
    const char *source;                     /* "local" or "national_platform" */
    const char *media_url;                  /* an http(s) URL, or NULL */
    int answer_clear; /* the answer shows the citizen's data in clear: audited with the intake */
};

/* An action with its arguments and what it records. */
struct action_request {
    enum ticket_action action;
    struct ticket_input input;
    const char *reason;  /* the event's reason, may be NULL */
    const char *detail;  /* JSON text for the event, without personal data; may be NULL */
    const char *pending; /* JSON text kept while a manager decides; may be NULL */
    const char *outcome; /* JSON text of how the order ended; may be NULL */
    /* More to write in the same transaction once the ticket is changed, or
     * NULL.  Returns 0, or -1 to roll the whole command back. */
    int (*also)(struct db *db, const struct ticket *t, const struct principal *who, const void *arg,
                int64_t now);
    const void *also_arg;
};

/* Outcome of a command: done, refused by the rules, or failed. */
enum workflow_result {
    WORKFLOW_DONE,
    WORKFLOW_REFUSED,
    WORKFLOW_FAILED,
};

/*
 * Registers a new appeal for 'who', writes its id, and stores in '*repeats'
 * (a new JSON array, best first) the earlier appeals it likely repeats.
 * Returns WORKFLOW_DONE or WORKFLOW_FAILED (database or crypto failure,
 * logged; '*repeats' untouched).
 */
enum workflow_result workflow_intake(struct db *db, const struct hotline *h,
                                     const struct principal *who, const struct intake *in,
                                     char id[TICKET_ID_LEN + 1], json_t **repeats);

/*
 * The earlier appeals an appeal about 'content' in 'division' from the
 * phone 'phone' (NULL, or not a number: the place and words alone) would
 * likely repeat, as intake would find them, without registering anything:
 * a new JSON array, best first, or NULL on a database failure (logged).
 */
json_t *workflow_repeats(struct db *db, const struct hotline *h, const char *content,
                         const char *division, const char *phone);

/*
 * Does 'req' to ticket 'id' for 'who'.  WORKFLOW_REFUSED fills 'why' (404
 * for an unknown ticket or one outside the caller's scope); nothing changes
 * unless WORKFLOW_DONE.
 */
enum workflow_result workflow_act(struct db *db, const struct hotline *h,
                                  const struct principal *who, const char *id,
                                  const struct action_request *req, struct ticket_refusal *why);

/*
 * workflow_act() inside the caller's transaction, which it neither begins
 * nor ends: for changes a message from another node makes, applied with
 * the stream's cursor.  Nothing is written unless WORKFLOW_DONE; after
 * WORKFLOW_FAILED the caller rolls back.
 */
enum workflow_result workflow_act_within(struct db *db, const struct hotline *h,
                                         const struct principal *who, const char *id,
                                         const struct action_request *req,
                                         struct ticket_refusal *why);

/* The rules' context at this moment on this connection; NULL calendar on failure. */
struct ticket_context workflow_context(struct db *db, const struct hotline *h);

/* The caller as the rules see it. */
struct ticket_caller workflow_caller(const struct principal *who);

/*
 * Marks due-soon and overdue orders, and closes completed orders whose
 * rating window ended, with an event each.  Returns the number of orders
 * changed, or -1.  Runs in the clock thread.
 */
int workflow_tick(struct db *db, const struct hotline *h);

#endif
