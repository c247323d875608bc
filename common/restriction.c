/* SPDX-License-Identifier: Apache-2.0 */
/*
 * restriction.c - the rules and the SQL of caller restrictions (Art 9): the
 * only code that reads or writes the restrictions and restriction_hits
 * tables.
 *
 * Runs in HTTP workers, each on its own connection: the restriction routes,
 * and intake, which asks restriction_find() before it registers an appeal
 * by phone: each thread keeps the restrictions active when it read them,
 * and reads them again when they changed (fresh.h).  restriction_merge runs in the link threads
 * too: a city takes what the province broadcasts, the province what a city reports (every
 * restriction applies at every node, broadcast.h).  Times are the node's
 * (clock_now_us), passed in; the database's now() is never used, so a
 * restriction expires on the node's clock, which tests can move.  Imposing
 * takes a transaction-scoped advisory lock on the number's hash, so two
 * operators restricting one caller at the same moment make one
 * restriction, not two.
 */
#include "restriction.h"

#include "broadcast.h"
#include "clock.h"
#include "fresh.h"
#include "node.h"
#include "pii.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define US_PER_SECOND 1000000LL
#define US_PER_DAY    (86400LL * US_PER_SECOND)
#define US(col)       "(extract(epoch FROM " col ") * 1000000)::bigint"

#define SELECT_RESTRICTION                                                                         \
    "SELECT r.id, r.origin_node, r.phone_masked, r.reason, r.by_id, r.by_name,"                    \
    " " US("r.starts_at") ", " US("r.ends_at") ", " US(                                            \
        "r.lifted_at") ","                                                                         \
                       " r.lifted_by_id, r.lifted_by_name, r.lifted_node,"                         \
                       " (SELECT count(*) FROM restriction_hits h WHERE h.restriction_id = r.id)"  \
                       " FROM restrictions r"

enum restriction_column {
    R_ID,
    R_ORIGIN,
    R_MASKED,
    R_REASON,
    R_BY_ID,
    R_BY_NAME,
    R_STARTS,
    R_ENDS,
    R_LIFTED_AT,
    R_LIFTED_BY_ID,
    R_LIFTED_BY_NAME,
    R_LIFTED_NODE,
    R_HITS,
};

static int digits_only(const char *s, size_t len)
{
    return strspn(s, "0123456789") == len;
}

int restriction_phone_normalize(const char *phone, char out[RESTRICTION_PHONE_MAX + 1])
{
    size_t len = strlen(phone), head = strspn(phone, "0123456789");

    if (head == len && len == 11 && phone[0] == '1' && phone[1] >= '3') {
        memcpy(out, phone, len + 1);
        return 0;
    }
    if (phone[0] != '0')
        return -1;
    if (head == len && len >= 10 && len <= 12) {
        memcpy(out, phone, len + 1);
        return 0;
    }
    if ((head == 3 || head == 4) && phone[head] == '-') {
        size_t rest = len - head - 1;
        if (rest < 7 || rest > 8 || !digits_only(phone + head + 1, rest))
            return -1;
        memcpy(out, phone, head);
        memcpy(out + head, phone + head + 1, rest + 1);
        return 0;
    }
    return -1;
}

int64_t restriction_until(int64_t from)
{
    return from + RESTRICTION_DAYS * US_PER_DAY;
}

