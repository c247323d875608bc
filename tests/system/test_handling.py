# SPDX-License-Identifier: Apache-2.0
"""Handling (REGULATION.md "Intake" and "Handling", Art 7-13): answer,
reject, dispatch, return, extension, completion and their reviews, notes and
supervision; deadlines in working days on a fake clock; who may do what; and
the ticket list.

The node's clock starts on Monday 2024-11-04 10:00 (Beijing time), two weeks
clear of any holiday; a test that needs National Day moves it."""

import pytest

from lifecycle import (BODIES, Hotline, assert_error, assert_unchanged, clock,  # noqa: F401
                       day_of, hotline, standalone_city)

REJECT_REASONS = ["outside_jurisdiction", "other_legal_channel", "petition_channel",
                  "secret_or_privacy", "abusive_or_empty", "other"]


def refused_and_unchanged(hotline, token, ticket_id, action, body, status, code, field=None):
    """Do action and check it is refused with status/code and changes nothing."""
    before = hotline.show(ticket_id)
    events = hotline.events(ticket_id)

    response = hotline.act(token, ticket_id, action, body)

    assert_error(response, status, code, field)
    assert_unchanged(hotline, before, events)


# --- answer (Art 8) ----------------------------------------------------------

def test_operator_answers_a_consultation_on_the_spot(hotline):
    ticket = hotline.create(kind="consultation")

    answered = hotline.do(hotline.operator, ticket["id"], "answer")

    assert answered["status"] == "answered"
    assert answered["unit"] is None
    assert hotline.show(ticket["id"])["status"] == "answered"


@pytest.mark.parametrize("kind", ["help", "complaint", "report", "suggestion"])
def test_only_consultations_are_answered_on_the_spot(hotline, kind):
    ticket = hotline.create(kind=kind)

    refused_and_unchanged(hotline, hotline.operator, ticket["id"], "answer", None,
                          409, "not_consultation")


def test_answer_needs_its_text(hotline):
    ticket = hotline.create(kind="consultation")

    refused_and_unchanged(hotline, hotline.operator, ticket["id"], "answer", {"answer": ""},
                          400, "invalid_field", "answer")


# --- reject (Art 7) ----------------------------------------------------------

@pytest.mark.parametrize("reason", REJECT_REASONS)
def test_operator_rejects_with_each_reason(hotline, reason):
    ticket = hotline.create()

    rejected = hotline.do(hotline.operator, ticket["id"], "reject",
                          {"reason": reason, "explanation": "已告知诉求人不予受理的依据。"})

    assert rejected["status"] == "rejected"
    assert hotline.events(ticket["id"])[-1]["reason"]


def test_repeat_is_rejected_with_the_earlier_ticket(hotline):
    earlier = hotline.in_handling()
    repeat = hotline.create()

    rejected = hotline.do(hotline.operator, repeat["id"], "reject",
                          {"reason": "repeat", "explanation": "同一事项正在办理中。",
                           "duplicate_of": earlier["id"]})

    assert rejected["status"] == "rejected"
    assert hotline.show(earlier["id"])["status"] == "handling"


@pytest.mark.parametrize("duplicate_of", [None, "440100-20241104-999999", "not-an-id"])
def test_repeat_needs_an_existing_earlier_ticket(hotline, duplicate_of):
    ticket = hotline.create()
    body = {"reason": "repeat", "explanation": "同一事项。"}
    if duplicate_of is not None:
        body["duplicate_of"] = duplicate_of

    refused_and_unchanged(hotline, hotline.operator, ticket["id"], "reject", body,
                          400, "invalid_field", "duplicate_of")


def test_only_a_repeat_names_an_earlier_ticket(hotline):
    earlier = hotline.create()
    ticket = hotline.create()

    refused_and_unchanged(hotline, hotline.operator, ticket["id"], "reject",
                          {"reason": "other", "explanation": "其他法定情形。",
                           "duplicate_of": earlier["id"]},
                          400, "invalid_field", "duplicate_of")


@pytest.mark.parametrize("body, field", [
    ({"reason": "too_hard", "explanation": "x"}, "reason"),
    ({"explanation": "x"}, "reason"),
    ({"reason": "other"}, "explanation"),
    ({"reason": "other", "explanation": "理" * 2001}, "explanation"),
])
def test_reject_needs_a_known_reason_and_an_explanation(hotline, body, field):
    ticket = hotline.create()

    refused_and_unchanged(hotline, hotline.operator, ticket["id"], "reject", body,
                          400, "invalid_field", field)


# --- acceptance (Art 7) ------------------------------------------------------

