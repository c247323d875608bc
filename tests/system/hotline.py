# SPDX-License-Identifier: Apache-2.0
"""Helpers for the system tests: a throwaway PostgreSQL cluster, one node
daemon (city-node or province-node) in its own folder, and a federation of a
province and its cities wired together the way an operator would do it.

Every wait in here polls to a deadline; nothing sleeps to synchronise.
"""

import os
import pathlib
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from contextlib import closing

import psycopg2
import psycopg2.extensions
import psycopg2.sql
import pytest
import requests

REPO = pathlib.Path(__file__).resolve().parents[2]
BUILD = REPO / "build"
PG_BIN = pathlib.Path("/usr/lib/postgresql/15/bin")

DEADLINE = 20.0  # seconds any single wait may take before the test fails
HEARTBEAT_MS = 200  # fast heartbeats keep the federation tests quick

PROVINCE = ("440000", "广东省")
GUANGZHOU = ("440100", "广州")
SHENZHEN = ("440300", "深圳")
MEIZHOU = ("441400", "梅州")

# The first line of every report of AddressSanitizer, LeakSanitizer and
# UndefinedBehaviorSanitizer (a SAN=1 build). A daemon or command whose output
# holds one fails the test, whatever else the test saw.
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                     "runtime error:", "WARNING: AddressSanitizer")
SANITIZER_REPORT_LINES = 80


def wait_until(condition, what, timeout=DEADLINE, interval=0.05):
    """Call condition() until it returns something truthy and return that.

    Fails the test with "timed out waiting for <what>" after timeout seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


def sanitizer_report(output):
    """The first sanitizer report in a process's output (up to
    SANITIZER_REPORT_LINES lines from its first line), or "" if there is none."""
    lines = output.splitlines()
    for i, line in enumerate(lines):
        if any(marker in line for marker in SANITIZER_MARKERS):
            return "\n".join(lines[i:i + SANITIZER_REPORT_LINES])
    return ""


_ports_handed_out = set()


def free_port():
    """Return a TCP port on 127.0.0.1 that nobody listens on right now and
    that this test session has not handed out before."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _ports_handed_out:
            _ports_handed_out.add(port)
            return port


def daemon_binary(role):
    """Path of build/<role>-node; fails the test if it has not been built."""
    path = BUILD / f"{role}-node"
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} not found: run `make` in {REPO} first", pytrace=False)
    return path


