/* SPDX-License-Identifier: Apache-2.0 */
/*
 * registry.c - SQL for the nodes table.
 *
 * registry_add and registry_remove run in the main thread of the admin
 * commands; admit, session and heartbeat in the link thread; list,
 * balancing_set and centres in HTTP workers.  Each uses the connection of its thread.
 */
#include "registry.h"

#include "clock.h"
#include "config.h"
#include "keys.h"
#include "utf8.h"
#include "wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

static void now_text(char out[CLOCK_RFC3339_LEN])
{
    clock_format(clock_now_us(), out);
}

int registry_add(struct db *db, const char *code, const char *name, const char *key, char *err,
                 size_t errlen)
{
    char at[CLOCK_RFC3339_LEN];
    const char *p[] = {code, name, key, at};

    if (!config_code_valid(code, NODE_CITY)) {
        snprintf(err, errlen, "'%s' is not a city division code", code);
        return -1;
    }
    if (!utf8_valid(name, strlen(name)) || strlen(name) == 0 || strlen(name) > WIRE_MAX_NAME) {
        snprintf(err, errlen, "the name must be 1 to %d bytes of UTF-8", WIRE_MAX_NAME);
        return -1;
    }
    if (!keys_z85_valid(key)) {
        snprintf(err, errlen, "the key is not a CURVE public key (40 characters of Z85)");
        return -1;
    }
    now_text(at);
    if (db_exec(db,
                "INSERT INTO nodes (code, name, curve_public_key, registered_at)"
                " VALUES ($1, $2, $3, $4)"
                " ON CONFLICT (code) DO UPDATE SET name = $2, curve_public_key = $3,"
                " registered_at = $4, removed_at = NULL, previous_curve_key = NULL,"
                " previous_key_until = NULL",
                4, p) < 0 ||
        /* Registered again: the next hello pins its signing key anew. */
        db_exec(db, "DELETE FROM node_keys WHERE code = $1", 1, p) < 0) {
        snprintf(err, errlen, "%s",
                 strcmp(db_sqlstate(db), "23505") == 0
                     ? "this key is already registered for another node"
                     : "the database refused the registration");
        return -1;
    }
    return 0;
}

int registry_rekey(struct db *db, const char *code, const char *curve, int64_t until, char *err,
                   size_t errlen)
{
    char at[CLOCK_RFC3339_LEN];
    const char *p[] = {code, curve, until > 0 ? at : NULL};

    if (!keys_z85_valid(curve)) {
        snprintf(err, errlen, "the key is not a CURVE public key (40 characters of Z85)");
        return -1;
    }
    if (registry_known(db, code) != 1) {
        snprintf(err, errlen, "'%s' is not a registered node", code);
        return -1;
    }
    clock_format(until, at);
    long long n = db_changed(db,
                             "UPDATE nodes SET previous_curve_key = CASE WHEN $3::timestamptz"
                             " IS NULL THEN NULL ELSE curve_public_key END,"
                             " previous_key_until = $3, curve_public_key = $2"
                             " WHERE code = $1 AND removed_at IS NULL AND curve_public_key <> $2",
                             3, p);
    if (n < 0)
        snprintf(err, errlen, "%s",
                 strcmp(db_sqlstate(db), "23505") == 0
                     ? "this key is already registered for another node"
                     : "the database refused the new key");
    return n < 0 ? -1 : n > 0;
}

int registry_retire(struct db *db, const char *code)
{
    const char *p[] = {code};
    long long n = db_changed(db,
                             "UPDATE nodes SET previous_curve_key = NULL, previous_key_until = NULL"
                             " WHERE code = $1 AND removed_at IS NULL"
                             " AND previous_curve_key IS NOT NULL",
                             1, p);

    return n < 0 ? -1 : n > 0;
}

