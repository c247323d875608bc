"""Periods by source and the lead unit after a return: REGULATION.md Art 10, 11.

Orders handed down by the national government-service platform follow
national rules: one configurable period whatever their kind.  When a return
is approved the office may designate the new unit as the lead, which may not
return the order again.
"""

from lifecycle import assert_error, clock, hotline  # noqa: F401


def test_a_national_platform_order_has_the_national_period(hotline):
    ticket = hotline.create(source="national_platform")

    dispatched = hotline.do(hotline.operator, ticket["id"], "dispatch", {"unit": "water"})

    assert dispatched["source"] == "national_platform"
    # A complaint, but 10 working days after Monday 2024-11-04, not 15.
    assert dispatched["deadline"] == "2024-11-18T23:59:59+08:00"


def test_a_local_order_keeps_the_period_of_its_kind(hotline):
    ticket = hotline.create()

    dispatched = hotline.do(hotline.operator, ticket["id"], "dispatch", {"unit": "water"})

    assert dispatched["source"] == "local"
    assert dispatched["deadline"] == "2024-11-25T23:59:59+08:00"


def test_an_unknown_source_is_refused(hotline):
    response = hotline.post("/api/v1/tickets", hotline.operator, hotline.ticket(source="fax"))

    assert_error(response, 400, "invalid_field", "source")


def test_after_a_return_the_office_designates_a_lead_that_cannot_return(hotline):
    ticket = hotline.in_handling()
    hotline.do(hotline.water, ticket["id"], "return")

    moved = hotline.do(hotline.manager, ticket["id"], "return/review",
                       {"decision": "approve", "unit": "market", "no_return": True})

    assert (moved["unit"], moved["no_return"]) == ("market", True)
    assert_error(hotline.act(hotline.market, ticket["id"], "return"), 409, "no_return_order")


def test_an_approved_return_without_designation_may_be_returned_again(hotline):
    ticket = hotline.in_handling()
    hotline.do(hotline.water, ticket["id"], "return")

    moved = hotline.do(hotline.manager, ticket["id"], "return/review",
                       {"decision": "approve", "unit": "market"})

    assert moved["no_return"] is False
    assert "return" in hotline.show(ticket["id"], hotline.market)["allowed_actions"]
