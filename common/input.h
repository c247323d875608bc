/* SPDX-License-Identifier: Apache-2.0 */
/*
 * input.h - validation of JSON request bodies against a table of fields.
 *
 * Each handler describes its body as an array of struct field; input_check()
 * refuses unknown members, wrong types, text out of bounds, values outside
 * an enumeration and numbers out of range, answering 400 invalid_field with
 * the dotted path of the field ("citizen.phone").  Handlers then read the
 * members knowing they are well formed.
 */
#ifndef HOTLINE_INPUT_H
#define HOTLINE_INPUT_H

#include "http.h"

#include <jansson.h>
#include <stddef.h>

enum field_type {
    FIELD_TEXT, /* string of min..max characters */
    FIELD_ENUM, /* one of 'values' */
    FIELD_BOOL,
    FIELD_NUMBER, /* number within lo..hi */
    FIELD_INT,    /* integer within lo..hi */
    FIELD_OBJECT, /* checked by its own table: 'fields' */
    FIELD_LIST,   /* array of 'min'..'max' values of 'values' */
    FIELD_TEXTS,  /* array of 'min'..'max' strings of 1..'hi' characters each */
};

struct field {
    const char *name;
    enum field_type type;
    int required;
    size_t min, max;            /* FIELD_TEXT: characters; FIELD_LIST: items */
    const char *const *values;  /* FIELD_ENUM, FIELD_LIST: NULL-terminated */
    double lo, hi;              /* FIELD_NUMBER, FIELD_INT */
    const struct field *fields; /* FIELD_OBJECT */
    size_t nfields;
};

/* Table rows for the two commonest fields: text of lo..hi characters, and one
 * of a NULL-terminated list of values. */
#define INPUT_TEXT(n, req, lo, hi)                                                                 \
    {                                                                                              \
        .name = n, .type = FIELD_TEXT, .required = req, .min = lo, .max = hi                       \
    }
#define INPUT_ENUM(n, req, v)                                                                      \
    {                                                                                              \
        .name = n, .type = FIELD_ENUM, .required = req, .values = v                                \
    }

/*
 * Checks 'obj' against 'fields'.  Returns 0, or -1 having answered 400
 * naming the first bad field under 'prefix' (NULL at the top level).
 */
int input_check(struct http_request *req, json_t *obj, const char *prefix,
                const struct field *fields, size_t n);

/*
 * Checks 'obj' as input_check() does, apart from any request.  Returns 0,
 * or -1 with the refusal of the first bad field in 'why'.
 */
int input_validate(json_t *obj, const char *prefix, const struct field *fields, size_t n,
                   struct http_refusal *why);

/* The text member 'name' of a checked object, or NULL if absent. */
const char *input_text(json_t *obj, const char *name);

#endif
