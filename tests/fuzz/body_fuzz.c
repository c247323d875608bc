/* SPDX-License-Identifier: Apache-2.0 */
/*
 * body_fuzz.c - libFuzzer harness of the path every request body takes:
 * http_body_parse() (JSON without duplicate keys, UTF-8 checked, the field
 * that is not UTF-8 named), then input_validate() against the real table of
 * ticket intake and a table holding every other kind of field.
 *
 * Any body must be accepted or refused without a crash or a leak, and a
 * refusal must make a well-formed error answer: the error object built as
 * http_reply_invalid() and http_reply_error() build it must encode.
 */
#include "http.h"
#include "input.h"
#include "ticket_api.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *const colours[] = {"red", "green", NULL};

static const struct field inner_fields[] = {
    INPUT_TEXT("name", 1, 1, 8),
    {.name = "count", .type = FIELD_INT, .lo = 0, .hi = 10},
};

/* The field kinds intake does not use. */
static const struct field other_fields[] = {
    {.name = "flag", .type = FIELD_BOOL},
    {.name = "count", .type = FIELD_INT, .required = 1, .lo = 1, .hi = 365},
    {.name = "colours", .type = FIELD_LIST, .min = 1, .max = 3, .values = colours},
    {.name = "tags", .type = FIELD_TEXTS, .min = 0, .max = 4, .hi = 16},
    {.name = "inner", .type = FIELD_OBJECT, .fields = inner_fields, .nfields = COUNT(inner_fields)},
};

/* The answer of a refusal must be a JSON object like any other. */
static void check_refusal(const struct http_refusal *why)
{
    json_t *answer;

    if (why->status != 400 || why->code == NULL || why->message[0] == '\0')
        abort();
    if (strcmp(why->code, "invalid_field") == 0)
        answer = json_pack("{s:{s:s,s:s,s:s}}", "error", "code", why->code, "field", why->field,
                           "message", why->message);
    else
        answer = json_pack("{s:{s:s,s:s}}", "error", "code", why->code, "message", why->message);
    char *text = answer != NULL ? json_dumps(answer, JSON_COMPACT) : NULL;
    if (text == NULL)
        abort();
    free(text);
    json_decref(answer);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct http_refusal why;
    json_t *body = http_body_parse((const char *)data, size, &why);

    if (body == NULL) {
        check_refusal(&why);
        return 0;
    }
    if (!json_is_object(body))
        abort();
    if (input_validate(body, NULL, ticket_intake_fields, ticket_intake_fields_len, &why) < 0)
        check_refusal(&why);
    if (input_validate(body, NULL, other_fields, COUNT(other_fields), &why) < 0)
        check_refusal(&why);
    json_decref(body);
    return 0;
}
