# SPDX-License-Identifier: Apache-2.0
"""Helpers for the work-order lifecycle tests: a node's hotline office
(handling units and one principal per role), valid appeal bodies, the ticket
actions, and a fake wall clock the node runs on.

    def test_dispatch(hotline, clock):
        ticket = hotline.create(kind="complaint")
        handling = hotline.do(hotline.operator, ticket["id"], "dispatch", {"unit": "water"})
        assert handling["deadline"] == "2024-11-25T23:59:59+08:00"

Import the fixtures into a test module with
    from lifecycle import clock, hotline  # noqa: F401 (fixtures)
"""

import copy
import os
import pathlib

import pytest

from hotline import GUANGZHOU, free_port

FAKETIME_LIBRARY = pathlib.Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1")
CLOCK_INTERVAL_MS = 300  # the clock thread marks due_soon/overdue this often
START = "2024-11-04 10:00:00"  # a Monday, two weeks clear of any holiday
NOBODY_KEY = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"  # a province that never answers

# The citizen of every appeal unless a test says otherwise; tests that look
# for PII in logs and tables search for these values.
CITIZEN_NAME = "陈小明"
CITIZEN_PHONE = "13800138000"
CITIZEN_ID_NUMBER = "44010119900101123X"
CITIZEN_CONTACT = "广州市天河区体育西路1号 陈先生"

UNITS = {
    "water": ("广州市水务局", ["public_service", "ecological_environment"]),
    "market": ("广州市市场监督管理局", ["market_supervision", "economic_regulation"]),
}

# A valid body for each action; act() sends it unless the test gives one.
BODIES = {
    "answer": {"answer": "办理居住证请携带身份证到所在街道出租屋管理服务中心。"},
    "reject": {"reason": "outside_jurisdiction", "explanation": "事发地在湖南省，请向当地反映。"},
    "dispatch": {"unit": "water"},
    "return": {"reason": "路面积水属市政道路排水，不属本单位职责。",
               "basis": "《广州市排水管理办法》第五条"},
    "return/review": {"decision": "approve", "unit": "market", "note": "改派市场监管局"},
    "extension": {"reason": "需要多个部门现场联合勘查。"},
    "extension/review": {"decision": "approve", "note": "同意延期"},
    "completion": {"handled_at": "2024-09-20T15:00:00+08:00",
                   "process": "11月8日派员到现场核查，约谈商户。",
                   "result": "商户已整改，噪声已消除。",
                   "basis": "《中华人民共和国噪声污染防治法》第六十五条"},
    "completion/review": {"decision": "approve", "note": "答复完整"},
    "notes": {"text": "已电话联系诉求人，约定明日上门。"},
    "supervise": {"note": "多次退回，列入督办。"},
}


class FakeClock:
    """The wall clock of a daemon started with env(): libfaketime reads the
    timestamp file on every call, so set() moves the daemon's time at once
    (to a few microseconds before the time given: keep clear of boundaries);
    from there it runs on at real speed. Times are Beijing time (the daemon
    runs with TZ=Asia/Shanghai)."""

    def __init__(self, path, start=START):
        self.path = pathlib.Path(path)
        self.set(start)

    def env(self):
        return {
            "LD_PRELOAD": str(FAKETIME_LIBRARY),
            "FAKETIME_TIMESTAMP_FILE": str(self.path),
            "FAKETIME_NO_CACHE": "1",
            "FAKETIME_DONT_FAKE_MONOTONIC": "1",
            "TZ": "Asia/Shanghai",
        }

    def set(self, when):
        """Jump to when, e.g. "2024-09-27 10:00:00"."""
        new = self.path.with_name(self.path.name + ".new")
        new.write_text(f"@{when}\n")
        os.replace(new, self.path)  # the daemon never reads half a file
        self.now = when


