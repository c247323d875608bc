/* SPDX-License-Identifier: Apache-2.0 */
/*
 * statsdb.c - SQL of the roll-ups and of the reports drawn from them.
 *
 * statsdb_refresh() runs in the clock thread, once a round, on its own
 * connection; it only calls the functions of 050_stats.sql, which hold
 * the rules of counting (so the benchmark in tests/bench runs the very
 * same SQL).  A failed day is rolled back and tried again next round; the
 * figures then lag, nothing is lost.  The reads run in HTTP workers.
 */
#include "statsdb.h"

#include "clock.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>

#define US(col) "(extract(epoch FROM " col ") * 1000000)::bigint"

int statsdb_refresh(struct db *db)
{
    int64_t now = clock_now_us();
    char cap[12], as_of[CLOCK_RFC3339_LEN];
    const char *p[] = {as_of, cap};
    int done = 0;

    snprintf(cap, sizeof(cap), "%d", STATSDB_DAYS_PER_ROUND);
    clock_format(now, as_of);
    PGresult *days =
        db_query(db, "SELECT d::text FROM stats_stale_days($1::timestamptz, $2) d", 2, p);
    if (days == NULL)
        return -1;
    for (int i = 0; i < PQntuples(days); i++) {
        const char *q[] = {PQgetvalue(days, i, 0), as_of};
        /* One snapshot for the count and the sums; an event marking the day
         * dirty meanwhile makes the commit fail, and the next round redo it. */
        if (db_begin(db) < 0)
            goto fail;
        if (db_exec(db, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ", 0, NULL) < 0) {
            db_rollback(db);
            goto fail;
        }
        PGresult *res = db_query(db, "SELECT stats_refresh_day($1::date, $2::timestamptz)", 2, q);
        if (res == NULL) {
            db_rollback(db);
            goto fail;
        }
        PQclear(res);
        if (db_commit(db) < 0)
            goto fail;
        done++;
    }
    PQclear(days);
    if (done > 2)
        log_info("statistics: rolled up %d days", done);
    return done;

fail:
    log_warnx("statistics: the roll-up of '%s' failed; trying again next round",
              PQgetvalue(days, done, 0));
    PQclear(days);
    return -1;
}

PGresult *statsdb_sum(struct db *db, const char *from, const char *to, enum stats_group group,
                      const char *excluded)
{
    const char *p[] = {from, to, stats_group_name(group), excluded};

    return db_query(db,
                    "SELECT s.*, NULL::text, u.name"
                    " FROM stats_sum($1::date, $2::date, $3, $4::text[]) s"
                    " LEFT JOIN units u ON $3 = 'unit' AND u.code = s.grp ORDER BY s.grp",
                    4, p);
}

PGresult *statsdb_units(struct db *db, const char *from, const char *to, const char *node,
                        const char *excluded)
{
    const char *p[] = {from, to, node, excluded};

    return db_query(db,
                    "SELECT u.code, u.name, s.* FROM units u"
                    " LEFT JOIN stats_sum($1::date, $2::date, 'unit', $4::text[]) s"
                    " ON s.grp = u.code WHERE u.node = $3 ORDER BY u.code",
                    4, p);
}

void statsdb_figures(PGresult *res, int row, int col, struct stats_figures *f)
{
    for (int i = 0; i < STATS_COUNTER_COUNT; i++)
        f->n[i] =
            PQgetisnull(res, row, col + i) ? 0 : strtoll(PQgetvalue(res, row, col + i), NULL, 10);
}

static const char *const section_names[STATSDB_SECTION_COUNT] = {
    [STATSDB_SUPERVISED] = "supervised",
    [STATSDB_IMPROPER_RETURN] = "improper_returns",
    [STATSDB_REPEATED_EXTENSIONS] = "repeated_extensions",
};

const char *statsdb_section_name(enum statsdb_section s)
{
    return s < STATSDB_SECTION_COUNT ? section_names[s] : "unknown";
}

/* The unit holding the order at event e, as stats_facts() decides it. */
#define UNIT_AT                                                                                    \
    "COALESCE((SELECT p.detail::jsonb ->> 'unit' FROM ticket_events p"                             \
    " WHERE p.ticket_id = e.ticket_id AND p.seq < e.seq"                                           \
    " AND p.action IN ('dispatch', 'return/review:approve') ORDER BY p.seq DESC LIMIT 1), '')"

/* The reason of the latest request of 'action' before event e. */
#define REQUEST_REASON(action)                                                                     \
    "(SELECT p.reason FROM ticket_events p WHERE p.ticket_id = e.ticket_id AND p.seq < e.seq"      \
    " AND p.action = '" action "' ORDER BY p.seq DESC LIMIT 1)"

PGresult *statsdb_supervision(struct db *db, const char *from, const char *to)
{
    const char *p[] = {from, to};

    return db_query(
        db,
        "SELECT s.section, e.ticket_id, " US(
            "e.at") ", " UNIT_AT ", e.actor,"
                    " CASE s.section WHEN 1 THEN " REQUEST_REASON(
                        "return") " WHEN 2 THEN " REQUEST_REASON("extension") " END, e.reason"
                                                                              " FROM ticket_events "
                                                                              "e"
                                                                              " JOIN (VALUES (0, "
                                                                              "'supervise'), (1, "
                                                                              "'return/"
                                                                              "review:refuse'),"
                                                                              " (2, "
                                                                              "'extension/"
                                                                              "review:approve')) s "
                                                                              "(section, action)"
                                                                              " ON s.action = "
                                                                              "e.action"
                                                                              " WHERE e.at >= "
                                                                              "stats_day_start($1::"
                                                                              "date)"
                                                                              " AND e.at < "
                                                                              "stats_day_start($2::"
                                                                              "date + 1)"
                                                                              " AND (s.section <> "
                                                                              "2 OR (SELECT "
                                                                              "count(*) FROM "
                                                                              "ticket_events p"
                                                                              " WHERE p.ticket_id "
                                                                              "= e.ticket_id AND "
                                                                              "p.seq < e.seq"
                                                                              " AND p.action = "
                                                                              "'extension/"
                                                                              "review:approve') = "
                                                                              "1)"
                                                                              " ORDER BY "
                                                                              "s.section, e.at, "
                                                                              "e.ticket_id, e.seq",
        2, p);
}
