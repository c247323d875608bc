# SPDX-License-Identifier: Apache-2.0
"""Resources stay flat under sustained load.

Two cities and the province are driven round after round with the mix of a
working day: intake by phone and through Open311, the handling of an order
to its rating, a transfer from one city to the other, refusals, reads,
lists, statistics, the citizen's progress query and the federation's own
views, each round waiting until the master dataset holds every event.
After a warm-up the node processes are measured (open descriptors and
threads from /proc, database connections from pg_stat_activity, resident
memory), and again after many more rounds:

- descriptors, threads and connections must be exactly what they were;
- resident memory must not have grown by more than RSS_SLACK_KIB, a bound
  that does not grow with the number of rounds, so that growth per round,
  extrapolated, is nil. What the allocator and the first data (repeat
  candidates, roll-ups) take settles within the warm-up; after it the
  nodes move by a few pages either way (in 300 rounds, +48 to +184 KiB
  from round 30 to round 305, nothing in the last 150). glibc raises its
  threshold for mmap to the largest block freed so far, after which blocks
  of that size come from the arenas and keep them at their peak, in steps
  of a megabyte or two at random rounds: the nodes run with the threshold
  fixed (ALLOCATOR), so that resident memory follows the memory in use.
  A leak of b bytes a round passes the bound after RSS_SLACK_KIB * 1024 / b
  rounds: the short run in `make check` catches some 20 KiB a round (one
  lost block of half a KiB per request), `make soak` (SOAK_LOAD_ROUNDS) some
  half a KiB. Built with SAN=1, AddressSanitizer keeps freed blocks in
  quarantine, so memory is only shown: LeakSanitizer checks every block at
  the nodes' exit instead.

Lists are read a page at a time, as a client does: a list without one
grows with the data, which is no leak but would be counted as one (the
province's transfers have no pages: only those waiting for the managers'
decision are read).

Nothing here is timed: the rounds are counted, and every wait polls to a
deadline.
"""

import datetime
import http.client
import json
import os
import pathlib
import time
from contextlib import closing
from urllib.parse import urlencode

import psycopg2
import pytest

from hotline import DEADLINE, GUANGZHOU, SHENZHEN
from lifecycle import CLOCK_INTERVAL_MS, Hotline, assert_error

WARM_UP_ROUNDS = 15
SHORT_ROUNDS = 30  # measured rounds in `make check`
SOAK_ROUNDS = int(os.environ.get("SOAK_LOAD_ROUNDS", "1000"))  # `make soak`
RSS_SLACK_KIB = 512
ALLOCATOR = {"GLIBC_TUNABLES": "glibc.malloc.mmap_threshold=131072"}
PROBE = "hotline-tests-probe"  # application_name of the test's own connections
# Progress queries come from a ring of loopback addresses, so that the
# limit of 60 queries per address in ten minutes is never what answers.
PROGRESS_ADDRESSES = [f"127.0.0.{i}" for i in range(2, 42)]


def beijing_today():
    return datetime.datetime.now(datetime.timezone(datetime.timedelta(hours=8))).date()


def rows(node, sql, args=()):
    with closing(psycopg2.connect(node.settings["database"], application_name=PROBE)) as db, \
            db.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall()


def ok(response, status=200):
    assert response.status_code == status, response.text
    return response.json()


