/* SPDX-License-Identifier: Apache-2.0 */
/*
 * db.c - the only code that talks to libpq.
 *
 * Each thread owns its connections: the main thread for init and migrations,
 * each HTTP worker one through db_thread(), the link thread its own.  When
 * the server goes away a statement fails, the caller answers with an error,
 * and the next use resets the connection.
 *
 * A connection prepares each statement text the first time it runs it and
 * afterwards only binds and executes it: the server parses and plans it
 * once per connection instead of at every call (an intake runs some twenty
 * statements).  Texts are few, the code's constants; past PREPARED_MAX the
 * rest run unprepared.
 *
 * Statements whose answer is not needed (db_send) go out in libpq's
 * pipeline mode and their answers are collected by the next statement that
 * waits, which travels in the same pipeline: a transaction of many writes
 * costs one round trip to the server instead of one per statement.
 *
 * A guard (db_guard) is such a statement that states a precondition of
 * what follows, checked by the server in the same round trip as the
 * statements after it: when it fails, the server skips them, and every
 * statement the caller tries afterwards fails here until the guard ends.
 */
#include "db.h"

#include "clock.h"
#include "log.h"

#include <pthread.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PREPARED_SLOTS 512 /* a power of two */
#define PREPARED_MAX   (PREPARED_SLOTS / 2)

/* A statement prepared on the connection as "p<slot>". */
struct prepared {
    char *sql; /* NULL: a free slot */
    uint64_t hash;
};

struct db {
    PGconn *conn;
    char sqlstate[6];
    unsigned resets;
    struct prepared *prepared; /* PREPARED_SLOTS, made on first use */
    unsigned nprepared;
    int in_doubt; /* the server went away during the last COMMIT */
    int sent;     /* statements sent (db_send) whose answers are not collected */
    int guarded;  /* a guard was sent (db_guard) and not ended */
    int voided;   /* the guard failed: every statement fails until it ends */
};

/* The SQLSTATE a guard fails with (cache_versions_check). */
#define GUARD_SQLSTATE "HC001"

static int collect(struct db *db, PGresult **last);

/* Keeps migrations of concurrent node starts from interleaving. */
#define MIGRATION_LOCK_KEY "4412345"

/* Server notices ("relation already exists, skipping") are not worth a line. */
static void on_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

struct db *db_connect(const char *conninfo, int wait_seconds)
{
    struct db *db = calloc(1, sizeof(*db));
    int64_t deadline = clock_mono_ms() + (int64_t)wait_seconds * 1000;

    if (db == NULL)
        return NULL;
    for (;;) {
        db->conn = PQconnectdb(conninfo);
        if (PQstatus(db->conn) == CONNECTION_OK) {
            PQsetNoticeProcessor(db->conn, on_notice, NULL);
            return db;
        }
        /* A server that answers but refuses (no such database, bad
         * credentials) will not change its mind: only wait for one that is
         * down or starting. */
        if (clock_mono_ms() >= deadline || PQping(conninfo) == PQPING_OK)
            break;
        PQfinish(db->conn);
        usleep(200 * 1000);
    }
    log_warnx("cannot connect to the database: %s", PQerrorMessage(db->conn));
    db_free(db);
    return NULL;
}

struct db *db_open(const char *conninfo)
{
    struct db *db = calloc(1, sizeof(*db));

    if (db == NULL || (db->conn = PQconnectdb(conninfo)) == NULL) {
        free(db);
        return NULL;
    }
    PQsetNoticeProcessor(db->conn, on_notice, NULL);
    if (PQstatus(db->conn) != CONNECTION_OK)
        log_warnx("database unavailable for now: %s", PQerrorMessage(db->conn));
    return db;
}

/* The server forgot the connection's prepared statements: so does the table. */
static void prepared_forget(struct db *db)
{
    for (size_t i = 0; db->prepared != NULL && i < PREPARED_SLOTS; i++) {
        free(db->prepared[i].sql);
        db->prepared[i].sql = NULL;
    }
    db->nprepared = 0;
}

void db_free(struct db *db)
{
    if (db == NULL)
        return;
    PQfinish(db->conn);
    prepared_forget(db);
    free(db->prepared);
    free(db);
}

static pthread_key_t thread_key;
static pthread_once_t thread_key_once = PTHREAD_ONCE_INIT;

