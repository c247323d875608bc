"""Guessing a ticket's four digits from many addresses is still limited (Art 12).

The progress query counts failures per client address and per ticket, so
changing address (an IPv6 client owns a whole /64) does not buy more
guesses at one appeal.  Loopback gives the test many client addresses.
"""

import http.client
import json

from lifecycle import clock, hotline  # noqa: F401

FAILURES_ALLOWED = 10


def query(node, ticket_id, digits, source):
    conn = http.client.HTTPConnection("127.0.0.1", int(node.settings["http_port"]), timeout=10,
                                      source_address=(source, 0))
    try:
        conn.request("GET", f"/api/v1/progress/{ticket_id}?phone_last4={digits}")
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        conn.close()


def test_failures_from_many_addresses_lock_the_ticket(hotline):
    ticket = hotline.create()
    for i in range(FAILURES_ALLOWED):
        status, _ = query(hotline.node, ticket["id"], "0000", f"127.0.1.{i + 1}")
        assert status == 404

    status, _ = query(hotline.node, ticket["id"], "8000", "127.0.2.1")

    assert status == 429


def test_other_tickets_are_not_locked(hotline):
    target, other = hotline.create(), hotline.create()
    for i in range(FAILURES_ALLOWED):
        query(hotline.node, target["id"], "0000", f"127.0.1.{i + 1}")

    status, body = query(hotline.node, other["id"], "8000", "127.0.2.1")

    assert status == 200, body
