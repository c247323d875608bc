# SPDX-License-Identifier: Apache-2.0
"""Province-wide broadcasts (DESIGN.md, "Federation protocol"): the
knowledge-base entries the province publishes, the working-day calendar and
caller restrictions (REGULATION.md Art 9: a restriction "applies at every
node of the province") are numbered by the province and sent to every city,
which applies each change once, in order, and shows the version it holds.
A city that was away gets what it missed when it returns; a city registered
later gets the current state.  Stale broadcast data only warns: the city
keeps taking calls.
"""

from contextlib import closing

import psycopg2
import pytest

from hotline import GUANGZHOU, MEIZHOU, SHENZHEN
from lifecycle import CITIZEN_PHONE, Hotline, assert_error

LIFT = {
    "type": "answer_script",
    "title": "电梯停运报修口径",
    "text": "小区电梯故障停运时，请拨打96333电梯应急处置热线；有人被困请拨打110。",
    "valid_from": "2024-01-01",
    "unit": "water",
    "publish": True,
}
RESIDENCE = {
    "type": "answer_script",
    "title": "居住证办理口径",
    "text": "携带身份证、租赁合同到街道出租屋管理服务中心申请居住证，十五个工作日内领取。",
    "valid_from": "2024-01-01",
    "unit": "market",
    "publish": True,
}
YEAR_2027 = {"year": 2027, "days": [
    {"date": "2027-01-01", "kind": "off", "name": "元旦"},
    {"date": "2027-01-02", "kind": "off", "name": "元旦"},
    {"date": "2027-01-03", "kind": "off", "name": "元旦"},
    {"date": "2027-01-09", "kind": "work", "name": "元旦"},
]}
REASON = "多次来电辱骂坐席，经警告后仍继续。"


def rows(node, sql):
    with closing(psycopg2.connect(node.settings["database"])) as db, db.cursor() as cur:
        cur.execute(sql)
        return cur.fetchall()


def broadcasts(node, token=None):
    response = node.http("GET", "/api/v1/federation/broadcasts", token or node.admin_token)
    assert response.status_code == 200, response.text
    return response.json()


def wait_holds(city, version):
    """Poll until the city holds broadcast version 'version'; its view."""
    return city.wait_for(lambda: (b := broadcasts(city))["version"] == version and b,
                         f"broadcast version {version}")


def acked(fed, code):
    """The broadcast version the province knows city 'code' holds."""
    return {n["code"]: n for n in broadcasts(fed.province)["nodes"]}[code]["acked_version"]


def wait_acked(fed, code, version):
    fed.province.wait_for(lambda: acked(fed, code) == version,
                          f"city {code} to acknowledge broadcast version {version}")


def publish(office, body):
    response = office.post("/api/v1/kb", office.manager, body)
    assert response.status_code == 201, response.text
    return response.json()


def search(office, q):
    response = office.node.http("GET", "/api/v1/kb", office.operator, params={"q": q})
    assert response.status_code == 200, response.text
    return response.json()["entries"]


def intake_by_phone(office, phone=CITIZEN_PHONE):
    return office.post("/api/v1/tickets", office.operator,
                       office.ticket(citizen={"phone": phone}))


def restrict(office, phone=CITIZEN_PHONE):
    response = office.post("/api/v1/restrictions", office.operator,
                           {"phone": phone, "reason": REASON})
    assert response.status_code == 201, response.text
    return response.json()


def running(federation, *cities):
    fed = federation(*cities)
    for code, _ in cities:
        fed.wait_connected(code)
    return fed


@pytest.fixture
def two_cities(federation):
    return running(federation, GUANGZHOU, SHENZHEN)


# --- the knowledge base ----------------------------------------------------------

def test_an_entry_the_province_publishes_appears_at_every_city(two_cities):
    fed = two_cities
    province = Hotline(fed.province)
    entry = publish(province, LIFT)
    version = broadcasts(fed.province)["version"]
    assert version >= 1

    for city in fed.cities.values():
        office = Hotline(city)
        wait_holds(city, version)
        [found] = search(office, "电梯坏了怎么报修")
        assert found["id"] == "440000-KB-0001"
        assert found["origin"] == "440000"
        assert (found["title"], found["version"], found["state"]) == \
            ("电梯停运报修口径", 1, "published")
        shown = city.http("GET", "/api/v1/kb/440000-KB-0001", office.operator).json()
        assert (shown["unit"], shown["unit_name"]) == ("water", entry["unit_name"])
        # Kept by the province: read-only here, even for the office.
        assert_error(office.post("/api/v1/kb/440000-KB-0001/versions", office.manager,
                                 {"title": "改"}), 403, "read_only")
        assert_error(office.post("/api/v1/kb/440000-KB-0001/withdraw", office.manager,
                                 {"reason": "停用"}), 403, "read_only")
        # An operator answers a consultation from it.
        ticket = office.create(kind="consultation")
        answered = office.do(office.operator, ticket["id"], "answer",
                             {"answer": "请拨打96333。", "kb_ref": "440000-KB-0001"})
        assert answered["status"] == "answered"
    # The province knows its own entry by the same name.
    assert fed.province.http("GET", "/api/v1/kb/440000-KB-0001",
                             province.operator).json()["title"] == "电梯停运报修口径"


