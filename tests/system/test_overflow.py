"""Overflow: a centre whose intake queue passes its threshold offers the excess.

DESIGN.md, "Load balancing"; REGULATION.md Art 3 and Art 7.  The owner's
clock offers the province what its queue of online appeals holds past the
threshold the province set; the province gives each item to the centre with
the most spare capacity among those taking overflow, of the owner's dialect
region first, and never to one it would put over its own threshold; an item
nobody can take stays home and is offered again later.  The helper's
operators triage it, and the owner applies their triage to its ticket as its
own operator's, unless its own operators triaged it first.
"""

import json
from contextlib import closing

import psycopg2

from hotline import GUANGZHOU, SHENZHEN
from lifecycle import (CITIZEN_ID_NUMBER, CITIZEN_NAME, CITIZEN_PHONE, Hotline, assert_error)

FOSHAN = ("440600", "佛山")
CLOCK_MS = 200  # the clock thread offers the queue's excess this often


def overflow_federation(federation, *cities, retry=None):
    """A running federation whose nodes offer their excess every CLOCK_MS;
    retry: seconds an item sent home waits before it is offered again."""
    fed = federation(*cities, start=False)
    for node in (fed.province, *fed.cities.values()):
        node.settings["clock_interval_ms"] = CLOCK_MS
        if retry is not None:
            node.settings["overflow_retry_seconds"] = retry
        node.write_config()
    fed.start()
    for code, _ in cities:
        fed.wait_connected(code)
    return fed


def rows(node, sql, *args):
    with closing(psycopg2.connect(node.settings["database"])) as db, db.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall()


def execute(node, sql, *args):
    with closing(psycopg2.connect(node.settings["database"])) as db:
        with db.cursor() as cur:
            cur.execute(sql, args)
        db.commit()


def online(office, count):
    """count new operators of office's node, online; returns the last's token."""
    for i in range(count):
        response = office.post("/api/v1/principals", office.admin,
                               {"name": f"{office.node.name}坐席{i}", "role": "operator"})
        assert response.status_code == 201, response.text
        agent, token = response.json()["id"], response.json()["token"]
        response = office.node.http("PUT", f"/api/v1/agents/{agent}/presence", token=token,
                                    json={"state": "online"})
        assert response.status_code == 200, response.text
    return token


def balancing(fed, code, threshold, takes_overflow, region="cantonese"):
    response = fed.province.http("PUT", f"/api/v1/federation/nodes/{code}/balancing",
                                 token=fed.province.admin_token,
                                 json={"queue_threshold": threshold,
                                       "takes_overflow": takes_overflow, "region": region})
    assert response.status_code == 200, response.text


def federation_load(fed):
    response = fed.province.http("GET", "/api/v1/federation/load",
                                 token=fed.province.admin_token)
    assert response.status_code == 200, response.text
    return {entry["code"]: entry for entry in response.json()["nodes"]}


def decisions(fed, code):
    """The province's decisions on the items centre code offered or was given."""
    response = fed.province.http("GET", f"/api/v1/federation/overflow?node={code}&page_size=200",
                                 token=fed.province.admin_token)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def assists(office, state="open", token=None):
    response = office.node.http("GET", f"/api/v1/assists?state={state}",
                                token=token or office.operator)
    assert response.status_code == 200, response.text
    return response.json()["assists"]


def wait_assists(office, count, state="open"):
    return office.node.wait_for(lambda: len(found := assists(office, state)) == count and found,
                                f"{count} {state} assists")


def triage(office, ticket_id, body, token=None):
    return office.post(f"/api/v1/assists/{ticket_id}/triage", token or office.operator, body)


def actions(office, ticket_id):
    return [event["action"] for event in office.events(ticket_id)]


def wait_status(office, ticket_id, status):
    return office.node.wait_for(
        lambda: (ticket := office.show(ticket_id))["status"] == status and ticket,
        f"ticket {ticket_id} to be {status}")


def quiet(fed):
    """Poll until every node has delivered everything it queued."""
    for node in (fed.province, *fed.cities.values()):
        node.wait_for(lambda node=node: rows(node, "SELECT count(*) FROM outbox")[0][0] == 0,
                      "its outbox to be delivered")


