#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Bulk import of a legacy system's tickets (`city-node import`) against
COPY of the same rows.

Writes a year of a city's historical tickets as JSON lines, deterministic
from a seed: Chinese content, the five kinds in a hotline's proportions
(about 60% consultations), the city's units, appeals at working hours on
the holiday calendar of common/sql/cn-calendar.tsv (fewer on rest days), a
typhoon that triples the calls for three days, and histories as they run
here: answered on the spot or rejected, or dispatched, now and then
returned or extended, completed, approved, mostly rated and closed.

Then, in alternating rounds, each into a fresh database of the city's
schema (`init`) with its units:

  import  `city-node import FILE`: every line checked and replayed through
          the rules, personal data sealed, phone hashed, bigrams, hash
          chains, ticket numbers of the day, the messages for the master
          dataset, the checkpoint; until it exits;
  COPY    the tickets, events and ratings the import wrote, dumped once,
          loaded with COPY in one transaction (the floor of writing these
          rows with these indexes).

    /usr/bin/python3 tests/bench/import_bench.py                  # 1,000,000 tickets
    /usr/bin/python3 tests/bench/import_bench.py --tickets 20000  # a quick run

Prints the rates (tickets per second) and their ratio and writes
build/bench/import.json.
"""

import argparse
import datetime
import io
import json
import random
import subprocess
import sys
import time
from contextlib import closing

import psycopg2

from benchlib import (BUILD, DURABLE, OUTPUT, REPO, execute, headline, log, node_schema, query,
                      scratch, write_summary)

# The city's units and the categories they take.
UNITS = {
    "water": ("市水务局", "public_service"),
    "transport": ("市交通运输局", "public_service"),
    "market": ("市市场监管局", "market_supervision"),
    "housing": ("市住房城乡建设局", "social_management"),
    "environment": ("市生态环境局", "ecological_environment"),
    "hr": ("市人力资源社会保障局", "economic_regulation"),
}
KINDS = [("consultation", 60), ("complaint", 15), ("help", 12), ("suggestion", 8), ("report", 5)]
SUBJECTS = {
    "public_service": ["小区停水", "公交线路调整", "路灯不亮", "地铁站出口积水", "井盖缺失"],
    "market_supervision": ["超市销售过期食品", "商家拒绝退货", "快递价格欺诈", "餐馆卫生差"],
    "social_management": ["物业不作为", "楼上装修噪音", "违章搭建", "电梯长期停运"],
    "ecological_environment": ["工地夜间施工噪音", "河涌发臭", "工厂排放废气", "垃圾站异味"],
    "economic_regulation": ["社保卡补办", "失业金申领", "公积金提取", "企业拖欠工资"],
}
PLACES = ["天河区体育西路", "越秀区北京路", "海珠区江南西路", "白云区机场路", "番禺区市桥街",
          "黄埔区科学大道", "荔湾区上下九", "花都区新华街"]
DIVISIONS = ["440103", "440104", "440105", "440106", "440111", "440112", "440113", "440114"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英"
TYPHOON = [datetime.date(2024, 9, 6), datetime.date(2024, 9, 7), datetime.date(2024, 9, 8)]
CST = datetime.timezone(datetime.timedelta(hours=8))
OPERATORS = ["坐席陈静", "坐席王芳", "坐席李强", "坐席赵敏"]
MANAGER = "值班长周伟"


def calendar(year):
    """{date: 'off'|'work'} of the national calendar's listed days."""
    days = {}
    for line in (REPO / "common" / "sql" / "cn-calendar.tsv").read_text().splitlines():
        if line.startswith(str(year)):
            day, kind, *_ = line.split("\t")
            days[datetime.date.fromisoformat(day)] = kind
    return days


def working(day, listed):
    return listed.get(day) == "work" or (day.weekday() < 5 and listed.get(day) != "off")


def stamp(t):
    return t.isoformat(timespec="seconds")


def arrivals(n, rng, year=2024):
    """n arrival times in order over the year: weighted by day (working days
    3, rest days 1, the typhoon 9) and by hour (08:30-18:00 mostly)."""
    listed = calendar(year)
    day = datetime.date(year, 1, 1)
    days, weights = [], []
    while day.year == year:
        days.append(day)
        weights.append(9 if day in TYPHOON else 3 if working(day, listed) else 1)
        day += datetime.timedelta(days=1)
    total = sum(weights)
    times = []
    for day, w in zip(days, weights):
        count = round(n * w / total)
        for _ in range(count):
            if rng.random() < 0.85:
                second = rng.randrange(8 * 3600 + 1800, 18 * 3600)
            else:
                second = rng.randrange(0, 24 * 3600)
            times.append(datetime.datetime.combine(day, datetime.time(), CST)
                         + datetime.timedelta(seconds=second))
    rng.shuffle(times)
    return sorted(times[:n]) + [times[-1]] * max(0, n - len(times))


