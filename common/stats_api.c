/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stats_api.c - statistics, unit assessment and the supervision report
 * (Art 16, Art 17), in HTTP workers.
 *
 * Statistics and assessment are answered from the daily roll-ups only
 * (statsdb.c), whatever the period: they are as fresh as the clock
 * thread's last round.  The supervision report lists orders, from the
 * events of the period (by their time, never a scan of every ticket), and
 * the knowledge-base corrections that were late.  Every report is JSON, or
 * CSV when the request's Accept header asks for text/csv; the CSV is
 * written from the very JSON rows, so the two agree.  Reports hold no
 * citizen's personal data; the supervision report quotes the reasons and
 * notes of staff, as the events of the orders show them to the same roles.
 */
#include "stats_api.h"

#include "assessment.h"
#include "calendar.h"
#include "clock.h"
#include "csv.h"
#include "kbdb.h"
#include "node.h"
#include "stats.h"
#include "statsdb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define READERS    (ROLE_MANAGER | ROLE_AUDITOR)
#define MAX_DAYS   3660 /* ten years: the longest period one report covers */
#define JSON_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(10))

/* A period of whole days, both included. */
struct period {
    int32_t from, to;
    char from_text[CALENDAR_DATE_LEN], to_text[CALENDAR_DATE_LEN];
};

/* --- parameters ---------------------------------------------------------- */

static int day_param(struct http_request *req, const char *name, int32_t *day)
{
    const char *s = http_query_param(req, name);

    if (s == NULL || calendar_day_parse(s, day) < 0) {
        http_reply_invalid(req, name, "'%s' must be a date YYYY-MM-DD", name);
        return -1;
    }
    return 0;
}

static void period_format(struct period *p)
{
    calendar_day_format(p->from, p->from_text);
    calendar_day_format(p->to, p->to_text);
}

/* Reads from= and to=.  Returns 0, or -1 having answered 400. */
static int period_read(struct http_request *req, struct period *p)
{
    if (day_param(req, "from", &p->from) < 0 || day_param(req, "to", &p->to) < 0)
        return -1;
    if (p->to < p->from) {
        http_reply_invalid(req, "to", "'to' must not be before 'from'");
        return -1;
    }
    if (p->to - p->from >= MAX_DAYS) {
        http_reply_invalid(req, "to", "a period is at most %d days", MAX_DAYS);
        return -1;
    }
    period_format(p);
    return 0;
}

/* Reads month=YYYY-MM as the period of its days.  Returns 0, or -1 having
 * answered 400. */
static int month_read(struct http_request *req, struct period *p, char month[8])
{
    const char *s = http_query_param(req, "month");
    char first[CALENDAR_DATE_LEN + 4], next[CALENDAR_DATE_LEN];

    int shaped = s != NULL && strlen(s) == 7 && s[4] == '-' && strspn(s, "0123456789") == 4 &&
                 strspn(s + 5, "0123456789") == 2;
    if (shaped)
        snprintf(first, sizeof(first), "%s-01", s);
    if (!shaped || calendar_day_parse(first, &p->from) < 0) {
        http_reply_invalid(req, "month", "'month' must be a month YYYY-MM");
        return -1;
    }
    p->to = p->from;
    for (;;) {
        calendar_day_format(p->to + 1, next);
        if (strncmp(next, s, 7) != 0)
            break;
        p->to++;
    }
    memcpy(month, s, 8);
    period_format(p);
    return 0;
}

/* The categories the satisfaction rate leaves out: "{a,b}" for SQL (the
 * names are [a-z0-9_], checked by config.c) and a JSON array.  Returns 0, or
 * -1 if out of memory. */
static int excluded_read(const struct config *cfg, char **literal, json_t **list)
{
    const char *names = cfg->satisfaction_excluded_categories;

    *list = json_array();
    if (*list == NULL || asprintf(literal, "{%s}", names) < 0) {
        json_decref(*list);
        return -1;
    }
    for (const char *p = names; *p != '\0';) {
        size_t len = strcspn(p, ",");
        json_array_append_new(*list, json_stringn(p, len));
        p += len + (p[len] == ',');
    }
    return 0;
}