def helped(federation, tickets=2, **overrides):
    """Guangzhou, threshold 0, with tickets web appeals out on overflow at
    Shenzhen: (fed, guangzhou, shenzhen, ids)."""
    fed = overflow_federation(federation, GUANGZHOU, SHENZHEN)
    guangzhou, shenzhen = Hotline(fed.cities["440100"]), Hotline(fed.cities["440300"])
    online(shenzhen, 2)
    balancing(fed, "440300", 10, True)
    fed.province.wait_for(lambda: federation_load(fed)["440300"]["spare_capacity"] == 2,
                          "Shenzhen's operators to reach the province")
    ids = [guangzhou.create(channel="web", **overrides)["id"] for _ in range(tickets)]
    balancing(fed, "440100", 0, False)
    wait_assists(shenzhen, tickets)
    return fed, guangzhou, shenzhen, ids


def test_overflow_moves_queued_items_to_a_helper_and_never_to_an_overloaded_one(federation):
    fed = overflow_federation(federation, GUANGZHOU, SHENZHEN, FOSHAN)
    guangzhou, shenzhen, foshan = (Hotline(fed.cities[code])
                                   for code in ("440100", "440300", "440600"))

    # Foshan, threshold 1, three appeals waiting: two are offered, nobody
    # takes overflow yet, so they stay home and Foshan stays over its threshold.
    for _ in range(3):
        foshan.create(channel="web")
    balancing(fed, "440600", 1, True)
    fed.province.wait_for(lambda: len(decisions(fed, "440600")) == 2, "Foshan's two offers")
    assert {(d["centre"], d["state"]) for d in decisions(fed, "440600")} == {(None, "home")}
    # Foshan has the most free operators; Shenzhen, of the same region, one.
    online(foshan, 3)
    online(shenzhen, 1)
    balancing(fed, "440300", 10, True)
    fed.province.wait_for(
        lambda: (load := federation_load(fed))["440600"]["over_threshold"]
        and load["440600"]["spare_capacity"] == 3 and load["440300"]["spare_capacity"] == 1,
        "the helpers' load to reach the province")

    # Guangzhou, threshold 1: four web appeals and a call waiting.
    web = [guangzhou.create(channel="web", content=f"网上反映第{i}件：小区路灯不亮。")["id"]
           for i in range(4)]
    guangzhou.create(channel="phone")  # a call is not in the intake queue
    balancing(fed, "440100", 1, False)

    # The three newest go to Shenzhen, none to Foshan.
    given = wait_assists(shenzhen, 3)
    assert sorted(item["ticket"] for item in given) == sorted(web[1:])
    assert assists(foshan) == []
    mine = [d for d in decisions(fed, "440100") if d["owner"] == "440100"]
    assert {(d["centre"], d["state"]) for d in mine} == {("440300", "assigned")}
    assert all("dialect region" in d["reason"] for d in mine)

    # What the helper sees: the appeal, never the citizen.
    item = next(i for i in given if i["ticket"] == web[3])
    assert item["content"] == "网上反映第3件：小区路灯不亮。"
    assert (item["owner"], item["owner_name"], item["channel"]) == ("440100", "广州", "web")
    assert item["address"] and item["division"] == "440106"
    assert item["state"] == "open"
    text = json.dumps(given, ensure_ascii=False)
    for secret in (CITIZEN_NAME, CITIZEN_PHONE, CITIZEN_ID_NUMBER):
        assert secret not in text

    # The owner keeps its tickets; each records where it went.
    for ticket_id in web[1:]:
        guangzhou.node.wait_for(lambda: "overflow_assigned" in actions(guangzhou, ticket_id),
                                "the decision to reach the owner")
        assert guangzhou.show(ticket_id)["status"] == "registered"
        [assigned] = [e for e in guangzhou.events(ticket_id) if e["action"] == "overflow_assigned"]
        assert assigned["detail"]["centre"] == "440300"
    assert "overflow_assigned" not in actions(guangzhou, web[0])
    # Its queue is what stays home; the helper's counts what it was given.
    load = guangzhou.node.http("GET", "/api/v1/load", token=guangzhou.operator).json()
    assert load["queue_depth"] == 1
    fed.province.wait_for(lambda: federation_load(fed)["440300"]["queue_depth"] == 3,
                          "Shenzhen's queue to count its assists")


