"""Emergency fast track: REGULATION.md Art 14.

Each node keeps a dynamic list of urgent matter types.  An appeal that
matches a rule (its category, or any, and one of its keywords) is flagged at
intake, handed to the rule's emergency line (110, 120, 119, 122), handled
within the rule's hours whatever the day, and goes first in the queues.
Managers keep the list; every change is a new version.
"""

import pytest

from lifecycle import assert_error, clock, hotline  # noqa: F401

GAS = {"name": "燃气泄漏", "keywords": ["燃气泄漏", "煤气味"], "line": "119", "period_hours": 4}


def add_rule(hotline, rule=None):
    response = hotline.post("/api/v1/emergency-rules", hotline.manager, rule or GAS)
    assert response.status_code == 201, response.text
    return response.json()


def rules(hotline, token=None):
    response = hotline.node.http("GET", "/api/v1/emergency-rules", token or hotline.operator)
    assert response.status_code == 200, response.text
    return response.json()["rules"]


def test_a_manager_adds_a_rule_that_operators_read(hotline):
    rule = add_rule(hotline)

    assert (rule["version"], rule["line"], rule["period_hours"]) == (1, "119", 4)
    assert rule["created_by"] == "值班长李强"
    assert [r["id"] for r in rules(hotline)] == [rule["id"]]


@pytest.mark.parametrize("who", ["operator", "water", "auditor", "admin"])
def test_only_managers_change_the_list(hotline, who):
    response = hotline.post("/api/v1/emergency-rules", getattr(hotline, who), GAS)

    assert_error(response, 403, "forbidden")


@pytest.mark.parametrize("change, field", [
    ({"line": "911"}, "line"),
    ({"keywords": []}, "keywords"),
    ({"keywords": [""]}, "keywords"),
    ({"keywords": "燃气"}, "keywords"),
    ({"period_hours": 0}, "period_hours"),
    ({"period_hours": 1.5}, "period_hours"),
    ({"category": "weather"}, "category"),
    ({"colour": "red"}, "colour"),
])
def test_bad_rules_are_refused_naming_the_field(hotline, change, field):
    response = hotline.post("/api/v1/emergency-rules", hotline.manager, dict(GAS, **change))

    assert_error(response, 400, "invalid_field", field)
    assert rules(hotline) == []


def test_a_matching_appeal_is_flagged_and_handed_to_its_line(hotline):
    rule = add_rule(hotline)

    ticket = hotline.create(content="楼道里有很浓的煤气味，担心燃气泄漏，请尽快处理。")

    assert ticket["emergency"] == {"rule": rule["id"], "version": 1, "line": "119",
                                   "period_hours": 4}
    handoff = [e for e in hotline.events(ticket["id"]) if e["action"] == "emergency_handoff"]
    assert len(handoff) == 1
    assert handoff[0]["reason"] == "119"


def test_an_ordinary_appeal_is_not_flagged(hotline):
    add_rule(hotline)

    ticket = hotline.create(content="小区路灯坏了一个星期。")

    assert ticket["emergency"] is None
    assert all(e["action"] != "emergency_handoff" for e in hotline.events(ticket["id"]))


def test_a_rule_for_one_category_ignores_the_others(hotline):
    add_rule(hotline, dict(GAS, category="market_supervision"))

    ticket = hotline.create(category="public_service", content="闻到煤气味")

    assert ticket["emergency"] is None


def test_an_emergency_is_due_in_hours_even_on_a_weekend(hotline, clock):
    add_rule(hotline)
    clock.set("2024-11-09 22:00:00")  # a Saturday night
    ticket = hotline.create(content="厨房有煤气味")

    dispatched = hotline.do(hotline.operator, ticket["id"], "dispatch", {"unit": "water"})

    assert dispatched["deadline"] == "2024-11-10T02:00:00+08:00"
    assert dispatched["provisional"] is False


def test_an_emergency_goes_first_in_the_queue(hotline):
    add_rule(hotline)
    first = hotline.create(content="噪声扰民")
    urgent = hotline.create(content="燃气泄漏了")

    queue = hotline.listed(hotline.operator, status="registered")

    assert queue[:2] == [urgent["id"], first["id"]]


def test_a_change_is_a_new_version_and_tickets_keep_theirs(hotline):
    rule = add_rule(hotline)
    before = hotline.create(content="有煤气味")

    response = hotline.node.http("PUT", f"/api/v1/emergency-rules/{rule['id']}", hotline.manager,
                                 json=dict(GAS, period_hours=2))
    assert response.status_code == 200, response.text
    assert response.json()["version"] == 2
    after = hotline.create(content="有煤气味")

    assert before["emergency"]["version"] == 1
    assert (after["emergency"]["version"], after["emergency"]["period_hours"]) == (2, 2)
    shown = hotline.node.http("GET", f"/api/v1/emergency-rules/{rule['id']}", hotline.operator)
    assert [v["version"] for v in shown.json()["versions"]] == [1, 2]


def test_a_removed_rule_no_longer_matches(hotline):
    rule = add_rule(hotline)

    response = hotline.node.http("DELETE", f"/api/v1/emergency-rules/{rule['id']}",
                                 hotline.manager)
    assert response.status_code == 200, response.text
    assert response.json()["active"] is False

    assert rules(hotline) == []
    assert hotline.create(content="燃气泄漏")["emergency"] is None
    again = hotline.node.http("DELETE", f"/api/v1/emergency-rules/{rule['id']}", hotline.manager)
    assert_error(again, 404, "not_found")


def test_an_unknown_rule_is_404(hotline):
    response = hotline.node.http("PUT", "/api/v1/emergency-rules/999", hotline.manager, json=GAS)

    assert_error(response, 404, "not_found")
