/* SPDX-License-Identifier: Apache-2.0 */
/*
 * calendar_api.c - the calendar over HTTP: deadlines as the node computes
 * them, the days of a range as the node sees them, and an admin's
 * replacement of a year when the State Council publishes its notice.
 *
 * The handlers run in the HTTP workers, each on its own database connection
 * and with its own copy of the calendar (calstore_get).  Every input is
 * checked before anything is read or written; a bad one is answered 400
 * invalid_field naming it, and the database being away is answered 503.
 */
#include "calendar_api.h"

#include "calendar.h"
#include "calstore.h"
#include "clock.h"
#include "node.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_WORKING_DAYS 365
#define MAX_RANGE_DAYS   366
#define LAST_DATE        "9999-12-31" /* no later date can be written */
#define ANY_ROLE                                                                                   \
    (ROLE_ADMIN | ROLE_OPERATOR | ROLE_MANAGER | ROLE_UNIT | ROLE_AUDITOR | ROLE_SERVICE)

/* The calendar of the calling worker, or NULL having answered 503. */
static const struct calendar *worker_calendar(struct http_request *req)
{
    const struct node *node = http_app(req);
    struct db *db = db_thread(node->cfg.database);
    const struct calendar *cal = db != NULL ? calstore_get(db) : NULL;

    if (cal == NULL)
        http_reply_error(req, 503, "database_unavailable", "the database cannot be reached");
    return cal;
}

