#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Statistics from daily roll-ups against the same figures read from the
events themselves, on a synthetic large city.

Creates a throwaway PostgreSQL cluster (tests/system/hotline.py), applies
the node's own migrations (`build/city-node init`), loads the synthetic
city of city.py (a year, 2025, of work orders with generate_series: 200
units, every kind, channel and category, rejections by each reason,
answers, dispatches, returns approved and refused, one and two extensions,
supervision, late completions with their overdue events, ratings and
closings, about five events per ticket).  Then it rolls every day up with the node's own SQL
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
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing

import psycopg2

from benchlib import OUTPUT, execute, headline, log, node_schema, query, scratch, write_summary
from city import UNITS, load


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

# The node's clock when the days are rolled up: two months after the year.
AS_OF = "2026-03-01T12:00:00+08:00"

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


def roll_up(conninfo, sessions=2):
    """Every day rolled up, the way the clock thread does it, one day per
    transaction, the days shared among 'sessions' sessions at once (days
    are independent).  Returns the seconds it took and the number of days."""
    def refresh(days):
        with closing(psycopg2.connect(conninfo)) as db, db.cursor() as cur:
            for day in days:
                cur.execute("SELECT stats_refresh_day(%s, %s)", (day, AS_OF))
                db.commit()

    done = 0
    start = time.perf_counter()
    with ThreadPoolExecutor(sessions) as pool:
        while True:
            stale = [row[0] for row in query(
                conninfo, "SELECT d FROM stats_stale_days(%s, 1000) d", (AS_OF,))]
            if not stale:
                break
            for finished in [pool.submit(refresh, stale[i::sessions]) for i in range(sessions)]:
                finished.result()
            done += len(stale)
    return time.perf_counter() - start, done


def measure(db, rounds, rollup=ROLLUP, scan=SCAN, year_rounds=None):
    """Alternates the roll-up and scan queries of each period, 'rounds'
    times, the year's only the first 'year_rounds' (its scan is the longest
    by far); checks they agree."""
    times = {period: {"rollup": [], "scan": []} for period in PERIODS}
    with db.cursor() as cur:
        # JIT compilation costs about a second per query here, which would
        # flatter the roll-ups on a small city; the scan runs without it.
        cur.execute("SET jit = off")
        for r in range(rounds):
            for period, (lo, hi) in PERIODS.items():
                if period == "year" and year_rounds is not None and r >= year_rounds:
                    continue
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
            "rounds": len(times[period]["scan"]),
            "rollup_median_ms": round(rollup * 1000, 2),
            "scan_median_ms": round(scan * 1000, 2),
            "ratio": round(scan / rollup, 1),
        }
        print(f"{period:5} ({lo}..{hi}): roll-ups {rollup * 1000:9.1f} ms,"
              f" scan {scan * 1000:10.1f} ms, scan / roll-ups = {scan / rollup:.0f}x")
    return summary


def on_loaded(conninfo, tickets, events, load_seconds, rounds, rolled_up=None):
    """Rolls up the city loaded in the database 'conninfo', unless
    'rolled_up' already says how long that took (roll_up()'s answer), and
    measures it (also what reads_bench.py does with the city it loaded):
    the summary with its headlines.  The session takes the work memory and
    parallel workers of SETTINGS, whatever the cluster's."""
    build_seconds, days = rolled_up or roll_up(conninfo)
    with closing(psycopg2.connect(conninfo)) as db:
        with db.cursor() as cur:
            for name in ("work_mem", "max_parallel_workers_per_gather"):
                cur.execute("SELECT set_config(%s, %s, false)", (name, dict(SETTINGS)[name]))
            cur.execute("SELECT count(*) FROM stats_daily")
            rollup_rows = cur.fetchone()[0]
        db.commit()
        log(f"{days} days rolled up ({rollup_rows} rows) in {build_seconds:.0f} s,"
            f" two sessions at once{'' if rolled_up is None else ', when the city was loaded'}")
        times = measure(db, rounds)

    summary = {
        "tickets": tickets,
        "events": events,
        "units": UNITS,
        "load_seconds": round(load_seconds, 1),
        "rollup_days": days,
        "rollup_rows": rollup_rows,
        "rollup_build_seconds": round(build_seconds, 1),
        "rollup_seconds_per_day": round(build_seconds / max(days, 1), 3),
        "rounds": rounds,
        "group_by": "unit",
        "results_equal": True,
    }
    summary.update(summarise(times))
    summary["headlines"] = [
        headline("5 statistics", f"{period} of {tickets:,} tickets by unit, from roll-ups",
                 summary[period]["rollup_median_ms"], summary[period]["scan_median_ms"], "ms",
                 "scan of the events", goal=100, higher_is_better=False)
        for period in PERIODS]
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
        start = time.perf_counter()
        events = load(conninfo, args.tickets)
        load_seconds = time.perf_counter() - start
        log(f"loaded {args.tickets} tickets, {events} events in {load_seconds:.0f} s")
        summary = on_loaded(conninfo, args.tickets, events, load_seconds, args.rounds)
    write_summary(summary, args.output)

if __name__ == "__main__":
    main()
