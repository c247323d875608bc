/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of broadcast.c and the checks its kinds make of what the
 * province sends: a knowledge-base entry (kbdb_copy_valid), a year of the
 * calendar (calstore_year_valid), a restriction (restriction_wire_valid).
 * A message that is not well formed is left out before the database is
 * touched, so these run without one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "broadcast.h"
#include "calstore.h"
#include "kbdb.h"
#include "restriction.h"

#include <string.h>

static json_t *parse(const char *text)
{
    json_error_t err;
    json_t *v = json_loads(text, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &err);

    if (v == NULL)
        fail_msg("bad test JSON at %d: %s", err.position, err.text);
    return v;
}

/* 'base' with member 'name' set to the JSON 'value' ("" removes it). */
static json_t *changed(const char *base, const char *name, const char *value)
{
    json_t *obj = parse(base);

    if (value[0] == '\0')
        json_object_del(obj, name);
    else
        json_object_set_new(obj, name, parse(value));
    return obj;
}

/* --- the kinds ---------------------------------------------------------- */

static void kinds_by_name(void **state)
{
    enum broadcast_kind k = BROADCAST_KINDS;

    (void)state;
    for (int i = 0; i < BROADCAST_KINDS; i++) {
        assert_int_equal(broadcast_kind_parse(broadcast_kind_names[i], &k), 0);
        assert_int_equal(k, i);
    }
    assert_null(broadcast_kind_names[BROADCAST_KINDS]);
    assert_int_equal(broadcast_kind_parse("ticket", &k), -1);
    assert_int_equal(broadcast_kind_parse("", &k), -1);
}

static void members_are_checked_for_text_and_time(void **state)
{
    json_t *obj = parse("{\"name\": \"电梯\", \"empty\": \"\", \"number\": 3, \"nothing\": null,"
                        " \"at\": \"2024-11-04T10:00:00+08:00\", \"when\": \"yesterday\"}");

    (void)state;
    assert_true(broadcast_text_ok(obj, "name", 2, 0));
    assert_false(broadcast_text_ok(obj, "name", 1, 0)); /* characters, not bytes */
    assert_false(broadcast_text_ok(obj, "empty", 10, 0));
    assert_false(broadcast_text_ok(obj, "number", 10, 0));
    assert_false(broadcast_text_ok(obj, "nothing", 10, 0));
    assert_true(broadcast_text_ok(obj, "nothing", 10, 1));
    assert_true(broadcast_text_ok(obj, "absent", 10, 1));
    assert_true(broadcast_time_ok(obj, "at", 0));
    assert_false(broadcast_time_ok(obj, "when", 1));
    assert_false(broadcast_time_ok(obj, "absent", 0));
    assert_true(broadcast_time_ok(obj, "nothing", 1));
    json_decref(obj);
}

/* --- restrictions -------------------------------------------------------- */

#define RESTRICTION                                                                                \
    "{\"id\": \"440100-R-000012\", \"origin_node\": \"440100\","                                   \
    " \"phone_hash\": \"" HASH "\", \"phone_masked\": \"138****8000\","                            \
    " \"reason\": \"多次来电辱骂坐席\", \"by\": {\"id\": 3, \"name\": \"坐席王芳\"},"  \
    " \"from\": \"2024-11-04T10:00:00+08:00\", \"until\": \"2024-12-04T10:00:00+08:00\","          \
    " \"lifted_at\": null, \"lifted_by\": null}"
