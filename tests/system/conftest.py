# SPDX-License-Identifier: Apache-2.0
"""Fixtures for the system tests.

Each test gets its own folder under /tmp holding the nodes it starts (config,
data_dir, node.log). All nodes share one throwaway PostgreSQL cluster, each
with its own database. When a test fails, the tail of every node log is added
to the failure report and the folder is kept; otherwise it is removed.

Run from the repository root, after `make`:
    /usr/bin/python3 -m pytest tests/system

Tests marked soak run only when asked for by marker (`-m soak`, which
`make soak` does); otherwise they are deselected.
"""

import pathlib
import re
import shutil
import tempfile

import pytest

from hotline import Federation, PostgresCluster, Workspace
from netns import Network

WORKSPACE = pytest.StashKey[Workspace]()
FAILED = pytest.StashKey[bool]()


def pytest_configure(config):
    config.addinivalue_line("markers", "soak: long randomised run, only with `make soak`")


def pytest_collection_modifyitems(config, items):
    """Leave the soak tests out unless the marker expression names them."""
    if "soak" in (config.option.markexpr or ""):
        return
    soak = [item for item in items if item.get_closest_marker("soak")]
    if soak:
        config.hook.pytest_deselected(items=soak)
        items[:] = [item for item in items if not item.get_closest_marker("soak")]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Remember a failure on the item and add the node logs to its report."""
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        item.stash[FAILED] = True
        workspace = item.stash.get(WORKSPACE, None)
        if workspace is not None:
            report.sections.append(("node logs", workspace.log_tails()))


@pytest.fixture(scope="session")
def postgres():
    """A PostgreSQL 15 cluster for the whole session; nodes get one database
    each from postgres.create_database()."""
    cluster = PostgresCluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def workspace(request, postgres):
    """The test's folder; workspace.new_node(role, code, name) creates a node
    in it. Nodes are stopped at the end; the folder is kept if the test failed.
    A sanitizer report in a node's log (SAN=1 builds) fails the test at the
    end, after its nodes have stopped and reported their leaks."""
    name = re.sub(r"[^\w.-]", "_", request.node.name)[:60]
    folder = pathlib.Path(tempfile.mkdtemp(prefix=f"hotline-{name}-"))
    workspace = Workspace(folder, postgres)
    request.node.stash[WORKSPACE] = workspace
    yield workspace
    workspace.stop_all()
    reports = workspace.sanitizer_reports()
    if reports:
        request.node.stash[FAILED] = True
        pytest.fail(f"sanitizer reports (node folders kept in {folder}):\n"
                    + "\n".join(reports), pytrace=False)
    if not request.node.stash.get(FAILED, False):
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def federation(workspace):
    """Build a running federation:

        fed = federation(GUANGZHOU, SHENZHEN)
        fed.wait_connected("440100")

    Each city is a (code, name) pair. With register=False no city is
    registered at the province (call fed.register() yourself); with
    start=False nothing is started (call fed.start())."""
    def build(*cities, register=True, start=True):
        fed = Federation(workspace)
        for code, name in cities:
            fed.add_city(code, name)
        if register:
            for city in fed.cities.values():
                fed.register(city)
        if start:
            fed.start()
        return fed
    return build


@pytest.fixture
def network(workspace):
    """The bridge and namespaces of netns.py; skips the test without root or
    `ip netns`.  At the end the nodes are stopped, then every namespace,
    veth and the bridge removed, whether the test passed or not."""
    net = Network()
    try:
        yield net
    finally:
        workspace.stop_all()
        net.close()
