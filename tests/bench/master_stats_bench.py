#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Statistics of the province's master dataset from its roll-ups against the
same figures counted from master_events, and what keeping the roll-ups
costs each batch of a node's ticket stream.

Creates a throwaway PostgreSQL cluster, applies the province's migrations
(`build/province-node init`), loads the synthetic city of city.py
(a year, 2025, about five events per ticket) into the province's own
tables and copies it into the master dataset as the tickets of each of
the 21 cities, in monthly partitions as sync makes them.  Then it builds the
roll-ups with the SQL the migration and the link thread run
(master_stats_add), and measures, alternating the order round by round (stats_bench.measure),
March and the whole year grouped by node: from the roll-ups
(master_stats_sum, what GET /api/v1/master/stats runs) and scanning the
events (master_stats_context and stats_counts summed).  Both must give
the same rows.  Last, the roll-up work of one applied batch: the events of
200 tickets taken out and counted again, as master.c does around a batch.
With --keep, the master dataset loaded and rolled up is kept for the next
run, which starts from a copy of it (keep.py).

    /usr/bin/python3 tests/bench/master_stats_bench.py                  # 21 x 500,000 tickets
    /usr/bin/python3 tests/bench/master_stats_bench.py --tickets 5000   # a quick run

Prints the medians and writes build/bench/master_stats.json.
"""

import argparse
import json
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing

import psycopg2

import keep
from benchlib import (CITIES, OUTPUT, execute, headline, log, node_schema, query, scratch,
                      write_summary)
from city import load
from stats_bench import PERIODS, SETTINGS, measure, summarise

NODES = [code for code, _ in CITIES]
BATCH = 200

# The synthetic city's tickets and events as node 'code''s (the city's are
# 440100-...); the event as the node sends it, in data.
COPY = """
INSERT INTO master_tickets (id, node, owner_epoch, version, status, kind, channel, category,
                            unit_code, division, phone_hash, deadline, created_at, updated_at,
                            data)
SELECT %(code)s || substr(id, 7), %(code)s, 1, 1, status, kind, channel, category, unit_code,
       division, phone_hash, deadline, created_at, updated_at,
       jsonb_build_object('id', %(code)s || substr(id, 7))
  FROM tickets;
INSERT INTO master_events (ticket_id, seq, node, at, action, from_status, to_status, hash, data)
SELECT %(code)s || substr(e.ticket_id, 7), e.seq, %(code)s, e.at, e.action, e.from_status,
       e.to_status, e.hash,
       jsonb_set(to_jsonb(e), '{ticket_id}', to_jsonb(%(code)s || substr(e.ticket_id, 7)))
  FROM ticket_events e;
INSERT INTO master_completions (ticket_id, seq, deadline)
SELECT %(code)s || substr(ticket_id, 7), seq, deadline FROM stats_completions;
"""

SCAN = """
SELECT e.node, sum(c.received), sum(c.dispatched), sum(c.completed), sum(c.completed_on_time),
       sum(c.returns_approved), sum(c.extensions_approved), sum(c.supervised),
       sum(c.handling_satisfied), sum(c.handling_very_dissatisfied)
  FROM master_events e
 CROSS JOIN LATERAL master_stats_context(e) x
 CROSS JOIN LATERAL stats_counts(e.action, e.data ->> 'reason', x.on_time, x.rating,
                                 x.replaced) c
 WHERE e.at >= stats_day_start(%(lo)s) AND e.at < stats_day_start(%(hi)s::date + 1)
 GROUP BY e.node ORDER BY e.node
"""

ROLLUP = """
SELECT grp, received, dispatched, completed, completed_on_time, returns_approved,
       extensions_approved, supervised, handling_satisfied, handling_very_dissatisfied
  FROM master_stats_sum(%(lo)s, %(hi)s, 'node', %(excluded)s::text[], NULL)
