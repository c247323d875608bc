/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the path every request body takes: http_body_parse() in
 * http.c, then input_validate() in input.c against intake's table.  Every
 * refusal must make an error answer that encodes as JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "http.h"
#include "input.h"
#include "ticket_api.h"
#include "utf8.h"

#include <stdlib.h>
#include <string.h>

#define INTAKE                                                                                     \
    "{\"kind\":\"complaint\",\"channel\":\"phone\",\"category\":\"public_service\","               \
    "\"content\":\"小区停水两天，没有任何通知。\","                                  \
    "\"citizen\":{\"type\":\"person\",\"name\":\"陈小明\",\"phone\":\"13800138000\"},"          \
    "\"location\":{\"division\":\"440106\",\"address\":\"天河区体育西路1号\"}}"

/* Parses 'body'; NULL with 'why' filled if refused. */
static json_t *parse(const char *body, size_t len, struct http_refusal *why)
{
    memset(why, 0, sizeof(*why));
    return http_body_parse(body, len, why);
}

/* The field named by an invalid_field refusal must be text an answer can carry. */
static void assert_answerable(const struct http_refusal *why)
{
    json_t *answer = json_pack("{s:{s:s,s:s,s:s}}", "error", "code", why->code, "field", why->field,
                               "message", why->message);

    assert_non_null(answer);
    assert_true(utf8_valid(why->field, strlen(why->field)));
    json_decref(answer);
}

static void intake_body_passes(void **state)
{
    struct http_refusal why;
    json_t *body = parse(INTAKE, strlen(INTAKE), &why);

    (void)state;
    assert_non_null(body);
    assert_int_equal(
        input_validate(body, NULL, ticket_intake_fields, ticket_intake_fields_len, &why), 0);
    assert_string_equal(input_text(body, "kind"), "complaint");
    json_decref(body);
}

static void malformed_bodies_are_refused(void **state)
{
    static const char *const bodies[] = {"[1,2]", "{\"kind\":1,\"kind\":2}", "{\"a\":", "\"x\""};
    struct http_refusal why;

    (void)state;
    assert_null(parse("", 0, &why));
    assert_int_equal(why.status, 400);
    assert_string_equal(why.code, "body_missing");
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        assert_null(parse(bodies[i], strlen(bodies[i]), &why));
        assert_int_equal(why.status, 400);
        assert_string_equal(why.code, "malformed_json");
    }
}

static void text_that_is_not_utf8_is_named(void **state)
{
    static const char body[] = "{\"citizen\":{\"name\":\"\xe9\x99\x88\xff\"}}";
    struct http_refusal why;

    (void)state;
    assert_null(parse(body, strlen(body), &why));
    assert_string_equal(why.code, "invalid_field");
    assert_string_equal(why.field, "citizen.name");
    assert_answerable(&why);
}

/* A key of 62 bytes that are not UTF-8: each becomes U+FFFD (3 bytes), the
 * path is cut at 127 bytes, and the cut must not split a character. */
static void long_path_that_is_not_utf8_is_cut_whole(void **state)
{
    char body[256] = "{\"nam";
    struct http_refusal why;

    (void)state;
    memset(body + strlen(body), 0xff, 62);
    strcat(body, "e\":\"燃气泄漏\"}");
    assert_null(parse(body, strlen(body), &why));
    assert_string_equal(why.code, "invalid_field");
    assert_int_equal(strlen(why.field), 3 + 41 * 3);
    assert_answerable(&why);
}

/* jansson's message quotes the body near the error: here up to the first
 * byte of a character that follows a backslash. */
static void message_quoting_the_body_is_cut_whole(void **state)
{
    static const char body[] = "{\"a\\\xe6\x86\xb7\"}";
    struct http_refusal why;

    (void)state;
    assert_null(parse(body, strlen(body), &why));
    assert_string_equal(why.code, "malformed_json");
    assert_non_null(strstr(why.message, "invalid escape"));
    assert_true(utf8_valid(why.message, strlen(why.message)));
}

static void bad_fields_are_named(void **state)
{
    static const struct {
        const char *body, *field;
    } cases[] = {
        {"{\"kind\":\"complaint\",\"colour\":1}", "colour"},
        {"{\"kind\":\"grievance\"}", "kind"},
        {"{\"kind\":\"help\",\"channel\":\"phone\",\"category\":\"public_service\","
         "\"content\":\"x\",\"citizen\":{\"type\":\"person\",\"name\":\"x\",\"phone\":\"1\"}}",
         "citizen.phone"},
        {"{\"kind\":\"help\",\"channel\":\"phone\",\"category\":\"public_service\","
         "\"content\":\"x\",\"citizen\":{\"type\":\"person\",\"name\":\"x\","
         "\"phone\":\"13800138000\"},\"location\":{\"division\":\"440106\",\"address\":\"x\","
         "\"lat\":91}}",
         "location.lat"},
    };
    struct http_refusal why;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *body = parse(cases[i].body, strlen(cases[i].body), &why);
        assert_non_null(body);
        assert_int_equal(
            input_validate(body, NULL, ticket_intake_fields, ticket_intake_fields_len, &why), -1);
        assert_int_equal(why.status, 400);
        assert_string_equal(why.code, "invalid_field");
        assert_string_equal(why.field, cases[i].field);
        assert_answerable(&why);
        json_decref(body);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(intake_body_passes),
        cmocka_unit_test(malformed_bodies_are_refused),
        cmocka_unit_test(text_that_is_not_utf8_is_named),
        cmocka_unit_test(long_path_that_is_not_utf8_is_cut_whole),
        cmocka_unit_test(message_quoting_the_body_is_cut_whole),
        cmocka_unit_test(bad_fields_are_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
