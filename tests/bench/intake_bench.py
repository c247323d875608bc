#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Intake on a bad day: `POST /api/v1/tickets` from 8 concurrent clients
with durable commits, against pgbench inserting one ticket-sized row per
transaction with 8 clients into the same database.

Creates a throwaway PostgreSQL cluster made durable as in production
(fsync, synchronous_commit and full_page_writes on), one city (广州,
440100) with its units and operator, `http_threads` = 8 and the default
clock and heartbeat intervals, whose province never answers (its changes wait in the outbox, as during a cut), and a
table of the tickets' shape for pgbench (a bigserial key, the same text
columns, the sealed personal data's size, indexes on time and phone hash).

The project's side is wrk (8 connections, 2 threads) posting appeals made
by a Lua script: the five kinds in a hotline's proportions, Chinese
content, a different caller each time; every answer must be a 2xx and
the city must hold as many tickets as wrk counted answers.  The baseline
is pgbench (-M prepared, 8 clients, 2 threads) running one INSERT per
transaction.  Each round runs both for --seconds, the order alternating
round by round; the medians of the rates give the ratio.

    /usr/bin/python3 tests/bench/intake_bench.py                 # 5 rounds of 15 s
    /usr/bin/python3 tests/bench/intake_bench.py --rounds 3 --seconds 5

Prints the rates and the ratio and writes build/bench/intake.json.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys

from benchlib import (DURABLE, OUTPUT, PRODUCTION_TIMING, headline, log, query, scratch,
                      write_summary)
from hotline import PG_BIN, Workspace
from lifecycle import Hotline, standalone_city
from sync_bench import CATEGORIES, CHANNELS, CONTENTS, DIVISIONS

CLIENTS = 8

# About 60% of appeals are consultations (the rest in rough proportion).
KIND_WEIGHTS = {"consultation": 60, "complaint": 15, "help": 10, "suggestion": 10, "report": 5}
CHANNEL_WEIGHTS = dict(zip(CHANNELS, (70, 15, 5, 10)))

WRK_SCRIPT = """
-- Appeals as a hotline takes them, one new caller each.
local kinds = %(kinds)s
local channels = %(channels)s
local categories = %(categories)s
local divisions = %(divisions)s
local contents = %(contents)s
local threads = 0

function setup(thread)
    threads = threads + 1
    thread:set("id", threads)
end

function init(args)
    math.randomseed(tonumber(args[1]) * 100 + id)
end

function request()
    local body = string.format(
        '{"kind":"%%s","channel":"%%s","category":"%%s","content":"%%s（%%d）",' ..
        '"citizen":{"type":"person","name":"市民%%d","phone":"138%%08d"},' ..
        '"location":{"division":"%%s","address":"广州市天河区体育西路%%d号"}}',
        kinds[math.random(#kinds)], channels[math.random(#channels)],
        categories[math.random(#categories)], contents[math.random(#contents)],
        math.random(1, 999), math.random(1, 9999), math.random(0, 99999999),
        divisions[math.random(#divisions)], math.random(1, 999))
    return wrk.format("POST", "/api/v1/tickets", nil, body)
end
"""

# The baseline's table: what a ticket row holds, sizes alike.
BASELINE_TABLE = """
CREATE TABLE bench_intake (
    id          bigserial PRIMARY KEY,
    kind        text NOT NULL,
    channel     text NOT NULL,
    category    text NOT NULL,
    content     text NOT NULL,
    citizen_pii bytea NOT NULL,
    phone_hash  text NOT NULL,
    division    text NOT NULL,
    address     text NOT NULL,
    received_at timestamptz NOT NULL
);
CREATE INDEX ON bench_intake (received_at);
CREATE INDEX ON bench_intake (phone_hash);
"""

PGBENCH_SCRIPT = """
\\set p random(0, 99999999)
INSERT INTO bench_intake (kind, channel, category, content, citizen_pii, phone_hash,
                          division, address, received_at)
VALUES ('complaint', 'phone', 'public_service', '%(content)s',
        decode(md5(:p::text) || md5(:p::text) || md5(:p::text), 'hex'),
        md5(:p::text) || md5(:p::text), '440106', '广州市天河区体育西路1号', now());
"""


def lua_list(values):
    return "{" + ", ".join(json.dumps(v, ensure_ascii=False) for v in values) + "}"


