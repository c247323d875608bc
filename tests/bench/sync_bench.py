#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Catch-up of one city's ticket changes into the province's master
dataset, against a plain COPY of the same rows and against PostgreSQL's
logical replication of the same changes.

Creates a throwaway PostgreSQL cluster with wal_level = logical
(tests/system/hotline.py), a province and the city 广州 (440100), each with
its own database, keys and config (`init`, `node-add`), and a third
database of the city's schema to subscribe to the city's tables.  While
the province is away the city takes its changes: a few through its own
API (intake, dispatch, completion, approval), the rest written by SQL the
way the workflow writes them, one transaction per change: the ticket row
(intake inserts it, an action updates it, version + 1), the hash-chained
event, the chain's head on the ticket, and the outbox message announcing
both, built by the very expression of common/ticketdb.c.  The synthetic
tickets live out their whole lives (rejected, answered on the spot, or
dispatched, completed, approved, mostly rated and closed by the clock),
so no node finds anything left to do; `city-node verify` checks their
chains and the benchmark checks their messages have the keys of the ones
the API wrote.  Then, each timed on its own:

  logical replication  the subscription, created disabled on a slot made
                       before the changes, is enabled; until the
                       subscriber holds the last change;
  federation sync      the province, then the city, are started; from the
                       session's start (nodes.connected_at) to the batch
                       that moves the province's cursor for the city to
                       the last message (inbox_state.applied_at), both
                       stamped by the province; every event and the latest
                       version of every ticket must then be in the master
                       dataset; the roll-ups, counted apart from the apply,
                       are timed too (until no day of the city's waits to
                       be counted again), and must then be those counted
                       afresh;
  COPY                 master_tickets and master_events are dumped,
                       emptied and loaded again from the dump with COPY,
                       in one transaction.

    /usr/bin/python3 tests/bench/sync_bench.py                   # 200,000 changes
    /usr/bin/python3 tests/bench/sync_bench.py --changes 20000   # a quick run

Prints the rates (changes per second) and the ratios of the federation's
to the others' and writes build/bench/sync.json.
"""

import argparse
import datetime
import hashlib
import io
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time
from contextlib import closing

import psycopg2

from benchlib import (OUTPUT, REPO, configure, execute, headline, log, query, wait,
                      write_summary)
from hotline import GUANGZHOU, Federation, PostgresCluster, Workspace
from lifecycle import Hotline

CITY = GUANGZHOU[0]
UNITS = 200
TIMEOUT = 3600.0  # seconds any phase may take

# The change as the master dataset receives it (MASTER_TICKET and
# MASTER_ITEM of common/ticketdb.c), word for word; the messages the API
# writes are compared with these, key by key.
MASTER_TICKET = (
    "jsonb_build_object('id', t.id, 'owner_node', t.owner_node, 'owner_epoch', t.owner_epoch,"
    " 'version', t.version, 'status', t.status, 'kind', t.kind, 'channel', t.channel,"
    " 'category', t.category, 'content', t.content, 'citizen_type', t.citizen_type,"
    " 'phone_hash', t.phone_hash, 'division', t.division, 'unit_code', t.unit_code,"
    " 'source', t.source, 'received_at', t.received_at, 'deadline', t.deadline,"
    " 'provisional', t.provisional, 'returns', t.returns, 'extensions', t.extensions,"
    " 'redos', t.redos, 'no_return', t.no_return, 'due_soon', t.due_soon,"
    " 'overdue', t.overdue, 'supervised', t.supervised, 'rated', t.rated,"
    " 'rating_due', t.rating_due, 'emergency_line', t.emergency_line,"
    " 'emergency_hours', t.emergency_hours, 'created_at', t.created_at,"
    " 'updated_at', t.updated_at, 'event_seq', t.event_seq, 'event_hash', t.event_hash,"
    " 'media_url', t.media_url,"
    " 'unit_name', (SELECT u.name FROM units u WHERE u.code = t.unit_code))")
MASTER_ITEM = (
    "(jsonb_build_object('ticket', " + MASTER_TICKET + ", 'event', to_jsonb(e))"
    " || COALESCE((SELECT jsonb_build_object('approval_deadline', c.deadline)"
    "              FROM stats_completions c WHERE c.ticket_id = e.ticket_id AND c.seq = e.seq),"
    "             '{}'))::text")
STREAM_TICKETS = 1
GENESIS_HASH = "0" * 64

# One change of the plan, as the procedure below applies it.
PLAN_COLUMNS = [
    ("ord", "bigint"), ("ticket_id", "text"), ("seq", "integer"), ("at", "timestamptz"),
    ("action", "text"), ("actor", "text"), ("role", "text"), ("from_status", "text"),
    ("to_status", "text"), ("reason", "text"), ("detail", "text"),
    # intake
    ("kind", "text"), ("channel", "text"), ("category", "text"), ("content", "text"),
    ("citizen_pii", "bytea"), ("phone_hash", "text"), ("division", "text"), ("address", "text"),
    ("lat", "double precision"), ("long", "double precision"), ("grams", "integer[]"),
    # actions
    ("unit", "text"), ("deadline", "timestamptz"), ("pending", "text"), ("outcome", "text"),
    ("rating_due", "timestamptz"), ("rated", "boolean"), ("settle", "boolean"),
    ("intake", "text"), ("handling", "text"),
]

# One transaction per change, as workflow_intake(), workflow_act() and the
# clock's tick_one() make them: the ticket first, then its event, the head
# of its chain and the message; an approval then settles the outcome, a
# rating keeps the rating and forgets the SMS token.
GENERATE = """
CREATE PROCEDURE pg_temp.sync_bench_generate(pii_key_id text)
LANGUAGE plpgsql AS $$
DECLARE
    ch record;
    prev text;
    h text;
