/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kbdb.c - SQL for the knowledge base.
 *
 * Runs in HTTP workers, each on its own connection; kbdb_copy_apply in a
 * city's link thread, inside the transaction of a broadcast.  A write locks
 * the entry's row first, so versions of one entry are numbered one after
 * the other and a review never races a new version.  Times travel as the node's
 * microseconds, never taken from the server; dates as "YYYY-MM-DD".
 *
 * Search: the GIN indexes on the bigram sets of published versions find
 * the candidates that share a bigram with the query (&&); each is scored
 * here with kb_score and ranked with kb_rank, then cut to the page.
 */
#include "kbdb.h"

#include "broadcast.h"
#include "clock.h"
#include "log.h"
#include "ngram.h"
#include "node.h"
#include "wire.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define US(col)   "(extract(epoch FROM " col ") * 1000000)::bigint"
#define DATE(col) "to_char(" col ", 'YYYY-MM-DD')"

/* clang-format off */
/* The columns of a version, in the order of enum version_column. */
#define VERSION_COLUMNS                                                                            \
    "v.version, v.state, v.title, v.body, " DATE("v.valid_from") ", " DATE("v.valid_until") ","    \
    " " DATE("v.publication_date") ", v.official_text, v.late, " US("v.submitted_at") ","          \
    " v.submitted_by, v.submitted_role, " US("v.reviewed_at") ", v.reviewed_by, v.review_reason," \
    " " US("v.withdrawn_at") ", v.withdrawn_by, v.withdrawn_reason"

/* The same of a copy of another node's entry: its published version. */
#define COPY_VERSION_COLUMNS                                                                       \
    "c.version, 'published'::text, c.title, c.body, " DATE("c.valid_from") ","                    \
    " " DATE("c.valid_until") ", " DATE("c.publication_date") ", c.official_text, c.late,"         \
    " " US("c.submitted_at") ", c.submitted_by, c.submitted_role, " US("c.reviewed_at") ","        \
    " c.reviewed_by, NULL::text, NULL::bigint, NULL::text, NULL::text"
/* clang-format on */

enum version_column {
    V_VERSION,
    V_STATE,
    V_TITLE,
    V_TEXT,
    V_VALID_FROM,
    V_VALID_UNTIL,
    V_PUBLICATION_DATE,
    V_OFFICIAL_TEXT,
    V_LATE,
    V_SUBMITTED_AT,
    V_SUBMITTED_BY,
    V_SUBMITTED_ROLE,
    V_REVIEWED_AT,
    V_REVIEWED_BY,
    V_REASON,
    V_WITHDRAWN_AT,
    V_WITHDRAWN_BY,
    V_WITHDRAWN_REASON,
    V_COUNT, /* search rows go on: */
    S_ID = V_COUNT,
    S_TYPE,
    S_UNIT,
    S_UNIT_NAME,
    S_TITLE_GRAMS,
    S_TEXT_GRAMS,
    S_ORIGIN, /* NULL for this node's own entries */
    S_TOTAL,  /* rows matched, before any LIMIT */
};

/* This node's entries and the copies, each with the filters: type $2, unit
 * $3 and, with query grams ($4), a bigram shared with the query. */
#define LOCAL_ROWS                                                                                 \
    "SELECT " VERSION_COLUMNS ", e.id, e.type, e.unit_code, u.name, v.title_grams::text,"          \
    " v.body_grams::text, NULL::text AS origin"                                                    \
    " FROM kb_versions v JOIN kb_entries e ON e.id = v.entry_id"                                   \
    " JOIN units u ON u.code = e.unit_code"                                                        \
    " WHERE ($2::text IS NULL OR e.type = $2) AND ($3::text IS NULL OR e.unit_code = $3)"          \
    " AND ($4::integer[] IS NULL OR v.title_grams && $4::integer[]"                                \
    "      OR v.body_grams && $4::integer[])"
#define COPY_ROWS                                                                                  \
    "SELECT " COPY_VERSION_COLUMNS ", c.entry, c.type, c.unit_code, c.unit_name,"                  \
    " c.title_grams::text, c.body_grams::text, c.origin FROM kb_copies c"                          \
    " WHERE ($2::text IS NULL OR c.type = $2) AND ($3::text IS NULL OR c.unit_code = $3)"          \
    " AND ($4::integer[] IS NULL OR c.title_grams && $4::integer[]"                                \
    "      OR c.body_grams && $4::integer[])"
/* Without query grams, the first $5 by number, this node's first. */
#define SEARCH_PAGE                                                                                \
    " ORDER BY x.origin NULLS FIRST, x.id"                                                         \
    " LIMIT CASE WHEN $4::integer[] IS NULL THEN $5::integer END"

