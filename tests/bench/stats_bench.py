#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Statistics from daily roll-ups against the same figures read from the
events themselves, on a synthetic large city.

Creates a throwaway PostgreSQL cluster (tests/system/hotline.py), applies
the node's own migrations (`build/city-node init`), loads a year (2025) of
synthetic work orders with generate_series: 200 units, every kind, channel
and category, rejections by each reason, answers, dispatches, returns
approved and refused, one and two extensions, supervision, late
completions with their overdue events, ratings and closings, about five
events per ticket.  Then it rolls every day up with the node's own SQL
(stats_stale_days, stats_refresh_day) and measures, alternating the order
round by round, the statistics of March and of the whole year grouped by
unit: from the roll-ups (stats_sum, what GET /api/v1/stats runs) and from
the events and tickets of the period (stats_facts summed, what a report
without roll-ups has to read).  Both must give the same rows.

    /usr/bin/python3 tests/bench/stats_bench.py                  # 10 million tickets
    /usr/bin/python3 tests/bench/stats_bench.py --tickets 100000 # a quick run

Prints the medians and their ratio and writes build/bench/stats.json.
"""

import argparse
import statistics
import sys
import time
from contextlib import closing

import psycopg2

from benchlib import OUTPUT, execute, headline, log, node_schema, scratch, write_summary

UNITS = 200

# The tickets of 2025: ticket i is registered at 'c', evenly over the year;
# what happens to it follows from i, so every run loads the same city.
TICKETS = """
INSERT INTO tickets (id, status, kind, channel, category, content, citizen_type, citizen_pii,
                     pii_key_id, phone_hash, division, address, unit_code, received_at, deadline,
                     owner_node, created_at, updated_at)
SELECT '440100-' || to_char(stats_day_of(c), 'YYYYMMDD') || '-' || lpad((i %% 1000000)::text, 6, '0'),
       CASE WHEN fate < 5 THEN 'rejected' WHEN fate < 15 THEN 'answered' ELSE 'closed' END,
       CASE WHEN fate BETWEEN 5 AND 14 THEN 'consultation'
            ELSE (ARRAY['consultation', 'help', 'complaint', 'report', 'suggestion'])[1 + i %% 5] END,
       (ARRAY['phone', 'web', 'app', 'miniprogram'])[1 + (i / 5) %% 4],
       (ARRAY['economic_regulation', 'market_supervision', 'social_management',
              'public_service', 'ecological_environment'])[1 + (i / 20) %% 5],
       '合成工单', 'person', '\\x00'::bytea, 'bench', md5(i::text), '440106', '合成地址',
       CASE WHEN fate >= 15 THEN CASE WHEN returned AND (i / 231) %% 3 <> 0 THEN unit2 ELSE unit END END,
       CASE WHEN fate >= 15 THEN c + interval '30 minutes' END,
       CASE WHEN fate >= 15 THEN deadline END,
       '440100', c, c
  FROM generate_series(1, %(n)s) i,
       LATERAL (SELECT timestamptz '2025-01-01T00:00:00+08:00'
                       + (i - 1) * (interval '365 days' / %(n)s) AS c,
                       i %% 100 AS fate,
                       'u' || lpad((1 + (i * 7) %% 200)::text, 3, '0') AS unit,
                       'u' || lpad((1 + (i * 7 + 1) %% 200)::text, 3, '0') AS unit2,
                       (i / 7) %% 33 = 0 AS returned) a,
       LATERAL (SELECT a.c + interval '30 minutes' + interval '15 days' AS deadline) d
"""

EVENTS = """
INSERT INTO ticket_events (ticket_id, seq, at, actor, role, action, from_status, to_status,
                           reason, detail, prev_hash, hash)