#define HASH "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void a_restriction_is_checked_whole(void **state)
{
    static const struct {
        const char *name, *value;
    } bad[] = {
        {"id", "\"440100-R-12\""},
        {"id", "\"440100-R-000012x\""},
        {"id", "\"040100-R-000012\""},
        {"origin_node", "\"440300\""}, /* not the id's */
        {"phone_hash", "\"13800138000\""},
        {"phone_hash", "\"" HASH "0\""},
        {"phone_masked", "\"13800138000\""},
        {"reason", "\"\""},
        {"reason", "null"},
        {"by", "{\"id\": \"3\", \"name\": \"坐席\"}"},
        {"by", "{\"id\": 3}"},
        {"from", "\"2024-11-04 10:00\""},
        {"until", "\"2024-11-04T10:00:00+08:00\""},         /* not after from */
        {"lifted_at", "\"2024-11-05T10:00:00+08:00\""},     /* without who */
        {"lifted_by", "{\"id\": 4, \"name\": \"值班长\"}"}, /* without when */
    };
    json_t *ok = parse(RESTRICTION);

    (void)state;
    assert_true(restriction_wire_valid("440100-R-000012", ok));
    assert_true(restriction_wire_valid(NULL, ok));
    assert_false(restriction_wire_valid("440100-R-000013", ok));
    json_object_set_new(ok, "lifted_at", json_string("2024-11-05T10:00:00+08:00"));
    json_object_set_new(ok, "lifted_by",
                        parse("{\"id\": 4, \"name\": \"值班长\","
                              " \"node\": \"440300\"}"));
    assert_true(restriction_wire_valid(NULL, ok));
    json_decref(ok);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *v = changed(RESTRICTION, bad[i].name, bad[i].value);
        if (restriction_wire_valid(NULL, v))
            fail_msg("%s = %s passed", bad[i].name, bad[i].value);
        json_decref(v);
    }
}

/* --- knowledge-base entries --------------------------------------------- */

#define ENTRY                                                                                      \
    "{\"type\": \"answer_script\", \"unit\": \"water\", \"unit_name\": \"广东省水利厅\","    \
    " \"version\": 2, \"title\": \"电梯停运报修口径\", \"text\": \"请拨打96333。\","   \
    " \"valid_from\": \"2024-01-01\", \"valid_until\": null, \"publication_date\": null,"          \
    " \"official_text\": null, \"late\": false, \"submitted_at\": \"2024-11-04T10:00:00+08:00\","  \
    " \"submitted_by\": \"值班长\", \"submitted_role\": \"manager\", \"reviewed_at\": null,"    \
    " \"reviewed_by\": null, \"created_at\": \"2024-11-04T10:00:00+08:00\","                       \
    " \"updated_at\": \"2024-11-04T10:00:00+08:00\"}"

static void an_entry_is_checked_whole(void **state)
{
    static const struct {
        const char *name, *value;
    } bad[] = {
        {"type", "\"faq\""},
        {"unit", "\"水务\""},
        {"unit", "\"\""},
        {"unit_name", ""},
        {"version", "0"},
        {"version", "\"2\""},
        {"title", "\"\""},
        {"text", "null"},
        {"valid_from", "\"2024-02-30\""},
        {"valid_until", "\"2023-12-31\""},
        {"publication_date", "\"soon\""},
        {"late", "0"},
        {"submitted_at", ""},
        {"updated_at", "\"today\""},
    };
    json_t *ok = parse(ENTRY);

    (void)state;
    assert_true(kbdb_copy_valid("440000-KB-0001", ok));
    assert_false(kbdb_copy_valid("KB-0001", ok));
    assert_false(kbdb_copy_valid("440000-KB-0000", ok));
    json_decref(ok);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *v = changed(ENTRY, bad[i].name, bad[i].value);
        if (kbdb_copy_valid("440000-KB-0001", v))
            fail_msg("%s = %s passed", bad[i].name, bad[i].value);
        json_decref(v);
    }
}

/* --- a year of the calendar --------------------------------------------- */

