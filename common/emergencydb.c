/* SPDX-License-Identifier: Apache-2.0 */
/*
 * emergencydb.c - SQL for emergency_rules, from HTTP workers: the intake of
 * every appeal matches the current list, which each thread keeps and reads
 * again when it changed (fresh.h); managers change it.
 */
#include "emergencydb.h"

#include "clock.h"
#include "fresh.h"

#include <pthread.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int emergencydb_load(struct db *db, struct emergency_list *list)
{
    memset(list, 0, sizeof(*list));
    /* One row per keyword, grouped by rule. */
    list->res = db_query(db,
                         "SELECT id, version, category, line, period_hours, unnest(keywords)"
                         " FROM emergency_rules WHERE superseded_at IS NULL AND active"
                         " ORDER BY id",
                         0, NULL);
    if (list->res == NULL)
        return -1;
    int rows = PQntuples(list->res);
    list->rules = calloc(rows > 0 ? (size_t)rows : 1, sizeof(*list->rules));
    if (list->rules == NULL) {
        emergencydb_list_clear(list);
        return -1;
    }
    for (int i = 0; i < rows; i++) {
        int id = atoi(PQgetvalue(list->res, i, 0));
        struct emergency_rule *r = list->n > 0 ? &list->rules[list->n - 1] : NULL;
        if (r == NULL || r->id != id) {
            r = &list->rules[list->n++];
            r->id = id;
            r->version = atoi(PQgetvalue(list->res, i, 1));
            r->category = PQgetisnull(list->res, i, 2) ? NULL : PQgetvalue(list->res, i, 2);
            r->line = PQgetvalue(list->res, i, 3);
            r->period_hours = atoi(PQgetvalue(list->res, i, 4));
        }
        if (r->nkeywords < EMERGENCY_MAX_KEYWORDS)
            r->keywords[r->nkeywords++] = PQgetvalue(list->res, i, 5);
    }
    return 0;
}

void emergencydb_list_clear(struct emergency_list *list)
{
    PQclear(list->res);
    free(list->rules);
    memset(list, 0, sizeof(*list));
}

/* The list a thread keeps, made at 'version' of the list. */
struct kept_list {
    long long version;
    struct emergency_list list;
};

static pthread_key_t kept_key;
static pthread_once_t kept_key_once = PTHREAD_ONCE_INIT;

static void kept_free(void *p)
{
    struct kept_list *k = p;

    emergencydb_list_clear(&k->list);
    free(k);
}

static void kept_key_make(void)
{
    pthread_key_create(&kept_key, kept_free);
}

const struct emergency_list *emergencydb_current(struct db *db)
{
    long long version;
    struct emergency_list fresh;

    pthread_once(&kept_key_once, kept_key_make);
    struct kept_list *k = pthread_getspecific(kept_key);
    if (fresh_version(db, FRESH_EMERGENCY, &version) < 0)
        return NULL;
    if (k != NULL && k->list.res != NULL && k->version == version)
        return &k->list;
    if (k == NULL) {
        k = calloc(1, sizeof(*k));
        if (k == NULL || pthread_setspecific(kept_key, k) != 0) {
            free(k);
            return NULL;
        }
    }
    if (emergencydb_load(db, &fresh) < 0)
        return NULL;
    emergencydb_list_clear(&k->list);
    k->list = fresh;
    k->version = version;
    return &k->list;
}

int emergencydb_put(struct db *db, int id, const char *name, const char *category, json_t *keywords,
                    const char *line, int period_hours, int active, const char *by, int64_t now,
                    int *id_out, int *version_out)
{
    char ids[16], hours[16], at[CLOCK_RFC3339_LEN];
    char *words = json_dumps(keywords != NULL ? keywords : json_array(), JSON_COMPACT);
    int rc = -1, version = 1;

    if (words == NULL)
        return -1;
    clock_format(now, at);
    snprintf(hours, sizeof(hours), "%d", period_hours);
    if (db_begin(db) < 0)
        goto out;
    if (id == 0) {
        PGresult *res = db_query(db, "SELECT nextval('emergency_rule_ids')", 0, NULL);
        if (res == NULL)
            goto fail;
        id = atoi(PQgetvalue(res, 0, 0));
        PQclear(res);
    } else {
        const char *p[] = {ids, at};
        snprintf(ids, sizeof(ids), "%d", id);
        PGresult *res = db_query(db,
                                 "UPDATE emergency_rules SET superseded_at = $2"
                                 " WHERE id = $1 AND superseded_at IS NULL AND active"
                                 " RETURNING version",
                                 2, p);
        if (res == NULL)
            goto fail;
        if (PQntuples(res) == 0) {
            PQclear(res);
            db_rollback(db);
            rc = 0;
            goto out;
        }
        version = atoi(PQgetvalue(res, 0, 0)) + 1;
        PQclear(res);
    }
    char vs[16];
    snprintf(ids, sizeof(ids), "%d", id);
    snprintf(vs, sizeof(vs), "%d", version);
    const char *q[] = {ids, vs, name, category, words, line, hours, active ? "true" : "false",
                       at,  by};
    if (db_exec(db,
                "INSERT INTO emergency_rules (id, version, name, category, keywords, line,"
                " period_hours, active, created_at, created_by)"
                " SELECT $1, $2, $3, $4, ARRAY(SELECT jsonb_array_elements_text($5::jsonb)),"
                " $6, $7, $8, $9, $10",
                10, q) < 0 ||
        db_commit(db) < 0)
        goto fail;
    *id_out = id;
    *version_out = version;
    rc = 1;
    goto out;
fail:
    db_rollback(db);
out:
    free(words);
    return rc;
}

json_t *emergencydb_json(struct db *db, int id, int history)
{
    char ids[16];
    const char *p[] = {ids, history ? "true" : "false"};

    snprintf(ids, sizeof(ids), "%d", id);
    PGresult *res = db_query(db,
                             "SELECT id, version, name, category, array_to_json(keywords)::text,"
                             " line, period_hours, active,"
                             " (extract(epoch FROM created_at) * 1000000)::bigint, created_by"
                             " FROM emergency_rules"
                             " WHERE ($1::int = 0 AND superseded_at IS NULL AND active)"
                             " OR ($1::int <> 0 AND id = $1"
                             "     AND (superseded_at IS NULL OR $2::boolean))"
                             " ORDER BY id, version",
                             2, p);
    if (res == NULL)
        return NULL;
    json_t *list = json_array();
    for (int i = 0; i < PQntuples(res); i++) {
        char at[CLOCK_RFC3339_LEN];
        clock_format(strtoll(PQgetvalue(res, i, 8), NULL, 10), at);
        json_t *words = json_loads(PQgetvalue(res, i, 4), 0, NULL);
        json_array_append_new(
            list,
            json_pack("{s:i,s:i,s:s,s:o,s:o,s:s,s:i,s:b,s:s,s:s}", "id",
                      atoi(PQgetvalue(res, i, 0)), "version", atoi(PQgetvalue(res, i, 1)), "name",
                      PQgetvalue(res, i, 2), "category",
                      PQgetisnull(res, i, 3) ? json_null() : json_string(PQgetvalue(res, i, 3)),
                      "keywords", words != NULL ? words : json_array(), "line",
                      PQgetvalue(res, i, 5), "period_hours", atoi(PQgetvalue(res, i, 6)), "active",
                      strcmp(PQgetvalue(res, i, 7), "t") == 0, "created_at", at, "created_by",
                      PQgetvalue(res, i, 9)));
    }
    PQclear(res);
    return list;
}
