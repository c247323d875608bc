/* SPDX-License-Identifier: Apache-2.0 */
/*
 * deliver.h - the messages the province sends a node (STREAM_DOWN):
 * transfer offers and decisions, the status of tickets transferred away,
 * and province-wide broadcasts.
 *
 * Each message is one JSON object whose kind is its one top-level key
 * ({"offer": ...}, {"status": ...}, ...).  A city receives them over its
 * uplink; the province, which runs a hotline too, delivers its own to itself
 * in the transaction that made them, through the same handlers.
 */
#ifndef HOTLINE_DELIVER_H
#define HOTLINE_DELIVER_H

#include "db.h"
#include "node.h"

#include <stddef.h>
#include <stdint.h>

/*
 * Applies messages first .. first + n - 1 from the province at 'node' (an
 * inbox_apply_fn: 'arg' is the node), inside the caller's transaction.  A
 * message that is not well formed, or of an unknown kind, is logged and
 * left out; it would fail again on every resend.  Returns 0, or -1 on a
 * database error.
 */
int deliver_apply(void *arg, struct db *db, const char *peer, uint64_t first,
                  const char *const *items, const size_t *lens, size_t n);

/*
 * Province only: queues message 'body' (a JSON object text) for node 'to',
 * in the caller's transaction, or applies it at once when 'to' is the
 * province itself.  Returns 0, or -1 on a database error.
 */
int deliver_post(const struct node *node, struct db *db, const char *to, const char *body);

#endif
