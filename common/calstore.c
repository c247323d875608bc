/* SPDX-License-Identifier: Apache-2.0 */
/*
 * calstore.c - the calendar table and the per-thread calendars built from it.
 *
 * calstore_seed runs in the main thread during `init`, inside its
 * transaction.  calstore_get runs in every HTTP worker that needs a deadline,
 * on the worker's own connection: each thread keeps a struct calendar of its
 * own, so no calendar is ever shared or locked, and reads it again only
 * when its version moved (fresh.h): in a request of an HTTP worker without
 * a statement of its own, elsewhere by asking for the version.  calstore_add_year
 * serves POST /api/v1/calendar/days.
 *
 * When the database fails, the caller gets -1 or NULL and answers with an
 * error; a cached calendar is never used without knowing that it is current.
 */
#include "calstore.h"

#include "broadcast.h"
#include "clock.h"
#include "fresh.h"
#include "log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEED_SOURCE "national calendar (cn-calendar.tsv)"

/* --- the thread's calendar ---------------------------------------------------- */

struct cache {
    long long version;
    struct calendar *cal;
};

static pthread_key_t cache_key;
static pthread_once_t cache_key_once = PTHREAD_ONCE_INIT;

static void cache_free(void *p)
{
    struct cache *c = p;

    calendar_free(c->cal);
    free(c);
}

static void cache_key_make(void)
{
    pthread_key_create(&cache_key, cache_free);
}

/* Builds a calendar of every date in the table.  Returns it, or NULL. */
static struct calendar *calendar_read(struct db *db)
{
    PGresult *res = db_query(db,
                             "SELECT day - DATE '1970-01-01', kind, name FROM calendar_days"
                             " ORDER BY day",
                             0, NULL);
    struct calendar *cal = res != NULL ? calendar_new() : NULL;

    if (cal == NULL) {
        PQclear(res);
        return NULL;
    }
    for (int i = 0; i < PQntuples(res); i++) {
        int32_t day = (int32_t)strtol(PQgetvalue(res, i, 0), NULL, 10);
        enum day_kind kind = DAY_OFF;
        const char *name = PQgetisnull(res, i, 2) ? NULL : PQgetvalue(res, i, 2);

        if (calendar_kind_parse(PQgetvalue(res, i, 1), &kind) < 0 ||
            calendar_set(cal, day, kind, name) < 0) {
            char date[CALENDAR_DATE_LEN];
            calendar_day_format(day, date);
            log_warnx("calendar: cannot use the date '%s' of the database", date);
            calendar_free(cal);
            cal = NULL;
            break;
        }
    }
    PQclear(res);
    return cal;
}

const struct calendar *calstore_get(struct db *db)
{
    pthread_once(&cache_key_once, cache_key_make);
    struct cache *c = pthread_getspecific(cache_key);
    long long version;

    if (fresh_version(db, FRESH_CALENDAR, &version) < 0)
        return NULL;
    if (c == NULL) {
        c = calloc(1, sizeof(*c));
        if (c == NULL || pthread_setspecific(cache_key, c) != 0) {
            free(c);
            return NULL;
        }
    }
    if (c->cal == NULL || c->version != version) {
        /* Read after the version: a change in between makes the copy newer
         * than its number, and the next call reads it again. */
        struct calendar *fresh = calendar_read(db);
        if (fresh == NULL)
            return NULL;
        calendar_free(c->cal);
        c->cal = fresh;
        c->version = version;
        log_debug("calendar: version '%lld' loaded", version);
    }
    return c->cal;
}

/* --- changes ------------------------------------------------------------- */

static int version_bump(struct db *db)
{
    return db_exec(db, "UPDATE calendar_version SET version = version + 1", 0, NULL);
}

/* Inserts one date; with 'keep', a date already there wins.  Returns 1 if
 * inserted, 0 if kept, -1 on error. */
static int day_insert(struct db *db, int32_t day, enum day_kind kind, const char *name,
                      const char *source, const char *at, int keep)
{
    char date[CALENDAR_DATE_LEN];
    const char *p[] = {date, calendar_kind_name(kind),
                       name != NULL && name[0] != '\0' ? name : NULL, at, source};

    calendar_day_format(day, date);
    PGresult *res = db_query(db,
                             keep ? "INSERT INTO calendar_days (day, kind, name, added_at, source)"
                                    " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (day) DO NOTHING"
                                  : "INSERT INTO calendar_days (day, kind, name, added_at, source)"
                                    " VALUES ($1, $2, $3, $4, $5)",
                             5, p);
    if (res == NULL)
        return -1;
    int inserted = strcmp(PQcmdTuples(res), "1") == 0;
    PQclear(res);
    return inserted;
}