static void thread_db_free(void *p)
{
    db_free(p);
}

static void thread_key_make(void)
{
    pthread_key_create(&thread_key, thread_db_free);
}

struct db *db_thread(const char *conninfo)
{
    pthread_once(&thread_key_once, thread_key_make);
    struct db *db = pthread_getspecific(thread_key);

    if (db != NULL)
        return db_alive(db) ? db : NULL;
    db = db_connect(conninfo, 0);
    if (db != NULL)
        pthread_setspecific(thread_key, db);
    return db;
}

int db_listen(struct db *db, const char *channel)
{
    char sql[96];

    snprintf(sql, sizeof(sql), "LISTEN %s", channel);
    return db_exec(db, sql, 0, NULL) < 0 ? -1 : PQsocket(db->conn);
}

int db_listener_fd(struct db_listener *l)
{
    if (l->fd >= 0 && l->resets == l->db->resets && PQstatus(l->db->conn) == CONNECTION_OK)
        return l->fd;
    l->fd = -1;
    if (!db_alive(l->db))
        return -1;
    l->resets = l->db->resets;
    l->fd = db_listen(l->db, l->channel);
    return l->fd;
}

unsigned db_resets(const struct db *db)
{
    return db->resets;
}

int db_notifications(struct db *db)
{
    PGnotify *n;
    int count = 0;

    if (PQconsumeInput(db->conn) == 0)
        return -1;
    while ((n = PQnotifies(db->conn)) != NULL) {
        PQfreemem(n);
        count++;
    }
    return count;
}

/* Has the server closed an idle connection (its backend was ended)?  libpq
 * sees it only when a statement fails; the socket says so at once. */
