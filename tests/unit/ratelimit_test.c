/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of ratelimit.c: attempts and failures per window, blocks and
 * their end, a clock that goes back, a full table, many threads at once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "ratelimit.h"

#include <pthread.h>
#include <stdio.h>

#define SECOND (1000000LL)
#define MINUTE (60 * SECOND)
#define T0     (1730685600LL * SECOND) /* 2024-11-04 10:00:00 +08:00 */

static const struct ratelimit_rules rules = {
    .window_us = 10 * MINUTE,
    .max_attempts = 5,
    .max_failures = 3,
};

static void attempts_within_the_limit_are_admitted(void **state)
{
    struct ratelimit *rl = ratelimit_new(&rules, 8);

    (void)state;
    for (int i = 0; i < 5; i++)
        assert_int_equal(ratelimit_admit(rl, "192.0.2.1", T0 + i * SECOND), 0);
    /* the sixth waits for the end of the window that began at T0 */
    assert_int_equal(ratelimit_admit(rl, "192.0.2.1", T0 + 5 * SECOND), 10 * 60 - 5);
    /* another client is not affected */
    assert_int_equal(ratelimit_admit(rl, "192.0.2.2", T0 + 5 * SECOND), 0);
    /* the window over, the client starts again */
    assert_int_equal(ratelimit_admit(rl, "192.0.2.1", T0 + 10 * MINUTE), 0);
    ratelimit_free(rl);
}

static void failures_block_for_a_window_from_the_last(void **state)
{
    struct ratelimit *rl = ratelimit_new(&rules, 8);
    const char *c = "2001:db8::1";

    (void)state;
    for (int i = 0; i < 2; i++) {
        assert_int_equal(ratelimit_admit(rl, c, T0 + i * MINUTE), 0);
        ratelimit_fail(rl, c, T0 + i * MINUTE);
    }
    /* two failures: still admitted */
    assert_int_equal(ratelimit_admit(rl, c, T0 + 2 * MINUTE), 0);
    ratelimit_fail(rl, c, T0 + 2 * MINUTE);
    /* the third blocks, whatever comes next, for 10 minutes from it */
    assert_int_equal(ratelimit_admit(rl, c, T0 + 3 * MINUTE), 9 * 60);
    assert_int_equal(ratelimit_admit(rl, c, T0 + 12 * MINUTE - 1), 1);
    assert_int_equal(ratelimit_admit(rl, c, T0 + 12 * MINUTE), 0);
    ratelimit_free(rl);
}

static void failures_of_an_old_window_are_forgotten(void **state)
{
    struct ratelimit *rl = ratelimit_new(&rules, 8);
    const char *c = "192.0.2.7";

    (void)state;
    for (int i = 0; i < 2; i++) {
        assert_int_equal(ratelimit_admit(rl, c, T0), 0);
        ratelimit_fail(rl, c, T0);
    }
    assert_int_equal(ratelimit_admit(rl, c, T0 + 11 * MINUTE), 0);
    ratelimit_fail(rl, c, T0 + 11 * MINUTE);
    assert_int_equal(ratelimit_admit(rl, c, T0 + 11 * MINUTE), 0);
    ratelimit_free(rl);
}

static void waits_round_up_to_whole_seconds(void **state)
{
    struct ratelimit *rl = ratelimit_new(&rules, 8);

    (void)state;
    for (int i = 0; i < 3; i++) {
        ratelimit_admit(rl, "c", T0);
        ratelimit_fail(rl, "c", T0);
    }
    assert_int_equal(ratelimit_admit(rl, "c", T0 + 10 * MINUTE - SECOND - 1), 2);
    assert_int_equal(ratelimit_admit(rl, "c", T0 + 10 * MINUTE - SECOND), 1);
    ratelimit_free(rl);
}

static void a_clock_that_goes_back_does_not_block_for_longer(void **state)
{
    struct ratelimit *rl = ratelimit_new(&rules, 8);

    (void)state;
    for (int i = 0; i < 3; i++) {
        ratelimit_admit(rl, "c", T0);
        ratelimit_fail(rl, "c", T0);
    }
    /* an hour back: the block lasts one window from now, not 70 minutes */
    assert_int_equal(ratelimit_admit(rl, "c", T0 - 60 * MINUTE), 10 * 60);
    assert_int_equal(ratelimit_admit(rl, "c", T0 - 50 * MINUTE), 0);
    ratelimit_free(rl);
}

