# SPDX-License-Identifier: Apache-2.0
"""The citizen's progress query (REGULATION.md Art 12): with no token, the id
of the appeal and the last 4 digits of the phone number given with it show
where the appeal is and its public steps, and nothing personal or internal.
Unknown ids and wrong digits look the same; each address gets 60 queries
per 10 minutes, and 10 failed ones block it for 10 minutes."""

import pytest

from lifecycle import (BODIES, CITIZEN_CONTACT, CITIZEN_ID_NUMBER,  # noqa: F401 (fixtures)
                       CITIZEN_NAME, CITIZEN_PHONE, assert_error, clock, day_of, hotline)

LAST4 = CITIZEN_PHONE[-4:]
ANSWER = "办理居住证请携带身份证到所在街道出租屋管理服务中心。"
FIELDS = {"id", "status", "unit_name", "deadline", "provisional", "timeline"}


def query(hotline, ticket_id, last4=LAST4, **kwargs):
    params = {} if last4 is None else {"phone_last4": last4}
    return hotline.node.http("GET", f"/api/v1/progress/{ticket_id}", params=params, **kwargs)


def progress(hotline, ticket_id, last4=LAST4):
    """query() that must succeed; returns the progress."""
    response = query(hotline, ticket_id, last4)
    assert response.status_code == 200, response.text
    return response.json()


def steps(answer):
    return [(step["step"], step["label"]) for step in answer["timeline"]]


# --- what the citizen sees --------------------------------------------------------

def test_right_digits_show_a_registered_appeal(hotline):
    ticket = hotline.create()

    answer = progress(hotline, ticket["id"])

    assert set(answer) == FIELDS
    assert {"id": ticket["id"], "status": "registered", "unit_name": None, "deadline": None,
            "provisional": False}.items() <= answer.items()
    (step,) = answer["timeline"]
    assert (step["step"], step["label"]) == ("registered", "Appeal registered")
    assert day_of(step["at"]) == "2024-11-04"
    assert len(step["at"]) == len("2024-11-04T10:00:00+08:00")


def test_dispatch_shows_the_unit_and_the_deadline(hotline):
    ticket = hotline.in_handling(unit="water")

    answer = progress(hotline, ticket["id"])

    assert answer["status"] == "handling"
    assert answer["unit_name"] == "广州市水务局"
    assert answer["deadline"] == "2024-11-25T23:59:59+08:00"
    assert steps(answer) == [("registered", "Appeal registered"),
                             ("dispatched", "Dispatched to 广州市水务局")]


def test_the_timeline_follows_completion(hotline):
    ticket = hotline.in_handling()
    hotline.do(hotline.water, ticket["id"], "completion")

    pending = progress(hotline, ticket["id"])
    hotline.do(hotline.manager, ticket["id"], "completion/review")
    done = progress(hotline, ticket["id"])

    # the unit's application is internal until a manager approves it
    assert pending["status"] == "handling"
    assert [step for step, _ in steps(pending)] == ["registered", "dispatched"]
    assert done["status"] == "completed"
    assert steps(done)[-1] == ("completed", "Completed")


def test_a_transfer_shows_the_new_unit(hotline):
    ticket = hotline.in_handling(unit="water")
    hotline.do(hotline.water, ticket["id"], "return")
    assert progress(hotline, ticket["id"])["status"] == "handling"
    hotline.do(hotline.manager, ticket["id"], "return/review")

    answer = progress(hotline, ticket["id"])

    assert answer["unit_name"] == "广州市市场监督管理局"
    assert steps(answer)[-1] == ("transferred", "Transferred to 广州市市场监督管理局")


def test_an_extension_shows_as_a_step_and_a_later_deadline(hotline):
    ticket = hotline.in_handling()
    before = progress(hotline, ticket["id"])["deadline"]
    hotline.do(hotline.water, ticket["id"], "extension")
    hotline.do(hotline.manager, ticket["id"], "extension/review")

    answer = progress(hotline, ticket["id"])

    assert answer["deadline"] > before
    assert steps(answer)[-1] == ("extended", "Handling period extended")


def test_an_answered_consultation(hotline):
    ticket = hotline.create(kind="consultation")
    hotline.do(hotline.operator, ticket["id"], "answer", {"answer": ANSWER})

    answer = progress(hotline, ticket["id"])

    assert answer["status"] == "answered"
    assert steps(answer)[-1] == ("answered", "Answered by the hotline")
    assert ANSWER not in str(answer)


def test_a_rejected_appeal_shows_no_reason(hotline):
    ticket = hotline.create()
    hotline.do(hotline.operator, ticket["id"], "reject")

    response = query(hotline, ticket["id"])

    assert response.json()["status"] == "rejected"
    assert steps(response.json())[-1] == ("rejected", "Not accepted by the hotline")
    assert BODIES["reject"]["explanation"] not in response.text
    assert BODIES["reject"]["reason"] not in response.text


