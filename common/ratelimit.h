/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ratelimit.h - how often one client may try something: a bounded table of
 * clients (an address as text), each with a window of attempts and failures.
 *
 * Within a window a client may make 'max_attempts' attempts; 'max_failures'
 * failed ones block it for a whole window from the last failure, whatever
 * it sends next.  Time is passed in, so the rules are tested without a clock.
 * One table may be shared by every thread: each call takes its mutex.
 */
#ifndef HOTLINE_RATELIMIT_H
#define HOTLINE_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

#define RATELIMIT_CLIENT_MAX 63 /* longest client key kept; longer ones are cut */

struct ratelimit;

struct ratelimit_rules {
    int64_t window_us; /* length of a window, microseconds, > 0 */
    int max_attempts;  /* attempts admitted per window, > 0 */
    int max_failures;  /* failures per window that block the client, > 0 */
};

/*
 * A table for at most 'capacity' clients at a time, applying 'rules'
 * (copied).  Returns it, or NULL if out of memory or the rules are not
 * positive.  When the table is full, a newcomer takes the place of a client
 * whose window is over, else of the least recently seen client that is not
 * blocked; if every client is blocked, the newcomer waits too (fail closed).
 */
struct ratelimit *ratelimit_new(const struct ratelimit_rules *rules, size_t capacity);

/* Frees the table; ratelimit_free(NULL) does nothing. */
void ratelimit_free(struct ratelimit *rl);

/*
 * Admits one attempt of 'client' at 'now' (microseconds) and counts it.
 * Returns 0 if admitted, else the whole seconds (at least 1) the client
 * must wait before it is admitted again.
 */
int64_t ratelimit_admit(struct ratelimit *rl, const char *client, int64_t now);

/* Counts one failed attempt of 'client' at 'now'; blocks it at the limit. */
void ratelimit_fail(struct ratelimit *rl, const char *client, int64_t now);

#endif
