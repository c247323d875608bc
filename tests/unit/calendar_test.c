/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of calendar.c: working days and deadlines over the national
 * calendar the binaries carry (common/sql/cn-calendar.tsv, compiled in as
 * calendar_default_tsv), and the loader of calendar files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "calendar.h"
#include "national_calendar.h"
#include "clock.h"

#include <stdio.h>
#include <string.h>

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

/* "2024-10-23T23:59:59+08:00 provisional" for the deadline of 'n' working
 * days received at 'from'. */
static void deadline_text(const struct calendar *cal, const char *from, int n, char *out,
                          size_t len)
{
    char text[CLOCK_RFC3339_LEN];
    int provisional = -1;

    clock_format_seconds(calendar_deadline(cal, instant(from), n, &provisional), text);
    assert_true(provisional == 0 || provisional == 1);
    snprintf(out, len, "%s%s", text, provisional ? " provisional" : "");
}

static void expect_deadline(const struct calendar *cal, const char *from, int n,
                            const char *expected)
{
    char got[64];

    deadline_text(cal, from, n, got, sizeof(got));
    assert_string_equal(got, expected);
}

/* --- dates -------------------------------------------------------------------- */

static void dates_parse_and_format(void **state)
{
    char out[CALENDAR_DATE_LEN];
    int32_t d;

    (void)state;
    assert_int_equal(day("1970-01-01"), 0);
    assert_int_equal(day("1970-01-02"), 1);
    assert_int_equal(day("2024-02-29") + 1, day("2024-03-01"));
    assert_int_equal(day("2000-02-29") + 1, day("2000-03-01"));
    calendar_day_format(day("2024-10-23"), out);
    assert_string_equal(out, "2024-10-23");
    calendar_day_format(day("9999-12-31"), out);
    assert_string_equal(out, "9999-12-31");

    static const char *const bad[] = {
        "2023-02-29", "2024-02-30", "1900-02-29", "2024-04-31", "2024-13-01",  "2024-00-10",
        "2024-01-00", "1969-12-31", "2024-1-01",  "2024/01/01", "2024-01-01 ", " 2024-01-01",
        "20240101",   "",           "2024-01-0a", "+024-01-01",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        d = 12345;
        assert_int_equal(calendar_day_parse(bad[i], &d), -1);
        assert_int_equal(d, 12345);
    }
}

static void weekdays(void **state)
{
    (void)state;
    assert_int_equal(calendar_weekday(day("1970-01-01")), 4); /* Thursday */
    assert_int_equal(calendar_weekday(day("2024-09-27")), 5); /* Friday */
    assert_int_equal(calendar_weekday(day("2024-09-29")), 7); /* Sunday */
    assert_int_equal(calendar_weekday(day("2024-09-30")), 1); /* Monday */
    assert_int_equal(calendar_weekday(-1), 3);                /* 1969-12-31, Wednesday */
}

/* The day of an instant is its date in UTC+8, not in UTC. */
static void days_begin_at_midnight_in_china(void **state)
{
    (void)state;
    assert_int_equal(calendar_day_of(instant("2024-10-08T23:59:59.999999+08:00")),
                     day("2024-10-08"));
    assert_int_equal(calendar_day_of(instant("2024-10-08T15:59:59Z")), day("2024-10-08"));
    assert_int_equal(calendar_day_of(instant("2024-10-08T16:00:00Z")), day("2024-10-09"));
    assert_int_equal(calendar_day_of(instant("2024-10-09T00:00:00+08:00")), day("2024-10-09"));
    assert_int_equal(calendar_day_start(day("2024-10-09")), instant("2024-10-08T16:00:00Z"));
    assert_int_equal(calendar_day_of(instant("1970-01-01T00:00:00+08:00")), 0);
    assert_int_equal(calendar_day_of(-8 * 3600 * 1000000LL), 0);
    assert_int_equal(calendar_day_of(-8 * 3600 * 1000000LL - 1), -1);
}