def event(at, actor, role, action, **body):
    return {"at": stamp(at), "actor": actor, "role": role, "action": action, **body}


def history(kind, unit, t, rng):
    """The events of one ticket received at t, and its final status."""
    op = rng.choice(OPERATORS)
    minute = datetime.timedelta(minutes=1)
    day = datetime.timedelta(days=1)
    if kind == "consultation" and rng.random() < 0.85:
        return [event(t + 3 * minute, op, "operator", "answer", answer="已按政策答复诉求人。")], \
            "answered"
    if rng.random() < 0.04:
        return [event(t + 5 * minute, op, "operator", "reject", reason="outside_jurisdiction",
                      explanation="不属本市管辖，已告知诉求人。")], "rejected"
    events = [event(t + 10 * minute, op, "operator", "dispatch", unit=unit)]
    at = t + 10 * minute
    holder = unit
    if rng.random() < 0.05:
        other = rng.choice([u for u in UNITS if u != unit])
        events += [event(at + 120 * minute, "办理员", "unit", "return", reason="非本单位职责",
                         basis="职责清单"),
                   event(at + 180 * minute, MANAGER, "manager", "return/review",
                         decision="approve", unit=other)]
        at += 180 * minute
        holder = other
    if rng.random() < 0.05:
        events += [event(at + 60 * minute, "办理员", "unit", "extension", reason="需多部门协调"),
                   event(at + 120 * minute, MANAGER, "manager", "extension/review",
                         decision="approve")]
        at += 120 * minute
    done = at + day
    events += [event(done, "办理员", "unit", "completion", handled_at=stamp(done - 60 * minute),
                     process="现场核查并处理。", result="已处理完毕并回复诉求人。",
                     basis="相关管理规定"),
               event(done + 120 * minute, MANAGER, "manager", "completion/review",
                     decision="approve")]
    approved = done + 120 * minute
    rated = rng.random() < 0.7
    if rated:
        bad = rng.random() < 0.1
        events.append(event(approved + day, "citizen", "citizen", "rating",
                            intake="satisfied", handling="dissatisfied" if bad else "satisfied"))
    if approved + 8 * day < datetime.datetime(2025, 1, 1, tzinfo=CST):
        events.append(event(approved + 7 * day + 60 * minute, "clock", "system", "close"))
        return events, "closed"
    del holder
    return events, "completed"


def generate(path, n, seed):
    """Writes n legacy tickets as JSON lines to path."""
    rng = random.Random(seed)
    kinds = [k for k, w in KINDS for _ in range(w)]
    units = list(UNITS)
    with open(path, "w", encoding="utf-8") as out:
        for i, t in enumerate(arrivals(n, rng)):
            kind = rng.choice(kinds)
            unit = rng.choice(units)
            category = UNITS[unit][1]
            place = rng.choice(PLACES)
            subject = rng.choice(SUBJECTS[category])
            events, status = history(kind, unit, t, rng)
            line = {
                "legacy_id": f"GZ12345-{t.year}-{i + 1:08d}",
                "kind": kind,
                "channel": rng.choice(["phone"] * 7 + ["web", "app", "miniprogram"]),
                "category": category,
                "content": f"{place}{rng.randrange(1, 300)}号附近{subject}，"
                           f"已持续{rng.randrange(1, 30)}天，请相关部门尽快处理。",
                "citizen": {"type": "person",
                            "name": rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN),
                            "phone": f"13{rng.randrange(100000000, 999999999)}"},
                "location": {"division": rng.choice(DIVISIONS),
                             "address": f"{place}{rng.randrange(1, 300)}号"},
                "received_at": stamp(t),
                "registered_by": rng.choice(OPERATORS),
                "history": events,
                "status": status,
            }
            out.write(json.dumps(line, ensure_ascii=False) + "\n")


def fresh_node(cluster, folder, name):
    """A database of the city's schema with its units; returns (conninfo, config)."""
    conninfo = cluster.create_database(name)
    home = folder / name
    home.mkdir()
    node_schema(home, conninfo)
    rows = ",".join(f"('{code}', '{unit_name}', '440100', ARRAY['{category}'], now())"
                    for code, (unit_name, category) in UNITS.items())
    query(conninfo, f"INSERT INTO units (code, name, node, categories, created_at) VALUES {rows}")
    execute(conninfo, "CHECKPOINT")
    return conninfo, home / "node.conf"


