"""The record of who did what is complete and tamper-evident (Art 16).

Each event's hash covers the previous one, and the ticket keeps the head of
its chain, so `verify` finds an edited event, a removed one in the middle,
and the newest ones removed from the end.
"""

from contextlib import closing

import psycopg2

from lifecycle import clock, hotline  # noqa: F401


def sql(node, statement, *args):
    with closing(psycopg2.connect(node.settings["database"])) as db, db.cursor() as cur:
        cur.execute(statement, args)
        db.commit()


def test_an_untouched_history_verifies(hotline):
    hotline.in_handling()

    result = hotline.node.run("verify")

    assert result.stdout.startswith("verified ")


def test_removing_the_newest_event_is_caught(hotline):
    ticket = hotline.in_handling()
    last = hotline.events(ticket["id"])[-1]["seq"]

    sql(hotline.node, "DELETE FROM ticket_events WHERE ticket_id = %s AND seq = %s",
        ticket["id"], last)
    result = hotline.node.run("verify", check=False)

    assert result.returncode == 1
    assert result.stdout.strip() == f"broken chain: ticket {ticket['id']} event {last}"


def test_removing_an_event_in_the_middle_is_caught(hotline):
    ticket = hotline.in_handling()

    sql(hotline.node, "DELETE FROM ticket_events WHERE ticket_id = %s AND seq = 1", ticket["id"])
    result = hotline.node.run("verify", check=False)

    assert result.returncode == 1
    assert f"ticket {ticket['id']} event 1" in result.stdout