SELECT '440100-' || to_char(stats_day_of(c), 'YYYYMMDD') || '-' || lpad((i %% 1000000)::text, 6, '0'),
       e.seq, e.at, 'bench', 'system', e.action, NULL, 'closed', e.reason, e.detail, 'h', 'h'
  FROM generate_series(1, %(n)s) i,
       LATERAL (SELECT timestamptz '2025-01-01T00:00:00+08:00'
                       + (i - 1) * (interval '365 days' / %(n)s) AS c,
                       i %% 100 AS fate,
                       'u' || lpad((1 + (i * 7) %% 200)::text, 3, '0') AS unit,
                       'u' || lpad((1 + (i * 7 + 1) %% 200)::text, 3, '0') AS unit2,
                       (i / 7) %% 33 = 0 AS returned,
                       (i / 231) %% 3 <> 0 AS return_approved,
                       (i / 11) %% 20 = 0 AS extended,
                       (i / 220) %% 5 = 0 AS extended_twice,
                       (i / 13) %% 100 = 0 AS supervised,
                       (i / 100) %% 12 = 0 AS late,
                       i %% 10 < 6 AS rated) a,
       LATERAL (SELECT a.c + interval '30 minutes' + interval '15 days' AS deadline) d,
       LATERAL (SELECT CASE WHEN a.late THEN d.deadline + interval '1 day'
                            ELSE a.c + (2 + i %% 10) * interval '1 day' END AS approved) p,
       LATERAL (VALUES
           (1, c, 'register', NULL, NULL, true),
           (2, c + interval '10 minutes', 'reject',
            (ARRAY['outside_jurisdiction', 'other_legal_channel', 'petition_channel',
                   'secret_or_privacy', 'abusive_or_empty', 'repeat', 'other'])[1 + i %% 7],
            '{"explanation":"合成"}', fate < 5),
           (3, c + interval '5 minutes', 'answer', NULL, '{}', fate BETWEEN 5 AND 14),
           (4, c + interval '30 minutes', 'dispatch', NULL,
            '{"no_return":false,"unit":"' || unit || '"}', fate >= 15),
           (5, c + interval '1 day', 'return', '不属本单位职责', '{"basis":"合成"}',
            fate >= 15 AND returned),
           (6, c + interval '26 hours', 'return/review:approve', NULL,
            '{"unit":"' || unit2 || '"}', fate >= 15 AND returned AND return_approved),
           (7, c + interval '26 hours', 'return/review:refuse', NULL, '{}',
            fate >= 15 AND returned AND NOT return_approved),
           (8, c + interval '2 days', 'extension', '需要现场勘查', NULL, fate >= 15 AND extended),
           (9, c + interval '49 hours', 'extension/review:approve', NULL, NULL,
            fate >= 15 AND extended),
           (10, c + interval '3 days', 'extension', '需要再次勘查', NULL,
            fate >= 15 AND extended AND extended_twice),
           (11, c + interval '73 hours', 'extension/review:approve', NULL, NULL,
            fate >= 15 AND extended AND extended_twice),
           (12, c + interval '4 days', 'supervise', '列入督办', NULL, fate >= 15 AND supervised),
           (13, deadline + interval '1 minute', 'overdue', NULL, NULL, fate >= 15 AND late),
           (14, approved - interval '2 hours', 'completion', NULL, '{"handled_at":"x"}',
            fate >= 15),
           (15, approved, 'completion/review:approve', NULL, NULL, fate >= 15),
           (16, approved + interval '1 day', 'rating', NULL,
            '{"handling":"' || (ARRAY['very_satisfied', 'satisfied', 'basically_satisfied',
                                     'dissatisfied', 'very_dissatisfied'])[1 + (i / 3) %% 5]
            || '","intake":"' || (ARRAY['very_satisfied', 'satisfied', 'basically_satisfied',
                                       'dissatisfied', 'very_dissatisfied'])[1 + i %% 5] || '"}',
            fate >= 15 AND rated),
           (17, approved + interval '8 days', 'close',
            CASE WHEN rated THEN 'rated' ELSE 'unrated' END, NULL, fate >= 15)
       ) e (seq, at, action, reason, detail, present)
 WHERE e.present
