# SPDX-License-Identifier: Apache-2.0
"""Intake (REGULATION.md "Intake", Art 7-9): operators and the web service
register appeals of five kinds from four channels; every bad field is a 400
naming it, and a refused request creates nothing."""

import json

import pytest

from hotline import PROVINCE, free_port
from lifecycle import (CITIZEN_NAME, CITIZEN_PHONE, Hotline, assert_error,
                       clock, day_of, hotline)  # noqa: F401 (fixtures)

KINDS = ["consultation", "help", "complaint", "report", "suggestion"]
CHANNELS = ["phone", "web", "app", "miniprogram"]
CATEGORIES = ["economic_regulation", "market_supervision", "social_management",
              "public_service", "ecological_environment"]


# --- what a registered ticket looks like ----------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_operator_registers_each_kind(hotline, kind):
    ticket = hotline.create(kind=kind)

    assert ticket["kind"] == kind
    assert ticket["status"] == "registered"


@pytest.mark.parametrize("channel", CHANNELS)
def test_each_channel_is_recorded(hotline, channel):
    ticket = hotline.create(channel=channel)

    assert ticket["channel"] == channel
    assert hotline.show(ticket["id"])["channel"] == channel


@pytest.mark.parametrize("category", CATEGORIES)
def test_each_category_is_accepted(hotline, category):
    assert hotline.create(category=category)["category"] == category


@pytest.mark.parametrize("citizen_type", ["person", "legal_person", "organization"])
def test_each_kind_of_citizen_is_accepted(hotline, citizen_type):
    ticket = hotline.create(citizen={"type": citizen_type})

    assert ticket["citizen"]["type"] == citizen_type


def test_registered_ticket_holds_the_appeal(hotline):
    body = hotline.ticket()

    ticket = hotline.create()

    for field in ("kind", "channel", "category", "content", "location"):
        assert ticket[field] == body[field]
    assert ticket["citizen"] == body["citizen"]  # the operator sees it in clear
    # The intake's answer also lists likely repeats, found at intake only.
    assert ticket.pop("repeat_candidates") == []
    assert hotline.show(ticket["id"], hotline.operator) == ticket


def test_registered_ticket_is_not_yet_with_a_unit(hotline):
    ticket = hotline.create()

    expected = {"status": "registered", "unit": None, "unit_name": None,
                "received_at": None, "deadline": None, "provisional": False,
                "returns": 0, "extensions": 0, "no_return": False,
                "due_soon": False, "overdue": False, "supervised": False}
    assert expected.items() <= ticket.items()
    assert day_of(ticket["created_at"]) == "2024-11-04"


def test_optional_fields_may_be_left_out(hotline):
    citizen = {"type": "person", "name": CITIZEN_NAME, "phone": CITIZEN_PHONE}
    location = {"division": "440106", "address": "广州市天河区体育西路1号"}

    body = hotline.ticket()
    body["citizen"] = citizen
    body["location"] = location

    response = hotline.post("/api/v1/tickets", hotline.operator, body)

    assert response.status_code == 201, response.text
    ticket = response.json()
    assert ticket["citizen"] == {**citizen, "id_number": None, "contact": None}
    assert ticket["location"] == {**location, "lat": None, "long": None}


@pytest.mark.parametrize("phone", ["13800138000", "19912345678", "020-83838383",
                                   "02083838383", "0751-8123456"])
def test_mobile_and_landline_numbers_are_accepted(hotline, phone):
    ticket = hotline.create(citizen={"phone": phone})

    assert ticket["citizen"]["phone"] == phone


def test_longest_fields_are_accepted(hotline):
    """Lengths count characters, not bytes: 4000 Chinese characters are
    12000 bytes of UTF-8."""
    ticket = hotline.create(content="噪" * 4000,
                            citizen={"name": "欧" * 100, "id_number": "A" * 32,
                                     "contact": "联" * 200},
                            location={"address": "路" * 500, "lat": -90, "long": 180})

    assert len(ticket["content"]) == 4000
    assert ticket["citizen"]["name"] == "欧" * 100
    assert ticket["location"]["lat"] == -90 and ticket["location"]["long"] == 180


def test_service_registers_appeals_from_the_website(hotline):
    ticket = hotline.create(token=hotline.service, channel="web")

    assert ticket["status"] == "registered"
    assert hotline.show(ticket["id"])["channel"] == "web"


