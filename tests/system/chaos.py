# SPDX-License-Identifier: Apache-2.0
"""The seeded chaos run: a realistic workload on a federation of the
province and two cities while faults hit it, then the invariants.

    run = ChaosRun(federation, postgres, seed, seconds=60)
    run.start(); run.drive(); run.heal(); run.check(); print(run.figures(True))

The workload is a few client threads, each with its own random generator
drawn from the seed, driving real orders through HTTP as the hotline's
people do: operators register appeals of the five kinds and triage them,
managers dispatch and review, units return, ask for extensions and
complete with the four parts, the SMS gateway gets a rating token and the
citizen rates with it, operators transfer appeals between the two cities
and the target may decline, the province's managers decide.  Every
request is recorded with what it got: a 2xx (it happened), a 409 or 503
(it was refused: nothing changed) or no answer (a connection cut by a
kill: it may or may not have happened, but never by half).

The faults come from one table, FAULTS, in seeded order at seeded times,
one at a time, each undone after a seeded pause:

    kill_city      SIGKILL of a city, started again after the pause
    kill_province  SIGKILL of the province, started again
    pg_restart     the PostgreSQL cluster every node uses (the harness
                   runs one for all) stopped at once, as a crash, and
                   started again: every node loses its database together
                   (the nodes' databases commit as production does,
                   synchronous_commit on: with it off, as the other
                   system tests run, this fault loses acknowledged
                   requests, and the run says so)
    db_cut         one node's database refuses connections and its
                   sessions are ended: that node alone loses its database
    freeze         SIGSTOP then SIGCONT of a node: a stall of the whole
                   process, sockets open; a freeze, not a partition
    link_cut       a city's federation link stalls both ways: each city
                   reaches the province through a TCP relay on loopback
                   that stops passing bytes (what it holds waits, as TCP
                   holds unacknowledged data across a short partition)
                   and takes new connections without answering; HTTP to
                   both sides still works.  A partition of that one link,
                   on one host: not a lossy or slow network, which needs
                   network namespaces (a row to add to FAULTS).

The seed is printed first and CHAOS_SEED replays it: the same choices of
operations and faults in the same order; what the processes do between
them depends on timing, so a replay is faithful in what it tries, not
to the microsecond.
"""

import collections
import os
import random
import re
import socket
import threading
import time

import requests

from hotline import GUANGZHOU, SHENZHEN, rows, wait_until
from lifecycle import BODIES, Hotline

CITIES = (GUANGZHOU[0], SHENZHEN[0])
KINDS = ("consultation", "help", "suggestion", "complaint", "report")
CHANNELS = ("phone", "web", "app", "miniprogram")
UNIT_CODES = ("water", "market")
WORKERS = 3
HEAL_DEADLINE = 180.0  # seconds the healed federation may take to be quiet


def chaos_seed():
    """CHAOS_SEED if set (a replay), otherwise a fresh one."""
    given = os.environ.get("CHAOS_SEED")
    return int(given) if given else random.SystemRandom().randrange(1, 2**31)


class LinkRelay:
    """A TCP relay on loopback between a city and the province's federation
    endpoint. cut() stalls it both ways (nothing read, nothing passed, new
    connections taken but not answered); mend() lets everything held go on."""

    def __init__(self, target_host, target_port):
        self.target = (target_host, target_port)
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.flowing = threading.Event()
        self.flowing.set()
        self.closed = False
        self.sockets = []
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def endpoint(self):
        return f"tcp://127.0.0.1:{self.port}"

    def cut(self):
        self.flowing.clear()

    def mend(self):
        self.flowing.set()

    def close(self):
        self.closed = True
        self.flowing.set()
        for s in [self.listener, *self.sockets]:
            try:
                s.close()
            except OSError:
                pass

    def _accept(self):
        while not self.closed:
            try:
                near, _ = self.listener.accept()
            except OSError:
                return
            self.sockets.append(near)
            threading.Thread(target=self._connect, args=(near,), daemon=True).start()

    def _connect(self, near):
        self.flowing.wait()
        try:
            far = socket.create_connection(self.target)
        except OSError:
            near.close()
            return
        self.sockets.append(far)
        for src, dst in ((near, far), (far, near)):
            threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src, dst):
        try:
            while True:
                self.flowing.wait()
                data = src.recv(65536)
                if not data:
                    break
                self.flowing.wait()
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


# The faults. Each inject(run, rng) does the harm and returns what undoes it.

