# SPDX-License-Identifier: Apache-2.0
"""Caller restrictions (REGULATION.md Art 9): an operator or a manager keeps a
harassing caller off the phone hotline for 30 natural days, with a reason;
the number is stored only as a keyed hash and a mask; appeals by phone from
it are refused and the refusal recorded, other channels are not; a manager
may lift a restriction early, and it ends by itself."""

import datetime
import re
from contextlib import closing

import psycopg2
import pytest

from lifecycle import (CITIZEN_PHONE, assert_error, clock,  # noqa: F401 (fixtures)
                       day_of, hotline)

REASON = "多次来电辱骂坐席，经警告后仍继续。"
LANDLINE = "020-87654321"


def restrict(hotline, phone=CITIZEN_PHONE, reason=REASON, token=None):
    return hotline.post("/api/v1/restrictions", token or hotline.operator,
                        {"phone": phone, "reason": reason})


def restricted(hotline, phone=CITIZEN_PHONE, token=None):
    """restrict() that must succeed; returns the restriction."""
    response = restrict(hotline, phone, token=token)
    assert response.status_code == 201, response.text
    return response.json()


def active(hotline, token=None):
    response = hotline.node.http("GET", "/api/v1/restrictions", token or hotline.manager)
    assert response.status_code == 200, response.text
    return response.json()["restrictions"]


def lift(hotline, restriction_id, token=None):
    return hotline.node.http("DELETE", f"/api/v1/restrictions/{restriction_id}",
                             token or hotline.manager)


def intake(hotline, token=None, **overrides):
    """POST /api/v1/tickets with hotline.ticket(**overrides); the response."""
    return hotline.post("/api/v1/tickets", token or hotline.operator, hotline.ticket(**overrides))


def parse(timestamp):
    return datetime.datetime.fromisoformat(timestamp)


def rows(node, sql):
    with closing(psycopg2.connect(node.settings["database"])) as db, db.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall()


# --- imposing -------------------------------------------------------------------

@pytest.mark.parametrize("who", ["operator", "manager"])
def test_operator_or_manager_restricts_a_caller_for_30_days(hotline, who):
    restriction = restricted(hotline, token=getattr(hotline, who))

    assert re.fullmatch(r"440100-R-\d{6}", restriction["id"])
    name = {"operator": "坐席王芳", "manager": "值班长李强"}[who]
    assert restriction["by"]["name"] == name
    assert isinstance(restriction["by"]["id"], int)
    assert {"origin_node": "440100", "phone_masked": "138****8000", "reason": REASON,
            "active": True, "lifted_at": None, "lifted_by": None,
            "refusals": 0}.items() <= restriction.items()
    assert day_of(restriction["from"]) == "2024-11-04"
    assert parse(restriction["until"]) - parse(restriction["from"]) == datetime.timedelta(days=30)


def test_ids_are_the_node_and_a_sequence(hotline):
    first = restricted(hotline)["id"]
    second = restricted(hotline, phone="13900139000")["id"]

    assert (first, second) == ("440100-R-000001", "440100-R-000002")


def test_answer_shows_the_number_masked_only(hotline):
    response = restrict(hotline, phone=LANDLINE)

    assert response.status_code == 201, response.text
    assert response.json()["phone_masked"] == "020****4321"
    assert "87654321" not in response.text


def test_a_restricted_number_is_not_restricted_twice(hotline):
    first = restricted(hotline)

    response = restrict(hotline, token=hotline.manager)

    assert_error(response, 409, "already_restricted")
    assert first["id"] in response.json()["error"]["message"]
    assert [r["id"] for r in active(hotline)] == [first["id"]]


def test_the_number_is_stored_only_as_a_hash_and_a_mask(hotline):
    restricted(hotline)

    (row,) = rows(hotline.node, "SELECT phone_hash, phone_masked FROM restrictions")
    table = rows(hotline.node, "SELECT r::text FROM restrictions r")

    assert re.fullmatch(r"[0-9a-f]{64}", row[0])
    assert row[1] == "138****8000"
    assert not [text for (text,) in table if CITIZEN_PHONE in text]