static int closed_by_server(PGconn *conn)
{
    struct pollfd p = {.fd = PQsocket(conn), .events = POLLIN | POLLRDHUP};

    return PQtransactionStatus(conn) == PQTRANS_IDLE && p.fd >= 0 && poll(&p, 1, 0) == 1 &&
           (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

/* Did the statement that just failed fail because the server went away? */
static int server_lost(const struct db *db)
{
    return PQstatus(db->conn) != CONNECTION_OK || strncmp(db->sqlstate, "08", 2) == 0 ||
           strncmp(db->sqlstate, "57P", 3) == 0;
}

enum db_presence db_thread_lost(void)
{
    pthread_once(&thread_key_once, thread_key_make);
    const struct db *db = pthread_getspecific(thread_key);

    if (db == NULL)
        return DB_HERE;
    if (db->in_doubt)
        return DB_LOST_IN_COMMIT;
    return server_lost(db) ? DB_LOST : DB_HERE;
}

int db_alive(struct db *db)
{
    /* Left by a caller that neither committed nor rolled back; a guard's
     * statements wait for the work they guard. */
    if (!db->guarded)
        (void)collect(db, NULL);
    if (PQstatus(db->conn) == CONNECTION_OK && !closed_by_server(db->conn))
        return 1;
    PQreset(db->conn);
    db->resets++;
    prepared_forget(db);
    /* A guard sent on the old connection was never checked. */
    db->voided = db->guarded;
    if (PQstatus(db->conn) == CONNECTION_OK) {
        log_info("reconnected to the database");
        return 1;
    }
    return 0;
}

/* Logs a failed statement.  Data exceptions (class 22) echo their input, so
 * only their code is logged. */
static void db_report(struct db *db, const PGresult *res)
{
    const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *primary = res != NULL ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;

    snprintf(db->sqlstate, sizeof(db->sqlstate), "%s", state != NULL ? state : "08000");
    if (db->guarded && strcmp(db->sqlstate, GUARD_SQLSTATE) == 0) {
        /* Expected now and then: the caller does its work again. */
        db->voided = 1;
        log_debug("a guard failed: the work it guarded is undone");
        return;
    }
    if (strncmp(db->sqlstate, "22", 2) == 0 || primary == NULL)
        log_warnx("database error '%s'", db->sqlstate);
    else
        log_warnx("database error '%s': %s", db->sqlstate, primary);
}

static uint64_t sql_hash(const char *sql)
{
    uint64_t h = 14695981039346656037ull; /* FNV-1a */

    for (const unsigned char *c = (const unsigned char *)sql; *c != '\0'; c++)
        h = (h ^ *c) * 1099511628211ull;
    return h;
}

/* The slot of 'sql': the one holding it, or the free one where it goes.
 * NULL when the table cannot be made or is full. */
static struct prepared *prepared_slot(struct db *db, const char *sql, uint64_t hash)
{
    if (db->prepared == NULL &&
        (db->prepared = calloc(PREPARED_SLOTS, sizeof(*db->prepared))) == NULL)
        return NULL;
    for (size_t i = hash & (PREPARED_SLOTS - 1);; i = (i + 1) & (PREPARED_SLOTS - 1)) {
        struct prepared *slot = &db->prepared[i];
        if (slot->sql == NULL)
            return db->nprepared < PREPARED_MAX ? slot : NULL;
        if (slot->hash == hash && strcmp(slot->sql, sql) == 0)
            return slot;
    }
}

/* The name the statement of 'slot' is prepared under. */
static void statement_name(const struct db *db, const struct prepared *slot, char name[16])
{
    snprintf(name, 16, "p%u", (unsigned)(slot - db->prepared));
}

/* The slot of 'sql', prepared on the connection (outside pipeline mode)
 * if it was not; NULL when it is to run unprepared.  A failed preparation
 * is the statement's failure: its result is left in 'error'. */
static struct prepared *prepare(struct db *db, const char *sql, int n, PGresult **error)
{
    uint64_t hash = sql_hash(sql);
    struct prepared *slot = prepared_slot(db, sql, hash);
    char *copy;

    *error = NULL;
    if (slot == NULL || slot->sql != NULL)
        return slot;
    if ((copy = strdup(sql)) == NULL)
        return NULL;
    char name[16];
    statement_name(db, slot, name);
    PGresult *res = PQprepare(db->conn, name, sql, n, NULL);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        free(copy);
        *error = res;
        return NULL;
    }
    PQclear(res);
    *slot = (struct prepared){copy, hash};
    db->nprepared++;
    return slot;
}

/* Runs 'sql' and waits for its answer; nothing may be left uncollected. */
static PGresult *run(struct db *db, const char *sql, int n, const char *const *params)
{
    PGresult *error;
    struct prepared *slot = prepare(db, sql, n, &error);
    char name[16];

    if (error != NULL)
        return error;
    if (slot == NULL)
        return PQexecParams(db->conn, sql, n, NULL, params, NULL, NULL, 0);
    statement_name(db, slot, name);
    return PQexecPrepared(db->conn, name, n, params, NULL, NULL, 0);
}

/* Sends 'sql' in pipeline mode, as the statement prepared in 'slot' or,
 * with none, unprepared.  Returns 1, or 0 if it could not be sent. */
static int pipe_send(struct db *db, const struct prepared *slot, const char *sql, int n,
                     const char *const *params)
{
    char name[16];

    if (PQpipelineStatus(db->conn) == PQ_PIPELINE_OFF && PQenterPipelineMode(db->conn) != 1)
        return 0;
    if (slot == NULL)
        return PQsendQueryParams(db->conn, sql, n, NULL, params, NULL, NULL, 0);
    statement_name(db, slot, name);
    return PQsendQueryPrepared(db->conn, name, n, params, NULL, NULL, 0);
}

/*
 * Collects, in order, the answers of the statements sent, and leaves
 * pipeline mode.  With 'last', the final statement's result is handed over
 * there when all succeeded.  Returns 0, or -1 with the first failure
 * reported (those after it were skipped by the server).
 */
static int collect(struct db *db, PGresult **last)
{
    int ok = 1;

    if (last != NULL)
        *last = NULL;
    if (PQpipelineStatus(db->conn) == PQ_PIPELINE_OFF) {
        db->sent = 0; /* a reset connection left pipeline mode with them */
        return 0;
    }
    int synced = PQpipelineSync(db->conn) == 1;
    if (!synced) {
        db_report(db, NULL);
        ok = 0;
    }
    for (int left = db->sent;;) {
        PGresult *res = PQgetResult(db->conn);
        if (res == NULL) {
            /* The end of one statement's answer, or of the connection. */
            if (PQstatus(db->conn) != CONNECTION_OK) {
                if (ok)
                    db_report(db, NULL);
                ok = 0;
                break;
            }
            if (synced || left > 0)
                continue;
            break;
        }
        ExecStatusType st = PQresultStatus(res);
        if (st == PGRES_PIPELINE_SYNC) {
            PQclear(res);
            break;
        }
        left--;
        if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
            if (ok && st != PGRES_PIPELINE_ABORTED)
                db_report(db, res);
            ok = 0;
        } else if (ok && left == 0 && last != NULL) {
            *last = res;
            res = NULL;
        }
        PQclear(res);
    }
    db->sent = 0;
    (void)PQexitPipelineMode(db->conn);
    if (!ok && last != NULL) {
        PQclear(*last);
        *last = NULL;
    }
    return ok ? 0 : -1;
}

