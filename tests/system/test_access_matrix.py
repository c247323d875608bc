"""Every route against every kind of caller, generated from the route table
the daemon prints (`city-node routes`, `province-node routes`).

A caller without a token is refused 401 by every route that needs one; a
principal whose role a route does not allow is refused 403; a role it
allows gets past authorization (whatever the handler then answers about
the dummy resource, never 401 or 403); a revoked token, and a token whose
lifetime has ended, are refused 401 alike.  Open311's POST takes its key as the standard does, a service's token as
`api_key`, and answers 403 to anything else.  Nothing refused changes
anything.
"""

import re
import subprocess
from contextlib import closing

import psycopg2
import pytest

from hotline import GUANGZHOU, REPO
from lifecycle import Hotline, assert_error, clock  # noqa: F401 (fixture)

ROLES = ("admin", "operator", "manager", "unit", "auditor", "service")
# What a path parameter is replaced by: well-formed, naming nothing.
DUMMY = {"id": "440100-20240101-999999", "code": "nobody", "service_code": "nothing.here",
         "file": "requests.json"}
# Revoked and expired tokens are tried on a spread of routes only, nine
# each: an address sending twenty invalid tokens within five minutes is
# made to wait (test_hostile_http.py).
REVOKED_SAMPLE = 9
# The day the nodes' clock is moved to: past the expiring token's one day.
AFTER_EXPIRY = "2024-11-06 10:00:00"


def routes(daemon):
    out = subprocess.run([REPO / "build" / daemon, "routes"], capture_output=True, text=True,
                         check=True).stdout
    table = []
    for line in out.splitlines():
        method, path, roles = line.split(" ")
        table.append((method, path, set() if roles == "public" else set(roles.split(","))))
    return table


def concrete(path):
    return re.sub(r"\{([a-z_]+)\}", lambda m: DUMMY.get(m.group(1), "x1"), path)


def call(node, method, path, token):
    kwargs = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
    return node.http(method, concrete(path), token=token, **kwargs)


def fingerprint(node):
    with closing(psycopg2.connect(node.settings["database"])) as db, db.cursor() as cur:
        cur.execute("SELECT (SELECT count(*) FROM tickets), (SELECT count(*) FROM ticket_events),"
                    " (SELECT count(*) FROM principals), (SELECT count(*) FROM units)")
        return cur.fetchone()


def spread(routes, offset=0):
    """REVOKED_SAMPLE routes taken evenly from routes, from the offset-th on."""
    step = max(1, len(routes) // REVOKED_SAMPLE)
    return routes[offset % step::step][:REVOKED_SAMPLE]


@pytest.mark.parametrize("daemon", ["city-node", "province-node"])
def test_every_route_for_every_caller(federation, clock, daemon):
    fed = federation(GUANGZHOU, start=False)
    for each in (fed.province, *fed.cities.values()):
        each.start(env=clock.env())
    fed.wait_connected(GUANGZHOU[0])
    node = fed.province if daemon == "province-node" else fed.cities[GUANGZHOU[0]]
    office = Hotline(node)
    tokens = {"admin": node.admin_token, "operator": office.operator,
              "manager": office.manager, "unit": office.water, "auditor": office.auditor,
              "service": office.service}
    revoked = office.create_principal("离职坐席", "operator")
    listed = node.http("GET", "/api/v1/principals", token=node.admin_token).json()["principals"]
    [gone] = [p["id"] for p in listed if p["name"] == "离职坐席"]
    assert node.http("DELETE", f"/api/v1/principals/{gone}", token=node.admin_token) \
        .status_code == 200
    response = office.post("/api/v1/principals", node.admin_token,
                           {"name": "实习坐席", "role": "operator", "expires_in_days": 1})
    assert response.status_code == 201, response.text
    assert response.json()["expires_at"].startswith("2024-11-05T")
    expired = response.json()["token"]

    table = routes(daemon)
    protected = [r for r in table if r[2]]
    before = fingerprint(node)
    wrong = []
    for method, path, allowed in table:
        if method == "POST" and path.startswith("/open311/"):
            # The standard's key: a service's token as api_key, else 403.
            for role in (None, *ROLES):
                key = {} if role is None else {"api_key": tokens[role]}
                status = node.http(method, concrete(path), data=key).status_code
                if (role == "service") == (status == 403):
                    wrong.append((method, path, f"api_key of {role}", status))
            continue
        if not allowed:
            status = call(node, method, path, None).status_code
            if status in (401, 403):
                wrong.append((method, path, "public", status))
            continue
        status = call(node, method, path, None).status_code
        if status != 401:
            wrong.append((method, path, "no token", status))
        for role in ROLES:
            status = call(node, method, path, tokens[role]).status_code
            if role in allowed and status in (401, 403):
                wrong.append((method, path, role, status))
            if role not in allowed and status != 403:
                wrong.append((method, path, role, status))
    refusal = None
    for method, path, _ in spread(protected):
        response = call(node, method, path, revoked)
        if response.status_code != 401:
            wrong.append((method, path, "revoked", response.status_code))
        else:
            refusal = response.json()
    # The expiring token works until its day is over, and then is refused
    # as the revoked one is, word for word.
    assert call(node, "GET", "/api/v1/calendar/deadline", expired).status_code not in (401, 403)
    clock.set(AFTER_EXPIRY)
    for method, path, _ in spread(protected, offset=1):
        response = call(node, method, path, expired)
        if response.status_code != 401 or response.json() != refusal:
            wrong.append((method, path, "expired", response.status_code))

    assert not wrong, "\n".join(f"{m} {p} as {who}: {s}" for m, p, who, s in wrong)
    assert fingerprint(node) == before


def test_a_unit_sees_and_acts_on_its_own_orders_only(federation):
    fed = federation(GUANGZHOU)
    city = fed.cities[GUANGZHOU[0]]
    office = Hotline(city)
    ticket = office.in_handling(unit="water")
    before = fingerprint(city)
    unit_routes = [(m, p) for m, p, allowed in routes("city-node")
                   if "unit" in allowed and p.startswith("/api/v1/tickets/{id}")]
    assert unit_routes

    for method, path in unit_routes:
        url = path.replace("{id}", ticket["id"])
        kwargs = {"json": {}} if method == "POST" else {}
        response = city.http(method, url, token=office.market, **kwargs)
        assert_error(response, 404, "not_found")
    assert fingerprint(city) == before
    # Its own unit gets past the scope (what it then answers is the workflow's).
    assert office.get(ticket["id"], office.water).status_code == 200