static void a_year_is_checked_as_an_admin_s(void **state)
{
    static const char *const bad[] = {
        "{\"year\": 2027, \"days\": []}",
        "{\"year\": 2028, \"days\": [{\"date\": \"2027-01-01\", \"kind\": \"off\"}]}",
        "{\"year\": 2027, \"days\": [{\"date\": \"2028-01-01\", \"kind\": \"off\"}]}",
        "{\"year\": 2027, \"days\": [{\"date\": \"2027-01-04\", \"kind\": \"work\"}]}",
        "{\"year\": 2027, \"days\": [{\"date\": \"2027-01-01\", \"kind\": \"off\"},"
        " {\"date\": \"2027-01-01\", \"kind\": \"off\"}]}",
        "{\"year\": 2027, \"days\": [{\"date\": \"2027-01-01\", \"kind\": \"holiday\"}]}",
        "{\"year\": 2027, \"days\": [{\"date\": \"2027-01-01\", \"kind\": \"off\", \"name\": 1}]}",
        "{\"year\": 2027, \"days\": [{\"date\": \"2027-01-01\", \"kind\": \"off\"}], \"more\": 1}",
        "{\"year\": \"2027\", \"days\": [{\"date\": \"2027-01-01\", \"kind\": \"off\"}]}",
    };
    json_t *ok = parse("{\"year\": 2027, \"days\": [{\"date\": \"2027-01-01\", \"kind\": \"off\","
                       " \"name\": \"元旦\"}, {\"date\": \"2027-01-09\", \"kind\": \"work\","
                       " \"name\": null}]}");

    (void)state;
    assert_true(calstore_year_valid("2027", ok));
    assert_false(calstore_year_valid("2028", ok));
    assert_false(calstore_year_valid("27", ok));
    json_decref(ok);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *v = parse(bad[i]);
        if (calstore_year_valid("2027", v))
            fail_msg("passed: %s", bad[i]);
        json_decref(v);
    }
}

/* --- messages ------------------------------------------------------------ */

/* Nothing of these reaches the database: there is none here. */
static void a_message_not_well_formed_is_left_out(void **state)
{
    static const char *const bad[] = {
        "{}",
        "{\"version\": 0, \"kind\": \"kb\", \"key\": \"440000-KB-0001\","
        " \"at\": \"2024-11-04T10:00:00+08:00\", \"data\": null}",
        "{\"version\": 1, \"kind\": \"ticket\", \"key\": \"440000-KB-0001\","
        " \"at\": \"2024-11-04T10:00:00+08:00\", \"data\": null}",
        "{\"version\": 1, \"kind\": \"kb\", \"key\": \"\","
        " \"at\": \"2024-11-04T10:00:00+08:00\", \"data\": null}",
        "{\"version\": 1, \"kind\": \"kb\", \"key\": \"440000-KB-0001\", \"data\": null}",
        "{\"version\": 1, \"kind\": \"kb\", \"key\": \"440000-KB-0001\","
        " \"at\": \"2024-11-04T10:00:00+08:00\"}",
        "{\"version\": 1, \"kind\": \"kb\", \"key\": \"440000-KB-0001\","
        " \"at\": \"2024-11-04T10:00:00+08:00\", \"data\": [1]}",
        "{\"version\": 1, \"kind\": \"kb\", \"key\": \"440000-KB-0001\","
        " \"at\": \"2024-11-04T10:00:00+08:00\", \"data\": {\"title\": \"x\"}}",
        /* only an entry may be gone */
        "{\"version\": 1, \"kind\": \"calendar\", \"key\": \"2027\","
        " \"at\": \"2024-11-04T10:00:00+08:00\", \"data\": null}",
        "{\"version\": 1, \"kind\": \"restriction\", \"key\": \"440100-R-000001\","
        " \"at\": \"2024-11-04T10:00:00+08:00\", \"data\": null}",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *v = parse(bad[i]);
        if (broadcast_deliver(NULL, NULL, v) != 1)
            fail_msg("not left out: %s", bad[i]);
        json_decref(v);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(kinds_by_name),
        cmocka_unit_test(members_are_checked_for_text_and_time),
        cmocka_unit_test(a_restriction_is_checked_whole),
        cmocka_unit_test(an_entry_is_checked_whole),
        cmocka_unit_test(a_year_is_checked_as_an_admin_s),
        cmocka_unit_test(a_message_not_well_formed_is_left_out),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