def weighted(weights):
    """Each key repeated by its weight, for a uniform pick."""
    return [k for k, w in weights.items() for _ in range(w)]


def wrk_script(path):
    path.write_text(WRK_SCRIPT % {
        "kinds": lua_list(weighted(KIND_WEIGHTS)),
        "channels": lua_list(weighted(CHANNEL_WEIGHTS)),
        "categories": lua_list(CATEGORIES), "divisions": lua_list(DIVISIONS),
        "contents": lua_list(CONTENTS)})


def run_wrk(node, token, script, seconds, seed):
    """Posts appeals for 'seconds'; returns (answers per second, answers)."""
    out = subprocess.run(
        ["wrk", "-t", "2", "-c", str(CLIENTS), "-d", f"{seconds}s", "--timeout", "30s",
         "-H", f"Authorization: Bearer {token}", "-H", "Content-Type: application/json",
         "-s", str(script), node.url, "--", str(seed)],
        check=True, capture_output=True, text=True).stdout
    if "Non-2xx" in out or "Socket errors" in out:
        sys.exit(f"intake answered with errors:\n{out}")
    answers = int(re.search(r"(\d+) requests in", out).group(1))
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), answers


def run_pgbench(conninfo, script, seconds):
    """Inserts rows for 'seconds'; returns transactions per second."""
    out = subprocess.run(
        [PG_BIN / "pgbench", "-n", "-M", "prepared", "-c", str(CLIENTS), "-j", "2",
         "-T", str(seconds), "-f", str(script), conninfo],
        check=True, capture_output=True, text=True).stdout
    return float(re.search(r"tps = ([\d.]+) \(without initial connection time\)", out).group(1))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=15, help="each side of a round")
    parser.add_argument("--seed", type=int, default=12345)
    parser.add_argument("--output", default=str(OUTPUT / "intake.json"))
    args = parser.parse_args()
    if args.rounds < 1 or not 1 <= args.seconds <= 600:
        parser.error("--rounds 1 or more, --seconds 1..600")

    rates = {"intake": [], "pgbench": []}
    with scratch(DURABLE + [("shared_buffers", "512MB")]) as (cluster, folder):
        workspace = Workspace(folder, cluster)
        try:
            city = standalone_city(workspace, http_threads=CLIENTS, **PRODUCTION_TIMING)
            city.start()
            office = Hotline(city)
            city_db = city.settings["database"]
            baseline_db = cluster.create_database("baseline")
            query(baseline_db, BASELINE_TABLE)
            script = folder / "intake.lua"
            wrk_script(script)
            insert = folder / "insert.sql"
            insert.write_text(PGBENCH_SCRIPT % {"content": CONTENTS[0]})
            answered = 0
            for r in range(args.rounds):
                order = ["intake", "pgbench"] if r % 2 == 0 else ["pgbench", "intake"]
                for side in order:
                    if side == "intake":
                        rate, n = run_wrk(city, office.operator, script, args.seconds,
                                          args.seed + r)
                        answered += n
                    else:
                        rate = run_pgbench(baseline_db, insert, args.seconds)
                    rates[side].append(rate)
                log(f"round {r + 1}: intake {rates['intake'][-1]:.0f}/s,"
                    f" pgbench {rates['pgbench'][-1]:.0f}/s")
            held = query(city_db, "SELECT count(*) FROM tickets")[0][0]
            if held < answered:
                sys.exit(f"wrk counted {answered} answers, the city holds {held} tickets")
        finally:
            workspace.stop_all()

    ours, baseline = statistics.median(rates["intake"]), statistics.median(rates["pgbench"])
    summary = {
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "clients": CLIENTS, "rounds": args.rounds, "seconds": args.seconds,
        "tickets_held": held, "answers_counted": answered,
        "rates": {side: [round(x, 1) for x in values] for side, values in rates.items()},
        "headlines": [headline("1 intake", "POST /api/v1/tickets, 8 clients, durable",
                               ours, baseline, "requests/s", "pgbench INSERT", goal=0.8)],
    }
    print(f"intake {ours:8.0f} requests/s   pgbench {baseline:8.0f} transactions/s"
          f"   intake / pgbench = {ours / baseline:.2f} (goal >= 0.8)")
    write_summary(summary, args.output)


if __name__ == "__main__":
    main()
