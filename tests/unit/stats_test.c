/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of stats.c: groupings, sums, rates and the figures' layout. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "stats.h"

#include <string.h>

static void groupings_parse_by_name(void **state)
{
    static const char *const names[] = {"unit", "kind", "category", "channel", "day"};
    enum stats_group g;

    (void)state;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        assert_int_equal(stats_group_parse(names[i], &g), 0);
        assert_string_equal(stats_group_name(g), names[i]);
    }
    assert_int_equal(stats_group_parse("none", &g), -1);
    assert_int_equal(stats_group_parse("Unit", &g), -1);
    assert_int_equal(stats_group_parse("", &g), -1);
    assert_string_equal(stats_group_name(STATS_BY_NONE), "none");
}

static void rates_round_to_four_decimals_within_zero_and_one(void **state)
{
    double r;

    (void)state;
    assert_int_equal(stats_rate(2, 3, &r), 0);
    assert_true(r == 0.6667);
    assert_int_equal(stats_rate(1, 3, &r), 0);
    assert_true(r == 0.3333);
    assert_int_equal(stats_rate(1, 8, &r), 0);
    assert_true(r == 0.125);
    assert_int_equal(stats_rate(1, 20000, &r), 0);
    assert_true(r == 0.0001); /* 0.00005, half up */
    assert_int_equal(stats_rate(-1, 2, &r), 0);
    assert_true(r == 0.0);
    assert_int_equal(stats_rate(3, 2, &r), 0);
    assert_true(r == 1.0);
    r = 42;
    assert_int_equal(stats_rate(0, 0, &r), -1);
    assert_int_equal(stats_rate(1, -1, &r), -1);
    assert_true(r == 42);
}

static void rows_add_up(void **state)
{
    struct stats_figures sum = {{0}}, row = {{0}};

    (void)state;
    row.n[STATS_RECEIVED] = 3;
    row.n[STATS_HANDLING_SATISFIED] = -1;
    stats_add(&sum, &row);
    stats_add(&sum, &row);
    assert_int_equal(sum.n[STATS_RECEIVED], 6);
    assert_int_equal(sum.n[STATS_HANDLING_SATISFIED], -2);
}

static void figures_read_as_the_api_shows_them(void **state)
{
    struct stats_figures f = {{0}};
    json_t *obj = json_object();

    (void)state;
    f.n[STATS_RECEIVED] = 7;
    f.n[STATS_ANSWERED] = 1;
    f.n[STATS_DISPATCHED] = 4;
    f.n[STATS_REJECTED_REPEAT] = 2;
    f.n[STATS_REJECTED_OTHER] = 1;
    f.n[STATS_COMPLETED] = 4;
    f.n[STATS_COMPLETED_ON_TIME] = 3;
    f.n[STATS_OVERDUE] = 2;
    f.n[STATS_INTAKE_VERY_SATISFIED] = 2;
    f.n[STATS_INTAKE_DISSATISFIED] = 1;
    f.n[STATS_HANDLING_RATED_COUNTED] = 2;
    f.n[STATS_HANDLING_SATISFIED_COUNTED] = 1;
    assert_int_equal(stats_json(obj, &f), 0);
    assert_int_equal(json_integer_value(json_object_get(obj, "accepted")), 5);
    json_t *rejected = json_object_get(obj, "rejected");
    assert_int_equal(json_integer_value(json_object_get(rejected, "total")), 3);
    assert_int_equal(json_integer_value(json_object_get(rejected, "repeat")), 2);
    assert_int_equal(json_object_size(rejected), 8);
    assert_true(json_real_value(json_object_get(obj, "on_time_rate")) == 0.75);
    json_t *overdue = json_object_get(obj, "overdue");
    assert_int_equal(json_integer_value(json_object_get(overdue, "open")), 2);
    assert_int_equal(json_integer_value(json_object_get(overdue, "closed")), 1);
    assert_int_equal(json_integer_value(json_object_get(obj, "rated")), 3);
    json_t *intake = json_object_get(json_object_get(obj, "ratings"), "intake");
    assert_int_equal(json_object_size(intake), 5);
    assert_int_equal(json_integer_value(json_object_get(intake, "very_satisfied")), 2);
    json_t *rates = json_object_get(obj, "satisfaction_rate");
    assert_true(json_is_null(json_object_get(rates, "intake")));
    assert_true(json_real_value(json_object_get(rates, "handling")) == 0.5);
    /* The first members, in the order of the report. */
    const char *key;
    json_t *value;
    const char *order[] = {"received", "accepted", "answered", "dispatched", "rejected"};
    size_t i = 0;
    json_object_foreach(obj, key, value)
    {
        if (i < 5)
            assert_string_equal(key, order[i]);
        i++;
    }
    json_decref(obj);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(groupings_parse_by_name),
        cmocka_unit_test(rates_round_to_four_decimals_within_zero_and_one),
        cmocka_unit_test(rows_add_up),
        cmocka_unit_test(figures_read_as_the_api_shows_them),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