"""


def copy(db):
    """The master dataset: the city once per node, in monthly partitions."""
    with db.cursor() as cur:
        for month in range(13):
            y, m = 2025 + month // 12, 1 + month % 12
            ny, nm = (y + 1, 1) if m == 12 else (y, m + 1)
            cur.execute(f"CREATE TABLE master_events_{y:04d}{m:02d} PARTITION OF master_events"
                        f" FOR VALUES FROM ('{y:04d}-{m:02d}-01 00:00:00+08')"
                        f" TO ('{ny:04d}-{nm:02d}-01 00:00:00+08')")
        for code in NODES:
            log(f"copying the city as node {code}")
            cur.execute(COPY, {"code": code})
            db.commit()
        db.autocommit = True
        cur.execute("VACUUM ANALYZE")
        db.autocommit = False
        cur.execute("SELECT count(*) FROM master_events")
        return cur.fetchone()[0]


def roll_up(conninfo, sessions=2):
    """The roll-ups from nothing, as the migration builds them, node by
    node, the nodes shared among 'sessions' sessions at once (each node's
    rows are its own).  Returns the seconds it took and the rows made."""
    def add(codes):
        with closing(psycopg2.connect(conninfo)) as db, db.cursor() as cur:
            for code in codes:
                cur.execute("SELECT master_stats_add(%s, jsonb_object_agg(id, 1), 1)"
                            " FROM master_tickets WHERE node = %s", (code, code))
                db.commit()

    start = time.perf_counter()
    with ThreadPoolExecutor(sessions) as pool:
        for finished in [pool.submit(add, NODES[i::sessions]) for i in range(sessions)]:
            finished.result()
    seconds = time.perf_counter() - start
    return seconds, query(conninfo, "SELECT count(*) FROM master_stats_daily")[0][0]


def batches(db, rounds):
    """The roll-up work around one applied batch: the events from each
    ticket's first in the batch taken out and counted again, for the
    tickets of the latest BATCH events of a node (what master.c runs, here
    with events already held, so both steps do their full work).  Returns
    the seconds of each batch and the events it counted."""
    seconds, counted = [], []
    with db.cursor() as cur:
        for r in range(rounds):
            cur.execute("SELECT jsonb_object_agg(ticket_id, seq) FROM"
                        " (SELECT ticket_id, min(seq) AS seq FROM"
                        "   (SELECT ticket_id, seq FROM master_events WHERE node = %s"
                        "     ORDER BY at DESC OFFSET %s LIMIT %s) x GROUP BY 1) y",
                        (NODES[1], r * BATCH, BATCH))
            firsts = cur.fetchone()[0]
            cur.execute("SELECT count(*) FROM jsonb_each_text(%s::jsonb) f JOIN master_events e"
                        " ON e.ticket_id = f.key AND e.seq >= f.value::int", (json.dumps(firsts),))
            counted.append(cur.fetchone()[0])
            start = time.perf_counter()
            for sign in (-1, 1):
                cur.execute("SELECT master_stats_add(%s, %s::jsonb, %s)",
                            (NODES[1], json.dumps(firsts), sign))
            db.commit()
            seconds.append(time.perf_counter() - start)
    return seconds, counted


def loaded(conninfo, tickets):
    """The master dataset of the 21 nodes, 'tickets' each, and its roll-ups:
    what keep.Kept records of it."""
    with closing(psycopg2.connect(conninfo)) as db:
        start = time.perf_counter()
        load(conninfo, tickets)
        events = copy(db)
    load_seconds = time.perf_counter() - start
    log(f"loaded {len(NODES)} x {tickets} tickets, {events} events in {load_seconds:.0f} s")
    build_seconds, rollup_rows = roll_up(conninfo)
    log(f"rolled up ({rollup_rows} rows) in {build_seconds:.0f} s, two sessions at once")
    return {"events": events, "load_seconds": load_seconds, "rollup_rows": rollup_rows,
            "rollup_build_seconds": build_seconds}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=500_000,
                        help="tickets of each node (default 500000)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--output", default=str(OUTPUT / "master_stats.json"))
    parser.add_argument("--year-rounds", type=int,
                        help="rounds of the year (default: --rounds); a scan of it takes long")
    parser.add_argument("--keep", action="store_true",
                        help="keep the loaded master dataset for the next run, or start from the"
                             " one kept (keep.py)")
    args = parser.parse_args()
    restored_seconds = None
    if args.tickets < 1000 or args.tickets > 10_000_000 or args.rounds < 1 \
            or args.year_rounds is not None and not 1 <= args.year_rounds <= args.rounds:
        parser.error("--tickets 1000..10000000, --rounds 1 or more, --year-rounds 1..rounds")

    with scratch(SETTINGS) as (cluster, folder):
        execute(cluster.conninfo("postgres"), "CREATE DATABASE bench")
        conninfo = cluster.conninfo("bench")
        node_schema(folder, conninfo, province=True)
        kept = keep.Kept("master-stats", keep.key((loaded, copy, roll_up), tickets=args.tickets,
                                                  nodes=NODES, sql=COPY))
        meta = kept.meta() if args.keep else None
        if meta:
            restored_seconds = kept.restore(cluster, {})
        else:
            meta = loaded(conninfo, args.tickets)
            if args.keep:
                kept.keep(cluster, {}, meta)
        with closing(psycopg2.connect(conninfo)) as db:
            times = measure(db, args.rounds, ROLLUP, SCAN, args.year_rounds)
            batch_seconds, batch_events = batches(db, max(args.rounds, 5))

    summary = {
        "nodes": len(NODES),
        "tickets": len(NODES) * args.tickets,
        "events": meta["events"],
        "load_seconds": round(meta["load_seconds"], 1),
        "rollup_rows": meta["rollup_rows"],
        "rollup_build_seconds": round(meta["rollup_build_seconds"], 1),
        "kept": kept.key if args.keep else None,
        "restored_seconds": round(restored_seconds, 1) if restored_seconds else None,
        "rounds": args.rounds,
        "group_by": "node",
        "results_equal": True,
        "batch": {
            "events": BATCH,
            "events_counted": batch_events,
            "ms": [round(t * 1000, 2) for t in batch_seconds],
            "median_ms": round(statistics.median(batch_seconds) * 1000, 2),
        },
    }
    summary.update(summarise(times))
    summary["headlines"] = [
        headline("5 statistics", f"province, {period} of {len(NODES)} x {args.tickets:,} tickets"
                 " by node, from roll-ups", summary[period]["rollup_median_ms"],
                 summary[period]["scan_median_ms"], "ms", "scan of the events", goal=100,
                 higher_is_better=False)
        for period in PERIODS]
    print(f"batch of {BATCH} events: roll-up work {summary['batch']['median_ms']:.1f} ms"
          f" (median, events taken out and counted again: {batch_events})")
    write_summary(summary, args.output)


if __name__ == "__main__":
    main()
