#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""End-to-end latency of a cross-jurisdiction transfer, city to city
through the province, idle and while another city catches up, against a
bare ZeroMQ CURVE round trip and three durable commits.

Creates a throwaway PostgreSQL cluster made durable as in production
(fsync, synchronous_commit and full_page_writes on; tests/system/hotline.py
turns them off), a province and three cities, each with its own database,
keys and config (`init`, `node-add`), heartbeats as in production
(--heartbeat-ms), on loopback.  深圳 (440300) transfers appeals to 梅州
(441400) through the province; 广州 (440100) is the city that was away.

One transfer is timed from the moment `POST /api/v1/tickets/{id}/transfer`
{to, reason} is sent at 深圳 until 梅州's manager sees the ticket
registered with actions to take (梅州 owns it), and until 深圳 shows it
`transferred`; the later of the two is the transfer's latency.  Both
cities are watched over HTTP every --poll-ms by their auditor, whose read
is masked and writes nothing, and what the auditor sees is confirmed at
once by the manager, whose read is in clear: each such read commits its
audit entry to disk, and a manager polling every 2 ms put some twenty
durable commits and their CPU in the way of the transfer's own
(--watch manager polls as the manager, as before).  Rounds of --per-round transfers
alternate between two conditions:

  idle       nothing else crosses the federation;
  burst      广州, stopped with --burst-changes ticket changes queued
             (written by SQL the way the workflow writes them, as
             tests/bench/sync_bench.py does), has just been started and
             is syncing them to the master dataset; only transfers that
             end before the province applied 广州's last change count.

Two baselines are measured in the same run, between rounds: a bare
ZeroMQ REQ/REP round trip with CURVE on loopback (python3-zmq, another
process answering), and three INSERT+COMMIT transactions in a row with
synchronous_commit on, in a database of the same cluster.

    /usr/bin/python3 tests/bench/transfer_bench.py                   # 200 transfers each
    /usr/bin/python3 tests/bench/transfer_bench.py --transfers 40    # a quick run