def test_a_city_entry_stays_at_its_city(two_cities):
    fed = two_cities
    guangzhou, shenzhen = (Hotline(fed.cities[code]) for code in ("440100", "440300"))
    publish(guangzhou, LIFT)
    before = broadcasts(fed.province)["version"]

    assert [e["id"] for e in search(guangzhou, "电梯停运")] == ["KB-0001"]
    assert search(shenzhen, "电梯停运") == []
    assert broadcasts(fed.province)["version"] == before


# --- a city that was away --------------------------------------------------------

def test_a_city_that_was_stopped_gets_every_change_in_order(two_cities):
    fed = two_cities
    province = Hotline(fed.province)
    guangzhou, shenzhen = fed.cities["440100"], fed.cities["440300"]
    lift = publish(province, LIFT)["id"]
    first = broadcasts(fed.province)["version"]
    wait_holds(shenzhen, first)
    wait_acked(fed, "440300", first)
    shenzhen.stop()
    fed.wait_disconnected("440300")

    # Several changes while Shenzhen is away: an edit, a new entry, a
    # withdrawal, a new year of the calendar, a restriction.
    response = province.post(f"/api/v1/kb/{lift}/versions", province.manager,
                             {"text": "电梯停运请拨打96333。", "publish": True})
    assert response.status_code == 201, response.text
    publish(province, RESIDENCE)
    response = province.post(f"/api/v1/kb/{lift}/withdraw", province.manager,
                             {"reason": "改由各区发布。"})
    assert response.status_code == 200, response.text
    response = province.post("/api/v1/calendar/days", province.admin, YEAR_2027)
    assert response.status_code == 200, response.text
    restriction = restrict(province)
    status = broadcasts(fed.province)
    version = status["version"]
    assert {kind: value["version"] for kind, value in status["kinds"].items()} == \
        {"kb": version - 2, "calendar": version - 1, "restriction": version}

    # Guangzhou stayed and has it all; the province shows Shenzhen behind.
    wait_holds(guangzhou, version)
    wait_acked(fed, "440100", version)
    nodes = {n["code"]: n for n in broadcasts(fed.province)["nodes"]}
    assert (nodes["440300"]["acked_version"], nodes["440300"]["pending"]) == (first, 5)

    shenzhen.start()
    held = wait_holds(shenzhen, version)

    assert held["province"] == "440000"
    assert {kind: value["version"] for kind, value in held["kinds"].items()} == \
        {kind: value["version"] for kind, value in status["kinds"].items()}
    assert held["stale"] is False and held["warning"] is None
    office = Hotline(shenzhen)
    assert [e["id"] for e in search(office, "居住证")] == ["440000-KB-0002"]
    assert search(office, "电梯停运") == []
    assert_error(shenzhen.http("GET", f"/api/v1/kb/440000-{lift}", office.operator), 404,
                 "not_found")
    days = shenzhen.http("GET", "/api/v1/calendar/deadline", office.operator,
                         params={"from": "2026-12-30T10:00:00+08:00", "working_days": 7}).json()
    assert days == {"deadline": "2027-01-09T23:59:59+08:00", "provisional": False}
    assert_error(intake_by_phone(office), 403, "caller_restricted")
    [listed] = shenzhen.http("GET", "/api/v1/restrictions", office.manager).json()["restrictions"]
    assert (listed["id"], listed["origin_node"]) == (restriction["id"], "440000")
    # Applied in the province's order: each key at the version the log has last.
    assert dict(rows(shenzhen, "SELECT kind || ' ' || key, version FROM broadcast_items")) == \
        dict(rows(fed.province, "SELECT DISTINCT ON (kind, key) kind || ' ' || key, version"
                                " FROM broadcast_log ORDER BY kind, key, version DESC"))
    wait_acked(fed, "440300", version)


def test_a_city_registered_later_gets_the_current_state(federation):
    fed = running(federation, GUANGZHOU)
    province = Hotline(fed.province)
    lift = publish(province, LIFT)["id"]
    publish(province, RESIDENCE)
    province.post(f"/api/v1/kb/{lift}/withdraw", province.manager, {"reason": "停用"})
    assert province.post("/api/v1/calendar/days", province.admin, YEAR_2027).status_code == 200
    version = broadcasts(fed.province)["version"]

    meizhou = fed.add_city(*MEIZHOU)
    fed.register(meizhou)
    meizhou.start()

    held = wait_holds(meizhou, version)
    assert held["kinds"]["kb"]["items"] == 1
    office = Hotline(meizhou)
    assert [e["id"] for e in search(office, "居住证")] == ["440000-KB-0002"]
    assert search(office, "电梯停运") == []
    assert meizhou.http("GET", "/api/v1/calendar/days", office.operator,
                        params={"from": "2027-01-09", "to": "2027-01-09"}
                        ).json()["days"][0]["kind"] == "work"


