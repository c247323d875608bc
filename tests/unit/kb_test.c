/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of kb.c, the rules of the knowledge base: types, states and
 * ids; who may edit and see; a policy submitted late, around the National
 * Day holiday of 2024; the deadline and state of a correction; the ranking
 * of search results; the names of other nodes' entries.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "calendar.h"
#include "national_calendar.h"
#include "clock.h"
#include "kb.h"
#include "ngram.h"

#include <stdio.h>
#include <string.h>

#define NOTICE_DAYS     3 /* the defaults of kb_policy_notice_days, */
#define CORRECTION_DAYS 2 /* kb_correction_days */

/* --- helpers ---------------------------------------------------------------- */

static int32_t day(const char *date)
{
    int32_t d = -1;

    assert_int_equal(calendar_day_parse(date, &d), 0);
    return d;
}

static int64_t instant(const char *rfc3339)
{
    int64_t us = 0;

    assert_int_equal(clock_parse(rfc3339, &us), 0);
    return us;
}

static int late(const struct calendar *cal, const char *submitted, const char *publication)
{
    return kb_policy_late(cal, NOTICE_DAYS, instant(submitted), day(publication));
}

static void expect_deadline(const struct calendar *cal, const char *filed, const char *expected)
{
    char text[CLOCK_RFC3339_LEN];
    int provisional = -1;

    clock_format_seconds(kb_correction_deadline(cal, CORRECTION_DAYS, instant(filed), &provisional),
                         text);
    assert_string_equal(text, expected);
    assert_int_equal(provisional, 0);
}

/* --- names and ids ---------------------------------------------------------- */

static void types_and_their_rules(void **state)
{
    enum kb_type t;

    (void)state;
    for (int i = 0; i < KB_TYPE_COUNT; i++) {
        assert_int_equal(kb_type_parse(kb_type_names[i], &t), 0);
        assert_int_equal(t, i);
        /* Only policies are dated, only answer scripts skip review. */
        assert_int_equal(kb_type_rule(t)->dated, t == KB_POLICY);
        assert_int_equal(kb_type_rule(t)->publish_at_once, t == KB_ANSWER_SCRIPT);
    }
    assert_null(kb_type_names[KB_TYPE_COUNT]);
    assert_string_equal(kb_type_names[KB_OFFICE_HOURS], "office_hours");
    assert_int_equal(kb_type_parse("Policy", &t), -1);
    assert_int_equal(kb_type_parse("", &t), -1);
}

static void states_by_name(void **state)
{
    enum kb_state s;
    enum kb_correction_state c;

    (void)state;
    for (int i = 0; i < KB_STATE_COUNT; i++) {
        assert_int_equal(kb_state_parse(kb_state_name((enum kb_state)i), &s), 0);
        assert_int_equal(s, i);
    }
    assert_int_equal(kb_state_parse("approved", &s), -1);
    assert_int_equal(kb_correction_state_parse("overdue", &c), 0);
    assert_int_equal(c, KB_CORRECTION_OVERDUE);
    assert_string_equal(kb_correction_state_name(KB_CORRECTION_CLOSED), "closed");
    assert_int_equal(kb_correction_state_parse("late", &c), -1);
}