class PostgresCluster:
    """A PostgreSQL 15 cluster in a fresh folder under /tmp, reachable only
    through a Unix socket in that folder, with trust authentication.

    initdb and postgres refuse to run as root, so as root the cluster belongs
    to the `postgres` user and its programs run through runuser.
    """

    def __init__(self):
        self.as_root = os.geteuid() == 0
        self.superuser = "postgres" if self.as_root else _current_user()
        self.folder = pathlib.Path(tempfile.mkdtemp(prefix="hotline-pg-"))
        self.data = self.folder / "data"
        self.socket_dir = self.folder / "socket"
        self.socket_dir.mkdir()
        for path in (self.folder, self.socket_dir):
            path.chmod(0o755)
            if self.as_root:
                shutil.chown(path, "postgres", "postgres")
        self._databases = 0

    def start(self):
        self._run_as_owner(PG_BIN / "initdb", "-D", self.data, "-U", self.superuser,
                           "--auth-local=trust", "--auth-host=reject",
                           "-E", "UTF8", "--locale=C", "--no-sync")
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write("listen_addresses = ''\n"
                       f"unix_socket_directories = '{self.socket_dir}'\n"
                       "fsync = off\n"
                       "synchronous_commit = off\n"
                       "full_page_writes = off\n")
        self._run_as_owner(PG_BIN / "pg_ctl", "-D", self.data,
                           "-l", self.folder / "postgres.log", "-w", "start")

    def stop(self):
        """Stop the server and remove its folder."""
        if (self.data / "postmaster.pid").exists():
            self._run_as_owner(PG_BIN / "pg_ctl", "-D", self.data,
                               "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)

    def conninfo(self, dbname):
        """libpq conninfo of a database in this cluster."""
        return f"host={self.socket_dir} dbname={dbname} user={self.superuser}"

    def create_database(self, hint):
        """Create a new, empty database and return its conninfo."""
        self._databases += 1
        name = f"hotline_{hint}_{self._databases}"
        subprocess.run([PG_BIN / "createdb", "-h", self.socket_dir,
                        "-U", self.superuser, name], check=True)
        return self.conninfo(name)

    def restart(self, down=None):
        """Stop the server at once, as a crash would (`-m immediate`: no
        checkpoint, every backend cut), call down() if given while it is
        away, and start it again; its start replays the WAL."""
        self._run_as_owner(PG_BIN / "pg_ctl", "-D", self.data,
                           "-m", "immediate", "-w", "stop")
        try:
            if down is not None:
                down()
        finally:
            self._run_as_owner(PG_BIN / "pg_ctl", "-D", self.data,
                               "-l", self.folder / "postgres.log", "-w", "start")

    def commit_durably(self, conninfo):
        """Sessions of the database of conninfo wait for each commit's WAL
        to be written, as production does (synchronous_commit on; the
        cluster's default here is off, for speed): a commit acknowledged
        then survives a crash of the server. fsync stays off, which only
        matters when the machine itself crashes."""
        dbname = psycopg2.extensions.parse_dsn(conninfo)["dbname"]
        with closing(psycopg2.connect(self.conninfo("postgres"))) as admin:
            admin.autocommit = True
            with admin.cursor() as cursor:
                cursor.execute(psycopg2.sql.SQL("ALTER DATABASE {} SET synchronous_commit = on")
                               .format(psycopg2.sql.Identifier(dbname)))

    def allow_connections(self, conninfo, allowed):
        """Refuse (allowed=False) or again accept new connections to the
        database of conninfo; refusing also drops its open connections, so
        to its node the database looks down."""
        dbname = psycopg2.extensions.parse_dsn(conninfo)["dbname"]
        with closing(psycopg2.connect(self.conninfo("postgres"))) as admin:
            admin.autocommit = True
            with admin.cursor() as cursor:
                cursor.execute(psycopg2.sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS {}")
                               .format(psycopg2.sql.Identifier(dbname),
                                       psycopg2.sql.SQL("true" if allowed else "false")))
                if not allowed:
                    cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                                   " WHERE datname = %s", (dbname,))

    def _run_as_owner(self, *argv):
        prefix = ["runuser", "-u", "postgres", "--"] if self.as_root else []
        subprocess.run([*prefix, *map(str, argv)], check=True,
                       cwd=self.folder, stdout=subprocess.DEVNULL)


def rows(node, sql, params=None):
    """The rows of one query of node's own database, as tuples."""
    with closing(psycopg2.connect(node.settings["database"])) as db, db.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def _current_user():
    return pwd.getpwuid(os.geteuid()).pw_name


