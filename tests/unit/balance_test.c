/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of balance.c: a centre within its threshold keeps its calls;
 * an overflowing one goes to the helper with the most spare capacity, of its
 * own dialect region first, never to one disconnected, not taking overflow,
 * over its own threshold or without a free operator; if none, it stays.
 * Queued items go the same way, each counted in its helper's queue, and
 * never put a helper over its threshold. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "balance.h"

#include <string.h>

/* A connected centre of 'region' taking overflow, threshold 10, queue empty. */
static struct balance_centre centre(const char *code, const char *region, unsigned online,
                                    unsigned busy)
{
    return (struct balance_centre){.code = code,
                                   .name = code,
                                   .region = region,
                                   .connected = 1,
                                   .takes_overflow = 1,
                                   .queue_threshold = 10,
                                   .agents_online = online,
                                   .agents_busy = busy};
}

static void spare_capacity_is_online_minus_busy_never_negative(void **state)
{
    struct balance_centre c = centre("440100", "cantonese", 5, 2);

    (void)state;
    assert_int_equal(balance_spare(&c), 3);
    c.agents_busy = 7; /* figures of two moments: busy past online */
    assert_int_equal(balance_spare(&c), 0);
}

static void over_threshold_means_strictly_past_it(void **state)
{
    struct balance_centre c = centre("440100", "cantonese", 5, 2);

    (void)state;
    c.queue_depth = 10;
    assert_false(balance_over(&c));
    c.queue_depth = 11;
    assert_true(balance_over(&c));
    c.queue_threshold = 0;
    c.queue_depth = 1;
    assert_true(balance_over(&c));
}

static void a_centre_within_its_threshold_keeps_its_calls(void **state)
{
    struct balance_centre c[] = {centre("440100", "cantonese", 2, 2),
                                 centre("440300", "cantonese", 9, 0)};
    const char *reason;

    (void)state;
    c[0].queue_depth = 10;
    assert_int_equal(balance_route(c, 2, 0, &reason), 0);
    assert_string_equal(reason, "its queue is within its threshold");
}

static void an_overflowing_centre_prefers_its_dialect_region(void **state)
{
    struct balance_centre c[] = {
        centre("440000", "cantonese", 2, 0), centre("441400", "hakka", 3, 1),
        centre("441600", "hakka", 2, 1),     centre("440300", "cantonese", 9, 0),
        centre("445100", "teochew", 5, 0),
    };
    const char *reason;

    (void)state;
    c[1].queue_depth = 30; /* Meizhou overflows: Heyuan, also Hakka, though it has less room */
    assert_int_equal(balance_route(c, 5, 1, &reason), 2);
    assert_non_null(strstr(reason, "dialect region"));
    c[2].agents_busy = 2; /* Heyuan full: the most spare capacity anywhere */
    assert_int_equal(balance_route(c, 5, 1, &reason), 3);
    assert_string_equal(reason, "over its threshold; the centre with the most spare capacity");
}

static void helpers_that_cannot_help_are_skipped(void **state)
{
    struct balance_centre c[] = {
        centre("440100", "cantonese", 1, 1), centre("440300", "cantonese", 9, 0),
        centre("440400", "cantonese", 8, 0), centre("440600", "cantonese", 7, 0),
        centre("441900", "cantonese", 6, 0), centre("442000", "cantonese", 1, 0),
    };
    const char *reason;

    (void)state;
    c[0].queue_depth = 11;
    c[1].connected = 0;      /* its figures are stale */
    c[2].takes_overflow = 0; /* not a helper */
    c[3].queue_depth = 12;   /* itself over */
    c[4].agents_busy = 6;    /* no free operator */
    assert_int_equal(balance_route(c, 6, 0, &reason), 5);
}

