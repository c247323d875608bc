/* SPDX-License-Identifier: Apache-2.0 */
/*
 * auth.h - principals: who calls the HTTP API, with which role.
 *
 * A principal holds a bearer token of 256 random bits; the node stores only
 * its SHA-256, so a copy of the database does not let anyone in.
 */
#ifndef HOTLINE_AUTH_H
#define HOTLINE_AUTH_H

#include "crypto.h"
#include "db.h"

#include <jansson.h>

enum role {
    ROLE_ADMIN = 1 << 0,
    ROLE_OPERATOR = 1 << 1,
    ROLE_MANAGER = 1 << 2,
    ROLE_UNIT = 1 << 3,
    ROLE_AUDITOR = 1 << 4,
    ROLE_SERVICE = 1 << 5,
    /* Not a principal: a citizen acting with a one-time token. */
    ROLE_CITIZEN = 1 << 6,
};

#define AUTH_MAX_NAME 200

#define AUTH_MAX_UNIT 32

struct principal {
    long long id;
    enum role role;
    char name[AUTH_MAX_NAME + 1];
    char unit[AUTH_MAX_UNIT + 1]; /* the unit of a unit principal, else "" */
};

/* The role called 'name' ("admin", ...).  Returns 0, or -1 if unknown. */
int auth_role_parse(const char *name, enum role *out);
/* The name of 'role'. */
const char *auth_role_name(enum role role);

/*
 * Looks up the live principal holding 'token'.  Returns 1 and fills 'out' if
 * found, 0 if the token is unknown or revoked, -1 if the database failed.
 */
int auth_lookup(struct db *db, const char *token, struct principal *out);

/*
 * As auth_lookup, for the calling HTTP worker in a request it opened with
 * fresh_begin: the principal comes from those the worker keeps when it
 * knows the token, without a statement of its own.  Returns 1, 0 or -1
 * as auth_lookup.
 */
int auth_kept(struct db *db, const char *token, struct principal *out);

/*
 * Creates a principal called 'name' with 'role' (and 'unit' for a unit
 * principal, else NULL) and a new token, written to 'token', valid until
 * 'expires' (microseconds since the epoch; 0: until revoked).  Returns the
 * principal's id, or -1 on error (logged).
 */
long long auth_create(struct db *db, const char *name, enum role role, const char *unit,
                      int64_t expires, char token[CRYPTO_TOKEN_LEN + 1]);

/* Every principal as a JSON array (never tokens); NULL on error. */
json_t *auth_list(struct db *db);

/* Revokes principal 'id'.  Returns 1, 0 if there is none live, -1 on error. */
int auth_revoke(struct db *db, long long id);

/*
 * Makes sure the admin token in the file 'path' exists and is registered:
 * creates both if the file is missing, and registers the file's token again
 * if the database lost it.  Returns 0, or -1 on error (logged).
 */
int auth_admin_token_ensure(struct db *db, const char *path);

#endif
