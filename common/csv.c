/* SPDX-License-Identifier: Apache-2.0 */
/*
 * csv.c - RFC 4180 records and the Accept header test.
 *
 * Runs in HTTP workers, writing into the memory stream of one answer.
 */
#include "csv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void separate(FILE *f, int first)
{
    if (!first)
        fputc(',', f);
}

void csv_text(FILE *f, const char *text, int first)
{
    separate(f, first);
    if (text == NULL)
        return;
    int formula = strchr("=+-@\t\r", text[0]) != NULL && text[0] != '\0';
    if (!formula && strpbrk(text, ",\"\r\n") == NULL) {
        fputs(text, f);
        return;
    }
    fputc('"', f);
    if (formula)
        fputc('\'', f);
    for (const char *p = text; *p != '\0'; p++) {
        if (*p == '"')
            fputc('"', f);
        fputc(*p, f);
    }
    fputc('"', f);
}

void csv_number(FILE *f, const char *number, int first)
{
    separate(f, first);
    fputs(number, f);
}

void csv_end(FILE *f)
{
    fputs("\r\n", f);
}

#define PATH_MAX_LEN 128

/* Writes the header fields of 'obj' under 'prefix'; '*first' is cleared
 * after the first field. */
static void header_fields(FILE *f, json_t *obj, const char *prefix, int *first)
{
    const char *key;
    json_t *value;

    json_object_foreach(obj, key, value)
    {
        char path[PATH_MAX_LEN];
        snprintf(path, sizeof(path), "%s%s%s", prefix, prefix[0] != '\0' ? "." : "", key);
        if (json_is_object(value)) {
            header_fields(f, value, path, first);
        } else {
            csv_text(f, path, *first);
            *first = 0;
        }
    }
}

static void value_field(FILE *f, json_t *value, int first)
{
    char text[64] = "";

    if (json_is_string(value)) {
        csv_text(f, json_string_value(value), first);
        return;
    }
    if (json_is_integer(value))
        snprintf(text, sizeof(text), "%" JSON_INTEGER_FORMAT, json_integer_value(value));
    else if (json_is_real(value))
        snprintf(text, sizeof(text), "%.10g", json_real_value(value));
    else if (json_is_boolean(value))
        snprintf(text, sizeof(text), "%s", json_is_true(value) ? "true" : "false");
    csv_number(f, text, first);
}

/* Writes the fields of 'row' (NULL: all empty) at the paths of 'shape'. */
static void row_fields(FILE *f, json_t *shape, json_t *row, int *first)
{
    const char *key;
    json_t *value;

    json_object_foreach(shape, key, value)
    {
        json_t *mine = json_object_get(row, key);
        if (json_is_object(value)) {
            row_fields(f, value, json_is_object(mine) ? mine : NULL, first);
        } else {
            value_field(f, mine, *first);
            *first = 0;
        }
    }
}

void csv_table(FILE *f, json_t *shape, json_t *rows)
{
    size_t i;
    json_t *row;
    int first = 1;

    header_fields(f, shape, "", &first);
    csv_end(f);
    json_array_foreach(rows, i, row)
    {
        first = 1;
        row_fields(f, shape, row, &first);
        csv_end(f);
    }
}

/* The quality of one media range "type/sub;q=0.5;...", 1 without q; -1 if
 * the text is not a quality. */
static double quality(const char *params, size_t len)
{
    const char *p = params, *end = params + len;

    while (p < end) {
        const char *semi = memchr(p, ';', (size_t)(end - p));
        const char *next = semi != NULL ? semi + 1 : end;
        while (p < next && (*p == ' ' || *p == '\t'))
            p++;
        if (next - p > 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
            char buf[16], *stop;
            size_t n = (size_t)((semi != NULL ? semi : end) - (p + 2));
            if (n == 0 || n >= sizeof(buf))
                return -1;
            memcpy(buf, p + 2, n);
            buf[n] = '\0';
            double q = strtod(buf, &stop);
            while (*stop == ' ' || *stop == '\t')
                stop++;
            return *stop != '\0' || q < 0 || q > 1 ? -1 : q;
        }
        p = next;
    }
    return 1;
}

int csv_accepted(const char *accept)
{
    double csv = 0, json = 0;

    if (accept == NULL)
        return 0;
    for (const char *p = accept; *p != '\0';) {
        size_t len = strcspn(p, ",");
        const char *range = p;
        while (range < p + len && (*range == ' ' || *range == '\t'))
            range++;
        size_t type_len = strcspn(range, ";,");
        while (type_len > 0 && (range[type_len - 1] == ' ' || range[type_len - 1] == '\t'))
            type_len--;
        double q = quality(range + type_len, len - (size_t)(range - p) - type_len);
        if (type_len == 8 && strncasecmp(range, "text/csv", 8) == 0 && q > csv)
            csv = q;
        if (type_len == 16 && strncasecmp(range, "application/json", 16) == 0 && q > json)
            json = q;
        p += len;
        if (*p == ',')
            p++;
    }
    return csv > 0 && csv >= json;
}
