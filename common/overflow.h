/* SPDX-License-Identifier: Apache-2.0 */
/*
 * overflow.h - a node's side of overflow (Art 3, DESIGN.md "Load
 * balancing"): as the owner of an overflowing intake queue, and as a helper
 * that triages other centres' appeals.
 *
 * The owner offers the province what its queue holds past its threshold,
 * with what triage needs and nothing of the citizen; the province gives each
 * item to a helper or sends it back; the helper's operator accepts the
 * appeal or does not, with an Art 7 reason; the province passes the result
 * to the owner, which applies it to its ticket as its own operator's triage
 * would.  Whichever triage reaches the owner first wins.  Every message is
 * applied once, and applying one again changes nothing.
 *
 * Messages, each one JSON object whose one key is its kind:
 *   node to province, on the ticket stream:
 *     overflow_offer     {ticket, round, kind, channel, category, content,
 *                         division, address, created_at}
 *     overflow_withdraw  {ticket, round}: the owner's own operators triaged it
 *     overflow_triage    {ticket, round, decision, kind?, category?, reason?,
 *                         explanation?, operator}: the helper's triage
 *   province to node, on its stream down:
 *     balancing          {queue_threshold, takes_overflow, region}
 *     overflow_decision  {ticket, round, centre, centre_name}: to the owner;
 *                         centre null: no centre could take it
 *     overflow_assist    an offer with owner, owner_name: to the helper
 *     overflow_withdrawn {ticket, round}: to the helper
 *     overflow_result    a triage with centre, centre_name: to the owner
 */
#ifndef HOTLINE_OVERFLOW_H
#define HOTLINE_OVERFLOW_H

#include "auth.h"
#include "db.h"
#include "node.h"

#include <jansson.h>

/* An item offered: the appeal, without the citizen.  Strings point into
 * the JSON object read. */
struct overflow_item {
    const char *ticket;
    int round;
    const char *kind, *channel, *category, *content, *division, *address, *created_at;
};

/* A ticket's offer: its id and round. */
struct overflow_ref {
    const char *ticket;
    int round;
};

/* A helper's triage of an item. */
struct overflow_triage {
    const char *ticket;
    int round;
    const char *decision;        /* "accept" or "reject" */
    const char *kind, *category; /* accept: as the operator judged; NULL: as offered */
    const char *reason;          /* reject: one of ticket_reject_reasons but "repeat" */
    const char *explanation;     /* reject: what the citizen is told */
    const char *by;              /* the operator who triaged, at the helper */
};

/* The decisions of a triage, NULL-terminated. */
extern const char *const overflow_decisions[];

/*
 * Reads message value 'v' into 'out'.  Returns 0, or -1 if it is not well
 * formed (a field missing, of the wrong type, out of bounds or not one of
 * its values).  Pure.
 */
int overflow_item_read(json_t *v, struct overflow_item *out);
int overflow_ref_read(json_t *v, struct overflow_ref *out);
int overflow_triage_read(json_t *v, struct overflow_triage *out);

/*
 * Checks the rules of a triage whose fields are well formed: an acceptance
 * carries no reason, a refusal carries a reason and an explanation and no
 * kind or category, and "repeat" is not for a helper to judge (it cannot
 * see the owner's earlier appeals).  Returns 0, or -1 pointing 'field' at
 * the field at fault and 'why' at a message.  Pure.
 */
int overflow_triage_check(const struct overflow_triage *t, const char **field, const char **why);

/* The triage as a JSON object (without ticket and round); NULL on failure. */
json_t *overflow_triage_json(const struct overflow_triage *t);

/*
 * The clock's round at the owner, in one transaction: withdraws the items
 * out whose ticket its own operators have triaged since, and, while the
 * link to the province is up, offers what the home queue holds past the
 * threshold the province set (at most a hundred items a round; never an
 * emergency).  Returns the number of items offered or withdrawn, or -1.
 */
int overflow_tick(struct db *db, const struct node *node);

/*
 * Handlers of the province's messages (deliver.c), inside the stream's
 * transaction.  Each returns 0 when applied (or when it changes nothing: a
 * message seen before, or about an item that has moved on), 1 when the
 * message is not well formed, -1 on a database error.
 */
int overflow_on_balancing(const struct node *node, struct db *db, json_t *v);
int overflow_on_decision(const struct node *node, struct db *db, json_t *v);
int overflow_on_result(const struct node *node, struct db *db, json_t *v);
int overflow_on_assist(const struct node *node, struct db *db, json_t *v);
int overflow_on_withdrawn(const struct node *node, struct db *db, json_t *v);

/* The helper's items in 'state' ("open", "triaged" or "withdrawn"), oldest
 * first, as a JSON array; NULL on error. */
json_t *overflow_assists(struct db *db, const char *state);

enum overflow_result {
    OVERFLOW_DONE,
    OVERFLOW_UNKNOWN,   /* no such item here */
    OVERFLOW_WITHDRAWN, /* its owner triaged it first */
    OVERFLOW_TRIAGED,   /* triaged here already */
    OVERFLOW_FAILED,
};

/*
 * The helper's operator 'who' triages item 't->ticket' (its latest round:
 * 't->round' and 't->by' are set here): in one transaction the item is closed, its
 * content forgotten, and the triage queued for the province.  On
 * OVERFLOW_DONE '*item' is the item as it now is (the caller's to free).
 */
enum overflow_result overflow_triage(struct db *db, const struct principal *who,
                                     struct overflow_triage *t, json_t **item);

#endif
