"""Repeat detection at intake: REGULATION.md Art 7 item 6.

An appeal with the same facts and reasons as one being handled, or handled
already, is not accepted again.  At intake the node lists the earlier
appeals it likely repeats: from the same caller, or about the same place with
similar content (Chinese character bigrams), within the node's window.  The
operator then rejects it as a repeat naming the earlier one, or links the two
as related.
"""

from lifecycle import assert_error, clock, hotline  # noqa: F401

LIFT = "我们小区3栋的电梯已经停运三天了，老人上下楼非常困难，请尽快维修。"
LIFT_AGAIN = "3栋电梯停运三天了还没修，老人上下楼非常困难，请尽快派人维修。"
NOISE = "楼下烧烤店每天营业到凌晨两点，油烟和噪音严重影响休息。"
WATER = "我家所在片区从昨天早上开始停水，到现在还没有来水，也没有通知。"


def appeal(hotline, content, phone, division="440106", **overrides):
    return hotline.create(content=content, citizen={"phone": phone},
                          location={"division": division, "address": "天河区天河北路100号"},
                          **overrides)


def candidate_ids(ticket):
    return [c["id"] for c in ticket["repeat_candidates"]]


def test_a_reworded_appeal_about_the_same_place_is_found(hotline):
    first = appeal(hotline, LIFT, "13800138001")

    second = appeal(hotline, LIFT_AGAIN, "13900139002")

    [found] = second["repeat_candidates"]
    assert found["id"] == first["id"]
    assert found["same_place"] is True and found["same_caller"] is False
    assert 0.25 <= found["score"] <= 1


def test_different_matters_at_the_same_place_are_not_repeats(hotline):
    appeal(hotline, LIFT, "13800138001")
    appeal(hotline, NOISE, "13800138002")

    assert appeal(hotline, WATER, "13800138003")["repeat_candidates"] == []


def test_the_same_text_elsewhere_is_not_a_repeat(hotline):
    appeal(hotline, LIFT, "13800138001", division="440106")

    assert appeal(hotline, LIFT, "13800138002", division="440111")["repeat_candidates"] == []


def test_the_same_caller_is_always_shown(hotline):
    first = appeal(hotline, NOISE, "13800138001", division="440106")

    second = appeal(hotline, WATER, "13800138001", division="440111")

    [found] = second["repeat_candidates"]
    assert (found["id"], found["same_caller"]) == (first["id"], True)


def test_the_best_match_comes_first(hotline):
    weak = appeal(hotline, "小区电梯有时候会停，希望检修。", "13800138001")
    strong = appeal(hotline, LIFT, "13800138002")

    ids = candidate_ids(appeal(hotline, LIFT_AGAIN, "13800138003"))

    assert ids[0] == strong["id"]
    assert weak["id"] not in ids[1:] or ids.index(weak["id"]) > 0


def test_rejected_appeals_and_old_ones_are_not_candidates(hotline, clock):
    rejected = appeal(hotline, LIFT, "13800138001")
    hotline.do(hotline.operator, rejected["id"], "reject")
    old = appeal(hotline, LIFT, "13800138002")
    clock.set("2025-03-01 10:00:00")  # past the 90-day window

    assert candidate_ids(appeal(hotline, LIFT_AGAIN, "13800138003")) == []
    assert old["id"] != rejected["id"]


def test_the_check_is_recorded_without_personal_data(hotline):
    first = appeal(hotline, LIFT, "13800138001")
    second = appeal(hotline, LIFT_AGAIN, "13900139002")

    [check] = [e for e in hotline.events(second["id"]) if e["action"] == "repeat_check"]

    assert check["detail"]["candidates"][0]["id"] == first["id"]
    assert "13800138001" not in str(check)


def test_the_operator_rejects_it_as_a_repeat(hotline):
    first = appeal(hotline, LIFT, "13800138001")
    second = appeal(hotline, LIFT_AGAIN, "13900139002")

    rejected = hotline.do(hotline.operator, second["id"], "reject",
                          {"reason": "repeat", "explanation": "与在办工单事实理由相同。",
                           "duplicate_of": first["id"]})

    assert rejected["status"] == "rejected"


def test_or_links_it_as_related(hotline):
    first = appeal(hotline, LIFT, "13800138001")
    second = appeal(hotline, LIFT_AGAIN, "13900139002")

    linked = hotline.do(hotline.operator, second["id"], "link", {"related": first["id"]})

    assert linked["status"] == "registered"
    assert hotline.events(second["id"])[-1]["detail"] == {"related": first["id"]}


def test_a_link_must_name_another_existing_ticket(hotline):
    ticket = appeal(hotline, LIFT, "13800138001")

    for related in (ticket["id"], "440100-20241104-999999"):
        response = hotline.act(hotline.operator, ticket["id"], "link", {"related": related})
        assert_error(response, 400, "invalid_field", "related")


def preview(hotline, token=None, **body):
    return hotline.post("/api/v1/repeats", token or hotline.operator, body)


def test_while_the_operator_types_the_likely_repeats_are_shown_and_nothing_is_written(hotline):
    first = appeal(hotline, LIFT, "13800138001")
    total = hotline.total()
    events = len(hotline.events(first["id"]))

    answer = preview(hotline, content=LIFT_AGAIN, division="440106")
    assert answer.status_code == 200, answer.text
    [found] = answer.json()["repeat_candidates"]
    assert found["id"] == first["id"] and found["same_place"] and not found["same_caller"]

    by_caller = preview(hotline, content=WATER, division="440111", phone="138-0013-8001")
    assert by_caller.json()["repeat_candidates"] == []
    by_caller = preview(hotline, content=WATER, division="440111", phone="13800138001")
    [found] = by_caller.json()["repeat_candidates"]
    assert found["same_caller"] and not found["same_place"]

    elsewhere = preview(hotline, hotline.manager, content=LIFT_AGAIN, division="440111")
    assert elsewhere.json()["repeat_candidates"] == []
    assert hotline.total() == total
    assert len(hotline.events(first["id"])) == events


def test_the_preview_checks_its_input_and_its_callers(hotline):
    assert_error(preview(hotline, division="440106"), 400, "invalid_field", "content")
    assert_error(preview(hotline, content=LIFT, division="44010x"), 400, "invalid_field",
                 "division")
    assert_error(preview(hotline, hotline.water, content=LIFT, division="440106"), 403,
                 "forbidden")