/* --- answers ------------------------------------------------------------- */

/* Answers 'body' as JSON, rates with their 4 decimals and no more digits. */
static void reply_json(struct http_request *req, json_t *body)
{
    char *text = body != NULL ? json_dumps(body, JSON_FLAGS) : NULL;

    json_decref(body);
    if (text == NULL) {
        http_reply_error(req, 500, "internal", "the report could not be written");
        return;
    }
    http_reply_text(req, 200, "application/json", text, strlen(text));
    free(text);
}

/* Answers the table 'rows' (of the members of 'shape') as CSV, a file named
 * after 'name'.  Takes both references. */
static void reply_csv(struct http_request *req, json_t *shape, json_t *rows, const char *name)
{
    char *text = NULL, disposition[128];
    size_t len = 0;
    FILE *f = shape != NULL && rows != NULL ? open_memstream(&text, &len) : NULL;

    if (f != NULL) {
        csv_table(f, shape, rows);
        if (fclose(f) != 0) {
            free(text);
            text = NULL;
        }
    }
    json_decref(shape);
    json_decref(rows);
    if (text == NULL) {
        http_reply_error(req, 500, "internal", "the report could not be written");
        return;
    }
    http_reply_text(req, 200, "text/csv; charset=utf-8", text, len);
    free(text);
    snprintf(disposition, sizeof(disposition), "attachment; filename=\"%s.csv\"", name);
    http_reply_header(req, "Content-Disposition", disposition);
}

static int wants_csv(const struct http_request *req)
{
    return csv_accepted(http_header(req, "Accept"));
}

static json_t *text_or_null(const char *s)
{
    return s != NULL && s[0] != '\0' ? json_string(s) : json_null();
}

/* --- statistics ---------------------------------------------------------- */

/* Text of a column of 'res', or NULL ('res' NULL or the column NULL). */
static const char *column_or_null(PGresult *res, int i, int col)
{
    return res != NULL && !PQgetisnull(res, i, col) ? PQgetvalue(res, i, col) : NULL;
}

/* The group members of row 'i' of a statsdb_sum() result ('res' NULL: the
 * shape of the members). */
static json_t *group_members(const struct stats_api_source *src, enum stats_group group,
                             PGresult *res, int i)
{
    const char *value = column_or_null(res, i, 0);
    const char *name = column_or_null(res, i, STATSDB_NAME_COLUMN);

    switch (group) {
    case STATS_BY_NONE:
        return json_object();
    case STATS_BY_UNIT:
        if (src->several_nodes)
            return json_pack("{s:o,s:o,s:o}", "node",
                             text_or_null(column_or_null(res, i, STATSDB_NODE_COLUMN)), "unit",
                             text_or_null(value), "unit_name", text_or_null(name));
        return json_pack("{s:o,s:o}", "unit", text_or_null(value), "unit_name", text_or_null(name));
    case STATS_BY_NODE:
        return json_pack("{s:o,s:o}", "node", text_or_null(value), "node_name", text_or_null(name));
    default:
        return json_pack("{s:o}", stats_group_name(group), text_or_null(value));
    }
}

/* Reads group_by= among the groupings of 'src'.  Returns 0, or -1 having
 * answered 400 with the list of them. */
static int group_read(struct http_request *req, const struct stats_api_source *src,
                      enum stats_group *group)
{
    const char *by = http_query_param(req, "group_by");
    char list[128] = "";

    *group = STATS_BY_NONE;
    if (by == NULL || (stats_group_parse(by, group) == 0 && (src->groups & (1u << *group))))
        return 0;
    for (int g = STATS_BY_NONE + 1; g < STATS_GROUP_COUNT; g++) {
        if (src->groups & (1u << g)) {
            size_t len = strlen(list);
            snprintf(list + len, sizeof(list) - len, "%s%s", len > 0 ? ", " : "",
                     stats_group_name((enum stats_group)g));
        }
    }
    http_reply_invalid(req, "group_by", "'group_by' is one of %s", list);
    return -1;
}

