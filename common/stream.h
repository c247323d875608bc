/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stream.h - the sender of one sequenced stream over a link: a bounded
 * window of unacknowledged messages, cumulative acknowledgements, resending
 * from the last acknowledged message on a new session, a gap or a timeout.
 *
 * The window adapts to the link.  Heartbeats share the connection with the
 * stream and wait behind what was sent before them, so what is in flight
 * must cross the link well within the time after which a silent peer is
 * taken for gone; otherwise a slow link drops every session in the middle
 * of the same batch and sends it again, forever.  A session starts with one
 * message in flight; the window doubles with every acknowledgement that
 * comes back within a quarter of that time, and a timeout shrinks it to a
 * quarter of what was in flight.
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
    uint64_t numbered;   /* the last number ever sent: the peer may have applied it */
    int64_t progress_ms; /* when the peer last acknowledged something new */
    int64_t timeout_ms;  /* silence after which what is in flight goes again */
    uint64_t window;     /* messages allowed in flight now: 1 to STREAM_WINDOW */
};

/* Puts the first messages of batch 'b' on the wire, as many as one envelope
 * holds.  Returns how many it sent (at least one), or -1 if it could not
 * send now. */
typedef int stream_send_fn(void *arg, int stream, const struct outbox_batch *b, uint64_t oldest);

/* Starts a session of the queue of 'stream' to 'peer': everything after
 * the acknowledged number is (re)sent, one message in flight at first;
 * 'timeout_ms' is how long the peer may stay silent (its heartbeats'
 * limit).  Returns 0, or -1 if the outbox cannot be read. */
int stream_start(struct stream_sender *s, struct db *db, int stream, const char *peer,
                 int64_t now_ms, int64_t timeout_ms);

/*
 * Sends batches while the window allows, at 'now_ms'.  Returns the number
 * of messages sent, or -1 on a database error.
 */
int stream_pump(struct stream_sender *s, struct db *db, stream_send_fn *send, void *arg,
                int64_t now_ms);

/*
 * Takes the peer's acknowledgement of everything up to 'seq'; with
 * 'resend', the peer has a gap after 'seq' and what follows is sent again.
 * 'seq' may lie past what was sent since the last session start or
 * timeout, when the peer applied it before: sending goes on after it.
 * A prompt acknowledgement widens the window.  Returns 0 or -1.
 */
int stream_ack(struct stream_sender *s, struct db *db, uint64_t seq, int resend, int64_t now_ms);

/* Sends again from the acknowledged number, with a narrower window, if
 * nothing new was acknowledged for the session's timeout while messages
 * were in flight. */
void stream_check(struct stream_sender *s, int64_t now_ms);

/* Messages sent and not yet acknowledged. */
uint64_t stream_in_flight(const struct stream_sender *s);

#endif