def test_operator_accepts_an_appeal_and_judges_its_kind_and_category(hotline):
    ticket = hotline.create(kind="complaint", category="market_supervision", channel="web")

    accepted = hotline.do(hotline.operator, ticket["id"], "accept",
                          {"kind": "consultation", "category": "public_service"})

    assert accepted["status"] == "accepted"
    assert (accepted["kind"], accepted["category"]) == ("consultation", "public_service")
    assert set(accepted["allowed_actions"]) == {"answer", "dispatch", "notes", "link",
                                                "transfer"}
    assert hotline.events(ticket["id"])[-1]["action"] == "accept"
    # accepted appeals are triaged: they leave the intake queue
    load = hotline.node.http("GET", "/api/v1/load", token=hotline.operator).json()
    assert load["queue_depth"] == 0
    # the period of the judged kind starts at dispatch
    handling = hotline.do(hotline.operator, ticket["id"], "dispatch", {"unit": "water"})
    assert handling["deadline"] == "2024-11-06T23:59:59+08:00"


def test_an_accepted_appeal_keeps_its_kind_unless_judged_otherwise(hotline):
    ticket = hotline.create(kind="help")

    accepted = hotline.do(hotline.operator, ticket["id"], "accept", {})

    assert (accepted["kind"], accepted["category"]) == ("help", ticket["category"])


def test_an_accepted_appeal_is_no_longer_rejected(hotline):
    ticket = hotline.create()
    hotline.do(hotline.operator, ticket["id"], "accept", {})

    refused_and_unchanged(hotline, hotline.operator, ticket["id"], "reject", None,
                          409, "illegal_transition")
    refused_and_unchanged(hotline, hotline.operator, ticket["id"], "accept", {},
                          409, "illegal_transition")


@pytest.mark.parametrize("body, field", [
    ({"kind": "gossip"}, "kind"),
    ({"category": "sports"}, "category"),
    ({"kind": "help", "unit": "water"}, "unit"),
])
def test_accept_needs_a_known_kind_and_category(hotline, body, field):
    ticket = hotline.create()

    refused_and_unchanged(hotline, hotline.operator, ticket["id"], "accept", body,
                          400, "invalid_field", field)


def test_only_an_operator_accepts(hotline):
    ticket = hotline.create()

    refused_and_unchanged(hotline, hotline.manager, ticket["id"], "accept", {},
                          403, "forbidden")


# --- dispatch and deadlines (Art 10, Art 11) ----------------------------------

@pytest.mark.parametrize("kind, deadline", [
    ("consultation", "2024-11-06T23:59:59+08:00"),  # 2 working days after Mon 11-04
    ("help", "2024-11-18T23:59:59+08:00"),          # 10
    ("suggestion", "2024-11-18T23:59:59+08:00"),    # 10
    ("complaint", "2024-11-25T23:59:59+08:00"),     # 15
    ("report", "2024-11-25T23:59:59+08:00"),        # 15
])
def test_dispatch_sets_the_deadline_by_kind(hotline, kind, deadline):
    ticket = hotline.create(kind=kind)

    handling = hotline.do(hotline.operator, ticket["id"], "dispatch", {"unit": "water"})

    assert handling["status"] == "handling"
    assert handling["unit"] == "water"
    assert handling["unit_name"] == "广州市水务局"
    assert day_of(handling["received_at"]) == "2024-11-04"
    assert handling["deadline"] == deadline
    assert handling["provisional"] is False


def test_deadline_skips_national_day(hotline, clock):
    clock.set("2024-09-27 10:00:00")  # Friday; 9-29 is a make-up working day
    ticket = hotline.create(kind="complaint")

    handling = hotline.do(hotline.operator, ticket["id"], "dispatch", {"unit": "water"})

    assert handling["deadline"] == "2024-10-23T23:59:59+08:00"


def test_deadline_past_the_calendar_is_provisional(hotline, clock):
    clock.set("2026-12-21 10:00:00")  # 15 working days end in 2027, not yet published
    ticket = hotline.create(kind="complaint")

    handling = hotline.do(hotline.operator, ticket["id"], "dispatch", {"unit": "water"})

    assert handling["deadline"] == "2027-01-11T23:59:59+08:00"  # weekends only
    assert handling["provisional"] is True


def test_deadline_inside_the_calendar_is_not_provisional(hotline, clock):
    clock.set("2026-12-21 10:00:00")
    ticket = hotline.create(kind="consultation")

    handling = hotline.do(hotline.operator, ticket["id"], "dispatch", {"unit": "water"})

    assert handling["deadline"] == "2026-12-23T23:59:59+08:00"
    assert handling["provisional"] is False


