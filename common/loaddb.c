/* SPDX-License-Identifier: Apache-2.0 */
/*
 * loaddb.c - SQL for agent presence and the node's load figures.
 *
 * Runs in HTTP workers (presence, /api/v1/load, the province's
 * /api/v1/federation/load) and in the city's link thread (each heartbeat),
 * each on its own thread's connection.  Times come from clock_now_us(), never
 * from the database's clock, so tests and the figures agree on "now".
 */
#include "loaddb.h"

#include "clock.h"

#include <stdio.h>
#include <stdlib.h>

const char *const loaddb_states[] = {"online", "busy", "away", NULL};

/* A non-negative count or age from the database, clamped to unsigned. */
static unsigned figure(PGresult *res, int col)
{
    long long v = strtoll(PQgetvalue(res, 0, col), NULL, 10);

    if (v < 0)
        return 0;
    return v > (long long)UINT32_MAX ? UINT32_MAX : (unsigned)v;
}

int loaddb_figures(struct db *db, int64_t now, struct load_figures *out)
{
    char at[CLOCK_RFC3339_LEN];
    const char *p[] = {at};

    clock_format(now, at);
    PGresult *res = db_query(
        db,
        "SELECT"
        " (SELECT count(*) FROM agent_presence a JOIN principals p ON p.id = a.principal_id"
        "   WHERE p.revoked_at IS NULL AND a.state IN ('online', 'busy')),"
        " (SELECT count(*) FROM agent_presence a JOIN principals p ON p.id = a.principal_id"
        "   WHERE p.revoked_at IS NULL AND a.state = 'busy'),"
        " q.depth,"
        " coalesce(floor(extract(epoch FROM $1::timestamptz - q.oldest)), 0)::bigint"
        " FROM (SELECT count(*) AS depth, min(created_at) AS oldest FROM tickets t"
        "       WHERE status = 'registered' AND channel IN ('web', 'app', 'miniprogram')"
        "       AND NOT EXISTS (SELECT 1 FROM overflow_offers o WHERE o.ticket_id = t.id"
        "                       AND o.state IN ('offered', 'assigned'))) q",
        1, p);
    if (res == NULL)
        return -1;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return -1;
    }
    out->agents_online = figure(res, 0);
    out->agents_busy = figure(res, 1);
    out->queue_depth = figure(res, 2);
    out->oldest_wait_seconds = figure(res, 3);
    PQclear(res);
    return 0;
}

json_t *loaddb_json(const struct load_figures *f)
{
    return json_pack("{s:I,s:I,s:I,s:I}", "agents_online", (json_int_t)f->agents_online,
                     "agents_busy", (json_int_t)f->agents_busy, "queue_depth",
                     (json_int_t)f->queue_depth, "oldest_wait_seconds",
                     (json_int_t)f->oldest_wait_seconds);
}

int loaddb_presence_set(struct db *db, long long id, const char *state, int64_t now)
{
    char ids[24], at[CLOCK_RFC3339_LEN];
    const char *p[] = {ids, state, at};

    snprintf(ids, sizeof(ids), "%lld", id);
    clock_format(now, at);
    long long n = db_changed(db,
                             "INSERT INTO agent_presence (principal_id, state, since, reported_at)"
                             " SELECT id, $2, $3, $3 FROM principals"
                             "  WHERE id = $1 AND role = 'operator' AND revoked_at IS NULL"
                             " ON CONFLICT (principal_id) DO UPDATE SET state = $2,"
                             " since = CASE WHEN agent_presence.state = $2"
                             "         THEN agent_presence.since ELSE $3::timestamptz END,"
                             " reported_at = $3",
                             3, p);
    return n < 0 ? -1 : n > 0;
}

json_t *loaddb_presence_list(struct db *db)
{
    PGresult *res = db_query(db,
                             "SELECT p.id, p.name, a.state, extract(epoch FROM a.since) * 1000000"
                             " FROM agent_presence a JOIN principals p ON p.id = a.principal_id"
                             " WHERE p.revoked_at IS NULL ORDER BY p.id",
                             0, NULL);
    if (res == NULL)
        return NULL;
    json_t *agents = json_array();
    for (int i = 0; i < PQntuples(res); i++) {
        char since[CLOCK_RFC3339_LEN];
        clock_format(strtoll(PQgetvalue(res, i, 3), NULL, 10), since);
        json_array_append_new(agents,
                              json_pack("{s:I,s:s,s:s,s:s}", "id",
                                        (json_int_t)strtoll(PQgetvalue(res, i, 0), NULL, 10),
                                        "name", PQgetvalue(res, i, 1), "state",
                                        PQgetvalue(res, i, 2), "since", since));
    }
    PQclear(res);
    return agents;
}
