/* SPDX-License-Identifier: Apache-2.0 */
/*
 * auth.c - principals and their tokens.
 *
 * auth_kept runs in HTTP workers for every authenticated request, on the
 * worker's own connection: each worker keeps the principals of the last
 * tokens it saw, at the version of the principals it knew (fresh.h), so a
 * request by a known token costs no round trip of its own, and a change of
 * any principal (a token revoked, a role or unit changed) drops them all.
 * Only live principals are kept; a token's lifetime is checked on the
 * node's clock at every use.  The rest runs in the main thread during
 * `init`, and in the admin routes.
 */
#include "auth.h"

#include "clock.h"
#include "fresh.h"
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const role_names[] = {
    "admin", "operator", "manager", "unit", "auditor", "service", "citizen",
};

#define NROLES (sizeof(role_names) / sizeof(role_names[0]))

int auth_role_parse(const char *name, enum role *out)
{
    /* A citizen is never a principal: only its token acts, on one ticket. */
    for (size_t i = 0; i < NROLES - 1; i++) {
        if (strcmp(name, role_names[i]) == 0) {
            *out = (enum role)(1 << i);
            return 0;
        }
    }
    return -1;
}

const char *auth_role_name(enum role role)
{
    for (size_t i = 0; i < NROLES; i++)
        if (role == (enum role)(1 << i))
            return role_names[i];
    return "unknown";
}

/* A token is 64 lower-case hex digits; anything else is not worth a query. */
static int token_well_formed(const char *token)
{
    return strlen(token) == CRYPTO_TOKEN_LEN &&
           strspn(token, "0123456789abcdef") == CRYPTO_TOKEN_LEN;
}

int auth_lookup(struct db *db, const char *token, struct principal *out)
{
    char hash[CRYPTO_SHA256_HEX_LEN + 1], now[CLOCK_RFC3339_LEN];
    const char *p[] = {hash, now};

    if (!token_well_formed(token))
        return 0;
    crypto_sha256_hex(token, CRYPTO_TOKEN_LEN, hash);
    clock_format(clock_now_us(), now);
    PGresult *res = db_query(db,
                             "SELECT id, role, name, unit_code FROM principals"
                             " WHERE token_sha256 = $1 AND revoked_at IS NULL"
                             " AND (expires_at IS NULL OR expires_at > $2)",
                             2, p);
    if (res == NULL)
        return -1;
    int found = PQntuples(res) == 1 && auth_role_parse(PQgetvalue(res, 0, 1), &out->role) == 0;
    if (found) {
        out->id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        snprintf(out->name, sizeof(out->name), "%s", PQgetvalue(res, 0, 2));
        snprintf(out->unit, sizeof(out->unit), "%s", PQgetvalue(res, 0, 3));
    }
    PQclear(res);
    return found;
}

/* A live principal a worker keeps, by the hash of its token. */
struct kept {
    char hash[CRYPTO_SHA256_HEX_LEN + 1];
    struct principal p;
    int64_t expires; /* 0: never */
};

#define KEPT_MAX 64

/* The principals a thread keeps, made at 'version' of the principals. */
struct kept_list {
    long long version;
    size_t n, next;
    struct kept entries[KEPT_MAX];
};

static pthread_key_t kept_key;
static pthread_once_t kept_key_once = PTHREAD_ONCE_INIT;

static void kept_key_make(void)
{
    pthread_key_create(&kept_key, free);
}

/* The live principal of 'hash' from the database, as a kept entry. */
static int kept_read(struct db *db, const char *hash, struct kept *out)
{
    const char *p[] = {hash};
    PGresult *res = db_query(db,
                             "SELECT id, role, name, unit_code,"
                             " (extract(epoch FROM expires_at) * 1000000)::bigint"
                             " FROM principals WHERE token_sha256 = $1 AND revoked_at IS NULL",
                             1, p);

    if (res == NULL)
        return -1;
    int found = PQntuples(res) == 1 && auth_role_parse(PQgetvalue(res, 0, 1), &out->p.role) == 0;
    if (found) {
        snprintf(out->hash, sizeof(out->hash), "%s", hash);
        out->p.id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        snprintf(out->p.name, sizeof(out->p.name), "%s", PQgetvalue(res, 0, 2));
        snprintf(out->p.unit, sizeof(out->p.unit), "%s", PQgetvalue(res, 0, 3));
        out->expires = PQgetisnull(res, 0, 4) ? 0 : strtoll(PQgetvalue(res, 0, 4), NULL, 10);
    }
    PQclear(res);
    return found;
}

int auth_kept(struct db *db, const char *token, struct principal *out)
{
    char hash[CRYPTO_SHA256_HEX_LEN + 1];
    long long version;
    struct kept fresh;

    if (!token_well_formed(token))
        return 0;
    crypto_sha256_hex(token, CRYPTO_TOKEN_LEN, hash);
    if (fresh_version(db, FRESH_PRINCIPALS, &version) < 0)
        return -1;
    pthread_once(&kept_key_once, kept_key_make);
    struct kept_list *kept = pthread_getspecific(kept_key);
    if (kept == NULL) {
        kept = calloc(1, sizeof(*kept));
        if (kept == NULL || pthread_setspecific(kept_key, kept) != 0) {
            free(kept);
            return auth_lookup(db, token, out);
        }
        kept->version = version;
    }
    if (kept->version != version) {
        kept->n = kept->next = 0;
        kept->version = version;
    }
    struct kept *k = NULL;
    for (size_t i = 0; i < kept->n && k == NULL; i++)
        if (strcmp(kept->entries[i].hash, hash) == 0)
            k = &kept->entries[i];
    if (k == NULL) {
        int found = kept_read(db, hash, &fresh);
        if (found <= 0)
            return found;
        /* The oldest made way for it when all are taken. */
        k = &kept->entries[kept->next];
        kept->next = (kept->next + 1) % KEPT_MAX;
        if (kept->n < KEPT_MAX)
            kept->n++;
        *k = fresh;
    }
    if (k->expires != 0 && k->expires <= clock_now_us())
        return 0;
    *out = k->p;
    return 1;
}

