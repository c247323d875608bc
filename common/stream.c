/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stream.c - window, acknowledgements and resends of one outgoing stream.
 *
 * Runs in a link thread.  Every path back to "send again from the last
 * acknowledged message" is safe because the receiver applies each number
 * once and acknowledges duplicates without applying them.  The window
 * (stream.h) keeps what is in flight small enough for the link: without
 * it, a link too slow to carry a full batch between two heartbeats lost
 * every session in the middle of that batch.  A peer may send any
 * acknowledgement as often as it likes: its lines are held back to one
 * per peer, kind and minute, in the link thread's table.
 */
#include "stream.h"

#include "log.h"

#include <stdio.h>

static _Thread_local struct log_limit stream_logs;

int stream_start(struct stream_sender *s, struct db *db, int stream, const char *peer,
                 int64_t now_ms, int64_t timeout_ms)
{
    s->stream = stream;
    snprintf(s->peer, sizeof(s->peer), "%s", peer);
    if (outbox_acked(db, stream, s->peer, &s->acked, &s->numbered) < 0)
        return -1;
    s->sent = s->acked;
    s->progress_ms = now_ms;
    s->timeout_ms = timeout_ms;
    s->window = 1;
    return 0;
}

int stream_pump(struct stream_sender *s, struct db *db, stream_send_fn *send, void *arg,
                int64_t now_ms)
{
    int total = 0;

    while (s->sent - s->acked < s->window) {
        struct outbox_batch b;
        int rc = outbox_next(db, s->stream, s->peer, s->sent, &b);
        if (rc <= 0)
            return rc < 0 ? -1 : total;
        if (b.n > s->window - (s->sent - s->acked))
            b.n = (size_t)(s->window - (s->sent - s->acked));
        int n = send(arg, s->stream, &b, s->acked + 1);
        outbox_batch_clear(&b);
        if (n <= 0)
            break;
        /* The timeout runs from the first message in flight. */
        if (s->sent == s->acked)
            s->progress_ms = now_ms;
        s->sent += (uint64_t)n;
        if (s->sent > s->numbered)
            s->numbered = s->sent;
        total += n;
    }
    return total;
}

int stream_ack(struct stream_sender *s, struct db *db, uint64_t seq, int resend, int64_t now_ms)
{
    char kind[32];
    if (seq > s->numbered) {
        snprintf(kind, sizeof(kind), "beyond|%s|%d", s->peer, s->stream);
        log_limited(&stream_logs, LOG_LEVEL_WARN, kind,
                    "'%s' acknowledged %llu of stream %d, beyond %llu sent", s->peer,
                    (unsigned long long)seq, s->stream, (unsigned long long)s->numbered);
        return 0;
    }
    /* Applied before a session or a timeout started sending again: what
     * was sent again is a duplicate there, and the peer's cursor is where
     * to go on from. */
    if (seq > s->sent)
        s->sent = seq;
    if (seq > s->acked) {
        if (outbox_ack(db, s->stream, s->peer, seq) < 0)
            return -1;
        if (now_ms - s->progress_ms < s->timeout_ms / 4 && s->window < STREAM_WINDOW)
            s->window = s->window * 2 < STREAM_WINDOW ? s->window * 2 : STREAM_WINDOW;
        s->acked = seq;
        s->progress_ms = now_ms;
    }
    if (resend) {
        snprintf(kind, sizeof(kind), "again|%s|%d", s->peer, s->stream);
        log_limited(&stream_logs, LOG_LEVEL_INFO, kind, "'%s' asks stream %d again from %llu",
                    s->peer, s->stream, (unsigned long long)seq + 1);
        s->sent = s->acked;
    }
    return 0;
}

void stream_check(struct stream_sender *s, int64_t now_ms)
{
    if (s->sent > s->acked && now_ms - s->progress_ms > s->timeout_ms) {
        uint64_t in_flight = s->sent - s->acked;
        s->window = in_flight / 4 > 1 ? in_flight / 4 : 1;
        log_info("no acknowledgement on stream %d for %lld ms: sending again from %llu,"
                 " %llu at a time",
                 s->stream, (long long)(now_ms - s->progress_ms), (unsigned long long)s->acked + 1,
                 (unsigned long long)s->window);
        s->sent = s->acked;
        s->progress_ms = now_ms;
    }
}

uint64_t stream_in_flight(const struct stream_sender *s)
{
    return s->sent - s->acked;
}
