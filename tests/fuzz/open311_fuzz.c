/* SPDX-License-Identifier: Apache-2.0 */
/*
 * open311_fuzz.c - libFuzzer harness of the Open311 POST form and its
 * answers: open311_form_parse(), open311_form_check(), and the rendering
 * of what a form holds in both formats.
 *
 * Any body must be refused with a reason or parsed into unique keys and
 * values that are UTF-8; whatever was parsed, rendered as JSON, must parse
 * again to the same document, and rendered as XML must be UTF-8 without
 * the control characters XML 1.0 cannot carry.
 */
#include "open311.h"
#include "utf8.h"

#include <jansson.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_parsed(const struct open311_form *form)
{
    if (form->n > OPEN311_FORM_MAX)
        abort();
    for (size_t i = 0; i < form->n; i++) {
        if (!utf8_valid(form->keys[i], strlen(form->keys[i])) ||
            !utf8_valid(form->values[i], strlen(form->values[i])))
            abort();
        for (size_t j = 0; j < i; j++)
            if (strcmp(form->keys[i], form->keys[j]) == 0)
                abort();
    }
}

/* The XML an answer makes: UTF-8, no control character but tab and line breaks. */
static void check_xml(const char *xml, size_t len)
{
    if (!utf8_valid(xml, len))
        abort();
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)xml[i];
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
            abort();
    }
}

static void render(const struct open311_form *form)
{
    json_t *doc = json_array(), *item = json_object();
    size_t len;

    for (size_t i = 0; i < form->n; i++)
        json_object_set_new(item, form->keys[i], json_string(form->values[i]));
    json_array_append_new(doc, item);

    char *json = open311_render(doc, OPEN311_JSON, "service_requests", "request", &len);
    if (json != NULL) {
        json_t *back = json_loadb(json, len, 0, NULL);
        if (back == NULL || !json_equal(back, doc))
            abort();
        json_decref(back);
    }
    char *xml = open311_render(doc, OPEN311_XML, "service_requests", "request", &len);
    if (xml != NULL)
        check_xml(xml, len);
    free(json);
    free(xml);
    json_decref(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct open311_form form = {0};
    char why[256] = "";

    if (open311_form_parse((const char *)data, size, &form, why, sizeof(why)) == 0) {
        const char *citizen_type, *channel;
        check_parsed(&form);
        why[0] = '\0';
        if (open311_form_check(&form, &citizen_type, &channel, why, sizeof(why)) < 0 &&
            why[0] == '\0')
            abort();
        render(&form);
    } else if (why[0] == '\0') {
        abort();
    }
    open311_form_clear(&form);
    return 0;
}