def test_periods_are_per_node_configuration(workspace, clock):
    node = standalone_city(workspace, period_complaint=5)  # a city's local rule (Art 21)
    node.start(env=clock.env())
    office = Hotline(node)

    handling = office.in_handling(kind="complaint")

    assert handling["deadline"] == "2024-11-11T23:59:59+08:00"  # 5 working days after 11-04


def test_manager_may_dispatch(hotline):
    ticket = hotline.create()

    assert hotline.do(hotline.manager, ticket["id"], "dispatch", {"unit": "market"})["unit"] \
        == "market"


@pytest.mark.parametrize("body", [{"unit": "nosuchunit"}, {}, {"unit": 7}])
def test_dispatch_needs_an_existing_unit(hotline, body):
    ticket = hotline.create()

    refused_and_unchanged(hotline, hotline.operator, ticket["id"], "dispatch", body,
                          400, "invalid_field", "unit")


def test_dispatched_ticket_shows_its_state(hotline):
    handling = hotline.in_handling(kind="help")

    expected = {"status": "handling", "unit": "water", "returns": 0, "extensions": 0,
                "no_return": False, "due_soon": False, "overdue": False,
                "supervised": False, "provisional": False}
    assert expected.items() <= handling.items()


def test_holding_unit_may_return_extend_complete_or_note(hotline):
    ticket_id = hotline.in_handling()["id"]

    assert set(hotline.show(ticket_id, hotline.water)["allowed_actions"]) == \
        {"return", "extension", "completion", "notes"}
    assert set(hotline.show(ticket_id, hotline.manager)["allowed_actions"]) == \
        {"notes", "supervise", "link"}
    assert set(hotline.show(ticket_id, hotline.operator)["allowed_actions"]) == {"notes", "link"}


# --- return (Art 10) -----------------------------------------------------------

def test_only_a_manager_may_forbid_returns(hotline):
    ticket = hotline.create()

    refused_and_unchanged(hotline, hotline.operator, ticket["id"], "dispatch",
                          {"unit": "water", "no_return": True}, 403, "forbidden")


def test_lead_unit_designated_by_a_manager_may_not_return(hotline):
    ticket = hotline.create()
    handling = hotline.do(hotline.manager, ticket["id"], "dispatch",
                          {"unit": "water", "no_return": True})
    assert handling["no_return"] is True
    assert "return" not in hotline.show(ticket["id"], hotline.water)["allowed_actions"]

    refused_and_unchanged(hotline, hotline.water, ticket["id"], "return", None,
                          409, "no_return_order")


def test_unit_returns_on_the_second_working_day(hotline, clock):
    ticket = hotline.in_handling()  # Monday
    clock.set("2024-11-06 20:00:00")  # Wednesday

    returned = hotline.do(hotline.water, ticket["id"], "return")

    assert returned["status"] == "return_requested"
    assert returned["returns"] == 0  # not yet approved


def test_return_on_the_third_working_day_is_refused(hotline, clock):
    ticket = hotline.in_handling()  # Monday
    clock.set("2024-11-07 09:00:00")  # Thursday
    assert "return" not in hotline.show(ticket["id"], hotline.water)["allowed_actions"]

    refused_and_unchanged(hotline, hotline.water, ticket["id"], "return", None,
                          409, "return_window_closed")


def test_return_window_counts_working_days_across_national_day(hotline, clock):
    clock.set("2024-09-30 10:00:00")  # the last working day before the holiday
    ticket = hotline.in_handling()
    clock.set("2024-10-09 15:00:00")  # 10-08 and 10-09 are the two working days

    assert hotline.do(hotline.water, ticket["id"], "return")["status"] == "return_requested"


def test_return_after_national_day_window_is_refused(hotline, clock):
    clock.set("2024-09-30 10:00:00")
    ticket = hotline.in_handling()
    clock.set("2024-10-10 09:00:00")  # third working day after receipt

    refused_and_unchanged(hotline, hotline.water, ticket["id"], "return", None,
                          409, "return_window_closed")


@pytest.mark.parametrize("field", ["reason", "basis"])
def test_return_needs_reason_and_basis(hotline, field):
    ticket = hotline.in_handling()
    body = dict(BODIES["return"])
    del body[field]

    refused_and_unchanged(hotline, hotline.water, ticket["id"], "return", body,
                          400, "invalid_field", field)


def test_manager_reviews_a_return_request(hotline):
    ticket = hotline.in_handling()
    hotline.do(hotline.water, ticket["id"], "return")

    assert set(hotline.show(ticket["id"])["allowed_actions"]) == \
        {"return/review", "notes", "supervise", "link"}


