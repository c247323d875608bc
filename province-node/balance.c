/* SPDX-License-Identifier: Apache-2.0 */
/*
 * balance.c - the province's load-balancing decision.
 *
 * Runs in the province's HTTP workers (live calls) and in its link thread
 * (queued items offered), on figures read from the registry (cities, from
 * their heartbeats) and computed locally (the province's own hotline).  No
 * I/O, no clock, no state.
 */
#include "balance.h"

#include <assert.h>
#include <string.h>

const char *const balance_regions[] = {"cantonese", "hakka", "teochew", NULL};

int balance_over(const struct balance_centre *c)
{
    return c->queue_depth > c->queue_threshold;
}

unsigned balance_spare(const struct balance_centre *c)
{
    return c->agents_online > c->agents_busy ? c->agents_online - c->agents_busy : 0;
}

static int same_region(const struct balance_centre *a, const struct balance_centre *b)
{
    return a->region != NULL && b->region != NULL && strcmp(a->region, b->region) == 0;
}

/*
 * The index of the best helper of c[home], of its region only if 'region';
 * n if none.  A helper for a queued item needs room for it within its
 * threshold ('item'); for a call it need only not be over it.
 */
static size_t best_helper(const struct balance_centre *c, size_t n, size_t home, int region,
                          int item)
{
    size_t best = n;

    for (size_t i = 0; i < n; i++) {
        if (i == home || !c[i].connected || !c[i].takes_overflow || balance_over(&c[i]) ||
            (item && c[i].queue_depth == c[i].queue_threshold) || balance_spare(&c[i]) == 0 ||
            (region && !same_region(&c[home], &c[i])))
            continue;
        if (best == n || balance_spare(&c[i]) > balance_spare(&c[best]))
            best = i;
    }
    return best;
}

size_t balance_route(const struct balance_centre *c, size_t n, size_t home, const char **reason)
{
    size_t at;

    assert(home < n);
    if (!balance_over(&c[home])) {
        *reason = "its queue is within its threshold";
        return home;
    }
    if ((at = best_helper(c, n, home, 1, 0)) < n) {
        *reason = "over its threshold; the centre of its dialect region with the most spare "
                  "capacity";
        return at;
    }
    if ((at = best_helper(c, n, home, 0, 0)) < n) {
        *reason = "over its threshold; the centre with the most spare capacity";
        return at;
    }
    *reason = "no centre can help";
    return home;
}

size_t balance_assign(struct balance_centre *c, size_t n, size_t home, const char **reason)
{
    size_t at;

    assert(home < n);
    if ((at = best_helper(c, n, home, 1, 1)) < n)
        *reason = "the centre of its dialect region with the most spare capacity";
    else if ((at = best_helper(c, n, home, 0, 1)) < n)
        *reason = "the centre with the most spare capacity";
    else {
        *reason = "no centre can take it";
        return n;
    }
    c[at].queue_depth++;
    return at;
}
