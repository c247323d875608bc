/* SPDX-License-Identifier: Apache-2.0 */
/*
 * transfer.h - the signed messages of a cross-jurisdiction transfer
 * (DESIGN.md "Ownership"), as both ends and the province build and check
 * them.
 *
 * A message is a JSON object, its "body", signed as the exact text it is
 * sent and stored as: compact with sorted keys.  Bodies:
 *   offer    {kind, transfer, ticket, from, to, epoch, reason, at,
 *             head: {seq, hash}}                                    origin
 *   accept   {kind, transfer, ticket, node, at}                     target
 *   decline  {kind, transfer, ticket, node, reason, at}             target
 *   decision {kind, transfer, ticket, owner, epoch, outcome, final,
 *             reason, at[, head]}                                   province
 * where head is the last event (seq, hash) of the ticket's chain; the
 * events that travel with the message must end there.
 * where outcome is handed_off (the target accepted: the hand-off),
 * refused (the offer could not be routed) or decided (after a decline).
 */
#ifndef HOTLINE_TRANSFER_H
#define HOTLINE_TRANSFER_H

#include "sign.h"

#include <jansson.h>

#define TRANSFER_ID_MAX 40 /* <ticket id>.<n> */

/* A signed message: the body's text and its signature. */
struct transfer_signed {
    char *text; /* free with free() */
    char signature[SIGN_SIG_TEXT_LEN + 1];
};

/* Signs 'body' (the reference is taken).  Returns 0, or -1 with nothing to free. */
int transfer_sign(const struct sign_key *k, json_t *body, struct transfer_signed *out);

/*
 * Reads the signed message in 'msg' ({"body": text, "signature": ...}),
 * checks the signature with the base64 key 'key' and that the body is of
 * 'kind' with the fields of its kind.  Returns the parsed body (decref it),
 * or NULL with the reason in 'why', fit for a log line.
 */
json_t *transfer_open(json_t *msg, const char *key, const char *kind, const char **why);

/* Is 'id' a transfer id: a ticket id, a dot, a number? */
int transfer_id_valid(const char *id);

#endif
