/* SPDX-License-Identifier: Apache-2.0 */
/*
 * statsdb.h - the SQL of statistics, assessment and supervision (Art 16,
 * Art 17): keeping the daily roll-ups of common/sql/050_stats.sql, reading
 * sums of them, and listing the orders the supervision report names.
 *
 * The clock thread refreshes; HTTP workers read.  Reads touch the roll-ups
 * and the events of the period only (ticket_events by `at`), never every
 * ticket.  Days are "YYYY-MM-DD" in Beijing time.
 */
#ifndef HOTLINE_STATSDB_H
#define HOTLINE_STATSDB_H

#include "db.h"
#include "stats.h"

#include <stdint.h>

/* At most this many days are rolled up per call, so that a node starting on
 * a year of data catches up over a few rounds of the clock thread instead of
 * holding it for one long one. */
#define STATSDB_DAYS_PER_ROUND 31

/*
 * Rolls up again, each in its own transaction, the days whose roll-up is
 * missing or out of date at the node's time (stats_stale_days: days not
 * yet final whose events changed or which just ended, days never rolled up
 * since the first event, days a late event made dirty); at most
 * STATSDB_DAYS_PER_ROUND, oldest first.  Returns
 * the number of days rolled up, or -1 (logged; the next call catches up).
 */
int statsdb_refresh(struct db *db);

/* The columns of a statsdb_sum() row after the counters: the node of the
 * row (of reports of several nodes), and the name of the unit or node. */
#define STATSDB_NODE_COLUMN (1 + STATS_COUNTER_COUNT)
#define STATSDB_NAME_COLUMN (2 + STATS_COUNTER_COUNT)

/*
 * The sums of the roll-ups of days 'from' to 'to' (both included), one row
 * per value of 'group', ordered by it: column 0 the value ("" for the
 * totals and for events of no unit), columns 1 to STATS_COUNTER_COUNT the
 * counters, then the node (always NULL here) and the unit's name (NULL
 * unless grouped by unit).  'excluded' is an array literal of the
 * categories the satisfaction rate leaves out, "{a,b}".  Returns the result
 * (PQclear it), or NULL on error.
 */
PGresult *statsdb_sum(struct db *db, const char *from, const char *to, enum stats_group group,
                      const char *excluded);

/*
 * Every unit of 'node' with the sums of its roll-ups for days 'from' to
 * 'to', ordered by code: column 0 the code, 1 the name, 2 the code again
 * (NULL for a unit without events), 3 to STATS_COUNTER_COUNT + 2 the
 * counters (NULL for a unit without events).
 * Returns the result, or NULL on error.
 */
PGresult *statsdb_units(struct db *db, const char *from, const char *to, const char *node,
                        const char *excluded);

/* Reads the counters of row 'row' starting at column 'col' into 'f'; NULL
 * counts as 0. */
void statsdb_figures(PGresult *res, int row, int col, struct stats_figures *f);

/* The sections of the supervision report drawn from the events. */
enum statsdb_section {
    STATSDB_SUPERVISED,          /* 督办: a manager flagged the order */
    STATSDB_IMPROPER_RETURN,     /* a return the manager refused */
    STATSDB_REPEATED_EXTENSIONS, /* the second approved extension */
    STATSDB_SECTION_COUNT
};

/* "supervised", "improper_returns", "repeated_extensions". */
const char *statsdb_section_name(enum statsdb_section s);

/*
 * The orders of the supervision report whose event falls in days 'from' to
 * 'to', by section, then time: column 0 the section number, 1 the ticket,
 * 2 the time (microseconds), 3 the unit holding it ("" if none), 4 who
 * decided, 5 the unit's reason for its request (NULL for supervision), 6
 * the manager's note.  Returns the result, or NULL on error.
 */
PGresult *statsdb_supervision(struct db *db, const char *from, const char *to);

#endif