/* --- the national calendar ---------------------------------------------------- */

static void national_calendar_covers_2022_to_2026(void **state)
{
    const struct calendar *cal = *state;

    assert_false(calendar_covers(cal, day("2021-12-31")));
    for (int year = 2022; year <= 2026; year++) {
        char date[24];
        snprintf(date, sizeof(date), "%d-01-01", year);
        assert_true(calendar_covers(cal, day(date)));
        snprintf(date, sizeof(date), "%d-12-31", year);
        assert_true(calendar_covers(cal, day(date)));
    }
    assert_false(calendar_covers(cal, day("2027-01-01")));
}

/* The file's own header states the working days of each year. */
static void national_working_days_per_year(void **state)
{
    static const struct {
        int year, working_days;
    } years[] = {{2022, 249}, {2023, 249}, {2024, 251}, {2025, 248}, {2026, 248}};
    const struct calendar *cal = *state;

    for (size_t i = 0; i < sizeof(years) / sizeof(years[0]); i++) {
        char first[24], next[24];
        snprintf(first, sizeof(first), "%d-01-01", years[i].year);
        snprintf(next, sizeof(next), "%d-01-01", years[i].year + 1);
        int n = 0;
        for (int32_t d = day(first); d < day(next); d++)
            n += calendar_is_working_day(cal, d);
        assert_int_equal(n, years[i].working_days);
    }
}

static void listings_and_make_up_days(void **state)
{
    const struct calendar *cal = *state;
    enum day_kind kind;
    const char *name;

    /* 2024-09-29 is a Sunday declared a working day before National Day. */
    assert_true(calendar_is_working_day(cal, day("2024-09-29")));
    assert_int_equal(calendar_listed(cal, day("2024-09-29"), &kind, &name), 1);
    assert_int_equal(kind, DAY_WORK);
    assert_string_equal(name, "国庆节");
    /* 2024-10-01 is a Tuesday off. */
    assert_false(calendar_is_working_day(cal, day("2024-10-01")));
    assert_int_equal(calendar_listed(cal, day("2024-10-01"), &kind, NULL), 1);
    assert_int_equal(kind, DAY_OFF);
    /* Plain days follow the weekday. */
    assert_int_equal(calendar_listed(cal, day("2024-10-09"), &kind, &name), 0);
    assert_true(calendar_is_working_day(cal, day("2024-10-09")));
    assert_false(calendar_is_working_day(cal, day("2024-10-13")));
}

/* REGULATION.md: a complaint received on 2024-09-27 with 15 working days is
 * due on 2024-10-23, across National Day and both its make-up Saturdays. */
static void regulation_example(void **state)
{
    const struct calendar *cal = *state;

    expect_deadline(cal, "2024-09-27T10:00:00+08:00", 15, "2024-10-23T23:59:59+08:00");
    assert_int_equal(calendar_deadline(cal, instant("2024-09-27T10:00:00+08:00"), 15, NULL),
                     instant("2024-10-23T23:59:59+08:00"));
}

/* One period across every holiday of every covered year, received at 10:00
 * on the given day. */