def test_approved_return_restarts_the_period_at_the_new_unit(hotline, clock):
    ticket = hotline.in_handling(kind="complaint")  # Mon 11-04, deadline 11-25
    clock.set("2024-11-05 10:00:00")
    hotline.do(hotline.water, ticket["id"], "return")
    clock.set("2024-11-06 10:00:00")

    moved = hotline.do(hotline.manager, ticket["id"], "return/review",
                       {"decision": "approve", "unit": "market"})

    assert moved["status"] == "handling"
    assert moved["unit"] == "market"
    assert moved["returns"] == 1
    assert day_of(moved["received_at"]) == "2024-11-06"
    assert moved["deadline"] == "2024-11-27T23:59:59+08:00"  # 15 working days after 11-06


def test_old_unit_loses_the_order_after_an_approved_return(hotline):
    ticket = hotline.in_handling()
    hotline.do(hotline.water, ticket["id"], "return")
    hotline.do(hotline.manager, ticket["id"], "return/review",
               {"decision": "approve", "unit": "market"})

    assert_error(hotline.get(ticket["id"], hotline.water), 404, "not_found")
    assert hotline.show(ticket["id"], hotline.market)["unit"] == "market"


def test_new_unit_has_its_own_return_window(hotline, clock):
    ticket = hotline.in_handling(unit="water")  # Mon 11-04
    hotline.do(hotline.water, ticket["id"], "return")
    clock.set("2024-11-07 10:00:00")  # Thursday: market receives it
    hotline.do(hotline.manager, ticket["id"], "return/review",
               {"decision": "approve", "unit": "market"})
    clock.set("2024-11-11 15:00:00")  # Monday, the second working day after Thursday

    assert hotline.do(hotline.market, ticket["id"], "return")["status"] == "return_requested"


def test_refused_return_keeps_the_period_from_first_receipt(hotline, clock):
    ticket = hotline.in_handling(kind="complaint")  # Mon 11-04
    clock.set("2024-11-05 10:00:00")
    hotline.do(hotline.water, ticket["id"], "return")
    clock.set("2024-11-06 10:00:00")

    kept = hotline.do(hotline.manager, ticket["id"], "return/review",
                      {"decision": "refuse", "note": "属本单位职责，请继续办理。"})

    assert kept["status"] == "handling"
    assert kept["unit"] == "water"
    assert kept["returns"] == 0
    assert kept["received_at"] == ticket["received_at"]
    assert kept["deadline"] == "2024-11-25T23:59:59+08:00"


@pytest.mark.parametrize("body", [{"decision": "approve"},
                                  {"decision": "approve", "unit": "water"},
                                  {"decision": "approve", "unit": "nosuchunit"}])
def test_approved_return_needs_another_existing_unit(hotline, body):
    ticket = hotline.in_handling()
    hotline.do(hotline.water, ticket["id"], "return")

    refused_and_unchanged(hotline, hotline.manager, ticket["id"], "return/review", body,
                          400, "invalid_field", "unit")


def test_review_needs_a_known_decision(hotline):
    ticket = hotline.in_handling()
    hotline.do(hotline.water, ticket["id"], "return")

    refused_and_unchanged(hotline, hotline.manager, ticket["id"], "return/review",
                          {"decision": "maybe", "unit": "market"},
                          400, "invalid_field", "decision")


# --- extension (Art 11) --------------------------------------------------------

def test_unit_asks_for_an_extension_before_the_deadline(hotline, clock):
    ticket = hotline.in_handling(kind="complaint")  # deadline Mon 11-25
    clock.set("2024-11-20 10:00:00")

    asked = hotline.do(hotline.water, ticket["id"], "extension")

    assert asked["status"] == "extension_requested"
    assert asked["extensions"] == 0
    assert set(hotline.show(ticket["id"])["allowed_actions"]) == \
        {"extension/review", "notes", "supervise", "link"}


def test_extension_on_the_deadline_day_is_in_time(hotline, clock):
    ticket = hotline.in_handling(kind="complaint")
    clock.set("2024-11-25 20:00:00")

    assert hotline.do(hotline.water, ticket["id"], "extension")["status"] == \
        "extension_requested"


def test_extension_after_the_deadline_is_refused(hotline, clock):
    ticket = hotline.in_handling(kind="complaint")
    clock.set("2024-11-26 09:00:00")
    hotline.wait_for_flag(ticket["id"], "overdue")  # the clock thread has had its say

    refused_and_unchanged(hotline, hotline.water, ticket["id"], "extension", None,
                          409, "deadline_passed")


