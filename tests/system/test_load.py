"""Load travels to the province and answers where an overflowing call goes.

DESIGN.md, "Load balancing"; REGULATION.md Art 3.  Operators report their
presence; every node counts its operators online and busy and its intake
queue (appeals from the website, app and mini-program waiting for triage),
the cities send the figures with every heartbeat, and the province shows
every centre's load and tells the telephony system which centre should take
a call a centre cannot.
"""

from hotline import GUANGZHOU, MEIZHOU, SHENZHEN
from lifecycle import Hotline, assert_error


def operator(office, name):
    """A new operator of office's node: (id, token)."""
    response = office.post("/api/v1/principals", office.admin, {"name": name, "role": "operator"})
    assert response.status_code == 201, response.text
    return response.json()["id"], response.json()["token"]


def presence(office, token, agent, state):
    return office.node.http("PUT", f"/api/v1/agents/{agent}/presence", token=token,
                            json={"state": state})


def federation_load(fed):
    response = fed.province.http("GET", "/api/v1/federation/load",
                                 token=fed.province.admin_token)
    assert response.status_code == 200, response.text
    return {entry["code"]: entry for entry in response.json()["nodes"]}


def balancing(fed, code, threshold, takes_overflow, region):
    response = fed.province.http("PUT", f"/api/v1/federation/nodes/{code}/balancing",
                                 token=fed.province.admin_token,
                                 json={"queue_threshold": threshold,
                                       "takes_overflow": takes_overflow, "region": region})
    assert response.status_code == 200, response.text


def route(fed, token, code):
    response = fed.province.http("GET", f"/api/v1/route?for={code}", token=token)
    assert response.status_code == 200, response.text
    return response.json()


def test_presence_and_load_of_a_node(federation):
    city = federation(GUANGZHOU).cities["440100"]
    office = Hotline(city)
    first, first_token = operator(office, "坐席一")
    second, _ = operator(office, "坐席二")

    assert presence(office, first_token, first, "online").status_code == 200
    assert presence(office, office.service, second, "busy").status_code == 200
    # an operator reports only for itself; a unit may not report at all
    assert_error(presence(office, first_token, second, "away"), 403, "forbidden")
    assert_error(presence(office, office.water, first, "away"), 403, "forbidden")
    # only an operator of this node has a presence
    assert_error(presence(office, office.manager, 999999, "online"), 404, "not_found")
    assert_error(presence(office, office.manager, first, "asleep"), 400, "invalid_field", "state")

    agents = city.http("GET", "/api/v1/agents", token=office.manager).json()["agents"]
    assert {(a["id"], a["state"]) for a in agents} == {(first, "online"), (second, "busy")}

    office.create(channel="web")
    office.create(channel="miniprogram")
    office.create(channel="phone")  # a call is not in the intake queue
    load = city.http("GET", "/api/v1/load", token=office.operator).json()
    assert load["agents_online"] == 2
    assert load["agents_busy"] == 1
    assert load["queue_depth"] == 2
    assert load["oldest_wait_seconds"] >= 0

    # triage takes an appeal off the queue
    web = office.create(channel="app")
    office.do(office.operator, web["id"], "dispatch", {"unit": "water"})
    assert city.http("GET", "/api/v1/load", token=office.admin).json()["queue_depth"] == 2
    assert city.http("GET", "/api/v1/load", token=office.water).status_code == 403


def test_load_travels_to_the_province_and_routes_calls(federation):
    fed = federation(GUANGZHOU, SHENZHEN)
    fed.wait_connected("440100")
    fed.wait_connected("440300")
    guangzhou = Hotline(fed.cities["440100"])
    shenzhen = Hotline(fed.cities["440300"])
    province = Hotline(fed.province)

    # Guangzhou: one operator online and busy, three web appeals waiting.
    agent, token = operator(guangzhou, "广州坐席")
    assert presence(guangzhou, token, agent, "busy").status_code == 200
    for _ in range(3):
        guangzhou.create(channel="web")
    # Shenzhen: three operators, two free.
    for name, state in (("深圳坐席甲", "online"), ("深圳坐席乙", "online"), ("深圳坐席丙", "busy")):
        agent, _ = operator(shenzhen, name)
        assert presence(shenzhen, shenzhen.service, agent, state).status_code == 200

    fed.province.wait_for(
        lambda: federation_load(fed)["440100"]["queue_depth"] == 3
        and federation_load(fed)["440300"]["agents_online"] == 3,
        "the cities' load to reach the province")
    nodes = federation_load(fed)
    assert set(nodes) == {"440000", "440100", "440300"}
    assert nodes["440000"]["connected"] is True  # the province's own, computed locally
    gz, sz = nodes["440100"], nodes["440300"]
    assert (gz["agents_online"], gz["agents_busy"], gz["spare_capacity"]) == (1, 1, 0)
    assert (sz["agents_online"], sz["agents_busy"], sz["spare_capacity"]) == (3, 1, 2)
    assert gz["over_threshold"] is False  # the default threshold is 20

    # Within its threshold, Guangzhou takes its own calls.
    answer = route(fed, province.service, "440100")
    assert answer["code"] == "440100"
    assert answer["reason"] == "its queue is within its threshold"

    # Past it, but nobody takes overflow yet.
    balancing(fed, "440100", 2, False, "cantonese")
    answer = route(fed, province.manager, "440100")
    assert answer["code"] == "440100"
    assert answer["reason"] == "no centre can help"

    # Shenzhen takes overflow: the call goes there.
    balancing(fed, "440300", 10, True, "cantonese")
    answer = route(fed, province.service, "440100")
    assert answer["code"] == "440300"
    assert "dialect region" in answer["reason"]
    assert federation_load(fed)["440100"]["over_threshold"] is True

    # Shenzhen over its own threshold helps nobody.
    balancing(fed, "440300", 0, True, "cantonese")
    shenzhen.create(channel="app")
    fed.province.wait_for(lambda: federation_load(fed)["440300"]["over_threshold"],
                          "Shenzhen's queue to reach the province")
    assert route(fed, province.service, "440100")["reason"] == "no centre can help"


def test_balancing_settings_are_checked(federation):
    fed = federation(GUANGZHOU, start=False)
    fed.province.start()
    province = Hotline(fed.province)
    admin = fed.province.admin_token

    def put(code, body, token=admin):
        return fed.province.http("PUT", f"/api/v1/federation/nodes/{code}/balancing",
                                 token=token, json=body)

    good = {"queue_threshold": 5, "takes_overflow": True, "region": "hakka"}
    assert put("440100", good).status_code == 200
    assert put("440000", good).status_code == 200  # the province is a centre too
    assert_error(put(MEIZHOU[0], good), 404, "not_found")  # not registered
    assert_error(put("440100", {**good, "queue_threshold": -1}), 400, "invalid_field",
                 "queue_threshold")
    assert_error(put("440100", {**good, "region": "mandarin"}), 400, "invalid_field", "region")
    assert put("440100", good, token=province.manager).status_code == 403

    response = fed.province.http("GET", "/api/v1/route?for=abc", token=province.service)
    assert_error(response, 400, "invalid_field", "for")
    response = fed.province.http("GET", f"/api/v1/route?for={MEIZHOU[0]}", token=province.service)
    assert_error(response, 404, "not_found")
    # a disconnected city still gets an answer from the figures it last sent
    assert route(fed, province.service, "440100")["code"] == "440100"