class Load:
    """The federation and one office per node; round() drives one round."""

    def __init__(self, fed):
        self.fed = fed
        self.gz = Hotline(fed.cities[GUANGZHOU[0]])
        self.sz = Hotline(fed.cities[SHENZHEN[0]])
        self.gd = Hotline(fed.province)
        self.rounds = 0
        today = beijing_today()
        self.period = {"from": (today - datetime.timedelta(days=30)).isoformat(),
                       "to": today.isoformat()}
        self.month = today.strftime("%Y-%m")

    def nodes(self):
        return [self.fed.province, self.gz.node, self.sz.node]

    def round(self):
        gz, sz, gd = self.gz, self.sz, self.gd
        n = self.rounds
        self.rounds += 1

        # Intake: by phone at both cities and the province, and through
        # Open311 with the website's service key; a new caller each time.
        phone = f"139{n:08d}"
        caller = {"phone": phone}
        handled = gz.create(citizen=caller)["id"]
        moved = gz.create(citizen=caller,
                          content=f"深圳市南山区科技园工地夜间施工扰民，第{n}次反映。")["id"]
        sz_own = sz.create(kind="consultation", category="public_service", citizen=caller,
                           content="请问办理居住证需要哪些材料？")["id"]
        gd_own = gd.create(kind="suggestion", category="public_service", citizen=caller,
                           content="建议在地铁站增加无障碍电梯。")["id"]
        filed = self.open311_file(gz, phone)

        # Handling to a rating: dispatch, notes, completion, approval; the
        # citizen rates with the token of an SMS.
        gz.do(gz.operator, handled, "dispatch", {"unit": "water"})
        gz.do(gz.water, handled, "notes")
        gz.do(gz.water, handled, "completion")
        gz.do(gz.manager, handled, "completion/review")
        token = ok(gz.post(f"/api/v1/tickets/{handled}/rating-token", gz.service, {}), 201)
        ok(gz.post(f"/api/v1/tickets/{handled}/rating", None,
                   {"token": token["token"], "intake": "very_satisfied",
                    "handling": "satisfied"}))
        sz.do(sz.operator, sz_own, "answer")
        gz.do(gz.operator, filed, "accept", {"kind": "complaint",
                                             "category": "ecological_environment"})

        # A transfer to the other city, through the province.
        gz.do(gz.operator, moved, "transfer", {"to": SHENZHEN[0],
                                               "reason": "事发地在深圳市南山区，属深圳管辖"})

        # Refusals: each a clear 4xx that changes nothing.
        assert_error(gz.post("/api/v1/tickets", gz.operator, gz.ticket(kind="gossip")),
                     400, "invalid_field", "kind")
        assert_error(gz.get(f"{GUANGZHOU[0]}-20240101-999999"), 404, "not_found")
        assert_error(gz.act(gz.operator, handled, "dispatch", {"unit": "water"}), 409,
                     "illegal_transition")
        assert gz.node.http("GET", "/api/v1/tickets").status_code == 401

        # Reads, lists, statistics, the progress query, Open311.
        gz.show(handled)
        gz.events(handled)
        ok(gz.list(status="completed", page_size=20))
        ok(gz.node.http("GET", "/api/v1/stats", gz.manager, params=self.period))
        ok(gz.node.http("GET", "/api/v1/stats", gz.auditor,
                        params={**self.period, "group_by": "unit"}))
        assert gz.node.http("GET", "/api/v1/stats", gz.manager, params=self.period,
                            headers={"Accept": "text/csv"}).status_code == 200
        ok(gz.node.http("GET", "/api/v1/assessment", gz.manager, params={"month": self.month}))
        ok(gz.node.http("GET", "/api/v1/kb", gz.operator))
        ok(gz.node.http("GET", "/api/v1/load", gz.manager))
        ok(gz.node.http("GET", "/api/v1/federation/link", gz.node.admin_token))
        progress = self.progress(gz, handled, phone[-4:],
                                 PROGRESS_ADDRESSES[n % len(PROGRESS_ADDRESSES)])
        assert progress["status"] == "completed", progress
        for fmt in ("json", "xml"):
            assert gz.node.http("GET", f"/open311/v2/requests/{filed}.{fmt}").status_code == 200
            assert gz.node.http("GET", f"/open311/v2/requests.{fmt}",
                                params={"page_size": 20}).status_code == 200
        assert gz.node.http("GET", "/metrics").status_code == 200

        # The province: its master dataset and the federation's views.
        ok(gd.node.http("GET", "/api/v1/master/tickets", gd.manager,
                        params={"node": GUANGZHOU[0], "page_size": 20}))
        ok(gd.node.http("GET", "/api/v1/master/stats", gd.manager,
                        params={**self.period, "group_by": "node"}))
        ok(gd.node.http("GET", "/api/v1/stats", gd.manager, params=self.period))
        ok(gd.node.http("GET", "/api/v1/transfers", gd.manager, params={"status": "declined"}))
        admin = self.fed.province.admin_token
        for view in ("nodes", "links", "reconciliation", "broadcasts", "load", "overflow"):
            ok(gd.node.http("GET", f"/api/v1/federation/{view}", admin))

        # The transfer arrives; the target triages it.
        sz.node.wait_for(lambda: self.status(sz, moved) == "registered",
                         f"ticket {moved} to be registered at {SHENZHEN[0]}")
        sz.do(sz.operator, moved, "dispatch", {"unit": "market"})
        ok(sz.list(page_size=20))
        self.wait_synced([(gz, handled), (gz, filed), (sz, moved), (sz, sz_own), (gd, gd_own)])

    def open311_file(self, office, phone):
        form = {"api_key": office.service, "service_code": "complaint.ecological_environment",
                "lat": "23.1317", "long": "113.3216", "address_string": "广州市天河区体育西路1号",
                "description": "小区旁工地每晚十一点后仍在施工，噪声很大。",
                "first_name": "小明", "last_name": "陈", "phone": phone}
        response = office.node.http("POST", "/open311/v2/requests.json",
                                    data=urlencode(form).encode(),
                                    headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert response.status_code == 200, response.text
        [created] = response.json()
        return created["service_request_id"]

    def progress(self, office, ticket_id, last4, source):
        """The citizen's progress query, sent from the loopback address source."""
        host, port = office.node.settings["http_address"], office.node.settings["http_port"]
        connection = http.client.HTTPConnection(host, port, timeout=5,
                                                source_address=(source, 0))
        try:
            connection.request("GET", f"/api/v1/progress/{ticket_id}?phone_last4={last4}")
            response = connection.getresponse()
            body = response.read()
        finally:
            connection.close()
        assert response.status == 200, body
        return json.loads(body)

    @staticmethod
    def status(office, ticket_id):
        response = office.get(ticket_id)
        return response.json()["status"] if response.status_code == 200 else None

    def wait_synced(self, owned):
        """Poll until the master dataset holds each (office, ticket id) of
        owned as its owner does: its status, version and every event."""
        province = self.fed.province
        ticket_sql = ("SELECT t.status, t.version, (SELECT count(*) FROM {events} e"
                      " WHERE e.ticket_id = t.id) FROM {tickets} t WHERE t.id = %s")
        at_node = ticket_sql.format(tickets="tickets", events="ticket_events")
        at_province = ticket_sql.format(tickets="master_tickets", events="master_events")

        def synced():
            return all(rows(office.node, at_node, (tid,)) == rows(province, at_province, (tid,))
                       for office, tid in owned)
        province.wait_for(synced, "the master dataset to hold the round's tickets")


# Measuring.

def process_figures(node):
    """{rss_kib, threads, fds} of the node's process, from /proc."""
    proc = pathlib.Path(f"/proc/{node.process.pid}")
    status = dict(line.split(":", 1) for line in (proc / "status").read_text().splitlines())
    return {"rss_kib": int(status["VmRSS"].split()[0]),
            "threads": int(status["Threads"]),
            "fds": len(os.listdir(proc / "fd"))}


def connections(nodes):
    """{node code: its database's client connections}, the test's own left out."""
    names = {psycopg2.extensions.parse_dsn(n.settings["database"])["dbname"]: n.code
             for n in nodes}
    counted = dict(rows(nodes[0], "SELECT datname, count(*) FROM pg_stat_activity"
                                  " WHERE backend_type = 'client backend'"
                                  " AND application_name <> %s GROUP BY datname", (PROBE,)))
    return {code: counted.get(name, 0) for name, code in names.items()}


def counts(nodes):
    """What must stay equal: {node code: (fds, threads, connections)}."""
    conns = connections(nodes)
    figures = {n.code: process_figures(n) for n in nodes}
    return {code: (f["fds"], f["threads"], conns[code]) for code, f in figures.items()}


def settled_counts(nodes):
    """counts() once two readings in a row agree: an HTTP connection the
    server has not yet seen closed is not counted."""
    last = [None]

    def steady():
        now = counts(nodes)
        same, last[0] = now == last[0], now
        return now if same else None
    return nodes[0].wait_for(steady, "the node processes' descriptors to settle")


def report(label, nodes, rounds):
    """One line per node of what it holds now; returns {code: figures}."""
    conns = connections(nodes)
    figures = {}
    for node in nodes:
        f = process_figures(node)
        f["connections"] = conns[node.code]
        figures[node.code] = f
        print(f"{label} after {rounds} rounds: {node.code} ({node.role}) rss {f['rss_kib']} KiB,"
              f" {f['fds']} fds, {f['threads']} threads, {f['connections']} connections")
    return figures


def busy_federation(federation):
    """Two cities and the province, running, whose clock threads also work
    many times a round: every thread has done its work, and connected to
    its database, within the warm-up."""
    fed = federation(GUANGZHOU, SHENZHEN, start=False)
    for node in (fed.province, *fed.cities.values()):
        node.settings["clock_interval_ms"] = CLOCK_INTERVAL_MS
        node.write_config()
        node.env = dict(ALLOCATOR)
    fed.start()
    for code in fed.cities:
        fed.wait_connected(code)
    return fed


def assert_flat(federation, measured_rounds):
    fed = busy_federation(federation)
    load = Load(fed)
    nodes = load.nodes()
    for _ in range(WARM_UP_ROUNDS):
        load.round()
    baseline = settled_counts(nodes)
    before = report("warm", nodes, load.rounds)

    checkpoints = [before]
    step = max(1, measured_rounds // 10)
    while load.rounds < WARM_UP_ROUNDS + measured_rounds:
        load.round()
        if (load.rounds - WARM_UP_ROUNDS) % step == 0:
            checkpoints.append(report("load", nodes, load.rounds))

    # Descriptors, threads and connections: exactly as after the warm-up
    # once the last HTTP connection is seen closed.
    deadline = time.monotonic() + DEADLINE
    while (after := counts(nodes)) != baseline and time.monotonic() < deadline:
        time.sleep(0.05)
    final = report("final", nodes, load.rounds)
    trails = {code: [c[code]["rss_kib"] for c in checkpoints + [final]] for code in final}
    for code, trail in trails.items():
        growth = trail[-1] - trail[0]
        print(f"{code}: rss {growth:+d} KiB over {measured_rounds} rounds"
              f" ({growth * 1024 / measured_rounds:+.0f} bytes a round); {trail}")
    assert after == baseline, (
        f"(fds, threads, connections) per node after {WARM_UP_ROUNDS} rounds {baseline},"
        f" after {load.rounds} rounds {after}")
    for node in nodes:
        trail = trails[node.code]
        if not node.sanitized():
            assert trail[-1] - trail[0] <= RSS_SLACK_KIB, (
                f"{node}: resident memory grew {trail[-1] - trail[0]} KiB over"
                f" {measured_rounds} rounds (KiB at each checkpoint: {trail})")

def test_descriptors_threads_connections_and_memory_stay_flat(federation):
    assert_flat(federation, SHORT_ROUNDS)


@pytest.mark.soak
def test_a_long_soak_keeps_them_flat(federation):
    assert_flat(federation, SOAK_ROUNDS)