def test_approved_extension_adds_one_original_period(hotline, clock):
    ticket = hotline.in_handling(kind="complaint")
    clock.set("2024-11-20 10:00:00")
    hotline.do(hotline.water, ticket["id"], "extension")

    extended = hotline.do(hotline.manager, ticket["id"], "extension/review",
                          {"decision": "approve"})

    assert extended["status"] == "handling"
    assert extended["extensions"] == 1
    assert extended["deadline"] == "2024-12-16T23:59:59+08:00"  # 15 after 11-25
    assert extended["received_at"] == ticket["received_at"]


def test_second_extension_counts_from_the_extended_deadline(hotline, clock):
    ticket = hotline.in_handling(kind="complaint")
    clock.set("2024-11-20 10:00:00")
    for _ in range(2):
        hotline.do(hotline.water, ticket["id"], "extension")
        extended = hotline.do(hotline.manager, ticket["id"], "extension/review")

    assert extended["extensions"] == 2
    assert extended["deadline"] == "2025-01-07T23:59:59+08:00"  # 2025-01-01 is a holiday


def test_at_most_two_extensions(hotline, clock):
    ticket = hotline.in_handling(kind="complaint")
    clock.set("2024-11-20 10:00:00")
    for _ in range(2):
        hotline.do(hotline.water, ticket["id"], "extension")
        hotline.do(hotline.manager, ticket["id"], "extension/review")

    refused_and_unchanged(hotline, hotline.water, ticket["id"], "extension", None,
                          409, "extension_limit")


def test_refused_extension_keeps_the_deadline(hotline, clock):
    ticket = hotline.in_handling(kind="complaint")
    clock.set("2024-11-20 10:00:00")
    hotline.do(hotline.water, ticket["id"], "extension")

    kept = hotline.do(hotline.manager, ticket["id"], "extension/review",
                      {"decision": "refuse", "note": "理由不充分"})

    assert kept["status"] == "handling"
    assert kept["extensions"] == 0
    assert kept["deadline"] == "2024-11-25T23:59:59+08:00"


def test_refused_extension_does_not_count_against_the_limit(hotline, clock):
    ticket = hotline.in_handling(kind="complaint")
    clock.set("2024-11-20 10:00:00")
    for decision in ("refuse", "approve", "approve"):
        hotline.do(hotline.water, ticket["id"], "extension")
        extended = hotline.do(hotline.manager, ticket["id"], "extension/review",
                              {"decision": decision})

    assert extended["extensions"] == 2


# --- completion (Art 13) -------------------------------------------------------

def test_unit_applies_for_completion(hotline):
    ticket = hotline.in_handling()

    applied = hotline.do(hotline.water, ticket["id"], "completion")

    assert applied["status"] == "completion_requested"
    assert set(hotline.show(ticket["id"])["allowed_actions"]) == \
        {"completion/review", "notes", "supervise", "link"}


@pytest.mark.parametrize("field", ["handled_at", "process", "result", "basis"])
def test_completion_reply_needs_all_four_parts(hotline, field):
    ticket = hotline.in_handling()
    body = dict(BODIES["completion"])
    del body[field]

    refused_and_unchanged(hotline, hotline.water, ticket["id"], "completion", body,
                          400, "invalid_field", field)


@pytest.mark.parametrize("field, value", [("handled_at", "last Friday"),
                                          ("handled_at", "2024-11-08"),
                                          ("handled_at", "2030-01-01T09:00:00+08:00"),
                                          ("process", ""), ("result", "果" * 4001),
                                          ("basis", "据" * 2001)])
def test_completion_parts_are_checked(hotline, field, value):
    ticket = hotline.in_handling()
    body = {**BODIES["completion"], field: value}

    refused_and_unchanged(hotline, hotline.water, ticket["id"], "completion", body,
                          400, "invalid_field", field)


def test_approved_completion_completes_the_order(hotline):
    ticket = hotline.in_handling()
    hotline.do(hotline.water, ticket["id"], "completion")

    done = hotline.do(hotline.manager, ticket["id"], "completion/review",
                      {"decision": "approve"})

    assert done["status"] == "completed"


def test_sent_back_completion_keeps_the_deadline(hotline, clock):
    ticket = hotline.in_handling(kind="complaint")
    clock.set("2024-11-08 16:00:00")
    hotline.do(hotline.water, ticket["id"], "completion")
    clock.set("2024-11-11 10:00:00")

    back = hotline.do(hotline.manager, ticket["id"], "completion/review",
                      {"decision": "send_back", "note": "未逐项答复诉求。"})

    assert back["status"] == "handling"
    assert back["unit"] == "water"
    assert back["received_at"] == ticket["received_at"]
    assert back["deadline"] == "2024-11-25T23:59:59+08:00"