def run_import(cluster, folder, path, name):
    conninfo, config = fresh_node(cluster, folder, name)
    started = time.monotonic()
    result = subprocess.run([BUILD / "city-node", "-f", config, "import", path],
                            capture_output=True, text=True)
    seconds = time.monotonic() - started
    if result.returncode != 0:
        sys.exit(f"import failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return conninfo, config, seconds, result.stdout.strip()


# What the baseline loads: the rows of the tickets themselves; and, for the
# second figure, with the messages for the master dataset, which the import
# writes too (the outbox's body is the largest of the rows).
TABLES = [
    ("tickets", None),
    ("ticket_events", None),
    ("ticket_ratings", None),
]
OUTBOX = ("outbox", "(stream, body, created_at)")


def dump(conninfo):
    """The rows the import wrote, in COPY's text format, per table."""
    out = {}
    with closing(psycopg2.connect(conninfo)) as db, db.cursor() as cur:
        for table, columns in TABLES + [OUTBOX]:
            buf = io.StringIO()
            cur.copy_expert(f"COPY {table} {columns or ''} TO STDOUT", buf)
            out[table] = buf.getvalue()
    return out


def drop(cluster, conninfo):
    """Drops the database of 'conninfo': the disk holds one round at a time."""
    name = conninfo.split("dbname=")[1].split()[0]
    execute(cluster.conninfo("postgres"), f"DROP DATABASE {name}")


def run_copy(cluster, folder, rows, name, tables):
    conninfo, _ = fresh_node(cluster, folder, name)
    with closing(psycopg2.connect(conninfo)) as db, db.cursor() as cur:
        started = time.monotonic()
        for table, columns in tables:
            cur.copy_expert(f"COPY {table} {columns or ''} FROM STDIN",
                            io.StringIO(rows[table]))
        db.commit()
        seconds = time.monotonic() - started
    drop(cluster, conninfo)
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=1000000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seed", type=int, default=12345)
    parser.add_argument("--output", default=str(OUTPUT / "import.json"))
    args = parser.parse_args()

    with scratch(DURABLE) as (cluster, folder):
        path = folder / "legacy.jsonl"
        started = time.monotonic()
        generate(path, args.tickets, args.seed)
        log(f"wrote {args.tickets:,} legacy tickets ({path.stat().st_size / 1e6:.0f} MB) in "
            f"{time.monotonic() - started:.1f} s")
        imports, copies, with_outbox, rows = [], [], [], None
        for r in range(args.rounds):
            conninfo, config, seconds, said = run_import(cluster, folder, path, f"import{r}")
            imports.append(seconds)
            log(f"round {r + 1}: import {seconds:.1f} s ({args.tickets / seconds:,.0f} tickets/s):"
                f" {said}")
            if rows is None:
                verify = subprocess.run([BUILD / "city-node", "-f", config, "verify"],
                                        capture_output=True, text=True)
                if verify.returncode != 0:
                    sys.exit(f"verify failed: {verify.stdout}{verify.stderr}")
                log(verify.stdout.strip())
                rows = dump(conninfo)
            drop(cluster, conninfo)
            seconds = run_copy(cluster, folder, rows, f"copy{r}", TABLES)
            copies.append(seconds)
            log(f"round {r + 1}: COPY {seconds:.1f} s ({args.tickets / seconds:,.0f} tickets/s)")
            seconds = run_copy(cluster, folder, rows, f"copyout{r}", TABLES + [OUTBOX])
            with_outbox.append(seconds)
            log(f"round {r + 1}: COPY with the outbox {seconds:.1f} s "
                f"({args.tickets / seconds:,.0f} tickets/s)")
        ours = args.tickets / min(imports)
        baseline = args.tickets / min(copies)
        baseline_outbox = args.tickets / min(with_outbox)
        summary = {
            "tickets": args.tickets,
            "seed": args.seed,
            "import_seconds": [round(s, 2) for s in imports],
            "copy_seconds": [round(s, 2) for s in copies],
            "copy_with_outbox_seconds": [round(s, 2) for s in with_outbox],
            "headlines": [
                headline("4 bulk import", f"{args.tickets:,} legacy tickets", ours, baseline,
                         "tickets/s", "COPY of the tickets, events, ratings", goal=0.3),
                headline("4 bulk import", f"{args.tickets:,} legacy tickets", ours,
                         baseline_outbox, "tickets/s", "COPY of those and the outbox"),
            ],
        }
        print(f"import {ours:,.0f} tickets/s, COPY {baseline:,.0f} tickets/s "
              f"(ratio {ours / baseline:.3f}, goal 0.3), COPY with the outbox "
              f"{baseline_outbox:,.0f} tickets/s (ratio {ours / baseline_outbox:.3f})")
        write_summary(summary, args.output)


if __name__ == "__main__":
    main()
