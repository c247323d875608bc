/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of csv.c: RFC 4180 quoting, tables from JSON, the Accept test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "csv.h"

#include <stdlib.h>
#include <string.h>

/* What 'write' wrote, as a new string. */
static char *written(void (*write)(FILE *f, void *arg), void *arg)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    assert_non_null(f);
    write(f, arg);
    assert_int_equal(fclose(f), 0);
    return text;
}

static void write_fields(FILE *f, void *arg)
{
    const char *const *fields = arg;

    for (int i = 0; fields[i] != NULL; i++)
        csv_text(f, fields[i], i == 0);
    csv_end(f);
}

static void fields_are_quoted_only_when_needed(void **state)
{
    const char *fields[] = {"plain", "广州市水务局", "a,b", "say \"hi\"", "two\nlines", "cr\rlf",
                            "",      "=1+2",         "-3",  "@sum",       NULL};
    char *text = written(write_fields, fields);

    (void)state;
    assert_string_equal(text, "plain,广州市水务局,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\","
                              "\"cr\rlf\",,\"'=1+2\",\"'-3\",\"'@sum\"\r\n");
    free(text);
}

static void write_numbers(FILE *f, void *arg)
{
    (void)arg;
    csv_number(f, "-3", 1);
    csv_number(f, "0.6667", 0);
    csv_text(f, NULL, 0);
    csv_end(f);
}

static void numbers_are_written_as_they_are(void **state)
{
    char *text = written(write_numbers, NULL);

    (void)state;
    assert_string_equal(text, "-3,0.6667,\r\n");
    free(text);
}

static void write_table(FILE *f, void *arg)
{
    json_t **parts = arg;

    csv_table(f, parts[0], parts[1]);
}

static void tables_flatten_nested_objects(void **state)
{
    json_t *shape = json_pack("{s:s,s:i,s:{s:i,s:i},s:n}", "unit", "", "received", 0, "returns",
                              "requested", 0, "refused", 0, "rate", "");
    json_t *rows = json_pack("[{s:s,s:i,s:{s:i,s:i},s:f},{s:n,s:i,s:{s:i},s:n}]", "unit", "water",
                             "received", 7, "returns", "requested", 2, "refused", 1, "rate", 0.6667,
                             "unit", "received", 1, "returns", "requested", -1, "rate");
    json_t *parts[2] = {shape, rows};
    char *text = written(write_table, parts);

    (void)state;
    assert_string_equal(text, "unit,received,returns.requested,returns.refused,rate\r\n"
                              "water,7,2,1,0.6667\r\n"
                              ",1,-1,,\r\n");
    free(text);
    json_decref(shape);
    json_decref(rows);
}

static void accept_header_chooses_csv(void **state)
{
    (void)state;
    assert_true(csv_accepted("text/csv"));
    assert_true(csv_accepted("TEXT/CSV; charset=utf-8"));
    assert_true(csv_accepted("text/html, text/csv;q=0.9, */*;q=0.1"));
    assert_true(csv_accepted("application/json;q=0.5, text/csv"));
    assert_true(csv_accepted(" text/csv ; q=1.0 "));
    assert_false(csv_accepted(NULL));
    assert_false(csv_accepted(""));
    assert_false(csv_accepted("application/json"));
    assert_false(csv_accepted("*/*"));
    assert_false(csv_accepted("text/csv;q=0"));
    assert_false(csv_accepted("text/csvx"));
    assert_false(csv_accepted("application/json, text/csv;q=0.5"));
    assert_false(csv_accepted("text/csv;q=abc"));
    assert_false(csv_accepted("text/csv;q=2"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fields_are_quoted_only_when_needed),
        cmocka_unit_test(numbers_are_written_as_they_are),
        cmocka_unit_test(tables_flatten_nested_objects),
        cmocka_unit_test(accept_header_chooses_csv),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