def test_no_personal_data_names_reasons_or_notes(hotline):
    ticket = hotline.in_handling(unit="water")
    hotline.do(hotline.water, ticket["id"], "notes")
    hotline.do(hotline.water, ticket["id"], "return")
    hotline.do(hotline.manager, ticket["id"], "return/review", {"decision": "refuse",
                                                                "note": "不予退回"})
    hotline.do(hotline.manager, ticket["id"], "supervise")

    text = query(hotline, ticket["id"]).text

    secrets = [CITIZEN_NAME, CITIZEN_PHONE, CITIZEN_ID_NUMBER, CITIZEN_CONTACT,
               hotline.ticket()["content"], hotline.ticket()["location"]["address"],
               "坐席王芳", "值班长李强", "水务局办理员", "不予退回",
               BODIES["notes"]["text"], BODIES["return"]["reason"], BODIES["return"]["basis"],
               BODIES["supervise"]["note"]]
    assert [secret for secret in secrets if secret in text] == []
    assert [step for step, _ in steps(query(hotline, ticket["id"]).json())] == [
        "registered", "dispatched"]


def test_a_landline_is_checked_on_its_last_4_digits(hotline):
    ticket = hotline.create(citizen={"phone": "020-83838383"})

    assert progress(hotline, ticket["id"], "8383")["id"] == ticket["id"]
    assert query(hotline, ticket["id"], "3838").status_code == 404


def test_no_token_is_needed_and_none_is_looked_at(hotline):
    ticket = hotline.create()

    response = query(hotline, ticket["id"], headers={"Authorization": "Bearer nonsense"})

    assert response.status_code == 200, response.text


def test_queries_are_not_logged(hotline):
    ticket = hotline.in_handling()
    mark = hotline.node.log_mark()

    progress(hotline, ticket["id"])
    query(hotline, ticket["id"], "0000")
    query(hotline, "440100-20241104-999999")

    new = hotline.node.log()[mark:]
    assert ticket["id"] not in new
    assert "progress" not in new and "999999" not in new


# --- what the citizen does not learn ----------------------------------------------

def test_wrong_digits_and_an_unknown_id_get_the_same_404(hotline):
    ticket = hotline.create()

    wrong = query(hotline, ticket["id"], "1234")
    unknown = query(hotline, "440100-20241104-000099")
    nonsense = query(hotline, "no-such-thing")

    assert_error(wrong, 404, "not_found")
    assert wrong.text == unknown.text == nonsense.text
    assert wrong.headers["Content-Type"] == unknown.headers["Content-Type"]


@pytest.mark.parametrize("last4", [None, "", "800", "80000", "80a0", "８０００"])
def test_the_digits_must_be_four_digits(hotline, last4):
    ticket = hotline.create()

    assert_error(query(hotline, ticket["id"], last4), 400, "invalid_field", "phone_last4")


# --- how often --------------------------------------------------------------------

def test_ten_failures_block_the_address_even_with_the_right_digits(hotline):
    ticket = hotline.create()
    for _ in range(10):
        assert query(hotline, ticket["id"], "0000").status_code == 404

    response = query(hotline, ticket["id"])

    assert_error(response, 429, "too_many_attempts")
    assert 590 <= int(response.headers["Retry-After"]) <= 600


def test_unknown_ids_count_as_failures(hotline):
    ticket = hotline.create()
    for n in range(10):
        assert query(hotline, f"440100-20241104-{n + 100:06d}").status_code == 404

    assert_error(query(hotline, ticket["id"]), 429, "too_many_attempts")


def test_a_block_ends_after_10_minutes(hotline, clock):
    ticket = hotline.create()
    for _ in range(10):
        query(hotline, ticket["id"], "0000")
    assert query(hotline, ticket["id"]).status_code == 429

    clock.set("2024-11-04 10:09:00")
    assert query(hotline, ticket["id"]).status_code == 429
    clock.set("2024-11-04 10:10:30")
    assert query(hotline, ticket["id"]).status_code == 200


def test_nine_failures_do_not_block(hotline):
    ticket = hotline.create()
    for _ in range(9):
        query(hotline, ticket["id"], "0000")

    assert query(hotline, ticket["id"]).status_code == 200


def test_every_query_counts_right_digits_too(hotline):
    ticket = hotline.create()
    for _ in range(60):
        assert query(hotline, ticket["id"]).status_code == 200

    response = query(hotline, ticket["id"])

    assert_error(response, 429, "too_many_attempts")
    assert 1 <= int(response.headers["Retry-After"]) <= 600


def test_staff_work_is_not_limited_by_citizens_queries(hotline):
    ticket = hotline.create()
    for _ in range(10):
        query(hotline, ticket["id"], "0000")

    assert hotline.show(ticket["id"])["id"] == ticket["id"]
    assert hotline.create()["status"] == "registered"
