/* SPDX-License-Identifier: Apache-2.0 */
/*
 * transferdb.h - a node's side of cross-jurisdiction transfers (Art 3,
 * Art 10; DESIGN.md "Ownership"), in the transactions of the workflow and
 * of the link.
 *
 * The origin offers a ticket it owns (workflow action "transfer", which
 * freezes it) with a signed offer, the ticket without personal data, its
 * events, and its personal data sealed for the province.  The province
 * forwards it; the target registers the ticket under the same id, frozen
 * too, and accepts at once with a signed acceptance.  The province's
 * decision is the hand-off: the new owner takes the ticket to triage, with
 * an event continuing the same chain; the others keep a read-only copy,
 * answered for progress queries with what the owner last sent.
 */
#ifndef HOTLINE_TRANSFERDB_H
#define HOTLINE_TRANSFERDB_H

#include "db.h"
#include "node.h"
#include "ticket.h"

#include <jansson.h>
#include <stdint.h>

/*
 * Pins the signing key of node 'code': the first one seen is kept; with
 * 'replace' a new one replaces it (it comes from a source that vouches for
 * it).  Returns 1 if 'key' is the node's key now, or the key it replaced
 * during the grace period transferdb_rekey() gave; 0 if another one is
 * pinned, -1 on error.
 */
int transferdb_pin_key(struct db *db, const char *code, const char *key, int replace, int64_t now);

/* Writes node 'code''s pinned key into 'out'.  Returns 1, 0 if none, -1 on error. */
int transferdb_key(struct db *db, const char *code, char out[SIGN_KEY_TEXT_LEN + 1]);

/*
 * Writes the signing keys of node 'code' accepted at 'now' into 'out': the
 * pinned one, then the one it replaced during its grace period.  Returns
 * how many, or -1 on error.
 */
int transferdb_keys(struct db *db, const char *code, int64_t now,
                    char out[2][SIGN_KEY_TEXT_LEN + 1]);

/*
 * Pins 'key' (base64 of an Ed25519 public key) as node 'code''s signing
 * key; the one it replaces is still accepted until 'until' (0: not at
 * all).  The same key again changes nothing.  Returns 1 if the key
 * changed, 0 if it was pinned already, -1 if 'key' is not a key or on a
 * database error.
 */
int transferdb_rekey(struct db *db, const char *code, const char *key, int64_t until, int64_t now);

/* Refuses the previous signing key of 'code' from now on.  Returns 1, 0 if
 * there was none, -1 on error. */
int transferdb_retire_key(struct db *db, const char *code);

/* Does an offer of ticket 'id' fit in one message (WIRE_MAX_ITEM, with room
 * for what the province adds)?  Returns 1, 0, or -1 on error. */
int transferdb_offer_fits(struct db *db, const char *id);

/* Workflow hooks ('arg' is the node) after the events of the actions
 * "transfer" and "transfer/decline": the transfer's row and its signed
 * message, queued for the province. */
int transferdb_offer(struct db *db, const struct ticket *t, const struct principal *who,
                     const void *arg, int64_t now);
int transferdb_decline(struct db *db, const struct ticket *t, const struct principal *who,
                       const void *arg, int64_t now);

/* Handlers of what the province sends (deliver.c): an offer, a decision,
 * a progress answer from the owner of a ticket this node holds a copy of.
 * Return 0 applied, 1 not well formed, -1 on a database error. */
int transferdb_on_offer(const struct node *node, struct db *db, json_t *v);
int transferdb_on_decision(const struct node *node, struct db *db, json_t *v);
int transferdb_on_progress(const struct node *node, struct db *db, json_t *v);

/* Queues the progress answer of the transferred tickets this node owns and
 * changed since, for the nodes holding copies.  Returns how many, or -1. */
int transferdb_progress_flush(const struct node *node, struct db *db);

/* The transfers of ticket 'id' with their signed messages, as JSON; NULL on error. */
json_t *transferdb_history(struct db *db, const char *id);

/*
 * Checks the signature of every stored transfer message against the key
 * stored with it, the key that signed it, which a key rotation does not
 * change.  Counts them in '*checked' and writes the first bad transfer id
 * into 'bad' ("" if none).  Returns 0, or -1 on error.
 */
int transferdb_verify(struct db *db, long long *checked, char *bad, size_t badlen);

#endif
