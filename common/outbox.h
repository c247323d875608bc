/* SPDX-License-Identifier: Apache-2.0 */
/*
 * outbox.h - the sending side of exactly-once messaging: messages written
 * by workflow transactions, numbered when first sent, resent until
 * acknowledged, forgotten after.
 *
 * Only a node's link thread calls these, on its own connection; it is the
 * only one that numbers messages, so numbers are consecutive per stream.
 */
#ifndef HOTLINE_OUTBOX_H
#define HOTLINE_OUTBOX_H

#include "db.h"

#include <jansson.h>

#include <stddef.h>
#include <stdint.h>

/* At most this many messages go in one batch. */
#define OUTBOX_BATCH 200

/* A run of consecutive messages: item i has seq first + i. */
struct outbox_batch {
    PGresult *res; /* column 1 holds the bodies */
    uint64_t first;
    size_t n;
};

/* What the link reports about a stream. */
struct outbox_figures {
    uint64_t queued; /* not yet acknowledged, numbered or not */
    uint64_t acked;  /* the last acknowledged number */
    double lag;      /* seconds since the oldest unacknowledged message was written */
};

/*
 * A queue is a stream to one peer: 'peer' is a node code, or OUTBOX_UPLINK
 * for the node's uplink (the province; at the province, its own master
 * dataset).
 */
#define OUTBOX_UPLINK ""

/* Reads the last acknowledged number of a queue and, unless 'numbered' is
 * NULL, the last number given in it.  Returns 0 or -1. */
int outbox_acked(struct db *db, int stream, const char *peer, uint64_t *acked, uint64_t *numbered);

/*
 * The next batch after number 'after': messages already numbered (a resend)
 * or, when there are none, the oldest unnumbered ones, numbered now and
 * durably.  Returns 1 with 'b' filled, 0 if there is nothing to send, -1 on
 * error.  Release with outbox_batch_clear().
 */
int outbox_next(struct db *db, int stream, const char *peer, uint64_t after,
                struct outbox_batch *b);
void outbox_batch_clear(struct outbox_batch *b);

/*
 * Numbers the oldest unnumbered messages (a batch's worth) of each of the
 * 'n' queues of 'stream' to 'peers', durably and in one transaction, so
 * that messages to several peers wait for the disk once: outbox_next then
 * finds them numbered.  Returns 0 or -1.
 */
int outbox_number(struct db *db, int stream, const char *const *peers, size_t n);

/* The body of message i of 'b' and its length. */
const char *outbox_item(const struct outbox_batch *b, size_t i, size_t *len);

/* Forgets everything up to 'seq', which the peer has applied.  Returns 0 or -1. */
int outbox_ack(struct db *db, int stream, const char *peer, uint64_t seq);

/*
 * The queues to named peers (not the uplink) at 'now', as a JSON array of
 * {peer, stream, queued, in_flight, last_acked, lag_seconds}; in flight
 * counts what was numbered (sent at least once) and not acknowledged.
 * NULL on error.
 */
json_t *outbox_peer_queues(struct db *db, int64_t now);

/* Fills 'f' for a queue at 'now'.  Returns 0 or -1. */
int outbox_figures(struct db *db, int stream, const char *peer, int64_t now,
                   struct outbox_figures *f);

#endif