def kill_city(run, rng):
    city = run.fed.cities[rng.choice(CITIES)]
    city.kill()
    return city.code, lambda: city.start()


def kill_province(run, rng):
    run.fed.province.kill()
    return "440000", lambda: run.fed.province.start()


def pg_restart(run, rng):
    hold = rng.uniform(0.2, 2.0)
    run.postgres.restart(down=lambda: time.sleep(hold))
    return "all", lambda: None


def db_cut(run, rng):
    node = rng.choice(run.nodes)
    run.postgres.allow_connections(node.settings["database"], False)
    return node.code, lambda: run.postgres.allow_connections(node.settings["database"], True)


def freeze(run, rng):
    node = rng.choice(run.nodes)
    node.freeze()
    return node.code, node.thaw


def link_cut(run, rng):
    code = rng.choice(CITIES)
    run.relays[code].cut()
    return code, run.relays[code].mend


Fault = collections.namedtuple("Fault", "name weight inject")
FAULTS = (
    Fault("kill_city", 3, kill_city),
    Fault("kill_province", 2, kill_province),
    Fault("pg_restart", 1, pg_restart),
    Fault("db_cut", 2, db_cut),
    Fault("freeze", 1, freeze),
    Fault("link_cut", 2, link_cut),
)


class Order:
    """What a client knows of one order: where it was registered and who
    it believes holds it now."""

    def __init__(self, ticket_id, home, kind):
        self.id = ticket_id
        self.home = home
        self.owner = home
        self.kind = kind


