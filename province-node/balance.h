/* SPDX-License-Identifier: Apache-2.0 */
/*
 * balance.h - the province's load-balancing decision (Art 3, DESIGN.md
 * "Load balancing"): which centre should take an overflowing live call,
 * and which should triage an item an overflowing centre offers.
 * Pure: it reads the centres' figures and settings it is given and nothing
 * else, so the same answer comes for the same figures.
 */
#ifndef HOTLINE_BALANCE_H
#define HOTLINE_BALANCE_H

#include <stddef.h>

/* A node's queue threshold until an administrator sets one. */
#define BALANCE_DEFAULT_THRESHOLD 20

/* The dialect regions, NULL-terminated: cantonese, hakka, teochew. */
extern const char *const balance_regions[];

/* One centre (the province or a city) as the province sees it now. */
struct balance_centre {
    const char *code;
    const char *name;
    const char *region; /* one of balance_regions, or NULL: not set */
    int connected;      /* the province itself is always connected */
    int takes_overflow;
    unsigned queue_threshold;
    unsigned agents_online;
    unsigned agents_busy;
    unsigned queue_depth;
    unsigned oldest_wait_seconds;
};

/* Returns 1 if the queue of 'c' is past its threshold, else 0. */
int balance_over(const struct balance_centre *c);

/* Operators of 'c' online and not busy: online - busy, never negative. */
unsigned balance_spare(const struct balance_centre *c);

/*
 * Chooses the centre among the 'n' of 'c' that should take a live call
 * meant for c[home]: c[home] itself while its queue is within its
 * threshold; otherwise the connected centre that takes overflow, is not
 * over its own threshold and has the most spare capacity (at least one
 * operator), those of c[home]'s dialect region first, the first listed on a
 * tie; c[home] itself if none can.  Returns the index chosen and points
 * 'reason' at a static phrase that says why.  'home' must be below 'n'.
 */
size_t balance_route(const struct balance_centre *c, size_t n, size_t home, const char **reason);

/*
 * Chooses the centre among the 'n' of 'c' that should triage a queued item
 * c[home] offers because its queue is past its threshold: the connected
 * centre other than c[home] that takes overflow, has an operator free and
 * room for one more item within its threshold (the item must not put it
 * over), with the most spare capacity, those of c[home]'s dialect region
 * first, the first listed on a tie.  Counts the item in the chosen centre's
 * queue_depth, so a run of items fills helpers up to their thresholds and
 * no further.  Returns the index chosen, or 'n' when no centre can take
 * the item (it stays at home); points 'reason' at a static phrase that says
 * why.  'home' must be below 'n'.
 */
size_t balance_assign(struct balance_centre *c, size_t n, size_t home, const char **reason);

#endif
