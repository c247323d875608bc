/* SPDX-License-Identifier: Apache-2.0 */
/*
 * outbox.c - SQL of the outbox, for the link thread.
 *
 * A message is numbered in the transaction that also records the stream's
 * last number, so a number is never given twice, even across a crash; a
 * message sent but not acknowledged keeps its number and is resent as it was.
 */
#include "outbox.h"

#include "clock.h"
#include "log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void num(char *out, size_t cap, uint64_t v)
{
    snprintf(out, cap, "%" PRIu64, v);
}

/* Makes the row of a queue if it is missing; sent without waiting, it
 * travels with the statement that follows. */
static int state_row(struct db *db, const char *stream, const char *peer)
{
    const char *p[] = {stream, peer};

    return db_send(
        db, "INSERT INTO outbox_state (stream, peer) VALUES ($1, $2) ON CONFLICT DO NOTHING", 2, p);
}

int outbox_acked(struct db *db, int stream, const char *peer, uint64_t *acked, uint64_t *numbered)
{
    char s[12];
    const char *p[] = {s, peer};

    num(s, sizeof(s), (uint64_t)stream);
    if (state_row(db, s, peer) < 0)
        return -1;
    PGresult *res = db_query(
        db, "SELECT acked_seq, last_seq FROM outbox_state WHERE stream = $1 AND peer = $2", 2, p);
    if (res == NULL)
        return -1;
    *acked = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
    if (numbered != NULL)
        *numbered = strtoull(PQgetvalue(res, 0, 1), NULL, 10);
    PQclear(res);
    return 0;
}

/*
 * The next batch after 'after', in one round trip: the numbered messages
 * after it or, when there are none, the oldest unnumbered ones, numbered
 * in the same statement (one transaction with the row of the queue, which
 * is made first if it is missing).  Without anything to number, nothing
 * is locked or written: a link pumps every stream each time anything is
 * queued, and a transaction that only locks the stream's row still waits
 * for the disk.
 */
static PGresult *next_batch(struct db *db, const char *stream, const char *peer, const char *after)
{
    char limit[12];
    const char *p[] = {stream, peer, after, limit};

    num(limit, sizeof(limit), OUTBOX_BATCH);
    if (state_row(db, stream, peer) < 0)
        return NULL;
    return db_query(db,
                    "WITH sent AS (SELECT seq, body FROM outbox WHERE stream = $1 AND peer = $2"
                    "              AND seq > $3 ORDER BY seq LIMIT $4),"
                    " last AS (SELECT last_seq FROM outbox_state WHERE stream = $1 AND peer = $2"
                    "          AND NOT EXISTS (SELECT 1 FROM sent)"
                    "          AND EXISTS (SELECT 1 FROM outbox WHERE stream = $1 AND peer = $2"
                    "                      AND seq IS NULL) FOR UPDATE),"
                    " next AS (SELECT id, row_number() OVER (ORDER BY id) AS n"
                    "          FROM outbox WHERE stream = $1 AND peer = $2 AND seq IS NULL"
                    "          AND EXISTS (SELECT 1 FROM last) ORDER BY id LIMIT $4),"
                    " numbered AS (UPDATE outbox o SET seq = last.last_seq + next.n"
                    "              FROM next, last WHERE o.id = next.id RETURNING o.seq, o.body),"
                    " counted AS (UPDATE outbox_state SET last_seq = last_seq +"
                    "             (SELECT count(*) FROM numbered) WHERE stream = $1 AND peer = $2"
                    "             AND EXISTS (SELECT 1 FROM last))"
                    " SELECT seq, body FROM sent UNION ALL SELECT seq, body FROM numbered"
                    " ORDER BY seq",
                    4, p);
}

int outbox_next(struct db *db, int stream, const char *peer, uint64_t after, struct outbox_batch *b)
{
    char s[12], a[24];

    memset(b, 0, sizeof(*b));
    num(s, sizeof(s), (uint64_t)stream);
    num(a, sizeof(a), after);
    b->res = next_batch(db, s, peer, a);
    if (b->res == NULL)
        return -1;
    if (PQntuples(b->res) == 0) {
        outbox_batch_clear(b);
        return 0;
    }
    b->first = strtoull(PQgetvalue(b->res, 0, 0), NULL, 10);
    b->n = (size_t)PQntuples(b->res);
    if (b->first == after + 1)
        return 1;
    /* A run must start right after 'after'; anything else is a bug. */
    log_warnx("stream %d to '%s': next message %llu, expected %llu", stream, peer,
              (unsigned long long)b->first, (unsigned long long)after + 1);
    outbox_batch_clear(b);
    return -1;
}

