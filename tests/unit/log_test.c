/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of log.c: lines a peer can repeat at will are held back
 * (log_limit_pass), once per kind and window. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "log.h"

#include <stdio.h>

#define T0 1000000 /* any monotonic time, in ms */

static void one_line_per_kind_and_window(void **state)
{
    struct log_limit l = {0};
    unsigned long held = 99;

    (void)state;
    assert_int_equal(log_limit_pass(&l, "bad envelope", T0, &held), 1);
    assert_int_equal(held, 0);
    for (int i = 1; i <= 500; i++)
        assert_int_equal(log_limit_pass(&l, "bad envelope", T0 + i, &held), 0);
    /* Another kind is not held back by the first. */
    assert_int_equal(log_limit_pass(&l, "multipart", T0 + 600, &held), 1);
    assert_int_equal(log_limit_pass(&l, "bad envelope", T0 + LOG_LIMIT_WINDOW_MS - 1, &held), 0);
    /* A window later: one line, telling how many were held back. */
    assert_int_equal(log_limit_pass(&l, "bad envelope", T0 + LOG_LIMIT_WINDOW_MS, &held), 1);
    assert_int_equal(held, 501);
    assert_int_equal(log_limit_pass(&l, "bad envelope", T0 + LOG_LIMIT_WINDOW_MS + 1, &held), 0);
}

static void numbers_make_no_new_kind(void **state)
{
    struct log_limit l = {0};
    unsigned long held;

    (void)state;
    assert_int_equal(log_limit_pass(&l, "unknown protocol version 0", T0, &held), 1);
    assert_int_equal(log_limit_pass(&l, "unknown protocol version 7", T0, &held), 0);
    assert_int_equal(log_limit_pass(&l, "unknown protocol version 4294967295", T0, &held), 0);
}

/* A peer that makes ever new kinds fills the table, then shares one line
 * per window with every other kind beyond it. */
static void each_peer_is_a_kind_of_its_own(void **state)
{
    struct log_limit l = {0};
    unsigned long held;

    (void)state;
    assert_int_equal(log_limit_pass(&l, "lost|440100|1", 0, &held), 1);
    assert_int_equal(log_limit_pass(&l, "lost|440300|1", 0, &held), 1);
    assert_int_equal(log_limit_pass(&l, "no key|127.0.0.2", 0, &held), 1);
    assert_int_equal(log_limit_pass(&l, "no key|127.0.0.3", 0, &held), 1);
    assert_int_equal(log_limit_pass(&l, "lost|440100|1", 1, &held), 0);
}

static void kinds_beyond_the_table_share_one_line(void **state)
{
    struct log_limit l = {0};
    unsigned long held;
    char kind[32];
    int written = 0;

    (void)state;
    for (int i = 0; i < 10 * LOG_LIMIT_SLOTS; i++) {
        snprintf(kind, sizeof(kind), "kind %c%c", 'a' + i % 26, 'a' + i / 26);
        written += log_limit_pass(&l, kind, T0, &held);
    }
    assert_int_equal(written, LOG_LIMIT_SLOTS + 1);
    /* A window later the slots are free again. */
    assert_int_equal(log_limit_pass(&l, "kind zz", T0 + LOG_LIMIT_WINDOW_MS, &held), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(one_line_per_kind_and_window),
        cmocka_unit_test(numbers_make_no_new_kind),
        cmocka_unit_test(each_peer_is_a_kind_of_its_own),
        cmocka_unit_test(kinds_beyond_the_table_share_one_line),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