# --- notes and supervision ------------------------------------------------------

@pytest.mark.parametrize("who", ["operator", "manager", "water"])
def test_notes_keep_the_status(hotline, who):
    ticket = hotline.in_handling()
    events = hotline.events(ticket["id"])

    noted = hotline.do(getattr(hotline, who), ticket["id"], "notes")

    assert noted["status"] == "handling"
    after = hotline.events(ticket["id"])
    assert len(after) == len(events) + 1
    assert "note" in after[-1]["action"]
    assert after[-1]["actor"] == hotline.names[getattr(hotline, who)]
    assert (after[-1]["from"], after[-1]["to"]) == ("handling", "handling")


def test_auditor_only_reads(hotline):
    ticket = hotline.in_handling()

    refused_and_unchanged(hotline, hotline.auditor, ticket["id"], "notes", None,
                          403, "forbidden")


def test_manager_flags_an_order_for_supervision(hotline):
    ticket = hotline.in_handling()

    flagged = hotline.do(hotline.manager, ticket["id"], "supervise")

    assert flagged["supervised"] is True
    assert flagged["status"] == "handling"
    assert "supervise" in hotline.events(ticket["id"])[-1]["action"]


def test_registered_order_may_be_supervised(hotline):
    ticket = hotline.create()

    assert hotline.do(hotline.manager, ticket["id"], "supervise")["supervised"] is True


@pytest.mark.parametrize("close", ["answer", "reject"])
def test_closed_order_is_not_supervised(hotline, close):
    ticket = hotline.create(kind="consultation")
    hotline.do(hotline.operator, ticket["id"], close)

    refused_and_unchanged(hotline, hotline.manager, ticket["id"], "supervise", None,
                          409, "illegal_transition")


# --- illegal transitions: 409, nothing changes ----------------------------------

def registered_order(hotline):
    return hotline.create(kind="consultation")


def handling_order(hotline):
    return hotline.in_handling(kind="consultation")


def answered_order(hotline):
    ticket = hotline.create(kind="consultation")
    return hotline.do(hotline.operator, ticket["id"], "answer")


def rejected_order(hotline):
    ticket = hotline.create(kind="consultation")
    return hotline.do(hotline.operator, ticket["id"], "reject")


def return_requested_order(hotline):
    ticket = hotline.in_handling(kind="consultation")
    return hotline.do(hotline.water, ticket["id"], "return")


def extension_requested_order(hotline):
    ticket = hotline.in_handling(kind="consultation")
    return hotline.do(hotline.water, ticket["id"], "extension")


def completion_requested_order(hotline):
    ticket = hotline.in_handling(kind="consultation")
    return hotline.do(hotline.water, ticket["id"], "completion")


def completed_order(hotline):
    ticket = completion_requested_order(hotline)
    return hotline.do(hotline.manager, ticket["id"], "completion/review")


ILLEGAL = [
    (handling_order, "operator", "dispatch"),
    (handling_order, "operator", "answer"),
    (handling_order, "operator", "reject"),
    (handling_order, "manager", "return/review"),
    (handling_order, "manager", "extension/review"),
    (handling_order, "manager", "completion/review"),
    (answered_order, "operator", "dispatch"),
    (answered_order, "operator", "answer"),
    (rejected_order, "operator", "dispatch"),
    (rejected_order, "operator", "reject"),
    (return_requested_order, "water", "return"),
    (return_requested_order, "water", "completion"),
    (return_requested_order, "water", "extension"),
    (return_requested_order, "manager", "extension/review"),
    (extension_requested_order, "water", "extension"),
    (extension_requested_order, "water", "completion"),
    (extension_requested_order, "manager", "return/review"),
    (completion_requested_order, "water", "return"),
    (completion_requested_order, "water", "completion"),
    (completion_requested_order, "manager", "extension/review"),
    (completed_order, "manager", "completion/review"),
    (completed_order, "operator", "dispatch"),
]


@pytest.mark.parametrize("state, who, action", ILLEGAL,
                         ids=[f"{state.__name__[:-6]}-{action}" for state, _, action in ILLEGAL])
def test_illegal_transition_changes_nothing(hotline, state, who, action):
    ticket = state(hotline)

    refused_and_unchanged(hotline, getattr(hotline, who), ticket["id"], action, None,
                          409, "illegal_transition")


# --- roles: 403 for the wrong role ----------------------------------------------

