/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stream.h - the sender of one sequenced stream over a link: a bounded
 * window of unacknowledged messages, cumulative acknowledgements, resending
 * from the last acknowledged message on a new session, a gap or a timeout.
 *
 * Pure bookkeeping over the outbox; the caller owns the socket and gives a
 * function that puts a batch on the wire.
 */
#ifndef HOTLINE_STREAM_H
#define HOTLINE_STREAM_H

#include "db.h"
#include "outbox.h"

#include <stdint.h>

/* At most this many messages may be sent and not yet acknowledged. */
#define STREAM_WINDOW 2000

struct stream_sender {
    int stream;
    char peer[8];        /* the queue's peer (outbox.h) */
    uint64_t sent;       /* the last number sent in this session */
    uint64_t acked;      /* the last number the peer applied */
    int64_t progress_ms; /* when the peer last acknowledged something new */
};

/* Puts the first messages of batch 'b' on the wire, as many as one envelope
 * holds.  Returns how many it sent (at least one), or -1 if it could not
 * send now. */
typedef int stream_send_fn(void *arg, int stream, const struct outbox_batch *b, uint64_t oldest);

/* Starts a session of the queue of 'stream' to 'peer': everything after
 * the acknowledged number is (re)sent.  Returns 0, or -1 if the outbox
 * cannot be read. */
int stream_start(struct stream_sender *s, struct db *db, int stream, const char *peer,
                 int64_t now_ms);

/*
 * Sends batches while the window allows, at 'now_ms'.  Returns the number
 * of messages sent, or -1 on a database error.
 */
int stream_pump(struct stream_sender *s, struct db *db, stream_send_fn *send, void *arg,
                int64_t now_ms);

/*
 * Takes the peer's acknowledgement of everything up to 'seq'; with
 * 'resend', the peer has a gap after 'seq' and what follows is sent again.
 * Returns 0 or -1.
 */
int stream_ack(struct stream_sender *s, struct db *db, uint64_t seq, int resend, int64_t now_ms);

/* Sends again from the acknowledged number if nothing new was acknowledged
 * for 'timeout_ms' while messages were in flight. */
void stream_check(struct stream_sender *s, int64_t now_ms, int64_t timeout_ms);

/* Messages sent and not yet acknowledged. */
uint64_t stream_in_flight(const struct stream_sender *s);

#endif