int outbox_number(struct db *db, int stream, const char *const *peers, size_t n)
{
    char s[12], limit[12], *list = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&list, &len);
    const char *p[] = {s, NULL, limit};

    if (f == NULL)
        return -1;
    /* A text[] literal: a peer is a node's code, digits (config_code_valid),
     * or OUTBOX_UPLINK, "". */
    fputc('{', f);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s\"%s\"", i > 0 ? "," : "", peers[i]);
    fputc('}', f);
    if (fclose(f) != 0) {
        free(list);
        return -1;
    }
    num(s, sizeof(s), (uint64_t)stream);
    num(limit, sizeof(limit), OUTBOX_BATCH);
    p[1] = list;
    int rc = db_exec(db,
                     "WITH last AS (SELECT peer, last_seq FROM outbox_state s"
                     "              WHERE stream = $1 AND peer = ANY ($2::text[])"
                     "              AND EXISTS (SELECT 1 FROM outbox o WHERE o.stream = $1"
                     "                          AND o.peer = s.peer AND o.seq IS NULL) FOR UPDATE),"
                     " next AS (SELECT l.peer, x.id, x.n FROM last l, LATERAL"
                     "          (SELECT id, row_number() OVER (ORDER BY id) AS n FROM outbox"
                     "           WHERE stream = $1 AND peer = l.peer AND seq IS NULL"
                     "           ORDER BY id LIMIT $3) x),"
                     " numbered AS (UPDATE outbox o SET seq = l.last_seq + x.n"
                     "              FROM next x JOIN last l USING (peer) WHERE o.id = x.id"
                     "              RETURNING o.peer)"
                     " UPDATE outbox_state s SET last_seq = s.last_seq + c.n"
                     " FROM (SELECT peer, count(*) AS n FROM numbered GROUP BY peer) c"
                     " WHERE s.stream = $1 AND s.peer = c.peer",
                     3, p);
    free(list);
    return rc;
}

void outbox_batch_clear(struct outbox_batch *b)
{
    PQclear(b->res);
    memset(b, 0, sizeof(*b));
}

const char *outbox_item(const struct outbox_batch *b, size_t i, size_t *len)
{
    *len = (size_t)PQgetlength(b->res, (int)i, 1);
    return PQgetvalue(b->res, (int)i, 1);
}

int outbox_ack(struct db *db, int stream, const char *peer, uint64_t seq)
{
    char s[12], q[24];
    const char *p[] = {s, q, peer};

    num(s, sizeof(s), (uint64_t)stream);
    num(q, sizeof(q), seq);
    /* One round trip: nothing waits for the statements before the commit. */
    if (db_begin(db) < 0 ||
        db_send(db, "DELETE FROM outbox WHERE stream = $1 AND peer = $3 AND seq <= $2", 3, p) < 0 ||
        db_send(db,
                "UPDATE outbox_state SET acked_seq = $2"
                " WHERE stream = $1 AND peer = $3 AND acked_seq < $2",
                3, p) < 0 ||
        db_commit(db) < 0) {
        db_rollback(db);
        return -1;
    }
    return 0;
}

json_t *outbox_peer_queues(struct db *db, int64_t now)
{
    char at[CLOCK_RFC3339_LEN];
    const char *p[] = {at};

    clock_format(now, at);
    PGresult *res = db_query(
        db,
        "SELECT COALESCE(jsonb_agg(jsonb_build_object('peer', q.peer, 'stream',"
        " CASE q.stream WHEN 2 THEN 'down' ELSE q.stream::text END,"
        " 'queued', q.queued, 'in_flight', q.in_flight, 'last_acked', q.acked,"
        " 'lag_seconds', COALESCE(extract(epoch FROM $1::timestamptz - q.oldest), 0)::float8)"
        " ORDER BY q.peer, q.stream), '[]')::text"
        " FROM (SELECT COALESCE(s.peer, o.peer) AS peer, COALESCE(s.stream, o.stream) AS stream,"
        "  COALESCE(o.queued, 0) AS queued, COALESCE(s.last_seq - s.acked_seq, 0) AS in_flight,"
        "  COALESCE(s.acked_seq, 0) AS acked, o.oldest"
        "  FROM outbox_state s FULL JOIN (SELECT stream, peer, count(*) AS queued,"
        "   min(created_at) AS oldest FROM outbox GROUP BY stream, peer) o"
        "   ON o.stream = s.stream AND o.peer = s.peer) q"
        " WHERE q.peer <> ''",
        1, p);

    if (res == NULL)
        return NULL;
    json_t *out = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    PQclear(res);
    return out;
}

int outbox_figures(struct db *db, int stream, const char *peer, int64_t now,
                   struct outbox_figures *f)
{
    char s[12], at[CLOCK_RFC3339_LEN];
    const char *p[] = {s, at, peer};

    num(s, sizeof(s), (uint64_t)stream);
    clock_format(now, at);
    PGresult *res = db_query(db,
                             "SELECT count(*), COALESCE(extract(epoch FROM $2::timestamptz"
                             " - min(created_at)), 0),"
                             " (SELECT acked_seq FROM outbox_state WHERE stream = $1 AND peer = $3)"
                             " FROM outbox WHERE stream = $1 AND peer = $3",
                             3, p);
    if (res == NULL)
        return -1;
    f->queued = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
    f->lag = strtod(PQgetvalue(res, 0, 1), NULL);
    f->acked = PQgetisnull(res, 0, 2) ? 0 : strtoull(PQgetvalue(res, 0, 2), NULL, 10);
    PQclear(res);
    return 0;
}