WRONG_ROLE = [
    (registered_order, "manager", "answer"),
    (registered_order, "manager", "reject"),
    (registered_order, "auditor", "dispatch"),
    (registered_order, "admin", "dispatch"),
    (registered_order, "service", "dispatch"),
    (handling_order, "operator", "return"),
    (handling_order, "manager", "extension"),
    (handling_order, "manager", "completion"),
    (handling_order, "operator", "supervise"),
    (handling_order, "water", "supervise"),
    (return_requested_order, "operator", "return/review"),
    (return_requested_order, "water", "return/review"),
    (extension_requested_order, "water", "extension/review"),
    (completion_requested_order, "water", "completion/review"),
    (completion_requested_order, "auditor", "completion/review"),
]


@pytest.mark.parametrize("state, who, action", WRONG_ROLE,
                         ids=[f"{state.__name__[:-6]}-{who}-{action}" for state, who, action
                              in WRONG_ROLE])
def test_wrong_role_is_forbidden(hotline, state, who, action):
    ticket = state(hotline)

    refused_and_unchanged(hotline, getattr(hotline, who), ticket["id"], action, None,
                          403, "forbidden")


def test_actions_need_a_token(hotline):
    ticket = hotline.create()

    refused_and_unchanged(hotline, None, ticket["id"], "dispatch", None, 401, "unauthorized")


def test_action_on_an_unknown_ticket_is_404(hotline):
    response = hotline.act(hotline.operator, "440100-20241104-999999", "dispatch")

    assert_error(response, 404, "not_found")


def test_unknown_action_is_404(hotline):
    ticket = hotline.create()

    response = hotline.act(hotline.operator, ticket["id"], "escalate", {})

    assert response.status_code == 404


# --- a unit's scope -------------------------------------------------------------

def test_other_unit_cannot_see_the_order(hotline):
    ticket = hotline.in_handling(unit="water")

    assert_error(hotline.get(ticket["id"], hotline.market), 404, "not_found")
    response = hotline.node.http("GET", f"/api/v1/tickets/{ticket['id']}/events",
                                 hotline.market)
    assert_error(response, 404, "not_found")


@pytest.mark.parametrize("action", ["return", "extension", "completion", "notes"])
def test_other_unit_cannot_act_on_the_order(hotline, action):
    ticket = hotline.in_handling(unit="water")

    refused_and_unchanged(hotline, hotline.market, ticket["id"], action, None,
                          404, "not_found")


def test_unit_cannot_see_registered_orders(hotline):
    ticket = hotline.create()

    assert_error(hotline.get(ticket["id"], hotline.water), 404, "not_found")


def test_unit_lists_only_its_own_orders(hotline):
    water_1 = hotline.in_handling(unit="water")
    hotline.in_handling(unit="market")
    hotline.create()
    water_2 = hotline.in_handling(unit="water")

    response = hotline.list(hotline.water)

    assert response.status_code == 200, response.text
    assert [t["id"] for t in response.json()["tickets"]] == [water_1["id"], water_2["id"]]
    assert response.json()["total"] == 2


# --- the clock: due_soon and overdue ---------------------------------------------

def test_order_dispatched_before_national_day_goes_overdue_on_the_right_date(hotline, clock):
    clock.set("2024-09-27 10:00:00")
    ticket = hotline.in_handling(kind="complaint")
    assert ticket["deadline"] == "2024-10-23T23:59:59+08:00"

    clock.set("2024-10-22 10:00:00")  # the deadline is the next working day
    soon = hotline.wait_for_flag(ticket["id"], "due_soon")
    assert soon["overdue"] is False

    clock.set("2024-10-24 00:00:10")
    overdue = hotline.wait_for_flag(ticket["id"], "overdue")

    assert overdue["status"] == "handling"
    by_clock = [e["action"] for e in hotline.events(ticket["id"]) if e["actor"] == "clock"]
    assert "due_soon" in by_clock
    assert by_clock.count("overdue") == 1


def test_due_soon_from_the_working_day_before_the_deadline(hotline, clock):
    help_ = hotline.in_handling(kind="help")            # deadline Mon 11-18
    complaint = hotline.in_handling(kind="complaint")   # deadline Mon 11-25
    clock.set("2024-11-15 10:00:00")  # Friday: the next working day is Monday 11-18

    hotline.wait_for_flag(help_["id"], "due_soon")

    assert hotline.show(complaint["id"])["due_soon"] is False


def test_due_soon_is_an_event_by_the_clock(hotline, clock):
    ticket = hotline.in_handling(kind="help")
    clock.set("2024-11-18 08:00:00")  # the deadline day

    hotline.wait_for_flag(ticket["id"], "due_soon")

    last = hotline.events(ticket["id"])[-1]
    assert (last["action"], last["actor"]) == ("due_soon", "clock")
    assert last["from"] == last["to"] == "handling"