def test_nothing_goes_when_no_helper_can_take_and_it_is_offered_again(federation):
    fed = overflow_federation(federation, GUANGZHOU, SHENZHEN, retry=1)
    guangzhou, shenzhen = Hotline(fed.cities["440100"]), Hotline(fed.cities["440300"])
    ids = [guangzhou.create(channel="app")["id"] for _ in range(3)]
    online(shenzhen, 2)
    # Shenzhen takes overflow, but its threshold leaves it no room.
    balancing(fed, "440300", 0, True)
    fed.province.wait_for(lambda: federation_load(fed)["440300"]["spare_capacity"] == 2,
                          "Shenzhen's operators to reach the province")
    balancing(fed, "440100", 1, False)

    fed.province.wait_for(lambda: len(decisions(fed, "440100")) >= 4,
                          "Guangzhou's items to be offered twice")
    assert {(d["centre"], d["state"]) for d in decisions(fed, "440100")} == {(None, "home")}
    assert {d["reason"] for d in decisions(fed, "440100")} == {"no centre can take it"}
    assert assists(shenzhen) == []
    for ticket_id in ids:
        assert guangzhou.show(ticket_id)["status"] == "registered"
        assert "overflow_assigned" not in actions(guangzhou, ticket_id)

    # Shenzhen makes room: the next offer goes there.
    balancing(fed, "440300", 5, True)
    given = wait_assists(shenzhen, 2)
    assert sorted(item["ticket"] for item in given) == sorted(ids[1:])
    assert all(item["round"] >= 2 for item in given)


def test_the_helper_triages_and_the_owner_applies_it(federation):
    fed, guangzhou, shenzhen, (accepted, refused, waiting) = helped(
        federation, tickets=3, kind="complaint", category="market_supervision")

    item = triage(shenzhen, accepted, {"decision": "accept", "kind": "help",
                                       "category": "public_service"})
    assert item.status_code == 200, item.text
    item = item.json()
    assert (item["state"], item["content"], item["address"]) == ("triaged", None, None)
    assert item["triage"]["decision"] == "accept"
    assert item["triaged_by"] == "坐席王芳"
    response = triage(shenzhen, refused, {"decision": "reject", "reason": "outside_jurisdiction",
                                          "explanation": "事发地在湖南省，请向当地反映。"})
    assert response.status_code == 200, response.text

    # Guangzhou's ticket is accepted as Shenzhen's operator judged it ...
    ticket = wait_status(guangzhou, accepted, "accepted")
    assert (ticket["kind"], ticket["category"]) == ("help", "public_service")
    event = guangzhou.events(accepted)[-1]
    assert (event["action"], event["role"]) == ("accept", "operator")
    assert event["actor"] == "坐席王芳 (深圳)"
    assert event["detail"]["centre"] == "440300"
    # ... and Guangzhou's operator dispatches it to its own unit.
    handling = guangzhou.do(guangzhou.operator, accepted, "dispatch", {"unit": "water"})
    assert handling["status"] == "handling"

    # The other is not accepted, with the reason of Art 7 the citizen is told.
    ticket = wait_status(guangzhou, refused, "rejected")
    event = guangzhou.events(refused)[-1]
    assert (event["action"], event["reason"]) == ("reject", "outside_jurisdiction")
    assert event["detail"]["centre"] == "440300"
    assert ticket["outcome"]["reason"] == "outside_jurisdiction"

    # Shenzhen's list: one still to triage, two done.
    assert [item["ticket"] for item in assists(shenzhen)] == [waiting]
    assert {item["ticket"] for item in assists(shenzhen, "triaged")} == {accepted, refused}
    assert_error(triage(shenzhen, accepted, {"decision": "accept"}), 409, "already_triaged")
    states = {d["ticket"]: d["state"] for d in decisions(fed, "440100")}
    assert states == {accepted: "triaged", refused: "triaged", waiting: "assigned"}


