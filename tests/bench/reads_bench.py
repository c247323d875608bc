#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Reads on a large city: the p99 latency of `GET /api/v1/tickets/{id}`
and of a unit's list page under load, against the bare indexed SELECT of
the same rows through pgbench with as many clients.

Creates a throwaway PostgreSQL cluster, one city (广州, 440100,
`http_threads` = 8) whose province never answers, and loads into its
database, without waiting for the disk, the synthetic city of city.py as
it stands at the year's end (2026-01-01): a year of tickets and their
events, those of the last weeks still in handling, waiting for a review
or for their rating.  The tickets the benchmark reads (every 16th, spread
over the year, and every one of the last month) hold personal data sealed
with the city's own key, as intake seals it; the others a filler of the
same size.  Then the cluster is made durable as in production (fsync,
synchronous_commit and full_page_writes on) and the city started.

Two reads, each measured three ways for --seconds, the order reversed
every other round:

  ticket     the city: wrk (8 threads of one connection each) asks for
             tickets drawn at random among those of the whole year (a Lua
             script, seeded); each answer is the ticket rendered for the
             caller's role, its personal data opened.  The baseline:
             pgbench (-M prepared, 8 clients, 8 threads) selecting the
             same tickets' rows by primary key.
  list       the city: a page of a unit's orders in handling,
             `GET /api/v1/tickets?unit=uNNN&status=handling` (50 a page,
             emergencies first, then oldest first, with the total), for a
             unit drawn at random among 200.  The baseline: pgbench
             selecting the same 50 rows in the same order.

The city is read by a role that sees the citizen in clear (an operator
for a ticket, a manager for a page), each read written to the audit log
with a durable commit before the answer leaves, and by an auditor, who
sees them masked and is not audited.  Both sides log every request's
latency (the wrk script times each one, pgbench --log); p50 and p99 come
from them the same way, the medians over the rounds give the ratios
(baseline p99 / the city's p99, goal 0.5).  Every answer must be a 2xx;
before the rounds the city's answers are checked against the baseline's
rows.

With --stats-output, the city's days are rolled up after the load and
the statistics benchmark (stats_bench.py) runs on the same city once the
node has stopped, so that the suite loads ten million tickets once and
not twice; its summary goes to that file.  With --keep, the city loaded
and rolled up is kept for the next run, which starts from a copy of it
(keep.py).

    /usr/bin/python3 tests/bench/reads_bench.py                     # 10 million tickets
    /usr/bin/python3 tests/bench/reads_bench.py --tickets 200000 --rounds 3 --seconds 3
    /usr/bin/python3 tests/bench/reads_bench.py --stats-output build/bench/stats.json --keep

Prints the latencies and ratios and writes build/bench/reads.json.
"""

import argparse
import json
import os
import pathlib
import re
import statistics
import subprocess
import sys
import time

from psycopg2.extensions import parse_dsn

import city
import keep
import stats_bench
from benchlib import (DURABLE, OUTPUT, configure, headline, latencies, log, query, scratch,
                      write_summary)
from hotline import PG_BIN, Workspace
from lifecycle import Hotline, standalone_city

CLIENTS = 8
STEP = 16  # every 16th ticket of the year is among those read by id
HORIZON = "2026-01-01T00:00:00+08:00"
PAGE = 50  # the API's default page size
# The city read by a role that sees the citizen in clear (each read audited,
# a durable commit) and by one that sees them masked; and the baseline.
SIDES = ("clear", "masked", "pgbench")

# The load runs without waiting for the disk (the scratch cluster's
# default); the reads are measured durable, as in production.
SETTINGS = [("shared_buffers", "1GB"), ("maintenance_work_mem", "1GB"), ("max_wal_size", "16GB"),
            ("autovacuum", "off")]

# The ticket of number i: its id, from i as city.py makes it.
LUA_ID = """
local days = %(days)s
local per_day = %(per_day)d

local function ticket(i)
    local day = math.floor((i - 1) / per_day)
    return string.format("440100-%%s-%%06d", days[day + 1], (i - 1) %% per_day + 1)
end
"""

# Each wrk thread has one connection, so its requests and answers take
# turns: the time from request() to response() is the request's latency.
# (wrk's own percentiles add requests it supposes a slow answer held back,
# which pgbench does not.)
LUA_COMMON = """
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock, bench_timespec *ts);
]]
local now = ffi.new("bench_timespec")