def test_operator_may_answer_reject_or_dispatch_a_consultation(hotline):
    ticket = hotline.create(kind="consultation")

    assert set(ticket["allowed_actions"]) == \
        {"answer", "reject", "dispatch", "accept", "notes", "link", "transfer"}


def test_operator_may_reject_or_dispatch_a_complaint(hotline):
    ticket = hotline.create(kind="complaint")

    assert set(ticket["allowed_actions"]) == \
        {"reject", "dispatch", "accept", "notes", "link", "transfer"}


def test_allowed_actions_depend_on_the_caller(hotline):
    ticket_id = hotline.create(kind="consultation")["id"]

    assert set(hotline.show(ticket_id, hotline.manager)["allowed_actions"]) == \
        {"dispatch", "notes", "supervise", "link", "transfer"}
    assert hotline.show(ticket_id, hotline.auditor)["allowed_actions"] == []


# --- ticket ids --------------------------------------------------------------

def test_ticket_id_is_node_receipt_day_and_sequence(hotline):
    first = hotline.create()
    second = hotline.create()

    assert first["id"] == "440100-20241104-000001"
    assert second["id"] == "440100-20241104-000002"


def test_sequence_starts_again_each_day(hotline, clock):
    hotline.create()
    clock.set("2024-11-05 09:00:00")

    assert hotline.create()["id"] == "440100-20241105-000001"


def test_receipt_day_is_beijing_time(hotline, clock):
    clock.set("2024-11-05 07:30:00")  # still 2024-11-04 in UTC

    ticket = hotline.create()

    assert ticket["id"] == "440100-20241105-000001"
    assert day_of(ticket["created_at"]) == "2024-11-05"


def test_province_registers_appeals_about_province_units(workspace, clock):
    province = workspace.new_node("province", *PROVINCE,
                                  federation_bind=f"tcp://127.0.0.1:{free_port()}",
                                  clock_interval_ms=300)
    province.init()
    province.start(env=clock.env())

    ticket = Hotline(province).create()

    assert ticket["id"] == "440000-20241104-000001"
    assert ticket["status"] == "registered"


# --- bad input: 400 naming the field, nothing created ---------------------

def changed(path, value):
    """A body transformation: set the dotted path to value."""
    def change(body):
        *parents, last = path.split(".")
        for key in parents:
            body = body[key]
        body[last] = value
    return change


def removed(path):
    """A body transformation: remove the dotted path."""
    def remove(body):
        *parents, last = path.split(".")
        for key in parents:
            body = body[key]
        del body[last]
    return remove


BAD_FIELDS = [
    # unknown enum values
    ("kind", changed("kind", "question")),
    ("channel", changed("channel", "fax")),
    ("category", changed("category", "weather")),
    ("citizen.type", changed("citizen.type", "alien")),
    # wrong types
    ("kind", changed("kind", 1)),
    ("content", changed("content", 123)),
    ("citizen", changed("citizen", "陈小明 13800138000")),
    ("citizen.phone", changed("citizen.phone", 13800138000)),
    ("citizen.name", changed("citizen.name", ["陈", "小明"])),
    ("location", changed("location", [])),
    ("location.lat", changed("location.lat", "23.13")),
    ("location.long", changed("location.long", True)),
    ("location.division", changed("location.division", 440106)),
    # empty and oversized
    ("content", changed("content", "")),
    ("content", changed("content", "噪" * 4001)),
    ("citizen.name", changed("citizen.name", "")),
    ("citizen.name", changed("citizen.name", "欧" * 101)),
    ("citizen.id_number", changed("citizen.id_number", "4" * 33)),
    ("citizen.id_number", changed("citizen.id_number", "440101-1990")),
    ("citizen.contact", changed("citizen.contact", "联" * 201)),
    ("location.address", changed("location.address", "")),
    ("location.address", changed("location.address", "路" * 501)),
    # out of range
    ("location.division", changed("location.division", "44010")),
    ("location.division", changed("location.division", "4401066")),
    ("location.division", changed("location.division", "44O106")),
    ("location.lat", changed("location.lat", 90.5)),
    ("location.lat", changed("location.lat", -91)),
    ("location.long", changed("location.long", 180.5)),
    ("location.long", changed("location.long", -181)),
    # missing
    ("kind", removed("kind")),
    ("channel", removed("channel")),
    ("category", removed("category")),
    ("content", removed("content")),
    ("citizen", removed("citizen")),
    ("citizen.type", removed("citizen.type")),
    ("citizen.name", removed("citizen.name")),
    ("citizen.phone", removed("citizen.phone")),
    ("location", removed("location")),
    ("location.division", removed("location.division")),
    ("location.address", removed("location.address")),
    # unknown fields
    ("priority", changed("priority", "high")),
    ("citizen.age", changed("citizen.age", 42)),
    ("location.floor", changed("location.floor", 3)),
]


