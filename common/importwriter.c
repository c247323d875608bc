/* SPDX-License-Identifier: Apache-2.0 */
/*
 * importwriter.c - the thread that writes the batches of `city-node import`.
 *
 * The command's thread reads, checks and lays out a batch (importdb.c) and
 * hands it here; while this thread has the server load it, in one
 * transaction on this thread's own connection, the command's thread goes
 * on with the next one.  So the two take turns no longer: the import's own
 * work and the server's overlap, each on its core.  The hand-over is a
 * pair of inproc sockets, each end used by one thread: the job is a
 * pointer to the batch, which the command's thread owns and leaves alone
 * until the answer (0 or -1) comes back.  One batch at most is in flight.
 *
 * A batch that fails is rolled back whole; the command then stops, and a
 * new run goes on from the checkpoint of the last batch committed.
 */
#include "importwriter.h"

#include "clock.h"
#include "db.h"
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <zmq.h>

#define ENDPOINT "inproc://import-writer"

#define TICKET_COLUMNS                                                                             \
    "id, status, kind, channel, category, content, citizen_type, citizen_pii, pii_key_id,"         \
    " phone_hash, division, address, lat, long, unit_code, received_at, deadline, provisional,"    \
    " returns, extensions, no_return, due_soon, overdue, supervised, pending, outcome,"            \
    " owner_node, version, created_at, updated_at, redos, rating_due, rated, content_grams,"       \
    " event_seq, event_hash, source, legacy_id"

struct importwriter {
    struct db *db; /* the thread's */
    void *zmq;
    void *command_end; /* the command's thread's */
    void *writer_end;  /* this thread's */
    pthread_t thread;
    int started;
    int in_flight;
};

/* The deadlines in force at the approvals a later redo moved on: the
 * trigger on ticket_events took the ticket's deadline as imported. */
static int approvals_fix(struct db *db, const struct importwriter_rows *approvals)
{
    if (approvals->len == 0)
        return 0;
    return db_exec(db,
                   "CREATE TEMPORARY TABLE IF NOT EXISTS import_approvals"
                   " (ticket_id text, seq integer, deadline timestamptz) ON COMMIT DELETE ROWS",
                   0, NULL) < 0 ||
                   db_copy(db, "COPY import_approvals FROM STDIN", approvals->data,
                           approvals->len) < 0 ||
                   db_exec(db,
                           "UPDATE stats_completions c SET deadline = a.deadline"
                           " FROM import_approvals a"
                           " WHERE c.ticket_id = a.ticket_id AND c.seq = a.seq",
                           0, NULL) < 0
               ? -1
               : 0;
}

/* The batch's rows, if it has any. */
static int rows_copy(struct db *db, const struct importwriter_batch *b)
{
    if (b->tickets.len == 0)
        return 0;
    return db_copy(db, "COPY tickets (" TICKET_COLUMNS ") FROM STDIN", b->tickets.data,
                   b->tickets.len) < 0 ||
                   db_copy(db,
                           "COPY ticket_events (ticket_id, seq, at, actor, role, action,"
                           " from_status, to_status, reason, detail, prev_hash, hash) FROM STDIN",
                           b->events.data, b->events.len) < 0 ||
                   (b->ratings.len > 0 &&
                    db_copy(db,
                            "COPY ticket_ratings (ticket_id, round, intake, handling, comment,"
                            " by_whom, at) FROM STDIN",
                            b->ratings.data, b->ratings.len) < 0) ||
                   db_copy(db, "COPY outbox (stream, body, created_at) FROM STDIN", b->outbox.data,
                           b->outbox.len) < 0 ||
                   approvals_fix(db, &b->approvals) < 0 || db_exec(db, "NOTIFY outbox", 0, NULL) < 0
               ? -1
               : 0;
}

static int checkpoint_save(struct db *db, const struct importwriter_batch *b)
{
    char offset[24], line[24], imported[24], refused[24], at[CLOCK_RFC3339_LEN];
    const char *p[] = {b->key, offset, line, imported, refused, at};

    if (b->key[0] == '\0')
        return 0;
    snprintf(offset, sizeof(offset), "%lld", (long long)b->offset);
    snprintf(line, sizeof(line), "%lld", b->line);
    snprintf(imported, sizeof(imported), "%lld", b->imported);
    snprintf(refused, sizeof(refused), "%lld", b->refused);
    clock_format(b->now, at);
    return db_exec(db,
                   "INSERT INTO import_checkpoints (file, byte_offset, line, imported, refused,"
                   " updated_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (file) DO UPDATE"
                   " SET byte_offset = $2, line = $3, imported = $4, refused = $5,"
                   " updated_at = $6",
                   6, p);
}