class Ledger:
    """Every request and what it got, shared by the client threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.ops = collections.Counter()  # (operation, outcome)
        self.intakes = []  # (marker, node, ticket id or None, outcome)
        self.actions = collections.Counter()  # (ticket id, event action, outcome)
        self.decisions = []  # (transfer id, owner, outcome)
        self.unexpected = []  # answers no fault explains
        self.refusals = collections.Counter()  # HTTP status of the refused

    def note(self, op, outcome):
        with self.lock:
            self.ops[op, outcome] += 1


def outcome_of(response):
    """ok (2xx), refused (409, 503: nothing changed), unknown (no answer,
    or the database went away during the commit) or unexpected."""
    if response is None:
        return "unknown"
    if 200 <= response.status_code < 300:
        return "ok"
    if response.status_code in (409, 503):
        return "refused"
    if response.status_code == 500 and "outcome_unknown" in response.text:
        return "unknown"
    return "unexpected"


class ChaosRun:
    """One run: the province and two cities, each city reaching the
    province through its LinkRelay, their offices, the clients, the
    faults, the ledger and the invariants."""

    def __init__(self, federation, postgres, seed, seconds, max_faults=None):
        self.seed = seed
        self.seconds = seconds
        self.max_faults = max_faults
        self.postgres = postgres
        self.ledger = Ledger()
        self.faults = collections.Counter()
        self.fault_log = []
        self.stop = threading.Event()
        self.fed = federation(GUANGZHOU, SHENZHEN, start=False)
        self.relays = {}
        host, port = self.fed.province.settings["federation_bind"][len("tcp://"):].split(":")
        for code, city in self.fed.cities.items():
            self.relays[code] = LinkRelay(host, int(port))
            city.settings["province_endpoint"] = self.relays[code].endpoint
            city.write_config()
        self.nodes = [self.fed.province, *self.fed.cities.values()]
        for node in self.nodes:
            postgres.commit_durably(node.settings["database"])
        self.offices = {}

    # Setting up and tearing down.

    def start(self):
        print(f"chaos: seed {self.seed} (replay with CHAOS_SEED={self.seed})", flush=True)
        self.fed.start()
        for code in CITIES:
            self.fed.wait_connected(code)
        for node in self.nodes:
            self.offices[node.code] = Hotline(node)

    def close(self):
        self.stop.set()
        for node in self.nodes:
            if node.is_running():
                node.thaw()
        for relay in self.relays.values():
            relay.close()

    # The workload and the faults.

    def drive(self):
        """Run the clients and the faults for the run's seconds (or until
        max_faults were injected); every fault is undone on the way out."""
        clients = [threading.Thread(target=self._client, args=(n,)) for n in range(WORKERS)]
        for c in clients:
            c.start()
        try:
            self._inject()
        finally:
            self.stop.set()
            for c in clients:
                c.join()

    def _inject(self):
        rng = random.Random(f"{self.seed}/faults")
        weights = [f.weight for f in FAULTS]
        end = time.monotonic() + self.seconds
        while time.monotonic() < end:
            if self.max_faults is not None and sum(self.faults.values()) >= self.max_faults:
                break
            time.sleep(rng.uniform(0.3, 2.0))
            fault = rng.choices(FAULTS, weights)[0]
            hold = rng.uniform(0.2, 3.0)
            target, undo = fault.inject(self, rng)
            self.faults[fault.name] += 1
            self.fault_log.append(f"{fault.name} {target}")
            time.sleep(hold)
            undo()

    def _client(self, number):
        rng = random.Random(f"{self.seed}/client/{number}")
        orders = []
        serial = 0
        while not self.stop.is_set():
            try:
                if not orders or rng.random() < 0.25:
                    serial += 1
                    order = self._intake(rng, f"{self.seed}-{number}-{serial}")
                    if order is not None:
                        orders.append(order)
                elif rng.random() < 0.05:
                    self._decide_declined(rng)
                else:
                    order = rng.choice(orders)
                    if self._advance(rng, order) == "done":
                        orders.remove(order)
            except requests.RequestException:
                pass  # counted where it was sent

    # One request, recorded.

    def _send(self, op, node, method, path, token=None, body=None):
        """Returns (outcome, response or None)."""
        try:
            response = node.http(method, path, token, json=body)
        except requests.RequestException:
            self.ledger.note(op, "unknown")
            self.stop.wait(0.1)  # a client waits a little before trying again
            return "unknown", None
        outcome = outcome_of(response)
        if outcome == "unexpected":
            with self.ledger.lock:
                self.ledger.unexpected.append(
                    f"{op} at {node.code}: {response.status_code} {response.text[:300]}")
        self.ledger.note(op, outcome)
        if outcome == "refused":
            with self.ledger.lock:
                self.ledger.refusals[response.status_code] += 1
            if response.status_code == 503:
                self.stop.wait(0.1)
        return outcome, response

    def _intake(self, rng, marker):
        code = rng.choice([*CITIES, "440000"])
        office = self.offices[code]
        kind = rng.choice(KINDS)
        body = office.ticket(kind=kind, channel=rng.choice(CHANNELS),
                             content=f"小区附近问题反映，编号{marker}，请尽快处理。")
        outcome, response = self._send("intake", office.node, "POST", "/api/v1/tickets",
                                       office.operator, body)
        ticket_id = response.json()["id"] if outcome == "ok" else None
        with self.ledger.lock:
            self.ledger.intakes.append((marker, code, ticket_id, outcome))
        return Order(ticket_id, code, kind) if ticket_id else None

    def _act(self, order, token, route, event, body):
        office = self.offices[order.owner]
        outcome, response = self._send(route, office.node, "POST",
                                       f"/api/v1/tickets/{order.id}/{route}", token, body)
        with self.ledger.lock:
            self.ledger.actions[order.id, event, outcome] += 1
        return outcome, response

    def _locate(self, order):
        """The order as its holder shows it, following a hand-off; None
        while that cannot be told."""
        for _ in range(2):
            office = self.offices[order.owner]
            try:
                response = office.get(order.id)
            except requests.RequestException:
                return None
            if response.status_code != 200:
                return None
            shown = response.json()
            if shown["status"] != "transferred":
                return shown
            order.owner = CITIES[1 - CITIES.index(order.owner)]
        return None

    def _advance(self, rng, order):
        """One step of the order's life, as the people holding it would
        take it; "done" once nothing more will happen to it."""
        shown = self._locate(order)
        if shown is None:
            return None
        office = self.offices[order.owner]
        status, unit = shown["status"], shown["unit"]
        unit_token = getattr(office, unit) if unit else None
        roll = rng.random()
        other_unit = UNIT_CODES[1 - UNIT_CODES.index(unit)] if unit else rng.choice(UNIT_CODES)
        if status in ("answered", "rejected", "closed"):
            return "done"
        if status == "transfer_pending":
            return None
        if status in ("registered", "accepted"):
            if order.owner in CITIES and roll < 0.15:
                to = CITIES[1 - CITIES.index(order.owner)]
                self._act(order, office.operator, "transfer", "transfer",
                          {"to": to, "reason": "事发地属另一城市管辖"})
            elif order.owner != order.home and roll < 0.25:
                self._act(order, office.operator, "decline", "transfer/decline",
                          {"reason": "诉求点不在本市"})
            elif status == "registered" and order.kind == "consultation" and roll < 0.5:
                self._act(order, office.operator, "answer", "answer", BODIES["answer"])
            elif status == "registered" and roll < 0.35:
                self._act(order, office.operator, "reject", "reject", BODIES["reject"])
            elif status == "registered" and roll < 0.5:
                self._act(order, office.operator, "accept", "accept", {})
            else:
                self._act(order, rng.choice([office.operator, office.manager]), "dispatch",
                          "dispatch", {"unit": rng.choice(UNIT_CODES)})
        elif status == "handling":
            if roll < 0.15:
                self._act(order, unit_token, "return", "return", BODIES["return"])
            elif roll < 0.3:
                self._act(order, unit_token, "extension", "extension", BODIES["extension"])
            elif roll < 0.45:
                self._act(order, office.operator, "notes", "note", BODIES["notes"])
            else:
                self._act(order, unit_token, "completion", "completion", BODIES["completion"])
        elif status == "return_requested":
            if roll < 0.6:
                self._act(order, office.manager, "return/review", "return/review:approve",
                          {"decision": "approve", "unit": other_unit, "note": "改派"})
            else:
                self._act(order, office.manager, "return/review", "return/review:refuse",
                          {"decision": "refuse", "note": "属本单位职责"})
        elif status == "extension_requested":
            decision = "approve" if roll < 0.7 else "refuse"
            self._act(order, office.manager, "extension/review",
                      f"extension/review:{decision}", {"decision": decision})
        elif status == "completion_requested":
            decision = "approve" if roll < 0.8 else "send_back"
            self._act(order, office.manager, "completion/review",
                      f"completion/review:{decision}", {"decision": decision})
        elif status == "redo_requested":
            decision = "approve" if roll < 0.6 else "refuse"
            self._act(order, office.manager, "redo/review", f"redo/review:{decision}",
                      {"decision": decision})
        elif status == "completed":
            if not shown["rated"]:
                self._rate(rng, order, office)
            elif shown["redos"] == 0 and roll < 0.3:
                self._act(order, office.operator, "redo", "redo", {"reason": "诉求人要求重办"})
            else:
                return "done"
        return None

    def _rate(self, rng, order, office):
        """The SMS gateway asks for a one-time token; the citizen rates with it."""
        outcome, response = self._send("rating-token", office.node, "POST",
                                       f"/api/v1/tickets/{order.id}/rating-token",
                                       office.service, {})
        if outcome != "ok":
            return
        grades = ("very_satisfied", "satisfied", "dissatisfied", "very_dissatisfied")
        self._act(order, None, "rating", "rating",
                  {"intake": rng.choice(grades), "handling": rng.choice(grades),
                   "token": response.json()["token"]})

    def _decide_declined(self, rng):
        """A manager of the province decides the declined transfers."""
        office = self.offices["440000"]
        outcome, response = self._send("transfers", office.node, "GET",
                                       "/api/v1/transfers?status=declined", office.manager)
        if outcome != "ok":
            return
        for waiting in response.json()["transfers"]:
            owner = rng.choice([waiting["from"], waiting["to"]])
            outcome, _ = self._send("decide", office.node, "POST",
                                    f"/api/v1/transfers/{waiting['id']}/decide",
                                    office.manager, {"owner": owner, "reason": "经核实由该市办理"})
            with self.ledger.lock:
                self.ledger.decisions.append((waiting["id"], owner, outcome))

    # After the faults.

    def heal(self):
        """Everything running and connected, the declined transfers
        decided, and the federation quiet: every queue drained, every
        cursor at the last number sent, no transfer open."""
        for node in self.nodes:
            if not node.is_running():
                node.start()
        for code in CITIES:
            self.fed.wait_connected(code, timeout=HEAL_DEADLINE)
        wait_until(self._quiet, "the federation to be quiet after the faults",
                   timeout=HEAL_DEADLINE, interval=0.5)

    def _quiet(self):
        self._decide_declined(random.Random(f"{self.seed}/heal"))
        for node in self.nodes:
            if rows(node, "SELECT count(*) FROM outbox")[0][0] != 0:
                return False
            if rows(node, "SELECT count(*) FROM tickets"
                          " WHERE status = 'transfer_pending'")[0][0] != 0:
                return False
        return rows(self.fed.province, "SELECT count(*) FROM routed_transfers"
                                       " WHERE status IN ('offered', 'declined')")[0][0] == 0

    # The invariants, each with its own message.

    def check(self):
        self.check_answers()
        self.check_logs()
        data = {node.code: self._data(node) for node in self.nodes}
        self.check_requests(data)
        self.check_master(data)
        self.check_owners(data)
        self.check_transfers(data)
        self.check_chains()
        self.check_sequences(data)

    def _data(self, node):
        return {
            "tickets": rows(node, "SELECT id, status, owner_node, owner_epoch, version,"
                                  " event_seq, event_hash, content FROM tickets"),
            "events": rows(node, "SELECT ticket_id, seq, hash, action, copied FROM ticket_events"),
            "transfers": rows(node, "SELECT id, status, owner FROM transfers"),
        }

    def check_answers(self):
        assert self.ledger.unexpected == [], \
            "answers no fault explains:\n" + "\n".join(self.ledger.unexpected[:20])
        assert self.ledger.ops[("intake", "ok")] > 0, "no appeal was registered at all"

    def check_logs(self):
        """Every database error a node logged is its database going away
        (SQLSTATE classes 08 and 57P): any other is a defect."""
        for node in self.nodes:
            others = [line for line in node.log_lines("database error '")
                      if not re.search(r"database error '(08|57P)", line)]
            assert others == [], f"database errors at {node.code}:\n" + "\n".join(others[:10])

    def check_requests(self, data):
        """Every request answered 2xx is persisted, and nothing twice: an
        appeal registered once, an action as many times as it was answered
        2xx, plus at most the unanswered ones; a refused one not at all."""
        held = collections.defaultdict(set)  # marker -> ticket ids holding it
        for code, node_data in data.items():
            for (ticket_id, *_, content) in node_data["tickets"]:
                if "编号" in content:
                    held[content.split("编号")[1].split("，")[0]].add(ticket_id)
        for marker, code, ticket_id, outcome in self.ledger.intakes:
            ids = held.get(marker, set())
            if outcome == "ok":
                assert ids == {ticket_id}, \
                    f"appeal {marker} answered 201 as {ticket_id} at {code} is held as {ids}"
            elif outcome == "refused":
                assert ids == set(), f"appeal {marker} refused at {code} is held as {ids}"
            else:
                assert len(ids) <= 1, f"appeal {marker} unanswered at {code} is held as {ids}"
        chains = self._owner_chains(data)
        answered = collections.defaultdict(collections.Counter)
        for (ticket_id, event, outcome), n in self.ledger.actions.items():
            answered[ticket_id, event][outcome] += n
        for (ticket_id, event), outcomes in answered.items():
            found = chains[ticket_id][event]
            low, high = outcomes["ok"], outcomes["ok"] + outcomes["unknown"]
            assert low <= found <= high, \
                (f"ticket {ticket_id}: '{event}' answered 2xx {outcomes['ok']} times, "
                 f"unanswered {outcomes['unknown']}, refused {outcomes['refused']}, "
                 f"but its chain holds it {found} times")
        decided = {row[0]: row[1:] for row in rows(
            self.fed.province, "SELECT id, status, owner FROM routed_transfers")}
        for transfer_id, owner, outcome in self.ledger.decisions:
            if outcome == "ok":
                assert decided.get(transfer_id) == ("decided", owner), \
                    f"transfer {transfer_id} decided for {owner} (200) is {decided.get(transfer_id)}"

    def _owner_chains(self, data):
        """{ticket id: Counter of its events' actions}, from the node
        holding it (a holder's chain carries what the earlier ones wrote)."""
        holder = {}
        for code, node_data in data.items():
            for ticket_id, status, *_ in node_data["tickets"]:
                if status != "transferred":
                    holder[ticket_id] = code
        chains = collections.defaultdict(collections.Counter)
        for code, node_data in data.items():
            for ticket_id, _, _, action, _ in node_data["events"]:
                if holder.get(ticket_id) == code:
                    chains[ticket_id][action] += 1
        return chains

    def check_master(self, data):
        """The master dataset is the union of the nodes' data, row by row:
        each event as the node that wrote it has it, once; each ticket as
        the node holding it has it."""
        union_events = collections.Counter()
        union_tickets = set()
        for code, node_data in data.items():
            for ticket_id, seq, hash_, _, copied in node_data["events"]:
                if not copied:
                    union_events[ticket_id, seq, hash_, code] += 1
            for ticket_id, status, _, epoch, version, *_ in node_data["tickets"]:
                if status != "transferred":
                    union_tickets.add((ticket_id, code, epoch, version, status))
        master_events = collections.Counter(rows(
            self.fed.province, "SELECT ticket_id, seq, hash, node FROM master_events"))
        twice = [e for e, n in master_events.items() if n > 1]
        assert twice == [], f"events in the master dataset twice: {twice[:10]}"
        missing = set(union_events) - set(master_events)
        extra = set(master_events) - set(union_events)
        assert not missing and not extra, \
            (f"master events differ from the nodes': {len(missing)} missing "
             f"{sorted(missing)[:5]}, {len(extra)} not at any node {sorted(extra)[:5]}")
        master_tickets = set(rows(self.fed.province, "SELECT id, node, owner_epoch, version,"
                                                     " status FROM master_tickets"))
        assert master_tickets == union_tickets, \
            (f"master tickets differ from the holders': not in the master "
             f"{sorted(union_tickets - master_tickets)[:5]}, only in the master "
             f"{sorted(master_tickets - union_tickets)[:5]}"
             + self._history(" ".join(t[0] for t in master_tickets ^ union_tickets)))

    def check_owners(self, data):
        """No ticket has two owners: one node holds it, every copy names
        that node, and the master dataset agrees."""
        holders = collections.defaultdict(list)
        owners = collections.defaultdict(set)
        for code, node_data in data.items():
            for ticket_id, status, owner, *_ in node_data["tickets"]:
                owners[ticket_id].add(owner)
                if status != "transferred":
                    holders[ticket_id].append(code)
        for ticket_id, named in owners.items():
            assert len(holders[ticket_id]) == 1, \
                f"ticket {ticket_id} is held by {holders[ticket_id] or 'nobody'}"
            assert named == set(holders[ticket_id]), \
                f"ticket {ticket_id} held at {holders[ticket_id]} names owners {named}"

    def check_transfers(self, data):
        """Every transfer is resolved, and each node that took part in it
        knows the outcome the province holds."""
        routed = rows(self.fed.province, "SELECT id, status, owner, from_node, to_node"
                                         " FROM routed_transfers")
        open_ = [r for r in routed if r[1] not in ("accepted", "decided", "refused")]
        assert open_ == [], f"transfers not resolved: {open_[:10]}"
        for transfer_id, status, owner, origin, target in routed:
            for code in (origin, target):
                known = {t[0]: t[2] for t in data[code]["transfers"]}
                if status == "refused":
                    continue
                assert known.get(transfer_id) == owner, \
                    (f"transfer {transfer_id} ({status}, owner {owner}) is known at {code}"
                     f" with owner {known.get(transfer_id)}")
        for code, node_data in data.items():
            pending = [t for t in node_data["tickets"] if t[1] == "transfer_pending"]
            assert pending == [], f"tickets still pending a transfer at {code}: {pending[:5]}"
        # Each hand-off, decision and refusal taken once: no more take-overs
        # in a chain than its ticket's transfers gave (a declined one that
        # the province decided gives two: the acceptance and the decision).
        ended = collections.Counter()
        for transfer_id, status, *_ in routed:
            ended[transfer_id.rsplit(".", 1)[0]] += 2 if status == "decided" else 1
        for ticket_id, actions in self._owner_chains(data).items():
            taken = actions["transfer/in"] + actions["transfer/refused"]
            assert taken <= ended[ticket_id], \
                (f"ticket {ticket_id}: {taken} take-overs in its chain for "
                 f"{ended[ticket_id]} transfers")

    def check_chains(self):
        for node in self.nodes:
            result = node.run("verify", check=False, timeout=120)
            assert result.returncode == 0, \
                (f"verify at {node.code} exited {result.returncode}:\n{result.stdout}"
                 f"{result.stderr}{self._history(result.stdout + result.stderr)}")

    def _history(self, text):
        """The events of the tickets named in text, at every node, to
        tell what broke."""
        ids = {word.strip("'.,:") for word in text.split() if word.count("-") == 2}
        lines = []
        for ticket_id in sorted(ids)[:3]:
            for node in self.nodes:
                for row in rows(node, "SELECT status, owner_node, owner_epoch, version"
                                      " FROM tickets WHERE id = %s", (ticket_id,)):
                    lines.append(f"{ticket_id} at {node.code}: {row}")
                for row in rows(node, "SELECT seq, action, from_status, to_status, copied, at,"
                                      " actor, left(prev_hash, 8), left(hash, 8)"
                                      " FROM ticket_events WHERE ticket_id = %s ORDER BY seq",
                                (ticket_id,)):
                    lines.append(f"  event {row}")
                for row in rows(node, "SELECT id, status, owner, from_node, to_node, epoch"
                                      " FROM transfers WHERE ticket_id = %s", (ticket_id,)):
                    lines.append(f"  transfer {row}")
            for row in rows(self.fed.province, "SELECT seq, node, action, at, left(hash, 8)"
                                               " FROM master_events WHERE ticket_id = %s"
                                               " ORDER BY seq", (ticket_id,)):
                lines.append(f"  master event {row}")
            for row in rows(self.fed.province, "SELECT id, status, owner, from_node, to_node,"
                                               " epoch FROM routed_transfers"
                                               " WHERE ticket_id = %s", (ticket_id,)):
                lines.append(f"  routed {row}")
        return "\n" + "\n".join(lines)

    def check_sequences(self, data):
        """No gaps: each chain numbered 1..n at its nodes and in the master
        dataset, each stream's cursor at the last number sent."""
        for code, node_data in data.items():
            seqs = collections.defaultdict(list)
            for ticket_id, seq, hash_, *_ in node_data["events"]:
                seqs[ticket_id].append((seq, hash_))
            for ticket_id, _, _, _, _, head, head_hash, _ in node_data["tickets"]:
                chain = sorted(seqs[ticket_id])
                assert [s for s, _ in chain] == list(range(1, len(chain) + 1)), \
                    f"ticket {ticket_id} at {code}: event numbers {[s for s, _ in chain]}"
                assert (head, head_hash) == chain[-1], \
                    f"ticket {ticket_id} at {code}: head {head} is not its last event"
        master = collections.defaultdict(list)
        for ticket_id, seq in rows(self.fed.province, "SELECT ticket_id, seq FROM master_events"):
            master[ticket_id].append(seq)
        for ticket_id, seqs in master.items():
            assert sorted(seqs) == list(range(1, len(seqs) + 1)), \
                f"ticket {ticket_id} in the master dataset: event numbers {sorted(seqs)}"
        # A day's ticket numbers may skip one an intake drew and then failed
        # with (100_ticket_number.sql), but none is past the day's counter.
        ids = {t[0] for node_data in data.values() for t in node_data["tickets"]}
        for node in self.nodes:
            for day, last in rows(node, "SELECT to_char(day, 'YYYYMMDD'), last_seq"
                                        " FROM ticket_numbers"):
                numbers = [int(i.rsplit("-", 1)[1]) for i in ids
                           if i.startswith(f"{node.code}-{day}-")]
                assert max(numbers, default=0) <= last, \
                    f"ticket numbers of {node.code} on {day} go past the counter: {max(numbers)}"
        self.check_streams()

    def check_streams(self):
        by_code = {node.code: node for node in self.nodes}
        for node in self.nodes:
            for stream, peer, last_seq, acked in rows(
                    node, "SELECT stream, peer, last_seq, acked_seq FROM outbox_state"):
                assert acked == last_seq, \
                    f"{node.code} stream {stream} to '{peer}': sent {last_seq}, acked {acked}"
                receiver = by_code[peer or "440000"]
                applied = rows(receiver, "SELECT last_applied FROM inbox_state"
                                         " WHERE peer = %s AND stream = %s", (node.code, stream))
                assert applied == [(last_seq,)], \
                    (f"{node.code} stream {stream}: sent up to {last_seq}, "
                     f"{receiver.code} applied {applied}")

    def figures(self, held):
        """One line: the seed, the operations, the faults, and lost 0,
        duplicated 0 once every invariant held."""
        ops = collections.Counter()
        for (_, outcome), n in self.ledger.ops.items():
            ops[outcome] += n
        faults = ", ".join(f"{name} {self.faults[name]}" for name, *_ in FAULTS)
        return (f"chaos: seed {self.seed}: {sum(ops.values())} operations attempted, "
                f"{ops['ok']} succeeded, {ops['refused']} refused "
                f"({self.ledger.refusals[409]} 409, {self.ledger.refusals[503]} 503), "
                f"{ops['unknown']} unanswered; "
                f"{sum(self.faults.values())} faults ({faults}); "
                + ("lost 0, duplicated 0" if held else "an invariant failed, see above"))
