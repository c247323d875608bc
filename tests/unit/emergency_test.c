/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of emergency.c: matching appeals against the emergency list. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "emergency.h"

static const struct emergency_rule rules[] = {
    {.id = 1,
     .version = 1,
     .category = NULL,
     .keywords = {"燃气泄漏", "煤气味"},
     .nkeywords = 2,
     .line = "119",
     .period_hours = 4},
    {.id = 2,
     .version = 3,
     .category = "public_service",
     .keywords = {"停水"},
     .nkeywords = 1,
     .line = "none",
     .period_hours = 24},
    {.id = 3,
     .version = 1,
     .category = NULL,
     .keywords = {"有人受伤", "煤气味"},
     .nkeywords = 2,
     .line = "120",
     .period_hours = 2},
};

#define N (sizeof(rules) / sizeof(rules[0]))

static void keyword_in_content_matches(void **state)
{
    const struct emergency_rule *r;

    (void)state;
    r = emergency_match(rules, N, "social_management", "三楼燃气泄漏，请快来");
    assert_non_null(r);
    assert_int_equal(r->id, 1);
    assert_null(emergency_match(rules, N, "social_management", "小区路灯坏了"));
}

static void category_restricts_a_rule(void **state)
{
    (void)state;
    assert_int_equal(emergency_match(rules, N, "public_service", "整栋楼停水两天")->id, 2);
    assert_null(emergency_match(rules, N, "market_supervision", "整栋楼停水两天"));
}

static void shortest_period_wins(void **state)
{
    (void)state;
    /* Both 1 (4 h) and 3 (2 h) match "煤气味": the faster one is chosen. */
    assert_int_equal(emergency_match(rules, N, "public_service", "闻到煤气味")->id, 3);
    assert_null(emergency_match(NULL, 0, "public_service", "闻到煤气味"));
}

static void lines_are_checked(void **state)
{
    (void)state;
    assert_true(emergency_line_valid("110"));
    assert_true(emergency_line_valid("none"));
    assert_false(emergency_line_valid("911"));
    assert_false(emergency_line_valid(""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(keyword_in_content_matches),
        cmocka_unit_test(category_restricts_a_rule),
        cmocka_unit_test(shortest_period_wins),
        cmocka_unit_test(lines_are_checked),
    };
    return cmocka_run_group_tests_name("emergency", tests, NULL, NULL);
}
