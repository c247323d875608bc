# SPDX-License-Identifier: Apache-2.0
"""Large data sets kept between runs of the suite.

Ten million tickets take minutes to load and to roll up, every run the
same, since the synthetic city follows from its size alone.  A benchmark
given --keep keeps the cluster it loaded, stopped cleanly, and the
folders of the node that goes with it (its sealing key, its admin token)
in build/bench-kept/NAME/, under a key made of everything the data
follows from: the nodes' migrations, the generator and the benchmark's
own parameters.  The next run with the same key starts from a copy of
them instead of loading; a different key loads again and replaces them.
A copy, because a run writes (audit entries, a node's staff): the kept
data stays as loaded.  `make clean` removes them with the build.
"""

import hashlib
import inspect
import json
import os
import re
import shutil
import subprocess
import time

from benchlib import BUILD, REPO, log
from hotline import PG_BIN

KEPT = BUILD / "bench-kept"

# What every loaded data set follows from, besides a benchmark's own
# parameters and code (key()): the nodes' migrations and the generator
# (city.py, which takes its contents from sync_bench.py); and the form it is
# kept in, counted up when that changes.
SOURCES = ["common/sql", "province-node/sql", "tests/bench/city.py", "tests/bench/sync_bench.py"]
FORM = 1

# The cluster's own configuration, which stays the new cluster's: its socket
# folder and the settings the run gave it.
OWN_FILES = ("postgresql.conf", "postgresql.auto.conf", "postmaster.opts")


def key(makers=(), **parameters):
    """The key of a data set made with 'parameters' by the functions
    'makers' from this tree's sources, by the PostgreSQL and the user of
    this run (a cluster kept by root belongs to the postgres user)."""
    version = subprocess.run([PG_BIN / "postgres", "--version"], check=True,
                             capture_output=True, text=True).stdout
    digest = hashlib.sha256(json.dumps(
        {**parameters, "form": FORM, "postgres": version, "uid": os.geteuid(),
         "makers": [inspect.getsource(maker) for maker in makers]},
        sort_keys=True).encode())
    for source in SOURCES:
        path = REPO / source
        for file in sorted(path.rglob("*")) if path.is_dir() else [path]:
            if file.is_file():
                digest.update(file.relative_to(REPO).as_posix().encode())
                digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def _copy(source, target):
    """A copy of the folder 'source' as 'target' (owners and modes kept)."""
    subprocess.run(["cp", "-a", str(source), str(target)], check=True)


def _wal_needed(data):
    """The WAL segments a start of the cluster stopped cleanly in 'data'
    reads: that of its last checkpoint (a clean stop leaves nothing to
    replay), and the next, should the record end there."""
    control = subprocess.run([PG_BIN / "pg_controldata", "-D", data], check=True,
                             capture_output=True, text=True,
                             env={**os.environ, "LC_ALL": "C"}).stdout
    if not re.search(r"^Database cluster state:\s+shut down$", control, re.M):
        raise RuntimeError(f"{data} was not stopped cleanly")
    redo = re.search(r"^Latest checkpoint's REDO WAL file:\s+(\w{24})$", control, re.M).group(1)
    size = int(re.search(r"^Bytes per WAL segment:\s+(\d+)$", control, re.M).group(1))
    per_id = 0x100000000 // size  # a name is timeline, id, segment of the id
    after = int(redo[8:16], 16) * per_id + int(redo[16:], 16) + 1
    return [redo, f"{redo[:8]}{after // per_id:08X}{after % per_id:08X}"]


def _copy_stopped(data, target):
    """A copy of the data folder 'data' of a cluster stopped cleanly, as
    'target', with only the segments of its WAL a start needs, where a
    large max_wal_size leaves gigabytes of older and recycled ones."""
    needed = _wal_needed(data)
    target.mkdir()
    segment = "./pg_wal/" + "?" * 24  # not the timelines' history files
    packed = subprocess.Popen(["tar", "-C", data, "--exclude", segment, "-cf", "-", "."],
                              stdout=subprocess.PIPE)
    unpacked = subprocess.run(["tar", "-C", target, "-xpf", "-"], stdin=packed.stdout)
    packed.stdout.close()
    if packed.wait() != 0 or unpacked.returncode != 0:
        raise RuntimeError(f"copying {data} failed")
    for name in needed:
        if (data / "pg_wal" / name).exists():
            _copy(data / "pg_wal" / name, target / "pg_wal" / name)


def _pg_ctl(cluster, *args):
    cluster._run_as_owner(PG_BIN / "pg_ctl", "-D", cluster.data, *args)


class Kept:
    """The data set NAME of the given key, kept or to keep: a cluster's data
    folder and the named folders of the run that go with it."""

    def __init__(self, name, key):
        self.name, self.key = name, key
        self.folder = KEPT / name

    def _meta_path(self):
        return self.folder / "meta.json"

    def meta(self):
        """What was recorded with the data set if it is kept under this key,
        else None."""
        try:
            meta = json.loads(self._meta_path().read_text())
        except (OSError, ValueError):
            return None
        return meta if meta.get("key") == self.key else None

    def restore(self, cluster, folders):
        """Replaces the cluster's data (stopped and started again) and each
        of 'folders' ({name: path}) with copies of the kept ones.  Returns
        the seconds it took."""
        start = time.perf_counter()
        _pg_ctl(cluster, "-m", "fast", "-w", "stop")
        own = {name: (cluster.data / name).read_bytes() for name in OWN_FILES
               if (cluster.data / name).exists()}
        shutil.rmtree(cluster.data)
        _copy(self.folder / "pgdata", cluster.data)
        for name, content in own.items():
            (cluster.data / name).write_bytes(content)
        for name, path in folders.items():
            shutil.rmtree(path)
            _copy(self.folder / name, path)
        _pg_ctl(cluster, "-l", cluster.folder / "postgres.log", "-w", "start")
        seconds = time.perf_counter() - start
        log(f"restored the kept {self.name} ({self.key}) in {seconds:.0f} s")
        return seconds

    def keep(self, cluster, folders, meta):
        """Keeps copies of the cluster's data (stopped cleanly for it, then
        started again) and of 'folders' with 'meta', replacing what was
        kept under another key.  A copy that fails (a full disk) is
        removed, and the run goes on without keeping."""
        start = time.perf_counter()
        partial = KEPT / f"{self.name}.partial"
        for stale in (self.folder, partial):
            shutil.rmtree(stale, ignore_errors=True)
        partial.mkdir(parents=True)
        _pg_ctl(cluster, "-m", "fast", "-w", "stop")
        try:
            _copy_stopped(cluster.data, partial / "pgdata")
            for name, path in folders.items():
                _copy(path, partial / name)
            os.sync()  # the data on the disk before the meta that vouches for it
            (partial / "meta.json").write_text(
                json.dumps({**meta, "key": self.key}, indent=2) + "\n")
            partial.rename(self.folder)
            os.sync()
        except (OSError, RuntimeError, subprocess.CalledProcessError) as failed:
            shutil.rmtree(partial, ignore_errors=True)
            log(f"could not keep {self.name}: {failed}")
            return
        finally:
            _pg_ctl(cluster, "-l", cluster.folder / "postgres.log", "-w", "start")
        log(f"kept {self.name} ({self.key}) in {time.perf_counter() - start:.0f} s")