static void holiday_crossings(void **state)
{
    static const struct {
        const char *holiday, *received;
        int working_days;
        const char *due;
    } cases[] = {
        {"2022 New Year", "2021-12-31", 1, "2022-01-04"},
        {"2022 Spring Festival, make-up Saturday", "2022-01-28", 1, "2022-01-29"},
        {"2022 Spring Festival, across", "2022-01-28", 3, "2022-02-07"},
        {"2022 Qingming", "2022-04-01", 2, "2022-04-06"},
        {"2022 Labour Day", "2022-04-29", 2, "2022-05-06"},
        {"2022 Labour Day, make-up Saturday", "2022-04-29", 3, "2022-05-07"},
        {"2022 Dragon Boat", "2022-06-02", 1, "2022-06-06"},
        {"2022 Mid-Autumn", "2022-09-09", 1, "2022-09-13"},
        {"2022 National Day, make-up Saturday", "2022-09-30", 1, "2022-10-08"},
        {"2023 New Year", "2022-12-30", 1, "2023-01-03"},
        {"2023 Spring Festival", "2023-01-20", 1, "2023-01-28"},
        {"2023 Qingming", "2023-04-04", 1, "2023-04-06"},
        {"2023 Labour Day", "2023-04-28", 1, "2023-05-04"},
        {"2023 Labour Day, make-up Saturday", "2023-04-28", 3, "2023-05-06"},
        {"2023 Dragon Boat, make-up Sunday", "2023-06-21", 1, "2023-06-25"},
        {"2023 Mid-Autumn and National Day", "2023-09-28", 1, "2023-10-07"},
        {"2023 Mid-Autumn and National Day, across", "2023-09-28", 3, "2023-10-09"},
        {"2024 New Year", "2023-12-29", 1, "2024-01-02"},
        {"2024 Spring Festival", "2024-02-08", 2, "2024-02-18"},
        {"2024 Spring Festival, make-up Sunday", "2024-02-03", 1, "2024-02-04"},
        {"2024 Qingming", "2024-04-03", 1, "2024-04-07"},
        {"2024 Labour Day", "2024-04-30", 1, "2024-05-06"},
        {"2024 Dragon Boat", "2024-06-07", 1, "2024-06-11"},
        {"2024 Mid-Autumn, make-up Saturday", "2024-09-13", 1, "2024-09-14"},
        {"2024 Mid-Autumn", "2024-09-13", 2, "2024-09-18"},
        {"2025 New Year", "2024-12-31", 1, "2025-01-02"},
        {"2025 Spring Festival", "2025-01-27", 1, "2025-02-05"},
        {"2025 Spring Festival, make-up Sunday", "2025-01-24", 1, "2025-01-26"},
        {"2025 Qingming", "2025-04-03", 1, "2025-04-07"},
        {"2025 Labour Day", "2025-04-30", 1, "2025-05-06"},
        {"2025 Dragon Boat", "2025-05-30", 1, "2025-06-03"},
        {"2025 National Day and Mid-Autumn", "2025-09-30", 1, "2025-10-09"},
        {"2025 National Day, make-up Sunday", "2025-09-26", 1, "2025-09-28"},
        {"2026 New Year, make-up Sunday", "2025-12-31", 1, "2026-01-04"},
        {"2026 Spring Festival, make-up Saturday", "2026-02-13", 1, "2026-02-14"},
        {"2026 Spring Festival", "2026-02-13", 2, "2026-02-24"},
        {"2026 Qingming", "2026-04-03", 1, "2026-04-07"},
        {"2026 Labour Day", "2026-04-30", 1, "2026-05-06"},
        {"2026 Dragon Boat", "2026-06-18", 1, "2026-06-22"},
        {"2026 Mid-Autumn", "2026-09-24", 1, "2026-09-28"},
        {"2026 National Day", "2026-09-30", 1, "2026-10-08"},
    };
    const struct calendar *cal = *state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char from[40], got[96], want[96], text[64];
        snprintf(from, sizeof(from), "%sT10:00:00+08:00", cases[i].received);
        deadline_text(cal, from, cases[i].working_days, text, sizeof(text));
        /* The case's name in both strings tells which one failed. */
        snprintf(got, sizeof(got), "%s: %s", cases[i].holiday, text);
        snprintf(want, sizeof(want), "%s: %sT23:59:59+08:00", cases[i].holiday, cases[i].due);
        assert_string_equal(got, want);
    }
}