/* The node's keys admitted now: current first, then previous in its grace. */
#define ADMITTED_KEYS                                                                              \
    "SELECT k FROM nodes, LATERAL (VALUES (1, curve_public_key),"                                  \
    "  (2, CASE WHEN previous_key_until > $2::timestamptz THEN previous_curve_key END)) v(i, k)"   \
    " WHERE code = $1 AND removed_at IS NULL AND k IS NOT NULL ORDER BY i"

int registry_curve_keys(struct db *db, const char *code, char out[2][CURVE_KEY_Z85_LEN + 1])
{
    char at[CLOCK_RFC3339_LEN];
    const char *p[] = {code, at};

    now_text(at);
    PGresult *res = db_query(db, ADMITTED_KEYS, 2, p);
    if (res == NULL)
        return -1;
    int n = PQntuples(res) < 2 ? PQntuples(res) : 2;
    for (int i = 0; i < n; i++)
        snprintf(out[i], CURVE_KEY_Z85_LEN + 1, "%s", PQgetvalue(res, i, 0));
    PQclear(res);
    return n;
}

int registry_remove(struct db *db, const char *code)
{
    char at[CLOCK_RFC3339_LEN];
    const char *p[] = {code, at};

    now_text(at);
    long long n = db_changed(db,
                             "UPDATE nodes SET removed_at = $2, connected = false"
                             " WHERE code = $1 AND removed_at IS NULL",
                             2, p);
    return n < 0 ? -1 : n > 0;
}

