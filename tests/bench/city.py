# SPDX-License-Identifier: Apache-2.0
"""A large synthetic city for the benchmarks: a year (2025) of work orders
and their events, made inside PostgreSQL with generate_series, so that ten
million tickets load in minutes.  Everything follows from the ticket's
number i (1..n), so every run loads the same city:

- its day d = (i - 1) // per_day of 2025 and its number of that day
  (i - 1) % per_day + 1 make its id, 440100-20250314-000123 (ticket_id());
  the day's intake is spread over 08:00 to 22:00, Beijing time;
- 5% are rejected, 40% are consultations answered on the spot, the rest
  are dispatched to one of 200 units ('u001'..'u200') and handled: some
  returned (the return approved or refused), extended once or twice,
  supervised, completed late after an overdue mark, approved, mostly
  rated, closed.  About 60% of appeals are consultations; Chinese
  content, divisions and addresses of 广州;
- its events are the steps of that life, about five a ticket.

With 'horizon', only what happened by then has: the tickets of the last
weeks before it are still registered, in handling, waiting for a review
or for their rating, their row as the workflow leaves it.  Without it,
every ticket lives its life to the end.

A ticket's personal data (citizen_pii) is a filler of a sealed object's
size unless load() is given sealed ones: AES-256-GCM under the node's key,
bound to the ticket's id, as the node seals it (common/pii.c), so that the
node can open them (seal()).
"""

import hashlib
import json
import math
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing

import psycopg2
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from benchlib import log
from sync_bench import CONTENTS as SYNC_CONTENTS

UNITS = 200
YEAR_START = "2025-01-01"

# Statuses of the ticket the step leaves; what the list pages filter on.
OPEN = ("registered", "handling", "return_requested", "extension_requested",
        "completion_requested", "completed")

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗梁"
GIVEN = "伟芳娜敏静强磊洋勇军杰娟艳涛明超秀霞平刚"

# The city's address lines, by division.
STREETS = ["越秀区北京路", "海珠区江南大道", "荔湾区中山七路", "天河区体育西路", "白云区机场路",
           "黄埔区开创大道", "番禺区市桥街", "花都区新华路", "南沙区进港大道", "从化区河滨北路",
           "增城区荔城大道"]
DIVISIONS = ["440104", "440105", "440103", "440106", "440111", "440112", "440113", "440114",
             "440115", "440117", "440118"]

# Ticket i's number of the day, its moment and what happens to it: the
# columns every statement below reads.  %(per_day)s tickets a day.
LIFE = """
       LATERAL (SELECT (i - 1) / %(per_day)s AS day, (i - 1) %% %(per_day)s + 1 AS number) n,
       LATERAL (SELECT timestamptz '2025-01-01T08:00:00+08:00' + n.day * interval '24 hours'
                       + (n.number - 1) * (interval '14 hours' / %(per_day)s) AS c,
                       '440100-' || to_char(date '2025-01-01' + n.day, 'YYYYMMDD') || '-'
                       || lpad(n.number::text, 6, '0') AS id,
                       i %% 100 AS fate,
                       -- Every unit gets every fate (i %% 100) and kind.
                       'u' || lpad((1 + ((i / 100) * 7 + (i %% 100) * 3) %% 200)::text, 3, '0')
                           AS unit,
                       'u' || lpad((1 + ((i / 100) * 7 + (i %% 100) * 3 + 1) %% 200)::text, 3,
                                   '0') AS unit2,
                       (i / 7) %% 33 = 0 AS returned,
                       (i / 231) %% 3 <> 0 AS return_approved,
                       (i / 11) %% 20 = 0 AS extended,
                       (i / 220) %% 5 = 0 AS extended_twice,
                       (i / 13) %% 100 = 0 AS supervised,
                       (i / 100) %% 12 = 0 AS late,
                       i %% 10 < 6 AS rated
                OFFSET 0) a,
       LATERAL (SELECT a.c + interval '30 minutes' + interval '360 hours' AS deadline OFFSET 0) d,
       LATERAL (SELECT CASE WHEN a.late THEN d.deadline + interval '48 hours'
                            ELSE a.c + (8 + i %% 7) * interval '24 hours' END AS approved
                OFFSET 0) p
"""

