/* SPDX-License-Identifier: Apache-2.0 */
/*
 * db.h - PostgreSQL through libpq: connect with retry, parameterised
 * queries, transactions and schema migrations.
 *
 * A struct db is one connection used by one thread.  SQL text is always a
 * constant; every value travels as a parameter.
 */
#ifndef HOTLINE_DB_H
#define HOTLINE_DB_H

#include <libpq-fe.h>
#include <stddef.h>

struct db;

/* How long a starting thread waits for the database to come up. */
#define DB_WAIT_SECONDS 30

struct migration {
    int version;
    const char *name;
    const char *sql;
};

/*
 * Connects with 'conninfo', retrying for up to 'wait_seconds' (0: once)
 * while the server is down or starting; a server that refuses the
 * connection fails at once.  Returns a ready connection, or NULL with the
 * reason logged.
 */
struct db *db_connect(const char *conninfo, int wait_seconds);

/*
 * As db_connect, for a thread that must run whether or not the database
 * takes it now: tries once and, if that fails (logged), returns the
 * connection anyway; its statements fail until db_alive() finds the server
 * willing.  NULL only when out of memory.
 */
struct db *db_open(const char *conninfo);

/* Closes the connection; db_free(NULL) does nothing. */
void db_free(struct db *db);

/*
 * The calling thread's own connection, made on first use and closed when the
 * thread exits; reconnects if the server went away.  Returns NULL (logged)
 * if the database cannot be reached now.
 */
struct db *db_thread(const char *conninfo);

/*
 * Subscribes the connection to notifications on 'channel' (a constant) and
 * returns the socket to poll for them, or -1.
 */
int db_listen(struct db *db, const char *channel);

/* A LISTEN kept across reconnections: the socket to poll, or -1 for now. */
struct db_listener {
    struct db *db;
    const char *channel;
    int fd;
    unsigned resets;
};

/* Checks the connection and (re)subscribes when needed.  Returns the socket
 * to poll, or -1 while the database is away. */
int db_listener_fd(struct db_listener *l);

/* How many times the connection was made anew (a LISTEN does not survive
 * it, and its socket changes). */
unsigned db_resets(const struct db *db);

/*
 * Reads what the server sent, without waiting, and drops the notifications
 * received: those the socket announces, and those libpq already read while
 * the connection ran a statement (its own NOTIFY comes back with its
 * COMMIT), which the socket does not announce.  Call it after the
 * connection's statements, whatever woke the caller.  Returns how many
 * there were, or -1 if the connection broke.
 */
int db_notifications(struct db *db);

/* Returns 1 if the connection is up, trying one reset if it is not. */
int db_alive(struct db *db);

enum db_presence {
    DB_HERE,          /* the server is there (or the thread has no connection) */
    DB_LOST,          /* it went away: what the open transaction did is undone */
    DB_LOST_IN_COMMIT /* it went away during a COMMIT, which may or may not be done */
};

/*
 * Tells whether the calling thread's own connection (db_thread) lost its
 * server: it is broken, or its last failed statement was refused because
 * the server ended the session or is shutting down (SQLSTATE classes 08
 * and 57P), and whether that happened while the last transaction's
 * COMMIT awaited its answer (until the next db_begin).
 */
enum db_presence db_thread_lost(void);

/*
 * Runs 'sql' with 'n' text parameters (NULL for SQL NULL).  Returns the
 * result, which the caller frees with PQclear, or NULL on error (logged
 * without the parameters' values).
 */
PGresult *db_query(struct db *db, const char *sql, int n, const char *const *params);

/*
 * Sends 'sql' without waiting for its answer: for a statement of a
 * transaction whose result is not needed and whose failure fails the
 * transaction.  The next statement that waits (db_query and the functions
 * built on it, db_commit) travels in the same round trip and fails if one
 * sent before it failed (reported); db_rollback discards them.  Returns 0,
 * or -1 if it could not be sent.  db_begin sends its BEGIN this way.
 */
int db_send(struct db *db, const char *sql, int n, const char *const *params);

/* Waits for the answers of the statements sent.  Returns 0, or -1 if one
 * failed (reported). */
int db_wait(struct db *db);

/*
 * Sends 'sql' as db_send does, as the guard of the statements that follow:
 * a statement that fails with SQLSTATE HC001 when what the caller assumed
 * of the database no longer holds.  It travels with the next statement
 * that waits; if it fails, the server skips what was sent after it, and
 * every statement the caller tries afterwards fails at once (SQLSTATE
 * HC001, not logged) until db_guard_end: nothing of the guarded work is
 * done.  The guard runs in the transaction of the statements sent with it,
 * so that transaction cannot set its isolation level.  Returns 0, or -1 if
 * it could not be sent.
 */
int db_guard(struct db *db, const char *sql, int n, const char *const *params);

/* Ends the guard: collects what was left unanswered.  Returns 1 if the
 * guard failed, else 0 (also when there was none). */
int db_guard_end(struct db *db);

/* As db_query, for statements whose result is not needed.  Returns 0 or -1. */
int db_exec(struct db *db, const char *sql, int n, const char *const *params);

/* As db_exec, for statements whose count of changed rows matters.  Returns
 * that count, or -1 on error (logged). */
long long db_changed(struct db *db, const char *sql, int n, const char *const *params);

/*
 * Runs 'fn' inside a savepoint of the open transaction.  'fn' returns 0
 * when done, 1 when what it was given is unusable, -1 on failure.  A
 * failure on the data (SQLSTATE classes 22 and 23: a value or a constraint
 * the database refuses), or one after which no statement had failed,
 * counts as unusable; unusable work is undone.  The savepoint and its
 * release are sent without waiting (db_send).
 * Returns 0, 1, or -1 when the database itself failed.
 */
int db_attempt(struct db *db, int (*fn)(void *arg, struct db *db), void *arg);

/*
 * Runs 'sql', a COPY ... FROM STDIN in text format, with the 'len' bytes of
 * 'data' (rows of tab-separated, escaped columns, each ending in a newline;
 * 'len' below 2 GiB).  Returns 0, or -1 (logged without the data); inside a
 * transaction a failure leaves it aborted.
 */
int db_copy(struct db *db, const char *sql, const char *data, size_t len);

/* The SQLSTATE of the last failed statement, "" if none. */
const char *db_sqlstate(const struct db *db);

/* Opens a transaction; commits it.  Each returns 0, or -1 (logged); after a
 * failed commit nothing of the transaction remains, unless the server went
 * away before answering it (see db_thread_lost). */
int db_begin(struct db *db);
int db_commit(struct db *db);
/* Rolls back; errors are logged and otherwise ignored. */
void db_rollback(struct db *db);

/*
 * Applies, in version order and each in its own transaction, the migrations
 * of 'list' not yet recorded in schema_migrations.  Concurrent callers on the
 * same database wait for each other.  Returns the number applied, or -1.
 */
int db_migrate(struct db *db, const struct migration *list, size_t n);

#endif