class Node:
    """One node daemon in its own folder: node.conf, data/, node.log.

    settings holds the config file's `key = value` pairs in file order; edit
    it and call write_config() to change the node's configuration.
    """

    def __init__(self, role, folder, settings):
        self.role = role
        self.binary = daemon_binary(role)
        self.folder = folder
        self.data_dir = folder / "data"
        self.config_path = folder / "node.conf"
        self.log_path = folder / "node.log"
        self.settings = settings
        self.process = None
        self.env = {}  # extra environment of the daemon, see start()
        self.launcher = []  # argv prefix of the daemon, e.g. `ip netns exec NAME`
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.write_config()

    def __repr__(self):
        return f"<node {self.folder.name}>"

    @property
    def code(self):
        return self.settings["node_code"]

    @property
    def name(self):
        return self.settings["node_name"]

    @property
    def url(self):
        return f"http://{self.settings['http_address']}:{self.settings['http_port']}"

    @property
    def admin_token(self):
        return (self.data_dir / "admin.token").read_text().strip()

    def write_config(self):
        lines = [f"# {self.folder.name}, written by the system tests", ""]
        lines += [f"{key} = {value}" for key, value in self.settings.items()]
        self.config_path.write_text("\n".join(lines) + "\n")

    # Commands: one run of the binary that exits.

    def run(self, *args, check=True, timeout=DEADLINE):
        """Run `<binary> -f node.conf ARGS...` and return the CompletedProcess
        (text stdout and stderr). With check, a non-zero exit fails the test."""
        argv = [self.binary, "-f", self.config_path, *args]
        try:
            result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as e:
            pytest.fail(f"{self.binary.name} {' '.join(args)} still running after "
                        f"{timeout:g} s; its output:\n{e.stderr or ''}{e.stdout or ''}")
        report = sanitizer_report(result.stderr + result.stdout)
        if report:
            pytest.fail(f"{self.binary.name} {' '.join(args)}: sanitizer report:\n{report}")
        if check and result.returncode != 0:
            pytest.fail(f"{self.binary.name} {' '.join(args)} exited "
                        f"{result.returncode}:\n{result.stderr}")
        return result

    def check_config(self):
        """`-n`: only check the config file."""
        return self.run("-n", check=False)

    def init(self):
        self.run("init")

    def public_key(self):
        return self.run("public-key").stdout.strip()

    # The daemon.

    def start(self, wait=True, env=None):
        """Start the daemon in the foreground (-d) with its output appended to
        node.log; with wait, return once it answers HTTP. env holds extra
        environment variables for the daemon (e.g. libfaketime's); they are
        kept for restart()."""
        assert not self.is_running(), f"{self} is already running"
        if env is not None:
            self.env = dict(env)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [*self.launcher, self.binary, "-d", "-f", self.config_path],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                env={**os.environ, **self.env})
        if wait:
            self.wait_ready()

    def wait_ready(self, timeout=DEADLINE):
        self.wait_for(lambda: self.try_http("GET", "/healthz") is not None,
                      "its /healthz to answer", timeout)

    def is_running(self):
        return self.process is not None and self.process.poll() is None

    def wait_exit(self, timeout=DEADLINE):
        """Wait for the daemon to exit by itself; return its exit status."""
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{self} still running after {timeout:g} s")

    def stop(self, timeout=DEADLINE):
        """SIGTERM, then SIGKILL if it has not exited after timeout seconds.
        Returns the exit status (negative: killed by that signal)."""
        if not self.is_running():
            return self.process.returncode if self.process else None
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            return self.kill()

    def kill(self):
        """SIGKILL: a crash, as far as everybody else can tell."""
        self.process.kill()
        return self.process.wait()

    def restart(self):
        self.stop()
        self.start()

    def sanitized(self):
        """Whether the running daemon is a SAN=1 build. AddressSanitizer keeps
        freed blocks in quarantine: its resident memory grows without a leak
        (LeakSanitizer reports leaks at exit instead)."""
        return "libasan" in pathlib.Path(f"/proc/{self.process.pid}/maps").read_text()

    def freeze(self):
        """SIGSTOP: the process holds its sockets and connections but does
        nothing, as a node stuck in a long pause would; thaw() ends it."""
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self):
        self.process.send_signal(signal.SIGCONT)

    def wait_for(self, condition, what, timeout=DEADLINE):
        """wait_until() that fails at once, with the log tail, if the daemon
        dies while we wait."""
        def alive_and(condition=condition):
            if not self.is_running():
                pytest.fail(f"{self} exited with status {self.process.returncode} "
                            f"while waiting for {what}:\n{self.log_tail()}")
            return condition()
        return wait_until(alive_and, f"{what} on {self}", timeout)

    # Log.

    def log(self):
        if not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")

    def sanitizer_report(self):
        """The first sanitizer report in node.log, or "" (see sanitizer_report())."""
        return sanitizer_report(self.log())

    def log_tail(self, lines=60):
        return "\n".join(self.log().splitlines()[-lines:])

    def log_mark(self):
        """Position in the log; pass it as since= to wait_log to see only
        lines written after this point."""
        return len(self.log())

    def log_lines(self, text, since=0):
        return [line for line in self.log()[since:].splitlines() if text in line]

    def wait_log(self, text, timeout=DEADLINE, since=0):
        """Poll the log until a line contains text; return the first such line."""
        lines = wait_until(lambda: self.log_lines(text, since),
                           f"{text!r} in the log of {self}", timeout)
        return lines[0]

    # HTTP.

    def http(self, method, path, token=None, **kwargs):
        """One HTTP request to the node; token goes in an Authorization:
        Bearer header."""
        headers = kwargs.pop("headers", {})
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return requests.request(method, self.url + path, headers=headers,
                                timeout=5, **kwargs)

    def try_http(self, method, path, token=None):
        """http() that returns None instead of raising when nobody answers."""
        try:
            return self.http(method, path, token)
        except requests.ConnectionError:
            return None

    def healthz(self):
        return self.http("GET", "/healthz").json()