# The steps of ticket i's life, in time order: seq, when, whether it
# happens to this ticket; the step's action and the status it leaves are
# ACTIONS[seq] and STATUSES[seq], its reason and detail REASON and DETAIL
# (computed only for the steps that happen).  A dispatched ticket:
# 1 register, 4 dispatch, [5 return, 6|7 review], [8 extension, 9 approval,
# [10, 11 a second]], [12 supervise], [13 overdue], 14 completion,
# 15 approval, [16 rating], 17 close.
STEPS = """
       (VALUES
           (1, a.c, true),
           (2, a.c + interval '10 minutes', a.fate < 5),
           (3, a.c + interval '5 minutes', a.fate BETWEEN 5 AND 44),
           (4, a.c + interval '30 minutes', a.fate >= 45),
           (5, a.c + interval '24 hours', a.fate >= 45 AND a.returned),
           (6, a.c + interval '48 hours', a.fate >= 45 AND a.returned AND a.return_approved),
           (7, a.c + interval '48 hours', a.fate >= 45 AND a.returned AND NOT a.return_approved),
           (8, a.c + interval '72 hours', a.fate >= 45 AND a.extended),
           (9, a.c + interval '96 hours', a.fate >= 45 AND a.extended),
           (10, a.c + interval '120 hours', a.fate >= 45 AND a.extended AND a.extended_twice),
           (11, a.c + interval '144 hours', a.fate >= 45 AND a.extended AND a.extended_twice),
           (12, a.c + interval '156 hours', a.fate >= 45 AND a.supervised),
           (13, d.deadline + interval '1 minute', a.fate >= 45 AND a.late),
           (14, p.approved - interval '24 hours', a.fate >= 45),
           (15, p.approved, a.fate >= 45),
           (16, p.approved + interval '24 hours', a.fate >= 45 AND a.rated),
           (17, p.approved + interval '192 hours', a.fate >= 45)
       ) e (seq, at, present)
"""

ACTIONS = """(ARRAY['register', 'reject', 'answer', 'dispatch', 'return', 'return/review:approve',
              'return/review:refuse', 'extension', 'extension/review:approve', 'extension',
              'extension/review:approve', 'supervise', 'overdue', 'completion',
              'completion/review:approve', 'rating', 'close'])[e.seq]"""

STATUSES = """(ARRAY['registered', 'rejected', 'answered', 'handling', 'return_requested',
               'handling', 'handling', 'extension_requested', 'handling',
               'extension_requested', 'handling', 'handling', 'handling',
               'completion_requested', 'completed', 'completed', 'closed'])[e.seq]"""

REASON = """CASE e.seq
           WHEN 2 THEN (ARRAY['outside_jurisdiction', 'other_legal_channel', 'petition_channel',
                              'secret_or_privacy', 'abusive_or_empty', 'repeat',
                              'other'])[1 + i %% 7]
           WHEN 5 THEN '不属本单位职责' WHEN 8 THEN '需要现场勘查' WHEN 10 THEN '需要再次勘查'
           WHEN 12 THEN '列入督办'
           WHEN 17 THEN CASE WHEN a.rated THEN 'rated' ELSE 'unrated' END END"""

DETAIL = """CASE e.seq
           WHEN 2 THEN '{"explanation":"不属于热线受理范围"}'
           WHEN 3 THEN '{"answer":"已按政策口径答复"}'
           WHEN 4 THEN '{"no_return":false,"unit":"' || a.unit || '"}'
           WHEN 5 THEN '{"basis":"三定方案"}'
           WHEN 6 THEN '{"unit":"' || a.unit2 || '"}'
           WHEN 7 THEN '{}'
           WHEN 14 THEN '{"handled_at":"现场处置"}'
           WHEN 16 THEN '{"handling":"'
                || (ARRAY['very_satisfied', 'satisfied', 'basically_satisfied', 'dissatisfied',
                          'very_dissatisfied'])[1 + (i / 3) %% 5]
                || '","intake":"'
                || (ARRAY['very_satisfied', 'satisfied', 'basically_satisfied', 'dissatisfied',
                          'very_dissatisfied'])[1 + i %% 5] || '"}' END"""

