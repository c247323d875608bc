/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fresh.h - what a thread keeps of the database between requests, and the
 * proof, sent with the request's first statement, that it is current.
 *
 * A thread may keep a copy of what rarely changes: the principals of the
 * tokens it has seen (auth.h), the active caller restrictions
 * (restriction.h), the emergency list (emergencydb.h) and the calendar
 * (calstore.h).  Each kind has a version in the table cache_versions,
 * moved by trigger in the transaction that changes it; a copy is made at
 * the version the thread knew when it made it.
 *
 * An HTTP worker opens each authenticated request with fresh_begin: if it
 * knows the versions, it trusts its copies without asking, and the
 * versions travel as a guard (db_guard) with the request's first
 * statement, in the same round trip.  If one moved, that statement fails
 * and with it all the request's work, nothing done: fresh_end says so,
 * the thread forgets the versions, and the request is run again, reading
 * what changed.  So a change committed before a request began (a token
 * revoked, a restriction imposed) holds for it, without a round trip of
 * its own.  Outside a request (the clock and link threads, commands) the
 * versions are read at each use.
 */
#ifndef HOTLINE_FRESH_H
#define HOTLINE_FRESH_H

#include "db.h"

/* The kinds, in the order of their columns in cache_versions. */
enum fresh_kind {
    FRESH_CALENDAR,
    FRESH_EMERGENCY,
    FRESH_PRINCIPALS,
    FRESH_RESTRICTIONS,
    FRESH_KINDS
};

/*
 * Opens a request of the calling thread on its connection 'db': sends the
 * versions it knows, if any, as the guard of what follows.  Returns 0, or
 * -1 if the guard could not be sent (logged).
 */
int fresh_begin(struct db *db);

/*
 * The version of 'kind' a copy must have to be used now: in a request,
 * the one the thread knows (read now if it knows none); outside, the
 * database's.  A copy at another version is to be made again, and then
 * has this one.  Returns 0, or -1 if the database failed.
 */
int fresh_version(struct db *db, enum fresh_kind kind, long long *out);

/*
 * Closes the request.  Returns 1 if a version had moved: the request's
 * work was undone and it is to be run again; else 0.
 */
int fresh_end(void);

#endif
