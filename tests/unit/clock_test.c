/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of clock.c: RFC 3339 text in (clock_parse) and out (clock_format). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "clock.h"

#include <stdio.h>

#define S 1000000LL /* microseconds in a second */

static void parse_accepts_rfc3339(void **state)
{
    static const struct {
        const char *text;
        int64_t us;
    } cases[] = {
        {"2024-09-27T10:00:00+08:00", 1727402400 * S},
        {"2024-09-27T02:00:00Z", 1727402400 * S},
        {"2024-09-27t02:00:00z", 1727402400 * S},
        {"2024-09-26T20:30:00-05:30", 1727402400 * S},
        {"2024-09-27T02:00:00+00:00", 1727402400 * S},
        {"2024-09-27T02:00:00-00:00", 1727402400 * S},
        {"2024-09-27T10:00:00.5+08:00", 1727402400 * S + 500000},
        {"2024-09-27T10:00:00.000001+08:00", 1727402400 * S + 1},
        {"2024-09-27T10:00:00.123456Z", 1727402400 * S + 8 * 3600 * S + 123456},
        {"2024-02-29T23:59:59Z", 1709251199 * S},
        {"1970-01-01T00:00:00Z", 0},
        {"1970-01-01T08:00:00+08:00", 0},
        {"9999-12-31T23:59:59Z", 253402300799 * S},
        {"2024-09-27T10:00:00+23:59", 1727402400 * S + 8 * 3600 * S - 86340 * S},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t us = -1;
        if (clock_parse(cases[i].text, &us) != 0)
            fail_msg("'%s' refused", cases[i].text);
        if (us != cases[i].us)
            fail_msg("'%s': %lld, not %lld", cases[i].text, (long long)us, (long long)cases[i].us);
    }
}

static void parse_refuses_what_is_not_rfc3339(void **state)
{
    static const char *const bad[] = {
        "",
        "2024-09-27",
        "2024-09-27T10:00:00",          /* no offset */
        "2024-09-27 10:00:00+08:00",    /* space for T */
        "2024-09-27X10:00:00+08:00",    /* neither */
        "2024-9-27T10:00:00+08:00",     /* one-digit month */
        "2024-09-27T10:00+08:00",       /* no seconds */
        "2024-09-27T10:00:00+08",       /* short offset */
        "2024-09-27T10:00:00+0800",     /* offset without colon */
        "2024-09-27T10:00:00+24:00",    /* offset hour */
        "2024-09-27T10:00:00+08:60",    /* offset minute */
        "2024-09-27T10:00:00 08:00",    /* no sign */
        "2024-09-27T24:00:00+08:00",    /* hour */
        "2024-09-27T23:60:00+08:00",    /* minute */
        "2024-09-27T23:59:60+08:00",    /* leap second */
        "2024-09-27T10:00:00.+08:00",   /* empty fraction */
        "2024-09-27T10:00:00.1234567Z", /* seven digits */
        "2024-09-27T10:00:00,5Z",       /* comma */
        "2024-09-27T10:00:00Z ",        /* trailing space */
        " 2024-09-27T10:00:00Z",        /* leading space */
        "2024-09-27T10:00:00Zjunk",
        "2024-09-27T10:00:00+08:00:00",
        "2023-02-29T10:00:00Z", /* not a leap year */
        "2024-02-30T10:00:00Z",
        "2024-04-31T10:00:00Z",
        "2024-13-01T10:00:00Z",
        "2024-00-01T10:00:00Z",
        "2024-01-00T10:00:00Z",
        "1969-12-31T23:59:59Z", /* before the years of the system */
        "+2024-09-27T10:00:00Z",
        "2024-09-27T1a:00:00Z",
        "2024-09-27T10:00:00+-8:00",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t us = 42;
        if (clock_parse(bad[i], &us) != -1)
            fail_msg("'%s' accepted", bad[i]);
        assert_int_equal(us, 42);
    }
}

static void format_in_china_standard_time(void **state)
{
    char out[CLOCK_RFC3339_LEN];

    (void)state;
    clock_format(1727402400 * S + 123456, out);
    assert_string_equal(out, "2024-09-27T10:00:00.123456+08:00");
    clock_format_seconds(1727402400 * S + 999999, out);
    assert_string_equal(out, "2024-09-27T10:00:00+08:00");
    clock_format_seconds(0, out);
    assert_string_equal(out, "1970-01-01T08:00:00+08:00");
    /* Before the epoch the fraction is dropped towards the earlier second. */
    clock_format_seconds(-1, out);
    assert_string_equal(out, "1970-01-01T07:59:59+08:00");
}

static void parse_reads_what_format_writes(void **state)
{
    static const int64_t instants[] = {0, 1, 1727402400 * S + 123456, 253402271999 * S};
    char out[CLOCK_RFC3339_LEN];

    (void)state;
    for (size_t i = 0; i < sizeof(instants) / sizeof(instants[0]); i++) {
        int64_t us = -1;
        clock_format(instants[i], out);
        assert_int_equal(clock_parse(out, &us), 0);
        assert_int_equal(us, instants[i]);
        clock_format_seconds(instants[i], out);
        assert_int_equal(clock_parse(out, &us), 0);
        assert_int_equal(us, instants[i] - instants[i] % S);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_accepts_rfc3339),
        cmocka_unit_test(parse_refuses_what_is_not_rfc3339),
        cmocka_unit_test(format_in_china_standard_time),
        cmocka_unit_test(parse_reads_what_format_writes),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