static int64_t us_of(PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? 0 : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

static json_t *time_of(PGresult *res, int row, int col)
{
    char text[CLOCK_RFC3339_LEN];

    if (PQgetisnull(res, row, col))
        return json_null();
    clock_format_seconds(us_of(res, row, col), text);
    return json_string(text);
}

/* A principal {id, name}; with 'node_col' >= 0, and the node it belongs to. */
static json_t *who_of(PGresult *res, int row, int id_col, int name_col, int node_col)
{
    if (PQgetisnull(res, row, id_col))
        return json_null();
    json_t *who =
        json_pack("{s:I,s:s}", "id", (json_int_t)strtoll(PQgetvalue(res, row, id_col), NULL, 10),
                  "name", PQgetvalue(res, row, name_col));
    if (who != NULL && node_col >= 0)
        json_object_set_new(who, "node",
                            PQgetisnull(res, row, node_col)
                                ? json_null()
                                : json_string(PQgetvalue(res, row, node_col)));
    return who;
}

/* Row 'i' as the API shows it at 'now'. */
static json_t *row_json(PGresult *res, int i, int64_t now)
{
    int active = PQgetisnull(res, i, R_LIFTED_AT) && now < us_of(res, i, R_ENDS);

    return json_pack("{s:s,s:s,s:s,s:s,s:o,s:o,s:o,s:b,s:o,s:o,s:I}", "id",
                     PQgetvalue(res, i, R_ID), "origin_node", PQgetvalue(res, i, R_ORIGIN),
                     "phone_masked", PQgetvalue(res, i, R_MASKED), "reason",
                     PQgetvalue(res, i, R_REASON), "by", who_of(res, i, R_BY_ID, R_BY_NAME, -1),
                     "from", time_of(res, i, R_STARTS), "until", time_of(res, i, R_ENDS), "active",
                     active, "lifted_at", time_of(res, i, R_LIFTED_AT), "lifted_by",
                     who_of(res, i, R_LIFTED_BY_ID, R_LIFTED_BY_NAME, R_LIFTED_NODE), "refusals",
                     (json_int_t)strtoll(PQgetvalue(res, i, R_HITS), NULL, 10));
}

/* Restriction 'id' as JSON in '*out'.  Returns 1, 0 if there is none, -1. */
static int load(struct db *db, const char *id, int64_t now, json_t **out)
{
    const char *p[] = {id};
    PGresult *res = db_query(db, SELECT_RESTRICTION " WHERE r.id = $1", 1, p);

    if (res == NULL)
        return -1;
    int found = PQntuples(res) == 1;
    if (found)
        *out = row_json(res, 0, now);
    PQclear(res);
    return found;
}

/* The active restriction of 'hash' at 'now' ('at' is 'now' formatted). */
static PGresult *active_of(struct db *db, const char *hash, const char *at)
{
    const char *p[] = {hash, at};

    return db_query(db,
                    SELECT_RESTRICTION " WHERE r.phone_hash = $1 AND r.lifted_at IS NULL"
                                       " AND r.ends_at > $2 ORDER BY r.ends_at DESC LIMIT 1",
                    2, p);
}

enum restriction_result restriction_impose(struct db *db, const struct node *node,
                                           const struct principal *who, const char *phone,
                                           const char *reason, int64_t now, json_t **out)
{
    const struct hotline *h = &node->hotline;
    char hash[PII_HASH_LEN + 1], masked[RESTRICTION_PHONE_MAX + 8];
    char from[CLOCK_RFC3339_LEN], until[CLOCK_RFC3339_LEN], at[CLOCK_RFC3339_LEN];
    char id[RESTRICTION_ID_MAX + 1], by_id[24];
    PGresult *res = NULL;

    int64_t start = now - now % US_PER_SECOND;
    clock_format(now, at);
    clock_format(start, from);
    clock_format(restriction_until(start), until);
    pii_phone_hash(&h->pii, phone, hash);
    pii_mask_phone(phone, masked, sizeof(masked));
    snprintf(by_id, sizeof(by_id), "%lld", who->id);

    const char *lock[] = {hash};
    if (db_begin(db) < 0)
        return RESTRICTION_FAILED;
    if (db_exec(db, "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", 1, lock) < 0 ||
        (res = active_of(db, hash, at)) == NULL)
        goto fail;
    if (PQntuples(res) == 1) {
        *out = row_json(res, 0, now);
        PQclear(res);
        db_rollback(db);
        return RESTRICTION_EXISTS;
    }
    PQclear(res);
    res = db_query(db, "SELECT nextval('restriction_numbers')", 0, NULL);
    if (res == NULL)
        goto fail;
    snprintf(id, sizeof(id), "%.6s-R-%06lld", h->node_code,
             strtoll(PQgetvalue(res, 0, 0), NULL, 10));
    PQclear(res);
    res = NULL;
    const char *p[] = {id, h->node_code, hash, masked, reason, by_id, who->name, from, until};
    if (db_exec(db,
                "INSERT INTO restrictions (id, origin_node, phone_hash, phone_masked, reason,"
                " by_id, by_name, starts_at, ends_at)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                9, p) < 0 ||
        broadcast_share(node, db, BROADCAST_RESTRICTION, id) < 0 || load(db, id, now, out) != 1 ||
        db_commit(db) < 0)
        goto fail;
    return RESTRICTION_DONE;

fail:
    PQclear(res);
    db_rollback(db);
    return RESTRICTION_FAILED;
}

enum restriction_result restriction_lift(struct db *db, const struct node *node, const char *id,
                                         const struct principal *who, int64_t now, json_t **out)
{
    char at[CLOCK_RFC3339_LEN], by_id[24];
    json_t *lifted = NULL;

    clock_format(now, at);
    snprintf(by_id, sizeof(by_id), "%lld", who->id);
    const char *p[] = {id, at, by_id, who->name, node->hotline.node_code};
    if (db_begin(db) < 0)
        return RESTRICTION_FAILED;
    long long changed = db_changed(db,
                                   "UPDATE restrictions SET lifted_at = $2, lifted_by_id = $3,"
                                   " lifted_by_name = $4, lifted_node = $5"
                                   " WHERE id = $1 AND lifted_at IS NULL AND ends_at > $2",
                                   5, p);
    if (changed < 0 || (changed > 0 && broadcast_share(node, db, BROADCAST_RESTRICTION, id) < 0))
        goto fail;
    int found = load(db, id, now, &lifted);
    if (found < 0 || db_commit(db) < 0)
        goto fail;
    if (!changed) {
        json_decref(lifted);
        return found ? RESTRICTION_INACTIVE : RESTRICTION_NOT_FOUND;
    }
    *out = lifted;
    return RESTRICTION_DONE;

fail:
    json_decref(lifted);
    db_rollback(db);
    return RESTRICTION_FAILED;
}

json_t *restriction_list(struct db *db, int64_t now)
{
    char at[CLOCK_RFC3339_LEN];
    const char *p[] = {at};

    clock_format(now, at);
    PGresult *res = db_query(db,
                             SELECT_RESTRICTION " WHERE r.lifted_at IS NULL AND r.ends_at > $1"
                                                " ORDER BY r.starts_at DESC, r.id DESC",
                             1, p);
    if (res == NULL)
        return NULL;
    json_t *list = json_array();
    for (int i = 0; i < PQntuples(res); i++)
        json_array_append_new(list, row_json(res, i, now));
    PQclear(res);
    return list;
}

/* The restrictions active when a thread read them, every one not lifted
 * and not ended then, by phone hash and the latest end first; read again
 * when they changed (fresh.h) or the clock went back. */
struct active {
    long long version;
    int64_t read_at;
    PGresult *res; /* phone_hash, id, ends_at in microseconds */
};

static pthread_key_t active_key;
static pthread_once_t active_key_once = PTHREAD_ONCE_INIT;

static void active_free(void *p)
{
    struct active *a = p;

    PQclear(a->res);
    free(a);
}

static void active_key_make(void)
{
    pthread_key_create(&active_key, active_free);
}

/* The calling thread's active restrictions at 'now', read again if they
 * changed.  NULL on error. */
static const struct active *active_get(struct db *db, int64_t now)
{
    long long version;
    char at[CLOCK_RFC3339_LEN];
    const char *p[] = {at};

    pthread_once(&active_key_once, active_key_make);
    struct active *a = pthread_getspecific(active_key);
    if (fresh_version(db, FRESH_RESTRICTIONS, &version) < 0)
        return NULL;
    if (a == NULL) {
        a = calloc(1, sizeof(*a));
        if (a == NULL || pthread_setspecific(active_key, a) != 0) {
            free(a);
            return NULL;
        }
    }
    if (a->res != NULL && a->version == version && now >= a->read_at)
        return a;
    clock_format(now, at);
    PGresult *res = db_query(
        db,
        "SELECT phone_hash, id, " US("ends_at") " FROM restrictions"
                                                " WHERE lifted_at IS NULL AND ends_at > $1"
                                                " ORDER BY phone_hash COLLATE \"C\", ends_at DESC",
        1, p);
    if (res == NULL)
        return NULL;
    PQclear(a->res);
    a->res = res;
    a->version = version;
    a->read_at = now;
    return a;
}

int restriction_find(struct db *db, const struct hotline *h, const char *phone, int64_t now,
                     char id[RESTRICTION_ID_MAX + 1], int64_t *until)
{
    char hash[PII_HASH_LEN + 1];
    const struct active *a = active_get(db, now);

    if (a == NULL)
        return -1;
    pii_phone_hash(&h->pii, phone, hash);
    /* The first row of the hash: the one that ends last. */
    int lo = 0, hi = PQntuples(a->res);
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (strcmp(PQgetvalue(a->res, mid, 0), hash) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == PQntuples(a->res) || strcmp(PQgetvalue(a->res, lo, 0), hash) != 0 ||
        us_of(a->res, lo, 2) <= now)
        return 0;
    snprintf(id, RESTRICTION_ID_MAX + 1, "%s", PQgetvalue(a->res, lo, 1));
    *until = us_of(a->res, lo, 2);
    return 1;
}

int restriction_hit(struct db *db, const char *id, const struct principal *who, const char *node,
                    int64_t now)
{
    char at[CLOCK_RFC3339_LEN], pid[24];

    clock_format(now, at);
    snprintf(pid, sizeof(pid), "%lld", who->id);
    const char *p[] = {id, at, node, pid, who->name, auth_role_name(who->role)};
    return db_exec(db,
                   "INSERT INTO restriction_hits (restriction_id, at, node, principal_id, actor,"
                   " role) VALUES ($1, $2, $3, $4, $5, $6)",
                   6, p);
}

/* --- between nodes ---------------------------------------------------------- */

json_t *restriction_wire(struct db *db, const char *id)
{
    const char *p[] = {id};
    PGresult *res = db_query(db,
                             "SELECT id, origin_node, phone_hash, phone_masked, reason, by_id,"
                             " by_name, " US("starts_at") ", " US("ends_at") ", " US(
                                 "lifted_at") ", lifted_by_id, lifted_by_name, lifted_node"
                                              " FROM restrictions WHERE id = $1",
                             1, p);
    if (res == NULL)
        return NULL;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return json_null();
    }
    char from[CLOCK_RFC3339_LEN], until[CLOCK_RFC3339_LEN], lifted[CLOCK_RFC3339_LEN];
    clock_format(us_of(res, 0, 7), from);
    clock_format(us_of(res, 0, 8), until);
    clock_format(us_of(res, 0, 9), lifted);
    json_t *out =
        json_pack("{s:s,s:s,s:s,s:s,s:s,s:{s:I,s:s},s:s,s:s,s:o,s:o}", "id", PQgetvalue(res, 0, 0),
                  "origin_node", PQgetvalue(res, 0, 1), "phone_hash", PQgetvalue(res, 0, 2),
                  "phone_masked", PQgetvalue(res, 0, 3), "reason", PQgetvalue(res, 0, 4), "by",
                  "id", (json_int_t)strtoll(PQgetvalue(res, 0, 5), NULL, 10), "name",
                  PQgetvalue(res, 0, 6), "from", from, "until", until, "lifted_at",
                  PQgetisnull(res, 0, 9) ? json_null() : json_string(lifted), "lifted_by",
                  who_of(res, 0, 10, 11, 12));
    PQclear(res);
    return out;
}

static int all_of(const char *s, size_t len, const char *set)
{
    return strlen(s) == len && strspn(s, set) == len;
}

/* "440100-R-000012": the origin's code, "-R-" and 6 or more digits. */
static int id_valid(const char *id)
{
    size_t len = strlen(id);

    return len >= 15 && len <= RESTRICTION_ID_MAX && id[0] != '0' &&
           strspn(id, "0123456789") == 6 && strncmp(id + 6, "-R-", 3) == 0 &&
           strspn(id + 9, "0123456789") == len - 9;
}

static int code_valid(json_t *v)
{
    const char *s = json_string_value(v);

    return s != NULL && s[0] != '0' && all_of(s, 6, "0123456789");
}

static int principal_valid(json_t *who, int with_node)
{
    json_t *id = json_object_get(who, "id"), *node = json_object_get(who, "node");

    return json_is_object(who) && json_is_integer(id) && json_integer_value(id) >= 0 &&
           broadcast_text_ok(who, "name", AUTH_MAX_NAME, 0) &&
           (!with_node || node == NULL || json_is_null(node) || code_valid(node));
}

int restriction_wire_valid(const char *key, json_t *data)
{
    const char *id = json_string_value(json_object_get(data, "id"));
    json_t *origin = json_object_get(data, "origin_node");
    const char *hash = json_string_value(json_object_get(data, "phone_hash"));
    const char *masked = json_string_value(json_object_get(data, "phone_masked"));
    json_t *lifted_at = json_object_get(data, "lifted_at"),
           *by = json_object_get(data, "lifted_by");
    int64_t from, until;

    if (id == NULL || (key != NULL && strcmp(id, key) != 0) || !id_valid(id) ||
        !code_valid(origin) || strncmp(id, json_string_value(origin), 6) != 0 || hash == NULL ||
        !all_of(hash, 64, "0123456789abcdef") || masked == NULL || strlen(masked) != 11 ||
        !all_of(masked + 7, 4, "0123456789") || strncmp(masked + 3, "****", 4) != 0 ||
        strspn(masked, "0123456789") != 3 ||
        !broadcast_text_ok(data, "reason", RESTRICTION_REASON_MAX, 0) ||
        !principal_valid(json_object_get(data, "by"), 0) || !broadcast_time_ok(data, "from", 0) ||
        !broadcast_time_ok(data, "until", 0) || !broadcast_time_ok(data, "lifted_at", 1))
        return 0;
    (void)clock_parse(json_string_value(json_object_get(data, "from")), &from);
    (void)clock_parse(json_string_value(json_object_get(data, "until")), &until);
    int lifted = lifted_at != NULL && !json_is_null(lifted_at);
    return until > from && (lifted ? principal_valid(by, 1) : by == NULL || json_is_null(by));
}

int restriction_merge(struct db *db, json_t *data, const char *from)
{
    json_t *by = json_object_get(data, "by"), *lifter = json_object_get(data, "lifted_by");
    char by_id[24], lifted_by_id[24];
    int lifted = json_is_object(lifter);

    snprintf(by_id, sizeof(by_id), "%" JSON_INTEGER_FORMAT,
             json_integer_value(json_object_get(by, "id")));
    snprintf(lifted_by_id, sizeof(lifted_by_id), "%" JSON_INTEGER_FORMAT,
             json_integer_value(json_object_get(lifter, "id")));
    /* A node reports only what it did itself: the lifting is its own. */
    const char *lift[] = {
        json_string_value(json_object_get(data, "id")),
        json_string_value(json_object_get(data, "lifted_at")),
        lifted ? lifted_by_id : NULL,
        json_string_value(json_object_get(lifter, "name")),
        from != NULL && lifted ? from : json_string_value(json_object_get(lifter, "node")),
        from == NULL ? "true" : "false",
    };
    /* Lifting is for good: a restriction once lifted is never active again.
     * What the province says of a lifting wins; a node's word is taken
     * when nobody lifted it before. */
    long long changed = !lifted
                            ? 0
                            : db_changed(db,
                                         "UPDATE restrictions SET lifted_at = $2,"
                                         " lifted_by_id = $3, lifted_by_name = $4,"
                                         " lifted_node = $5 WHERE id = $1"
                                         " AND (lifted_at IS NULL OR $6::boolean AND"
                                         " (lifted_at, lifted_by_id, lifted_by_name, lifted_node)"
                                         " IS DISTINCT FROM ($2::timestamptz, $3::bigint,"
                                         " $4::text, $5::text))",
                                         6, lift);
    if (changed < 0)
        return -1;
    const char *p[] = {
        lift[0],
        json_string_value(json_object_get(data, "origin_node")),
        json_string_value(json_object_get(data, "phone_hash")),
        json_string_value(json_object_get(data, "phone_masked")),
        json_string_value(json_object_get(data, "reason")),
        by_id,
        json_string_value(json_object_get(by, "name")),
        json_string_value(json_object_get(data, "from")),
        json_string_value(json_object_get(data, "until")),
        lift[1],
        lift[2],
        lift[3],
        lift[4],
        from,
    };
    /* New here: the province takes a node's own restrictions only. */
    long long added = db_changed(db,
                                 "INSERT INTO restrictions (id, origin_node, phone_hash,"
                                 " phone_masked, reason, by_id, by_name, starts_at, ends_at,"
                                 " lifted_at, lifted_by_id, lifted_by_name, lifted_node)"
                                 " SELECT $1, $2, $3, $4, $5, $6::bigint, $7, $8::timestamptz,"
                                 " $9::timestamptz, $10::timestamptz, $11::bigint, $12, $13"
                                 " WHERE $14::text IS NULL OR $2 = $14"
                                 " ON CONFLICT (id) DO NOTHING",
                                 14, p);
    if (added < 0)
        return -1;
    return changed + added > 0;
}