# --- intake ----------------------------------------------------------------------

def test_appeal_by_phone_from_a_restricted_number_is_refused(hotline):
    restriction = restricted(hotline)
    before = hotline.total()

    response = intake(hotline)

    assert_error(response, 403, "caller_restricted")
    error = response.json()["error"]
    assert error["restriction"] == restriction["id"]
    assert error["until"] == restriction["until"]
    assert "phone" in error["message"]
    assert CITIZEN_PHONE not in response.text
    assert hotline.total() == before


@pytest.mark.parametrize("channel", ["web", "app", "miniprogram"])
def test_other_channels_are_not_refused(hotline, channel):
    restricted(hotline)

    response = intake(hotline, channel=channel)

    assert response.status_code == 201, response.text


def test_the_website_service_still_registers(hotline):
    restricted(hotline)

    response = intake(hotline, token=hotline.service, channel="web")

    assert response.status_code == 201, response.text


def test_other_numbers_are_not_refused(hotline):
    restricted(hotline)

    response = intake(hotline, citizen={"phone": "13900139000"})

    assert response.status_code == 201, response.text


def test_a_landline_is_one_number_with_or_without_its_dash(hotline):
    restricted(hotline, phone=LANDLINE)

    for phone in ("02087654321", LANDLINE):
        assert_error(intake(hotline, citizen={"phone": phone}), 403, "caller_restricted")


def test_a_refusal_is_recorded_without_the_number(hotline):
    restriction = restricted(hotline)

    intake(hotline)
    intake(hotline, token=hotline.service)

    (listed,) = active(hotline)
    assert listed["refusals"] == 2
    hits = rows(hotline.node, "SELECT restriction_id, node, actor, role, at::text"
                              " FROM restriction_hits ORDER BY id")
    assert [hit[:4] for hit in hits] == [
        (restriction["id"], "440100", "坐席王芳", "operator"),
        (restriction["id"], "440100", "网站受理接口", "service")]
    table = rows(hotline.node, "SELECT h::text FROM restriction_hits h")
    assert not [text for (text,) in table if CITIZEN_PHONE in text]


def test_no_number_in_the_log(hotline):
    restricted(hotline)
    restricted(hotline, phone=LANDLINE)
    intake(hotline)
    intake(hotline, citizen={"phone": LANDLINE})

    for value in (CITIZEN_PHONE, "87654321"):
        assert not hotline.node.log_lines(value)
    assert hotline.node.log_lines("refused an appeal by phone under restriction '440100-R-")


# --- expiry and lifting ----------------------------------------------------------

def test_a_restriction_ends_by_itself_after_30_natural_days(hotline, clock):
    restricted(hotline)

    clock.set("2024-12-04 09:59:00")
    assert_error(intake(hotline), 403, "caller_restricted")
    assert len(active(hotline)) == 1

    clock.set("2024-12-04 10:00:05")
    assert intake(hotline).status_code == 201
    assert active(hotline) == []


def test_a_new_restriction_may_follow_an_expired_one(hotline, clock):
    first = restricted(hotline)
    clock.set("2024-12-05 10:00:00")

    second = restricted(hotline)

    assert second["id"] != first["id"]
    assert day_of(second["from"]) == "2024-12-05"


def test_manager_lifts_a_restriction_early(hotline, clock):
    restriction = restricted(hotline)
    clock.set("2024-11-10 09:00:00")

    response = lift(hotline, restriction["id"])

    assert response.status_code == 200, response.text
    lifted = response.json()
    assert lifted["id"] == restriction["id"]
    assert lifted["active"] is False
    assert day_of(lifted["lifted_at"]) == "2024-11-10"
    assert lifted["lifted_by"]["name"] == "值班长李强"
    assert active(hotline) == []
    assert intake(hotline).status_code == 201


