/* SPDX-License-Identifier: Apache-2.0 */
/*
 * broadcast.c - one table from kind of province-wide data to the module that
 * reads it, checks it and applies it; the node's record of what it holds.
 *
 * broadcast_deliver runs in a city's link thread, inside the transaction
 * that also moves the cursor of the province's stream (inbox.c), so a
 * message is applied exactly once; broadcast_share and broadcast_send_up
 * run wherever the change is made (HTTP workers), in its transaction.
 * Every key keeps the version that last changed it (broadcast_items), so
 * a message older than what is held (a snapshot queued again for a node
 * that had it) changes nothing.  Data from the province is checked in full
 * before anything is written: a message that is not well formed, or that
 * the database refuses all the same, is left out whole instead of blocking
 * the stream.
 */
#include "broadcast.h"

#include "calstore.h"
#include "clock.h"
#include "kbdb.h"
#include "log.h"
#include "node.h"
#include "outbox.h"
#include "restriction.h"
#include "wire.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define US(col) "(extract(epoch FROM " col ") * 1000000)::bigint"

const char *const broadcast_kind_names[] = {"kb", "calendar", "restriction", NULL};

static int restriction_apply(struct db *db, const char *key, json_t *data)
{
    (void)key;
    return restriction_merge(db, data, NULL) < 0 ? -1 : 0;
}

/* What each kind is made of; 'apply' gets NULL data for a tombstone. */
static const struct {
    int tombstones; /* the thing may be gone */
    json_t *(*read)(struct db *db, const char *key);
    int (*valid)(const char *key, json_t *data);
    int (*apply)(struct db *db, const char *key, json_t *data);
} kinds[BROADCAST_KINDS] = {
    [BROADCAST_KB] = {1, kbdb_broadcast, kbdb_copy_valid, kbdb_copy_apply},
    [BROADCAST_CALENDAR] = {0, calstore_year_json, calstore_year_valid, calstore_year_apply},
    [BROADCAST_RESTRICTION] = {0, restriction_wire, restriction_wire_valid, restriction_apply},
};

int broadcast_kind_parse(const char *s, enum broadcast_kind *out)
{
    for (int i = 0; i < BROADCAST_KINDS; i++) {
        if (strcmp(s, broadcast_kind_names[i]) == 0) {
            *out = (enum broadcast_kind)i;
            return 0;
        }
    }
    return -1;
}

int broadcast_share(const struct node *node, struct db *db, enum broadcast_kind kind,
                    const char *key)
{
    if (node == NULL || node->kind->share == NULL)
        return 0;
    return node->kind->share(node, db, kind, key);
}

json_t *broadcast_read(struct db *db, enum broadcast_kind kind, const char *key)
{
    return kinds[kind].read(db, key);
}

int broadcast_send_up(const struct node *node, struct db *db, enum broadcast_kind kind,
                      const char *key)
{
    char stream[12], at[CLOCK_RFC3339_LEN];
    const char *p[] = {stream, OUTBOX_UPLINK, NULL, at};

    (void)node;
    if (kind != BROADCAST_RESTRICTION)
        return 0;
    json_t *data = broadcast_read(db, kind, key);
    json_t *item = data != NULL ? json_pack("{s:o}", "restriction", data) : NULL;
    char *body = item != NULL ? json_dumps(item, JSON_COMPACT) : NULL;
    json_decref(item);
    if (body == NULL)
        return -1;
    snprintf(stream, sizeof(stream), "%d", STREAM_TICKETS);
    clock_format(clock_now_us(), at);
    p[2] = body;
    int rc =
        db_exec(db, "INSERT INTO outbox (stream, peer, body, created_at) VALUES ($1, $2, $3, $4)",
                4, p) < 0 ||
                db_exec(db, "NOTIFY outbox", 0, NULL) < 0
            ? -1
            : 0;
    free(body);
    return rc;
}

/* --- checks ----------------------------------------------------------- */