/* The day of receipt is not counted, whatever time of day. */
static void receipt_late_at_night_or_after_midnight(void **state)
{
    const struct calendar *cal = *state;

    expect_deadline(cal, "2024-09-27T00:00:00+08:00", 15, "2024-10-23T23:59:59+08:00");
    expect_deadline(cal, "2024-09-27T23:59:59.999999+08:00", 15, "2024-10-23T23:59:59+08:00");
    /* 23:59:59 in Beijing is still 2024-10-08; one second later it is the
     * 9th, although in UTC both are the 8th. */
    expect_deadline(cal, "2024-10-08T15:59:59Z", 1, "2024-10-09T23:59:59+08:00");
    expect_deadline(cal, "2024-10-08T16:00:00Z", 1, "2024-10-10T23:59:59+08:00");
    expect_deadline(cal, "2024-10-09T00:00:01+08:00", 1, "2024-10-10T23:59:59+08:00");
    /* Another offset names the same instant. */
    expect_deadline(cal, "2024-10-08T10:30:00-05:30", 1, "2024-10-10T23:59:59+08:00");
}

static void receipt_on_a_holiday_or_weekend(void **state)
{
    const struct calendar *cal = *state;

    expect_deadline(cal, "2024-10-03T09:00:00+08:00", 1, "2024-10-08T23:59:59+08:00");
    /* A make-up Saturday is a working day, but as the day of receipt it is
     * not counted either. */
    expect_deadline(cal, "2024-10-12T09:00:00+08:00", 1, "2024-10-14T23:59:59+08:00");
    expect_deadline(cal, "2024-10-13T09:00:00+08:00", 1, "2024-10-14T23:59:59+08:00");
    expect_deadline(cal, "2024-10-13T09:00:00+08:00", 2, "2024-10-15T23:59:59+08:00");
}

/* Past the covered years only weekends count, and the result says so. */
static void provisional_outside_the_covered_years(void **state)
{
    const struct calendar *cal = *state;

    expect_deadline(cal, "2026-12-24T10:00:00+08:00", 5, "2026-12-31T23:59:59+08:00");
    expect_deadline(cal, "2026-12-30T10:00:00+08:00", 5, "2027-01-06T23:59:59+08:00 provisional");
    expect_deadline(cal, "2026-12-31T10:00:00+08:00", 1, "2027-01-01T23:59:59+08:00 provisional");
    expect_deadline(cal, "2021-12-20T10:00:00+08:00", 1, "2021-12-21T23:59:59+08:00 provisional");
    /* Received in an uncovered year, counted in a covered one: not provisional. */
    expect_deadline(cal, "2021-12-31T10:00:00+08:00", 1, "2022-01-04T23:59:59+08:00");
}

/* Listing 2027 (here: its New Year) makes its deadlines final. */
static void adding_a_year_makes_it_covered(void **state)
{
    struct calendar *cal = *state;

    assert_int_equal(calendar_set(cal, day("2027-01-01"), DAY_OFF, "元旦"), 0);
    assert_true(calendar_covers(cal, day("2027-06-30")));
    expect_deadline(cal, "2026-12-31T10:00:00+08:00", 1, "2027-01-04T23:59:59+08:00");
    /* Listing it again replaces the listing. */
    assert_int_equal(calendar_set(cal, day("2027-01-01"), DAY_OFF, NULL), 0);
    const char *name = "x";
    assert_int_equal(calendar_listed(cal, day("2027-01-01"), NULL, &name), 1);
    assert_null(name);
}

static void a_period_below_one_ends_on_the_day_of_receipt(void **state)
{
    const struct calendar *cal = *state;

    expect_deadline(cal, "2024-10-03T09:00:00+08:00", 0, "2024-10-03T23:59:59+08:00");
}

/* --- listing rules ------------------------------------------------------------ */