void stats_api_reply(struct http_request *req, const struct stats_api_source *src,
                     const char *of_node)
{
    enum stats_group group;
    struct stats_figures total = {{0}}, zero = {{0}};
    struct period p;
    struct node *node;
    struct db *db;
    char *excluded = NULL;
    json_t *list = NULL, *rows = NULL;

    if (period_read(req, &p) < 0 || group_read(req, src, &group) < 0 ||
        (db = node_db(req, &node)) == NULL)
        return;
    if (excluded_read(&node->cfg, &excluded, &list) < 0) {
        http_reply_error(req, 500, "internal", "out of memory");
        return;
    }
    PGresult *res = src->sum(db, node, p.from_text, p.to_text, group, excluded, of_node);
    free(excluded);
    if (res == NULL)
        goto fail;
    rows = json_array();
    for (int i = 0; i < PQntuples(res); i++) {
        struct stats_figures f;
        statsdb_figures(res, i, 1, &f);
        stats_add(&total, &f);
        json_t *row = group_members(src, group, res, i);
        if (row == NULL || stats_json(row, &f) < 0) {
            json_decref(row);
            goto fail;
        }
        if (json_array_append_new(rows, row) < 0)
            goto fail;
    }
    PQclear(res);
    res = NULL;
    if (wants_csv(req)) {
        json_t *shape = group_members(src, group, NULL, 0);
        char name[64];
        if (shape != NULL && stats_json(shape, &zero) < 0) {
            json_decref(shape);
            shape = NULL;
        }
        snprintf(name, sizeof(name), "%s-%s-%s", src->name, p.from_text, p.to_text);
        json_decref(list);
        reply_csv(req, shape, rows, name);
        return;
    }
    json_t *sum = json_object();
    if (sum == NULL || stats_json(sum, &total) < 0) {
        json_decref(sum);
        goto fail;
    }
    json_t *answer =
        json_pack("{s:s,s:s,s:o,s:o,s:o,s:o}", "from", p.from_text, "to", p.to_text, "group_by",
                  group == STATS_BY_NONE ? json_null() : json_string(stats_group_name(group)),
                  "excluded_categories", list, "rows", rows, "total", sum);
    if (answer != NULL && src->several_nodes)
        json_object_set_new(answer, "node", text_or_null(of_node));
    reply_json(req, answer);
    return;

fail:
    PQclear(res);
    json_decref(rows);
    json_decref(list);
    http_reply_error(req, 500, "internal", "the statistics could not be read");
}

static PGresult *own_sum(struct db *db, const struct node *node, const char *from, const char *to,
                         enum stats_group group, const char *excluded, const char *of_node)
{
    (void)node;
    (void)of_node;
    return statsdb_sum(db, from, to, group, excluded);
}

static const struct stats_api_source own_stats = {
    .name = "stats",
    .groups = 1u << STATS_BY_UNIT | 1u << STATS_BY_KIND | 1u << STATS_BY_CATEGORY |
              1u << STATS_BY_CHANNEL | 1u << STATS_BY_DAY,
    .sum = own_sum,
};

static void handle_stats(struct http_request *req)
{
    stats_api_reply(req, &own_stats, NULL);
}

/* --- assessment ---------------------------------------------------------- */

/* One unit of the assessment: its row in the result and its score. */
struct scored {
    int row;
    const char *code;
    struct stats_figures f;
    struct assessment_result r;
};

/* Best score first, units without a score last, then by code. */
static int scored_order(const void *a, const void *b)
{
    const struct scored *x = a, *y = b;

    if (x->r.has_score != y->r.has_score)
        return y->r.has_score - x->r.has_score;
    if (x->r.has_score && x->r.score != y->r.score)
        return x->r.score > y->r.score ? -1 : 1;
    return strcmp(x->code, y->code);
}

