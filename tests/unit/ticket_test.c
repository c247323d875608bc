/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of ticket.c: the transition table, its guards and effects, on
 * the national calendar, with time passed in rather than read from a clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "calendar.h"
#include "national_calendar.h"
#include "clock.h"
#include "ticket.h"

#include <stdlib.h>
#include <string.h>

static struct calendar *cal;
static const struct ticket_periods periods = {.days = {2, 10, 15, 15, 10}, .rating_window_days = 7};
static const struct ticket_caller operator= {ROLE_OPERATOR, NULL};
static const struct ticket_caller manager = {ROLE_MANAGER, NULL};
static const struct ticket_caller auditor = {ROLE_AUDITOR, NULL};
static const struct ticket_caller water = {ROLE_UNIT, "water"};
static const struct ticket_caller power = {ROLE_UNIT, "power"};
static const struct ticket_caller service = {ROLE_SERVICE, NULL};

static int64_t at(const char *rfc3339)
{
    int64_t us;

    assert_int_equal(clock_parse(rfc3339, &us), 0);
    return us;
}

static struct ticket_context ctx_at(const char *when)
{
    struct ticket_context ctx = {.now = at(when), .calendar = cal, .periods = &periods};
    return ctx;
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

static struct ticket registered(enum ticket_kind kind)
{
    struct ticket t;

    memset(&t, 0, sizeof(t));
    strcpy(t.id, "440100-20240927-000001");
    t.status = STATUS_REGISTERED;
    t.kind = kind;
    return t;
}

/* Checks and applies, as the workflow does; returns the refusal status or 0. */
static int act(struct ticket *t, enum ticket_action a, const struct ticket_caller *c,
               const struct ticket_input *in, const struct ticket_context *ctx, const char **code)
{
    struct ticket_refusal why;

    if (ticket_check(t, a, c, in, ctx, &why) < 0) {
        if (code != NULL)
            *code = why.code;
        return why.status;
    }
    ticket_apply(t, a, in, ctx);
    return 0;
}

static struct ticket dispatched(enum ticket_kind kind, const char *when)
{
    struct ticket t = registered(kind);
    struct ticket_context ctx = ctx_at(when);
    struct ticket_input in = {.unit = "water"};

