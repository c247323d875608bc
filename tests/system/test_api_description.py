"""The API description in proto/openapi.yaml covers every route the daemons serve.

Each daemon prints its route table (`routes`); every route must appear in
the description with its method, and the roles the description names for it
(`x-roles`) must be those the daemon enforces.
"""

import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DAEMONS = ["city-node", "province-node"]


def served_routes(daemon):
    """{(METHOD, path): roles} as the daemon prints them."""
    binary = REPO / "build" / daemon
    assert binary.exists(), f"{binary} not found: run `make` in {REPO} first"
    out = subprocess.run([binary, "routes"], capture_output=True, text=True, check=True).stdout
    routes = {}
    for line in out.splitlines():
        method, path, roles = line.split(" ")
        routes[(method, path)] = set() if roles == "public" else set(roles.split(","))
    return routes


def described_routes():
    """{(METHOD, path): roles} of the `paths:` section."""
    spec = yaml.safe_load((REPO / "proto" / "openapi.yaml").read_text())
    routes = {}
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            routes[(method.upper(), path)] = set(operation.get("x-roles", []))
    return routes


@pytest.mark.parametrize("daemon", DAEMONS)
def test_the_route_table_is_printed(daemon):
    routes = served_routes(daemon)
    assert ("GET", "/healthz") in routes
    assert ("POST", "/api/v1/tickets") in routes


@pytest.mark.parametrize("daemon", DAEMONS)
def test_every_route_is_described(daemon):
    missing = set(served_routes(daemon)) - set(described_routes())
    assert not missing, f"routes missing from proto/openapi.yaml: {sorted(missing)}"


@pytest.mark.parametrize("daemon", DAEMONS)
def test_described_roles_are_enforced_roles(daemon):
    described = described_routes()
    wrong = {route: (roles, described[route])
             for route, roles in served_routes(daemon).items()
             if route in described and roles != described[route]}
    assert not wrong, f"x-roles differ from the daemon's (served, described): {wrong}"
