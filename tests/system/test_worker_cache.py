# SPDX-License-Identifier: Apache-2.0
"""What each HTTP worker keeps between requests (common/fresh.h): the
principals of the tokens it has seen, the active caller restrictions, the
emergency list and the calendar.  A change committed before a request
begins holds for that request, whichever worker takes it: each test opens
several keep-alive connections, which the server spreads over its workers
as they accept them, has each worker keep its copies by using them, makes
a change, and at once uses every connection again."""

from contextlib import closing

import psycopg2
import pytest
import requests

from lifecycle import (CITIZEN_PHONE, assert_error, clock,  # noqa: F401 (fixtures)
                       hotline)

# Twice the default four workers; fewer than the 20 invalid tokens an
# address may send before it waits.
CONNECTIONS = 8
OTHER_PHONE = "13900001111"
GAS = {"name": "燃气泄漏", "keywords": ["燃气泄漏"], "line": "119", "period_hours": 4}


class Connection:
    """One keep-alive connection to the node, held by one worker."""

    def __init__(self, node):
        self.node = node
        self.session = requests.Session()

    def http(self, method, path, token, **kwargs):
        return self.session.request(method, self.node.url + path, timeout=5,
                                    headers={"Authorization": f"Bearer {token}"}, **kwargs)

    def intake(self, hotline, token=None, **overrides):
        return self.http("POST", "/api/v1/tickets", token or hotline.operator,
                         json=hotline.ticket(**overrides))


@pytest.fixture
def connections(hotline):
    opened = [Connection(hotline.node) for _ in range(CONNECTIONS)]
    yield opened
    for c in opened:
        c.session.close()


def execute(node, sql, params=None):
    """Runs one statement on node's database in a transaction of its own."""
    with closing(psycopg2.connect(node.settings["database"])) as db:
        with db, db.cursor() as cur:
            cur.execute(sql, params)


def count(node, sql):
    with closing(psycopg2.connect(node.settings["database"])) as db, db.cursor() as cur:
        cur.execute(sql)
        return cur.fetchone()[0]


def principal_id(hotline, name):
    listing = hotline.node.http("GET", "/api/v1/principals", hotline.admin).json()
    (found,) = [p["id"] for p in listing["principals"] if p["name"] == name]
    return found


def test_a_revoked_token_is_refused_at_once_by_every_worker(hotline, connections):
    ticket = hotline.create()
    for c in connections:
        assert c.http("GET", f"/api/v1/tickets/{ticket['id']}", hotline.operator).status_code == 200
    tickets = count(hotline.node, "SELECT count(*) FROM tickets")

    response = hotline.node.http("DELETE",
                                 f"/api/v1/principals/{principal_id(hotline, '坐席王芳')}",
                                 hotline.admin)
    assert response.status_code == 200, response.text

    for i, c in enumerate(connections):
        if i % 2 == 0:
            response = c.http("GET", f"/api/v1/tickets/{ticket['id']}", hotline.operator)
        else:
            response = c.intake(hotline)
        assert_error(response, 401, "unauthorized")
    assert count(hotline.node, "SELECT count(*) FROM tickets") == tickets
    # The other principals the workers keep still work.
    for c in connections:
        assert c.http("GET", f"/api/v1/tickets/{ticket['id']}", hotline.manager).status_code == 200


def test_a_principal_disabled_in_the_database_is_refused_at_once(hotline, connections):
    for c in connections:
        assert c.http("GET", "/api/v1/units", hotline.auditor).status_code == 200

    execute(hotline.node, "UPDATE principals SET revoked_at = now() WHERE name = '审计员赵敏'")

    for c in connections:
        assert_error(c.http("GET", "/api/v1/units", hotline.auditor), 401, "unauthorized")


def test_a_changed_role_holds_at_once(hotline, connections):
    for c in connections:
        assert c.intake(hotline).status_code == 201
    tickets = count(hotline.node, "SELECT count(*) FROM tickets")

    execute(hotline.node, "UPDATE principals SET role = 'auditor' WHERE name = '坐席王芳'")

    for c in connections:
        assert_error(c.intake(hotline), 403, "forbidden")
    assert count(hotline.node, "SELECT count(*) FROM tickets") == tickets


def test_a_changed_unit_holds_at_once(hotline, connections):
    ticket = hotline.in_handling("water")
    for c in connections:
        response = c.http("GET", f"/api/v1/tickets/{ticket['id']}", hotline.water)
        assert response.status_code == 200, response.text
        assert response.json()["citizen"]["phone"] == CITIZEN_PHONE

    execute(hotline.node, "UPDATE principals SET unit_code = 'market' WHERE name = '水务局办理员'")

    for c in connections:
        assert_error(c.http("GET", f"/api/v1/tickets/{ticket['id']}", hotline.water),
                     404, "not_found")


def test_a_new_restriction_refuses_the_next_intake_on_every_worker(hotline, connections):
    for c in connections:
        assert c.intake(hotline).status_code == 201

    response = hotline.post("/api/v1/restrictions", hotline.operator,
                            {"phone": CITIZEN_PHONE, "reason": "多次来电辱骂坐席。"})
    assert response.status_code == 201, response.text
    restriction = response.json()

    for c in connections:
        assert_error(c.intake(hotline), 403, "caller_restricted")

    response = hotline.node.http("DELETE", f"/api/v1/restrictions/{restriction['id']}",
                                 hotline.manager)
    assert response.status_code == 200, response.text
    for c in connections:
        assert c.intake(hotline).status_code == 201


def test_a_request_run_again_after_a_change_is_done_once(hotline, connections):
    """A change moves the version every worker checks: each one's next
    request is undone and run again, and registers one appeal, not two."""
    for c in connections:
        assert c.intake(hotline, citizen={"phone": OTHER_PHONE}).status_code == 201
    tickets = count(hotline.node, "SELECT count(*) FROM tickets")

    response = hotline.post("/api/v1/restrictions", hotline.operator,
                            {"phone": CITIZEN_PHONE, "reason": "多次来电辱骂坐席。"})
    assert response.status_code == 201, response.text

    ids = set()
    for c in connections:
        response = c.intake(hotline, citizen={"phone": OTHER_PHONE})
        assert response.status_code == 201, response.text
        ids.add(response.json()["id"])
    assert len(ids) == len(connections)
    assert count(hotline.node, "SELECT count(*) FROM tickets") == tickets + len(connections)


def test_a_new_emergency_rule_flags_the_next_intake_on_every_worker(hotline, connections):
    content = "楼道里有燃气泄漏的味道，请尽快处理。"
    for c in connections:
        response = c.intake(hotline, content=content)
        assert response.status_code == 201, response.text
        assert response.json()["emergency"] is None

    response = hotline.post("/api/v1/emergency-rules", hotline.manager, GAS)
    assert response.status_code == 201, response.text
    rule = response.json()

    for c in connections:
        response = c.intake(hotline, content=content)
        assert response.status_code == 201, response.text
        assert response.json()["emergency"] == {"rule": rule["id"], "version": 1,
                                                "line": "119", "period_hours": 4}