"""

# The figures of a period read from the events and tickets themselves, in
# the columns of stats_sum().
SCAN = """
SELECT f.unit, sum(received), sum(answered), sum(dispatched),
       sum(rejected_outside_jurisdiction), sum(rejected_other_legal_channel),
       sum(rejected_petition_channel), sum(rejected_secret_or_privacy),
       sum(rejected_abusive_or_empty), sum(rejected_repeat), sum(rejected_other),
       sum(completed), sum(completed_on_time), sum(overdue),
       sum(returns_requested), sum(returns_approved), sum(returns_refused),
       sum(extensions_requested), sum(extensions_approved), sum(extensions_refused),
       sum(redo_requested), sum(redo_approved), sum(supervised),
       sum(intake_very_satisfied), sum(intake_satisfied), sum(intake_basically_satisfied),
       sum(intake_dissatisfied), sum(intake_very_dissatisfied),
       sum(handling_very_satisfied), sum(handling_satisfied), sum(handling_basically_satisfied),
       sum(handling_dissatisfied), sum(handling_very_dissatisfied),
       COALESCE(sum(intake_very_satisfied + intake_satisfied + intake_basically_satisfied
                    + intake_dissatisfied + intake_very_dissatisfied)
                FILTER (WHERE category <> ALL (%(excluded)s::text[])), 0),
       COALESCE(sum(intake_very_satisfied + intake_satisfied)
                FILTER (WHERE category <> ALL (%(excluded)s::text[])), 0),
       COALESCE(sum(handling_very_satisfied + handling_satisfied + handling_basically_satisfied
                    + handling_dissatisfied + handling_very_dissatisfied)
                FILTER (WHERE category <> ALL (%(excluded)s::text[])), 0),
       COALESCE(sum(handling_very_satisfied + handling_satisfied)
                FILTER (WHERE category <> ALL (%(excluded)s::text[])), 0)
  FROM stats_facts(stats_day_start(%(lo)s), stats_day_start(%(hi)s::date + 1)) f
 GROUP BY f.unit
 ORDER BY f.unit