/* Writes 'b' in one transaction.  Returns 0, or -1 with nothing written. */
static int batch_write(struct db *db, const struct importwriter_batch *b)
{
    if (db_begin(db) < 0)
        return -1;
    if (rows_copy(db, b) < 0 || checkpoint_save(db, b) < 0 || db_commit(db) < 0) {
        db_rollback(db);
        return -1;
    }
    return 0;
}

static int send_all(void *socket, const void *data, size_t len)
{
    int n;

    while ((n = zmq_send(socket, data, len, 0)) < 0 && zmq_errno() == EINTR)
        ;
    return n == (int)len ? 0 : -1;
}

static int recv_all(void *socket, void *data, size_t len)
{
    int n;

    while ((n = zmq_recv(socket, data, len, 0)) < 0 && zmq_errno() == EINTR)
        ;
    return n == (int)len ? 0 : -1;
}

static void *writer_main(void *arg)
{
    struct importwriter *w = arg;
    struct importwriter_batch *b;

    while (recv_all(w->writer_end, &b, sizeof(b)) == 0 && b != NULL) {
        int rc = batch_write(w->db, b);
        if (send_all(w->writer_end, &rc, sizeof(rc)) < 0)
            break;
    }
    return NULL;
}

static void *pair_end(void *zmq)
{
    void *s = zmq_socket(zmq, ZMQ_PAIR);
    int zero = 0;

    if (s != NULL && zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero)) != 0) {
        zmq_close(s);
        return NULL;
    }
    return s;
}

struct importwriter *importwriter_start(const char *conninfo)
{
    struct importwriter *w = calloc(1, sizeof(*w));

    if (w == NULL)
        return NULL;
    w->db = db_connect(conninfo, 0);
    w->zmq = zmq_ctx_new();
    w->command_end = w->zmq != NULL ? pair_end(w->zmq) : NULL;
    w->writer_end = w->zmq != NULL ? pair_end(w->zmq) : NULL;
    if (w->db == NULL || w->command_end == NULL || w->writer_end == NULL ||
        zmq_bind(w->command_end, ENDPOINT) != 0 || zmq_connect(w->writer_end, ENDPOINT) != 0 ||
        pthread_create(&w->thread, NULL, writer_main, w) != 0) {
        log_warnx("cannot start the import's writing thread");
        importwriter_free(&w);
        return NULL;
    }
    w->started = 1;
    return w;
}

int importwriter_submit(struct importwriter *w, struct importwriter_batch *b)
{
    if (w->in_flight || send_all(w->command_end, &b, sizeof(b)) < 0) {
        log_warnx("cannot hand a batch to the import's writing thread");
        return -1;
    }
    w->in_flight = 1;
    return 0;
}

int importwriter_wait(struct importwriter *w)
{
    int rc = 0;

    if (!w->in_flight)
        return 0;
    w->in_flight = 0;
    if (recv_all(w->command_end, &rc, sizeof(rc)) < 0) {
        log_warnx("no answer from the import's writing thread");
        return -1;
    }
    return rc;
}

void importwriter_free(struct importwriter **w)
{
    struct importwriter *p = *w;
    struct importwriter_batch *stop = NULL;

    if (p == NULL)
        return;
    if (p->started) {
        (void)importwriter_wait(p);
        /* Without the stop, ending the context wakes the thread all the same. */
        if (send_all(p->command_end, &stop, sizeof(stop)) < 0)
            zmq_ctx_shutdown(p->zmq);
        pthread_join(p->thread, NULL);
    }
    if (p->command_end != NULL)
        zmq_close(p->command_end);
    if (p->writer_end != NULL)
        zmq_close(p->writer_end);
    if (p->zmq != NULL)
        zmq_ctx_term(p->zmq);
    db_free(p->db);
    free(p);
    *w = NULL;
}