def test_the_owners_own_triage_wins_and_a_later_one_is_recorded_and_ignored(federation):
    fed, guangzhou, shenzhen, (first, second) = helped(federation)

    # Guangzhou's own operator dispatches one while it is out: Shenzhen is
    # told, and its operators may no longer triage it.
    guangzhou.do(guangzhou.operator, first, "dispatch", {"unit": "water"})
    wait_assists(shenzhen, 1, "withdrawn")
    assert_error(triage(shenzhen, first, {"decision": "accept"}), 409, "withdrawn")
    [withdrawn] = assists(shenzhen, "withdrawn")
    assert withdrawn["content"] is None and withdrawn["address"] is None

    # Both at once: with the province away, Guangzhou dispatches the other
    # and Shenzhen refuses it.  Guangzhou's came first; Shenzhen's is kept
    # in the history and changes nothing.
    fed.province.stop()
    guangzhou.do(guangzhou.operator, second, "dispatch", {"unit": "water"})
    response = triage(shenzhen, second, {"decision": "reject", "reason": "other",
                                         "explanation": "不属受理范围。"})
    assert response.status_code == 200, response.text
    fed.province.start()
    fed.wait_connected("440100")
    fed.wait_connected("440300")
    guangzhou.node.wait_for(lambda: "overflow_ignored" in actions(guangzhou, second),
                            "the late triage to be recorded")
    quiet(fed)
    ignored = [e for e in guangzhou.events(second) if e["action"] == "overflow_ignored"]
    assert len(ignored) == 1
    assert ignored[0]["reason"] == "reject"
    assert ignored[0]["detail"]["centre"] == "440300"
    assert guangzhou.show(second)["status"] == "handling"
    assert "reject" not in actions(guangzhou, second)


def test_a_resent_message_or_a_restart_changes_nothing_twice(federation):
    fed, guangzhou, shenzhen, (ticket_id, other) = helped(federation)
    province = fed.province
    response = triage(shenzhen, ticket_id, {"decision": "accept", "kind": "help"})
    assert response.status_code == 200, response.text
    wait_status(guangzhou, ticket_id, "accepted")
    quiet(fed)
    history = guangzhou.events(ticket_id)
    given = assists(shenzhen, "triaged") + assists(shenzhen)
    decided = decisions(fed, "440100")

    # Every message of the round delivered again, as a sender restored from
    # a backup would send it: each is applied again and changes nothing.
    item = {"ticket": ticket_id, "round": 1, "kind": "complaint", "channel": "web",
            "category": "ecological_environment", "content": "重发", "division": "440106",
            "address": "重发", "created_at": "2024-11-04T10:00:00+08:00"}
    triaged = {"ticket": ticket_id, "round": 1, "decision": "accept", "kind": "help",
               "operator": "坐席王芳"}
    down = [("440100", {"overflow_decision": {"ticket": ticket_id, "round": 1,
                                              "centre": "440300", "centre_name": "深圳"}}),
            ("440100", {"overflow_result": {**triaged, "centre": "440300",
                                            "centre_name": "深圳"}}),
            ("440300", {"overflow_assist": {**item, "owner": "440100", "owner_name": "广州"}})]
    for peer, message in down:
        execute(province, "INSERT INTO outbox (stream, peer, body, created_at)"
                          " VALUES (2, %s, %s, now())", peer, json.dumps(message))
    execute(guangzhou.node, "INSERT INTO outbox (stream, body, created_at) VALUES (1, %s, now())",
            json.dumps({"overflow_offer": item}))
    execute(shenzhen.node, "INSERT INTO outbox (stream, body, created_at) VALUES (1, %s, now())",
            json.dumps({"overflow_triage": triaged}))
    # Nor may a city offer or triage what is not its own.
    execute(shenzhen.node, "INSERT INTO outbox (stream, body, created_at) VALUES (1, %s, now())",
            json.dumps({"overflow_offer": {**item, "ticket": other}}))
    execute(guangzhou.node, "INSERT INTO outbox (stream, body, created_at) VALUES (1, %s, now())",
            json.dumps({"overflow_triage": {**triaged, "ticket": other}}))
    for node in (province, guangzhou.node, shenzhen.node):
        execute(node, "NOTIFY outbox")
    quiet(fed)

    def unchanged():
        assert guangzhou.events(ticket_id) == history
        assert assists(shenzhen, "triaged") + assists(shenzhen) == given
        assert decisions(fed, "440100") == decided
        assert guangzhou.show(other)["status"] == "registered"

    unchanged()
    assert actions(guangzhou, ticket_id).count("overflow_assigned") == 1
    assert actions(guangzhou, ticket_id).count("accept") == 1

    # Every process stopped and started again.
    for node in (province, guangzhou.node, shenzhen.node):
        node.restart()
    fed.wait_connected("440100")
    fed.wait_connected("440300")
    quiet(fed)
    unchanged()