Prints p50, p90, p99 and max of each condition, the baselines' medians and
the ratios of the transfer's median to them, and writes
build/bench/transfer.json.
"""

import argparse
import datetime
import multiprocessing
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

import psycopg2
import requests
import zmq

import sync_bench
from benchlib import (DURABLE, OUTPUT, REPO, configure, execute, headline, latencies, log, query,
                      wait, write_summary)
from hotline import GUANGZHOU, MEIZHOU, SHENZHEN, Federation, PostgresCluster, Workspace, free_port
from lifecycle import Hotline

ORIGIN, TARGET, AWAY = SHENZHEN, MEIZHOU, GUANGZHOU
STREAM_TICKETS = 1
TIMEOUT = 120.0  # seconds one transfer may take before the run gives up
REASON = "事发地在梅州市梅江区，属梅州管辖"


# The federation.

def set_up(folder, cluster, heartbeat_ms):
    """The province and the three cities, initialised and registered, not
    running; the clock threads kept quiet."""
    workspace = Workspace(folder, cluster)
    fed = Federation(workspace)
    for city in (ORIGIN, TARGET, AWAY):
        fed.register(fed.add_city(*city))
    for node in (fed.province, *fed.cities.values()):
        node.settings["heartbeat_interval_ms"] = heartbeat_ms
        node.settings["clock_interval_ms"] = 3600000
        node.write_config()
    return workspace, fed


class Cursor:
    """How far the province has applied the ticket stream of a city, read
    on a connection of its own."""

    def __init__(self, conninfo, code):
        self.db = psycopg2.connect(conninfo)
        self.db.autocommit = True
        self.code = code

    def __call__(self):
        with self.db.cursor() as cur:
            cur.execute("SELECT last_applied FROM inbox_state WHERE peer = %s AND stream = %s",
                        (self.code, STREAM_TICKETS))
            row = cur.fetchone()
            return row[0] if row is not None else 0

    def close(self):
        self.db.close()


# One transfer.

class Desk:
    """The HTTP side of a transfer: 深圳's operator sends it, the auditors
    of both cities watch the ticket and their managers confirm what they
    see, each over a connection kept open."""

    def __init__(self, origin, target, watch):
        self.origin, self.target = origin, target
        self.managers, self.watchers = {}, {}
        for office in (origin, target):
            self.managers[office.node.code] = self.session(office.manager)
            self.watchers[office.node.code] = self.session(getattr(office, watch))
        self.sender = self.session(origin.operator)

    @staticmethod
    def session(token):
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        return session

    @staticmethod
    def ticket(session, office, tid):
        response = session.get(f"{office.node.url}/api/v1/tickets/{tid}", timeout=10)
        return response.json() if response.status_code == 200 else None

    def seen(self, office, tid, done):
        """When the watcher saw the ticket done, if the manager then sees
        it too; else None."""
        code = office.node.code
        if not done(self.ticket(self.watchers[code], office, tid), watching=True):
            return None
        at = time.perf_counter()
        if (self.watchers[code] is self.managers[code]
                or done(self.ticket(self.managers[code], office, tid), watching=False)):
            return at
        return None

    @staticmethod
    def owned(shown, watching):
        """Registered at the target; to its manager, with actions to take."""
        return (shown is not None and shown["status"] == "registered"
                and (watching or "dispatch" in shown["allowed_actions"]))

    @staticmethod
    def transferred(shown, watching):
        return shown is not None and shown["status"] == "transferred"

    def owned_at_target(self, tid):
        return self.seen(self.target, tid, self.owned)

    def transferred_at_origin(self, tid):
        return self.seen(self.origin, tid, self.transferred)

    def transfer(self, tid, poll):
        """Sends the transfer and polls both cities; returns the seconds
        until the POST was answered, until the target owned the ticket and
        until the origin showed it transferred."""
        url = f"{self.origin.node.url}/api/v1/tickets/{tid}/transfer"
        start = time.perf_counter()
        response = self.sender.post(url, json={"to": self.target.node.code, "reason": REASON},
                                    timeout=10)
        answered = time.perf_counter() - start
        if response.status_code != 200 or response.json()["status"] != "transfer_pending":
            sys.exit(f"the transfer of {tid} was refused: {response.status_code}"
                     f" {response.text}")
        owned = transferred = None
        while owned is None or transferred is None:
            if owned is None and (at := self.owned_at_target(tid)) is not None:
                owned = at - start
            if transferred is None and (at := self.transferred_at_origin(tid)) is not None:
                transferred = at - start
            if time.perf_counter() - start > TIMEOUT:
                sys.exit(f"transfer of {tid} not done after {TIMEOUT:g} s")
            if poll > 0 and (owned is None or transferred is None):
                time.sleep(poll)
        return answered, owned, transferred


def appeals(office, n, origin_db):
    """n new appeals at the origin, their changes already at the province."""
    ids = [office.create()["id"] for _ in range(n)]
    wait(lambda: query(origin_db, "SELECT count(*) FROM outbox WHERE stream = %s",
                       (STREAM_TICKETS,))[0][0] == 0,
         "the origin's intake to reach the province", 60)
    return ids


# The catch-up burst.

class Away:
    """广州: a city that is stopped while changes queue up, then started to
    sync them while transfers run."""

    def __init__(self, city, changes):
        self.city, self.changes = city, changes
        self.db = city.settings["database"]
        self.rounds = 0
        self.real = None  # the messages of the changes made through the API
        self.began = None
        self.sync_seconds = []

    def first_changes(self):
        """A few changes through the API, whose messages the synthetic ones
        must look like; made before the province runs, so they wait too."""
        self.city.start()
        self.real = sync_bench.through_the_api(self.city)
        self.city.stop()

    def queue(self):
        """Writes the next burst's changes, of tickets that arrive the day
        after the last burst's; their commits need not wait for the disk."""
        start = sync_bench.START + datetime.timedelta(
            days=(sync_bench.INTAKE_DAYS + 1) * self.rounds)
        self.rounds += 1
        seconds, _, _ = sync_bench.generate(
            f"{self.db} options='-c synchronous_commit=off'", self.changes, self.real, start)
        execute(self.db, "VACUUM ANALYZE outbox")
        return seconds

    def start(self, cursor):
        """Starts the city; returns once the province applied its first
        batch, with the number the province's cursor must reach."""
        queued = query(self.db, "SELECT count(*) FROM outbox WHERE stream = %s",
                       (STREAM_TICKETS,))[0][0]
        target = cursor() + queued
        self.began = time.perf_counter()
        self.city.start(wait=False)
        first = cursor()
        wait(lambda: cursor() > first or not self.city.is_running(),
             "the away city's first batch", 60)
        if not self.city.is_running():
            sys.exit(f"the away city stopped:\n{self.city.log_tail()}")
        return target

    def finish(self, cursor, target):
        """Waits until the province holds every change and the city has
        forgotten them, then stops the city."""
        wait(lambda: cursor() >= target, "the away city's sync to end", 3600)
        self.sync_seconds.append(time.perf_counter() - self.began)
        wait(lambda: query(self.db, "SELECT count(*) FROM outbox WHERE stream = %s",
                           (STREAM_TICKETS,))[0][0] == 0, "the away city's outbox to empty", 60)
        self.city.stop()


# Baselines.