/* The figures of a unit behind its score, in the order of the report. */
static const struct {
    const char *name;
    enum stats_counter counter;
} unit_figures[] = {
    {"dispatched", STATS_DISPATCHED},
    {"completed", STATS_COMPLETED},
    {"completed_on_time", STATS_COMPLETED_ON_TIME},
    {"overdue", STATS_OVERDUE},
    {"returns_requested", STATS_RETURNS_REQUESTED},
    {"returns_approved", STATS_RETURNS_APPROVED},
    {"returns_refused", STATS_RETURNS_REFUSED},
    {"extensions_approved", STATS_EXTENSIONS_APPROVED},
    {"redo_approved", STATS_REDO_APPROVED},
    {"supervised", STATS_SUPERVISED},
    {"rated", STATS_HANDLING_RATED_COUNTED},
    {"satisfied", STATS_HANDLING_SATISFIED_COUNTED},
};

#define NFIGURES (sizeof(unit_figures) / sizeof(unit_figures[0]))

static void assessment_of(const struct stats_figures *f, const struct assessment_weights *w,
                          struct assessment_result *r)
{
    struct assessment_figures a = {
        .completed = f->n[STATS_COMPLETED],
        .completed_on_time = f->n[STATS_COMPLETED_ON_TIME],
        .rated = f->n[STATS_HANDLING_RATED_COUNTED],
        .satisfied = f->n[STATS_HANDLING_SATISFIED_COUNTED],
        .returns_approved = f->n[STATS_RETURNS_APPROVED],
        .returns_refused = f->n[STATS_RETURNS_REFUSED],
        .redo_approved = f->n[STATS_REDO_APPROVED],
        .supervised = f->n[STATS_SUPERVISED],
    };
    assessment_score(&a, w, r);
}

/* The row of one unit: code, name, figures, rates, score. */
static json_t *unit_row(const char *code, const char *name, const struct stats_figures *f,
                        const struct assessment_result *r)
{
    json_t *row = json_pack("{s:s,s:s}", "unit", code, "unit_name", name);

    for (size_t i = 0; row != NULL && i < NFIGURES; i++)
        json_object_set_new(row, unit_figures[i].name,
                            json_integer((json_int_t)f->n[unit_figures[i].counter]));
    for (int i = 0; row != NULL && i < ASSESSMENT_PART_COUNT; i++) {
        char key[32];
        snprintf(key, sizeof(key), "%s_rate", assessment_part_name((enum assessment_part)i));
        json_object_set_new(row, key, r->has_rate[i] ? json_real(r->rate[i]) : json_null());
    }
    if (row != NULL)
        json_object_set_new(row, "score", r->has_score ? json_real(r->score) : json_null());
    return row;
}

static json_t *formula_json(const struct assessment_weights *w, json_t *excluded)
{
    json_t *weights = json_object();

    for (int i = 0; weights != NULL && i < ASSESSMENT_PART_COUNT; i++)
        json_object_set_new(weights, assessment_part_name((enum assessment_part)i),
                            json_integer(w->part[i]));
    return json_pack("{s:o,s:i,s:o}", "weights", weights, "penalty_supervised",
                     w->penalty_supervised, "excluded_categories", excluded);
}

