/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of restriction.c's pure part: the numbers a restriction knows
 * and the length of a restriction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "clock.h"
#include "restriction.h"

#include <string.h>

static void check(const char *phone, const char *expected)
{
    char out[RESTRICTION_PHONE_MAX + 1] = "untouched";

    if (expected == NULL) {
        assert_int_equal(restriction_phone_normalize(phone, out), -1);
        assert_string_equal(out, "untouched");
    } else {
        assert_int_equal(restriction_phone_normalize(phone, out), 0);
        assert_string_equal(out, expected);
    }
}

static void mobiles_are_kept_as_they_are(void **state)
{
    (void)state;
    check("13800138000", "13800138000");
    check("19912345678", "19912345678");
}

static void landlines_lose_their_dash(void **state)
{
    (void)state;
    check("020-87654321", "02087654321");
    check("02087654321", "02087654321");
    check("0753-2345678", "07532345678");
    check("0753-23456789", "075323456789");
    check("0201234567", "0201234567");
}

static void anything_else_is_refused(void **state)
{
    (void)state;
    check("", NULL);
    check("12800138000", NULL);  /* mobiles start 13-19 */
    check("1380013800", NULL);   /* 10 digits */
    check("138001380001", NULL); /* 12 digits */
    check("+8613800138000", NULL);
    check("138 0013 8000", NULL);
    check("020-876543", NULL);    /* 6 digits after the area code */
    check("020-876543210", NULL); /* 9 */
    check("02-87654321", NULL);   /* 2-digit area code */
    check("020-8765-4321", NULL);
    check("020-", NULL);
    check("020876543", NULL);     /* 9 digits */
    check("0208765432109", NULL); /* 13 */
    check("abc", NULL);
}

static void a_restriction_lasts_30_natural_days(void **state)
{
    int64_t from, until, expected;

    (void)state;
    assert_int_equal(RESTRICTION_DAYS, 30);
    assert_int_equal(clock_parse("2024-11-04T10:00:00+08:00", &from), 0);
    assert_int_equal(clock_parse("2024-12-04T10:00:00+08:00", &expected), 0);
    until = restriction_until(from);
    assert_true(until == expected);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mobiles_are_kept_as_they_are),
        cmocka_unit_test(landlines_lose_their_dash),
        cmocka_unit_test(anything_else_is_refused),
        cmocka_unit_test(a_restriction_lasts_30_natural_days),
    };
    return cmocka_run_group_tests_name("restriction", tests, NULL, NULL);
}
