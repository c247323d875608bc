/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of progress.c: what a citizen sees of each state and event. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "progress.h"

#include <string.h>

static void every_state_has_a_public_status(void **state)
{
    static const char *const public[] = {"registered", "answered", "rejected",       "handling",
                                         "completed",  "closed",   "redo_requested", NULL};

    (void)state;
    for (int s = 0; s < STATUS_COUNT; s++) {
        const char *status = progress_status((enum ticket_status)s);
        int known = 0;
        for (int i = 0; public[i] != NULL; i++)
            known |= strcmp(public[i], status) == 0;
        assert_true(known);
    }
    assert_string_equal(progress_status(STATUS_COUNT), "handling");
}

static void requests_a_manager_decides_read_as_handling(void **state)
{
    (void)state;
    assert_string_equal(progress_status(STATUS_RETURN_REQUESTED), "handling");
    assert_string_equal(progress_status(STATUS_EXTENSION_REQUESTED), "handling");
    assert_string_equal(progress_status(STATUS_COMPLETION_REQUESTED), "handling");
    assert_string_equal(progress_status(STATUS_COMPLETED), "completed");
}

static void public_events_have_a_step(void **state)
{
    static const struct {
        const char *action, *code;
        int names_unit;
    } cases[] = {
        {"register", "registered", 0},
        {"answer", "answered", 0},
        {"reject", "rejected", 0},
        {"dispatch", "dispatched", 1},
        {"return/review:approve", "transferred", 1},
        {"extension/review:approve", "extended", 0},
        {"completion/review:approve", "completed", 0},
        {"redo/review:approve", "redo", 0},
        {"close", "closed", 0},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct progress_step *step = progress_step(cases[i].action);
        assert_non_null(step);
        assert_string_equal(step->code, cases[i].code);
        assert_int_equal(step->names_unit, cases[i].names_unit);
    }
}

static void internal_events_have_none(void **state)
{
    static const char *const internal[] = {
        "return",
        "return/review:refuse",
        "extension",
        "extension/review:refuse",
        "completion",
        "completion/review:send_back",
        "note",
        "supervise",
        "due_soon",
        "overdue",
        "rating",
        "redo",
        "redo/review:refuse",
        "pii_read",
        "",
        "an action of tomorrow",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(internal) / sizeof(internal[0]); i++)
        assert_null(progress_step(internal[i]));
}

static void labels_name_the_unit(void **state)
{
    char out[PROGRESS_LABEL_MAX];

    (void)state;
    progress_label(progress_step("dispatch"), "广州市水务局", out, sizeof(out));
    assert_string_equal(out, "Dispatched to 广州市水务局");
    progress_label(progress_step("dispatch"), NULL, out, sizeof(out));
    assert_string_equal(out, "Dispatched to a handling unit");
    progress_label(progress_step("completion/review:approve"), "广州市水务局", out, sizeof(out));
    assert_string_equal(out, "Completed");
}

static void a_cut_label_keeps_whole_characters(void **state)
{
    char out[20];

    (void)state;
    /* "Transferred to " is 15 bytes; 4 more fit: one 3-byte character. */
    progress_label(progress_step("return/review:approve"), "市场监管局", out, sizeof(out));
    assert_string_equal(out, "Transferred to 市");
    progress_label(progress_step("return/review:approve"), "市场监管局", out, 19);
    assert_string_equal(out, "Transferred to 市");
    progress_label(progress_step("return/review:approve"), "市场监管局", out, 18);
    assert_string_equal(out, "Transferred to ");
    progress_label(progress_step("return/review:approve"), "市场监管局", out, 17);
    assert_string_equal(out, "Transferred to ");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_state_has_a_public_status),
        cmocka_unit_test(requests_a_manager_decides_read_as_handling),
        cmocka_unit_test(public_events_have_a_step),
        cmocka_unit_test(internal_events_have_none),
        cmocka_unit_test(labels_name_the_unit),
        cmocka_unit_test(a_cut_label_keeps_whole_characters),
    };
    return cmocka_run_group_tests_name("progress", tests, NULL, NULL);
}