static void a_full_table_replaces_the_least_recently_seen(void **state)
{
    struct ratelimit *rl = ratelimit_new(&rules, 2);

    (void)state;
    assert_int_equal(ratelimit_admit(rl, "a", T0), 0);
    ratelimit_fail(rl, "a", T0);
    assert_int_equal(ratelimit_admit(rl, "b", T0 + SECOND), 0);
    /* "c" takes the place of "a", which comes back with a clean record */
    assert_int_equal(ratelimit_admit(rl, "c", T0 + 2 * SECOND), 0);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(ratelimit_admit(rl, "a", T0 + 3 * SECOND), 0);
        ratelimit_fail(rl, "a", T0 + 3 * SECOND);
    }
    assert_int_equal(ratelimit_admit(rl, "a", T0 + 3 * SECOND), 0);
    ratelimit_free(rl);
}

static void blocked_clients_are_never_replaced(void **state)
{
    struct ratelimit *rl = ratelimit_new(&rules, 2);
    const char *clients[] = {"a", "b"};

    (void)state;
    for (int c = 0; c < 2; c++) {
        for (int i = 0; i < 3; i++) {
            ratelimit_admit(rl, clients[c], T0 + c * MINUTE);
            ratelimit_fail(rl, clients[c], T0 + c * MINUTE);
        }
    }
    /* every slot blocked: a newcomer waits until the first block ends */
    assert_int_equal(ratelimit_admit(rl, "c", T0 + 2 * MINUTE), 8 * 60);
    assert_int_equal(ratelimit_admit(rl, "a", T0 + 2 * MINUTE), 8 * 60);
    /* "a" released: "c" takes its place */
    assert_int_equal(ratelimit_admit(rl, "c", T0 + 10 * MINUTE), 0);
    assert_int_equal(ratelimit_admit(rl, "b", T0 + 10 * MINUTE), 60);
    ratelimit_free(rl);
}

static void long_keys_are_cut(void **state)
{
    struct ratelimit *rl = ratelimit_new(&rules, 4);
    char a[200], b[200];

    (void)state;
    snprintf(a, sizeof(a), "%0*d", 150, 1);
    snprintf(b, sizeof(b), "%0*d", 150, 2);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(ratelimit_admit(rl, a, T0), 0);
        ratelimit_fail(rl, a, T0);
    }
    /* same first RATELIMIT_CLIENT_MAX characters: the same client */
    assert_true(ratelimit_admit(rl, b, T0) > 0);
    ratelimit_free(rl);
}

static void bad_rules_are_refused(void **state)
{
    struct ratelimit_rules bad = rules;

    (void)state;
    assert_null(ratelimit_new(&rules, 0));
    bad.window_us = 0;
    assert_null(ratelimit_new(&bad, 4));
    bad = rules;
    bad.max_attempts = 0;
    assert_null(ratelimit_new(&bad, 4));
    bad = rules;
    bad.max_failures = -1;
    assert_null(ratelimit_new(&bad, 4));
    ratelimit_free(NULL);
}

#define THREADS    8
#define PER_THREAD 1000

static struct ratelimit *shared;
static int admitted[THREADS];

static void *hammer(void *arg)
{
    int t = (int)(intptr_t)arg;

    for (int i = 0; i < PER_THREAD; i++)
        admitted[t] += ratelimit_admit(shared, "one client", T0) == 0;
    return NULL;
}

static void threads_share_one_count(void **state)
{
    struct ratelimit_rules many = {.window_us = MINUTE, .max_attempts = 2500, .max_failures = 9};
    pthread_t threads[THREADS];
    int total = 0;

    (void)state;
    shared = ratelimit_new(&many, 16);
    for (int t = 0; t < THREADS; t++)
        assert_int_equal(pthread_create(&threads[t], NULL, hammer, (void *)(intptr_t)t), 0);
    for (int t = 0; t < THREADS; t++) {
        pthread_join(threads[t], NULL);
        total += admitted[t];
    }
    assert_int_equal(total, 2500);
    ratelimit_free(shared);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(attempts_within_the_limit_are_admitted),
        cmocka_unit_test(failures_block_for_a_window_from_the_last),
        cmocka_unit_test(failures_of_an_old_window_are_forgotten),
        cmocka_unit_test(waits_round_up_to_whole_seconds),
        cmocka_unit_test(a_clock_that_goes_back_does_not_block_for_longer),
        cmocka_unit_test(a_full_table_replaces_the_least_recently_seen),
        cmocka_unit_test(blocked_clients_are_never_replaced),
        cmocka_unit_test(long_keys_are_cut),
        cmocka_unit_test(bad_rules_are_refused),
        cmocka_unit_test(threads_share_one_count),
    };
    return cmocka_run_group_tests_name("ratelimit", tests, NULL, NULL);
}
