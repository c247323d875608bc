# SPDX-License-Identifier: Apache-2.0
"""The province admits the cities registered with node-add, refuses everyone
else, and the federation heals by itself when the province restarts."""

import datetime
import re

import pytest

from hotline import GUANGZHOU, MEIZHOU, SHENZHEN

LOG_LINE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d"
                      r" (error|warn|info|debug) +\S.*")
NODES_API = "/api/v1/federation/nodes"
LINK_API = "/api/v1/federation/link"


def city_link(city):
    """The city's own view of its link to the province."""
    response = city.http("GET", LINK_API, token=city.admin_token)
    assert response.status_code == 200, response.text
    return response.json()


def wait_link_up(city):
    """Poll the city until it sees its link to the province up; return the link."""
    def link_if_up():
        link = city_link(city)
        return link if link["connected"] is True else None
    return city.wait_for(link_if_up, "its link to the province to be up")


def test_province_admits_registered_cities(federation):
    fed = federation(GUANGZHOU, SHENZHEN)

    for code, name in (GUANGZHOU, SHENZHEN):
        entry = fed.wait_connected(code)
        assert entry["name"] == name
        assert entry["role"] == "city"
        assert re.fullmatch(r"[0-9a-f]{16}", entry["key_fingerprint"])
        last_heartbeat = datetime.datetime.fromisoformat(entry["last_heartbeat"])
        assert last_heartbeat.tzinfo is not None
        fed.province.wait_log(f"node '{code}' connected")

        link = wait_link_up(fed.cities[code])
        assert link["province"] == "440000"
        assert link["last_heartbeat"] is not None


@pytest.mark.parametrize("token", [None, "0" * 64, "not-a-token"],
                         ids=["no-token", "wrong-token", "garbage-token"])
def test_nodes_api_requires_the_admin_token(federation, token):
    fed = federation()
    response = fed.province.http("GET", NODES_API, token=token)
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == "unauthorized"
    assert error["message"]


def test_a_city_token_is_not_a_province_token(federation):
    fed = federation(GUANGZHOU)
    response = fed.province.http("GET", NODES_API,
                                 token=fed.cities["440100"].admin_token)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


def test_unknown_key_is_refused(federation):
    fed = federation(GUANGZHOU, SHENZHEN, MEIZHOU, register=False, start=False)
    fed.register(fed.cities["440100"])
    fed.register(fed.cities["440300"])
    fed.start()

    refusal = fed.province.wait_log("refused unknown key")
    assert "127.0.0.1" in refusal, "the refusal names the peer address"
    assert re.search(r"[0-9a-fA-F]{16}", refusal), "the refusal names the key fingerprint"

    fed.wait_connected("440100")
    fed.wait_connected("440300")
    assert fed.connected_entry("441400") is None
    meizhou = fed.cities["441400"]
    assert city_link(meizhou)["connected"] is False
    assert meizhou.healthz()["federation"] == "disconnected"


def test_hello_with_a_wrong_code_is_refused(federation):
    # The key of the city configured as 440300 is registered as 440100's key.
    fed = federation(SHENZHEN, register=False, start=False)
    shenzhen = fed.cities["440300"]
    fed.register(shenzhen, *GUANGZHOU)
    fed.start()

    refusal = fed.province.wait_log("refused hello")
    assert "440100" in refusal and "440300" in refusal
    shenzhen.wait_log("province refused")

    nodes = fed.nodes()
    assert nodes["440100"]["connected"] is False
    assert "440300" not in nodes or nodes["440300"]["connected"] is False
    assert fed.province.log_lines("node '440100' connected") == []
    assert fed.province.log_lines("node '440300' connected") == []
    assert city_link(shenzhen)["connected"] is False


def test_province_notices_a_city_going_away(federation):
    fed = federation(GUANGZHOU, SHENZHEN)
    fed.wait_connected("440100")
    fed.wait_connected("440300")

    fed.cities["440100"].stop()

    fed.province.wait_log("node '440100' disconnected")
    fed.wait_disconnected("440100")
    assert fed.connected_entry("440300") is not None


def test_cities_reconnect_after_the_province_crashes(federation):
    fed = federation(GUANGZHOU, SHENZHEN, MEIZHOU)
    for code in fed.cities:
        fed.wait_connected(code)

    fed.province.kill()
    fed.province.start()

    for code in fed.cities:
        fed.wait_connected(code)
    assert fed.province.healthz()["nodes_connected"] == 3


def test_city_keeps_serving_while_the_province_is_down(federation):
    fed = federation(GUANGZHOU)
    guangzhou = fed.cities["440100"]
    fed.wait_connected("440100")

    fed.province.kill()

    def city_sees_province_down():
        response = guangzhou.http("GET", "/healthz")
        assert response.status_code == 200
        health = response.json()
        assert health["status"] == "ok"
        assert health["database"] == "up"
        return health["federation"] == "disconnected"

    guangzhou.wait_for(city_sees_province_down, "the city to see the province down")
    assert city_link(guangzhou)["connected"] is False


def test_log_lines_have_the_documented_format(federation):
    fed = federation(GUANGZHOU)
    fed.wait_connected("440100")
    fed.province.wait_log("node '440100' connected")

    for node in (fed.province, fed.cities["440100"]):
        lines = node.log().splitlines()
        assert lines, f"{node} logged nothing"
        for line in lines:
            assert LOG_LINE.fullmatch(line), f"{node}: {line!r}"


def test_a_new_key_ends_the_old_key_session(federation):
    fed = federation(GUANGZHOU)
    fed.wait_connected("440100")
    city = fed.cities["440100"]
    newcomer = fed.workspace.new_node(
        "city", "440100", "广州", province_endpoint=fed.province.settings["federation_bind"],
        province_public_key=fed.province.public_key())
    newcomer.init()

    # The city gets a new key pair (a new host): the administrator re-keys it.
    fed.register(newcomer)

    fed.province.wait_log("removed or re-keyed")
    fed.wait_disconnected("440100")
    city.wait_log("province refused")