    assert_int_equal(act(&t, ACTION_DISPATCH, &operator, & in, &ctx, NULL), 0);
    return t;
}

static void deadline_crosses_national_day(void **state)
{
    struct ticket t = dispatched(KIND_COMPLAINT, "2024-09-27T10:00:00+08:00");

    (void)state;
    assert_int_equal(t.status, STATUS_HANDLING);
    assert_string_equal(t.unit, "water");
    assert_int_equal(t.deadline, at("2024-10-23T23:59:59.999999+08:00") - 999999);
    assert_false(t.provisional);
}

static void periods_by_kind(void **state)
{
    /* Monday 2024-11-04: consultation 2, help 10, suggestion 10 working days. */
    static const struct {
        enum ticket_kind kind;
        const char *deadline;
    } cases[] = {
        {KIND_CONSULTATION, "2024-11-06T23:59:59+08:00"},
        {KIND_HELP, "2024-11-18T23:59:59+08:00"},
        {KIND_SUGGESTION, "2024-11-18T23:59:59+08:00"},
        {KIND_REPORT, "2024-11-25T23:59:59+08:00"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct ticket t = dispatched(cases[i].kind, "2024-11-04T09:00:00+08:00");
        assert_int_equal(t.deadline / 1000000, at(cases[i].deadline) / 1000000);
    }
}

static void answer_only_consultations(void **state)
{
    struct ticket_context ctx = ctx_at("2024-11-04T09:00:00+08:00");
    struct ticket c = registered(KIND_CONSULTATION), h = registered(KIND_HELP);
    const char *code = NULL;

    (void)state;
    assert_int_equal(act(&h, ACTION_ANSWER, &operator, NULL, &ctx, &code), 409);
    assert_string_equal(code, "not_consultation");
    assert_int_equal(h.status, STATUS_REGISTERED);
    assert_int_equal(act(&c, ACTION_ANSWER, &operator, NULL, &ctx, NULL), 0);
    assert_int_equal(c.status, STATUS_ANSWERED);
    assert_true(ticket_closed(c.status));
    assert_int_equal(act(&c, ACTION_DISPATCH, &operator, NULL, &ctx, &code), 409);
    assert_string_equal(code, "illegal_transition");
}

static void accept_then_dispatch(void **state)
{
    struct ticket_context ctx = ctx_at("2024-11-04T09:00:00+08:00");
    struct ticket t = registered(KIND_COMPLAINT);
    struct ticket_input judged = {.kind = "consultation", .category = "public_service"};
    struct ticket_input bad_kind = {.kind = "gossip"}, bad_category = {.category = "sports"};
    struct ticket_input to_water = {.unit = "water"};
    struct ticket_refusal why;
    const char *code = NULL;

    (void)state;
    strcpy(t.category, "market_supervision");
    assert_int_equal(act(&t, ACTION_ACCEPT, &manager, &judged, &ctx, &code), 403);
    assert_int_equal(ticket_check(&t, ACTION_ACCEPT, &operator, & bad_kind, &ctx, &why), -1);
    assert_int_equal(why.status, 400);
    assert_string_equal(why.field, "kind");
    assert_int_equal(ticket_check(&t, ACTION_ACCEPT, &operator, & bad_category, &ctx, &why), -1);
    assert_string_equal(why.field, "category");

    assert_int_equal(act(&t, ACTION_ACCEPT, &operator, & judged, &ctx, NULL), 0);
    assert_int_equal(t.status, STATUS_ACCEPTED);
    assert_int_equal(t.kind, KIND_CONSULTATION);
    assert_string_equal(t.category, "public_service");
    assert_false(ticket_closed(t.status));
    assert_false(ticket_running(t.status));
    /* Accepted once; no longer rejected; answered or dispatched as before. */
    assert_int_equal(act(&t, ACTION_ACCEPT, &operator, & judged, &ctx, &code), 409);
    assert_int_equal(act(&t, ACTION_REJECT, &operator, NULL, &ctx, &code), 409);
    assert_string_equal(code, "illegal_transition");
    assert_int_equal(act(&t, ACTION_DISPATCH, &operator, & to_water, &ctx, NULL), 0);
    assert_int_equal(t.status, STATUS_HANDLING);
    assert_int_equal(t.deadline / 1000000, at("2024-11-06T23:59:59+08:00") / 1000000);

    /* Without a judgement the appeal keeps its kind and category. */
    struct ticket_input as_is = {0};
    struct ticket c = registered(KIND_HELP);
    strcpy(c.category, "social_management");
    assert_int_equal(act(&c, ACTION_ACCEPT, &operator, & as_is, &ctx, NULL), 0);
    assert_int_equal(c.kind, KIND_HELP);
    assert_string_equal(c.category, "social_management");
}

static void roles_and_scope(void **state)
{
    struct ticket t = dispatched(KIND_HELP, "2024-11-04T09:00:00+08:00");
    struct ticket_context ctx = ctx_at("2024-11-04T10:00:00+08:00");
    struct ticket_input in = {.unit = "water", .no_return = 1};
    struct ticket r = registered(KIND_HELP);
    const char *code = NULL;

    (void)state;
    assert_int_equal(act(&r, ACTION_DISPATCH, &auditor, NULL, &ctx, &code), 403);
    assert_int_equal(act(&r, ACTION_DISPATCH, &operator, & in, &ctx, &code), 403);
    assert_int_equal(act(&r, ACTION_DISPATCH, &manager, &in, &ctx, NULL), 0);
    assert_true(r.no_return);
    /* Another unit neither sees nor touches the order. */
    assert_false(ticket_visible(&t, &power));
    assert_int_equal(act(&t, ACTION_COMPLETION, &power, NULL, &ctx, &code), 404);
    assert_true(ticket_visible(&t, &water));
    assert_true(ticket_visible(&t, &auditor));
    assert_int_equal(act(&t, ACTION_NOTE, &auditor, NULL, &ctx, &code), 403);
}

static void return_window_is_two_working_days(void **state)
{
    /* Received Friday 2024-09-27: the window ends Monday 09-30 23:59:59. */
    struct ticket t = dispatched(KIND_COMPLAINT, "2024-09-27T10:00:00+08:00");
    struct ticket_context late = ctx_at("2024-10-08T09:00:00+08:00");
    struct ticket_context in_time = ctx_at("2024-09-30T23:59:00+08:00");
    const char *code = NULL;

    (void)state;
    assert_int_equal(act(&t, ACTION_RETURN, &water, NULL, &late, &code), 409);
    assert_string_equal(code, "return_window_closed");
    assert_int_equal(act(&t, ACTION_RETURN, &water, NULL, &in_time, NULL), 0);
    assert_int_equal(t.status, STATUS_RETURN_REQUESTED);
}

static void approved_return_restarts_the_period(void **state)
{
    struct ticket t = dispatched(KIND_HELP, "2024-11-04T09:00:00+08:00");
    struct ticket_context ctx = ctx_at("2024-11-05T09:00:00+08:00");
    struct ticket_input same = {.unit = "water"}, other = {.unit = "power"};
    const char *code = NULL;

    (void)state;
    assert_int_equal(act(&t, ACTION_RETURN, &water, NULL, &ctx, NULL), 0);
    assert_int_equal(act(&t, ACTION_RETURN_APPROVE, &manager, &same, &ctx, &code), 400);
    assert_int_equal(act(&t, ACTION_RETURN_APPROVE, &manager, &other, &ctx, NULL), 0);
    assert_string_equal(t.unit, "power");
    assert_int_equal(t.returns, 1);
    assert_int_equal(t.received_at, ctx.now);
    assert_int_equal(t.deadline / 1000000, at("2024-11-19T23:59:59+08:00") / 1000000);
}

static void refused_return_keeps_the_period(void **state)
{
    struct ticket t = dispatched(KIND_HELP, "2024-11-04T09:00:00+08:00");
    struct ticket_context ctx = ctx_at("2024-11-05T09:00:00+08:00");
    int64_t deadline = t.deadline, received = t.received_at;

    (void)state;
    assert_int_equal(act(&t, ACTION_RETURN, &water, NULL, &ctx, NULL), 0);
    assert_int_equal(act(&t, ACTION_RETURN_REFUSE, &manager, NULL, &ctx, NULL), 0);
    assert_int_equal(t.status, STATUS_HANDLING);
    assert_int_equal(t.deadline, deadline);
    assert_int_equal(t.received_at, received);
}

static void no_return_order(void **state)
{
    struct ticket t = registered(KIND_HELP);
    struct ticket_context ctx = ctx_at("2024-11-04T09:00:00+08:00");
    struct ticket_input in = {.unit = "water", .no_return = 1};
    const char *code = NULL;

    (void)state;
    assert_int_equal(act(&t, ACTION_DISPATCH, &manager, &in, &ctx, NULL), 0);
    assert_int_equal(act(&t, ACTION_RETURN, &water, NULL, &ctx, &code), 409);
    assert_string_equal(code, "no_return_order");
}

static void extensions(void **state)
{
    struct ticket t = dispatched(KIND_HELP, "2024-11-04T09:00:00+08:00");
    struct ticket_context ctx = ctx_at("2024-11-05T09:00:00+08:00");
    const char *code = NULL;

    (void)state;
    for (int i = 0; i < 2; i++) {
        int64_t before = t.deadline;
        assert_int_equal(act(&t, ACTION_EXTENSION, &water, NULL, &ctx, NULL), 0);
        assert_int_equal(act(&t, ACTION_EXTENSION_APPROVE, &manager, NULL, &ctx, NULL), 0);
        assert_true(t.deadline > before);
    }
    /* 2024-11-18 + 10 + 10 working days. */
    assert_int_equal(t.deadline / 1000000, at("2024-12-16T23:59:59+08:00") / 1000000);
    assert_int_equal(t.extensions, 2);
    assert_int_equal(act(&t, ACTION_EXTENSION, &water, NULL, &ctx, &code), 409);
    assert_string_equal(code, "extension_limit");

    struct ticket late = dispatched(KIND_HELP, "2024-11-04T09:00:00+08:00");
    struct ticket_context after = ctx_at("2024-11-19T00:00:00+08:00");
    assert_int_equal(act(&late, ACTION_EXTENSION, &water, NULL, &after, &code), 409);
    assert_string_equal(code, "deadline_passed");
}

static void completion_and_review(void **state)
{
    struct ticket t = dispatched(KIND_HELP, "2024-11-04T09:00:00+08:00");
    struct ticket_context ctx = ctx_at("2024-11-06T09:00:00+08:00");
    int64_t deadline = t.deadline;

    (void)state;
    assert_int_equal(act(&t, ACTION_COMPLETION, &water, NULL, &ctx, NULL), 0);
    assert_int_equal(act(&t, ACTION_COMPLETION_SEND_BACK, &manager, NULL, &ctx, NULL), 0);
    assert_int_equal(t.status, STATUS_HANDLING);
    assert_int_equal(t.deadline, deadline);
    assert_int_equal(act(&t, ACTION_COMPLETION, &water, NULL, &ctx, NULL), 0);
    assert_int_equal(act(&t, ACTION_COMPLETION_APPROVE, &manager, NULL, &ctx, NULL), 0);
    assert_int_equal(t.status, STATUS_COMPLETED);
    assert_int_equal(act(&t, ACTION_SUPERVISE, &manager, NULL, &ctx, NULL), 409);
}

static void due_soon_then_overdue(void **state)
{
    struct ticket t = dispatched(KIND_COMPLAINT, "2024-09-27T10:00:00+08:00");
    struct ticket_context early = ctx_at("2024-10-21T10:00:00+08:00");
    struct ticket_context eve = ctx_at("2024-10-22T10:00:00+08:00");
    struct ticket_context after = ctx_at("2024-10-24T00:00:01+08:00");

    (void)state;
    assert_int_equal(ticket_tick(&t, &early), 0);
    assert_int_equal(ticket_tick(&t, &eve), 1);
    assert_true(t.due_soon);
    assert_int_equal(ticket_tick(&t, &eve), 0);
    assert_int_equal(ticket_tick(&t, &after), 2);
    assert_true(t.overdue);
    assert_false(t.due_soon);
}

static void allowed_actions_follow_the_table(void **state)
{
    struct ticket t = registered(KIND_CONSULTATION);
    struct ticket_context ctx = ctx_at("2024-11-04T09:00:00+08:00");
    const char *names[ACTION_COUNT];

    (void)state;
    size_t n = ticket_allowed(&t, &operator, & ctx, names);
    assert_int_equal(n, 7);
    assert_string_equal(names[0], "answer");
    assert_string_equal(names[1], "reject");
    assert_string_equal(names[2], "dispatch");
    assert_string_equal(names[3], "notes");
    assert_string_equal(names[4], "link");
    assert_string_equal(names[5], "transfer");
    assert_string_equal(names[6], "accept");
    assert_int_equal(ticket_allowed(&t, &auditor, &ctx, names), 0);

    struct ticket h = dispatched(KIND_HELP, "2024-11-04T09:00:00+08:00");
    struct ticket_context c2 = ctx_at("2024-11-04T10:00:00+08:00");
    struct ticket_input in = {0};
    assert_int_equal(act(&h, ACTION_RETURN, &water, &in, &c2, NULL), 0);
    n = ticket_allowed(&h, &manager, &c2, names);
    assert_int_equal(n, 4);
    assert_string_equal(names[0], "return/review");
    assert_string_equal(names[1], "notes");
    assert_string_equal(names[2], "supervise");
    assert_string_equal(names[3], "link");
}

static void ratings_and_one_redo(void **state)
{
    static const struct ticket_caller citizen = {ROLE_CITIZEN, NULL};
    struct ticket t = dispatched(KIND_HELP, "2024-11-04T09:00:00+08:00");
    struct ticket_context ctx = ctx_at("2024-11-06T09:00:00+08:00");
    const char *code = NULL;

    (void)state;
    assert_int_equal(act(&t, ACTION_RATE, &operator, NULL, &ctx, &code), 409);
    assert_int_equal(act(&t, ACTION_COMPLETION, &water, NULL, &ctx, NULL), 0);
    assert_int_equal(act(&t, ACTION_COMPLETION_APPROVE, &manager, NULL, &ctx, NULL), 0);
    assert_int_equal(t.rating_due, ctx.now + 7 * 86400 * (int64_t)1000000);
    assert_int_equal(act(&t, ACTION_RATE, &water, NULL, &ctx, &code), 403);
    assert_int_equal(act(&t, ACTION_RATE, &citizen, NULL, &ctx, NULL), 0);
    assert_int_equal(act(&t, ACTION_RATE, &operator, NULL, &ctx, &code), 409);
    assert_string_equal(code, "already_rated");

    assert_int_equal(act(&t, ACTION_REDO, &operator, NULL, &ctx, NULL), 0);
    assert_int_equal(t.status, STATUS_REDO_REQUESTED);
    assert_int_equal(act(&t, ACTION_REDO_APPROVE, &manager, NULL, &ctx, NULL), 0);
    assert_int_equal(t.status, STATUS_HANDLING);
    assert_string_equal(t.unit, "water");
    assert_int_equal(t.redos, 1);
    assert_false(t.rated);
    /* help: 10 working days after Wednesday 2024-11-06 */
    assert_int_equal(t.deadline / 1000000, at("2024-11-20T23:59:59+08:00") / 1000000);

    assert_int_equal(act(&t, ACTION_COMPLETION, &water, NULL, &ctx, NULL), 0);
    assert_int_equal(act(&t, ACTION_COMPLETION_APPROVE, &manager, NULL, &ctx, NULL), 0);
    assert_int_equal(act(&t, ACTION_REDO, &operator, NULL, &ctx, &code), 409);
    assert_string_equal(code, "redo_limit");
}

static void unrated_window_closes(void **state)
{
    struct ticket t = dispatched(KIND_HELP, "2024-11-04T09:00:00+08:00");
    struct ticket_context ctx = ctx_at("2024-11-06T09:00:00+08:00");
    struct ticket_context week = ctx_at("2024-11-13T09:00:00+08:00");
    struct ticket_context later = ctx_at("2024-11-13T09:00:01+08:00");
    const char *code = NULL;

    (void)state;
    assert_int_equal(act(&t, ACTION_COMPLETION, &water, NULL, &ctx, NULL), 0);
    assert_int_equal(act(&t, ACTION_COMPLETION_APPROVE, &manager, NULL, &ctx, NULL), 0);
    assert_int_equal(ticket_expire(&t, &week), 0);
    assert_int_equal(act(&t, ACTION_RATE, &operator, NULL, &later, &code), 409);
    assert_string_equal(code, "rating_closed");
    assert_int_equal(ticket_expire(&t, &later), 1);
    assert_int_equal(t.status, STATUS_CLOSED);
    assert_true(ticket_closed(t.status));
}

/* An intake service forwards the appeal it registers to the node of its
 * jurisdiction, and does nothing else to it. */
static void a_service_transfers_only_what_it_registered(void **state)
{
    struct ticket t = registered(KIND_COMPLAINT);
    struct ticket handling = dispatched(KIND_HELP, "2024-11-04T09:00:00+08:00");
    struct ticket_context ctx = ctx_at("2024-11-04T10:00:00+08:00");
    const char *code = NULL;

    (void)state;
    assert_true(ticket_visible(&t, &service));
    assert_false(ticket_visible(&handling, &service));
    assert_int_equal(act(&handling, ACTION_TRANSFER, &service, NULL, &ctx, &code), 404);
    assert_int_equal(act(&t, ACTION_DISPATCH, &service, NULL, &ctx, &code), 403);
    assert_int_equal(act(&t, ACTION_NOTE, &service, NULL, &ctx, &code), 403);
    assert_int_equal(act(&t, ACTION_TRANSFER, &service, NULL, &ctx, NULL), 0);
    assert_int_equal(t.status, STATUS_TRANSFER_PENDING);
}

static void names_round_trip(void **state)
{
    (void)state;
    for (int s = 0; s < STATUS_COUNT; s++) {
        enum ticket_status back;
        assert_int_equal(ticket_status_parse(ticket_status_name((enum ticket_status)s), &back), 0);
        assert_int_equal(back, s);
    }
    for (int k = 0; k < KIND_COUNT; k++) {
        enum ticket_kind back;
        assert_int_equal(ticket_kind_parse(ticket_kind_name((enum ticket_kind)k), &back), 0);
        assert_int_equal(back, k);
    }
    enum ticket_status s;
    assert_int_equal(ticket_status_parse("archived", &s), -1);
    assert_string_equal(ticket_action_name(ACTION_RETURN_APPROVE), "return/review:approve");
    assert_string_equal(ticket_action_route(ACTION_RETURN_APPROVE), "return/review");
}

/* A transfer freezes the order until the province decides; the node that
 * took it over may decline it within 2 working days, unless decided. */
static void transfer_and_decline_window(void **state)
{
    struct ticket t = registered(KIND_HELP);
    struct ticket_context fri = ctx_at("2024-11-08T10:00:00+08:00");
    struct ticket_context tue = ctx_at("2024-11-12T23:00:00+08:00");
    struct ticket_context wed = ctx_at("2024-11-13T00:00:01+08:00");
    struct ticket_refusal why;
    const char *names[ACTION_COUNT];

    (void)state;
    assert_int_equal(ticket_check(&t, ACTION_DECLINE, &operator, NULL, &fri, &why), -1);
    assert_string_equal(why.code, "not_transferred");
    assert_int_equal(ticket_check(&t, ACTION_TRANSFER, &auditor, NULL, &fri, &why), -1);
    assert_int_equal(why.status, 403);
    assert_int_equal(ticket_check(&t, ACTION_TRANSFER, &operator, NULL, &fri, &why), 0);
    ticket_apply(&t, ACTION_TRANSFER, NULL, &fri);
    assert_int_equal(t.status, STATUS_TRANSFER_PENDING);
    assert_false(ticket_closed(t.status));
    assert_int_equal(ticket_allowed(&t, &operator, & fri, names), 0);

    struct ticket in = registered(KIND_HELP);
    clock_parse("2024-11-08T09:00:00+08:00", &in.handed_at);
    assert_int_equal(ticket_check(&in, ACTION_DECLINE, &operator, NULL, &tue, &why), 0);
    assert_int_equal(ticket_check(&in, ACTION_DECLINE, &operator, NULL, &wed, &why), -1);
    assert_string_equal(why.code, "decline_window_closed");
    in.transfer_final = 1;
    assert_int_equal(ticket_check(&in, ACTION_DECLINE, &operator, NULL, &tue, &why), -1);
    assert_string_equal(why.code, "decided");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(deadline_crosses_national_day),
        cmocka_unit_test(periods_by_kind),
        cmocka_unit_test(answer_only_consultations),
        cmocka_unit_test(accept_then_dispatch),
        cmocka_unit_test(roles_and_scope),
        cmocka_unit_test(return_window_is_two_working_days),
        cmocka_unit_test(approved_return_restarts_the_period),
        cmocka_unit_test(refused_return_keeps_the_period),
        cmocka_unit_test(no_return_order),
        cmocka_unit_test(extensions),
        cmocka_unit_test(completion_and_review),
        cmocka_unit_test(due_soon_then_overdue),
        cmocka_unit_test(allowed_actions_follow_the_table),
        cmocka_unit_test(transfer_and_decline_window),
        cmocka_unit_test(ratings_and_one_redo),
        cmocka_unit_test(unrated_window_closes),
        cmocka_unit_test(a_service_transfers_only_what_it_registered),
        cmocka_unit_test(names_round_trip),
    };
    return cmocka_run_group_tests_name("ticket", tests, setup, teardown);
}
