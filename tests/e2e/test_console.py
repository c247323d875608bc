# SPDX-License-Identifier: Apache-2.0
"""The web console in a real browser: headless Chromium (Debian's
chromium) driven by playwright-core (console_flow.js, province_flow.js)
against real nodes and PostgreSQL.

An operator registers a complaint at the desk (the emergency banner shows
while she types of gas, the earlier appeal shows as a likely repeat) and
dispatches it; the unit asks for an extension; the manager approves; the
unit completes; the manager approves; the citizen follows it on the public
page and rates it.  A unit of another unit sees nothing of it.  The
statistics page draws its charts with the figures of what happened.  At
the province, the dashboard shows the cities connected, a transfer between
them and the month's figures by city.  A screenshot of each page is kept in
build/e2e/.
"""

import json
import os
import subprocess

import pytest

from hotline import GUANGZHOU, REPO, SHENZHEN, wait_until
from lifecycle import Hotline, standalone_city

SHOTS = REPO / "build" / "e2e"
MODULES = REPO / "build" / "npm" / "node_modules"
CHROMIUM = "/usr/bin/chromium"

INTAKE = {"channel": "phone", "category": "public_service",
          "citizen": {"type": "person", "name": "陈小明", "phone": "13800138000"},
          "location": {"division": "440106", "address": "天河区体育西路1号"}}


def browser_needed():
    if not os.access(CHROMIUM, os.X_OK) or not (MODULES / "playwright-core").is_dir():
        pytest.fail(f"{CHROMIUM} and playwright-core are needed: run `make deps` and `make`",
                    pytrace=False)


def drive(script, env):
    """Runs a flow in the browser; returns the JSON line it printed."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    run = subprocess.run(["node", REPO / "tests" / "e2e" / script],
                         env={**os.environ, "NODE_PATH": str(MODULES),
                              "E2E": json.dumps({"shots": str(SHOTS), "chromium": CHROMIUM,
                                                 **env})},
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, f"{run.stdout}\n{run.stderr}"
    return json.loads(run.stdout.strip().splitlines()[-1])


@pytest.fixture
def office(workspace):
    browser_needed()
    node = standalone_city(workspace)
    node.start()
    return Hotline(node)


def test_a_ticket_worked_through_its_whole_life_in_the_console(office):
    node = office.node
    rule = office.post("/api/v1/emergency-rules", office.manager,
                       {"name": "燃气泄漏", "keywords": ["燃气泄漏", "煤气味"], "line": "119",
                        "period_hours": 4})
    assert rule.status_code == 201, rule.text
    earlier = office.post("/api/v1/tickets", office.operator,
                          {**INTAKE, "kind": "complaint", "content": "小区停水两天，没有任何通知。"})
    consultation = office.post("/api/v1/tickets", office.operator,
                               {**INTAKE, "kind": "consultation",
                                "content": "请问居住证怎么办理？"})
    online = office.post("/api/v1/tickets", office.service,
                         {**INTAKE, "channel": "web", "kind": "help",
                          "content": "路灯坏了一个星期，晚上很黑。"})
    for answer in (earlier, consultation, online):
        assert answer.status_code == 201, answer.text
    result = drive("console_flow.js", {
        "url": node.url, "operator": office.operator, "manager": office.manager,
        "water": office.water, "market": office.market, "service": office.service,
        "admin": office.admin, "earlier": earlier.json()["id"], "online": online.json()["id"]})

    ticket = office.show(result["ticket"], office.manager)
    assert ticket["status"] == "completed" and ticket["rated"] is True
    assert ticket["unit"] == "water" and ticket["extensions"] == 1
    steps = ["register", "dispatch", "extension", "extension/review:approve", "completion",
             "completion/review:approve"]
    actions = [e["action"] for e in office.events(result["ticket"], office.manager)]
    assert [a for a in actions if a in steps] == steps, actions
    for page in ("kb", "desk", "inbox", "ticket", "reviews", "progress", "stats", "triage", "admin"):
        assert (SHOTS / f"{page}.png").stat().st_size > 10_000, page


def test_the_province_dashboard_shows_the_cities_their_transfers_and_figures(federation):
    browser_needed()
    fed = federation(GUANGZHOU, SHENZHEN)
    fed.wait_connected(GUANGZHOU[0])
    fed.wait_connected(SHENZHEN[0])
    guangzhou = Hotline(fed.cities[GUANGZHOU[0]])
    ticket = guangzhou.post("/api/v1/tickets", guangzhou.operator,
                            {**INTAKE, "kind": "complaint", "content": "深圳南山区工地夜间施工扰民。"})
    assert ticket.status_code == 201, ticket.text
    moved = guangzhou.post(f"/api/v1/tickets/{ticket.json()['id']}/transfer", guangzhou.operator,
                           {"to": SHENZHEN[0], "reason": "事发地在深圳"})
    assert moved.status_code == 200, moved.text
    province = fed.province
    manager = province.http("POST", "/api/v1/principals", province.admin_token,
                            json={"name": "省值班长", "role": "manager"}).json()["token"]
    wait_until(lambda: any(t["status"] == "accepted" for t in
                           province.http("GET", "/api/v1/transfers", manager).json()["transfers"]),
               "the transfer accepted by 深圳")

    drive("province_flow.js", {"url": province.url, "manager": manager,
                               "ticket": ticket.json()["id"]})
    assert (SHOTS / "province.png").stat().st_size > 10_000
