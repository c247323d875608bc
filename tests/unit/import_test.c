/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of import.c: a legacy line read, checked with intake's rules
 * and its history replayed through the state machine, on the national
 * calendar, with the time now passed in. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "calendar.h"
#include "national_calendar.h"
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

#define EVA(at, actor, role, action, body)                                                         \
    "{\"at\":\"2024-10-" at "+08:00\",\"actor\":\"" actor "\",\"role\":\"" role                    \
    "\",\"action\":\"" action "\"" body "}"
#define EV(at, role, action, body) EVA(at, "x", role, action, body)
/* The citizen and the clock are recorded by role, not by name. */
#define CITIZEN(at, action, body) EVA(at, "citizen", "citizen", action, body)
#define CLOCK(at, action)         EVA(at, "clock", "system", action, "")

/* A line of 'kind' with the events 'history' (NULL-terminated), left in 'status'. */
static const char *appeal(const char *kind, const char *const *history, const char *status)
{
    static char line[8192];
    char events[6144] = "";

    for (size_t i = 0; history[i] != NULL; i++) {
        strcat(events, i > 0 ? "," : "");
        strcat(events, history[i]);
    }
    snprintf(line, sizeof(line),
             "{\"legacy_id\":\"L-1\",\"kind\":\"%s\",\"channel\":\"phone\","
             "\"category\":\"public_service\",\"content\":\"路灯坏了\","
             "\"citizen\":{\"type\":\"person\",\"name\":\"李娜\",\"phone\":\"13800138000\"},"
             "\"location\":{\"division\":\"440106\",\"address\":\"体育东路12号\"},"
             "\"received_at\":\"2024-10-14T09:00:00+08:00\",\"registered_by\":\"坐席\","
             "\"history\":[%s],\"status\":\"%s\"}",
             kind, events, status);
    return line;
}

static int parse(const char *line, struct import_record *r, char *why, size_t len)
{
    struct import_rules rl = rules();

    return import_parse(line, strlen(line), &rl, r, why, len);
}

static const char *const none[] = {NULL};
static const char *const dispatched[] = {
    EV("14T09:10:00", "operator", "dispatch", ",\"unit\":\"water\""), NULL};

static void a_whole_life_is_replayed(void **state)
{
    static const char *const life[] = {
        EV("14T09:10:00", "operator", "dispatch", ",\"unit\":\"water\""),
        EV("15T10:00:00", "unit", "return", ",\"reason\":\"r\",\"basis\":\"b\""),
        EV("15T11:00:00", "manager", "return/review",
           ",\"decision\":\"approve\",\"unit\":\"market\""),
        EV("18T10:00:00", "unit", "completion",
           ",\"handled_at\":\"2024-10-18T09:00:00+08:00\",\"process\":\"p\",\"result\":\"r\","
           "\"basis\":\"b\""),
        EV("18T11:00:00", "manager", "completion/review", ",\"decision\":\"approve\""),
        CITIZEN("19T09:00:00", "rating", ",\"intake\":\"satisfied\",\"handling\":\"dissatisfied\""),
        CLOCK("26T00:00:00", "close"),
        NULL,
    };
    struct import_record r;
    char why[256] = "";

    (void)state;
    assert_int_equal(parse(appeal("complaint", life, "closed"), &r, why, sizeof(why)), 0);
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
    static const char *const answered[] = {
        EV("14T09:10:00", "operator", "answer", ",\"answer\":\"a\""), NULL};
    static const char *const by_a_unit[] = {
        EV("14T09:10:00", "unit", "dispatch", ",\"unit\":\"water\""), NULL};
    static const char *const late_return[] = {
        EV("14T09:10:00", "operator", "dispatch", ",\"unit\":\"water\""),
        EV("17T09:00:00", "unit", "return", ",\"reason\":\"r\",\"basis\":\"b\""), NULL};
    struct import_record r;
    char why[256] = "";

    (void)state;
    /* Only a consultation is answered on the spot. */
    assert_int_equal(parse(appeal("complaint", answered, "answered"), &r, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "refused by the rules"));
    /* A unit may not dispatch. */
    assert_int_equal(parse(appeal("help", by_a_unit, "handling"), &r, why, sizeof(why)), -1);
    /* A return after the 2 working days of its window. */
    assert_int_equal(parse(appeal("help", late_return, "return_requested"), &r, why, sizeof(why)),
                     -1);
    assert_non_null(strstr(why, "2 working days"));
}

static void bad_lines_say_why(void **state)
{
    static const char *const police[] = {
        EV("14T09:10:00", "operator", "dispatch", ",\"unit\":\"police\""), NULL};
    static const char *const early[] = {
        EV("13T09:10:00", "operator", "dispatch", ",\"unit\":\"water\""), NULL};
    struct import_record r;
    char why[256] = "";

    (void)state;
    assert_int_equal(parse("{\"legacy_id\":", &r, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "not a JSON object"));
    assert_int_equal(parse(appeal("help", police, "handling"), &r, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "no unit 'police'"));
    assert_int_equal(parse(appeal("help", early, "handling"), &r, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "'history[0].at'"));
    assert_int_equal(parse(appeal("help", none, "handling"), &r, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "leaves the order 'registered'"));
    assert_int_equal(parse(appeal("gossip", none, "registered"), &r, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "'kind'"));
    assert_int_equal(parse(appeal("help", dispatched, "handling"), &r, why, sizeof(why)), 0);
    import_record_clear(&r);
}

static void the_clock_marks_only_when_due(void **state)
{
    /* A consultation dispatched on Monday is due on Wednesday night. */
    static const char *const early[] = {
        EV("14T09:10:00", "operator", "dispatch", ",\"unit\":\"water\""),
        CLOCK("15T09:00:00", "overdue"), NULL};
    static const char *const due[] = {
        EV("14T09:10:00", "operator", "dispatch", ",\"unit\":\"water\""),
        CLOCK("17T00:00:01", "overdue"), NULL};
    struct import_record r;
    char why[256] = "";

    (void)state;
    assert_int_equal(parse(appeal("consultation", early, "handling"), &r, why, sizeof(why)), -1);
    assert_int_equal(parse(appeal("consultation", due, "handling"), &r, why, sizeof(why)), 0);
    assert_int_equal(r.t.overdue, 1);
    import_record_clear(&r);
}

static int setup(void **state)
{
    (void)state;
    return (cal = national_calendar()) != NULL ? 0 : -1;
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