static void set_refuses_bad_listings(void **state)
{
    struct calendar *cal = calendar_new();
    char long_name[CALENDAR_MAX_NAME + 2];

    (void)state;
    assert_non_null(cal);
    memset(long_name, 'x', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    /* A make-up working day is a Saturday or Sunday. */
    assert_int_equal(calendar_set(cal, day("2027-01-05"), DAY_WORK, NULL), -1);
    assert_non_null(calendar_check(day("2027-01-05"), DAY_WORK, NULL));
    assert_null(calendar_check(day("2027-01-09"), DAY_WORK, NULL));
    assert_null(calendar_check(day("2027-01-05"), DAY_OFF, ""));
    assert_int_equal(calendar_set(cal, day("2027-01-01"), DAY_OFF, long_name), -1);
    assert_int_equal(calendar_set(cal, day("2027-01-01"), DAY_OFF, "\xff"), -1);
    assert_int_equal(calendar_set(cal, day("2027-01-01"), DAY_OFF, "a\nb"), -1);
    assert_int_equal(calendar_set(cal, day("2027-01-01"), (enum day_kind)7, NULL), -1);
    assert_int_equal(calendar_set(cal, -1, DAY_OFF, NULL), -1);
    assert_int_equal(calendar_set(cal, day("9999-12-31") + 1, DAY_OFF, NULL), -1);
    long_name[CALENDAR_MAX_NAME] = '\0';
    assert_int_equal(calendar_set(cal, day("2027-01-01"), DAY_OFF, long_name), 0);
    assert_false(calendar_covers(cal, day("2026-01-01")));
    calendar_free(cal);
    calendar_free(NULL);
}

static void kinds(void **state)
{
    enum day_kind kind = DAY_OFF;

    (void)state;
    assert_string_equal(calendar_kind_name(DAY_WORK), "work");
    assert_string_equal(calendar_kind_name(DAY_OFF), "off");
    assert_int_equal(calendar_kind_parse("work", &kind), 0);
    assert_int_equal(kind, DAY_WORK);
    assert_int_equal(calendar_kind_parse("Work", &kind), -1);
    assert_int_equal(calendar_kind_parse("", &kind), -1);
}

/* --- the calendar file -------------------------------------------------------- */

static void tsv_accepts_comments_blanks_crlf_and_no_name(void **state)
{
    static const char text[] = "# 2027, made up for the test\r\n"
                               "\n"
                               "   \n"
                               "2027-01-01\toff\t元旦\r\n"
                               "2027-01-02\toff\n"
                               "2027-01-03\toff\t\n"
                               "2027-01-09\twork\t元旦"; /* no final newline */
    struct calendar *cal = calendar_new();
    const char *name = "x";
    char err[128] = "";

    (void)state;
    assert_int_equal(calendar_load_tsv(cal, text, strlen(text), err, sizeof(err)), 4);
    assert_int_equal(calendar_listed(cal, day("2027-01-01"), NULL, &name), 1);
    assert_string_equal(name, "元旦");
    assert_int_equal(calendar_listed(cal, day("2027-01-02"), NULL, &name), 1);
    assert_null(name);
    assert_int_equal(calendar_listed(cal, day("2027-01-03"), NULL, &name), 1);
    assert_null(name);
    assert_true(calendar_is_working_day(cal, day("2027-01-09")));
    assert_int_equal(calendar_load_tsv(cal, "", 0, err, sizeof(err)), 0);
    calendar_free(cal);
}

/* A file with any bad line changes nothing, and the message says where. */
static void tsv_errors_leave_the_calendar_unchanged(void **state)
{
    static const struct {
        const char *text, *message;
    } cases[] = {
        {"2027-01-01\toff\t元旦\n2027-13-01\toff\tx\n", "line 2: the date is not"},
        {"2027-01-01\toff\t元旦\n2027-02-30\toff\tx\n", "line 2: the date is not"},
        {"2027-01-01\toff\t元旦\n2027-02-01\tholiday\tx\n", "line 2: the kind is neither"},
        {"2027-01-01\toff\t元旦\n2027-02-01 off x\n", "line 2: expected 'date<TAB>kind<TAB>name'"},
        {"2027-01-01\toff\t元旦\n2027-02-01\toff\tx\ty\n", "line 2: more than three fields"},
        {"2027-01-01\toff\t元旦\n\n2027-01-01\toff\t元旦\n",
         "line 3: '2027-01-01' is listed on line 1 too"},
        {"2027-01-01\toff\t元旦\n2027-01-05\twork\tx\n", "line 2: is not a Saturday or Sunday"},
        {"2027-01-01\toff\t\xe5\x85\n", "line 1: has a name that is not UTF-8"},
        {"2027-01-01\toff\t"
         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n",
         "line 1: has a name longer than 64 bytes"},
        {"1969-12-31\toff\tx\n", "line 1: the date is not"},
        {"2027-01-01\toff\tx\0y\n", "not a text file"},
    };
    struct calendar *cal = *state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char err[128] = "";
        size_t len = strlen(cases[i].text);
        if (strcmp(cases[i].message, "not a text file") == 0)
            len += 4; /* past the NUL */
        assert_int_equal(calendar_load_tsv(cal, cases[i].text, len, err, sizeof(err)), -1);
        if (strstr(err, cases[i].message) == NULL)
            fail_msg("case %zu: '%s' does not contain '%s'", i, err, cases[i].message);
        /* 2027 stays uncovered and its New Year a plain Friday. */
        assert_false(calendar_covers(cal, day("2027-01-01")));
        assert_true(calendar_is_working_day(cal, day("2027-01-01")));
        assert_int_equal(calendar_listed(cal, day("2027-01-01"), NULL, NULL), 0);
    }
    expect_deadline(cal, "2024-09-27T10:00:00+08:00", 15, "2024-10-23T23:59:59+08:00");
}