BEGIN
    FOR ch IN SELECT * FROM sync_bench_plan ORDER BY ord LOOP
        IF ch.action = 'register' THEN
            INSERT INTO tickets (id, status, kind, channel, category, content, citizen_type,
                                 citizen_pii, pii_key_id, phone_hash, division, address, lat,
                                 long, owner_node, created_at, updated_at, emergency_rule,
                                 emergency_version, emergency_line, emergency_hours,
                                 content_grams, source)
            VALUES (ch.ticket_id, 'registered', ch.kind, ch.channel, ch.category, ch.content,
                    'person', ch.citizen_pii, pii_key_id, ch.phone_hash, ch.division, ch.address,
                    ch.lat, ch.long, '%(city)s', ch.at, ch.at, NULL, NULL, NULL, NULL, ch.grams,
                    'local');
            prev := '%(genesis)s';
        ELSE
            UPDATE tickets SET status = ch.to_status,
                   unit_code = COALESCE(ch.unit, unit_code),
                   received_at = CASE WHEN ch.unit IS NULL THEN received_at ELSE ch.at END,
                   deadline = COALESCE(ch.deadline, deadline),
                   due_soon = false, overdue = false,
                   pending = COALESCE(ch.pending, pending),
                   outcome = COALESCE(ch.outcome, outcome),
                   rating_due = COALESCE(ch.rating_due, rating_due),
                   rated = COALESCE(ch.rated, rated),
                   updated_at = ch.at, version = version + 1
             WHERE id = ch.ticket_id
            RETURNING event_hash INTO prev;
        END IF;
        h := encode(sha256(convert_to(
                 pg_temp.netstring(prev) || pg_temp.netstring(ch.ticket_id)
                 || pg_temp.netstring(ch.seq::text)
                 || pg_temp.netstring(((extract(epoch FROM ch.at) * 1000000)::bigint)::text)
                 || pg_temp.netstring(ch.actor) || pg_temp.netstring(ch.role)
                 || pg_temp.netstring(ch.action) || pg_temp.netstring(ch.from_status)
                 || pg_temp.netstring(ch.to_status) || pg_temp.netstring(ch.reason)
                 || pg_temp.netstring(ch.detail), 'UTF8')), 'hex');
        INSERT INTO ticket_events (ticket_id, seq, at, actor, role, action, from_status,
                                   to_status, reason, detail, prev_hash, hash)
        VALUES (ch.ticket_id, ch.seq, ch.at, ch.actor, ch.role, ch.action, ch.from_status,
                ch.to_status, ch.reason, ch.detail, prev, h);
        UPDATE tickets SET event_seq = ch.seq, event_hash = h WHERE id = ch.ticket_id;
        INSERT INTO outbox (stream, body, created_at)
        SELECT %(stream)s, %(item)s, ch.at
          FROM tickets t JOIN ticket_events e ON e.ticket_id = t.id
         WHERE t.id = ch.ticket_id AND e.seq = ch.seq;
        UPDATE tickets SET progress_sent = false WHERE id = ch.ticket_id AND owner_epoch > 1;
        NOTIFY outbox;
        IF ch.settle THEN
            UPDATE tickets SET outcome = pending, pending = NULL WHERE id = ch.ticket_id;
        END IF;
        IF ch.intake IS NOT NULL THEN
            INSERT INTO ticket_ratings (ticket_id, round, intake, handling, comment, by_whom, at)
            VALUES (ch.ticket_id, 1, ch.intake, ch.handling, NULL, ch.actor, ch.at);
            UPDATE tickets SET rating_token_sha256 = NULL WHERE id = ch.ticket_id;
        END IF;
        COMMIT;
    END LOOP;
