/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of overflow.c's messages: what an item offered carries and
 * nothing else is needed, what a triage must and must not say, and that
 * nothing malformed from another node is taken. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "overflow.h"

#include <string.h>

#define TICKET "440100-20241104-000001"

static json_t *offer(void)
{
    return json_pack("{s:s,s:i,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "ticket", TICKET, "round", 1, "kind",
                     "complaint", "channel", "web", "category", "public_service", "content",
                     "小区停水两天，没有任何通知。", "division", "440106", "address",
                     "天河区体育西路1号", "created_at", "2024-11-04T10:00:00+08:00");
}

static void an_offer_is_read(void **state)
{
    json_t *v = offer();
    struct overflow_item it;

    (void)state;
    assert_int_equal(overflow_item_read(v, &it), 0);
    assert_string_equal(it.ticket, TICKET);
    assert_int_equal(it.round, 1);
    assert_string_equal(it.kind, "complaint");
    assert_string_equal(it.division, "440106");
    /* What the province adds for the helper does not spoil it. */
    json_object_set_new(v, "owner", json_string("440100"));
    assert_int_equal(overflow_item_read(v, &it), 0);
    json_decref(v);
}

static void a_malformed_offer_is_refused(void **state)
{
    static const struct {
        const char *field;
        const char *text; /* NULL: remove the field */
        int number;
    } cases[] = {
        {"ticket", "440100-2024-1", 0},
        {"ticket", NULL, 0},
        {"round", NULL, 0},
        {"round", NULL, -1},
        {"kind", "gossip", 0},
        {"channel", "phone", 0}, /* calls are not in the intake queue */
        {"category", "sports", 0},
        {"content", "", 0},
        {"division", "44010", 0},
        {"division", "040106", 0},
        {"address", NULL, 0},
        {"created_at", "yesterday", 0},
    };
    struct overflow_item it;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *v = offer();
        if (cases[i].number != 0)
            json_object_set_new(v, cases[i].field, json_integer(cases[i].number));
        else if (cases[i].text != NULL)
            json_object_set_new(v, cases[i].field, json_string(cases[i].text));
        else
            json_object_del(v, cases[i].field);
        assert_int_equal(overflow_item_read(v, &it), -1);
        json_decref(v);
    }
    assert_int_equal(overflow_item_read(NULL, &it), -1);
    json_t *array = json_array();
    assert_int_equal(overflow_item_read(array, &it), -1);
    json_decref(array);
}

static void a_ref_is_a_ticket_and_a_positive_round(void **state)
{
    struct overflow_ref ref;
    json_t *good = json_pack("{s:s,s:i}", "ticket", TICKET, "round", 3);
    json_t *zero = json_pack("{s:s,s:i}", "ticket", TICKET, "round", 0);
    json_t *text = json_pack("{s:s,s:s}", "ticket", TICKET, "round", "3");

    (void)state;
    assert_int_equal(overflow_ref_read(good, &ref), 0);
    assert_int_equal(ref.round, 3);
    assert_int_equal(overflow_ref_read(zero, &ref), -1);
    assert_int_equal(overflow_ref_read(text, &ref), -1);
    json_decref(good);
    json_decref(zero);
    json_decref(text);
}

/* Checks a triage and returns the field at fault, or NULL if it holds. */
static const char *fault(const char *decision, const char *kind, const char *category,
                         const char *reason, const char *explanation)
{
    struct overflow_triage t = {.ticket = TICKET,
                                .round = 1,
                                .decision = decision,
                                .kind = kind,
                                .category = category,
                                .reason = reason,
                                .explanation = explanation,
                                .by = "坐席王芳"};
    const char *field = NULL, *why = NULL;

    if (overflow_triage_check(&t, &field, &why) == 0)
        return NULL;
    assert_non_null(why);
    return field;
}

static void a_triage_accepts_or_refuses_with_a_reason(void **state)
{
    (void)state;
    assert_null(fault("accept", NULL, NULL, NULL, NULL));
    assert_null(fault("accept", "help", "public_service", NULL, NULL));
    assert_null(fault("reject", NULL, NULL, "outside_jurisdiction", "事发地在湖南省。"));
    assert_string_equal(fault("maybe", NULL, NULL, NULL, NULL), "decision");
    assert_string_equal(fault(NULL, NULL, NULL, NULL, NULL), "decision");
    assert_string_equal(fault("accept", "gossip", NULL, NULL, NULL), "kind");
    assert_string_equal(fault("accept", NULL, "sports", NULL, NULL), "category");
    assert_string_equal(fault("accept", NULL, NULL, "other", NULL), "reason");
    assert_string_equal(fault("accept", NULL, NULL, NULL, "理由"), "explanation");
    assert_string_equal(fault("reject", NULL, NULL, NULL, "理由"), "reason");
    assert_string_equal(fault("reject", NULL, NULL, "too_hard", "理由"), "reason");
    assert_string_equal(fault("reject", NULL, NULL, "other", NULL), "explanation");
    assert_string_equal(fault("reject", "help", NULL, "other", "理由"), "kind");
    assert_string_equal(fault("reject", NULL, "public_service", "other", "理由"), "category");
    /* Only the centre that holds the earlier appeal can tell a repeat. */
    assert_string_equal(fault("reject", NULL, NULL, "repeat", "同一事项。"), "reason");
}

static void a_triage_travels_and_is_read_back(void **state)
{
    struct overflow_triage t = {.ticket = TICKET,
                                .round = 2,
                                .decision = "reject",
                                .reason = "petition_channel",
                                .explanation = "已在信访渠道办理。",
                                .by = "坐席王芳"},
                           back;
    json_t *v = overflow_triage_json(&t);

    (void)state;
    assert_non_null(v);
    assert_null(json_object_get(v, "kind")); /* absent, not null */
    json_object_set_new(v, "ticket", json_string(TICKET));
    json_object_set_new(v, "round", json_integer(2));
    assert_int_equal(overflow_triage_read(v, &back), 0);
    assert_string_equal(back.decision, "reject");
    assert_string_equal(back.reason, "petition_channel");
    assert_string_equal(back.by, "坐席王芳");
    assert_int_equal(back.round, 2);
    assert_null(back.kind);
    /* A refusal without its explanation is not taken from the wire either. */
    json_object_del(v, "explanation");
    assert_int_equal(overflow_triage_read(v, &back), -1);
    json_object_set_new(v, "explanation", json_null());
    assert_int_equal(overflow_triage_read(v, &back), -1);
    json_object_set_new(v, "explanation", json_integer(7));
    assert_int_equal(overflow_triage_read(v, &back), -1);
    json_decref(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(an_offer_is_read),
        cmocka_unit_test(a_malformed_offer_is_refused),
        cmocka_unit_test(a_ref_is_a_ticket_and_a_positive_round),
        cmocka_unit_test(a_triage_accepts_or_refuses_with_a_reason),
        cmocka_unit_test(a_triage_travels_and_is_read_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