static void handle_assessment(struct http_request *req)
{
    struct period p;
    struct node *node;
    struct db *db;
    char month[8], *excluded = NULL;
    json_t *list = NULL, *units = NULL;
    struct scored *scores = NULL;

    if (month_read(req, &p, month) < 0 || (db = node_db(req, &node)) == NULL)
        return;
    const struct config *c = &node->cfg;
    const struct assessment_weights w = {
        .part = {[ASSESSMENT_ON_TIME] = c->assessment_weight_on_time,
                 [ASSESSMENT_SATISFACTION] = c->assessment_weight_satisfaction,
                 [ASSESSMENT_RETURNS] = c->assessment_weight_returns,
                 [ASSESSMENT_REDO] = c->assessment_weight_redo},
        .penalty_supervised = c->assessment_penalty_supervised,
    };
    if (excluded_read(c, &excluded, &list) < 0) {
        http_reply_error(req, 500, "internal", "out of memory");
        return;
    }
    PGresult *res = statsdb_units(db, p.from_text, p.to_text, c->node_code, excluded);
    free(excluded);
    int n = res != NULL ? PQntuples(res) : 0;
    scores = calloc(n > 0 ? (size_t)n : 1, sizeof(*scores));
    units = json_array();
    if (res == NULL || scores == NULL || units == NULL)
        goto fail;
    for (int i = 0; i < n; i++) {
        scores[i].row = i;
        scores[i].code = PQgetvalue(res, i, 0);
        statsdb_figures(res, i, 3, &scores[i].f);
        assessment_of(&scores[i].f, &w, &scores[i].r);
    }
    qsort(scores, (size_t)n, sizeof(*scores), scored_order);
    for (int i = 0; i < n; i++) {
        json_t *row =
            unit_row(scores[i].code, PQgetvalue(res, scores[i].row, 1), &scores[i].f, &scores[i].r);
        if (row == NULL || json_array_append_new(units, row) < 0)
            goto fail;
    }
    if (wants_csv(req)) {
        struct stats_figures zero = {{0}};
        struct assessment_result none = {{0}, {0}, 0, 0};
        char name[32];
        snprintf(name, sizeof(name), "assessment-%s", month);
        reply_csv(req, unit_row("", "", &zero, &none), units, name);
        units = NULL;
    } else {
        reply_json(req,
                   json_pack("{s:s,s:s,s:s,s:o,s:o}", "month", month, "from", p.from_text, "to",
                             p.to_text, "formula", formula_json(&w, list), "units", units));
        list = units = NULL;
    }
    json_decref(list);
    free(scores);
    PQclear(res);
    return;

fail:
    json_decref(units);
    json_decref(list);
    free(scores);
    PQclear(res);
    http_reply_error(req, 500, "internal", "the assessment could not be read");
}

/* --- supervision --------------------------------------------------------- */

static json_t *time_json(int64_t us)
{
    char text[CLOCK_RFC3339_LEN];

    clock_format(us, text);
    return json_string(text);
}

/* One order of the report, from row 'i' of statsdb_supervision(). */
static json_t *supervision_item(PGresult *res, int i)
{
    return json_pack("{s:s,s:o,s:o,s:s,s:o,s:o}", "ticket", PQgetvalue(res, i, 1), "at",
                     time_json(strtoll(PQgetvalue(res, i, 2), NULL, 10)), "unit",
                     text_or_null(PQgetvalue(res, i, 3)), "by", PQgetvalue(res, i, 4), "reason",
                     text_or_null(PQgetisnull(res, i, 5) ? NULL : PQgetvalue(res, i, 5)), "note",
                     text_or_null(PQgetisnull(res, i, 6) ? NULL : PQgetvalue(res, i, 6)));
}

/*
 * Late knowledge-base work (Art 18): the corrections due in the period that
 * are overdue now or were made after their deadline, as the knowledge base
 * lists them.  Returns a JSON array, or NULL on error.
 */
static json_t *late_kb_work(struct db *db, const struct period *p, int64_t now)
{
    struct kb_correction_filter filter = {.now = now};
    json_t *all = kbdb_corrections(db, &filter), *late = all != NULL ? json_array() : NULL;
    int64_t lo = calendar_day_start(p->from), hi = calendar_day_start(p->to + 1);
    json_t *c;
    size_t i;

    json_array_foreach(all, i, c)
    {
        const char *state = json_string_value(json_object_get(c, "state"));
        const char *closed = json_string_value(json_object_get(c, "closed_at"));
        int64_t deadline, closed_at = 0;
        if (state == NULL ||
            clock_parse(json_string_value(json_object_get(c, "deadline")), &deadline) < 0 ||
            (closed != NULL && clock_parse(closed, &closed_at) < 0))
            continue;
        int overdue = strcmp(state, "overdue") == 0,
            closed_late = closed != NULL && closed_at > deadline;
        if (deadline < lo || deadline >= hi || !(overdue || closed_late))
            continue;
        json_array_append_new(
            late, json_pack("{s:O,s:O,s:O,s:O,s:s,s:O,s:O,s:O}", "correction",
                            json_object_get(c, "id"), "entry", json_object_get(c, "entry"), "unit",
                            json_object_get(c, "unit"), "deadline", json_object_get(c, "deadline"),
                            "state", overdue ? "overdue" : "closed_late", "closed_at",
                            json_object_get(c, "closed_at"), "filed_by",
                            json_object_get(c, "filed_by"), "note", json_object_get(c, "note")));
    }
    json_decref(all);
    return late;
}

