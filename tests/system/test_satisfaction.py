"""Satisfaction (好差评), follow-ups (回访) and redo (重办): REGULATION.md Art 15.

After a manager approves the completion a rating window opens (7 days by
default).  The citizen rates intake and handling, by phone through an
operator or with a one-time token sent by SMS; a dissatisfied rating opens a
follow-up; the citizen may ask once for a redo, which sends the order back to
its unit with a fresh period; a window that ends unrated closes the order as
unrated.
"""

from contextlib import closing

import psycopg2
import pytest

from lifecycle import CITIZEN_NAME, CITIZEN_PHONE, assert_error, clock, hotline  # noqa: F401

GOOD = {"intake": "very_satisfied", "handling": "satisfied"}
BAD = {"intake": "satisfied", "handling": "very_dissatisfied", "comment": "问题没有解决"}


def completed(hotline):
    """A complaint handled by the water authority and approved as complete."""
    ticket = hotline.in_handling()
    hotline.do(hotline.water, ticket["id"], "completion")
    return hotline.do(hotline.manager, ticket["id"], "completion/review")


def rate(hotline, ticket_id, body, token=None):
    return hotline.post(f"/api/v1/tickets/{ticket_id}/rating", token, body)


def sms_token(hotline, ticket_id):
    response = hotline.post(f"/api/v1/tickets/{ticket_id}/rating-token", hotline.service, {})
    assert response.status_code == 201, response.text
    return response.json()["token"]


def followups(hotline, state=None):
    params = {"state": state} if state else None
    response = hotline.node.http("GET", "/api/v1/followups", hotline.operator, params=params)
    assert response.status_code == 200, response.text
    return response.json()["followups"]


def test_completion_opens_a_seven_day_rating_window(hotline):
    ticket = completed(hotline)

    assert ticket["status"] == "completed"
    assert ticket["rating_due"].startswith("2024-11-11T10:00")
    assert ticket["rated"] is False
    assert "rating" in hotline.show(ticket["id"], hotline.operator)["allowed_actions"]


def test_operator_records_a_rating_from_a_call(hotline):
    ticket = completed(hotline)

    response = rate(hotline, ticket["id"], GOOD, hotline.operator)

    assert response.status_code == 200, response.text
    assert hotline.show(ticket["id"])["rated"] is True
    events = hotline.events(ticket["id"])
    assert events[-1]["action"] == "rating"
    assert events[-1]["detail"] == {"intake": "very_satisfied", "handling": "satisfied"}
    assert followups(hotline) == []


def test_citizen_rates_once_with_the_sms_token(hotline):
    ticket = completed(hotline)
    token = sms_token(hotline, ticket["id"])

    response = rate(hotline, ticket["id"], dict(GOOD, token=token))

    assert response.status_code == 200, response.text
    assert CITIZEN_PHONE not in response.text and CITIZEN_NAME not in response.text
    assert hotline.events(ticket["id"])[-1]["actor"] == "citizen"
    assert_error(rate(hotline, ticket["id"], dict(GOOD, token=token)), 404, "not_found")


def test_a_wrong_token_or_none_is_refused(hotline):
    ticket = completed(hotline)
    sms_token(hotline, ticket["id"])

    assert_error(rate(hotline, ticket["id"], dict(GOOD, token="0" * 64)), 404, "not_found")
    assert_error(rate(hotline, ticket["id"], GOOD), 400, "invalid_field", "token")
    assert hotline.show(ticket["id"])["rated"] is False


def test_a_token_belongs_to_its_ticket(hotline):
    first, second = completed(hotline), completed(hotline)
    token = sms_token(hotline, first["id"])

    assert_error(rate(hotline, second["id"], dict(GOOD, token=token)), 404, "not_found")


@pytest.mark.parametrize("who", ["manager", "auditor", "water", "service"])
def test_only_operators_rate_with_a_bearer_token(hotline, who):
    ticket = completed(hotline)

    assert_error(rate(hotline, ticket["id"], GOOD, getattr(hotline, who)), 403, "forbidden")


def test_only_the_service_role_asks_for_sms_tokens(hotline):
    ticket = completed(hotline)

    response = hotline.post(f"/api/v1/tickets/{ticket['id']}/rating-token", hotline.operator, {})

    assert_error(response, 403, "forbidden")


def test_a_second_rating_is_refused(hotline):
    ticket = completed(hotline)
    rate(hotline, ticket["id"], GOOD, hotline.operator)

    assert_error(rate(hotline, ticket["id"], GOOD, hotline.operator), 409, "already_rated")


def test_an_order_in_handling_cannot_be_rated(hotline):
    ticket = hotline.in_handling()

    assert_error(rate(hotline, ticket["id"], GOOD, hotline.operator), 409, "illegal_transition")


@pytest.mark.parametrize("body, field", [
    ({"intake": "great", "handling": "satisfied"}, "intake"),
    ({"intake": "satisfied"}, "handling"),
    ({"intake": "satisfied", "handling": "satisfied", "comment": "x" * 501}, "comment"),
    ({"intake": "satisfied", "handling": "satisfied", "stars": 5}, "stars"),
])
def test_bad_ratings_are_refused_naming_the_field(hotline, body, field):
    ticket = completed(hotline)

    assert_error(rate(hotline, ticket["id"], body, hotline.operator), 400, "invalid_field", field)
    assert hotline.show(ticket["id"])["rated"] is False


