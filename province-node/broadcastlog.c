/* SPDX-License-Identifier: Apache-2.0 */
/*
 * broadcastlog.c - SQL of the province's broadcast log.
 *
 * broadcastlog_publish runs wherever the province changes province-wide
 * data: HTTP workers (knowledge base, calendar, restrictions) and the link
 * thread (a city's restriction, taken from its ticket stream), always in
 * the transaction of the change, so a change and its messages commit or
 * vanish together.  It locks the counter row last, after whatever rows the
 * change itself locked, and holds it to the commit: versions follow commit
 * order and every node's queue receives them in that order.
 * broadcastlog_snapshot runs in the `node-add` command, in the transaction
 * of the registration, under the same lock: a change committed before it
 * is in the snapshot, one committed after it sees the new node.
 */
#include "broadcastlog.h"

#include "clock.h"
#include "deliver.h"
#include "log.h"
#include "restriction.h"
#include "wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Gives the next version, locking the counter to the commit.  -1 on error. */
static long long next_version(struct db *db)
{
    PGresult *res = db_query(
        db, "UPDATE broadcast_counter SET version = version + 1 RETURNING version", 0, NULL);
    long long v =
        res != NULL && PQntuples(res) == 1 ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : -1;

    PQclear(res);
    return v;
}

/* The message of 'version' for the thing 'data' is now, as text. */
static char *message(long long version, const char *kind, const char *key, json_t *data)
{
    char at[CLOCK_RFC3339_LEN];

    clock_format(clock_now_us(), at);
    json_t *msg = json_pack("{s:{s:I,s:s,s:s,s:s,s:O}}", "broadcast", "version",
                            (json_int_t)version, "kind", kind, "key", key, "at", at, "data", data);
    char *body = msg != NULL ? json_dumps(msg, JSON_COMPACT) : NULL;

    json_decref(msg);
    return body;
}

int broadcastlog_publish(const struct node *node, struct db *db, enum broadcast_kind kind,
                         const char *key)
{
    const char *name = broadcast_kind_names[kind];
    char number[24], at[CLOCK_RFC3339_LEN];
    PGresult *nodes = NULL;
    char *body = NULL;
    json_t *data = NULL;
    int rc = -1;

    long long version = next_version(db);
    if (version < 0 || (data = broadcast_read(db, kind, key)) == NULL ||
        (body = message(version, name, key, data)) == NULL)
        goto out;
    if (strlen(body) > WIRE_MAX_ITEM) {
        log_warnx("cannot broadcast %s '%s': %zu bytes is more than a message holds", name, key,
                  strlen(body));
        goto out;
    }
    snprintf(number, sizeof(number), "%lld", version);
    clock_format(clock_now_us(), at);
    const char *p[] = {number, name, key, json_is_null(data) ? "true" : "false", body, at};
    if (db_exec(db,
                "INSERT INTO broadcast_log (version, kind, key, deleted, body, published_at)"
                " VALUES ($1, $2, $3, $4, $5, $6)",
                6, p) < 0 ||
        (nodes = db_query(db, "SELECT code FROM nodes WHERE removed_at IS NULL ORDER BY code", 0,
                          NULL)) == NULL)
        goto out;
    for (int i = 0; i < PQntuples(nodes); i++)
        if (deliver_post(node, db, PQgetvalue(nodes, i, 0), body) < 0)
            goto out;
    log_info("broadcast %lld: %s '%s'%s, to %d nodes", version, name, key,
             json_is_null(data) ? " gone" : "", PQntuples(nodes));
    rc = 0;
out:
    PQclear(nodes);
    free(body);
    json_decref(data);
    return rc;
}

long long broadcastlog_snapshot(const struct node *node, struct db *db, const char *code)
{
    if (db_exec(db, "SELECT version FROM broadcast_counter FOR UPDATE", 0, NULL) < 0)
        return -1;
    PGresult *res = db_query(db,
                             "SELECT body FROM (SELECT DISTINCT ON (kind, key) version, body"
                             " FROM broadcast_log ORDER BY kind, key, version DESC) last"
                             " ORDER BY version",
                             0, NULL);
    if (res == NULL)
        return -1;
    long long n = PQntuples(res);
    for (int i = 0; i < PQntuples(res); i++) {
        if (deliver_post(node, db, code, PQgetvalue(res, i, 0)) < 0) {
            n = -1;
            break;
        }
    }
    PQclear(res);
    return n;
}

/* One restriction a node reported, for db_attempt. */
struct reported {
    const struct node *node;
    const char *from;
    json_t *data;
};