static void nobody_can_help_so_the_call_stays(void **state)
{
    struct balance_centre c[] = {centre("440100", "cantonese", 1, 1), centre("440300", NULL, 9, 9)};
    const char *reason;

    (void)state;
    c[0].queue_depth = 50;
    assert_int_equal(balance_route(c, 2, 0, &reason), 0);
    assert_string_equal(reason, "no centre can help");
    /* a lone centre, over its threshold, also keeps its calls */
    assert_int_equal(balance_route(c, 1, 0, &reason), 0);
    assert_string_equal(reason, "no centre can help");
}

static void a_centre_without_region_takes_the_most_spare(void **state)
{
    struct balance_centre c[] = {centre("440100", NULL, 1, 1), centre("440300", "cantonese", 3, 0),
                                 centre("441400", "hakka", 4, 0),
                                 centre("445100", "teochew", 4, 0)};
    const char *reason;

    (void)state;
    c[0].queue_depth = 11;
    /* a tie goes to the first listed */
    assert_int_equal(balance_route(c, 4, 0, &reason), 2);
}

static void items_fill_helpers_up_to_their_thresholds(void **state)
{
    struct balance_centre c[] = {centre("440100", "cantonese", 1, 1),
                                 centre("440300", "cantonese", 2, 0),
                                 centre("441400", "hakka", 5, 0)};
    const char *reason;
    size_t got[6];

    (void)state;
    c[0].queue_depth = 30;
    c[1].queue_threshold = 2;
    c[2].queue_threshold = 3;
    c[2].queue_depth = 1;
    for (size_t i = 0; i < 6; i++)
        got[i] = balance_assign(c, 3, 0, &reason);
    /* Shenzhen, of the same region, until full; then Meizhou until full; then nobody. */
    assert_int_equal(got[0], 1);
    assert_int_equal(got[1], 1);
    assert_int_equal(got[2], 2);
    assert_int_equal(got[3], 2);
    assert_int_equal(got[4], 3);
    assert_int_equal(got[5], 3);
    assert_string_equal(reason, "no centre can take it");
    assert_int_equal(c[1].queue_depth, 2);
    assert_int_equal(c[2].queue_depth, 3);
    assert_false(balance_over(&c[1]));
    assert_false(balance_over(&c[2]));
    assert_int_equal(c[0].queue_depth, 30); /* what stays home is the home's to count */
}

static void items_never_go_to_a_centre_over_its_threshold(void **state)
{
    struct balance_centre c[] = {
        centre("440100", "cantonese", 1, 1), centre("440300", "cantonese", 1, 0),
        centre("440600", "cantonese", 9, 0), centre("440400", "cantonese", 9, 0),
        centre("441900", "cantonese", 9, 0), centre("442000", "cantonese", 9, 9),
    };
    const char *reason;

    (void)state;
    c[2].queue_depth = 11;   /* over: most spare capacity, still no help */
    c[3].queue_depth = 10;   /* at its threshold: one more would put it over */
    c[4].takes_overflow = 0; /* not a helper */
    assert_int_equal(balance_assign(c, 6, 0, &reason), 1);
    assert_non_null(strstr(reason, "dialect region"));
    c[1].connected = 0;
    assert_int_equal(balance_assign(c, 6, 0, &reason), 6);
    /* the home itself is never its own helper */
    c[0].agents_busy = 0;
    assert_int_equal(balance_assign(c, 6, 0, &reason), 6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(spare_capacity_is_online_minus_busy_never_negative),
        cmocka_unit_test(over_threshold_means_strictly_past_it),
        cmocka_unit_test(a_centre_within_its_threshold_keeps_its_calls),
        cmocka_unit_test(an_overflowing_centre_prefers_its_dialect_region),
        cmocka_unit_test(helpers_that_cannot_help_are_skipped),
        cmocka_unit_test(nobody_can_help_so_the_call_stays),
        cmocka_unit_test(a_centre_without_region_takes_the_most_spare),
        cmocka_unit_test(items_fill_helpers_up_to_their_thresholds),
        cmocka_unit_test(items_never_go_to_a_centre_over_its_threshold),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