def test_a_bad_rating_opens_a_followup_that_an_operator_closes(hotline):
    ticket = completed(hotline)
    rate(hotline, ticket["id"], BAD, hotline.operator)

    [followup] = followups(hotline, "open")
    assert followup["ticket"] == ticket["id"]
    assert followup["handling"] == "very_dissatisfied"
    assert followup["unit"] == "water"

    response = hotline.post(f"/api/v1/followups/{followup['id']}", hotline.operator,
                            {"outcome": "已回访，诉求人同意重办。", "channel": "phone"})
    assert response.status_code == 200, response.text
    assert followups(hotline, "open") == []
    [done] = followups(hotline, "done")
    assert done["done_by"] == "坐席王芳"
    again = hotline.post(f"/api/v1/followups/{followup['id']}", hotline.operator,
                         {"outcome": "再次回访", "channel": "phone"})
    assert_error(again, 404, "not_found")


def test_followup_outcome_is_validated(hotline):
    ticket = completed(hotline)
    rate(hotline, ticket["id"], BAD, hotline.operator)
    [followup] = followups(hotline, "open")

    response = hotline.post(f"/api/v1/followups/{followup['id']}", hotline.operator,
                            {"outcome": "已回访", "channel": "fax"})

    assert_error(response, 400, "invalid_field", "channel")


def test_redo_goes_back_to_the_same_unit_with_a_fresh_period(hotline, clock):
    ticket = completed(hotline)
    rate(hotline, ticket["id"], BAD, hotline.operator)
    clock.set("2024-11-06 09:00:00")

    asked = hotline.do(hotline.operator, ticket["id"], "redo", {"reason": "诉求人要求重办"})
    assert asked["status"] == "redo_requested"
    redone = hotline.do(hotline.manager, ticket["id"], "redo/review", {"decision": "approve"})

    assert redone["status"] == "handling"
    assert redone["unit"] == "water"
    assert redone["redos"] == 1
    assert redone["received_at"].startswith("2024-11-06T09:00")
    # a complaint: 15 working days after Wednesday 2024-11-06
    assert redone["deadline"] == "2024-11-27T23:59:59+08:00"
    assert redone["rated"] is False


def test_a_refused_redo_leaves_the_order_completed(hotline):
    ticket = completed(hotline)
    hotline.do(hotline.operator, ticket["id"], "redo", {"reason": "诉求人要求重办"})

    refused = hotline.do(hotline.manager, ticket["id"], "redo/review", {"decision": "refuse"})

    assert refused["status"] == "completed"
    assert refused["redos"] == 0


def test_a_second_redo_is_refused_and_the_second_rating_is_kept_too(hotline):
    ticket = completed(hotline)
    rate(hotline, ticket["id"], BAD, hotline.operator)
    hotline.do(hotline.operator, ticket["id"], "redo", {"reason": "诉求人要求重办"})
    hotline.do(hotline.manager, ticket["id"], "redo/review", {"decision": "approve"})
    hotline.do(hotline.water, ticket["id"], "completion")
    hotline.do(hotline.manager, ticket["id"], "completion/review")
    rate(hotline, ticket["id"], GOOD, hotline.operator)

    response = hotline.act(hotline.operator, ticket["id"], "redo", {"reason": "再次重办"})

    assert_error(response, 409, "redo_limit")
    second = [e for e in hotline.events(ticket["id"]) if e["action"] == "rating"][-1]
    assert second["detail"]["replaces"] == {"intake": "satisfied",
                                            "handling": "very_dissatisfied"}
    with closing(psycopg2.connect(hotline.node.settings["database"])) as db, db.cursor() as cur:
        cur.execute("SELECT round, handling FROM ticket_ratings WHERE ticket_id = %s"
                    " ORDER BY round", (ticket["id"],))
        assert cur.fetchall() == [(1, "very_dissatisfied"), (2, "satisfied")]


def test_a_window_that_ends_unrated_closes_the_order(hotline, clock):
    ticket = completed(hotline)

    clock.set("2024-11-11 10:00:30")

    closed = hotline.node.wait_for(
        lambda: (t := hotline.show(ticket["id"]))["status"] == "closed" and t,
        "the order to close")
    assert closed["rated"] is False
    last = hotline.events(ticket["id"])[-1]
    assert (last["action"], last["reason"], last["actor"]) == ("close", "unrated", "clock")
    assert_error(rate(hotline, ticket["id"], GOOD, hotline.operator), 409, "illegal_transition")
    assert_error(hotline.act(hotline.operator, ticket["id"], "redo", {"reason": "晚了"}),
                 409, "illegal_transition")


def test_a_rated_order_closes_as_rated(hotline, clock):
    ticket = completed(hotline)
    rate(hotline, ticket["id"], GOOD, hotline.operator)

    clock.set("2024-11-12 09:00:00")

    hotline.node.wait_for(lambda: hotline.show(ticket["id"])["status"] == "closed",
                          "the order to close")
    assert hotline.events(ticket["id"])[-1]["reason"] == "rated"


def test_the_event_chain_holds_through_ratings_and_redo(hotline):
    ticket = completed(hotline)
    rate(hotline, ticket["id"], BAD, hotline.operator)
    hotline.do(hotline.operator, ticket["id"], "redo", {"reason": "诉求人要求重办"})
    hotline.do(hotline.manager, ticket["id"], "redo/review", {"decision": "approve"})

    result = hotline.node.run("verify")

    assert result.returncode == 0, result.stdout + result.stderr