END
$$
"""

NETSTRING = """
CREATE FUNCTION pg_temp.netstring(s text) RETURNS text LANGUAGE sql IMMUTABLE
RETURN CASE WHEN s IS NULL THEN '-,' ELSE octet_length(s) || ':' || s || ',' END
"""

# What the synthetic city is made of.
START = datetime.datetime(2025, 6, 20, 8, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=8)))
INTAKE_DAYS = 14  # tickets arrive over two weeks; their lives run into July
KINDS = ["complaint", "help", "report", "suggestion", "consultation"]
CHANNELS = ["phone", "web", "app", "miniprogram"]
CATEGORIES = ["public_service", "social_management", "market_supervision",
              "ecological_environment", "economic_regulation"]
DIVISIONS = ["440103", "440104", "440105", "440106", "440111", "440112", "440113",
             "440114", "440115", "440117", "440118"]
CONTENTS = [
    "小区旁工地每晚十一点后仍在施工，噪声很大，影响休息，希望有关部门尽快处理。",
    "我家楼下的餐馆油烟直排，窗户都不敢开，已经持续半年，多次和店家沟通无果。",
    "公交站台的电子屏坏了一个多月，早晚高峰看不到到站时间，请尽快维修。",
    "小区连续两天停水，物业没有任何通知，老人小孩生活很不方便，请问什么时候恢复供水？",
    "在某超市买到过期的牛奶，超市拒绝按规定赔偿，要求相关部门依法查处。",
    "路口的红绿灯时间太短，行人过马路来不及，特别是老年人，存在安全隐患，建议延长绿灯时间。",
    "咨询新生儿办理医保需要哪些材料，在哪里可以办理，能否在网上办理。",
    "村道上有大量建筑垃圾被偷倒，堵塞排水沟，下雨后积水严重，请派人清理并查处偷倒行为。",
    "反映某培训机构收取学费后停业，老板联系不上，涉及家长四十多人，请求帮助追回学费。",
    "建议在地铁站出口增设共享单车停放点，现在单车乱停乱放，影响行人通行。",
]
ANSWERS = ["办理居住证请携带身份证到所在街道出租屋管理服务中心。",
           "新生儿参保可通过粤省事小程序办理，需出生医学证明和户口簿。"]
EXPLANATIONS = ["事发地在湖南省，请向当地反映。", "属信访事项，请按信访渠道反映。",
                "诉求内容不明确，已告知诉求人补充后再反映。"]
REJECT_REASONS = ["outside_jurisdiction", "petition_channel", "abusive_or_empty"]
LEVELS = ["very_satisfied", "satisfied", "basically_satisfied", "dissatisfied",
          "very_dissatisfied"]
OPERATOR = ("坐席王芳", "operator")
MANAGER = ("值班长李强", "manager")
CLOCK = ("clock", "system")


# wal_level = logical for the subscription, room enough that no checkpoint
# is forced in a phase.
SETTINGS = [("wal_level", "logical"), ("max_wal_senders", "4"), ("max_replication_slots", "4"),
            ("shared_buffers", "1GB"), ("max_wal_size", "8GB"), ("checkpoint_timeout", "30min"),
            ("jit", "off")]


# The plan: every synthetic change, in the order the city makes them.

def lives(i):
    """What happens to synthetic ticket i: 'reject', 'answer' or 'handle',
    whether it gets a note and whether its caller rates it."""
    if i % 10 == 0:
        return "reject", 0, False
    if i % 10 == 5:
        return "answer", 0, False
    return "handle", 1 if i % 4 == 0 else 0, i % 10 not in (3, 7)


def change_count(fate, notes, rated):
    return 2 + notes if fate != "handle" else 5 + notes + rated


def ticket_lives(n):
    """The fates of the tickets whose changes add up to exactly n (at least
    2): the usual ones, and a last ticket with as many notes as it takes."""
    fates, total, i = [], 0, 1
    while True:
        fate = lives(i)
        if total + change_count(*fate) > n - 2:
            break
        fates.append(fate)
        total += change_count(*fate)
        i += 1
    rest = n - total
    fates.append(("handle", rest - 5, False) if rest >= 5 else ("reject", rest - 2, False))
    return fates


def compact(obj):
    """JSON text as the node writes an event's detail (JSON_COMPACT | JSON_SORT_KEYS)."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def grams(text):
    """Stand-in for the content's character bigrams (common/ngram.c); they
    stay at the city."""
    chars = [c for c in text if c.isalnum()]
    return sorted({(ord(a) * 65599 + ord(b)) & 0x7fffffff for a, b in zip(chars, chars[1:])})


