# SPDX-License-Identifier: Apache-2.0
"""Units and principals: the admin creates handling units and the people and
systems that call the API, each with a role; a token is shown once and works
until it is revoked."""

import re

import pytest

from lifecycle import assert_error, clock, hotline  # noqa: F401 (fixtures)


def test_admin_creates_a_unit(hotline):
    unit = hotline.create_unit("housing", "广州市住房和城乡建设局", ["social_management"])

    assert unit == {"code": "housing", "name": "广州市住房和城乡建设局", "node": "440100",
                    "categories": ["social_management"]}


def test_every_role_reads_the_units(hotline):
    for token in (hotline.operator, hotline.water, hotline.auditor, hotline.service):
        response = hotline.node.http("GET", "/api/v1/units", token)
        assert response.status_code == 200, response.text
        assert sorted(unit["code"] for unit in response.json()["units"]) == ["market", "water"]


def test_unit_code_is_unique(hotline):
    response = hotline.post("/api/v1/units", hotline.admin,
                            {"code": "water", "name": "另一个水务局", "categories": ["public_service"]})

    assert_error(response, 409, "unit_exists")


@pytest.mark.parametrize("body, field", [
    ({"code": "bad code", "name": "x", "categories": ["public_service"]}, "code"),
    ({"code": "c" * 33, "name": "x", "categories": ["public_service"]}, "code"),
    ({"code": "ok", "name": "", "categories": ["public_service"]}, "name"),
    ({"code": "ok", "name": "x", "categories": []}, "categories"),
    ({"code": "ok", "name": "x"}, "categories"),
])
def test_bad_unit_is_refused_naming_the_field(hotline, body, field):
    response = hotline.post("/api/v1/units", hotline.admin, body)

    assert_error(response, 400, "invalid_field", field)


def test_unknown_category_is_refused(hotline):
    response = hotline.post("/api/v1/units", hotline.admin,
                            {"code": "ok", "name": "x", "categories": ["weather"]})

    assert response.status_code == 400
    assert response.json()["error"]["field"].startswith("categories")


def test_only_the_admin_creates_units(hotline):
    response = hotline.post("/api/v1/units", hotline.manager,
                            {"code": "ok", "name": "x", "categories": ["public_service"]})

    assert_error(response, 403, "forbidden")


def test_principal_token_is_shown_once(hotline):
    response = hotline.post("/api/v1/principals", hotline.admin,
                            {"name": "坐席张伟", "role": "operator"})

    assert response.status_code == 201, response.text
    created = response.json()
    assert re.fullmatch(r"[0-9a-f]{64}", created["token"])
    assert {"name": "坐席张伟", "role": "operator", "unit": None}.items() <= created.items()
    listing = hotline.node.http("GET", "/api/v1/principals", hotline.admin)
    assert created["token"] not in listing.text
    assert "坐席张伟" in [p["name"] for p in listing.json()["principals"]]


def test_unit_principal_belongs_to_a_unit(hotline):
    response = hotline.post("/api/v1/principals", hotline.admin,
                            {"name": "水务局李工", "role": "unit", "unit": "water"})

    assert response.status_code == 201, response.text
    assert response.json()["unit"] == "water"


@pytest.mark.parametrize("body", [
    {"name": "x", "role": "unit"},
    {"name": "x", "role": "unit", "unit": "nosuchunit"},
    {"name": "x", "role": "operator", "unit": "water"},
])
def test_unit_is_given_iff_the_role_is_unit(hotline, body):
    response = hotline.post("/api/v1/principals", hotline.admin, body)

    assert_error(response, 400, "invalid_field", "unit")


def test_unknown_role_is_refused(hotline):
    response = hotline.post("/api/v1/principals", hotline.admin, {"name": "x", "role": "boss"})

    assert_error(response, 400, "invalid_field", "role")


def test_only_the_admin_creates_principals(hotline):
    response = hotline.post("/api/v1/principals", hotline.operator,
                            {"name": "x", "role": "admin"})

    assert_error(response, 403, "forbidden")


def test_revoked_token_stops_working(hotline):
    principals = hotline.node.http("GET", "/api/v1/principals", hotline.admin).json()
    (operator,) = [p for p in principals["principals"] if p["name"] == "坐席王芳"]

    response = hotline.node.http("DELETE", f"/api/v1/principals/{operator['id']}", hotline.admin)

    assert response.status_code == 200, response.text
    assert response.json() == {"id": operator["id"], "revoked": True}
    assert_error(hotline.post("/api/v1/tickets", hotline.operator, hotline.ticket()),
                 401, "unauthorized")


def test_a_token_with_a_lifetime_stops_working_when_it_ends(hotline, clock):
    response = hotline.post("/api/v1/principals", hotline.admin,
                            {"name": "实习坐席", "role": "operator", "expires_in_days": 3})
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["expires_at"].startswith("2024-11-07T")
    listed = hotline.node.http("GET", "/api/v1/principals", hotline.admin).json()["principals"]
    assert [p["expires_at"] for p in listed if p["name"] == "实习坐席"] == [created["expires_at"]]
    assert all(p["expires_at"] is None for p in listed if p["name"] != "实习坐席")

    clock.set("2024-11-07 08:00:00")
    hotline.create(token=created["token"])
    clock.set("2024-11-07 10:05:00")
    assert_error(hotline.post("/api/v1/tickets", created["token"], hotline.ticket()),
                 401, "unauthorized")
    # The others' tokens last until revoked.
    hotline.create()


@pytest.mark.parametrize("days", [0, -1, 3651, 1.5, "3"])
def test_a_lifetime_out_of_range_is_refused(hotline, days):
    response = hotline.post("/api/v1/principals", hotline.admin,
                            {"name": "实习坐席", "role": "operator", "expires_in_days": days})
    assert_error(response, 400, "invalid_field", "expires_in_days")


def test_each_principal_reads_who_it_is_and_which_node_it_speaks_to(hotline):
    me = hotline.node.http("GET", "/api/v1/me", token=hotline.water).json()
    assert me["name"] == "水务局办理员"
    assert me["role"] == "unit" and me["unit"] == "water"
    assert me["node"] == {"code": "440100", "name": "广州", "kind": "city"}
    operator = hotline.node.http("GET", "/api/v1/me", token=hotline.operator).json()
    assert operator["role"] == "operator" and operator["unit"] is None
    assert operator["id"] != me["id"]
    assert_error(hotline.node.http("GET", "/api/v1/me"), 401, "unauthorized")
    assert_error(hotline.node.http("GET", "/api/v1/me", token="nope"), 401, "unauthorized")
