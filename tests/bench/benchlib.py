# SPDX-License-Identifier: Apache-2.0
"""What the benchmarks share: a throwaway PostgreSQL cluster tuned for the
run, the nodes' schemas, polling, percentiles and the JSON summary each
benchmark leaves in build/bench/ for `tests/bench/run` to gather.

Every benchmark measures the project and its baseline in the same run,
alternating where the two can take turns, because these machines are
shared and noisy: a ratio measured side by side means something, an
absolute time alone does not.
"""

import json
import math
import pathlib
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import closing, contextmanager

import psycopg2
import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "system"))

from hotline import PG_BIN, PostgresCluster, wait_until  # noqa: E402

BUILD = REPO / "build"
OUTPUT = BUILD / "bench"
POLL = 0.01  # seconds between two looks while waiting

# Stopped with SIGTERM as with ^C: the clusters and folders of the run are
# removed on the way out (scratch(), the benchmarks' own finally blocks).
signal.signal(signal.SIGTERM, lambda signo, frame: sys.exit(128 + signo))

# A public key nobody holds: a node made only for its schema points at a
# province that is never there.
NOBODY_KEY = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"

# Commits that reach the disk, as in production (the system tests' cluster
# turns them off), and room enough that no checkpoint is forced mid-round.
DURABLE = [("fsync", "on"), ("synchronous_commit", "on"), ("full_page_writes", "on"),
           ("max_wal_size", "8GB"), ("checkpoint_timeout", "30min"), ("jit", "off")]

# A node's background rounds as deployed (the defaults), not as the system
# tests speed them up: their work is part of what a benchmark measures.
PRODUCTION_TIMING = {"clock_interval_ms": 60000, "heartbeat_interval_ms": 5000}

# The 21 cities of the province: code and name.
CITIES = [
    ("440100", "广州"), ("440200", "韶关"), ("440300", "深圳"), ("440400", "珠海"),
    ("440500", "汕头"), ("440600", "佛山"), ("440700", "江门"), ("440800", "湛江"),
    ("440900", "茂名"), ("441200", "肇庆"), ("441300", "惠州"), ("441400", "梅州"),
    ("441500", "汕尾"), ("441600", "河源"), ("441700", "阳江"), ("441800", "清远"),
    ("441900", "东莞"), ("442000", "中山"), ("445100", "潮州"), ("445200", "揭阳"),
    ("445300", "云浮"),
]


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def wait(condition, what, timeout=120.0):
    """hotline.wait_until for a benchmark: looks every POLL seconds and exits
    with its message, instead of failing a test, after timeout seconds."""
    try:
        return wait_until(condition, what, timeout, POLL)
    except pytest.fail.Exception as failed:
        sys.exit(str(failed))


def query(conninfo, sql, params=None):
    """Runs one statement in a transaction of its own; returns its rows, or
    None for a statement without any."""
    with closing(psycopg2.connect(conninfo)) as db, db.cursor() as cur:
        cur.execute(sql, params)
        rows = cur.fetchall() if cur.description is not None else None
        db.commit()
        return rows


def execute(conninfo, *statements):
    """Each statement outside a transaction (CHECKPOINT, VACUUM, CREATE
    DATABASE, subscriptions)."""
    with closing(psycopg2.connect(conninfo)) as db:
        db.autocommit = True
        with db.cursor() as cur:
            for sql in statements:
                cur.execute(sql)


def configure(cluster, settings):
    """ALTER SYSTEM for each (name, value), then a restart."""
    execute(cluster.conninfo("postgres"),
            *(f"ALTER SYSTEM SET {name} = '{value}'" for name, value in settings))
    cluster._run_as_owner(PG_BIN / "pg_ctl", "-D", cluster.data,
                          "-l", cluster.folder / "postgres.log", "-w", "restart")


@contextmanager
def scratch(settings=()):
    """A PostgreSQL cluster and a folder for the run, configured with
    'settings'; both are gone afterwards, whatever happened."""
    cluster = PostgresCluster()
    folder = pathlib.Path(tempfile.mkdtemp(prefix="hotline-bench-"))
    try:
        cluster.start()
        if settings:
            configure(cluster, settings)
        yield cluster, folder
    finally:
        cluster.stop()
        subprocess.run(["rm", "-rf", str(folder)], check=False)


def node_schema(folder, conninfo, province=False):
    """A node's own schema in the database 'conninfo': `init` of the city
    (440100) or the province on a config of its own in 'folder'."""
    binary = BUILD / ("province-node" if province else "city-node")
    if not binary.exists():
        sys.exit(f"{binary} not found: run `make` first")
    data = folder / "data"
    data.mkdir(mode=0o700)
    config = folder / "node.conf"
    code, link = (("440000", "federation_bind = tcp://127.0.0.1:1\n") if province else
                  ("440100", f"province_endpoint = tcp://127.0.0.1:1\n"
                             f"province_public_key = {NOBODY_KEY}\n"))
    config.write_text(f"node_code = {code}\nnode_name = bench\ndata_dir = {data}\n"
                      f"database = {conninfo}\n{link}")
    subprocess.run([binary, "-f", config, "init"], check=True, capture_output=True)


def percentile(values, p):
    """The nearest-rank percentile p (0-100) of values."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def latencies(seconds):
    """Percentiles, maximum and mean of a list of durations, in ms."""
    return {"n": len(seconds),
            **{f"p{p}_ms": round(percentile(seconds, p) * 1000, 3) for p in (50, 90, 99)},
            "max_ms": round(max(seconds) * 1000, 3),
            "mean_ms": round(statistics.fmean(seconds) * 1000, 3)}


def headline(target, what, ours, baseline, unit, against, goal=None, higher_is_better=True):
    """One row of the suite's table (tests/bench/run): the project's figure
    'ours' against the baseline's, in 'unit', and their ratio, oriented so
    that above 1 is better than the baseline; met when it reaches 'goal'."""
    ratio = ours / baseline if higher_is_better else baseline / ours
    return {"target": target, "what": what, "against": against, "unit": unit,
            "ours": round(ours, 3), "baseline": round(baseline, 3), "ratio": round(ratio, 3),
            "goal": goal, "met": None if goal is None else ratio >= goal}


def write_summary(summary, output):
    """Writes 'summary' as JSON to 'output' (a path) and says where."""
    output = pathlib.Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    print(f"summary: {output}")