# Whether something at 'at' has happened by the horizon.
HAPPENED = "(%s <= %%(horizon)s::timestamptz)"

TICKETS = """
INSERT INTO tickets (id, status, kind, channel, category, content, citizen_type, citizen_pii,
                     pii_key_id, phone_hash, division, address, unit_code, received_at, deadline,
                     returns, extensions, overdue, supervised, rated, rating_due, event_seq,
                     owner_node, created_at, updated_at)
SELECT a.id, COALESCE(last.to_status, CASE WHEN a.fate < 5 THEN 'rejected'
                                           WHEN a.fate < 45 THEN 'answered' ELSE 'closed' END),
       CASE WHEN a.fate BETWEEN 5 AND 44 THEN 'consultation'
            ELSE (ARRAY['consultation', 'consultation', 'consultation', 'consultation',
                        'complaint', 'complaint', 'complaint', 'help', 'help', 'suggestion',
                        'report'])[1 + (i / 100) %% 11] END,
       (ARRAY['phone', 'phone', 'phone', 'phone', 'phone', 'phone', 'phone', 'web', 'app',
              'miniprogram'])[1 + (i / 5) %% 10],
       (ARRAY['economic_regulation', 'market_supervision', 'social_management',
              'public_service', 'ecological_environment'])[1 + (i / 20) %% 5],
       (%(contents)s::text[])[1 + (i / 3) %% cardinality(%(contents)s::text[])],
       CASE WHEN i %% 20 = 0 THEN 'legal_person' ELSE 'person' END,
       COALESCE(s.pii, %(filler)s::bytea), %(key_id)s, md5(i::text),
       (%(divisions)s::text[])[1 + (i / 2) %% 11],
       '广州市' || (%(streets)s::text[])[1 + (i / 2) %% 11] || (1 + i %% 400) || '号',
       CASE WHEN a.fate >= 45 AND {dispatched}
            THEN CASE WHEN a.returned AND a.return_approved AND {moved}
                      THEN a.unit2 ELSE a.unit END END,
       CASE WHEN a.fate >= 45 AND {dispatched} THEN a.c + interval '30 minutes' END,
       CASE WHEN a.fate >= 45 AND {dispatched} THEN d.deadline END,
       (a.fate >= 45 AND a.returned AND {returned})::int,
       (a.fate >= 45 AND a.extended AND {extended})::int
       + (a.fate >= 45 AND a.extended AND a.extended_twice AND {extended_twice})::int,
       a.fate >= 45 AND a.late AND {overdue},
       a.fate >= 45 AND a.supervised AND {supervised},
       a.fate >= 45 AND a.rated AND {rated},
       CASE WHEN a.fate >= 45 AND {approved} THEN p.approved + interval '168 hours' END,
       COALESCE(last.seq, CASE WHEN a.fate < 5 THEN 2 WHEN a.fate < 45 THEN 3 ELSE 17 END),
       '440100', a.c, COALESCE(last.at, CASE WHEN a.fate < 5 THEN a.c + interval '10 minutes'
                                             WHEN a.fate < 45 THEN a.c + interval '5 minutes'
                                             ELSE p.approved + interval '192 hours' END)
  FROM generate_series(%(first)s, %(last)s) i
       LEFT JOIN bench_sealed s ON s.ticket = i,
{life}
       -- The tickets of the month before the horizon: their last step by then.
       LEFT JOIN LATERAL (SELECT e.seq, e.at, {statuses} AS to_status FROM {steps}
                 WHERE a.c > %(horizon)s::timestamptz - interval '720 hours'
                   AND e.present AND e.at <= %(horizon)s::timestamptz
                 ORDER BY e.at DESC, e.seq DESC LIMIT 1) last ON true
""".format(
    dispatched=HAPPENED % "a.c + interval '30 minutes'",
    moved=HAPPENED % "a.c + interval '48 hours'",
    returned=HAPPENED % "a.c + interval '24 hours'",
    extended=HAPPENED % "a.c + interval '96 hours'",
    extended_twice=HAPPENED % "a.c + interval '144 hours'",
    overdue=HAPPENED % "d.deadline + interval '1 minute'",
    supervised=HAPPENED % "a.c + interval '156 hours'",
    rated=HAPPENED % "p.approved + interval '24 hours'",
    approved=HAPPENED % "p.approved",
    life=LIFE, steps=STEPS, statuses=STATUSES)

