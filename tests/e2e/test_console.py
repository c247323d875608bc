# SPDX-License-Identifier: Apache-2.0
"""The web console in a real browser: headless Chromium (Debian's
chromium) driven by playwright-core (console_flow.js) against a real city
node and PostgreSQL.

An operator registers a complaint at the desk (the emergency banner shows
while she types of gas, the earlier appeal shows as a likely repeat) and
dispatches it; the unit asks for an extension; the manager approves; the
unit completes; the manager approves; the citizen follows it on the public
page and rates it.  A unit of another unit sees nothing of it.  The
statistics page draws its charts with the figures of what happened.  A
screenshot of each page is kept in build/e2e/.
"""

import json
import os
import subprocess

import pytest

from hotline import REPO
from lifecycle import Hotline, standalone_city

SHOTS = REPO / "build" / "e2e"
MODULES = REPO / "build" / "npm" / "node_modules"
CHROMIUM = "/usr/bin/chromium"

INTAKE = {"channel": "phone", "category": "public_service",
          "citizen": {"type": "person", "name": "陈小明", "phone": "13800138000"},
          "location": {"division": "440106", "address": "天河区体育西路1号"}}


@pytest.fixture
def office(workspace):
    if not os.access(CHROMIUM, os.X_OK) or not (MODULES / "playwright-core").is_dir():
        pytest.fail(f"{CHROMIUM} and playwright-core are needed: run `make deps` and `make`",
                    pytrace=False)
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
    SHOTS.mkdir(parents=True, exist_ok=True)
    env = {"url": node.url, "shots": str(SHOTS), "chromium": CHROMIUM,
           "operator": office.operator, "manager": office.manager, "water": office.water,
           "market": office.market, "service": office.service, "admin": office.admin,
           "earlier": earlier.json()["id"], "online": online.json()["id"]}
    run = subprocess.run(["node", REPO / "tests" / "e2e" / "console_flow.js"],
                         env={**os.environ, "NODE_PATH": str(MODULES), "E2E": json.dumps(env)},
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, f"{run.stdout}\n{run.stderr}"
    result = json.loads(run.stdout.strip().splitlines()[-1])

    ticket = office.show(result["ticket"], office.manager)
    assert ticket["status"] == "completed" and ticket["rated"] is True
    assert ticket["unit"] == "water" and ticket["extensions"] == 1
    steps = ["register", "dispatch", "extension", "extension/review:approve", "completion",
             "completion/review:approve"]
    actions = [e["action"] for e in office.events(result["ticket"], office.manager)]
    assert [a for a in actions if a in steps] == steps, actions
    for page in ("desk", "inbox", "ticket", "reviews", "progress", "stats", "triage", "admin"):
        assert (SHOTS / f"{page}.png").stat().st_size > 10_000, page