def echo(endpoint, public, secret, ready):
    """A REP socket with CURVE that answers every request with itself."""
    context = zmq.Context()
    rep = context.socket(zmq.REP)
    rep.curve_server = True
    rep.curve_publickey, rep.curve_secretkey = public, secret
    rep.bind(endpoint)
    ready.set()
    while True:
        message = rep.recv()
        if message == b"stop":
            rep.send(b"stop")
            break
        rep.send(message)
    rep.close(linger=0)
    context.term()


class Baselines:
    """The bare ZeroMQ CURVE round trip and three durable commits, measured
    a few at a time between rounds."""

    def __init__(self, cluster):
        spawn = multiprocessing.get_context("spawn")
        server_public, server_secret = zmq.curve_keypair()
        client_public, client_secret = zmq.curve_keypair()
        endpoint = f"tcp://127.0.0.1:{free_port()}"
        ready = spawn.Event()
        self.server = spawn.Process(target=echo,
                                    args=(endpoint, server_public, server_secret, ready),
                                    daemon=True)
        self.server.start()
        if not ready.wait(30):
            sys.exit("the echo server did not start")
        self.context = zmq.Context()
        self.req = self.context.socket(zmq.REQ)
        self.req.curve_serverkey = server_public
        self.req.curve_publickey, self.req.curve_secretkey = client_public, client_secret
        self.req.connect(endpoint)
        self.payload = os.urandom(1024)
        self.round_trip()  # the handshake, not timed
        self.db = psycopg2.connect(cluster.create_database("commits"))
        with self.db.cursor() as cur:
            cur.execute("SET synchronous_commit = on")
            cur.execute("CREATE TABLE commits (id bigserial PRIMARY KEY, at timestamptz"
                        " NOT NULL DEFAULT now(), body text NOT NULL)")
        self.db.commit()
        self.zmq, self.commits = [], []

    def round_trip(self):
        start = time.perf_counter()
        self.req.send(self.payload)
        if self.req.recv() != self.payload:
            sys.exit("the echo server answered something else")
        return time.perf_counter() - start

    def three_commits(self):
        start = time.perf_counter()
        with self.db.cursor() as cur:
            for _ in range(3):
                cur.execute("INSERT INTO commits (body) VALUES (%s)", ("一次持久提交",))
                self.db.commit()
        return time.perf_counter() - start

    def measure(self, round_trips=200, commits=30):
        self.zmq += [self.round_trip() for _ in range(round_trips)]
        self.commits += [self.three_commits() for _ in range(commits)]

    def close(self):
        self.req.send(b"stop")
        self.req.recv()
        self.req.close(linger=0)
        self.context.term()
        self.server.join(10)
        self.db.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--transfers", type=int, default=200,
                        help="transfers timed in each condition (default 200)")
    parser.add_argument("--per-round", type=int, default=20,
                        help="transfers of a round (default 20)")
    parser.add_argument("--burst-changes", type=int, default=60000,
                        help="changes the away city syncs in each burst round (default 60000)")
    parser.add_argument("--heartbeat-ms", type=int, default=5000,
                        help="heartbeat_interval_ms of every node (default 5000, the default)")
    parser.add_argument("--poll-ms", type=float, default=2.0,
                        help="pause between two looks at the cities (default 2; 0: none)")
    parser.add_argument("--watch", choices=("auditor", "manager"), default="auditor",
                        help="who watches the cities: the auditor, confirmed by the manager"
                        " (default), or the manager alone")
    parser.add_argument("--output", default=str(OUTPUT / "transfer.json"))
    args = parser.parse_args()
    if not 1 <= args.transfers <= 100000 or not 1 <= args.per_round <= 1000:
        parser.error("--transfers 1..100000, --per-round 1..1000")
    if args.burst_changes < 1000:
        parser.error("--burst-changes 1000 or more")
    if not (REPO / "build" / "city-node").exists():
        sys.exit("build/city-node not found: run `make` first")

    cluster = PostgresCluster()
    folder = pathlib.Path(tempfile.mkdtemp(prefix="hotline-transfer-bench-"))
    workspace = baselines = cursor = None
    times = {"idle": [], "burst": []}
    try:
        cluster.start()
        configure(cluster, DURABLE + [("shared_buffers", "512MB")])
        workspace, fed = set_up(folder, cluster, args.heartbeat_ms)
        origin_node, target_node = fed.cities[ORIGIN[0]], fed.cities[TARGET[0]]
        away = Away(fed.cities[AWAY[0]], args.burst_changes)
        away.first_changes()
        fed.province.start()
        origin_node.start()
        target_node.start()
        for code in (ORIGIN[0], TARGET[0]):
            fed.wait_connected(code)
        origin, target = Hotline(origin_node), Hotline(target_node)
        desk = Desk(origin, target, args.watch)
        cursor = Cursor(fed.province.settings["database"], AWAY[0])
        baselines = Baselines(cluster)
        origin_db = origin_node.settings["database"]
        poll = args.poll_ms / 1000
        log(f"heartbeats every {args.heartbeat_ms} ms; {args.transfers} transfers idle and"
            f" {args.transfers} during bursts of {args.burst_changes} changes,"
            f" {args.per_round} a round")

        rounds = 0
        while len(times["idle"]) < args.transfers or len(times["burst"]) < args.transfers:
            rounds += 1
            if len(times["idle"]) < args.transfers:
                n = min(args.per_round, args.transfers - len(times["idle"]))
                ids = appeals(origin, n, origin_db)
                for tid in ids:
                    times["idle"].append(desk.transfer(tid, poll))
                baselines.measure()
                log(f"round {rounds} idle: {n} transfers, median"
                    f" {statistics.median(max(t[1:]) for t in times['idle'][-n:]) * 1000:.1f} ms")
            if len(times["burst"]) < args.transfers:
                n = min(args.per_round, args.transfers - len(times["burst"]))
                ids = appeals(origin, n, origin_db)
                generated = away.queue()
                target_seq = away.start(cursor)
                counted = 0
                for tid in ids:
                    result = desk.transfer(tid, poll)
                    if cursor() >= target_seq:
                        break  # the sync ended first: not a transfer during a burst
                    times["burst"].append(result)
                    counted += 1
                away.finish(cursor, target_seq)
                if counted == 0:
                    sys.exit("a burst ended before a transfer did: raise --burst-changes")
                median = statistics.median(max(t[1:]) for t in times["burst"][-counted:])
                log(f"round {rounds} burst: {counted} transfers during a sync of"
                    f" {args.burst_changes} changes ({generated:.1f} s to write them,"
                    f" {away.sync_seconds[-1]:.1f} s to sync), median {median * 1000:.1f} ms")
                # Appeals left over stay at the origin; the next round makes its own.
        zmq_times, commit_times = baselines.zmq, baselines.commits
    finally:
        if cursor is not None:
            cursor.close()
        if baselines is not None:
            baselines.close()
        if workspace is not None:
            workspace.stop_all()
        cluster.stop()
        subprocess.run(["rm", "-rf", str(folder)], check=False)

    zmq_median = statistics.median(zmq_times)
    commits_median = statistics.median(commit_times)
    result = {
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "heartbeat_interval_ms": args.heartbeat_ms,
        "poll_ms": args.poll_ms,
        "watch": args.watch,
        "per_round": args.per_round,
        "burst_changes": args.burst_changes,
        "burst_sync_seconds_median": round(statistics.median(away.sync_seconds), 2),
        "baselines": {
            "zmq_curve_round_trip": {**latencies(zmq_times), "payload_bytes": 1024},
            "three_durable_commits": latencies(commit_times),
        },
    }
    print(f"transfer {ORIGIN[0]} -> {TARGET[0]} through the province,"
          f" heartbeats every {args.heartbeat_ms} ms, watched by the {args.watch}:")
    print(f"  {'':28} {'n':>4} {'p50':>8} {'p90':>8} {'p99':>8} {'max':>8}  (ms)")
    for condition, values in times.items():
        figures = {
            "post_answered": [t[0] for t in values],
            "target_owns": [t[1] for t in values],
            "origin_transferred": [t[2] for t in values],
            "both": [max(t[1], t[2]) for t in values],
        }
        result[condition] = {name: latencies(v) for name, v in figures.items()}
        both = result[condition]["both"]["p50_ms"] / 1000
        result[condition]["ratio_to_zmq_round_trip"] = round(both / zmq_median, 1)
        result[condition]["ratio_to_three_commits"] = round(both / commits_median, 1)
        for name, v in figures.items():
            s = result[condition][name]
            print(f"  {condition + ' ' + name:28} {s['n']:4} {s['p50_ms']:8.1f}"
                  f" {s['p90_ms']:8.1f} {s['p99_ms']:8.1f} {s['max_ms']:8.1f}")
    print(f"  zmq curve round trip (1 KiB) median {zmq_median * 1000:8.3f} ms")
    print(f"  three durable commits        median {commits_median * 1000:8.3f} ms")
    for condition in times:
        print(f"  {condition}: transfer median / zmq round trip = "
              f"{result[condition]['ratio_to_zmq_round_trip']:g},"
              f" / three commits = {result[condition]['ratio_to_three_commits']:g}")
    # Transfers have no baseline of the same work: each percentile is put
    # against the cost of its parts, three durable commits (no goal).
    result["headlines"] = [
        headline("6 transfer latency", f"{condition} {p}, city to city through the province",
                 result[condition]["both"][f"{p}_ms"], commits_median * 1000, "ms",
                 "three durable commits", higher_is_better=False)
        for condition in times for p in ("p50", "p99")]
    write_summary(result, args.output)


if __name__ == "__main__":
    main()