/* Parses a decimal integer in lo..hi, digits only.  Returns 0, or -1. */
static int integer_parse(const char *s, long lo, long hi, long *out)
{
    size_t len = strlen(s);

    if (len == 0 || len > 9 || strspn(s, "0123456789") != len)
        return -1;
    long v = strtol(s, NULL, 10);
    if (v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* clock_parse for a query parameter: a '+' of the offset sent unencoded in
 * the query string arrives as a space, and is read as the '+' it was. */
static int instant_parse(const char *s, int64_t *us)
{
    char copy[64];
    size_t len = strlen(s);

    if (len >= sizeof(copy))
        return -1;
    memcpy(copy, s, len + 1);
    if (len > 6 && copy[len - 6] == ' ')
        copy[len - 6] = '+';
    return clock_parse(copy, us);
}

/* GET /api/v1/calendar/deadline?from=RFC3339&working_days=N */
static void handle_deadline(struct http_request *req)
{
    const char *from = http_query_param(req, "from");
    const char *n = http_query_param(req, "working_days");
    char deadline_text[CLOCK_RFC3339_LEN];
    int32_t last_day;
    int64_t from_us;
    long working_days;
    int provisional;

    if (from == NULL || instant_parse(from, &from_us) < 0) {
        http_reply_invalid(req, "from",
                           "from must be an RFC 3339 date-time, e.g. 2024-09-27T10:00:00+08:00");
        return;
    }
    if (n == NULL || integer_parse(n, 1, MAX_WORKING_DAYS, &working_days) < 0) {
        http_reply_invalid(req, "working_days", "working_days must be an integer from 1 to %d",
                           MAX_WORKING_DAYS);
        return;
    }
    const struct calendar *cal = worker_calendar(req);
    if (cal == NULL)
        return;
    int64_t deadline = calendar_deadline(cal, from_us, (int)working_days, &provisional);
    if (calendar_day_parse(LAST_DATE, &last_day) < 0 || calendar_day_of(deadline) > last_day) {
        http_reply_invalid(req, "from", "from is too late: the deadline would be after " LAST_DATE);
        return;
    }
    clock_format_seconds(deadline, deadline_text);
    http_reply_json(req, 200,
                    json_pack("{s:s,s:b}", "deadline", deadline_text, "provisional", provisional));
}

/* One day as GET /calendar/days shows it. */
static json_t *day_json(const struct calendar *cal, int32_t day)
{
    char date[CALENDAR_DATE_LEN];
    const char *name = NULL;

    calendar_day_format(day, date);
    (void)calendar_listed(cal, day, NULL, &name);
    return json_pack("{s:s,s:s,s:o,s:i,s:b}", "date", date, "kind",
                     calendar_kind_name(calendar_is_working_day(cal, day) ? DAY_WORK : DAY_OFF),
                     "name", name != NULL ? json_string(name) : json_null(), "weekday",
                     calendar_weekday(day), "covered", calendar_covers(cal, day));
}

/* GET /api/v1/calendar/days?from=YYYY-MM-DD&to=YYYY-MM-DD, both included */
static void handle_days_get(struct http_request *req)
{
    const char *from = http_query_param(req, "from");
    const char *to = http_query_param(req, "to");
    int32_t first, last;

    if (from == NULL || calendar_day_parse(from, &first) < 0) {
        http_reply_invalid(req, "from", "from must be a date YYYY-MM-DD of the years 1970-9999");
        return;
    }
    if (to == NULL || calendar_day_parse(to, &last) < 0) {
        http_reply_invalid(req, "to", "to must be a date YYYY-MM-DD of the years 1970-9999");
        return;
    }
    if (last < first) {
        http_reply_invalid(req, "to", "to must not be before from");
        return;
    }
    if (last - first + 1 > MAX_RANGE_DAYS) {
        http_reply_invalid(req, "to", "the range may hold at most %d days", MAX_RANGE_DAYS);
        return;
    }
    const struct calendar *cal = worker_calendar(req);
    if (cal == NULL)
        return;
    json_t *days = json_array();
    for (int32_t day = first; days != NULL && day <= last; day++) {
        if (json_array_append_new(days, day_json(cal, day)) < 0) {
            json_decref(days);
            days = NULL;
        }
    }
    if (days == NULL) {
        http_reply_error(req, 500, "internal", "out of memory");
        return;
    }
    http_reply_json(req, 200, json_pack("{s:o}", "days", days));
}

/* Returns the first member of 'obj' not named in 'known' (NULL-ended), or NULL. */
static const char *unknown_member(json_t *obj, const char *const *known)
{
    const char *key;
    json_t *value;

    json_object_foreach(obj, key, value)
    {
        size_t i = 0;
        while (known[i] != NULL && strcmp(known[i], key) != 0)
            i++;
        if (known[i] == NULL)
            return key;
    }
    return NULL;
}

/* Reads days[i] of the body into 'out'.  Returns 0, or -1 having answered. */
static int day_read(struct http_request *req, json_t *item, size_t i, struct calstore_day *out)
{
    static const char *const known[] = {"date", "kind", "name", NULL};
    char field[64];
    const char *extra, *why;

    snprintf(field, sizeof(field), "days[%zu]", i);
    if (!json_is_object(item)) {
        http_reply_invalid(req, field, "%s must be an object {date, kind, name}", field);
        return -1;
    }
    if ((extra = unknown_member(item, known)) != NULL) {
        if (strlen(extra) < 32)
            snprintf(field, sizeof(field), "days[%zu].%s", i, extra);
        http_reply_invalid(req, field, "a day has only the fields date, kind and name");
        return -1;
    }
    json_t *date = json_object_get(item, "date"), *kind = json_object_get(item, "kind");
    json_t *name = json_object_get(item, "name");
    snprintf(field, sizeof(field), "days[%zu].date", i);
    if (!json_is_string(date) || calendar_day_parse(json_string_value(date), &out->day) < 0) {
        http_reply_invalid(req, field, "%s must be a date YYYY-MM-DD", field);
        return -1;
    }
    snprintf(field, sizeof(field), "days[%zu].kind", i);
    if (!json_is_string(kind) || calendar_kind_parse(json_string_value(kind), &out->kind) < 0) {
        http_reply_invalid(req, field, "%s must be \"work\" or \"off\"", field);
        return -1;
    }
    if ((why = calendar_check(out->day, out->kind, NULL)) != NULL) {
        http_reply_invalid(req, field, "'%s' %s", json_string_value(date), why);
        return -1;
    }
    snprintf(field, sizeof(field), "days[%zu].name", i);
    if (name != NULL && !json_is_null(name) && !json_is_string(name)) {
        http_reply_invalid(req, field, "%s must be a string or null", field);
        return -1;
    }
    out->name = json_is_string(name) ? json_string_value(name) : NULL;
    if ((why = calendar_check(out->day, out->kind, out->name)) != NULL) {
        http_reply_invalid(req, field, "'%s' %s", json_string_value(date), why);
        return -1;
    }
    return 0;
}

/* Replaces the year with the checked 'list' and answers. */
static void year_replace(struct http_request *req, int year, const struct calstore_day *list,
                         size_t n)
{
    const struct node *node = http_app(req);
    struct db *db = db_thread(node->cfg.database);
    char err[256], source[64];

    snprintf(source, sizeof(source), "principal %lld", http_principal(req)->id);
    int rc = db != NULL ? calstore_add_year(db, node, year, list, n, source, err, sizeof(err)) : -1;
    if (rc == 1)
        http_reply_invalid(req, "days", "%s", err);
    else if (rc < 0)
        http_reply_error(req, 503, "database_unavailable", "the database cannot be reached");
    else
        http_reply_json(req, 200, json_pack("{s:i,s:I}", "year", year, "days", (json_int_t)n));
}

/* POST /api/v1/calendar/days {"year": 2027, "days": [{"date", "kind", "name"}...]} */
static void handle_days_post(struct http_request *req)
{
    static const char *const known[] = {"year", "days", NULL};
    json_t *body = http_body_json(req);
    const char *extra;

    if (body == NULL)
        return;
    if ((extra = unknown_member(body, known)) != NULL) {
        http_reply_invalid(req, extra, "a calendar year has only the fields year and days");
        return;
    }
    json_t *year = json_object_get(body, "year"), *days = json_object_get(body, "days");
    if (!json_is_integer(year) || json_integer_value(year) < 1970 ||
        json_integer_value(year) > 9999) {
        http_reply_invalid(req, "year", "year must be an integer from 1970 to 9999");
        return;
    }
    if (!json_is_array(days) || json_array_size(days) < 1 ||
        json_array_size(days) > MAX_RANGE_DAYS) {
        http_reply_invalid(req, "days", "days must be an array of 1 to %d dates", MAX_RANGE_DAYS);
        return;
    }
    size_t n = json_array_size(days);
    struct calstore_day *list = calloc(n, sizeof(*list));
    if (list == NULL) {
        http_reply_error(req, 500, "internal", "out of memory");
        return;
    }
    size_t i = 0;
    while (i < n && day_read(req, json_array_get(days, i), i, &list[i]) == 0)
        i++;
    if (i == n)
        year_replace(req, (int)json_integer_value(year), list, n);
    free(list);
}

const struct http_route calendar_routes[] = {
    {"GET", "/api/v1/calendar/deadline", handle_deadline, ANY_ROLE, NULL},
    {"GET", "/api/v1/calendar/days", handle_days_get, ANY_ROLE, NULL},
    {"POST", "/api/v1/calendar/days", handle_days_post, ROLE_ADMIN, NULL},
};

const size_t calendar_routes_len = sizeof(calendar_routes) / sizeof(calendar_routes[0]);