/* Registers the hash of 'token'.  Returns the new principal's id, 0 if the
 * token was registered already (revoked or not: never revived), -1 on error. */
static long long auth_register(struct db *db, const char *name, enum role role, const char *unit,
                               const char *token, int64_t expires)
{
    char hash[CRYPTO_SHA256_HEX_LEN + 1], at[CLOCK_RFC3339_LEN], until[CLOCK_RFC3339_LEN];
    const char *p[] = {name, auth_role_name(role), hash, at, unit, expires != 0 ? until : NULL};

    crypto_sha256_hex(token, strlen(token), hash);
    clock_format(clock_now_us(), at);
    clock_format(expires, until);
    PGresult *res = db_query(db,
                             "INSERT INTO principals (name, role, token_sha256, created_at,"
                             " unit_code, expires_at) VALUES ($1, $2, $3, $4, $5, $6)"
                             " ON CONFLICT (token_sha256) DO NOTHING RETURNING id",
                             6, p);
    if (res == NULL)
        return -1;
    long long id = PQntuples(res) == 1 ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : 0;
    PQclear(res);
    return id;
}

long long auth_create(struct db *db, const char *name, enum role role, const char *unit,
                      int64_t expires, char token[CRYPTO_TOKEN_LEN + 1])
{
    if (crypto_token_new(token) < 0) {
        log_warnx("cannot draw a random token");
        return -1;
    }
    long long id = auth_register(db, name, role, unit, token, expires);
    return id > 0 ? id : -1;
}

json_t *auth_list(struct db *db)
{
    PGresult *res = db_query(db,
                             "SELECT id, name, role, unit_code,"
                             " (extract(epoch FROM created_at) * 1000000)::bigint,"
                             " revoked_at IS NOT NULL,"
                             " (extract(epoch FROM expires_at) * 1000000)::bigint"
                             " FROM principals ORDER BY id",
                             0, NULL);
    if (res == NULL)
        return NULL;
    json_t *list = json_array();
    for (int i = 0; i < PQntuples(res); i++) {
        char at[CLOCK_RFC3339_LEN], until[CLOCK_RFC3339_LEN];
        clock_format(strtoll(PQgetvalue(res, i, 4), NULL, 10), at);
        clock_format(strtoll(PQgetvalue(res, i, 6), NULL, 10), until);
        json_array_append_new(
            list,
            json_pack("{s:I,s:s,s:s,s:o,s:s,s:b,s:o}", "id",
                      (json_int_t)strtoll(PQgetvalue(res, i, 0), NULL, 10), "name",
                      PQgetvalue(res, i, 1), "role", PQgetvalue(res, i, 2), "unit",
                      PQgetisnull(res, i, 3) ? json_null() : json_string(PQgetvalue(res, i, 3)),
                      "created_at", at, "revoked", strcmp(PQgetvalue(res, i, 5), "t") == 0,
                      "expires_at", PQgetisnull(res, i, 6) ? json_null() : json_string(until)));
    }
    PQclear(res);
    return list;
}

int auth_revoke(struct db *db, long long id)
{
    char ids[24], at[CLOCK_RFC3339_LEN];
    const char *p[] = {ids, at};

    snprintf(ids, sizeof(ids), "%lld", id);
    clock_format(clock_now_us(), at);
    long long n = db_changed(db,
                             "UPDATE principals SET revoked_at = $2"
                             " WHERE id = $1 AND revoked_at IS NULL",
                             2, p);
    return n < 0 ? -1 : n > 0;
}

int auth_admin_token_ensure(struct db *db, const char *path)
{
    char token[CRYPTO_TOKEN_LEN + 2];
    size_t len;

    if (crypto_secret_read(path, token, sizeof(token), &len) == 0) {
        while (len > 0 && token[len - 1] == '\n')
            token[--len] = '\0';
        if (!token_well_formed(token)) {
            log_warnx("'%s' does not hold a token", path);
            return -1;
        }
        long long id = auth_register(db, "admin", ROLE_ADMIN, NULL, token, 0);
        if (id != 0)
            return id < 0 ? -1 : 0;
        struct principal p;
        int live = auth_lookup(db, token, &p);
        if (live == 0)
            log_warnx("the admin token in '%s' was revoked; remove the file and run init again"
                      " for a new one",
                      path);
        return live == 1 ? 0 : -1;
    }
    if (errno != ENOENT) {
        if (errno == EPERM)
            log_warnx("'%s' has loose permissions: only its owner may read it (mode 0600)", path);
        else
            log_warn("cannot read '%s'", path);
        return -1;
    }
    if (auth_create(db, "admin", ROLE_ADMIN, NULL, 0, token) < 0)
        return -1;
    strcat(token, "\n");
    if (crypto_secret_write(path, token, strlen(token)) < 0) {
        log_warn("cannot write '%s'", path);
        return -1;
    }
    return 0;
}
