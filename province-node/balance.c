/* SPDX-License-Identifier: Apache-2.0 */
/*
 * balance.c - the province's load-balancing decision.
 *
 * Runs in the province's HTTP workers, on figures the handler read from the
 * registry (cities, from their heartbeats) and computed locally (the
 * province's own hotline).  No I/O, no clock, no state.
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

/* The index of the best helper of c[home], of its region only if 'region'; n if none. */
static size_t best_helper(const struct balance_centre *c, size_t n, size_t home, int region)
{
    size_t best = n;

    for (size_t i = 0; i < n; i++) {
        if (i == home || !c[i].connected || !c[i].takes_overflow || balance_over(&c[i]) ||
            balance_spare(&c[i]) == 0 || (region && !same_region(&c[home], &c[i])))
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
    if ((at = best_helper(c, n, home, 1)) < n) {
        *reason = "over its threshold; the centre of its dialect region with the most spare "
                  "capacity";
        return at;
    }
    if ((at = best_helper(c, n, home, 0)) < n) {
        *reason = "over its threshold; the centre with the most spare capacity";
        return at;
    }
    *reason = "no centre can help";
    return home;
}