def plan(n, start=START):
    """The rows of the plan table for n synthetic changes, ordered as made;
    their tickets arrive over the INTAKE_DAYS from start."""
    fates = ticket_lives(n)
    step = datetime.timedelta(days=INTAKE_DAYS) / len(fates)
    per_day = {}
    changes = []
    for i, (fate, notes, rated) in enumerate(fates, start=1):
        c = start + (i - 1) * step
        day = c.strftime("%Y%m%d")
        per_day[day] = per_day.get(day, 0) + 1
        tid = f"{CITY}-{day}-{per_day[day]:06d}"
        kind = "consultation" if fate == "answer" else KINDS[i % 5]
        content = CONTENTS[i % len(CONTENTS)]
        unit = f"u{1 + (i * 7) % UNITS:03d}"
        unit_principal = (f"办理员{unit}", "unit")
        pii = (hashlib.sha512(str(i).encode()).digest() * 3)[:176]
        intake = {"kind": kind, "channel": CHANNELS[(i // 5) % 4],
                  "category": CATEGORIES[(i // 20) % 5], "content": content,
                  "citizen_pii": "\\x" + pii.hex(),
                  "phone_hash": hashlib.sha256(f"phone {i}".encode()).hexdigest(),
                  "division": DIVISIONS[i % len(DIVISIONS)],
                  "address": f"广州市天河区体育西路{1 + i % 300}号",
                  "lat": round(23.1 + (i % 1000) / 10000, 7),
                  "long": round(113.3 + (i % 777) / 10000, 7),
                  "grams": "{" + ",".join(map(str, grams(content))) + "}"}
        steps = [(c, "register", OPERATOR, None, "registered", None, None, intake)]
        if fate == "reject":
            reason = REJECT_REASONS[i % 3]
            explanation = EXPLANATIONS[i % 3]
            steps.append((c + datetime.timedelta(minutes=10), "reject", OPERATOR, "registered",
                          "rejected", reason, compact({"explanation": explanation}),
                          {"outcome": compact({"explanation": explanation, "reason": reason})}))
            status, last = "rejected", c + datetime.timedelta(minutes=10)
        elif fate == "answer":
            answer = ANSWERS[i % 2]
            steps.append((c + datetime.timedelta(minutes=5), "answer", OPERATOR, "registered",
                          "answered", None, compact({"kb_ref": None, "kb_version": None}),
                          {"outcome": compact({"answer": answer})}))
            status, last = "answered", c + datetime.timedelta(minutes=5)
        else:
            dispatched = c + datetime.timedelta(minutes=20)
            due = (dispatched + datetime.timedelta(days=21)).replace(hour=23, minute=59,
                                                                    second=59, microsecond=0)
            steps.append((dispatched, "dispatch", OPERATOR, "registered", "handling", None,
                          compact({"no_return": False, "unit": unit}),
                          {"unit": unit, "deadline": due.isoformat()}))
            completed = c + datetime.timedelta(days=3)
            handled = completed - datetime.timedelta(hours=5)
            body = {"basis": "《广州市供水用水管理办法》", "handled_at":
                    handled.isoformat(timespec="seconds"), "process": "派员到现场核查，约谈相关责任人。",
                    "result": "问题已整改，已电话告知诉求人。"}
            approved = completed + datetime.timedelta(hours=2)
            rating_due = approved + datetime.timedelta(days=7)
            steps.append((completed, "completion", unit_principal, "handling",
                          "completion_requested", None, compact(body),
                          {"pending": compact({"body": body, "request": "completion"})}))
            steps.append((approved, "completion/review:approve", MANAGER,
                          "completion_requested", "completed", "答复完整", None,
                          {"rating_due": rating_due.isoformat(), "rated": False,
                           "settle": True}))
            if rated:
                levels = {"intake": LEVELS[i % 5], "handling": LEVELS[(i // 3) % 5]}
                bad = any(v in LEVELS[3:] for v in levels.values())
                steps.append((approved + datetime.timedelta(days=1), "rating", OPERATOR,
                              "completed", "completed", "dissatisfied" if bad else None,
                              compact(levels), {"rated": True, **levels}))
            steps.append((rating_due + datetime.timedelta(seconds=30), "close", CLOCK,
                          "completed", "closed", "rated" if rated else "unrated", None, {}))
            status, last = "handling", dispatched + datetime.timedelta(days=1)
        for k in range(notes):
            at = last + datetime.timedelta(minutes=1 + k)
            steps.append((at, "note", OPERATOR, status, status, None,
                          compact({"text": "已电话联系诉求人，告知办理进度。"}), {}))
        steps.sort(key=lambda s: s[0])
        for seq, (at, action, (actor, role), before, after, reason, detail, extra) \
                in enumerate(steps, start=1):
            changes.append({"ticket_id": tid, "seq": seq, "at": at.isoformat(),
                            "action": action, "actor": actor, "role": role,
                            "from_status": before, "to_status": after, "reason": reason,
                            "detail": detail, **extra})
    changes.sort(key=lambda ch: (ch["at"], ch["ticket_id"], ch["seq"]))
    assert len(changes) == n
    return changes, len(fates)


def copy_text(rows, columns):
    """rows as COPY text."""
    def field(v):
        if v is None:
            return "\\N"
        if isinstance(v, bool):
            return "t" if v else "f"
        return str(v).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
    out = io.StringIO()
    for ord_, row in enumerate(rows, start=1):
        values = [ord_] + [row.get(name) for name, _ in columns[1:]]
        out.write("\t".join(field(v) for v in values) + "\n")
    out.seek(0)
    return out


# The phases.

def set_up(folder, cluster):
    """The province and the city, initialised and registered, not running;
    heartbeats as in production, the clock threads kept quiet."""
    workspace = Workspace(folder, cluster)
    fed = Federation(workspace)
    city = fed.add_city(*GUANGZHOU)
    fed.register(city)
    for node in (fed.province, city):
        node.settings["heartbeat_interval_ms"] = 5000
        node.settings["clock_interval_ms"] = 3600000
        node.write_config()
    return workspace, fed, city


def subscriber(folder, cluster, city_db):
    """A database of the city's schema subscribed, disabled, to the city's
    tickets and ticket_events, on a slot that exists before any change."""
    conninfo = cluster.create_database("subscriber")
    data = folder / "subscriber"
    data.mkdir(mode=0o700)
    config = folder / "subscriber.conf"
    config.write_text(f"node_code = {CITY}\nnode_name = subscriber\ndata_dir = {data}\n"
                      f"database = {conninfo}\nprovince_endpoint = tcp://127.0.0.1:1\n"
                      "province_public_key = rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7\n")
    subprocess.run([REPO / "build" / "city-node", "-f", config, "init"], check=True,
                   capture_output=True)
    execute(city_db, "CREATE PUBLICATION sync_bench FOR TABLE tickets, ticket_events",
            "SELECT pg_create_logical_replication_slot('sync_bench', 'pgoutput')")
    execute(conninfo,
            f"CREATE SUBSCRIPTION sync_bench CONNECTION '{city_db}' PUBLICATION sync_bench"
            " WITH (create_slot = false, slot_name = 'sync_bench', enabled = false,"
            " copy_data = false)")
    return conninfo


def through_the_api(city):
    """A few changes the way operators make them; returns their messages."""
    office = Hotline(city)
    ticket = office.in_handling()
    office.do(office.water, ticket["id"], "completion")
    office.do(office.manager, ticket["id"], "completion/review")
    rows = query(city.settings["database"], "SELECT body FROM outbox ORDER BY id")
    return [json.loads(body) for (body,) in rows]


def generate(conninfo, n, real, start=START):
    """n changes written as the workflow writes them, one transaction each,
    of tickets arriving from start on (plan()); their messages must have the
    keys of the real ones.  Called again with a start more than
    INTAKE_DAYS later, it adds changes of other tickets."""
    changes, tickets = plan(n, start)
    pii_key_id = query(conninfo, "SELECT pii_key_id FROM tickets LIMIT 1")[0][0]
    with closing(psycopg2.connect(conninfo)) as db:
        db.autocommit = True
        with db.cursor() as cur:
            cur.execute("INSERT INTO units (code, name, node, categories, created_at)"
                        " SELECT 'u' || lpad(u::text, 3, '0'), '单位' || u, %s, %s,"
                        " '2024-12-01T00:00:00+08:00' FROM generate_series(1, %s) u"
                        " ON CONFLICT DO NOTHING",
                        (CITY, CATEGORIES, UNITS))
            cur.execute("CREATE TEMP TABLE sync_bench_plan ("
                        + ", ".join(f"{name} {kind}" for name, kind in PLAN_COLUMNS) + ")")
            cur.copy_expert("COPY sync_bench_plan FROM STDIN", copy_text(changes, PLAN_COLUMNS))
            cur.execute(NETSTRING)
            cur.execute(GENERATE % {"city": CITY, "genesis": GENESIS_HASH,
                                    "stream": STREAM_TICKETS, "item": MASTER_ITEM})
            start = time.perf_counter()
            cur.execute("CALL pg_temp.sync_bench_generate(%s)", (pii_key_id,))
            seconds = time.perf_counter() - start
            cur.execute("INSERT INTO ticket_numbers (day, last_seq)"
                        " SELECT to_date(split_part(id, '-', 2), 'YYYYMMDD'),"
                        " max(split_part(id, '-', 3)::int) FROM tickets GROUP BY 1"
                        " ON CONFLICT (day) DO UPDATE SET last_seq = EXCLUDED.last_seq")
            cur.execute("SELECT DISTINCT ON (e.action) e.action, o.body FROM outbox o,"
                        " LATERAL (SELECT o.body::jsonb->'event'->>'action' AS action) e"
                        " WHERE o.body::jsonb->'event'->>'ticket_id' BETWEEN %s AND %s",
                        (changes[0]["ticket_id"], max(ch["ticket_id"] for ch in changes)))
            synthetic = [json.loads(body) for _, body in cur.fetchall()]
    def keys(item):
        return sorted(item), sorted(item["ticket"]), sorted(item["event"])
    made = {item["event"]["action"]: keys(item) for item in synthetic}
    workflow = {item["event"]["action"]: keys(item) for item in real}
    for action, shape in made.items():
        expected = workflow.get(action, workflow["dispatch"])
        if shape[1:] != expected[1:] or (action in workflow and shape != expected):
            sys.exit(f"a synthetic {action} has the keys {shape}, the workflow's {expected}:"
                     " update MASTER_TICKET, MASTER_ITEM and GENERATE")
    last = changes[-1]
    return seconds, tickets, (last["ticket_id"], last["seq"])


def replicate(conninfo, last):
    """Enables the subscription; seconds until the last change is there."""
    execute(conninfo, "CHECKPOINT")
    with closing(psycopg2.connect(conninfo)) as db:
        db.autocommit = True
        with db.cursor() as cur:
            start = time.perf_counter()
            cur.execute("ALTER SUBSCRIPTION sync_bench ENABLE")

            def arrived():
                cur.execute("SELECT 1 FROM ticket_events WHERE ticket_id = %s AND seq = %s", last)
                return cur.fetchone() is not None
            wait(arrived, "the subscriber to hold the last change", TIMEOUT)
            seconds = time.perf_counter() - start
            cur.execute("ALTER SUBSCRIPTION sync_bench DISABLE")
            cur.execute("ALTER SUBSCRIPTION sync_bench SET (slot_name = NONE)")
            cur.execute("DROP SUBSCRIPTION sync_bench")
    return seconds


def fingerprint(conninfo, events, tickets):
    """Count and digest of (ticket, seq, hash) of events and (id, version,
    status) of tickets, from the given tables."""
    return query(conninfo,
                 f"SELECT (SELECT count(*) FROM {events}),"
                 f" (SELECT md5(string_agg(ticket_id || ':' || seq || ':' || hash, ','"
                 f"  ORDER BY ticket_id, seq)) FROM {events}),"
                 f" (SELECT count(*) FROM {tickets}),"
                 f" (SELECT md5(string_agg(id || ':' || version || ':' || status, ','"
                 f"  ORDER BY id)) FROM {tickets})")[0]


# The master dataset's roll-ups of the city (without rows that count
# nothing), as a digest.
STATS_DIGEST = """
SELECT count(*), md5(string_agg(s::text, ',' ORDER BY dim, day, value, category))
  FROM master_stats_daily s
 WHERE node = %(node)s
   AND EXISTS (SELECT 1 FROM jsonb_each(to_jsonb(s)) j
                WHERE jsonb_typeof(j.value) = 'number' AND j.value <> '0')
"""


def stats_afresh(conninfo):
    """The number of roll-up rows of the city if those the batches kept are
    those counted afresh from the events, as the migration counts them,
    else 0.  Changes nothing."""
    with closing(psycopg2.connect(conninfo)) as db, db.cursor() as cur:
        cur.execute(STATS_DIGEST, {"node": CITY})
        kept = cur.fetchone()
        cur.execute("DELETE FROM master_stats_daily WHERE node = %s", (CITY,))
        cur.execute("SELECT master_stats_add(%s, jsonb_object_agg(id, 1), 1)"
                    " FROM master_tickets WHERE node = %s", (CITY, CITY))
        cur.execute(STATS_DIGEST, {"node": CITY})
        afresh = cur.fetchone()
        db.rollback()
    return kept[0] if kept == afresh else 0


def drop_slot(conninfo):
    """The slot, once its walsender has let go of it."""
    wait(lambda: query(conninfo, "SELECT count(*) FROM pg_replication_slots"
                                 " WHERE slot_name = 'sync_bench' AND active")[0][0] == 0,
         "the subscription's walsender to stop", 60)
    execute(conninfo, "SELECT pg_drop_replication_slot('sync_bench')",
            "DROP PUBLICATION sync_bench")


def federate(fed, city, n):
    """Starts the province, then the city; returns the seconds from the
    session's start to the batch that applied message n, from the city's
    start, and from the city's start until no day of the city's roll-ups
    waits to be counted again."""
    province_db = fed.province.settings["database"]
    execute(province_db, "CHECKPOINT")
    fed.province.start()
    with closing(psycopg2.connect(province_db)) as db:
        db.autocommit = True
        with db.cursor() as cur:
            start = time.perf_counter()
            city.start(wait=False)

            def cursor():
                if not city.is_running() or not fed.province.is_running():
                    sys.exit(f"a node stopped during the sync:\n{city.log_tail()}\n"
                             f"{fed.province.log_tail()}")
                cur.execute("SELECT last_applied FROM inbox_state WHERE peer = %s"
                            " AND stream = %s", (CITY, STREAM_TICKETS))
                row = cur.fetchone()
                return row is not None and row[0] >= n
            wait(cursor, f"the province's cursor for {CITY} to reach {n}", TIMEOUT)
            wall = time.perf_counter() - start

            def counted():
                cur.execute("SELECT count(*) FROM master_stats_stale WHERE node = %s", (CITY,))
                return cur.fetchone()[0] == 0
            wait(counted, f"the roll-ups of {CITY} to be counted", TIMEOUT)
            stats_wall = time.perf_counter() - start
    [(seconds,)] = query(province_db,
                         "SELECT extract(epoch FROM i.applied_at - n.connected_at)::float8"
                         " FROM inbox_state i JOIN nodes n ON n.code = i.peer"
                         " WHERE i.peer = %s AND i.stream = %s", (CITY, STREAM_TICKETS))
    return seconds, wall, stats_wall


def copy_again(conninfo):
    """Dumps master_tickets and master_events, empties them and loads the
    dump again with COPY in one transaction; returns the seconds of the load."""
    dumps = {}
    with closing(psycopg2.connect(conninfo)) as db, db.cursor() as cur:
        for table in ("master_tickets", "master_events"):
            dumps[table] = io.BytesIO()
            cur.copy_expert(f"COPY (SELECT * FROM {table}) TO STDOUT", dumps[table])
            dumps[table].seek(0)
        cur.execute("TRUNCATE master_tickets, master_events")
        db.commit()
    execute(conninfo, "CHECKPOINT")
    with closing(psycopg2.connect(conninfo)) as db, db.cursor() as cur:
        start = time.perf_counter()
        for table, dump in dumps.items():
            cur.copy_expert(f"COPY {table} FROM STDIN", dump)
        db.commit()
        return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--changes", type=int, default=200_000,
                        help="ticket changes to catch up (default 200000)")
    parser.add_argument("--output", default=str(OUTPUT / "sync.json"))
    args = parser.parse_args()
    if args.changes < 1000 or args.changes > 10_000_000:
        parser.error("--changes 1000..10000000")
    if not (REPO / "build" / "city-node").exists():
        sys.exit("build/city-node not found: run `make` first")

    cluster = PostgresCluster()
    folder = pathlib.Path(tempfile.mkdtemp(prefix="hotline-sync-bench-"))
    workspace = None
    try:
        cluster.start()
        configure(cluster, SETTINGS)
        workspace, fed, city = set_up(folder, cluster)
        city_db = city.settings["database"]
        sub_db = subscriber(folder, cluster, city_db)

        city.start()
        real = through_the_api(city)
        city.stop()
        log(f"{len(real)} changes through the API; writing {args.changes - len(real)} more")
        generate_seconds, tickets, last = generate(city_db, args.changes - len(real), real)
        n = query(city_db, "SELECT count(*) FROM outbox")[0][0]
        if n != args.changes:
            sys.exit(f"the outbox holds {n} messages, not {args.changes}")
        verified = city.run("verify", timeout=TIMEOUT)
        execute(city_db, "VACUUM ANALYZE")
        log(f"{n} changes of {tickets + 1} tickets in {generate_seconds:.1f} s"
            f" ({n / generate_seconds:.0f}/s); {verified.stdout.strip()}")

        lr_seconds = replicate(sub_db, last)
        drop_slot(city_db)
        source = fingerprint(city_db, "ticket_events", "tickets")
        if fingerprint(sub_db, "ticket_events", "tickets") != source:
            sys.exit("the subscriber does not hold what the city holds")
        log(f"logical replication: {lr_seconds:.2f} s")

        sync_seconds, sync_wall, stats_wall = federate(fed, city, n)
        province_db = fed.province.settings["database"]
        master = fingerprint(province_db, "master_events", "master_tickets")
        if master != source:
            sys.exit(f"the master dataset {master} does not hold what the city holds {source}")
        if query(province_db, "SELECT count(*) FROM master_events_default")[0][0] != 0:
            sys.exit("events went to the default partition")
        rollups = stats_afresh(province_db)
        if rollups == 0:
            sys.exit("the master dataset's statistics differ from those counted afresh")
        city.stop()
        fed.province.stop()
        log(f"federation sync: {sync_seconds:.2f} s from the session's start,"
            f" {sync_wall:.2f} s from the city's; roll-ups counted {stats_wall:.2f} s from the"
            f" city's, {rollups} rows as counted afresh")

        copy_seconds = copy_again(province_db)
        if fingerprint(province_db, "master_events", "master_tickets") != source:
            sys.exit("the COPY did not load what the sync did")
        log(f"COPY: {copy_seconds:.2f} s")
    finally:
        if workspace is not None:
            workspace.stop_all()
        cluster.stop()
        subprocess.run(["rm", "-rf", str(folder)], check=False)

    rates = {"federation_sync": n / sync_seconds, "copy": n / copy_seconds,
             "logical_replication": n / lr_seconds}
    summary = {
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "changes": n,
        "tickets": tickets + 1,
        "events": source[0],
        "generate_seconds": round(generate_seconds, 1),
        "federation_sync_seconds": round(sync_seconds, 3),
        "federation_sync_from_city_start_seconds": round(sync_wall, 3),
        "roll_ups_counted_from_city_start_seconds": round(stats_wall, 3),
        "copy_seconds": round(copy_seconds, 3),
        "logical_replication_seconds": round(lr_seconds, 3),
        "rates": {name: round(rate) for name, rate in rates.items()},
        "ratio_sync_to_copy": round(rates["federation_sync"] / rates["copy"], 3),
        "ratio_sync_to_logical_replication":
            round(rates["federation_sync"] / rates["logical_replication"], 3),
        "headlines": [
            headline("3 catch-up sync", f"{n:,} changes of one city into the master dataset",
                     rates["federation_sync"], rates["copy"], "changes/s", "COPY", goal=0.5),
            headline("3 catch-up sync", f"{n:,} changes of one city into the master dataset",
                     rates["federation_sync"], rates["logical_replication"], "changes/s",
                     "logical replication", goal=1.0),
        ],
    }
    print(f"{n} ticket changes ({tickets + 1} tickets) from one city:")
    for name, seconds in [("federation sync", sync_seconds), ("COPY", copy_seconds),
                          ("logical replication", lr_seconds)]:
        print(f"  {name:20} {seconds:8.2f} s  {n / seconds:9.0f} changes/s")
    print(f"  {'roll-ups counted':20} {stats_wall:8.2f} s  from the city's start")
    print(f"  federation sync / COPY                = {summary['ratio_sync_to_copy']:.2f}"
          " (goal >= 0.5)")
    print(f"  federation sync / logical replication = "
          f"{summary['ratio_sync_to_logical_replication']:.2f} (goal > 1)")
    write_summary(summary, args.output)


if __name__ == "__main__":
    main()