@pytest.mark.parametrize("field, change", BAD_FIELDS,
                         ids=[f"{field}-{i}" for i, (field, _) in enumerate(BAD_FIELDS)])
def test_bad_field_is_refused_naming_it(hotline, field, change):
    body = hotline.ticket()
    change(body)

    response = hotline.post("/api/v1/tickets", hotline.operator, body)

    assert_error(response, 400, "invalid_field", field)
    assert hotline.total() == 0


@pytest.mark.parametrize("phone", [
    "12800138000",      # mobile numbers start 13-19
    "1380013800",       # ten digits
    "138001380001",     # twelve digits
    "+8613800138000",   # no country code
    "138-0013-8000",
    "1380013800a",
    "020-123456",       # landline numbers have 7 or 8 digits
    "20-83838383",      # area codes start with 0
    "",
])
def test_bad_phone_number_is_refused(hotline, phone):
    response = hotline.post("/api/v1/tickets", hotline.operator,
                            hotline.ticket(citizen={"phone": phone}))

    assert_error(response, 400, "invalid_field", "citizen.phone")
    assert hotline.total() == 0


@pytest.mark.parametrize("field", ["content", "citizen.name", "location.address"])
def test_invalid_utf8_is_refused_naming_the_field(hotline, field):
    body = hotline.ticket()
    changed(field, "@@INVALID@@")(body)
    data = json.dumps(body, ensure_ascii=False).encode()
    data = data.replace(b"@@INVALID@@", b"abc\xff\xfe\xc3(")

    response = hotline.post_raw("/api/v1/tickets", hotline.operator, data)

    assert_error(response, 400, "invalid_field", field)
    assert hotline.total() == 0


@pytest.mark.parametrize("data", [b'{"kind": "complaint",', b"kind=complaint",
                                  b'{"kind": "complaint"} trailing'])
def test_malformed_json_is_refused(hotline, data):
    response = hotline.post_raw("/api/v1/tickets", hotline.operator, data)

    assert_error(response, 400, "malformed_json")
    assert hotline.total() == 0


def test_empty_body_is_refused(hotline):
    response = hotline.post_raw("/api/v1/tickets", hotline.operator, b"")

    assert_error(response, 400, "body_missing")
    assert hotline.total() == 0


def test_error_message_is_meant_for_a_person(hotline):
    response = hotline.post("/api/v1/tickets", hotline.operator,
                            hotline.ticket(citizen={"phone": "1380013800"}))

    message = response.json()["error"]["message"]
    assert "phone" in message
    assert message != "invalid_field"


# --- who may register -------------------------------------------------------

@pytest.mark.parametrize("role", ["auditor", "water", "admin", "manager"])
def test_other_roles_may_not_register(hotline, role):
    response = hotline.post("/api/v1/tickets", getattr(hotline, role), hotline.ticket())

    assert_error(response, 403, "forbidden")
    assert hotline.total() == 0


def test_registering_needs_a_token(hotline):
    response = hotline.node.http("POST", "/api/v1/tickets", json=hotline.ticket())

    assert_error(response, 401, "unauthorized")
    assert hotline.total() == 0


def test_unknown_token_is_refused(hotline):
    response = hotline.post("/api/v1/tickets", "0" * 64, hotline.ticket())

    assert_error(response, 401, "unauthorized")
    assert hotline.total() == 0


def test_service_may_not_read_tickets(hotline):
    ticket = hotline.create(token=hotline.service, channel="app")

    assert_error(hotline.get(ticket["id"], hotline.service), 403, "forbidden")


def test_admin_may_not_read_tickets(hotline):
    ticket = hotline.create()

    assert_error(hotline.get(ticket["id"], hotline.admin), 403, "forbidden")


def test_unknown_ticket_is_404(hotline):
    assert_error(hotline.get("440100-20241104-999999"), 404, "not_found")

