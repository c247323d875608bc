/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of import.c: a legacy line read, checked with intake's rules
 * and its history replayed through the state machine, on the national
 * calendar, with the time now passed in. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "calendar.h"
#include "calstore.h"
#include "clock.h"
#include "import.h"

#include <stdio.h>
#include <string.h>

static struct calendar *cal;
static const struct ticket_periods periods = {.days = {2, 10, 15, 15, 10}, .rating_window_days = 7};

static int unit_known(const char *code, void *arg)
{
    (void)arg;
    return strcmp(code, "water") == 0 || strcmp(code, "market") == 0;
}

static struct import_rules rules(void)
{
    struct import_rules r = {.calendar = cal, .periods = &periods, .unit_known = unit_known};

    assert_int_equal(clock_parse("2024-11-04T10:00:00+08:00", &r.now), 0);
    return r;
}

#define APPEAL(kind, history, status)                                                              \
    "{\"legacy_id\":\"L-1\",\"kind\":\"" kind "\",\"channel\":\"phone\","                          \
    "\"category\":\"public_service\",\"content\":\"路灯坏了\","                                    \
    "\"citizen\":{\"type\":\"person\",\"name\":\"李娜\",\"phone\":\"13800138000\"},"               \
    "\"location\":{\"division\":\"440106\",\"address\":\"体育东路12号\"},"                         \
    "\"received_at\":\"2024-10-14T09:00:00+08:00\",\"registered_by\":\"坐席\","                    \
    "\"history\":[" history "],\"status\":\"" status "\"}"

#define EV(at, role, action, body)                                                                 \
    "{\"at\":\"2024-10-" at "+08:00\",\"actor\":\"x\",\"role\":\"" role "\",\"action\":\"" action  \
    "\"" body "}"

static int parse(const char *line, struct import_record *r, char *why, size_t len)
{
    struct import_rules rl = rules();

    return import_parse(line, strlen(line), &rl, r, why, len);
}

static void a_whole_life_is_replayed(void **state)
{
    struct import_record r;
    char why[256] = "";
    const char *line = APPEAL(
        "complaint",
        EV("14T09:10:00", "operator", "dispatch", ",\"unit\":\"water\"") ","
        EV("15T10:00:00", "unit", "return", ",\"reason\":\"r\",\"basis\":\"b\"") ","
        EV("15T11:00:00", "manager", "return/review", ",\"decision\":\"approve\",\"unit\":\"market\"") ","
        EV("18T10:00:00", "unit", "completion", ",\"handled_at\":\"2024-10-18T09:00:00+08:00\","
                                                "\"process\":\"p\",\"result\":\"r\",\"basis\":\"b\"") ","
        EV("18T11:00:00", "manager", "completion/review", ",\"decision\":\"approve\"") ","
        EV("19T09:00:00", "citizen", "rating", ",\"intake\":\"satisfied\",\"handling\":\"dissatisfied\"") ","
        EV("26T00:00:00", "system", "close", ""),
        "closed");

    (void)state;
    assert_int_equal(parse(line, &r, why, sizeof(why)), 0);
    assert_int_equal(r.nevents, 8);
    assert_string_equal(r.events[0].action, "register");
    assert_string_equal(r.events[3].action, "return/review:approve");
    assert_int_equal(r.events[3].from, STATUS_RETURN_REQUESTED);
    assert_string_equal(r.events[6].reason, "dissatisfied");
    assert_string_equal(r.events[7].reason, "rated");
    assert_int_equal(r.t.status, STATUS_CLOSED);
    assert_string_equal(r.t.unit, "market");
    assert_int_equal(r.t.returns, 1);
    assert_int_equal(r.nratings, 1);
    assert_string_equal(r.ratings[0].handling, "dissatisfied");
    assert_null(r.pending);
    assert_non_null(strstr(r.outcome, "\"request\":\"completion\""));
    import_record_clear(&r);
}

static void a_history_the_rules_forbid_is_refused(void **state)
{
    struct import_record r;
    char why[256] = "";

    (void)state;
    /* Only a consultation is answered on the spot. */
    assert_int_equal(parse(APPEAL("complaint", EV("14T09:10:00", "operator", "answer",
                                                   ",\"answer\":\"a\""),
                                  "answered"),
                           &r, why, sizeof(why)),
                     -1);
    assert_non_null(strstr(why, "refused by the rules"));
    /* A unit may not dispatch. */
    assert_int_equal(parse(APPEAL("help", EV("14T09:10:00", "unit", "dispatch",
                                              ",\"unit\":\"water\""),
                                  "handling"),
                           &r, why, sizeof(why)),
                     -1);
    /* A return after the 2 working days of its window. */
    assert_int_equal(
        parse(APPEAL("help",
                     EV("14T09:10:00", "operator", "dispatch", ",\"unit\":\"water\"") ","
                     EV("17T09:00:00", "unit", "return", ",\"reason\":\"r\",\"basis\":\"b\""),
                     "return_requested"),
              &r, why, sizeof(why)),
        -1);
    assert_non_null(strstr(why, "2 working days"));
}

static void bad_lines_say_why(void **state)
{
    struct import_record r;
    char why[256] = "";

    (void)state;
    assert_int_equal(parse("{\"legacy_id\":", &r, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "not a JSON object"));
    assert_int_equal(parse(APPEAL("help", EV("14T09:10:00", "operator", "dispatch",
                                              ",\"unit\":\"police\""),
                                  "handling"),
                           &r, why, sizeof(why)),
                     -1);
    assert_non_null(strstr(why, "no unit 'police'"));
    assert_int_equal(parse(APPEAL("help", EV("13T09:10:00", "operator", "dispatch",
                                              ",\"unit\":\"water\""),
                                  "handling"),
                           &r, why, sizeof(why)),
                     -1);
    assert_non_null(strstr(why, "'history[0].at'"));
    assert_int_equal(parse(APPEAL("help", "", "handling"), &r, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "leaves the order 'registered'"));
    assert_int_equal(parse(APPEAL("gossip", "", "registered"), &r, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "'kind'"));
}

static void the_clock_marks_only_when_due(void **state)
{
    struct import_record r;
    char why[256] = "";

    (void)state;
    /* A consultation dispatched on Monday is due on Wednesday night. */
    assert_int_equal(
        parse(APPEAL("consultation",
                     EV("14T09:10:00", "operator", "dispatch", ",\"unit\":\"water\"") ","
                     EV("15T09:00:00", "system", "overdue", ""),
                     "handling"),
              &r, why, sizeof(why)),
        -1);
    assert_int_equal(
        parse(APPEAL("consultation",
                     EV("14T09:10:00", "operator", "dispatch", ",\"unit\":\"water\"") ","
                     EV("17T00:00:01", "system", "overdue", ""),
                     "handling"),
              &r, why, sizeof(why)),
        0);
    assert_int_equal(r.t.overdue, 1);
    import_record_clear(&r);
}

static int setup(void **state)
{
    char err[128];

    (void)state;
    cal = calendar_new();
    return calendar_load_tsv(cal, calendar_default_tsv, calendar_default_tsv_len, err,
                             sizeof(err)) > 0
               ? 0
               : -1;
}

static int teardown(void **state)
{
    (void)state;
    calendar_free(cal);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_whole_life_is_replayed),
        cmocka_unit_test(a_history_the_rules_forbid_is_refused),
        cmocka_unit_test(bad_lines_say_why),
        cmocka_unit_test(the_clock_marks_only_when_due),
    };
    return cmocka_run_group_tests_name("import", tests, setup, teardown);
}