local function microseconds()
    ffi.C.clock_gettime(1, now)  -- CLOCK_MONOTONIC
    return tonumber(now.tv_sec) * 1000000 + math.floor(tonumber(now.tv_nsec) / 1000)
end

local threads = {}
local sent = 0
seen = {}  -- microseconds: answers that took them

function setup(thread)
    table.insert(threads, thread)
    thread:set("id", #threads)
end

function init(args)
    math.randomseed(tonumber(args[1]) * 100 + id)
end

function response(status, headers, body)
    local us = microseconds() - sent
    seen[us] = (seen[us] or 0) + 1
end

function done(summary, latency, requests)
    local out = assert(io.open("%(latencies)s", "w"))
    for _, thread in ipairs(threads) do
        for us, count in pairs(thread:get("seen")) do
            out:write(string.format("%%d %%d\\n", us, count))
        end
    end
    out:close()
end
"""

LUA_TICKET = """
function request()
    sent = microseconds()
    return wrk.format("GET", "/api/v1/tickets/" .. ticket(math.random(1, %(pool)d) * %(step)d))
end
"""

LUA_LIST = """
function request()
    sent = microseconds()
    return wrk.format("GET", string.format("/api/v1/tickets?unit=u%%03d&status=handling",
                                           math.random(1, %(units)d)))
end
"""
SQL_ID = ("'440100-' || to_char(date '2025-01-01' + (:i - 1) / %(per_day)d, 'YYYYMMDD')"
          " || '-' || lpad(((:i - 1) %% %(per_day)d + 1)::text, 6, '0')")

PGBENCH_TICKET = """
\\set i random(1, %(pool)d) * %(step)d
SELECT t.* FROM tickets t WHERE t.id = """ + SQL_ID + ";\n"

# The list's order (common/ticketdb.c): emergencies first, then oldest first.
LIST_WHERE = ("t.unit_code = %s AND t.status = 'handling'"
              " ORDER BY t.emergency_hours IS NULL, t.created_at, t.id LIMIT " + str(PAGE))

PGBENCH_LIST = """
\\set u random(1, %(units)d)
SELECT t.* FROM tickets t WHERE """ + LIST_WHERE.replace("%s", "'u' || lpad(:u::text, 3, '0')") \
    + ";\n"


def sealed_tickets(n):
    """The numbers of the tickets read: every STEP-th, and every ticket of
    the month before the horizon (the list pages show those)."""
    recent = (365 - 30) * city.per_day(n) + 1
    return sorted(set(range(STEP, n + 1, STEP)) | set(range(recent, n + 1)))


def scripts(folder, n, seed):
    """The wrk and pgbench scripts of both reads: {read: (lua, sql)}."""
    ids = LUA_ID % {"days": "{" + ", ".join(f'"{city.day_date(d)}"' for d in range(365)) + "}",
                    "per_day": city.per_day(n)}
    values = {"pool": n // STEP, "step": STEP, "units": city.UNITS, "per_day": city.per_day(n)}
    made = {}
    for read, lua, sql in (("ticket", LUA_TICKET, PGBENCH_TICKET),
                           ("list", LUA_LIST, PGBENCH_LIST)):
        script = folder / f"{read}.lua"
        script.write_text(ids + LUA_COMMON % {"latencies": folder / f"{read}.latencies"}
                          + lua % values)
        baseline = folder / f"{read}.sql"
        baseline.write_text(sql % values)
        made[read] = (script, baseline)
    return made


def run_wrk(node, token, script, seconds, seed):
    """Reads for 'seconds'; returns (latencies in seconds, requests per second)."""
    out = subprocess.run(
        ["wrk", "-t", str(CLIENTS), "-c", str(CLIENTS), "-d", f"{seconds}s", "--timeout", "30s",
         "-H", f"Authorization: Bearer {token}", "-s", str(script), node.url, "--", str(seed)],
        check=True, capture_output=True, text=True).stdout
    if "Non-2xx" in out or "Socket errors" in out:
        sys.exit(f"the city answered with errors:\n{out}")
    samples = []
    for line in script.with_suffix(".latencies").read_text().split("\n"):
        if line:
            value, count = map(int, line.split())
            samples.extend([value / 1e6] * count)
    return samples, float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def run_pgbench(conninfo, script, seconds, seed, folder):
    """Selects for 'seconds'; returns (latencies in seconds, transactions per
    second), the latencies from pgbench's log of every transaction."""
    prefix = folder / "pgbench"
    out = subprocess.run(
        [PG_BIN / "pgbench", "-n", "-M", "prepared", "-c", str(CLIENTS), "-j", str(CLIENTS),
         "-T", str(seconds), f"--random-seed={seed}", "-l", f"--log-prefix={prefix}",
         "-f", str(script), conninfo],
        check=True, capture_output=True, text=True, cwd=folder).stdout
    samples = []
    for log_file in folder.glob("pgbench.*"):
        for line in log_file.read_text().split("\n"):
            if line:
                samples.append(int(line.split()[2]) / 1e6)
        log_file.unlink()
    return samples, float(re.search(r"tps = ([\d.]+) \(without initial connection time\)",
                                    out).group(1))


def loaded(node, n, sealed, rolled_up):
    """Loads the city of n tickets into the node's database, then rolls its
    days up if 'rolled_up' (the statistics read them; the reads do not).
    Returns what keep.Kept records of it."""
    conninfo = node.settings["database"]
    key, key_id = city.key_of(node.data_dir)
    start = time.perf_counter()
    events = city.load(conninfo, n, horizon=HORIZON, key=key, key_id=key_id, sealed=sealed)
    load_seconds = time.perf_counter() - start
    log(f"loaded {n} tickets, {events} events in {load_seconds:.0f} s")
    return {"events": events, "load_seconds": load_seconds,
            "rolled_up": stats_bench.roll_up(conninfo) if rolled_up else None}


def check(node, office, conninfo, n):
    """The city's answers are the baseline's rows: a ticket of the pool by
    id, and a unit's page of orders in handling, the same ids in the same
    order, with their total."""
    i = (n // STEP // 2) * STEP
    got = node.http("GET", f"/api/v1/tickets/{city.ticket_id(i, n)}", office.operator)
    if got.status_code != 200 or got.json()["id"] != city.ticket_id(i, n):
        sys.exit(f"ticket {city.ticket_id(i, n)}: {got.status_code} {got.text[:300]}")
    if got.json()["citizen"]["name"] != json.loads(city.citizen(i))["name"]:
        sys.exit("the ticket's personal data was not opened")
    unit = "u007"
    page = node.http("GET", f"/api/v1/tickets?unit={unit}&status=handling", office.manager)
    rows = query(conninfo, "SELECT t.id FROM tickets t WHERE " + LIST_WHERE, (unit,))
    total = query(conninfo, "SELECT count(*) FROM tickets WHERE unit_code = %s"
                  " AND status = 'handling'", (unit,))[0][0]
    if page.status_code != 200 or [t["id"] for t in page.json()["tickets"]] != [r[0] for r in rows] \
            or page.json()["total"] != total or not rows:
        sys.exit(f"the list page of {unit} is not the baseline's {len(rows)} rows:"
                 f" {page.status_code} {page.text[:300]}")
    return total


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=10_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=10, help="each side of each read, a round")
    parser.add_argument("--seed", type=int, default=12345)
    parser.add_argument("--output", default=str(OUTPUT / "reads.json"))
    parser.add_argument("--stats-output", help="then the statistics on the same city, there")
    parser.add_argument("--stats-rounds", type=int, default=3)
    parser.add_argument("--keep", action="store_true",
                        help="keep the loaded city for the next run, or start from the one kept"
                             " (keep.py)")
    args = parser.parse_args()
    if not 20_000 <= args.tickets <= 50_000_000 or args.rounds < 1 \
            or not 1 <= args.seconds <= 600 or args.stats_rounds < 1:
        parser.error("--tickets 20000..50000000, --rounds and --stats-rounds 1 or more,"
                     " --seconds 1..600")

    reads = ("ticket", "list")
    restored_seconds = None
    results = {read: {side: [] for side in SIDES} for read in reads}
    with scratch(SETTINGS) as (cluster, folder):
        workspace = Workspace(folder, cluster)
        try:
            # The data stands at the horizon; the clock thread, which would
            # mark its open orders overdue as of today, sleeps through the run.
            node = standalone_city(workspace, http_threads=CLIENTS)
            node.settings["clock_interval_ms"] = 3600000
            node.write_config()
            conninfo = node.settings["database"]
            sealed = sealed_tickets(args.tickets)
            kept = keep.Kept("reads-city", keep.key(
                (loaded, sealed_tickets, stats_bench.roll_up), tickets=args.tickets,
                horizon=HORIZON, step=STEP, database=parse_dsn(conninfo)["dbname"]))
            meta = kept.meta() if args.keep else None
            if meta:
                restored_seconds = kept.restore(cluster, {"node": node.data_dir})
            else:
                meta = loaded(node, args.tickets, sealed,
                              rolled_up=args.keep or args.stats_output)
                if args.keep:
                    kept.keep(cluster, {"node": node.data_dir}, meta)
            events, load_seconds = meta["events"], meta["load_seconds"]
            os.sync()  # the load's pages reach the disk now, not during the rounds
            configure(cluster, DURABLE)
            size = query(conninfo, "SELECT pg_size_pretty(pg_database_size(current_database()))")
            node.start()
            office = Hotline(node)
            handling = check(node, office, conninfo, args.tickets)
            made = scripts(folder, args.tickets, args.seed)
            tokens = {("ticket", "clear"): office.operator, ("list", "clear"): office.manager,
                      ("ticket", "masked"): office.auditor, ("list", "masked"): office.auditor}
            for r in range(-1, args.rounds):  # round -1 warms both sides up, unmeasured
                seconds = args.seconds if r >= 0 else 2
                for read in reads:
                    lua, sql = made[read]
                    for side in SIDES if r % 2 == 0 else SIDES[::-1]:
                        if side == "pgbench":
                            samples, rate = run_pgbench(conninfo, sql, seconds, args.seed + r,
                                                        folder)
                        else:
                            samples, rate = run_wrk(node, tokens[read, side], lua, seconds,
                                                    args.seed + r)
                        if r >= 0:
                            results[read][side].append({**latencies(samples),
                                                        "per_second": round(rate, 1)})
                    if r >= 0:
                        log(f"round {r + 1} {read}: " + ", ".join(
                            f"{side} p50 {results[read][side][-1]['p50_ms']} ms"
                            f" p99 {results[read][side][-1]['p99_ms']} ms" for side in SIDES))
            audited = query(conninfo, "SELECT count(*) FROM audit_log")[0][0]
        finally:
            workspace.stop_all()
        if args.stats_output:
            write_summary(stats_bench.on_loaded(conninfo, args.tickets, events, load_seconds,
                                                args.stats_rounds, meta["rolled_up"]),
                          args.stats_output)

    summary = {
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "tickets": args.tickets, "events": events, "database_size": size[0][0],
        "tickets_read_by_id": args.tickets // STEP, "sealed": len(sealed),
        "unit_orders_in_handling": handling,
        "load_seconds": round(load_seconds, 1), "kept": kept.key if args.keep else None,
        "restored_seconds": round(restored_seconds, 1) if restored_seconds else None,
        "clients": CLIENTS, "rounds": args.rounds,
        "seconds": args.seconds, "audit_rows": audited, "results": results, "headlines": [],
    }
    what = {("ticket", "clear"): "GET /api/v1/tickets/{id} by an operator (audited), p99",
            ("ticket", "masked"): "GET /api/v1/tickets/{id} by an auditor (masked), p99",
            ("list", "clear"): f"a unit's page of {PAGE} in handling, by a manager (audited), p99",
            ("list", "masked"): f"a unit's page of {PAGE} in handling, by an auditor (masked), p99"}
    against = {"ticket": "pgbench SELECT by key", "list": "pgbench SELECT of the page"}
    for read in reads:
        medians = {side: {p: statistics.median(x[p] for x in results[read][side])
                          for p in ("p50_ms", "p99_ms", "per_second")}
                   for side in SIDES}
        summary[read] = medians
        base = medians["pgbench"]
        print(f"{read:6}: pgbench p50 {base['p50_ms']:7.2f} ms p99 {base['p99_ms']:7.2f} ms"
              f" ({base['per_second']:.0f}/s)")
        for side in ("clear", "masked"):
            ours = medians[side]
            print(f"        city, {side:6}: p50 {ours['p50_ms']:7.2f} ms p99"
                  f" {ours['p99_ms']:7.2f} ms ({ours['per_second']:.0f}/s);"
                  f" pgbench / city p99 = {base['p99_ms'] / ours['p99_ms']:.2f} (goal >= 0.5)")
            summary["headlines"].append(headline(
                "2 reads", f"{args.tickets:,} tickets: " + what[read, side], ours["p99_ms"],
                base["p99_ms"], "ms", against[read], goal=0.5, higher_is_better=False))
    write_summary(summary, args.output)


if __name__ == "__main__":
    main()
