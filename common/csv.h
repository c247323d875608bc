/* SPDX-License-Identifier: Apache-2.0 */
/*
 * csv.h - tables as CSV (RFC 4180), for the reports a spreadsheet opens:
 * UTF-8, fields separated by commas, records ended by CRLF, a field quoted
 * when it holds a comma, a double quote, CR or LF, its quotes doubled.
 * Pure: writes to a FILE the caller owns (open_memstream), reads nothing.
 * A table is written from the JSON the API would answer, so the two
 * always agree.
 *
 * A text field that a spreadsheet would take for a formula (it starts with
 * '=', '+', '-', '@', a tab or CR) is written with a leading apostrophe, so
 * opening a report never runs what a citizen or a staff member typed.
 * Numbers are written as they are.
 */
#ifndef HOTLINE_CSV_H
#define HOTLINE_CSV_H

#include <jansson.h>
#include <stdio.h>

/* Writes 'text' (NULL: an empty field) as the next field of the record;
 * 'first' is 1 for the first field of a record, else 0. */
void csv_text(FILE *f, const char *text, int first);

/* Writes a number, already formatted, as the next field, unquoted. */
void csv_number(FILE *f, const char *number, int first);

/* Ends the record. */
void csv_end(FILE *f);

/*
 * Writes a table of JSON objects: a header record of the dotted paths of
 * the members of 'shape' (nested objects flattened: "returns.refused"),
 * then one record per object of the array 'rows' with its values at those
 * paths.  Strings are text; integers, reals (shortest of 10 digits) and
 * booleans are numbers; null and a missing member are empty.
 */
void csv_table(FILE *f, json_t *shape, json_t *rows);

/*
 * Whether an Accept header asks for CSV: it names text/csv with a quality
 * above 0 and no higher quality for application/json.  NULL (no header)
 * or anything else means JSON.  Returns 1 or 0.
 */
int csv_accepted(const char *accept);

#endif