def test_bad_triage_is_refused_and_changes_nothing(federation):
    fed, guangzhou, shenzhen, (ticket_id,) = helped(federation, tickets=1)
    before = assists(shenzhen)

    for body, field in [
        ({"decision": "maybe"}, "decision"),
        ({}, "decision"),
        ({"decision": "accept", "kind": "gossip"}, "kind"),
        ({"decision": "accept", "category": "sports"}, "category"),
        ({"decision": "accept", "reason": "other"}, "reason"),
        ({"decision": "accept", "explanation": "理由"}, "explanation"),
        ({"decision": "accept", "unit": "water"}, "unit"),
        ({"decision": "reject"}, "reason"),
        ({"decision": "reject", "reason": "too_hard", "explanation": "x"}, "reason"),
        ({"decision": "reject", "reason": "repeat", "explanation": "同一事项。"}, "reason"),
        ({"decision": "reject", "reason": "other"}, "explanation"),
        ({"decision": "reject", "reason": "other", "explanation": "理" * 2001}, "explanation"),
        ({"decision": "reject", "reason": "other", "explanation": "x", "kind": "help"}, "kind"),
    ]:
        assert_error(triage(shenzhen, ticket_id, body), 400, "invalid_field", field)
    response = shenzhen.post_raw(f"/api/v1/assists/{ticket_id}/triage", shenzhen.operator,
                                 b'{"decision": ')
    assert response.status_code == 400
    for unknown in ("440100-20241104-999999", "not-a-ticket"):
        assert_error(triage(shenzhen, unknown, {"decision": "accept"}), 404, "not_found")
    assert_error(shenzhen.node.http("GET", "/api/v1/assists?state=lost",
                                    token=shenzhen.operator), 400, "invalid_field", "state")

    # Roles: operators triage; managers and operators read.
    accept = {"decision": "accept"}
    for token in (shenzhen.manager, shenzhen.water, shenzhen.auditor, shenzhen.service,
                  shenzhen.admin):
        assert_error(triage(shenzhen, ticket_id, accept, token), 403, "forbidden")
    assert shenzhen.post(f"/api/v1/assists/{ticket_id}/triage", None, accept).status_code == 401
    assert assists(shenzhen, token=shenzhen.manager) == before
    for token in (shenzhen.water, shenzhen.auditor, shenzhen.service, shenzhen.admin):
        response = shenzhen.node.http("GET", "/api/v1/assists", token=token)
        assert_error(response, 403, "forbidden")
    response = fed.province.http("GET", "/api/v1/federation/overflow?node=abc",
                                 token=fed.province.admin_token)
    assert_error(response, 400, "invalid_field", "node")

    # Nothing changed anywhere.
    quiet(fed)
    assert assists(shenzhen) == before
    assert guangzhou.show(ticket_id)["status"] == "registered"
    assert not {"accept", "reject", "overflow_ignored"} & set(actions(guangzhou, ticket_id))
    assert [d["state"] for d in decisions(fed, "440100")] == ["assigned"]


def test_the_province_overflows_to_a_city_like_any_centre(federation):
    fed = overflow_federation(federation, GUANGZHOU)
    province, guangzhou = Hotline(fed.province), Hotline(fed.cities["440100"])
    online(guangzhou, 1)
    balancing(fed, "440100", 5, True)
    fed.province.wait_for(lambda: federation_load(fed)["440100"]["spare_capacity"] == 1,
                          "Guangzhou's operator to reach the province")
    ticket_id = province.create(channel="miniprogram")["id"]
    balancing(fed, "440000", 0, False)

    [item] = wait_assists(guangzhou, 1)
    assert (item["ticket"], item["owner"], item["owner_name"]) == (ticket_id, "440000", "广东省")
    response = triage(guangzhou, ticket_id, {"decision": "accept"})
    assert response.status_code == 200, response.text
    wait_status(province, ticket_id, "accepted")
    assert province.events(ticket_id)[-1]["actor"] == "坐席王芳 (广州)"