class Hotline:
    """The hotline office of one running node: the units "water" and
    "market", and a token per principal, as attributes:
    admin, operator, manager, water (unit), market (unit), auditor, service."""

    def __init__(self, node):
        self.node = node
        self.admin = node.admin_token
        for code, (name, categories) in UNITS.items():
            self.create_unit(code, name, categories)
        self.names = {}
        self.operator = self.create_principal("坐席王芳", "operator")
        self.manager = self.create_principal("值班长李强", "manager")
        self.water = self.create_principal("水务局办理员", "unit", "water")
        self.market = self.create_principal("市场监管局办理员", "unit", "market")
        self.auditor = self.create_principal("审计员赵敏", "auditor")
        self.service = self.create_principal("网站受理接口", "service")

    # Units and principals.

    def create_unit(self, code, name, categories):
        response = self.post("/api/v1/units", self.admin,
                             {"code": code, "name": name, "categories": categories})
        assert response.status_code == 201, response.text
        return response.json()

    def create_principal(self, name, role, unit=None):
        """A new principal; returns its token. names[token] is its name."""
        body = {"name": name, "role": role}
        if unit is not None:
            body["unit"] = unit
        response = self.post("/api/v1/principals", self.admin, body)
        assert response.status_code == 201, response.text
        token = response.json()["token"]
        self.names[token] = name
        return token

    # Tickets.

    def ticket(self, **overrides):
        """A valid intake body: a noise complaint by phone. Keyword arguments
        replace top-level fields; a dict for citizen or location is merged
        into the default one."""
        body = {
            "kind": "complaint",
            "channel": "phone",
            "category": "ecological_environment",
            "content": "小区旁工地每晚十一点后仍在施工，噪声很大，影响休息。",
            "citizen": {"type": "person", "name": CITIZEN_NAME, "phone": CITIZEN_PHONE,
                        "id_number": CITIZEN_ID_NUMBER, "contact": CITIZEN_CONTACT},
            "location": {"division": "440106", "address": "广州市天河区体育西路1号",
                         "lat": 23.1317, "long": 113.3216},
        }
        for key, value in overrides.items():
            if key in ("citizen", "location") and isinstance(value, dict):
                body[key] = {**body[key], **value}
            else:
                body[key] = value
        return body

    def create(self, token=None, **overrides):
        """Register ticket(**overrides) as the operator (or token); returns
        the ticket."""
        response = self.post("/api/v1/tickets", token or self.operator, self.ticket(**overrides))
        assert response.status_code == 201, response.text
        return response.json()

    def in_handling(self, unit="water", **overrides):
        """A ticket registered and dispatched to unit by the operator."""
        ticket = self.create(**overrides)
        return self.do(self.operator, ticket["id"], "dispatch", {"unit": unit})

    def act(self, token, ticket_id, action, body=None):
        """POST /api/v1/tickets/{id}/<action> with body (default: the valid
        one in BODIES); returns the response."""
        if body is None:
            body = copy.deepcopy(BODIES[action])
        return self.post(f"/api/v1/tickets/{ticket_id}/{action}", token, body)

    def do(self, token, ticket_id, action, body=None):
        """act() that must succeed; returns the ticket."""
        response = self.act(token, ticket_id, action, body)
        assert response.status_code == 200, f"{action}: {response.text}"
        return response.json()

    def get(self, ticket_id, token=None):
        return self.node.http("GET", f"/api/v1/tickets/{ticket_id}", token or self.manager)

    def show(self, ticket_id, token=None):
        """The ticket as token (default: the manager) sees it."""
        response = self.get(ticket_id, token)
        assert response.status_code == 200, response.text
        return response.json()

    def events(self, ticket_id, token=None):
        response = self.node.http("GET", f"/api/v1/tickets/{ticket_id}/events",
                                  token or self.manager)
        assert response.status_code == 200, response.text
        return response.json()["events"]

    def list(self, token=None, **params):
        """GET /api/v1/tickets?params as token (default: the manager); returns
        the response."""
        return self.node.http("GET", "/api/v1/tickets", token or self.manager, params=params)

    def listed(self, token=None, **params):
        """The ids list() returns, in order."""
        response = self.list(token, **params)
        assert response.status_code == 200, response.text
        return [ticket["id"] for ticket in response.json()["tickets"]]

    def total(self, token=None):
        """How many tickets the node holds, as token (default: the manager) sees it."""
        response = self.list(token)
        assert response.status_code == 200, response.text
        return response.json()["total"]

    def wait_for_flag(self, ticket_id, flag, value=True):
        """Poll until the clock thread has set the ticket's flag (due_soon,
        overdue) to value; returns the ticket."""
        return self.node.wait_for(
            lambda: (ticket := self.show(ticket_id))[flag] == value and ticket,
            f"ticket {ticket_id} to show {flag} {value}")

    # HTTP.

    def post(self, path, token, body):
        return self.node.http("POST", path, token, json=body)

    def post_raw(self, path, token, data):
        """POST data (bytes) as it is, labelled application/json."""
        return self.node.http("POST", path, token, data=data,
                              headers={"Content-Type": "application/json"})


def assert_error(response, status, code, field=None):
    """response is the JSON error status/code; for invalid_field it names field."""
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code, response.text
    assert isinstance(error["message"], str) and error["message"].strip()
    if field is not None:
        assert error.get("field") == field, response.text


def assert_unchanged(hotline, before, events_before):
    """The ticket and its events are as they were."""
    assert hotline.show(before["id"]) == before
    assert hotline.events(before["id"]) == events_before


def standalone_city(workspace, **settings):
    """A city node, initialised, whose province never answers: a city keeps
    its hotline running, fully, while the province is unreachable."""
    settings.setdefault("clock_interval_ms", CLOCK_INTERVAL_MS)
    node = workspace.new_node("city", *GUANGZHOU,
                              province_endpoint=f"tcp://127.0.0.1:{free_port()}",
                              province_public_key=NOBODY_KEY, **settings)
    node.init()
    return node


@pytest.fixture
def clock(workspace):
    """The fake wall clock of the hotline fixture's node; it starts at START."""
    return FakeClock(workspace.folder / "faketime")


@pytest.fixture
def hotline(workspace, clock):
    """A running city node (440100, 广州) on the fake clock, with its units
    and staff."""
    node = standalone_city(workspace)
    node.start(env=clock.env())
    return Hotline(node)


def day_of(timestamp):
    """The local date of an RFC 3339 timestamp in +08:00: "2024-11-04"."""
    assert timestamp.endswith("+08:00"), timestamp
    return timestamp[:10]
