/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ticket.h - the work order and the rules of its life, pure: no I/O.
 *
 * One table holds every legal transition (from-state, action, roles, guard,
 * to-state); ticket_check() answers whether a caller may do an action now
 * and why not, ticket_apply() makes the change to the in-memory order.  The
 * workflow module loads, checks, applies and stores, in one transaction.
 */
#ifndef HOTLINE_TICKET_H
#define HOTLINE_TICKET_H

#include "auth.h"
#include "calendar.h"

#include <stdint.h>

#define TICKET_ID_LEN       22 /* 440300-20241203-000123 */
#define UNIT_CODE_MAX       32
#define TICKET_CATEGORY_MAX 32

enum ticket_status {
    STATUS_REGISTERED,
    STATUS_ANSWERED,
    STATUS_REJECTED,
    STATUS_HANDLING,
    STATUS_RETURN_REQUESTED,
    STATUS_EXTENSION_REQUESTED,
    STATUS_COMPLETION_REQUESTED,
    STATUS_COMPLETED,
    STATUS_REDO_REQUESTED,
    STATUS_CLOSED,
    STATUS_TRANSFER_PENDING, /* offered to another node, or declined: the province decides */
    STATUS_TRANSFERRED,      /* another node owns it; this is a read-only copy */
    STATUS_ACCEPTED,         /* in scope and classified, waiting to be dispatched */
    STATUS_COUNT
};

enum ticket_kind {
    KIND_CONSULTATION,
    KIND_HELP,
    KIND_COMPLAINT,
    KIND_REPORT,
    KIND_SUGGESTION,
    KIND_COUNT
};

/* What a caller does to a ticket.  Reviews have one action per decision. */
enum ticket_action {
    ACTION_ANSWER,
    ACTION_REJECT,
    ACTION_DISPATCH,
    ACTION_RETURN,
    ACTION_RETURN_APPROVE,
    ACTION_RETURN_REFUSE,
    ACTION_EXTENSION,
    ACTION_EXTENSION_APPROVE,
    ACTION_EXTENSION_REFUSE,
    ACTION_COMPLETION,
    ACTION_COMPLETION_APPROVE,
    ACTION_COMPLETION_SEND_BACK,
    ACTION_NOTE,
    ACTION_SUPERVISE,
    ACTION_RATE,
    ACTION_REDO,
    ACTION_REDO_APPROVE,
    ACTION_REDO_REFUSE,
    ACTION_LINK,
    ACTION_TRANSFER,
    ACTION_DECLINE,
    ACTION_ACCEPT,
    ACTION_COUNT
};

/* A node's time limits: handling periods in working days by kind (Art 11)
 * and the rating window in natural days (Art 15). */
struct ticket_periods {
    int days[KIND_COUNT];
    int national; /* orders handed down by the national platform, any kind */
    int rating_window_days;
};

/* The fields of a ticket the rules read and write. */
struct ticket {
    char id[TICKET_ID_LEN + 1];
    enum ticket_status status;
    enum ticket_kind kind;
    char category[TICKET_CATEGORY_MAX + 1]; /* one of ticket_categories */
    char unit[UNIT_CODE_MAX + 1];           /* "" if none */
    int64_t received_at;                    /* the current unit's first receipt; 0 if none */
    int64_t deadline;                       /* 0 if none */
    int provisional;
    int returns, extensions;
    int no_return;
    int due_soon, overdue, supervised;
    int redos;           /* approved redos: at most one */
    int64_t rating_due;  /* end of the rating window; 0 if none is open */
    int rated;           /* the current round is rated */
    int emergency_hours; /* an emergency's period in hours (Art 14); 0 if none */
    int national;        /* handed down by the national platform (Art 11) */
    int64_t handed_at;   /* when a transfer gave it to this node; 0 if none */
    int transfer_final;  /* the province decided who owns it: no decline */
};

/* What the rules need besides the ticket: the time, the calendar, the periods. */
struct ticket_context {
    int64_t now;
    const struct calendar *calendar;
    const struct ticket_periods *periods;
};

/* The caller, as far as the rules care. */
struct ticket_caller {
    enum role role;
    const char *unit; /* the unit of a unit principal, else NULL */
};

/* Arguments of the actions that need them. */
struct ticket_input {
    const char *unit; /* dispatch, return approval: the unit to hand to */
    int no_return;    /* dispatch */
    /* accept: the kind and category the operator judged; NULL: as they are */
    const char *kind, *category;
};

/* Why an action is refused: the HTTP status, a code and a message. */
struct ticket_refusal {
    int status;
    const char *code;
    const char *message;
    const char *field; /* the input field at fault, or NULL */
};

/*
 * Decides whether 'caller' may do 'action' with 'in' (NULL: any input) to
 * 't' now.  Returns 0, or -1
 * with the reason in 'why': 403 when the role may never do it, 404 when the
 * ticket is outside the caller's scope, 409 when the ticket's state or the
 * rules forbid it now.
 */
int ticket_check(const struct ticket *t, enum ticket_action action,
                 const struct ticket_caller *caller, const struct ticket_input *in,
                 const struct ticket_context *ctx, struct ticket_refusal *why);

/*
 * Makes 'action' happen to 't' (already checked): the new status, and the
 * unit, receipt, deadline and counters it changes.
 */
void ticket_apply(struct ticket *t, enum ticket_action action, const struct ticket_input *in,
                  const struct ticket_context *ctx);

/* Returns 1 if 'caller' may read 't' (a unit only its own orders), else 0. */
int ticket_visible(const struct ticket *t, const struct ticket_caller *caller);

/* Returns 1 if the order is still running (a deadline counts), else 0. */
int ticket_running(enum ticket_status status);
/* Returns 1 if the order is closed, else 0. */
int ticket_closed(enum ticket_status status);

/*
 * Closes a completed order whose rating window has ended at 'now'.
 * Returns 1 if it closed it, else 0.
 */
int ticket_expire(struct ticket *t, const struct ticket_context *ctx);

/*
 * Recomputes the due-soon and overdue flags of a running order at 'now'.
 * Returns a bit set: 1 if due_soon became set, 2 if overdue became set.
 */
int ticket_tick(struct ticket *t, const struct ticket_context *ctx);

/* The five domains of accepted appeals (Art 7), NULL-terminated. */
extern const char *const ticket_categories[];

/* The five kinds of appeal, by their names, NULL-terminated. */
extern const char *const ticket_kinds[];

/* Why an appeal is not accepted (Art 7 items 1 to 7), NULL-terminated. */
extern const char *const ticket_reject_reasons[];

/* Returns 1 if 'id' has the form of a ticket id (440300-20241203-000123). */
int ticket_id_valid(const char *id);

/* Names, as in the API and the database, and their parsers (0 or -1). */
const char *ticket_status_name(enum ticket_status s);
int ticket_status_parse(const char *s, enum ticket_status *out);
const char *ticket_kind_name(enum ticket_kind k);
int ticket_kind_parse(const char *s, enum ticket_kind *out);
/* The event name of an action, e.g. "return/review:approve". */
const char *ticket_action_name(enum ticket_action a);
/* The API name of an action, e.g. "return/review". */
const char *ticket_action_route(enum ticket_action a);

/*
 * Writes into 'out' the API names of the actions 'caller' may do now (the
 * two decisions of a review count as one, "return/review"), and returns
 * their number (at most ACTION_COUNT).
 */
size_t ticket_allowed(const struct ticket *t, const struct ticket_caller *caller,
                      const struct ticket_context *ctx, const char *out[ACTION_COUNT]);

#endif
