/* SPDX-License-Identifier: Apache-2.0 */
/*
 * unitdb.c - SQL for the units table, from HTTP workers.
 */
#include "unitdb.h"

#include "auth.h"
#include "clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int unitdb_code_valid(const char *s)
{
    size_t len = strlen(s);

    return len >= 1 && len <= AUTH_MAX_UNIT &&
           strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == len;
}

int unitdb_create(struct db *db, const char *code, const char *name, const char *node,
                  json_t *categories)
{
    char at[CLOCK_RFC3339_LEN];
    char *list = json_dumps(categories, JSON_COMPACT);

    if (list == NULL)
        return -1;
    clock_format(clock_now_us(), at);
    const char *p[] = {code, name, node, list, at};
    long long created = db_changed(db,
                                   "INSERT INTO units (code, name, node, categories, created_at)"
                                   " SELECT $1, $2, $3, array_agg(c), $5"
                                   " FROM jsonb_array_elements_text($4::jsonb) AS c"
                                   " ON CONFLICT (code) DO NOTHING",
                                   5, p);
    free(list);
    return created < 0 ? -1 : created > 0;
}

int unitdb_exists(struct db *db, const char *code, const char *node)
{
    const char *p[] = {code, node};
    PGresult *res = db_query(db, "SELECT 1 FROM units WHERE code = $1 AND node = $2", 2, p);

    if (res == NULL)
        return -1;
    int found = PQntuples(res) == 1;
    PQclear(res);
    return found;
}

int unitdb_name(struct db *db, const char *code, char *out, size_t cap)
{
    const char *p[] = {code};
    PGresult *res = db_query(db, "SELECT name FROM units WHERE code = $1", 1, p);

    if (res == NULL)
        return -1;
    int found = PQntuples(res) == 1;
    if (found)
        snprintf(out, cap, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return found;
}

json_t *unitdb_list(struct db *db)
{
    PGresult *res = db_query(db,
                             "SELECT code, name, node, array_to_json(categories)::text"
                             " FROM units ORDER BY code",
                             0, NULL);
    if (res == NULL)
        return NULL;
    json_t *units = json_array();
    for (int i = 0; i < PQntuples(res); i++) {
        json_t *categories = json_loads(PQgetvalue(res, i, 3), 0, NULL);
        json_array_append_new(units, json_pack("{s:s,s:s,s:s,s:o}", "code", PQgetvalue(res, i, 0),
                                               "name", PQgetvalue(res, i, 1), "node",
                                               PQgetvalue(res, i, 2), "categories",
                                               categories != NULL ? categories : json_array()));
    }
    PQclear(res);
    return units;
}