def test_registered_orders_are_not_marked(hotline, clock):
    waiting = hotline.create(kind="consultation")
    late = hotline.in_handling(kind="consultation")  # deadline Wed 11-06
    clock.set("2024-11-07 10:00:00")

    hotline.wait_for_flag(late["id"], "overdue")

    assert hotline.show(waiting["id"])["overdue"] is False


def test_orders_waiting_for_review_go_overdue_too(hotline, clock):
    ticket = hotline.in_handling(kind="consultation")  # deadline Wed 11-06
    hotline.do(hotline.water, ticket["id"], "completion")
    clock.set("2024-11-07 10:00:00")

    assert hotline.wait_for_flag(ticket["id"], "overdue")["status"] == "completion_requested"


def test_completed_orders_are_not_marked(hotline, clock):
    done = completed_order(hotline)
    late = hotline.in_handling(kind="consultation")
    clock.set("2024-11-07 10:00:00")

    hotline.wait_for_flag(late["id"], "overdue")

    assert hotline.show(done["id"])["overdue"] is False


# --- the list ----------------------------------------------------------------------

@pytest.fixture
def four(hotline, clock):
    """Four tickets over two days: {"t1": complaint at water, "t2": help at
    market (Mon 11-04), "t3": consultation registered, "t4": complaint at
    water (Tue 11-05)}; ids in creation order."""
    t1 = hotline.in_handling(unit="water", kind="complaint")
    t2 = hotline.in_handling(unit="market", kind="help")
    clock.set("2024-11-05 10:00:00")
    t3 = hotline.create(kind="consultation")
    t4 = hotline.in_handling(unit="water", kind="complaint")
    return {name: t["id"] for name, t in zip(("t1", "t2", "t3", "t4"), (t1, t2, t3, t4))}


def test_list_is_in_creation_order(hotline, four):
    response = hotline.list()

    assert response.status_code == 200, response.text
    page = response.json()
    assert [t["id"] for t in page["tickets"]] == [four["t1"], four["t2"], four["t3"], four["t4"]]
    assert (page["page"], page["page_size"], page["total"]) == (1, 50, 4)


def test_list_by_status(hotline, four):
    assert hotline.listed(status="handling") == [four["t1"], four["t2"], four["t4"]]
    assert hotline.listed(status="registered") == [four["t3"]]


def test_list_by_unit(hotline, four):
    assert hotline.listed(unit="water") == [four["t1"], four["t4"]]


def test_list_by_kind(hotline, four):
    assert hotline.listed(kind="complaint") == [four["t1"], four["t4"]]


def test_list_by_creation_time(hotline, four):
    assert hotline.listed(**{"from": "2024-11-05T00:00:00+08:00"}) == [four["t3"], four["t4"]]
    assert hotline.listed(to="2024-11-05T00:00:00+08:00") == [four["t1"], four["t2"]]


def test_list_filters_combine(hotline, four):
    assert hotline.listed(unit="water", **{"from": "2024-11-05T00:00:00+08:00"}) == [four["t4"]]


def test_list_pages(hotline, four):
    first = hotline.list(page=1, page_size=3).json()
    second = hotline.list(page=2, page_size=3).json()

    assert [t["id"] for t in first["tickets"]] == [four["t1"], four["t2"], four["t3"]]
    assert [t["id"] for t in second["tickets"]] == [four["t4"]]
    assert first["total"] == second["total"] == 4


def test_list_overdue(hotline, clock, four):
    clock.set("2024-11-19 10:00:00")  # t2's deadline was 11-18
    hotline.wait_for_flag(four["t2"], "overdue")

    assert hotline.listed(overdue="true") == [four["t2"]]
    assert hotline.listed(overdue="false") == [four["t1"], four["t3"], four["t4"]]


@pytest.mark.parametrize("param, value", [("status", "open"), ("kind", "question"),
                                          ("overdue", "yes"), ("page", "0"),
                                          ("page", "x"), ("page_size", "201"),
                                          ("page_size", "0"), ("from", "yesterday"),
                                          ("to", "2024-11-05")])
def test_bad_list_filter_is_refused_naming_it(hotline, param, value):
    response = hotline.list(**{param: value})

    assert_error(response, 400, "invalid_field", param)


def test_list_needs_a_reading_role(hotline):
    assert_error(hotline.list(hotline.service), 403, "forbidden")
    assert_error(hotline.list(hotline.admin), 403, "forbidden")
