/* SPDX-License-Identifier: Apache-2.0 */
/*
 * inbox.c - cursors of the streams a node receives.
 *
 * The cursor row is locked for the batch's transaction, so a batch that
 * arrives twice (a resend racing its acknowledgement, or a replay) is
 * applied once.  Runs in the thread that applies a peer's stream; what a
 * peer can make it log at will (messages seen before, numbers skipped) is
 * held back to one line per peer, kind and minute, in that thread's table.
 */
#include "inbox.h"

#include "clock.h"
#include "log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

static _Thread_local struct log_limit inbox_logs;

static int cursor(struct db *db, const char *peer, int stream, uint64_t *applied, int lock)
{
    char s[12];
    const char *p[] = {peer, s};

    snprintf(s, sizeof(s), "%d", stream);
    /* Sent without waiting: the row, made if missing, is read in the same
     * round trip. */
    if (db_send(db, "INSERT INTO inbox_state (peer, stream) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                2, p) < 0)
        return -1;
    PGresult *res = db_query(db,
                             lock ? "SELECT last_applied FROM inbox_state"
                                    " WHERE peer = $1 AND stream = $2 FOR UPDATE"
                                  : "SELECT last_applied FROM inbox_state"
                                    " WHERE peer = $1 AND stream = $2",
                             2, p);
    if (res == NULL)
        return -1;
    *applied = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return 0;
}

int inbox_applied(struct db *db, const char *peer, int stream, uint64_t *applied)
{
    return cursor(db, peer, stream, applied, 0);
}

static int advance(struct db *db, const char *peer, int stream, uint64_t upto)
{
    char u[24], s[12], at[CLOCK_RFC3339_LEN];
    const char *p[] = {peer, s, u, at};

    snprintf(u, sizeof(u), "%" PRIu64, upto);
    snprintf(s, sizeof(s), "%d", stream);
    clock_format(clock_now_us(), at);
    /* Sent without waiting: it travels with the COMMIT that follows. */
    return db_send(db,
                   "UPDATE inbox_state SET last_applied = $3, applied_at = $4"
                   " WHERE peer = $1 AND stream = $2",
                   4, p);
}

enum inbox_result inbox_apply(struct db *db, const char *peer, int stream, uint64_t first,
                              uint64_t oldest, const char *const *items, const size_t *lens,
                              size_t n, inbox_apply_fn *fn, void *arg, uint64_t *applied)
{
    uint64_t last;

    if (db_begin(db) < 0 || cursor(db, peer, stream, &last, 1) < 0)
        goto fail;
    char kind[64];
    if (oldest > last + 1) {
        snprintf(kind, sizeof(kind), "lost|%s|%d", peer, stream);
        log_limited(&inbox_logs, LOG_LEVEL_WARN, kind,
                    "'%s' no longer holds its messages %llu to %llu of stream %d: this node lost"
                    " them; run 'resync' there",
                    peer, (unsigned long long)last + 1, (unsigned long long)oldest - 1, stream);
        last = oldest - 1;
    }
    if (first > last + 1) {
        db_rollback(db);
        *applied = last;
        return INBOX_GAP;
    }
    size_t skip = (size_t)(last + 1 - first);
    if (skip > 0) {
        /* A resend after a lost acknowledgement, or a replay. */
        snprintf(kind, sizeof(kind), "seen|%s|%d", peer, stream);
        log_limited(&inbox_logs, LOG_LEVEL_INFO, kind,
                    "messages %llu to %llu of '%s' stream %d seen before: not applied again",
                    (unsigned long long)first,
                    (unsigned long long)first + (skip < n ? skip : n) - 1, peer, stream);
    }
    if (skip >= n) { /* all seen before: acknowledge again */
        db_rollback(db);
        *applied = last;
        return INBOX_APPLIED;
    }
    if (fn(arg, db, peer, first + skip, items + skip, lens + skip, n - skip) < 0 ||
        advance(db, peer, stream, first + n - 1) < 0 || db_commit(db) < 0)
        goto fail;
    *applied = first + n - 1;
    return INBOX_APPLIED;

fail:
    db_rollback(db);
    return INBOX_FAILED;
}