# --- restrictions apply at every node (Art 9) ------------------------------------

def test_a_restriction_imposed_at_one_city_blocks_the_caller_at_another(two_cities):
    fed = two_cities
    guangzhou, shenzhen = (Hotline(fed.cities[code]) for code in ("440100", "440300"))
    province = Hotline(fed.province)

    restriction = restrict(guangzhou)

    shenzhen.node.wait_for(lambda: intake_by_phone(shenzhen).status_code == 403,
                           "the restriction to reach Shenzhen")
    assert_error(intake_by_phone(shenzhen), 403, "caller_restricted")
    assert_error(intake_by_phone(province), 403, "caller_restricted")
    [listed] = shenzhen.node.http("GET", "/api/v1/restrictions",
                                  shenzhen.manager).json()["restrictions"]
    assert (listed["id"], listed["origin_node"]) == (restriction["id"], "440100")
    assert intake_by_phone(shenzhen, phone="13900139000").status_code == 201
    version = broadcasts(fed.province)["version"]
    wait_holds(guangzhou.node, version)
    assert broadcasts(guangzhou.node)["kinds"]["restriction"]["items"] == 1

    # A manager in Shenzhen lifts it: the caller may call Guangzhou again.
    response = shenzhen.node.http("DELETE", f"/api/v1/restrictions/{restriction['id']}",
                                  shenzhen.manager)
    assert response.status_code == 200, response.text
    guangzhou.node.wait_for(lambda: intake_by_phone(guangzhou).status_code == 201,
                            "the lifting to reach Guangzhou")
    lifted = guangzhou.node.http("GET", "/api/v1/restrictions", guangzhou.manager).json()
    assert lifted["restrictions"] == []
    assert intake_by_phone(province).status_code == 201


# --- bad input, roles, staleness -------------------------------------------------

@pytest.mark.parametrize("path, body, field", [
    ("/api/v1/calendar/days", {"year": 2027, "days": [{"date": "2027-01-04", "kind": "work"}]},
     "days[0].kind"),
    ("/api/v1/calendar/days", {"year": 2027, "days": []}, "days"),
    ("/api/v1/kb/KB-0001/withdraw", {}, "reason"),
    ("/api/v1/kb/KB-0001/versions", {"valid_from": "2024-02-30", "publish": True}, "valid_from"),
    ("/api/v1/restrictions", {"phone": "12345", "reason": REASON}, "phone"),
])
def test_bad_input_is_refused_and_nothing_is_broadcast(two_cities, path, body, field):
    fed = two_cities
    province = Hotline(fed.province)
    publish(province, LIFT)
    before = broadcasts(fed.province)
    guangzhou = fed.cities["440100"]
    wait_holds(guangzhou, before["version"])
    token = province.admin if path.startswith("/api/v1/calendar") else province.manager

    assert_error(province.post(path, token, body), 400, "invalid_field", field)

    assert broadcasts(fed.province)["version"] == before["version"]
    assert rows(fed.province, "SELECT count(*) FROM broadcast_log") == [(before["version"],)]
    assert broadcasts(guangzhou)["version"] == before["version"]


@pytest.mark.parametrize("role, status", [
    ("admin", 200), ("manager", 200), ("auditor", 200), ("operator", 200),
    ("water", 403), ("service", 403)])
def test_who_sees_the_broadcasts(two_cities, role, status):
    fed = two_cities
    for node in (fed.province, fed.cities["440100"]):
        office = Hotline(node)
        response = node.http("GET", "/api/v1/federation/broadcasts", getattr(office, role))
        assert response.status_code == status, response.text
        if status == 403:
            assert_error(response, 403, "forbidden")
        assert_error(node.http("GET", "/api/v1/federation/broadcasts"), 401, "unauthorized")


def test_a_city_away_from_the_province_too_long_warns_but_keeps_taking_calls(federation):
    fed = federation(GUANGZHOU, start=False)
    city = fed.cities["440100"]
    city.settings["broadcast_stale_seconds"] = 1
    city.write_config()
    fed.start()
    fed.wait_connected("440100")
    assert broadcasts(city)["stale"] is False

    fed.province.stop()

    held = city.wait_for(lambda: (b := broadcasts(city))["stale"] and b,
                         "the broadcasts to show stale")
    assert held["connected"] is False
    assert "province" in held["warning"]
    office = Hotline(city)
    assert intake_by_phone(office).status_code == 201