EVENTS = """
INSERT INTO ticket_events (ticket_id, seq, at, actor, role, action, from_status, to_status,
                           reason, detail, prev_hash, hash)
SELECT a.id, e.seq, e.at, 'bench', 'system', {actions}, NULL,
       {statuses},
       {reason},
       {detail},
       'h', 'h'
  FROM generate_series(%(first)s, %(last)s) i,
{life},
       LATERAL {steps}
 WHERE e.present AND e.at <= %(horizon)s::timestamptz
""".format(life=LIFE, steps=STEPS, actions=ACTIONS, statuses=STATUSES, reason=REASON,
           detail=DETAIL)

# The appeals of the other benchmarks, and two of a bad day's.
CONTENTS = SYNC_CONTENTS + [
    "咨询灵活就业人员如何缴纳社保，每月最低缴费基数是多少。",
    "台风过后小区门口大树倒伏压住道路，车辆无法通行，请尽快清理。",
]

# A sealed citizen is nonce (12) + their JSON + tag (16); the filler is as long.
FILLER = b"\x00" * 128


def per_day(n):
    """Tickets a day, so that n tickets fill the year."""
    return math.ceil(n / 365)


def ticket_id(i, n):
    """The id of ticket i (1..n), as the statements above make it."""
    day, number = divmod(i - 1, per_day(n))
    return f"440100-{day_date(day)}-{number + 1:06d}"


def day_date(day):
    """Day 'day' (0..364) of 2025 as 20250314."""
    return time.strftime("%Y%m%d", time.gmtime(1735689600 + 86400 * day))


