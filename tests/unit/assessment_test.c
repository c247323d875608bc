/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of assessment.c: the score of a unit, part by part. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "assessment.h"

#include <string.h>

static const struct assessment_weights defaults = {
    .part = {[ASSESSMENT_ON_TIME] = 40,
             [ASSESSMENT_SATISFACTION] = 40,
             [ASSESSMENT_RETURNS] = 10,
             [ASSESSMENT_REDO] = 10},
    .penalty_supervised = 2,
};

static void a_perfect_unit_scores_100(void **state)
{
    struct assessment_figures f = {.completed = 10,
                                   .completed_on_time = 10,
                                   .rated = 8,
                                   .satisfied = 8,
                                   .returns_approved = 1};
    struct assessment_result r;

    (void)state;
    assessment_score(&f, &defaults, &r);
    assert_true(r.has_score);
    assert_true(r.score == 100.0);
    for (int i = 0; i < ASSESSMENT_PART_COUNT; i++) {
        assert_true(r.has_rate[i]);
        assert_true(r.rate[i] == 1.0);
    }
}

static void each_part_weighs_as_configured(void **state)
{
    /* on time 1/2, satisfied 3/4, returns 1 of 2 proper, 1 redo of 2 */
    struct assessment_figures f = {.completed = 2,
                                   .completed_on_time = 1,
                                   .rated = 4,
                                   .satisfied = 3,
                                   .returns_approved = 1,
                                   .returns_refused = 1,
                                   .redo_approved = 1};
    struct assessment_result r;

    (void)state;
    assessment_score(&f, &defaults, &r);
    assert_true(r.rate[ASSESSMENT_ON_TIME] == 0.5);
    assert_true(r.rate[ASSESSMENT_SATISFACTION] == 0.75);
    assert_true(r.rate[ASSESSMENT_RETURNS] == 0.5);
    assert_true(r.rate[ASSESSMENT_REDO] == 0.5);
    /* (40 * 0.5 + 40 * 0.75 + 10 * 0.5 + 10 * 0.5) / 100 * 100 */
    assert_true(r.score == 60.0);

    struct assessment_weights only_time = {.part = {[ASSESSMENT_ON_TIME] = 1}};
    assessment_score(&f, &only_time, &r);
    assert_true(r.score == 50.0);
}

static void a_part_without_a_denominator_drops_out(void **state)
{
    /* No ratings, no returns: on time and redo only, 40 and 10. */
    struct assessment_figures f = {.completed = 4, .completed_on_time = 3};
    struct assessment_result r;

    (void)state;
    assessment_score(&f, &defaults, &r);
    assert_false(r.has_rate[ASSESSMENT_SATISFACTION]);
    assert_false(r.has_rate[ASSESSMENT_RETURNS]);
    assert_true(r.has_score);
    assert_true(r.score == 80.0); /* (40 * 0.75 + 10 * 1) / 50 * 100 */
}

static void no_figures_no_score(void **state)
{
    struct assessment_figures f = {.supervised = 3};
    struct assessment_result r;

    (void)state;
    assessment_score(&f, &defaults, &r);
    assert_false(r.has_score);
    for (int i = 0; i < ASSESSMENT_PART_COUNT; i++)
        assert_false(r.has_rate[i]);
    /* A rate whose weight is 0 does not make a score either. */
    struct assessment_weights no_time = defaults;
    no_time.part[ASSESSMENT_ON_TIME] = 0;
    no_time.part[ASSESSMENT_REDO] = 0;
    f.completed = f.completed_on_time = 5;
    assessment_score(&f, &no_time, &r);
    assert_true(r.has_rate[ASSESSMENT_ON_TIME]);
    assert_false(r.has_score);
}

static void supervision_costs_points_down_to_zero(void **state)
{
    struct assessment_figures f = {.completed = 1, .completed_on_time = 1, .supervised = 3};
    struct assessment_result r;

    (void)state;
    assessment_score(&f, &defaults, &r);
    assert_true(r.score == 94.0);
    f.supervised = 80;
    assessment_score(&f, &defaults, &r);
    assert_true(r.has_score);
    assert_true(r.score == 0.0);
}

static void rates_and_score_are_rounded_and_reproducible(void **state)
{
    struct assessment_figures f = {.completed = 3,
                                   .completed_on_time = 2,
                                   .rated = 3,
                                   .satisfied = 1,
                                   .returns_approved = 2,
                                   .returns_refused = 1,
                                   .redo_approved = 1};
    struct assessment_result r, again;

    (void)state;
    assessment_score(&f, &defaults, &r);
    assert_true(r.rate[ASSESSMENT_ON_TIME] == 0.6667);
    assert_true(r.rate[ASSESSMENT_SATISFACTION] == 0.3333);
    /* 40 * .6667 + 40 * .3333 + 10 * .6667 + 10 * .6667 = 53.334 */
    assert_true(r.score == 53.33);
    assessment_score(&f, &defaults, &again);
    assert_memory_equal(&r, &again, sizeof(r));
}

static void negative_satisfaction_is_held_to_zero(void **state)
{
    /* A month whose only event took back a satisfied first rating. */
    struct assessment_figures f = {.rated = 1, .satisfied = -1};
    struct assessment_result r;

    (void)state;
    assessment_score(&f, &defaults, &r);
    assert_true(r.rate[ASSESSMENT_SATISFACTION] == 0.0);
    assert_true(r.score == 0.0);
}

static void parts_have_names(void **state)
{
    (void)state;
    assert_string_equal(assessment_part_name(ASSESSMENT_ON_TIME), "on_time");
    assert_string_equal(assessment_part_name(ASSESSMENT_SATISFACTION), "satisfaction");
    assert_string_equal(assessment_part_name(ASSESSMENT_RETURNS), "returns");
    assert_string_equal(assessment_part_name(ASSESSMENT_REDO), "redo");
    assert_string_equal(assessment_part_name(ASSESSMENT_PART_COUNT), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_perfect_unit_scores_100),
        cmocka_unit_test(each_part_weighs_as_configured),
        cmocka_unit_test(a_part_without_a_denominator_drops_out),
        cmocka_unit_test(no_figures_no_score),
        cmocka_unit_test(supervision_costs_points_down_to_zero),
        cmocka_unit_test(rates_and_score_are_rounded_and_reproducible),
        cmocka_unit_test(negative_satisfaction_is_held_to_zero),
        cmocka_unit_test(parts_have_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