/* A file replaces the days it lists and keeps the others. */
static void tsv_replaces_listed_days(void **state)
{
    static const char text[] = "2024-10-07\toff\t国庆节（改）\n2024-10-08\toff\t加一天\n";
    struct calendar *cal = *state;
    const char *name;
    char err[128];

    assert_int_equal(calendar_load_tsv(cal, text, strlen(text), err, sizeof(err)), 2);
    assert_int_equal(calendar_listed(cal, day("2024-10-07"), NULL, &name), 1);
    assert_string_equal(name, "国庆节（改）");
    assert_false(calendar_is_working_day(cal, day("2024-10-08")));
    assert_false(calendar_is_working_day(cal, day("2024-10-01")));
    expect_deadline(cal, "2024-09-27T10:00:00+08:00", 15, "2024-10-24T23:59:59+08:00");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dates_parse_and_format),
        cmocka_unit_test(weekdays),
        cmocka_unit_test(days_begin_at_midnight_in_china),
        cmocka_unit_test_setup_teardown(national_calendar_covers_2022_to_2026, national_setup,
                                        national_teardown),
        cmocka_unit_test_setup_teardown(national_working_days_per_year, national_setup,
                                        national_teardown),
        cmocka_unit_test_setup_teardown(listings_and_make_up_days, national_setup,
                                        national_teardown),
        cmocka_unit_test_setup_teardown(regulation_example, national_setup, national_teardown),
        cmocka_unit_test_setup_teardown(holiday_crossings, national_setup, national_teardown),
        cmocka_unit_test_setup_teardown(receipt_late_at_night_or_after_midnight, national_setup,
                                        national_teardown),
        cmocka_unit_test_setup_teardown(receipt_on_a_holiday_or_weekend, national_setup,
                                        national_teardown),
        cmocka_unit_test_setup_teardown(provisional_outside_the_covered_years, national_setup,
                                        national_teardown),
        cmocka_unit_test_setup_teardown(adding_a_year_makes_it_covered, national_setup,
                                        national_teardown),
        cmocka_unit_test_setup_teardown(a_period_below_one_ends_on_the_day_of_receipt,
                                        national_setup, national_teardown),
        cmocka_unit_test(set_refuses_bad_listings),
        cmocka_unit_test(kinds),
        cmocka_unit_test(tsv_accepts_comments_blanks_crlf_and_no_name),
        cmocka_unit_test_setup_teardown(tsv_errors_leave_the_calendar_unchanged, national_setup,
                                        national_teardown),
        cmocka_unit_test_setup_teardown(tsv_replaces_listed_days, national_setup,
                                        national_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
