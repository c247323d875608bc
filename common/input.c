/* SPDX-License-Identifier: Apache-2.0 */
/*
 * input.c - the body validator behind every write of the API.
 *
 * Runs in HTTP workers.  jansson has already refused bodies that are not
 * JSON or not UTF-8; this checks what the JSON says.
 */
#include "input.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "utf8.h"

/* Characters (code points) of a valid UTF-8 string. */
static size_t characters(const char *s)
{
    size_t n = 0;

    for (; *s != '\0'; s++)
        n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

static int refuse(struct http_refusal *why, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Fills 'why' with the refusal of the field at 'path'; returns -1. */
static int refuse(struct http_refusal *why, const char *path, const char *fmt, ...)
{
    va_list ap;

    why->status = 400;
    why->code = "invalid_field";
    snprintf(why->field, sizeof(why->field), "%s", path);
    va_start(ap, fmt);
    vsnprintf(why->message, sizeof(why->message), fmt, ap);
    va_end(ap);
    return -1;
}

static int in_values(const char *const *values, const char *s)
{
    for (; *values != NULL; values++)
        if (strcmp(*values, s) == 0)
            return 1;
    return 0;
}

static int check_value(const struct field *f, json_t *v, const char *path, struct http_refusal *why)
{
    switch (f->type) {
    case FIELD_TEXT: {
        if (!json_is_string(v)) {
            refuse(why, path, "'%s' must be a string", path);
            return -1;
        }
        size_t n = characters(json_string_value(v));
        if (json_string_length(v) != strlen(json_string_value(v)) || n < f->min || n > f->max) {
            refuse(why, path, "'%s' must be %zu to %zu characters", path, f->min, f->max);
            return -1;
        }
        return 0;
    }
    case FIELD_ENUM:
        if (!json_is_string(v) || !in_values(f->values, json_string_value(v))) {
            refuse(why, path, "'%s' is not one of the allowed values", path);
            return -1;
        }
        return 0;
    case FIELD_BOOL:
        if (!json_is_boolean(v)) {
            refuse(why, path, "'%s' must be true or false", path);
            return -1;
        }
        return 0;
    case FIELD_NUMBER:
    case FIELD_INT: {
        double d = json_number_value(v);
        if (!json_is_number(v) || (f->type == FIELD_INT && !json_is_integer(v)) || isnan(d) ||
            d < f->lo || d > f->hi) {
            refuse(why, path, "'%s' must be a%s number from %g to %g", path,
                   f->type == FIELD_INT ? "n integer" : "", f->lo, f->hi);
            return -1;
        }
        return 0;
    }
    case FIELD_OBJECT:
        if (!json_is_object(v)) {
            refuse(why, path, "'%s' must be an object", path);
            return -1;
        }
        return input_validate(v, path, f->fields, f->nfields, why);
    case FIELD_TEXTS: {
        size_t i;
        json_t *item;
        if (!json_is_array(v) || json_array_size(v) < f->min || json_array_size(v) > f->max) {
            refuse(why, path, "'%s' must be a list of %zu to %zu texts", path, f->min, f->max);
            return -1;
        }
        json_array_foreach(v, i, item)
        {
            size_t n = json_is_string(item) ? characters(json_string_value(item)) : 0;
            if (n < 1 || (double)n > f->hi ||
                json_string_length(item) != strlen(json_string_value(item))) {
                refuse(why, path,
                       "'%s' holds an item that is not a text of 1 to %g "
                       "characters",
                       path, f->hi);
                return -1;
            }
        }
        return 0;
    }
    case FIELD_LIST: {
        size_t i;
        json_t *item;
        if (!json_is_array(v) || json_array_size(v) < f->min || json_array_size(v) > f->max) {
            refuse(why, path, "'%s' must be a list of %zu to %zu values", path, f->min, f->max);
            return -1;
        }
        json_array_foreach(v, i, item)
        {
            if (!json_is_string(item) || !in_values(f->values, json_string_value(item))) {
                refuse(why, path, "'%s' holds a value that is not allowed", path);
                return -1;
            }
        }
        return 0;
    }
    }
    return -1;
}

/* "prefix.key" into 'out', cut at a character boundary if too long. */
static void field_path(char *out, size_t cap, const char *prefix, const char *key)
{
    snprintf(out, cap, "%s%s%s", prefix != NULL ? prefix : "", prefix != NULL ? "." : "", key);
    utf8_cut(out);
}

int input_validate(json_t *obj, const char *prefix, const struct field *fields, size_t n,
                   struct http_refusal *why)
{
    const char *key;
    json_t *v;
    char path[128];

    json_object_foreach(obj, key, v)
    {
        size_t i;
        for (i = 0; i < n && strcmp(fields[i].name, key) != 0; i++)
            ;
        field_path(path, sizeof(path), prefix, key);
        if (i == n) {
            refuse(why, path, "'%s' is not a known field", path);
            return -1;
        }
        if (json_is_null(v) && !fields[i].required)
            continue;
        if (check_value(&fields[i], v, path, why) < 0)
            return -1;
    }
    for (size_t i = 0; i < n; i++) {
        v = json_object_get(obj, fields[i].name);
        if (fields[i].required && (v == NULL || json_is_null(v))) {
            field_path(path, sizeof(path), prefix, fields[i].name);
            refuse(why, path, "'%s' is required", path);
            return -1;
        }
    }
    return 0;
}

int input_check(struct http_request *req, json_t *obj, const char *prefix,
                const struct field *fields, size_t n)
{
    struct http_refusal why;

    if (input_validate(obj, prefix, fields, n, &why) < 0) {
        http_reply_refusal(req, &why);
        return -1;
    }
    return 0;
}

const char *input_text(json_t *obj, const char *name)
{
    return json_string_value(json_object_get(obj, name));
}