/* The first and last day of 'year' (1970-9999).  Returns 0, or -1. */
static int year_bounds(int year, int32_t *first, int32_t *last)
{
    char s[CALENDAR_DATE_LEN + 8];

    snprintf(s, sizeof(s), "%04d-01-01", year);
    if (calendar_day_parse(s, first) < 0)
        return -1;
    snprintf(s, sizeof(s), "%04d-12-31", year);
    return calendar_day_parse(s, last);
}

/* Returns 1 if the table has a date in first..last, 0 if not, -1 on error. */
static int table_covers(struct db *db, int32_t first, int32_t last)
{
    char a[CALENDAR_DATE_LEN], b[CALENDAR_DATE_LEN];
    const char *p[] = {a, b};

    calendar_day_format(first, a);
    calendar_day_format(last, b);
    PGresult *res =
        db_query(db, "SELECT 1 FROM calendar_days WHERE day BETWEEN $1 AND $2 LIMIT 1", 2, p);
    if (res == NULL)
        return -1;
    int found = PQntuples(res) > 0;
    PQclear(res);
    return found;
}

/* Inserts the national dates of one year.  Returns their number, or -1. */
static int seed_year(struct db *db, const struct calendar *national, int32_t first, int32_t last,
                     const char *at)
{
    int added = 0;

    for (int32_t day = first; day <= last; day++) {
        enum day_kind kind;
        const char *name;
        if (!calendar_listed(national, day, &kind, &name))
            continue;
        int rc = day_insert(db, day, kind, name, SEED_SOURCE, at, 1);
        if (rc < 0)
            return -1;
        added += rc;
    }
    return added;
}

int calstore_seed(struct db *db)
{
    struct calendar *national = calendar_new();
    char err[256], at[CLOCK_RFC3339_LEN];
    int added = 0;

    if (national == NULL)
        return -1;
    if (calendar_load_tsv(national, calendar_default_tsv, calendar_default_tsv_len, err,
                          sizeof(err)) < 0) {
        log_warnx("calendar: the built-in national calendar is broken: %s", err);
        goto fail;
    }
    clock_format(clock_now_us(), at);
    for (int year = 1970; year <= 9999; year++) {
        int32_t first, last;
        if (year_bounds(year, &first, &last) < 0 || !calendar_covers(national, first))
            continue;
        int covered = table_covers(db, first, last);
        int rc = covered == 0 ? seed_year(db, national, first, last, at) : covered < 0 ? -1 : 0;
        if (rc < 0)
            goto fail;
        added += rc;
    }
    if (added > 0 && version_bump(db) < 0)
        goto fail;
    if (added > 0)
        log_info("calendar: %d national dates added", added);
    calendar_free(national);
    return added;

fail:
    calendar_free(national);
    return -1;
}