/* The report as one table for CSV: section, ticket (or entry), at (or the
 * correction's deadline), unit, by, reason (or state), note. */
static json_t *supervision_table(json_t *report)
{
    json_t *rows = json_array(), *item;
    size_t i;

    for (int s = 0; s < STATSDB_SECTION_COUNT; s++) {
        const char *name = statsdb_section_name((enum statsdb_section)s);
        json_array_foreach(json_object_get(report, name), i, item)
        {
            json_t *row = json_pack("{s:s}", "section", name);
            json_object_update(row, item);
            json_array_append_new(rows, row);
        }
    }
    json_array_foreach(json_object_get(report, "late_kb_work"), i, item)
    {
        json_array_append_new(
            rows, json_pack("{s:s,s:O,s:O,s:O,s:O,s:O,s:O}", "section", "late_kb_work", "ticket",
                            json_object_get(item, "entry"), "at", json_object_get(item, "deadline"),
                            "unit", json_object_get(item, "unit"), "by",
                            json_object_get(item, "filed_by"), "reason",
                            json_object_get(item, "state"), "note", json_object_get(item, "note")));
    }
    return rows;
}

static void handle_supervision(struct http_request *req)
{
    struct period p;
    struct node *node;
    struct db *db;
    json_t *report = NULL;

    if (period_read(req, &p) < 0 || (db = node_db(req, &node)) == NULL)
        return;
    PGresult *res = statsdb_supervision(db, p.from_text, p.to_text);
    json_t *late = res != NULL ? late_kb_work(db, &p, clock_now_us()) : NULL;
    if (res == NULL || late == NULL)
        goto fail;
    report = json_pack("{s:s,s:s}", "from", p.from_text, "to", p.to_text);
    for (int s = 0; report != NULL && s < STATSDB_SECTION_COUNT; s++)
        json_object_set_new(report, statsdb_section_name((enum statsdb_section)s), json_array());
    for (int i = 0; report != NULL && i < PQntuples(res); i++) {
        int s = atoi(PQgetvalue(res, i, 0));
        json_t *section = json_object_get(report, statsdb_section_name((enum statsdb_section)s));
        if (section == NULL || json_array_append_new(section, supervision_item(res, i)) < 0)
            goto fail;
    }
    if (report == NULL || json_object_set_new(report, "late_kb_work", late) < 0)
        goto fail;
    late = NULL;
    PQclear(res);
    if (wants_csv(req)) {
        char name[64];
        snprintf(name, sizeof(name), "supervision-%s-%s", p.from_text, p.to_text);
        reply_csv(req,
                  json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "section", "", "ticket", "", "at", "",
                            "unit", "", "by", "", "reason", "", "note", ""),
                  supervision_table(report), name);
        json_decref(report);
    } else {
        reply_json(req, report);
    }
    return;

fail:
    json_decref(late);
    json_decref(report);
    PQclear(res);
    http_reply_error(req, 500, "internal", "the supervision report could not be read");
}

const struct http_route stats_routes[] = {
    {"GET", "/api/v1/stats", handle_stats, READERS, NULL},
    {"GET", "/api/v1/assessment", handle_assessment, READERS, NULL},
    {"GET", "/api/v1/supervision", handle_supervision, READERS, NULL},
};

const size_t stats_routes_len = sizeof(stats_routes) / sizeof(stats_routes[0]);