static void ids_are_kb_and_a_number(void **state)
{
    char id[KB_ID_LEN + 1];
    long long n = 0;

    (void)state;
    kb_id_format(1, id);
    assert_string_equal(id, "KB-0001");
    kb_id_format(123456, id);
    assert_string_equal(id, "KB-123456");
    assert_int_equal(kb_id_parse("KB-0001", &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(kb_id_parse("KB-1", &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(kb_id_parse("KB-123456", &n), 0);
    assert_int_equal(n, 123456);

    static const char *const bad[] = {
        "",
        "KB-",
        "KB-0",
        "KB-0000",
        "kb-1",
        "KB1",
        "KB-1a",
        "KB--1",
        "KB-+1",
        "KB- 1",
        "KB-1234567890123456",
        "1",
        "440100-20241104-0001",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        n = 42;
        assert_int_equal(kb_id_parse(bad[i], &n), -1);
        assert_int_equal(n, 42);
    }
}

static void copies_are_named_by_the_node_that_keeps_them(void **state)
{
    char id[KB_ID_LEN + 1], origin[7] = "";
    long long n = 0;

    (void)state;
    kb_copy_id_format("440000", 1, id);
    assert_string_equal(id, "440000-KB-0001");
    assert_int_equal(kb_copy_id_parse("440000-KB-0001", origin, &n), 0);
    assert_string_equal(origin, "440000");
    assert_int_equal(n, 1);
    assert_int_equal(kb_copy_id_parse("440300-KB-123456789012345", origin, &n), 0);
    assert_int_equal(n, 123456789012345LL);
    kb_copy_id_format("440300", n, id);
    assert_string_equal(id, "440300-KB-123456789012345");

    static const char *const bad[] = {
        "KB-0001",        "040000-KB-0001", "44000-KB-0001",   "4400000-KB-0001",
        "440000KB-0001",  "440000-KB-0000", "440000-kb-0001",  "440000-KB-",
        "44000a-KB-0001", "440000--KB-1",   "440000-R-000001",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        n = 42;
        assert_int_equal(kb_copy_id_parse(bad[i], origin, &n), -1);
        assert_int_equal(n, 42);
    }
}

/* --- who may do what -------------------------------------------------------- */

static void units_edit_their_own_entries_and_managers_any(void **state)
{
    struct principal manager = {.role = ROLE_MANAGER}, op = {.role = ROLE_OPERATOR};
    struct principal water = {.role = ROLE_UNIT}, auditor = {.role = ROLE_AUDITOR};

    (void)state;
    strcpy(water.unit, "water");
    assert_true(kb_may_edit(&manager, "water"));
    assert_true(kb_may_edit(&water, "water"));
    assert_false(kb_may_edit(&water, "market"));
    assert_false(kb_may_edit(&water, "wate"));
    assert_false(kb_may_edit(&op, "water"));
    assert_false(kb_may_edit(&auditor, "water"));
}

static void unpublished_versions_are_for_editors(void **state)
{
    struct principal manager = {.role = ROLE_MANAGER}, op = {.role = ROLE_OPERATOR};
    struct principal water = {.role = ROLE_UNIT}, market = {.role = ROLE_UNIT};

    (void)state;
    strcpy(water.unit, "water");
    strcpy(market.unit, "market");
    for (int s = 0; s < KB_STATE_COUNT; s++) {
        int public = s == KB_PUBLISHED || s == KB_SUPERSEDED;
        assert_int_equal(kb_may_see(&op, "water", (enum kb_state)s), public);
        assert_int_equal(kb_may_see(&market, "water", (enum kb_state)s), public);
        assert_true(kb_may_see(&water, "water", (enum kb_state)s));
        assert_true(kb_may_see(&manager, "water", (enum kb_state)s));
    }
}

/* --- policies: notice before publication ------------------------------------ */

/* In an ordinary week: for a Friday publication, Tuesday is the last day. */
static void policy_needs_three_working_days_of_notice(void **state)
{
    const struct calendar *cal = *state;

    assert_false(late(cal, "2024-11-04T10:00:00+08:00", "2024-11-08")); /* Monday */
    assert_false(late(cal, "2024-11-05T23:59:59+08:00", "2024-11-08")); /* Tuesday night */
    assert_true(late(cal, "2024-11-06T00:00:00+08:00", "2024-11-08"));  /* Wednesday */
    assert_true(late(cal, "2024-11-08T09:00:00+08:00", "2024-11-08"));  /* the day itself */
    assert_true(late(cal, "2024-11-11T09:00:00+08:00", "2024-11-08"));  /* after it */
    /* A weekend in between does not count: Thursday for a Tuesday. */
    assert_false(late(cal, "2024-11-07T10:00:00+08:00", "2024-11-12"));
    assert_true(late(cal, "2024-11-08T10:00:00+08:00", "2024-11-12"));
}

/* National Day 2024: 10-01..07 off, Sunday 09-29 a make-up working day. */
static void policy_notice_skips_the_holiday(void **state)
{
    const struct calendar *cal = *state;

    /* For Tuesday 10-08: Friday 09-27 is on time (09-29, 09-30, 10-08)... */
    assert_false(late(cal, "2024-09-27T16:00:00+08:00", "2024-10-08"));
    /* ...and so is Saturday 09-28, the days after it being the same... */
    assert_false(late(cal, "2024-09-28T10:00:00+08:00", "2024-10-08"));
    /* ...but the make-up Sunday 09-29 is late: 09-30, 10-08, 10-09. */
    assert_true(late(cal, "2024-09-29T10:00:00+08:00", "2024-10-08"));
    assert_true(late(cal, "2024-09-30T10:00:00+08:00", "2024-10-08"));
}

/* Counted over weekends only, 09-29 would have looked on time. */
static void policy_notice_without_the_holidays_would_differ(void **state)
{
    struct calendar *weekends = calendar_new();

    (void)state;
    assert_non_null(weekends);
    assert_false(late(weekends, "2024-09-29T10:00:00+08:00", "2024-10-08"));
    calendar_free(weekends);
}

static void later_versions_keep_the_flag_of_the_announced_day(void **state)
{
    const struct calendar *cal = *state;
    int64_t publication_day = instant("2024-11-08T09:00:00+08:00");

    /* The official text on the publication day itself keeps "on time". */
    assert_false(kb_policy_version_late(cal, NOTICE_DAYS, publication_day, day("2024-11-08"),
                                        day("2024-11-08"), 0));
    /* A late policy stays late whatever is corrected later. */
    assert_true(kb_policy_version_late(cal, NOTICE_DAYS, instant("2024-11-01T09:00:00+08:00"),
                                       day("2024-11-08"), day("2024-11-08"), 1));
    /* A new publication day is a new submission, judged now. */
    assert_true(kb_policy_version_late(cal, NOTICE_DAYS, publication_day, day("2024-11-11"),
                                       day("2024-11-08"), 0));
    assert_false(kb_policy_version_late(cal, NOTICE_DAYS, publication_day, day("2024-11-13"),
                                        day("2024-11-08"), 1));
    /* The first version has none before it. */
    assert_false(kb_policy_version_late(cal, NOTICE_DAYS, instant("2024-11-04T09:00:00+08:00"),
                                        day("2024-11-08"), -1, 1));
}

static void official_text_from_the_publication_day(void **state)
{
    (void)state;
    assert_false(kb_official_text_allowed(day("2024-11-07"), day("2024-11-08")));
    assert_true(kb_official_text_allowed(day("2024-11-08"), day("2024-11-08")));
    assert_true(kb_official_text_allowed(day("2024-11-09"), day("2024-11-08")));
}

static void validity_includes_both_ends(void **state)
{
    (void)state;
    assert_true(kb_valid_on(day("2024-01-01"), day("2024-01-01"), day("2024-12-31")));
    assert_true(kb_valid_on(day("2024-12-31"), day("2024-01-01"), day("2024-12-31")));
    assert_false(kb_valid_on(day("2025-01-01"), day("2024-01-01"), day("2024-12-31")));
    assert_false(kb_valid_on(day("2023-12-31"), day("2024-01-01"), -1));
    assert_true(kb_valid_on(day("2099-01-01"), day("2024-01-01"), -1));
}

/* --- corrections -------------------------------------------------------------- */

static void correction_is_due_two_working_days_after_filing(void **state)
{
    const struct calendar *cal = *state;

    expect_deadline(cal, "2024-11-04T10:00:00+08:00", "2024-11-06T23:59:59+08:00");
    expect_deadline(cal, "2024-11-08T17:30:00+08:00", "2024-11-12T23:59:59+08:00");
    /* Around National Day: the make-up Sunday counts, the holiday does not. */
    expect_deadline(cal, "2024-09-27T10:00:00+08:00", "2024-09-30T23:59:59+08:00");
    expect_deadline(cal, "2024-09-30T10:00:00+08:00", "2024-10-09T23:59:59+08:00");
}

static void correction_is_overdue_after_its_deadline_unless_closed(void **state)
{
    int64_t deadline = instant("2024-11-06T23:59:59+08:00");

    (void)state;
    assert_int_equal(kb_correction_state(0, deadline, deadline - 1), KB_CORRECTION_OPEN);
    assert_int_equal(kb_correction_state(0, deadline, deadline), KB_CORRECTION_OPEN);
    assert_int_equal(kb_correction_state(0, deadline, deadline + 1), KB_CORRECTION_OVERDUE);
    assert_int_equal(kb_correction_state(1, deadline, deadline + 1), KB_CORRECTION_CLOSED);
    assert_int_equal(kb_correction_state(1, deadline, deadline - 1), KB_CORRECTION_CLOSED);
}

/* --- ranking ------------------------------------------------------------------ */

struct doc {
    int32_t g[NGRAM_MAX];
    size_t n;
};

static void grams_of(struct doc *d, const char *text)
{
    d->n = ngram_grams(text, d->g, NGRAM_MAX);
}

static void title_weighs_more_than_text(void **state)
{
    static struct doc q, t1, x1, t2, x2, empty;

    (void)state;
    grams_of(&q, "居住证怎么办理");
    /* The query in the title of one entry, in the text of the other. */
    grams_of(&t1, "居住证办理");
    grams_of(&x1, "携带身份证、租赁合同到街道出租屋管理服务中心申请。");
    grams_of(&t2, "出租屋管理服务中心办公时间");
    grams_of(&x2, "周一至周五，办理居住证、出租屋登记。");
    grams_of(&empty, "");
    double s1 = kb_score(q.g, q.n, t1.g, t1.n, x1.g, x1.n);
    double s2 = kb_score(q.g, q.n, t2.g, t2.n, x2.g, x2.n);
    assert_true(s1 > s2);
    assert_true(s1 > 0 && s1 <= 1);
    /* Same text in title and text: 1; nothing shared: 0. */
    assert_float_equal(kb_score(q.g, q.n, q.g, q.n, q.g, q.n), 1.0, 1e-12);
    assert_float_equal(kb_score(q.g, q.n, empty.g, 0, empty.g, 0), 0.0, 1e-12);
    /* Only the title matching outweighs only the text matching. */
    assert_true(kb_score(q.g, q.n, q.g, q.n, empty.g, 0) >
                kb_score(q.g, q.n, empty.g, 0, q.g, q.n));
}

static void hits_rank_best_first_then_oldest(void **state)
{
    struct kb_hit hits[] = {
        {.row = 0, .id = 7, .score = 0.2}, {.row = 1, .id = 3, .score = 0.9},
        {.row = 2, .id = 5, .score = 0.2}, {.row = 3, .id = 1, .score = 0.0},
        {.row = 4, .id = 2, .score = 0.5},
    };
    const int rows[] = {1, 4, 2, 0, 3};

    (void)state;
    kb_rank(hits, 5);
    for (int i = 0; i < 5; i++)
        assert_int_equal(hits[i].row, rows[i]);
    kb_rank(hits, 0);
}

/* A node's entry 3 and the province's entry 3, equally good: the node's
 * own, listed first, stays first. */
static void equal_hits_keep_the_order_of_their_rows(void **state)
{
    struct kb_hit hits[] = {
        {.row = 1, .id = 3, .score = 0.5},
        {.row = 0, .id = 3, .score = 0.5},
        {.row = 2, .id = 1, .score = 0.4},
    };

    (void)state;
    kb_rank(hits, 3);
    assert_int_equal(hits[0].row, 0);
    assert_int_equal(hits[1].row, 1);
    assert_int_equal(hits[2].row, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(types_and_their_rules),
        cmocka_unit_test(states_by_name),
        cmocka_unit_test(ids_are_kb_and_a_number),
        cmocka_unit_test(copies_are_named_by_the_node_that_keeps_them),
        cmocka_unit_test(units_edit_their_own_entries_and_managers_any),
        cmocka_unit_test(unpublished_versions_are_for_editors),
        cmocka_unit_test_setup_teardown(policy_needs_three_working_days_of_notice, national_setup,
                                        national_teardown),
        cmocka_unit_test_setup_teardown(policy_notice_skips_the_holiday, national_setup,
                                        national_teardown),
        cmocka_unit_test(policy_notice_without_the_holidays_would_differ),
        cmocka_unit_test_setup_teardown(later_versions_keep_the_flag_of_the_announced_day,
                                        national_setup, national_teardown),
        cmocka_unit_test(official_text_from_the_publication_day),
        cmocka_unit_test(validity_includes_both_ends),
        cmocka_unit_test_setup_teardown(correction_is_due_two_working_days_after_filing,
                                        national_setup, national_teardown),
        cmocka_unit_test(correction_is_overdue_after_its_deadline_unless_closed),
        cmocka_unit_test(title_weighs_more_than_text),
        cmocka_unit_test(hits_rank_best_first_then_oldest),
        cmocka_unit_test(equal_hits_keep_the_order_of_their_rows),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
