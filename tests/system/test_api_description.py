"""The API description in proto/openapi.yaml covers every route the daemons serve.

The route tables are read from the C sources (one `{"METHOD", "/path", ...}`
row per route), and each route must appear in the description as a path with
that method under it.
"""

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ROUTE_ROW = re.compile(r'\{"(GET|POST|PUT|PATCH|DELETE)",\s*"(/[^"]*)"')


def routes_in_code():
    sources = [REPO / "common" / "node.c",
               *sorted((REPO / "city-node").glob("*.c")),
               *sorted((REPO / "province-node").glob("*.c"))]
    routes = set()
    for source in sources:
        routes.update(ROUTE_ROW.findall(source.read_text()))
    return routes


def routes_in_description():
    """(METHOD, path) pairs of the `paths:` section, read by indentation."""
    routes, path, in_paths = set(), None, False
    for line in (REPO / "proto" / "openapi.yaml").read_text().splitlines():
        if line.startswith("paths:"):
            in_paths = True
        elif in_paths and re.match(r"\S", line):
            in_paths = False
        elif in_paths and (m := re.match(r"  (/\S*):\s*$", line)):
            path = m.group(1)
        elif in_paths and path and (m := re.match(r"    (get|post|put|patch|delete):", line)):
            routes.add((m.group(1).upper(), path))
    return routes


def test_the_route_tables_are_found():
    routes = routes_in_code()
    assert ("GET", "/healthz") in routes
    assert ("GET", "/api/v1/federation/nodes") in routes


def test_every_route_is_described():
    missing = routes_in_code() - routes_in_description()
    assert not missing, f"routes missing from proto/openapi.yaml: {sorted(missing)}"