def citizen(i):
    """Ticket i's caller, as intake keeps it (the JSON pii.c seals)."""
    c = {"name": SURNAMES[i % 20] + GIVEN[(i // 20) % 20] + GIVEN[(i // 400) % 20],
         "phone": f"13{(i * 7919) % 1000000000:09d}"}
    if i % 4 == 0:
        c["id_number"] = f"440106{1950 + i % 50}{1 + i % 12:02d}{1 + i % 28:02d}{i % 10000:04d}"
    return json.dumps(c, ensure_ascii=False, separators=(",", ":"))


def seal(key, tickets, n):
    """The personal data of 'tickets' (numbers) sealed with 'key' (32 bytes)
    as pii.c seals it, bound to each ticket's id: COPY text of bench_sealed."""
    aead = AESGCM(key)
    for i in tickets:
        nonce = i.to_bytes(12, "big")  # one per ticket, never again under this key
        sealed = nonce + aead.encrypt(nonce, citizen(i).encode(), ticket_id(i, n).encode())
        yield f"{i}\t\\\\x{sealed.hex()}\n"


class Chunks:
    """A file-like object over an iterator of lines, for copy_expert."""

    def __init__(self, lines, size=1 << 20):
        self.lines, self.size, self.rest = lines, size, ""

    def read(self, size=-1):
        parts, length = [self.rest], len(self.rest)
        for line in self.lines:
            parts.append(line)
            length += len(line)
            if length >= self.size:
                break
        text = "".join(parts)
        self.rest = ""
        return text


def in_parallel(conninfo, parts):
    """Runs each part, a list of (statement, parameters), at once, each in
    a session and a transaction of its own."""
    def run(part):
        with closing(psycopg2.connect(conninfo)) as db, db.cursor() as cur:
            cur.execute("SET work_mem = '512MB'")
            cur.execute("SET enable_memoize = off")
            for statement, params in part:
                cur.execute(statement, params)
            db.commit()

    with ThreadPoolExecutor(len(parts)) as pool:
        for done in [pool.submit(run, part) for part in parts]:
            done.result()


def load(conninfo, n, horizon=None, key=None, key_id="bench", sealed=(), sessions=2):
    """Loads the city of n tickets into the node schema of the database
    'conninfo', 'sessions' parts at once.  'horizon' (RFC 3339) ends the
    year's lives there; the tickets numbered in 'sealed' get personal data
    sealed with 'key' (32 bytes) of id 'key_id', the others a filler.
    Secondary indexes are dropped for the load and built again after, as a
    bulk load does; the statistics trigger is off and stats_completions
    filled in one statement instead.  Returns the number of events."""
    params = {"per_day": per_day(n), "horizon": horizon or "infinity", "key_id": key_id,
              "filler": FILLER, "contents": CONTENTS, "divisions": DIVISIONS,
              "streets": STREETS}
    ranges = [(1 + n * k // sessions, n * (k + 1) // sessions) for k in range(sessions)]
    with closing(psycopg2.connect(conninfo)) as db, db.cursor() as cur:
        cur.execute("CREATE UNLOGGED TABLE bench_sealed (ticket integer PRIMARY KEY, pii bytea)")
        if sealed:
            log(f"sealing the personal data of {len(sealed)} tickets")
            cur.copy_expert("COPY bench_sealed FROM STDIN", Chunks(seal(key, sealed, n)))
            cur.execute("ANALYZE bench_sealed")
        # Not those of constraints (keys, unique legacy ids): they stay.
        cur.execute("SELECT x.indexrelid::regclass::text, pg_get_indexdef(x.indexrelid)"
                    " FROM pg_index x WHERE x.indrelid IN ('tickets'::regclass,"
                    " 'ticket_events'::regclass) AND NOT EXISTS (SELECT 1 FROM pg_constraint c"
                    " WHERE c.conindid = x.indexrelid)")
        indexes = cur.fetchall()
        for name, _ in indexes:
            cur.execute(f"DROP INDEX {name}")
        # The rows are consistent by construction: no statistics trigger,
        # no foreign key checked row by row (the run's user owns the cluster).
        cur.execute("ALTER TABLE tickets DISABLE TRIGGER ALL")
        cur.execute("ALTER TABLE ticket_events DISABLE TRIGGER ALL")
        cur.execute("INSERT INTO units (code, name, node, categories, created_at)"
                    " SELECT 'u' || lpad(u::text, 3, '0'), '单位' || u, '440100',"
                    " ARRAY['public_service'], '2024-12-01T00:00:00+08:00'"
                    " FROM generate_series(1, %s) u", (UNITS,))
        db.commit()
        log(f"loading {n} tickets")
        in_parallel(conninfo, [[(TICKETS, {**params, "first": first, "last": last})]
                               for first, last in ranges])
        log("loading their events")
        in_parallel(conninfo, [[(EVENTS, {**params, "first": first, "last": last})]
                               for first, last in ranges])
        cur.execute("INSERT INTO stats_completions (ticket_id, seq, deadline)"
                    " SELECT e.ticket_id, e.seq, t.deadline FROM ticket_events e"
                    " JOIN tickets t ON t.id = e.ticket_id"
                    " WHERE e.action = 'completion/review:approve'")
        cur.execute("ALTER TABLE tickets ENABLE TRIGGER ALL")
        cur.execute("ALTER TABLE ticket_events ENABLE TRIGGER ALL")
        cur.execute("DROP TABLE bench_sealed")
        db.commit()
        log(f"building {len(indexes)} indexes")
        in_parallel(conninfo, [[(definition, None) for _, definition in indexes[k::sessions]]
                               for k in range(sessions)])
        db.autocommit = True
        cur.execute("VACUUM ANALYZE")
        cur.execute("SELECT count(*) FROM ticket_events")
        return cur.fetchone()[0]


def key_of(data_dir):
    """The node's sealing key in use and its id (pii.c: the first 16 hex
    digits of its SHA-256)."""
    key = bytes.fromhex((data_dir / "pii.key").read_text().strip()[:64])
    return key, hashlib.sha256(key).hexdigest()[:16]