/* After a failed guard: no statement runs until it ends. */
static int voided(struct db *db)
{
    if (db->voided)
        snprintf(db->sqlstate, sizeof(db->sqlstate), "%s", GUARD_SQLSTATE);
    return db->voided;
}

int db_send(struct db *db, const char *sql, int n, const char *const *params)
{
    if (voided(db))
        return -1;
    struct prepared *slot = prepared_slot(db, sql, sql_hash(sql));

    if (slot != NULL && slot->sql == NULL) {
        /* Prepared once per connection, outside the pipeline. */
        PGresult *error;
        if (collect(db, NULL) < 0)
            return -1;
        slot = prepare(db, sql, n, &error);
        if (error != NULL) {
            db_report(db, error);
            PQclear(error);
            return -1;
        }
    }
    if (!pipe_send(db, slot, sql, n, params)) {
        db_report(db, NULL);
        collect(db, NULL);
        return -1;
    }
    db->sent++;
    return 0;
}

int db_wait(struct db *db)
{
    return collect(db, NULL);
}

int db_guard(struct db *db, const char *sql, int n, const char *const *params)
{
    db->guarded = 1;
    db->voided = 0;
    if (db_send(db, sql, n, params) == 0)
        return 0;
    db->guarded = 0;
    return -1;
}

int db_guard_end(struct db *db)
{
    if (!db->guarded)
        return 0;
    (void)collect(db, NULL);
    int failed = db->voided;
    db->guarded = 0;
    db->voided = 0;
    return failed;
}

/* Runs 'sql' after the statements sent, in the same round trip; a failure
 * of one of those is its failure (reported). */
static PGresult *run_after_sent(struct db *db, const char *sql, int n, const char *const *params)
{
    PGresult *res;

    if (db_send(db, sql, n, params) < 0 || collect(db, &res) < 0)
        return NULL;
    return res;
}

PGresult *db_query(struct db *db, const char *sql, int n, const char *const *params)
{
    if (voided(db))
        return NULL;
    if (db->sent > 0) {
        PGresult *res = run_after_sent(db, sql, n, params);
        if (res != NULL)
            db->sqlstate[0] = '\0';
        return res;
    }
    PGresult *res = run(db, sql, n, params);
    ExecStatusType st = PQresultStatus(res);

    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
        db->sqlstate[0] = '\0';
        return res;
    }
    db_report(db, res);
    PQclear(res);
    return NULL;
}

int db_exec(struct db *db, const char *sql, int n, const char *const *params)
{
    PGresult *res = db_query(db, sql, n, params);

    PQclear(res);
    return res != NULL ? 0 : -1;
}

long long db_changed(struct db *db, const char *sql, int n, const char *const *params)
{
    PGresult *res = db_query(db, sql, n, params);

    if (res == NULL)
        return -1;
    long long changed = atoll(PQcmdTuples(res));
    PQclear(res);
    return changed;
}

int db_copy(struct db *db, const char *sql, const char *data, size_t len)
{
    if (voided(db) || collect(db, NULL) < 0)
        return -1;
    PGresult *res = PQexec(db->conn, sql);

    if (PQresultStatus(res) != PGRES_COPY_IN) {
        db_report(db, res);
        PQclear(res);
        return -1;
    }
    PQclear(res);
    /* libpq sends in pieces of its own; a large piece is still one call. */
    int sent = len == 0 || PQputCopyData(db->conn, data, (int)len) == 1;
    if (PQputCopyEnd(db->conn, sent ? NULL : "the data could not be sent") != 1)
        sent = 0;
    int ok = 1;
    while ((res = PQgetResult(db->conn)) != NULL) {
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            db_report(db, res);
            ok = 0;
        }
        PQclear(res);
    }
    if (ok && sent)
        db->sqlstate[0] = '\0';
    return ok && sent ? 0 : -1;
}