static const char *const search_sql[KB_STATE_COUNT] = {
    [KB_PUBLISHED] = "SELECT x.*, count(*) OVER () FROM (" LOCAL_ROWS
                     " AND v.state = 'published' AND v.valid_from <= $1::date"
                     " AND (v.valid_until IS NULL OR v.valid_until >= $1::date)"
                     " UNION ALL " COPY_ROWS " AND c.valid_from <= $1::date"
                     " AND (c.valid_until IS NULL OR c.valid_until >= $1::date)) x" SEARCH_PAGE,
    /* Validity does not matter before review; $1 is read only to be typed. */
    [KB_PENDING] = "SELECT x.*, count(*) OVER () FROM (" LOCAL_ROWS
                   " AND v.state = 'pending' AND $1::date IS NOT NULL) x" SEARCH_PAGE,
};

/* Room for the array literal of a full gram set. */
#define GRAMS_TEXT_MAX (NGRAM_MAX * 12 + 3)

static int64_t us_at(PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? 0 : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

static const char *text_at(PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

static int flag_at(PGresult *res, int row, int col)
{
    return strcmp(PQgetvalue(res, row, col), "t") == 0;
}

static json_t *time_json(int64_t us)
{
    char text[CLOCK_RFC3339_LEN];

    if (us == 0)
        return json_null();
    clock_format(us, text);
    return json_string(text);
}

/* Deadlines are whole seconds: "2024-10-23T23:59:59+08:00". */
static json_t *deadline_json(int64_t us)
{
    char text[CLOCK_RFC3339_LEN];

    clock_format_seconds(us, text);
    return json_string(text);
}

static json_t *nullable(const char *s)
{
    return s != NULL ? json_string(s) : json_null();
}

/* The version in row 'i' of 'res' (version columns first). */
static json_t *version_row_json(PGresult *res, int i)
{
    json_t *obj = json_pack(
        "{s:i,s:s,s:s,s:s,s:s,s:o,s:o,s:o,s:b,s:o,s:s,s:s,s:o,s:o,s:o}", "version",
        atoi(PQgetvalue(res, i, V_VERSION)), "state", PQgetvalue(res, i, V_STATE), "title",
        PQgetvalue(res, i, V_TITLE), "text", PQgetvalue(res, i, V_TEXT), "valid_from",
        PQgetvalue(res, i, V_VALID_FROM), "valid_until", nullable(text_at(res, i, V_VALID_UNTIL)),
        "publication_date", nullable(text_at(res, i, V_PUBLICATION_DATE)), "official_text",
        nullable(text_at(res, i, V_OFFICIAL_TEXT)), "late", flag_at(res, i, V_LATE), "submitted_at",
        time_json(us_at(res, i, V_SUBMITTED_AT)), "submitted_by",
        PQgetvalue(res, i, V_SUBMITTED_BY), "submitted_role", PQgetvalue(res, i, V_SUBMITTED_ROLE),
        "reviewed_at", time_json(us_at(res, i, V_REVIEWED_AT)), "reviewed_by",
        nullable(text_at(res, i, V_REVIEWED_BY)), "reason", nullable(text_at(res, i, V_REASON)));

    /* Withdrawn by the office, or by a newer submission (null). */
    if (obj != NULL)
        json_object_set_new(obj, "withdrawn",
                            PQgetisnull(res, i, V_WITHDRAWN_AT)
                                ? json_null()
                                : json_pack("{s:o,s:s,s:s}", "at",
                                            time_json(us_at(res, i, V_WITHDRAWN_AT)), "by",
                                            PQgetvalue(res, i, V_WITHDRAWN_BY), "reason",
                                            PQgetvalue(res, i, V_WITHDRAWN_REASON)));
    return obj;
}

/* --- writing ------------------------------------------------------------ */

/* Inserts version 'version' of entry 'id' in 'state'. */
static int version_insert(struct db *db, const char *id, int version, const struct kb_content *c,
                          enum kb_state state, const struct kb_author *by)
{
    char number[16], at[CLOCK_RFC3339_LEN];

    snprintf(number, sizeof(number), "%d", version);
    clock_format(by->at, at);
    const char *p[] = {id,
                       number,
                       kb_state_name(state),
                       c->title,
                       c->text,
                       c->valid_from,
                       c->valid_until,
                       c->publication_date,
                       c->official_text,
                       c->late ? "true" : "false",
                       c->title_grams,
                       c->text_grams,
                       at,
                       by->name,
                       by->role};
    return db_exec(db,
                   "INSERT INTO kb_versions (entry_id, version, state, title, body, valid_from,"
                   " valid_until, publication_date, official_text, late, title_grams, body_grams,"
                   " submitted_at, submitted_by, submitted_role)"
                   " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
                   15, p);
}

/*
 * Publishes version 'version' of entry 'id': the version published before
 * is superseded, and the open corrections filed no later than this version
 * was submitted are closed by it.
 */
static int publish(struct db *db, const char *id, int version, const struct kb_author *by)
{
    char number[16], at[CLOCK_RFC3339_LEN];

    snprintf(number, sizeof(number), "%d", version);
    clock_format(by->at, at);
    const char *p1[] = {id};
    const char *p4[] = {id, number, at, by->name};
    const char *p3[] = {id, number, at};
    if (db_exec(db,
                "UPDATE kb_versions SET state = 'superseded'"
                " WHERE entry_id = $1 AND state = 'published'",
                1, p1) < 0 ||
        db_exec(db,
                "UPDATE kb_versions SET state = 'published', reviewed_at = $3, reviewed_by = $4"
                " WHERE entry_id = $1 AND version = $2",
                4, p4) < 0 ||
        db_exec(db,
                "UPDATE kb_corrections SET closed_at = $3, fixed_version = $2"
                " WHERE entry_id = $1 AND closed_at IS NULL AND filed_at <= "
                " (SELECT submitted_at FROM kb_versions WHERE entry_id = $1 AND version = $2)",
                3, p3) < 0)
        return -1;
    return 0;
}

static int entry_touch(struct db *db, const char *id, int latest, int64_t now)
{
    char number[16], at[CLOCK_RFC3339_LEN];

    snprintf(number, sizeof(number), "%d", latest);
    clock_format(now, at);
    const char *p[] = {id, number, at};
    return db_exec(db, "UPDATE kb_entries SET latest_version = $2, updated_at = $3 WHERE id = $1",
                   3, p);
}

/* Entry 'id' of this node changed what readers see of it: share it. */
static int share(const struct node *node, struct db *db, const char *id)
{
    char key[KB_ID_LEN + 1];

    if (node == NULL)
        return 0;
    kb_copy_id_format(node->cfg.node_code, strtoll(id, NULL, 10), key);
    return broadcast_share(node, db, BROADCAST_KB, key);
}

long long kbdb_create(struct db *db, const struct node *node, enum kb_type type, const char *unit,
                      const struct kb_content *c, int publish_now, const struct kb_author *by)
{
    char at[CLOCK_RFC3339_LEN];
    PGresult *res = NULL;
    long long id;

    clock_format(by->at, at);
    const char *p[] = {kb_type_names[type], unit, at};
    if (db_begin(db) < 0)
        return -1;
    res =
        db_query(db,
                 "INSERT INTO kb_entries (type, unit_code, latest_version, created_at, updated_at)"
                 " VALUES ($1, $2, 1, $3, $3) RETURNING id",
                 3, p);
    if (res == NULL || PQntuples(res) != 1)
        goto fail;
    id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    if (version_insert(db, PQgetvalue(res, 0, 0), 1, c, KB_PENDING, by) < 0 ||
        (publish_now && (publish(db, PQgetvalue(res, 0, 0), 1, by) < 0 ||
                         share(node, db, PQgetvalue(res, 0, 0)) < 0)) ||
        db_commit(db) < 0)
        goto fail;
    PQclear(res);
    return id;
fail:
    PQclear(res);
    db_rollback(db);
    return -1;
}

int kbdb_add_version(struct db *db, const struct node *node, long long id, int expected_latest,
                     const struct kb_content *c, int publish_now, const struct kb_author *by)
{
    char key[24];
    PGresult *res = NULL;

    snprintf(key, sizeof(key), "%lld", id);
    const char *p[] = {key};
    if (db_begin(db) < 0)
        return -1;
    res = db_query(db, "SELECT latest_version FROM kb_entries WHERE id = $1 FOR UPDATE", 1, p);
    if (res == NULL || PQntuples(res) != 1)
        goto fail;
    int latest = atoi(PQgetvalue(res, 0, 0));
    PQclear(res);
    res = NULL;
    if (latest != expected_latest) {
        db_rollback(db);
        return 0;
    }
    if (db_exec(db,
                "UPDATE kb_versions SET state = 'withdrawn' WHERE entry_id = $1"
                " AND state = 'pending'",
                1, p) < 0 ||
        version_insert(db, key, latest + 1, c, KB_PENDING, by) < 0 ||
        (publish_now && publish(db, key, latest + 1, by) < 0) ||
        entry_touch(db, key, latest + 1, by->at) < 0 || (publish_now && share(node, db, key) < 0) ||
        db_commit(db) < 0)
        goto fail;
    return latest + 1;
fail:
    PQclear(res);
    db_rollback(db);
    return -1;
}

int kbdb_review(struct db *db, const struct node *node, long long id, int version, int approve,
                const char *reason, const struct kb_author *by)
{
    char key[24], number[16], at[CLOCK_RFC3339_LEN];
    PGresult *res = NULL;

    snprintf(key, sizeof(key), "%lld", id);
    snprintf(number, sizeof(number), "%d", version);
    clock_format(by->at, at);
    const char *p[] = {key, number};
    if (db_begin(db) < 0)
        return -1;
    res = db_query(db,
                   "SELECT v.state FROM kb_entries e JOIN kb_versions v ON v.entry_id = e.id"
                   " WHERE e.id = $1 AND v.version = $2 FOR UPDATE OF e",
                   2, p);
    if (res == NULL)
        goto fail;
    if (PQntuples(res) != 1 || strcmp(PQgetvalue(res, 0, 0), "pending") != 0) {
        PQclear(res);
        db_rollback(db);
        return 0;
    }
    PQclear(res);
    res = NULL;
    const char *r[] = {key, number, at, by->name, reason};
    const char *touch[] = {key, at};
    if (approve) {
        if (publish(db, key, version, by) < 0)
            goto fail;
    } else if (db_exec(db,
                       "UPDATE kb_versions SET state = 'rejected', reviewed_at = $3,"
                       " reviewed_by = $4, review_reason = $5"
                       " WHERE entry_id = $1 AND version = $2",
                       5, r) < 0) {
        goto fail;
    }
    if (db_exec(db, "UPDATE kb_entries SET updated_at = $2 WHERE id = $1", 2, touch) < 0 ||
        (approve && share(node, db, key) < 0) || db_commit(db) < 0)
        goto fail;
    return 1;
fail:
    PQclear(res);
    db_rollback(db);
    return -1;
}

int kbdb_withdraw(struct db *db, const struct node *node, long long id, int version,
                  const char *reason, const struct kb_author *by)
{
    char key[24], number[16], at[CLOCK_RFC3339_LEN];

    snprintf(key, sizeof(key), "%lld", id);
    snprintf(number, sizeof(number), "%d", version);
    clock_format(by->at, at);
    const char *p[] = {key, number, at, by->name, reason};
    const char *touch[] = {key, at};
    if (db_begin(db) < 0)
        return -1;
    /* The entry's row first, as every write does. */
    long long n = db_exec(db, "SELECT 1 FROM kb_entries WHERE id = $1 FOR UPDATE", 1, p) < 0
                      ? -1
                      : db_changed(db,
                                   "UPDATE kb_versions SET state = 'withdrawn', withdrawn_at = $3,"
                                   " withdrawn_by = $4, withdrawn_reason = $5"
                                   " WHERE entry_id = $1 AND version = $2 AND state = 'published'",
                                   5, p);
    if (n < 0)
        goto fail;
    if (n == 0) {
        db_rollback(db);
        return 0;
    }
    if (db_exec(db, "UPDATE kb_entries SET updated_at = $2 WHERE id = $1", 2, touch) < 0 ||
        share(node, db, key) < 0 || db_commit(db) < 0)
        goto fail;
    return 1;
fail:
    db_rollback(db);
    return -1;
}

long long kbdb_correction_file(struct db *db, long long id, const char *note, int64_t deadline,
                               int provisional, const struct kb_author *by)
{
    char key[24], at[CLOCK_RFC3339_LEN], due[CLOCK_RFC3339_LEN];

    snprintf(key, sizeof(key), "%lld", id);
    clock_format(by->at, at);
    clock_format(deadline, due);
    const char *p[] = {key, note, at, by->name, due, provisional ? "true" : "false"};
    PGresult *res = db_query(db,
                             "INSERT INTO kb_corrections (entry_id, note, filed_at, filed_by,"
                             " deadline, provisional) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                             6, p);
    if (res == NULL)
        return -1;
    long long number = PQntuples(res) == 1 ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : -1;
    PQclear(res);
    return number;
}

/* --- reading ------------------------------------------------------------ */

int kbdb_entry(struct db *db, long long id, struct kb_entry *out)
{
    char key[24];

    snprintf(key, sizeof(key), "%lld", id);
    const char *p[] = {key};
    PGresult *res = db_query(
        db,
        "SELECT e.id, e.type, e.unit_code, u.name, e.latest_version,"
        " (SELECT version FROM kb_versions WHERE entry_id = e.id AND state = 'published'),"
        " (SELECT version FROM kb_versions WHERE entry_id = e.id AND state = 'pending'),"
        " (SELECT count(*) FROM kb_corrections WHERE entry_id = e.id AND closed_at IS NULL),"
        " " US("e.created_at") ", " US("e.updated_at") " FROM kb_entries e JOIN units u ON u.code "
                                                       "= e.unit_code WHERE e.id = $1",
        1, p);
    if (res == NULL)
        return -1;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return 0;
    }
    struct kb_entry e = {.id = strtoll(PQgetvalue(res, 0, 0), NULL, 10)};
    if (kb_type_parse(PQgetvalue(res, 0, 1), &e.type) < 0) {
        log_warnx("knowledge-base entry %lld has an unknown type", id);
        PQclear(res);
        return -1;
    }
    snprintf(e.unit, sizeof(e.unit), "%s", PQgetvalue(res, 0, 2));
    snprintf(e.unit_name, sizeof(e.unit_name), "%s", PQgetvalue(res, 0, 3));
    e.latest = atoi(PQgetvalue(res, 0, 4));
    e.published = atoi(PQgetvalue(res, 0, 5));
    e.pending = atoi(PQgetvalue(res, 0, 6));
    e.open_corrections = atoi(PQgetvalue(res, 0, 7));
    e.created_at = us_at(res, 0, 8);
    e.updated_at = us_at(res, 0, 9);
    PQclear(res);
    *out = e;
    return 1;
}

int kbdb_version(struct db *db, long long id, int version, struct kb_version *out)
{
    char key[24], number[16];

    snprintf(key, sizeof(key), "%lld", id);
    snprintf(number, sizeof(number), "%d", version);
    const char *p[] = {key, number};
    PGresult *res = db_query(db,
                             "SELECT " VERSION_COLUMNS " FROM kb_versions v"
                             " WHERE v.entry_id = $1 AND v.version = $2",
                             2, p);
    if (res == NULL)
        return -1;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return 0;
    }
    struct kb_version v = {
        .res = res,
        .version = atoi(PQgetvalue(res, 0, V_VERSION)),
        .title = PQgetvalue(res, 0, V_TITLE),
        .text = PQgetvalue(res, 0, V_TEXT),
        .valid_from = PQgetvalue(res, 0, V_VALID_FROM),
        .valid_until = text_at(res, 0, V_VALID_UNTIL),
        .publication_date = text_at(res, 0, V_PUBLICATION_DATE),
        .official_text = text_at(res, 0, V_OFFICIAL_TEXT),
        .late = flag_at(res, 0, V_LATE),
    };
    if (kb_state_parse(PQgetvalue(res, 0, V_STATE), &v.state) < 0) {
        log_warnx("knowledge-base entry %lld has a version in an unknown state", id);
        PQclear(res);
        return -1;
    }
    *out = v;
    return 1;
}

void kbdb_version_clear(struct kb_version *v)
{
    PQclear(v->res);
    *v = (struct kb_version){0};
}

json_t *kbdb_version_json(const struct kb_version *v)
{
    return version_row_json(v->res, 0);
}

json_t *kbdb_versions(struct db *db, long long id, int all)
{
    char key[24];

    snprintf(key, sizeof(key), "%lld", id);
    const char *p[] = {key, all ? "true" : "false"};
    PGresult *res = db_query(db,
                             "SELECT " VERSION_COLUMNS " FROM kb_versions v WHERE v.entry_id = $1"
                             " AND ($2::boolean OR v.state IN ('published', 'superseded'))"
                             " ORDER BY v.version",
                             2, p);
    if (res == NULL)
        return NULL;
    json_t *versions = json_array();
    for (int i = 0; i < PQntuples(res); i++)
        json_array_append_new(versions, version_row_json(res, i));
    PQclear(res);
    return versions;
}

/* Reads the gram set in column 'col' of row 'i' into 'out'; 0 grams if malformed. */
static size_t grams_at(PGresult *res, int i, int col, int32_t *out)
{
    int n = ngram_array_parse(PQgetvalue(res, i, col), out, NGRAM_MAX);

    return n > 0 ? (size_t)n : 0;
}

/* The search row 'i' with its score. */
static json_t *hit_json(PGresult *res, int i, double score, int scored)
{
    char id[KB_ID_LEN + 1];
    json_t *obj = version_row_json(res, i);
    const char *origin = text_at(res, i, S_ORIGIN);
    long long n = strtoll(PQgetvalue(res, i, S_ID), NULL, 10);

    if (origin != NULL)
        kb_copy_id_format(origin, n, id);
    else
        kb_id_format(n, id);
    json_object_set_new(obj, "id", json_string(id));
    json_object_set_new(obj, "origin", nullable(origin));
    json_object_set_new(obj, "type", json_string(PQgetvalue(res, i, S_TYPE)));
    json_object_set_new(obj, "unit", json_string(PQgetvalue(res, i, S_UNIT)));
    json_object_set_new(obj, "unit_name", json_string(PQgetvalue(res, i, S_UNIT_NAME)));
    if (scored)
        json_object_set_new(obj, "score", json_real(score));
    return obj;
}

json_t *kbdb_search(struct db *db, const struct kb_query *q, long long *total)
{
    int32_t title[NGRAM_MAX], text[NGRAM_MAX];
    char grams[GRAMS_TEXT_MAX], limit[16];
    struct kb_hit *hits = NULL;
    json_t *out = NULL;

    if (q->grams != NULL && ngram_array(q->grams, q->ngrams, grams, sizeof(grams)) < 0)
        return NULL;
    snprintf(limit, sizeof(limit), "%d", q->limit);
    const char *p[] = {q->today, q->type, q->unit, q->grams != NULL ? grams : NULL, limit};
    PGresult *res = db_query(db, search_sql[q->state], 5, p);
    if (res == NULL)
        return NULL;
    int n = PQntuples(res);
    if (n > 0 && (hits = calloc((size_t)n, sizeof(*hits))) == NULL)
        goto out;
    for (int i = 0; i < n; i++) {
        hits[i].row = i;
        hits[i].id = strtoll(PQgetvalue(res, i, S_ID), NULL, 10);
        if (q->grams != NULL) {
            size_t nt = grams_at(res, i, S_TITLE_GRAMS, title);
            size_t nx = grams_at(res, i, S_TEXT_GRAMS, text);
            hits[i].score = kb_score(q->grams, q->ngrams, title, nt, text, nx);
        }
    }
    if (q->grams != NULL)
        kb_rank(hits, (size_t)n);
    out = json_array();
    for (int i = 0; i < n && i < q->limit; i++)
        json_array_append_new(out, hit_json(res, hits[i].row, hits[i].score, q->grams != NULL));
    *total = n > 0 ? strtoll(PQgetvalue(res, 0, S_TOTAL), NULL, 10) : 0;
out:
    free(hits);
    PQclear(res);
    return out;
}

json_t *kbdb_corrections(struct db *db, const struct kb_correction_filter *f)
{
    char id[24], entry[24], now[CLOCK_RFC3339_LEN];

    snprintf(id, sizeof(id), "%lld", f->id);
    snprintf(entry, sizeof(entry), "%lld", f->entry);
    clock_format(f->now, now);
    const char *p[] = {f->id != 0 ? id : NULL, f->entry != 0 ? entry : NULL, f->unit,
                       f->state != NULL ? kb_correction_state_name(*f->state) : NULL, now};
    /* The states as kb_correction_state computes them: overdue once 'now'
     * is past the deadline. */
    PGresult *res = db_query(
        db,
        "SELECT c.id, c.entry_id, e.unit_code, c.note, " US(
            "c.filed_at") ", c.filed_by,"
                          " " US("c.deadline") ", c.provisional, " US(
                              "c.closed_at") ", c.fixed_version"
                                             " FROM kb_corrections c JOIN kb_entries e ON e.id = "
                                             "c.entry_id"
                                             " WHERE ($1::bigint IS NULL OR c.id = $1) AND "
                                             "($2::bigint IS NULL OR c.entry_id = $2)"
                                             " AND ($3::text IS NULL OR e.unit_code = $3)"
                                             " AND ($4::text IS NULL"
                                             "      OR ($4 = 'closed' AND c.closed_at IS NOT NULL)"
                                             "      OR ($4 = 'open' AND c.closed_at IS NULL AND "
                                             "c.deadline >= $5::timestamptz)"
                                             "      OR ($4 = 'overdue' AND c.closed_at IS NULL AND "
                                             "c.deadline < $5::timestamptz))"
                                             " ORDER BY c.id",
        5, p);
    if (res == NULL)
        return NULL;
    json_t *list = json_array();
    for (int i = 0; i < PQntuples(res); i++) {
        char ref[KB_ID_LEN + 1];
        int64_t deadline = us_at(res, i, 6);
        int closed = !PQgetisnull(res, i, 8);
        kb_id_format(strtoll(PQgetvalue(res, i, 1), NULL, 10), ref);
        json_array_append_new(
            list,
            json_pack("{s:I,s:s,s:s,s:s,s:o,s:s,s:o,s:b,s:s,s:o,s:o}", "id",
                      (json_int_t)strtoll(PQgetvalue(res, i, 0), NULL, 10), "entry", ref, "unit",
                      PQgetvalue(res, i, 2), "note", PQgetvalue(res, i, 3), "filed_at",
                      time_json(us_at(res, i, 4)), "filed_by", PQgetvalue(res, i, 5), "deadline",
                      deadline_json(deadline), "provisional", flag_at(res, i, 7), "state",
                      kb_correction_state_name(kb_correction_state(closed, deadline, f->now)),
                      "closed_at", time_json(us_at(res, i, 8)), "fixed_version",
                      closed ? json_integer(atoi(PQgetvalue(res, i, 9))) : json_null()));
    }
    PQclear(res);
    return list;
}

/* --- copies of the entries another node keeps --------------------------- */

/* The broadcast carries no more than this, so it always fits a message. */
#define BROADCAST_ROOM (WIRE_MAX_ITEM - 16 * 1024)

json_t *kbdb_broadcast(struct db *db, const char *key)
{
    char origin[7];
    struct kb_entry e;
    struct kb_version v = {0};
    long long n;

    if (kb_copy_id_parse(key, origin, &n) < 0)
        return json_null();
    int found = kbdb_entry(db, n, &e);
    if (found > 0 && e.published > 0)
        found = kbdb_version(db, n, e.published, &v);
    if (found < 0)
        return NULL;
    if (found == 0 || e.published == 0)
        return json_null();
    json_t *data = version_row_json(v.res, 0);
    kbdb_version_clear(&v);
    if (data == NULL)
        return NULL;
    json_object_del(data, "state");
    json_object_del(data, "reason");
    json_object_del(data, "withdrawn");
    json_object_set_new(data, "type", json_string(kb_type_names[e.type]));
    json_object_set_new(data, "unit", json_string(e.unit));
    json_object_set_new(data, "unit_name", json_string(e.unit_name));
    json_object_set_new(data, "created_at", time_json(e.created_at));
    json_object_set_new(data, "updated_at", time_json(e.updated_at));
    /* An official text near its largest size would not fit in a message:
     * the copies go without it. */
    char *text = json_dumps(data, JSON_COMPACT);
    if (text != NULL && strlen(text) > BROADCAST_ROOM) {
        log_warnx("knowledge-base entry '%s': the official text is too long to broadcast;"
                  " the other nodes get the entry without it",
                  key);
        json_object_set_new(data, "official_text", json_null());
    }
    free(text);
    return data;
}

static int date_ok(json_t *data, const char *name, int nullable, int32_t *day)
{
    json_t *v = json_object_get(data, name);

    *day = -1;
    if (v == NULL || json_is_null(v))
        return nullable;
    return json_is_string(v) && calendar_day_parse(json_string_value(v), day) == 0;
}

int kbdb_copy_valid(const char *key, json_t *data)
{
    const char *unit = json_string_value(json_object_get(data, "unit"));
    const char *type = json_string_value(json_object_get(data, "type"));
    json_t *version = json_object_get(data, "version"), *late = json_object_get(data, "late");
    char origin[7];
    long long n;
    enum kb_type t;
    int32_t from, until, published;

    if (kb_copy_id_parse(key, origin, &n) < 0 || type == NULL || kb_type_parse(type, &t) < 0 ||
        unit == NULL || strlen(unit) == 0 || strlen(unit) > AUTH_MAX_UNIT ||
        strspn(unit, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") !=
            strlen(unit) ||
        !json_is_integer(version) || json_integer_value(version) < 1 ||
        json_integer_value(version) > INT32_MAX || !json_is_boolean(late))
        return 0;
    return broadcast_text_ok(data, "unit_name", AUTH_MAX_NAME, 0) &&
           broadcast_text_ok(data, "title", KB_MAX_TITLE, 0) &&
           broadcast_text_ok(data, "text", KB_MAX_TEXT, 0) &&
           broadcast_text_ok(data, "official_text", KB_MAX_OFFICIAL_TEXT, 1) &&
           date_ok(data, "valid_from", 0, &from) && date_ok(data, "valid_until", 1, &until) &&
           (until < 0 || until >= from) && date_ok(data, "publication_date", 1, &published) &&
           broadcast_time_ok(data, "submitted_at", 0) &&
           broadcast_text_ok(data, "submitted_by", AUTH_MAX_NAME, 0) &&
           broadcast_text_ok(data, "submitted_role", AUTH_MAX_NAME, 0) &&
           broadcast_time_ok(data, "reviewed_at", 1) &&
           broadcast_text_ok(data, "reviewed_by", AUTH_MAX_NAME, 1) &&
           broadcast_time_ok(data, "created_at", 0) && broadcast_time_ok(data, "updated_at", 0);
}

/* Member 'name' of 'data': a string, or NULL. */
static const char *member(json_t *data, const char *name)
{
    return json_string_value(json_object_get(data, name));
}

int kbdb_copy_apply(struct db *db, const char *key, json_t *data)
{
    char origin[7], id[KB_ID_LEN + 1], entry[24], version[16], at[CLOCK_RFC3339_LEN];
    char title_grams[GRAMS_TEXT_MAX], text_grams[GRAMS_TEXT_MAX];
    int32_t grams[NGRAM_MAX];
    long long n;

    if (kb_copy_id_parse(key, origin, &n) < 0)
        return 1;
    kb_copy_id_format(origin, n, id);
    if (data == NULL) {
        const char *p[] = {id};
        return db_exec(db, "DELETE FROM kb_copies WHERE id = $1", 1, p);
    }
    size_t count = ngram_grams(member(data, "title"), grams, NGRAM_MAX);
    if (ngram_array(grams, count, title_grams, sizeof(title_grams)) < 0)
        return -1;
    count = ngram_grams(member(data, "text"), grams, NGRAM_MAX);
    if (ngram_array(grams, count, text_grams, sizeof(text_grams)) < 0)
        return -1;
    snprintf(entry, sizeof(entry), "%lld", n);
    snprintf(version, sizeof(version), "%" JSON_INTEGER_FORMAT,
             json_integer_value(json_object_get(data, "version")));
    clock_format(clock_now_us(), at);
    const char *p[] = {id,
                       origin,
                       entry,
                       member(data, "type"),
                       member(data, "unit"),
                       member(data, "unit_name"),
                       version,
                       member(data, "title"),
                       member(data, "text"),
                       member(data, "valid_from"),
                       member(data, "valid_until"),
                       member(data, "publication_date"),
                       member(data, "official_text"),
                       json_is_true(json_object_get(data, "late")) ? "true" : "false",
                       title_grams,
                       text_grams,
                       member(data, "submitted_at"),
                       member(data, "submitted_by"),
                       member(data, "submitted_role"),
                       member(data, "reviewed_at"),
                       member(data, "reviewed_by"),
                       member(data, "created_at"),
                       member(data, "updated_at"),
                       at};
    return db_exec(db,
                   "INSERT INTO kb_copies (id, origin, entry, type, unit_code, unit_name, version,"
                   " title, body, valid_from, valid_until, publication_date, official_text, late,"
                   " title_grams, body_grams, submitted_at, submitted_by, submitted_role,"
                   " reviewed_at, reviewed_by, created_at, updated_at, received_at)"
                   " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15,"
                   " $16, $17, $18, $19, $20, $21, $22, $23, $24)"
                   " ON CONFLICT (id) DO UPDATE SET type = $4, unit_code = $5, unit_name = $6,"
                   " version = $7, title = $8, body = $9, valid_from = $10, valid_until = $11,"
                   " publication_date = $12, official_text = $13, late = $14, title_grams = $15,"
                   " body_grams = $16, submitted_at = $17, submitted_by = $18,"
                   " submitted_role = $19, reviewed_at = $20, reviewed_by = $21,"
                   " created_at = $22, updated_at = $23, received_at = $24",
                   24, p);
}

int kbdb_copy(struct db *db, const char *id, json_t **out)
{
    char origin[7], canonical[KB_ID_LEN + 1];
    long long n;

    if (kb_copy_id_parse(id, origin, &n) < 0)
        return 0;
    kb_copy_id_format(origin, n, canonical);
    const char *p[] = {canonical};
    PGresult *res = db_query(db,
                             "SELECT " COPY_VERSION_COLUMNS ", c.id, c.type, c.unit_code,"
                             " c.unit_name, c.origin, " US("c.created_at") ", " US(
                                 "c.updated_at") " FROM kb_copies c WHERE c.id = $1",
                             1, p);
    if (res == NULL)
        return -1;
    int found = PQntuples(res) == 1;
    if (found) {
        json_t *obj = version_row_json(res, 0);
        int c = V_COUNT;
        json_object_set_new(obj, "id", json_string(PQgetvalue(res, 0, c)));
        json_object_set_new(obj, "type", json_string(PQgetvalue(res, 0, c + 1)));
        json_object_set_new(obj, "unit", json_string(PQgetvalue(res, 0, c + 2)));
        json_object_set_new(obj, "unit_name", json_string(PQgetvalue(res, 0, c + 3)));
        json_object_set_new(obj, "origin", json_string(PQgetvalue(res, 0, c + 4)));
        json_object_set_new(obj, "latest_version", json_integer(atoi(PQgetvalue(res, 0, 0))));
        json_object_set_new(obj, "pending_version", json_null());
        json_object_set_new(obj, "open_corrections", json_integer(0));
        json_object_set_new(obj, "created_at", time_json(us_at(res, 0, c + 5)));
        json_object_set_new(obj, "updated_at", time_json(us_at(res, 0, c + 6)));
        *out = obj;
    }
    PQclear(res);
    return found;
}