/* Checks the dates of one year.  Returns 0, or -1 with the reason in 'err'. */
static int year_check(int year, const struct calstore_day *days, size_t n, char *err, size_t errlen)
{
    struct calendar *seen = calendar_new();
    int32_t first, last;
    char date[CALENDAR_DATE_LEN];

    if (seen == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (year_bounds(year, &first, &last) < 0) {
        snprintf(err, errlen, "the year %d is outside 1970-9999", year);
        goto fail;
    }
    if (n == 0) {
        snprintf(err, errlen, "a year needs at least one date");
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        const struct calstore_day *d = &days[i];
        const char *why = calendar_check(d->day, d->kind, d->name);
        calendar_day_format(d->day, date);
        if (why == NULL && (d->day < first || d->day > last)) {
            snprintf(err, errlen, "'%s' is not in %d", date, year);
            goto fail;
        }
        if (why == NULL && calendar_listed(seen, d->day, NULL, NULL))
            why = "is listed twice";
        if (why == NULL && calendar_set(seen, d->day, d->kind, d->name) < 0)
            why = "cannot be listed: out of memory";
        if (why != NULL) {
            snprintf(err, errlen, "'%s' %s", date, why);
            goto fail;
        }
    }
    calendar_free(seen);
    return 0;

fail:
    calendar_free(seen);
    return -1;
}

/* Replaces the dates of 'year', checked, in the caller's transaction. */
static int year_replace(struct db *db, int year, const struct calstore_day *days, size_t n,
                        const char *source)
{
    char a[CALENDAR_DATE_LEN], b[CALENDAR_DATE_LEN], at[CLOCK_RFC3339_LEN];
    const char *p[] = {a, b};
    int32_t first, last;

    (void)year_bounds(year, &first, &last);
    calendar_day_format(first, a);
    calendar_day_format(last, b);
    clock_format(clock_now_us(), at);
    /* The version row first: its lock makes concurrent changes of a year
     * wait for each other instead of colliding on the dates. */
    if (version_bump(db) < 0 ||
        db_exec(db, "DELETE FROM calendar_days WHERE day BETWEEN $1 AND $2", 2, p) < 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (day_insert(db, days[i].day, days[i].kind, days[i].name, source, at, 0) < 0)
            return -1;
    return 0;
}

int calstore_add_year(struct db *db, const struct node *node, int year,
                      const struct calstore_day *days, size_t n, const char *source, char *err,
                      size_t errlen)
{
    char key[16];

    if (year_check(year, days, n, err, errlen) < 0)
        return 1;
    snprintf(key, sizeof(key), "%d", year);
    if (db_begin(db) < 0 || year_replace(db, year, days, n, source) < 0 ||
        broadcast_share(node, db, BROADCAST_CALENDAR, key) < 0 || db_commit(db) < 0) {
        db_rollback(db);
        return -1;
    }
    log_info("calendar: year %d replaced with %zu dates by '%s'", year, n, source);
    return 0;
}

/* --- the calendar between nodes ------------------------------------------ */

/* The year a key names: "2027".  Returns 0, or -1. */
static int key_year(const char *key, int *year)
{
    if (strlen(key) != 4 || strspn(key, "0123456789") != 4)
        return -1;
    *year = atoi(key);
    return year_bounds(*year, &(int32_t){0}, &(int32_t){0});
}

json_t *calstore_year_json(struct db *db, const char *key)
{
    char a[CALENDAR_DATE_LEN], b[CALENDAR_DATE_LEN];
    const char *p[] = {a, b};
    int32_t first, last;
    int year;

    if (key_year(key, &year) < 0)
        return json_null();
    (void)year_bounds(year, &first, &last);
    calendar_day_format(first, a);
    calendar_day_format(last, b);
    PGresult *res = db_query(db,
                             "SELECT to_char(day, 'YYYY-MM-DD'), kind, name FROM calendar_days"
                             " WHERE day BETWEEN $1 AND $2 ORDER BY day",
                             2, p);
    if (res == NULL)
        return NULL;
    json_t *days = json_array();
    for (int i = 0; i < PQntuples(res); i++)
        json_array_append_new(
            days,
            json_pack("{s:s,s:s,s:o}", "date", PQgetvalue(res, i, 0), "kind", PQgetvalue(res, i, 1),
                      "name",
                      PQgetisnull(res, i, 2) ? json_null() : json_string(PQgetvalue(res, i, 2))));
    PQclear(res);
    if (json_array_size(days) == 0) {
        json_decref(days);
        return json_null();
    }
    return json_pack("{s:i,s:o}", "year", year, "days", days);
}

/*
 * Reads {"year", "days": [{"date", "kind", "name"}...]} named 'key' into a
 * new array (names point into 'data'), checked as calstore_add_year checks
 * an admin's.  Returns the array (free it), or NULL if anything is wrong.
 */
static struct calstore_day *year_read(const char *key, json_t *data, int *year, size_t *n)
{
    json_t *days = json_object_get(data, "days"), *y = json_object_get(data, "year");
    char err[256];

    if (key_year(key, year) < 0 || !json_is_integer(y) || json_integer_value(y) != *year ||
        json_object_size(data) != 2 || !json_is_array(days) || json_array_size(days) == 0 ||
        json_array_size(days) > 366)
        return NULL;
    *n = json_array_size(days);
    struct calstore_day *list = calloc(*n, sizeof(*list));
    for (size_t i = 0; list != NULL && i < *n; i++) {
        json_t *d = json_array_get(days, i), *name = json_object_get(d, "name");
        const char *date = json_string_value(json_object_get(d, "date"));
        const char *kind = json_string_value(json_object_get(d, "kind"));
        if (date == NULL || kind == NULL || calendar_day_parse(date, &list[i].day) < 0 ||
            calendar_kind_parse(kind, &list[i].kind) < 0 ||
            (name != NULL && !json_is_null(name) && !json_is_string(name))) {
            free(list);
            return NULL;
        }
        list[i].name = json_string_value(name);
    }
    if (list != NULL && year_check(*year, list, *n, err, sizeof(err)) < 0) {
        free(list);
        return NULL;
    }
    return list;
}

int calstore_year_valid(const char *key, json_t *data)
{
    int year;
    size_t n;
    struct calstore_day *list = year_read(key, data, &year, &n);

    free(list);
    return list != NULL;
}

int calstore_year_apply(struct db *db, const char *key, json_t *data)
{
    int year;
    size_t n;
    struct calstore_day *list = year_read(key, data, &year, &n);

    if (list == NULL)
        return 1;
    int rc = year_replace(db, year, list, n, "province broadcast");
    free(list);
    if (rc == 0)
        log_info("calendar: year %d replaced with %zu dates by the province", year, n);
    return rc;
}