static size_t characters(const char *s)
{
    size_t n = 0;

    for (; *s != '\0'; s++)
        n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

int broadcast_text_ok(json_t *obj, const char *name, size_t max, int nullable)
{
    json_t *v = json_object_get(obj, name);

    if (v == NULL || json_is_null(v))
        return nullable;
    /* Decoded without JSON_ALLOW_NUL: valid UTF-8, no NUL inside. */
    if (!json_is_string(v) || json_string_length(v) == 0)
        return 0;
    return characters(json_string_value(v)) <= max;
}

int broadcast_time_ok(json_t *obj, const char *name, int nullable)
{
    json_t *v = json_object_get(obj, name);
    int64_t us;

    if (v == NULL || json_is_null(v))
        return nullable;
    return json_is_string(v) && clock_parse(json_string_value(v), &us) == 0;
}

/* --- applying ----------------------------------------------------------- */

/* The version that last changed 'key' here, the row locked; 0 if none. */
static long long held_version(struct db *db, const char *kind, const char *key)
{
    const char *p[] = {kind, key};
    PGresult *res = db_query(db,
                             "SELECT version FROM broadcast_items WHERE kind = $1 AND key = $2"
                             " FOR UPDATE",
                             2, p);

    if (res == NULL)
        return -1;
    long long v = PQntuples(res) == 1 ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : 0;
    PQclear(res);
    return v;
}

static int record(struct db *db, const char *kind, const char *key, long long version, int gone)
{
    char v[24], at[CLOCK_RFC3339_LEN];
    const char *p[] = {kind, key, v, gone ? "true" : "false", at};

    snprintf(v, sizeof(v), "%lld", version);
    clock_format(clock_now_us(), at);
    return db_exec(db,
                   "INSERT INTO broadcast_items (kind, key, version, deleted, applied_at)"
                   " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (kind, key) DO UPDATE"
                   " SET version = $3, deleted = $4, applied_at = $5",
                   5, p);
}

static int hold(struct db *db, long long version)
{
    char v[24], at[CLOCK_RFC3339_LEN];
    const char *p[] = {v, at};

    snprintf(v, sizeof(v), "%lld", version);
    clock_format(clock_now_us(), at);
    return db_exec(db,
                   "UPDATE broadcast_held SET version = greatest(version, $1::bigint),"
                   " applied_at = $2",
                   2, p);
}

/* One change of one key, for db_attempt. */
struct change {
    enum broadcast_kind kind;
    const char *name, *key;
    json_t *data; /* NULL: gone */
    long long version;
};

static int apply_one(void *arg, struct db *db)
{
    const struct change *c = arg;
    int rc = kinds[c->kind].apply(db, c->key, c->data);

    if (rc != 0)
        return rc;
    return record(db, c->name, c->key, c->version, c->data == NULL);
}

int broadcast_deliver(const struct node *node, struct db *db, json_t *v)
{
    json_t *number = json_object_get(v, "version"), *data = json_object_get(v, "data");
    const char *name = json_string_value(json_object_get(v, "kind"));
    const char *key = json_string_value(json_object_get(v, "key"));
    enum broadcast_kind kind;

    (void)node;
    if (!json_is_integer(number) || json_integer_value(number) < 1 || name == NULL ||
        broadcast_kind_parse(name, &kind) < 0 ||
        !broadcast_text_ok(v, "key", BROADCAST_KEY_MAX, 0) || strlen(key) > BROADCAST_KEY_MAX ||
        data == NULL || !broadcast_time_ok(v, "at", 0))
        return 1;
    int gone = json_is_null(data);
    if (gone ? !kinds[kind].tombstones : (!json_is_object(data) || !kinds[kind].valid(key, data)))
        return 1;
    long long version = (long long)json_integer_value(number);
    long long held = held_version(db, name, key);
    if (held < 0)
        return -1;
    if (held < version) {
        struct change c = {kind, name, key, gone ? NULL : data, version};
        /* What the database refuses is left out: it must not block the stream. */
        int rc = db_attempt(db, apply_one, &c);
        if (rc != 0)
            return rc;
        log_debug("broadcast %lld applied: %s '%s'%s", version, name, key, gone ? " gone" : "");
    }
    return hold(db, version);
}

json_t *broadcast_held(struct db *db)
{
    PGresult *held =
        db_query(db, "SELECT version, " US("applied_at") " FROM broadcast_held", 0, NULL);
    if (held == NULL)
        return NULL;
    PGresult *res = db_query(db,
                             "SELECT kind, max(version), count(*) FILTER (WHERE NOT deleted),"
                             " " US("max(applied_at)") " FROM broadcast_items GROUP BY kind",
                             0, NULL);
    if (res == NULL || PQntuples(held) != 1) {
        PQclear(held);
        PQclear(res);
        return NULL;
    }
    json_t *by_kind = json_object();
    for (int k = 0; k < BROADCAST_KINDS; k++) {
        json_t *one = json_pack("{s:I,s:I,s:n}", "version", (json_int_t)0, "items", (json_int_t)0,
                                "applied_at");
        for (int i = 0; i < PQntuples(res); i++) {
            if (strcmp(PQgetvalue(res, i, 0), broadcast_kind_names[k]) != 0)
                continue;
            char at[CLOCK_RFC3339_LEN];
            clock_format(strtoll(PQgetvalue(res, i, 3), NULL, 10), at);
            json_decref(one);
            one = json_pack("{s:I,s:I,s:s}", "version",
                            (json_int_t)strtoll(PQgetvalue(res, i, 1), NULL, 10), "items",
                            (json_int_t)strtoll(PQgetvalue(res, i, 2), NULL, 10), "applied_at", at);
        }
        json_object_set_new(by_kind, broadcast_kind_names[k], one);
    }
    json_t *applied = json_null();
    if (!PQgetisnull(held, 0, 1)) {
        char at[CLOCK_RFC3339_LEN];
        clock_format(strtoll(PQgetvalue(held, 0, 1), NULL, 10), at);
        applied = json_string(at);
    }
    json_t *out =
        json_pack("{s:I,s:o,s:o}", "version", (json_int_t)strtoll(PQgetvalue(held, 0, 0), NULL, 10),
                  "applied_at", applied, "kinds", by_kind);
    PQclear(held);
    PQclear(res);
    return out;
}