static int take_one(void *arg, struct db *db)
{
    struct reported *r = arg;
    const char *id = json_string_value(json_object_get(r->data, "id"));
    int changed = restriction_merge(db, r->data, r->from);

    if (changed == 0)
        log_debug("restriction '%s' from '%s': nothing new", id, r->from);
    if (changed <= 0)
        return changed;
    return broadcastlog_publish(r->node, db, BROADCAST_RESTRICTION, id);
}

int broadcastlog_take(const struct node *node, struct db *db, const char *from, const char *batch)
{
    const char *p[] = {batch};
    PGresult *res = db_query(db,
                             "SELECT (i->'restriction')::text"
                             " FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS x(i, n)"
                             " WHERE i ? 'restriction' ORDER BY n",
                             1, p);
    int rc = 0;

    if (res == NULL)
        return -1;
    for (int i = 0; i < PQntuples(res) && rc >= 0; i++) {
        struct reported r = {node, from, json_loads(PQgetvalue(res, i, 0), 0, NULL)};
        /* What the database refuses is dropped: it must not block the stream. */
        rc = r.data != NULL ? db_attempt(db, take_one, &r) : 1;
        if (rc > 0)
            log_warnx("dropped restriction '%s' of node '%s': the database refused it",
                      json_string_value(json_object_get(r.data, "id")), from);
        json_decref(r.data);
    }
    PQclear(res);
    return rc < 0 ? -1 : 0;
}

/* Each kind's last version and its keys not deleted, into 'kinds'. */
static int kinds_status(struct db *db, json_t *kinds)
{
    PGresult *res = db_query(db,
                             "SELECT kind, max(version), count(*) FILTER (WHERE NOT deleted)"
                             " FROM (SELECT DISTINCT ON (kind, key) kind, version, deleted"
                             "       FROM broadcast_log ORDER BY kind, key, version DESC) last"
                             " GROUP BY kind",
                             0, NULL);

    if (res == NULL)
        return -1;
    for (int k = 0; k < BROADCAST_KINDS; k++) {
        long long version = 0, items = 0;
        for (int i = 0; i < PQntuples(res); i++) {
            if (strcmp(PQgetvalue(res, i, 0), broadcast_kind_names[k]) == 0) {
                version = strtoll(PQgetvalue(res, i, 1), NULL, 10);
                items = strtoll(PQgetvalue(res, i, 2), NULL, 10);
            }
        }
        json_object_set_new(
            kinds, broadcast_kind_names[k],
            json_pack("{s:I,s:I}", "version", (json_int_t)version, "items", (json_int_t)items));
    }
    PQclear(res);
    return 0;
}

json_t *broadcastlog_status(struct db *db)
{
    char stream[12];
    const char *p[] = {stream};

    snprintf(stream, sizeof(stream), "%d", STREAM_DOWN);
    PGresult *counter = db_query(db, "SELECT version FROM broadcast_counter", 0, NULL);
    if (counter == NULL)
        return NULL;
    long long current = PQntuples(counter) == 1 ? strtoll(PQgetvalue(counter, 0, 0), NULL, 10) : 0;
    PQclear(counter);
    /* A node holds everything before the first broadcast still in its
     * queue: the queue forgets a message once the node acknowledges it. */
    PGresult *res = db_query(
        db,
        "SELECT n.code, n.name, n.connected, min(v.version), count(v.version)"
        " FROM nodes n LEFT JOIN LATERAL"
        " (SELECT (o.body::jsonb->'broadcast'->>'version')::bigint AS version FROM outbox o"
        "  WHERE o.stream = $1 AND o.peer = n.code AND o.body LIKE '{\"broadcast\":%') v ON true"
        " WHERE n.removed_at IS NULL GROUP BY n.code, n.name, n.connected ORDER BY n.code",
        1, p);
    if (res == NULL)
        return NULL;
    json_t *kinds = json_object(), *nodes = json_array();
    for (int i = 0; i < PQntuples(res); i++) {
        long long acked =
            PQgetisnull(res, i, 3) ? current : strtoll(PQgetvalue(res, i, 3), NULL, 10) - 1;
        json_array_append_new(nodes,
                              json_pack("{s:s,s:s,s:b,s:I,s:I}", "code", PQgetvalue(res, i, 0),
                                        "name", PQgetvalue(res, i, 1), "connected",
                                        strcmp(PQgetvalue(res, i, 2), "t") == 0, "acked_version",
                                        (json_int_t)acked, "pending",
                                        (json_int_t)strtoll(PQgetvalue(res, i, 4), NULL, 10)));
    }
    PQclear(res);
    if (kinds_status(db, kinds) < 0) {
        json_decref(kinds);
        json_decref(nodes);
        return NULL;
    }
    return json_pack("{s:I,s:o,s:o}", "version", (json_int_t)current, "kinds", kinds, "nodes",
                     nodes);
}
