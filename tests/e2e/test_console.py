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

The office's lists go a page at a time and filter through the API; an
operator records the outcome of a follow-up after a bad rating; a manager
files a correction on a knowledge-base entry, which its unit answers with a
new version the manager publishes, and withdraws another, which is then no
longer served.  At the province, the schematic map places every city with
its state, a manager decides a declined transfer, the administrator sets
the centres' thresholds and overflow, a queue over its threshold shows on
the map and its appeal is triaged in the console of the centre it went to.
"""

import datetime
import json
import os
import subprocess

import pytest

from hotline import GUANGZHOU, REPO, SHENZHEN, wait_until
from lifecycle import BODIES, Hotline, standalone_city

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


def beijing_now():
    return datetime.datetime.now(datetime.timezone(datetime.timedelta(hours=8))).isoformat(
        timespec="seconds")


def rated_badly(office):
    """A ticket of the unit water completed and rated dissatisfied: a
    follow-up opens."""
    ticket = office.in_handling(unit="water")["id"]
    office.do(office.water, ticket, "completion", {**BODIES["completion"], "handled_at": beijing_now()})
    office.do(office.manager, ticket, "completion/review")
    token = office.post(f"/api/v1/tickets/{ticket}/rating-token", office.service, {})
    assert token.status_code == 201, token.text
    rated = office.post(f"/api/v1/tickets/{ticket}/rating", None,
                        {"intake": "satisfied", "handling": "dissatisfied", "token": token.json()["token"]})
    assert rated.status_code == 200, rated.text
    return ticket


def published(office, title, text):
    entry = office.post("/api/v1/kb", office.manager,
                        {"type": "answer_script", "unit": "water", "title": title, "text": text,
                         "valid_from": beijing_now()[:10], "publish": True})
    assert entry.status_code == 201, entry.text
    return entry.json()["id"]


def test_lists_page_and_filter_and_the_office_corrects_its_knowledge_and_calls_back(office):
    for i in range(25):
        office.in_handling(unit="water", content=f"第{i}号：小区供水水压不足，高层住户用水困难。")
    for i in range(30):
        office.create(kind="consultation", content=f"第{i}号：请问居住证怎么办理？")
    followup = rated_badly(office)
    corrected = published(office, "停水查询口径", "停水请拨打供水服务热线。")
    withdrawn = published(office, "旧版水费标准", "居民生活用水每立方米1.98元。")

    result = drive("lists_flow.js", {
        "url": office.node.url, "operator": office.operator, "manager": office.manager,
        "water": office.water, "followup": followup, "corrected": corrected, "withdrawn": withdrawn})

    # The pages shown are the API's pages.
    for page, ids in ((1, result["page1"]), (2, result["page2"])):
        assert office.listed(page=page, page_size=20) == ids
    assert len(office.listed(status="handling", page_size=200)) == result["inbox_total"] == 25
    done = office.node.http("GET", "/api/v1/followups?state=done", office.operator).json()["followups"]
    assert [(f["ticket"], f["channel"], f["outcome"]) for f in done] == \
        [(followup, "phone", "已电话回访，诉求人同意再等三个工作日。")]
    # The correction was answered by a version the manager published; the
    # withdrawn entry is no longer served.
    closed = office.node.http("GET", "/api/v1/kb/corrections?state=closed", office.manager).json()
    assert [(c["entry"], c["fixed_version"]) for c in closed["corrections"]] == [(corrected, 2)]
    entry = office.node.http("GET", f"/api/v1/kb/{corrected}", office.operator).json()
    assert entry["version"] == 2 and "96116" in entry["text"]
    gone = office.node.http("GET", f"/api/v1/kb/{withdrawn}", office.operator)
    assert gone.status_code == 404, gone.text
    search = office.node.http("GET", "/api/v1/kb?q=水费标准", office.operator).json()
    assert withdrawn not in [e["id"] for e in search["entries"]]
    for page in ("tickets", "followups", "kb-corrections"):
        assert (SHOTS / f"{page}.png").stat().st_size > 10_000, page


def principal(node, token, name, role):
    response = node.http("POST", "/api/v1/principals", token, json={"name": name, "role": role})
    assert response.status_code == 201, response.text
    return response.json()


def transfer(office, content):
    ticket = office.post("/api/v1/tickets", office.operator, {**INTAKE, "kind": "complaint", "content": content})
    assert ticket.status_code == 201, ticket.text
    moved = office.post(f"/api/v1/tickets/{ticket.json()['id']}/transfer", office.operator,
                        {"to": SHENZHEN[0], "reason": "事发地在深圳"})
    assert moved.status_code == 200, moved.text
    return ticket.json()["id"]


def routed(province, token, ticket):
    return next((x for x in province.http("GET", "/api/v1/transfers", token).json()["transfers"]
                 if x["ticket"] == ticket), {})


def test_the_province_maps_its_cities_decides_transfers_and_balances_load(federation):
    browser_needed()
    fed = federation(GUANGZHOU, SHENZHEN, start=False)
    for node in (fed.province, *fed.cities.values()):
        node.settings["clock_interval_ms"] = 200
        node.settings["overflow_retry_seconds"] = 1
        node.write_config()
    fed.start()
    fed.wait_connected(GUANGZHOU[0])
    fed.wait_connected(SHENZHEN[0])
    guangzhou = Hotline(fed.cities[GUANGZHOU[0]])
    shenzhen = fed.cities[SHENZHEN[0]]
    province = fed.province
    manager = principal(province, province.admin_token, "省值班长", "manager")["token"]
    accepted = transfer(guangzhou, "深圳南山区工地夜间施工扰民。")
    declined = transfer(guangzhou, "深圳福田区路灯不亮。")
    wait_until(lambda: routed(province, manager, declined).get("status") == "accepted",
               "the transfers accepted by 深圳")
    # 深圳's operators: two online, to take overflow; one declines the second transfer.
    operators = [principal(shenzhen, shenzhen.admin_token, f"深圳坐席{i}", "operator") for i in range(2)]
    for op in operators:
        answer = shenzhen.http("PUT", f"/api/v1/agents/{op['id']}/presence", op["token"],
                               json={"state": "online"})
        assert answer.status_code == 200, answer.text
    answer = shenzhen.http("POST", f"/api/v1/tickets/{declined}/decline", operators[0]["token"],
                           json={"reason": "事发地实为广州市天河区"})
    assert answer.status_code == 200, answer.text
    wait_until(lambda: routed(province, manager, declined).get("status") == "declined",
               "the decline to reach the province")
    online = guangzhou.post("/api/v1/tickets", guangzhou.service,
                            {**INTAKE, "channel": "web", "kind": "help", "content": "小区门口路灯坏了一周。"})
    assert online.status_code == 201, online.text

    drive("province_flow.js", {"url": province.url, "manager": manager, "admin": province.admin_token,
                               "shenzhen": shenzhen.url, "operator": operators[1]["token"],
                               "accepted": accepted, "declined": declined, "online": online.json()["id"]})

    decided = routed(province, manager, declined)
    assert (decided["status"], decided["owner"]) == ("decided", SHENZHEN[0])
    load = {n["code"]: n for n in province.http("GET", "/api/v1/federation/load", manager).json()["nodes"]}
    assert (load["440100"]["queue_threshold"], load["440100"]["takes_overflow"]) == (0, False)
    assert (load["440300"]["queue_threshold"], load["440300"]["takes_overflow"]) == (10, True)
    wait_until(lambda: guangzhou.show(online.json()["id"])["status"] == "accepted",
               "广州 to apply 深圳's triage")
    for page in ("province", "transfers", "balancing", "assists"):
        assert (SHOTS / f"{page}.png").stat().st_size > 10_000, page