class Workspace:
    """The per-test folder: every node the test creates lives in a subfolder
    and is stopped when the test ends."""

    def __init__(self, folder, postgres):
        self.folder = folder
        self.postgres = postgres
        self.nodes = []

    def new_node(self, role, code, name, database=None, **extra):
        """A node with a complete, valid config (fresh database, free HTTP
        port, fast heartbeats) plus the role-specific settings in extra.
        Nothing is run yet."""
        folder = self.folder / f"{role}-{code}"
        suffix = 1
        while folder.exists():
            suffix += 1
            folder = self.folder / f"{role}-{code}-{suffix}"
        settings = {
            "node_code": code,
            "node_name": name,
            "data_dir": folder / "data",
            "database": database or self.postgres.create_database(code),
            "http_address": "127.0.0.1",
            "http_port": free_port(),
            "http_threads": 2,
            "heartbeat_interval_ms": HEARTBEAT_MS,
            "log_level": "info",
            **extra,
        }
        node = Node(role, folder, settings)
        self.nodes.append(node)
        return node

    def stop_all(self):
        for node in self.nodes:
            node.stop()

    def sanitizer_reports(self):
        """The sanitizer reports in the nodes' logs, one text per node that
        has one; call after stop_all(), when leaks at exit have been reported."""
        return [f"==== {node} {node.log_path} ====\n{report}"
                for node in self.nodes if (report := node.sanitizer_report())]

    def log_tails(self):
        parts = [f"node folders kept in {self.folder}"]
        for node in self.nodes:
            parts.append(f"==== {node} {node.log_path} (last 60 lines) ====\n"
                         f"{node.log_tail() or '(empty)'}")
        return "\n".join(parts)


class Federation:
    """A province and its cities, set up as an operator would: init every
    node, register each city's public key at the province (node-add) and give
    every city the province's endpoint and public key.  The province's
    database is a fresh one unless 'province_database' (a conninfo) says."""

    def __init__(self, workspace, province_database=None):
        self.workspace = workspace
        self.province = workspace.new_node(
            "province", *PROVINCE, database=province_database,
            federation_bind=f"tcp://127.0.0.1:{free_port()}")
        self.province.init()
        self.cities = {}

    def add_city(self, code, name):
        """A city initialised with the province's phone.key, as README's
        "adding a city" says: restrictions and repeats match callers by the
        phone's keyed hash, which must be the same at every node."""
        city = self.workspace.new_node(
            "city", code, name,
            province_endpoint=self.province.settings["federation_bind"],
            province_public_key=self.province.public_key())
        phone_key = city.data_dir / "phone.key"
        shutil.copyfile(self.province.data_dir / "phone.key", phone_key)
        phone_key.chmod(0o600)
        city.init()
        self.cities[code] = city
        return city

    def register(self, city, code=None, name=None):
        """node-add the city's public key at the province, by default under
        the city's own code and name."""
        self.province.run("node-add", code or city.code, name or city.name,
                          city.public_key())

    def start(self):
        self.province.start()
        for city in self.cities.values():
            city.start()

    def nodes(self):
        """The province's view of its cities: {code: entry}."""
        response = self.province.http("GET", "/api/v1/federation/nodes",
                                      token=self.province.admin_token)
        assert response.status_code == 200, response.text
        return {entry["code"]: entry for entry in response.json()["nodes"]}

    def connected_entry(self, code):
        """The province's entry for city code if it shows connected, else None."""
        entry = self.nodes().get(code)
        return entry if entry is not None and entry["connected"] is True else None

    def wait_connected(self, code, timeout=DEADLINE):
        """Poll the province until city code shows connected; return its entry."""
        return self.province.wait_for(lambda: self.connected_entry(code),
                                      f"city {code} to show connected", timeout)

    def wait_disconnected(self, code, timeout=DEADLINE):
        self.province.wait_for(lambda: self.connected_entry(code) is None,
                               f"city {code} to show disconnected", timeout)