int registry_admit(struct db *db, const uint8_t key[32], char code[8])
{
    char z85[CURVE_KEY_Z85_LEN + 1], at[CLOCK_RFC3339_LEN];
    const char *p[] = {z85, at};

    if (zmq_z85_encode(z85, key, 32) == NULL)
        return 0;
    now_text(at);
    PGresult *res = db_query(db,
                             "SELECT code FROM nodes WHERE removed_at IS NULL"
                             " AND (curve_public_key = $1 OR (previous_curve_key = $1"
                             "      AND previous_key_until > $2::timestamptz))",
                             2, p);
    if (res == NULL)
        return -1;
    int found = PQntuples(res) == 1;
    if (found)
        snprintf(code, 8, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return found;
}

int registry_live(struct db *db, const char *code, const char *key)
{
    char keys[2][CURVE_KEY_Z85_LEN + 1], fp[CRYPTO_FINGERPRINT_LEN + 1];
    int n = registry_curve_keys(db, code, keys), live = 0;

    for (int i = 0; i < n && !live; i++) {
        keys_fingerprint(keys[i], fp);
        live = strcmp(fp, key) == 0;
    }
    return n < 0 ? -1 : live;
}

int registry_known(struct db *db, const char *code)
{
    const char *p[] = {code};
    PGresult *res =
        db_query(db, "SELECT 1 FROM nodes WHERE code = $1 AND removed_at IS NULL", 1, p);

    if (res == NULL)
        return -1;
    int known = PQntuples(res) == 1;
    PQclear(res);
    return known;
}

int registry_reset(struct db *db)
{
    return db_exec(db, "UPDATE nodes SET connected = false WHERE connected", 0, NULL);
}

int registry_session(struct db *db, const char *code, int connected, uint64_t incarnation)
{
    char at[CLOCK_RFC3339_LEN], inc[24];
    const char *p[] = {code, connected ? "true" : "false", at, inc};

    now_text(at);
    snprintf(inc, sizeof(inc), "%llu", (unsigned long long)(incarnation & INT64_MAX));
    return db_exec(db,
                   "UPDATE nodes SET connected = $2,"
                   " connected_at = CASE WHEN $2 THEN $3::timestamptz ELSE connected_at END,"
                   " last_heartbeat_at = CASE WHEN $2 THEN $3::timestamptz"
                   "                          ELSE last_heartbeat_at END,"
                   " incarnation = CASE WHEN $2 THEN $4::bigint ELSE incarnation END"
                   " WHERE code = $1",
                   4, p);
}

int registry_heartbeat(struct db *db, const char *code, const Fed__Load *load)
{
    char at[CLOCK_RFC3339_LEN], v[4][12];
    const Fed__Load zero = FED__LOAD__INIT;
    const Fed__Load *l = load != NULL ? load : &zero;
    const char *p[] = {code, at, v[0], v[1], v[2], v[3]};

    now_text(at);
    /* Figures from the network, held to what the columns take. */
    snprintf(v[0], sizeof(v[0]), "%u", l->agents_online > INT32_MAX ? INT32_MAX : l->agents_online);
    snprintf(v[1], sizeof(v[1]), "%u", l->agents_busy > INT32_MAX ? INT32_MAX : l->agents_busy);
    snprintf(v[2], sizeof(v[2]), "%u", l->queue_depth > INT32_MAX ? INT32_MAX : l->queue_depth);
    snprintf(v[3], sizeof(v[3]), "%u",
             l->oldest_wait_seconds > INT32_MAX ? INT32_MAX : l->oldest_wait_seconds);
    return db_exec(db,
                   "UPDATE nodes SET last_heartbeat_at = $2, agents_online = $3,"
                   " agents_busy = $4, queue_depth = $5, oldest_wait_seconds = $6"
                   " WHERE code = $1",
                   6, p);
}

json_t *registry_list(struct db *db)
{
    char now[CLOCK_RFC3339_LEN];
    const char *p[] = {now};

    now_text(now);
    PGresult *res = db_query(db,
                             "SELECT code, name, connected, curve_public_key,"
                             " extract(epoch FROM last_heartbeat_at) * 1000000,"
                             " agents_online, agents_busy, queue_depth, oldest_wait_seconds,"
                             " CASE WHEN previous_key_until > $1::timestamptz"
                             "  THEN previous_curve_key END,"
                             " (extract(epoch FROM previous_key_until) * 1000000)::bigint"
                             " FROM nodes WHERE removed_at IS NULL ORDER BY code",
                             1, p);
    if (res == NULL)
        return NULL;
    json_t *nodes = json_array();
    for (int i = 0; i < PQntuples(res); i++) {
        char fp[CRYPTO_FINGERPRINT_LEN + 1], stamp[CLOCK_RFC3339_LEN];
        json_t *beat = json_null();
        if (!PQgetisnull(res, i, 4)) {
            clock_format(strtoll(PQgetvalue(res, i, 4), NULL, 10), stamp);
            beat = json_string(stamp);
        }
        keys_fingerprint(PQgetvalue(res, i, 3), fp);
        json_array_append_new(nodes, json_pack("{s:s,s:s,s:s,s:b,s:o,s:s,s:{s:i,s:i,s:i,s:i}}",
                                               "code", PQgetvalue(res, i, 0), "name",
                                               PQgetvalue(res, i, 1), "role", "city", "connected",
                                               strcmp(PQgetvalue(res, i, 2), "t") == 0,
                                               "last_heartbeat", beat, "key_fingerprint", fp,
                                               "load", "agents_online", atoi(PQgetvalue(res, i, 5)),
                                               "agents_busy", atoi(PQgetvalue(res, i, 6)),
                                               "queue_depth", atoi(PQgetvalue(res, i, 7)),
                                               "oldest_wait_seconds", atoi(PQgetvalue(res, i, 8))));
        /* A previous key still admitted, and until when. */
        json_t *entry = json_array_get(nodes, json_array_size(nodes) - 1);
        json_t *previous = json_null(), *until = json_null();
        if (!PQgetisnull(res, i, 9)) {
            keys_fingerprint(PQgetvalue(res, i, 9), fp);
            previous = json_string(fp);
            clock_format(strtoll(PQgetvalue(res, i, 10), NULL, 10), stamp);
            until = json_string(stamp);
        }
        json_object_set_new(entry, "previous_key_fingerprint", previous);
        json_object_set_new(entry, "previous_key_until", until);
    }
    PQclear(res);
    return nodes;
}

int registry_balancing_set(struct db *db, const char *code, int own, unsigned queue_threshold,
                           int takes_overflow, const char *region)
{
    char at[CLOCK_RFC3339_LEN], threshold[12];
    const char *p[] = {code,   threshold, takes_overflow ? "true" : "false",
                       region, at,        own ? "true" : "false"};

    now_text(at);
    snprintf(threshold, sizeof(threshold), "%u", queue_threshold);
    long long n = db_changed(db,
                             "INSERT INTO node_balancing"
                             " (code, queue_threshold, takes_overflow, region, updated_at)"
                             " SELECT $1, $2, $3, $4, $5"
                             "  WHERE $6::boolean OR EXISTS (SELECT 1 FROM nodes"
                             "        WHERE code = $1 AND removed_at IS NULL)"
                             " ON CONFLICT (code) DO UPDATE SET queue_threshold = $2,"
                             " takes_overflow = $3, region = $4, updated_at = $5",
                             6, p);
    return n < 0 ? -1 : n > 0;
}

static unsigned column(PGresult *res, int row, int col)
{
    long long v = strtoll(PQgetvalue(res, row, col), NULL, 10);

    return v < 0 ? 0 : v > (long long)UINT32_MAX ? UINT32_MAX : (unsigned)v;
}

int registry_centres(struct db *db, const struct balance_centre *own, struct registry_centres *out)
{
    char v[5][12];
    const char *p[] = {own->code, own->name, v[0], v[1], v[2], v[3], v[4]};

    *out = (struct registry_centres){0};
    snprintf(v[0], sizeof(v[0]), "%u", own->agents_online);
    snprintf(v[1], sizeof(v[1]), "%u", own->agents_busy);
    snprintf(v[2], sizeof(v[2]), "%u", own->queue_depth);
    snprintf(v[3], sizeof(v[3]), "%u", own->oldest_wait_seconds);
    snprintf(v[4], sizeof(v[4]), "%d", BALANCE_DEFAULT_THRESHOLD);
    PGresult *res =
        db_query(db,
                 "SELECT c.code, c.name, c.connected, coalesce(b.queue_threshold, $7::integer),"
                 " coalesce(b.takes_overflow, false), b.region, c.agents_online, c.agents_busy,"
                 " c.queue_depth, c.oldest_wait_seconds"
                 " FROM (SELECT $1::text AS code, $2::text AS name, true AS connected,"
                 "       $3::integer AS agents_online, $4::integer AS agents_busy,"
                 "       $5::integer AS queue_depth, $6::integer AS oldest_wait_seconds"
                 "       UNION ALL"
                 "       SELECT code, name, connected, agents_online, agents_busy, queue_depth,"
                 "       oldest_wait_seconds FROM nodes WHERE removed_at IS NULL AND code <> $1) c"
                 " LEFT JOIN node_balancing b ON b.code = c.code ORDER BY c.code",
                 7, p);
    if (res == NULL)
        return -1;
    size_t n = (size_t)PQntuples(res);
    struct balance_centre *c = calloc(n > 0 ? n : 1, sizeof(*c));
    if (c == NULL) {
        PQclear(res);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        int r = (int)i;
        c[i] = (struct balance_centre){
            .code = PQgetvalue(res, r, 0),
            .name = PQgetvalue(res, r, 1),
            .region = PQgetisnull(res, r, 5) ? NULL : PQgetvalue(res, r, 5),
            .connected = strcmp(PQgetvalue(res, r, 2), "t") == 0,
            .takes_overflow = strcmp(PQgetvalue(res, r, 4), "t") == 0,
            .queue_threshold = column(res, r, 3),
            .agents_online = column(res, r, 6),
            .agents_busy = column(res, r, 7),
            .queue_depth = column(res, r, 8),
            .oldest_wait_seconds = column(res, r, 9),
        };
    }
    out->res = res;
    out->c = c;
    out->n = n;
    return 0;
}

void registry_centres_clear(struct registry_centres *list)
{
    free(list->c);
    PQclear(list->res);
    *list = (struct registry_centres){0};
}