const char *db_sqlstate(const struct db *db)
{
    return db->sqlstate;
}

int db_attempt(struct db *db, int (*fn)(void *arg, struct db *db), void *arg)
{
    /* Sent without waiting, as its release: each travels with the next
     * statement, and a message costs no round trip of its own for them. */
    if (db_send(db, "SAVEPOINT attempt", 0, NULL) < 0)
        return -1;
    int rc = fn(arg, db);
    /* What it sent is its work too, and must be answered before a rollback. */
    if (db_wait(db) < 0 && rc == 0)
        rc = -1;
    /* Refused data, or a failure that was no statement's: the message's. */
    if (rc < 0 && (strncmp(db->sqlstate, "22", 2) == 0 || strncmp(db->sqlstate, "23", 2) == 0 ||
                   db->sqlstate[0] == '\0'))
        rc = 1;
    if (rc > 0 && db_exec(db, "ROLLBACK TO SAVEPOINT attempt", 0, NULL) < 0)
        return -1;
    /* Released, so a batch of many messages does not nest as many savepoints. */
    if (rc >= 0 && db_send(db, "RELEASE SAVEPOINT attempt", 0, NULL) < 0)
        return -1;
    return rc;
}

int db_begin(struct db *db)
{
    db->in_doubt = 0;
    return db_send(db, "BEGIN", 0, NULL);
}

int db_commit(struct db *db)
{
    if (db_exec(db, "COMMIT", 0, NULL) == 0)
        return 0;
    /* Sent, but no answer came back: the server may have committed it
     * before it went away (SQLSTATE 08007, transaction resolution unknown). */
    db->in_doubt = server_lost(db);
    return -1;
}

void db_rollback(struct db *db)
{
    (void)collect(db, NULL);
    if (PQtransactionStatus(db->conn) != PQTRANS_IDLE)
        (void)db_exec(db, "ROLLBACK", 0, NULL);
}

/* Runs one migration script; scripts are compiled in, never user input. */
static int db_script(struct db *db, const char *sql)
{
    if (collect(db, NULL) < 0)
        return -1;
    PGresult *res = PQexec(db->conn, sql);
    ExecStatusType st = PQresultStatus(res);

    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        db_report(db, res);
        PQclear(res);
        return -1;
    }
    PQclear(res);
    return 0;
}

static int migration_applied(struct db *db, int version)
{
    char v[16];
    const char *p[] = {v};

    snprintf(v, sizeof(v), "%d", version);
    PGresult *res = db_query(db, "SELECT 1 FROM schema_migrations WHERE version = $1", 1, p);
    if (res == NULL)
        return -1;
    int found = PQntuples(res) > 0;
    PQclear(res);
    return found;
}

static int migrate_locked(struct db *db, const struct migration *list, size_t n)
{
    int applied = 0;

    if (db_exec(db,
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version integer PRIMARY KEY, name text NOT NULL,"
                " applied_at timestamptz NOT NULL)",
                0, NULL) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const struct migration *m = &list[i];
        char v[16], at[CLOCK_RFC3339_LEN];
        const char *p[] = {v, m->name, at};

        int found = migration_applied(db, m->version);
        if (found < 0)
            return -1;
        if (found)
            continue;
        snprintf(v, sizeof(v), "%d", m->version);
        clock_format(clock_now_us(), at);
        if (db_begin(db) < 0 || db_script(db, m->sql) < 0 ||
            db_exec(db, "INSERT INTO schema_migrations VALUES ($1, $2, $3)", 3, p) < 0 ||
            db_commit(db) < 0) {
            log_warnx("migration %d '%s' failed", m->version, m->name);
            db_rollback(db);
            return -1;
        }
        log_info("applied migration %d '%s'", m->version, m->name);
        applied++;
    }
    return applied;
}

int db_migrate(struct db *db, const struct migration *list, size_t n)
{
    if (db_exec(db, "SELECT pg_advisory_lock(" MIGRATION_LOCK_KEY ")", 0, NULL) < 0)
        return -1;
    int applied = migrate_locked(db, list, n);
    (void)db_exec(db, "SELECT pg_advisory_unlock(" MIGRATION_LOCK_KEY ")", 0, NULL);
    return applied;
}
