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
import json
import os
import re
import shutil
import subprocess
import time

from benchlib import BUILD, REPO, log
from hotline import PG_BIN

KEPT = BUILD / "bench-kept"

# What a loaded data set follows from, besides a benchmark's parameters;
# and the form it is kept in, counted up when that changes.
SOURCES = ["common/sql", "city-node/sql", "province-node/sql", "tests/bench/city.py"]
FORM = 1

# The cluster's own configuration, which stays the new cluster's: its socket
# folder and the settings the run gave it.
OWN_FILES = ("postgresql.conf", "postgresql.auto.conf", "postmaster.opts")


def key(**parameters):
    """The key of a data set made with 'parameters' from this tree's sources."""
    digest = hashlib.sha256(json.dumps({**parameters, "form": FORM}, sort_keys=True).encode())
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


def _copy_stopped(data, target):
    """A copy of the data folder 'data' of a cluster stopped cleanly, as
    'target', with the one segment of its WAL a start needs: that of its
    last checkpoint (a clean stop leaves nothing to replay), where a large
    max_wal_size leaves gigabytes of older and recycled ones."""
    control = subprocess.run([PG_BIN / "pg_controldata", "-D", data], check=True,
                             capture_output=True, text=True,
                             env={**os.environ, "LC_ALL": "C"}).stdout
    if not re.search(r"^Database cluster state:\s+shut down$", control, re.M):
        raise RuntimeError(f"{data} was not stopped cleanly")
    redo = re.search(r"^Latest checkpoint's REDO WAL file:\s+(\w+)$", control, re.M).group(1)
    target.mkdir()
    packed = subprocess.Popen(["tar", "-C", data, "--exclude", "./pg_wal/0*", "-cf", "-", "."],
                              stdout=subprocess.PIPE)
    unpacked = subprocess.run(["tar", "-C", target, "-xpf", "-"], stdin=packed.stdout)
    packed.stdout.close()
    if packed.wait() != 0 or unpacked.returncode != 0:
        raise RuntimeError(f"copying {data} failed")
    _copy(data / "pg_wal" / redo, target / "pg_wal" / redo)


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
        kept under any key."""
        start = time.perf_counter()
        partial = KEPT / f"{self.name}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        _pg_ctl(cluster, "-m", "fast", "-w", "stop")
        try:
            _copy_stopped(cluster.data, partial / "pgdata")
            for name, path in folders.items():
                _copy(path, partial / name)
        finally:
            _pg_ctl(cluster, "-l", cluster.folder / "postgres.log", "-w", "start")
        (partial / "meta.json").write_text(json.dumps({**meta, "key": self.key}, indent=2) + "\n")
        shutil.rmtree(self.folder, ignore_errors=True)
        partial.rename(self.folder)
        log(f"kept {self.name} ({self.key}) in {time.perf_counter() - start:.0f} s")