def test_a_lifted_restriction_cannot_be_lifted_again(hotline):
    restriction = restricted(hotline)
    assert lift(hotline, restriction["id"]).status_code == 200

    assert_error(lift(hotline, restriction["id"]), 409, "restriction_inactive")


def test_an_expired_restriction_cannot_be_lifted(hotline, clock):
    restriction = restricted(hotline)
    clock.set("2024-12-05 10:00:00")

    assert_error(lift(hotline, restriction["id"]), 409, "restriction_inactive")


@pytest.mark.parametrize("restriction_id", ["440100-R-999999", "nothing", "x" * 200])
def test_lifting_an_unknown_restriction_is_404(hotline, restriction_id):
    assert_error(lift(hotline, restriction_id), 404, "not_found")


# --- the list --------------------------------------------------------------------

@pytest.mark.parametrize("who", ["operator", "manager", "auditor"])
def test_active_restrictions_are_listed_newest_first(hotline, clock, who):
    first = restricted(hotline)
    clock.set("2024-11-05 10:00:00")
    second = restricted(hotline, phone=LANDLINE)
    lifted = restricted(hotline, phone="13900139000")
    lift(hotline, lifted["id"])

    listed = active(hotline, getattr(hotline, who))

    assert [r["id"] for r in listed] == [second["id"], first["id"]]
    assert [r["phone_masked"] for r in listed] == ["020****4321", "138****8000"]


# --- roles -----------------------------------------------------------------------

@pytest.mark.parametrize("who", ["auditor", "water", "service", "admin"])
def test_only_operators_and_managers_restrict(hotline, who):
    assert_error(restrict(hotline, token=getattr(hotline, who)), 403, "forbidden")


@pytest.mark.parametrize("who", ["water", "service", "admin"])
def test_units_services_and_admins_do_not_list(hotline, who):
    response = hotline.node.http("GET", "/api/v1/restrictions", getattr(hotline, who))

    assert_error(response, 403, "forbidden")


@pytest.mark.parametrize("who", ["operator", "auditor", "water", "service", "admin"])
def test_only_a_manager_lifts(hotline, who):
    restriction = restricted(hotline)

    assert_error(lift(hotline, restriction["id"], getattr(hotline, who)), 403, "forbidden")
    assert len(active(hotline)) == 1


@pytest.mark.parametrize("method,path", [("POST", "/api/v1/restrictions"),
                                         ("GET", "/api/v1/restrictions"),
                                         ("DELETE", "/api/v1/restrictions/440100-R-000001")])
def test_restrictions_need_a_token(hotline, method, path):
    response = hotline.node.http(method, path, json={"phone": CITIZEN_PHONE, "reason": REASON})

    assert_error(response, 401, "unauthorized")


# --- bad input -------------------------------------------------------------------

@pytest.mark.parametrize("body,field", [
    ({"reason": REASON}, "phone"),
    ({"phone": "12345", "reason": REASON}, "phone"),
    ({"phone": "+8613800138000", "reason": REASON}, "phone"),
    ({"phone": 13800138000, "reason": REASON}, "phone"),
    ({"phone": CITIZEN_PHONE}, "reason"),
    ({"phone": CITIZEN_PHONE, "reason": ""}, "reason"),
    ({"phone": CITIZEN_PHONE, "reason": "   "}, "reason"),
    ({"phone": CITIZEN_PHONE, "reason": "骂" * 501}, "reason"),
    ({"phone": CITIZEN_PHONE, "reason": REASON, "days": 60}, "days"),
])
def test_bad_input_is_refused_naming_the_field(hotline, body, field):
    response = hotline.post("/api/v1/restrictions", hotline.operator, body)

    assert_error(response, 400, "invalid_field", field)
    assert active(hotline) == []


def test_a_reason_of_500_characters_is_accepted(hotline):
    response = restrict(hotline, reason="骂" * 500)

    assert response.status_code == 201, response.text
