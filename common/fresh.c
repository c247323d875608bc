/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fresh.c - the versions of what a thread keeps, and the guard that checks
 * them.
 *
 * Runs in every thread that keeps a copy (fresh.h); the state is the
 * thread's own, so nothing is shared or locked.  HTTP workers open and
 * close requests; other threads only ask for versions, which are then read
 * at each call.  When the database fails, the caller gets -1 and answers
 * with an error: a copy is never used on a version nobody checked.
 */
#include "fresh.h"

#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fresh {
    long long version[FRESH_KINDS];
    int known;     /* 'version' holds what the database said */
    struct db *db; /* the connection of the open request, else NULL */
};

static __thread struct fresh state;

/* Reads every version.  Returns 0, or -1. */
static int versions_read(struct db *db)
{
    PGresult *res = db_query(db,
                             "SELECT calendar, emergency, principals, restrictions"
                             " FROM cache_versions",
                             0, NULL);

    if (res == NULL)
        return -1;
    state.known = PQntuples(res) == 1;
    for (int k = 0; state.known && k < FRESH_KINDS; k++)
        state.version[k] = strtoll(PQgetvalue(res, 0, k), NULL, 10);
    PQclear(res);
    if (!state.known) {
        log_warnx("the table cache_versions has no row");
        return -1;
    }
    return 0;
}

int fresh_begin(struct db *db)
{
    char known[FRESH_KINDS * 21 + 3];
    const char *p[] = {known};
    size_t used = 0;

    if (state.db != NULL)
        return 0; /* begun already */
    state.db = db;
    if (!state.known)
        return 0;
    for (int k = 0; k < FRESH_KINDS; k++)
        used += (size_t)snprintf(known + used, sizeof(known) - used, "%c%lld", k == 0 ? '{' : ',',
                                 state.version[k]);
    snprintf(known + used, sizeof(known) - used, "}");
    if (db_guard(db, "SELECT cache_versions_check($1::bigint[])", 1, p) < 0) {
        state.db = NULL;
        return -1;
    }
    return 0;
}

int fresh_version(struct db *db, enum fresh_kind kind, long long *out)
{
    if ((state.db == NULL || !state.known) && versions_read(db) < 0)
        return -1;
    *out = state.version[kind];
    return 0;
}

int fresh_end(void)
{
    if (state.db == NULL)
        return 0;
    int moved = db_guard_end(state.db);
    state.db = NULL;
    if (moved)
        state.known = 0;
    return moved;
}