"""

ROLLUP = "SELECT * FROM stats_sum(%(lo)s, %(hi)s, 'unit', %(excluded)s::text[])"

PERIODS = {
    "month": ("2025-03-01", "2025-03-31"),
    "year": ("2025-01-01", "2025-12-31"),
}
EXCLUDED = "{public_service}"


# Settings for a large load on this machine.
SETTINGS = [("shared_buffers", "4GB"), ("max_wal_size", "16GB"), ("maintenance_work_mem", "1GB"),
            ("work_mem", "256MB"), ("checkpoint_timeout", "30min"), ("autovacuum", "off"),
            ("max_parallel_workers_per_gather", "2"), ("jit", "off")]


def timed(cursor, sql, params):
    start = time.perf_counter()
    cursor.execute(sql, params)
    rows = cursor.fetchall()
    return time.perf_counter() - start, rows


def load(db, n):
    """The synthetic city; secondary indexes are dropped for the load and
    built again after, as a bulk load does; the statistics trigger is off
    and stats_completions filled in one statement instead."""
    with db.cursor() as cur:
        cur.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN"
                    " ('tickets', 'ticket_events') AND indexname NOT LIKE '%%_pkey'")
        indexes = cur.fetchall()
        for name, _ in indexes:
            cur.execute(f"DROP INDEX {name}")
        cur.execute("ALTER TABLE ticket_events DISABLE TRIGGER stats_events")
        cur.execute("INSERT INTO units (code, name, node, categories, created_at)"
                    " SELECT 'u' || lpad(u::text, 3, '0'), '单位' || u, '440100',"
                    " ARRAY['public_service'], '2024-12-01T00:00:00+08:00'"
                    " FROM generate_series(1, %s) u", (UNITS,))
        log(f"loading {n} tickets")
        cur.execute(TICKETS, {"n": n})
        db.commit()
        log("loading their events")
        cur.execute(EVENTS, {"n": n})
        db.commit()
        cur.execute("INSERT INTO stats_completions (ticket_id, seq, deadline)"
                    " SELECT e.ticket_id, e.seq, t.deadline FROM ticket_events e"
                    " JOIN tickets t ON t.id = e.ticket_id"
                    " WHERE e.action = 'completion/review:approve'")
        cur.execute("ALTER TABLE ticket_events ENABLE TRIGGER stats_events")
        db.commit()
        log(f"building {len(indexes)} indexes")
        for _, definition in indexes:
            cur.execute(definition)
        db.commit()
        db.autocommit = True
        cur.execute("VACUUM ANALYZE")
        db.autocommit = False
        cur.execute("SELECT count(*) FROM ticket_events")
        return cur.fetchone()[0]


def roll_up(db):
    """Every day rolled up, the way the clock thread does it, one day per
    transaction.  Returns the seconds it took and the number of days."""
    days = 0
    start = time.perf_counter()
    with db.cursor() as cur:
        while True:
            cur.execute("SELECT d FROM stats_stale_days('2026-03-01T12:00:00+08:00', 1000) d")
            stale = [row[0] for row in cur.fetchall()]
            db.commit()
            if not stale:
                break
            for day in stale:
                cur.execute("SELECT stats_refresh_day(%s, '2026-03-01T12:00:00+08:00')", (day,))
                db.commit()
                days += 1
    return time.perf_counter() - start, days


def measure(db, rounds, rollup=ROLLUP, scan=SCAN):
    """Alternates the roll-up and scan queries of each period; checks they agree."""
    times = {period: {"rollup": [], "scan": []} for period in PERIODS}
    with db.cursor() as cur:
        # JIT compilation costs about a second per query here, which would
        # flatter the roll-ups on a small city; the scan runs without it.
        cur.execute("SET jit = off")
        for r in range(rounds):
            for period, (lo, hi) in PERIODS.items():
                params = {"lo": lo, "hi": hi, "excluded": EXCLUDED}
                order = ["rollup", "scan"] if r % 2 == 0 else ["scan", "rollup"]
                results = {}
                for way in order:
                    seconds, rows = timed(cur, rollup if way == "rollup" else scan, params)
                    times[period][way].append(seconds)
                    results[way] = rows
                if results["rollup"] != results["scan"]:
                    sys.exit(f"{period}: the roll-ups and the scan disagree")
                log(f"round {r + 1} {period}: roll-up {times[period]['rollup'][-1] * 1000:.1f} ms,"
                    f" scan {times[period]['scan'][-1] * 1000:.1f} ms, {len(rows)} rows")
            db.rollback()
    return times


def summarise(times):
    """The medians of measure()'s times, by period, printed and as a dict."""
    summary = {}
    for period, (lo, hi) in PERIODS.items():
        rollup = statistics.median(times[period]["rollup"])
        scan = statistics.median(times[period]["scan"])
        summary[period] = {
            "from": lo, "to": hi,
            "rollup_ms": [round(t * 1000, 2) for t in times[period]["rollup"]],
            "scan_ms": [round(t * 1000, 2) for t in times[period]["scan"]],
            "rollup_median_ms": round(rollup * 1000, 2),
            "scan_median_ms": round(scan * 1000, 2),
            "ratio": round(scan / rollup, 1),
        }
        print(f"{period:5} ({lo}..{hi}): roll-ups {rollup * 1000:9.1f} ms,"
              f" scan {scan * 1000:10.1f} ms, scan / roll-ups = {scan / rollup:.0f}x")
    return summary


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=10_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--output", default=str(OUTPUT / "stats.json"))
    args = parser.parse_args()
    if args.tickets < 1000 or args.tickets > 50_000_000 or args.rounds < 1:
        parser.error("--tickets 1000..50000000, --rounds 1 or more")

    with scratch(SETTINGS) as (cluster, folder):
        execute(cluster.conninfo("postgres"), "CREATE DATABASE bench")
        conninfo = cluster.conninfo("bench")
        node_schema(folder, conninfo)
        with closing(psycopg2.connect(conninfo)) as db:
            start = time.perf_counter()
            events = load(db, args.tickets)
            load_seconds = time.perf_counter() - start
            log(f"loaded {args.tickets} tickets, {events} events in {load_seconds:.0f} s")
            build_seconds, days = roll_up(db)
            with db.cursor() as cur:
                cur.execute("SELECT count(*) FROM stats_daily")
                rollup_rows = cur.fetchone()[0]
                db.commit()
            log(f"rolled up {days} days ({rollup_rows} rows) in {build_seconds:.0f} s")
            times = measure(db, args.rounds)

    summary = {
        "tickets": args.tickets,
        "events": events,
        "units": UNITS,
        "load_seconds": round(load_seconds, 1),
        "rollup_days": days,
        "rollup_rows": rollup_rows,
        "rollup_build_seconds": round(build_seconds, 1),
        "rollup_seconds_per_day": round(build_seconds / max(days, 1), 3),
        "rounds": args.rounds,
        "group_by": "unit",
        "results_equal": True,
    }
    summary.update(summarise(times))
    summary["headlines"] = [
        headline("5 statistics", f"{period} of {args.tickets:,} tickets by unit, from roll-ups",
                 summary[period]["rollup_median_ms"], summary[period]["scan_median_ms"], "ms",
                 "scan of the events", goal=100, higher_is_better=False)
        for period in PERIODS]
    write_summary(summary, args.output)


if __name__ == "__main__":
    main()
