/* SPDX-License-Identifier: Apache-2.0 */
/*
 * calstore.h - the working-day calendar in the node's database: the table
 * calendar_days, seeded from the national calendar the binaries carry, and
 * one copy of it as a struct calendar in each thread that computes
 * deadlines.
 */
#ifndef HOTLINE_CALSTORE_H
#define HOTLINE_CALSTORE_H

#include "calendar.h"
#include "db.h"

#include <jansson.h>

#include <stddef.h>
#include <stdint.h>

/* The national calendar, compiled in from common/sql/cn-calendar.tsv. */
extern const char calendar_default_tsv[];
extern const size_t calendar_default_tsv_len;

/* One listed date, as an admin sends it. */
struct calstore_day {
    int32_t day;
    enum day_kind kind;
    const char *name; /* NULL for none */
};

/*
 * Adds the national calendar to the table, a year at a time: the dates of
 * each year it covers that the table does not cover yet.  A year the table
 * already has, from an earlier seed or an admin's POST, is left as it is, so
 * this can run at every `init`.  Runs in the caller's transaction.  Returns
 * the number of dates added, or -1 (logged).
 */
int calstore_seed(struct db *db);

/*
 * The calendar as the table holds it, for the calling thread: each thread
 * keeps its own copy and reloads it only when calendar_version has moved
 * (fresh.h), so a call costs at most one small query.  The calendar
 * belongs to the thread and stays valid until the thread's next call; it
 * is freed when the thread exits.  Returns NULL if the database failed
 * (logged).
 */
const struct calendar *calstore_get(struct db *db);

struct node;

/*
 * Replaces every date of 'year' with the 'n' dates of 'days', in one
 * transaction of its own, recording 'source' (who made the change) and the
 * node's clock, moves calendar_version and shares the year (broadcast.h)
 * for 'node'.  The dates must all lie in 'year', each once, and pass
 * calendar_check; at least one is needed, as a year without dates is not
 * covered.  Returns 0; 1 if the dates are refused, with the reason in 'err'
 * and nothing changed; -1 if the database failed (logged).
 */
int calstore_add_year(struct db *db, const struct node *node, int year,
                      const struct calstore_day *days, size_t n, const char *source, char *err,
                      size_t errlen);

/*
 * The year a broadcast key names ("2027") as a broadcast carries it:
 * {"year", "days": [{"date", "kind", "name"}...]}, the dates listed here;
 * JSON null when the year has none.  NULL on a database error.
 */
json_t *calstore_year_json(struct db *db, const char *key);

/* Returns 1 if 'data' is a year in that form that calstore_add_year would
 * take, named 'key', else 0. */
int calstore_year_valid(const char *key, json_t *data);

/*
 * Replaces the year with 'data' from the province, in the caller's
 * transaction.  Returns 0, 1 if 'data' is not valid (nothing changed), -1
 * on a database error.
 */
int calstore_year_apply(struct db *db, const char *key, json_t *data);

#endif
