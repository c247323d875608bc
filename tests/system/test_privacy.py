# SPDX-License-Identifier: Apache-2.0
"""Privacy and evidence (REGULATION.md Art 16, Art 20): the citizen's name,
phone, ID number and contact are encrypted at rest, shown in clear only to
those who handle the appeal and masked for everyone else; every clear read is
audited; no log line or metric carries them; and every change is an event in
a hash chain that `verify` checks."""

import re
from contextlib import closing

import psycopg2
import psycopg2.sql
import pytest

from hotline import GUANGZHOU, PROVINCE, free_port
from lifecycle import (CITIZEN_CONTACT, CITIZEN_ID_NUMBER, CITIZEN_NAME,  # noqa: F401
                       CITIZEN_PHONE, CLOCK_INTERVAL_MS, Hotline, assert_error, clock,
                       hotline)

PII = [CITIZEN_NAME, CITIZEN_PHONE, CITIZEN_ID_NUMBER, CITIZEN_CONTACT]


# --- who sees what ----------------------------------------------------------------

def test_auditor_sees_the_citizen_masked(hotline):
    ticket = hotline.in_handling()

    citizen = hotline.show(ticket["id"], hotline.auditor)["citizen"]

    assert citizen == {"type": "person", "name": "陈**", "phone": "138****8000",
                       "id_number": "440" + "*" * 13 + "3X", "contact": "***"}


def test_landline_is_masked_the_same_way(hotline):
    ticket = hotline.create(citizen={"phone": "020-83838383"})

    assert hotline.show(ticket["id"], hotline.auditor)["citizen"]["phone"] == "020****8383"


def test_auditor_lists_the_citizen_masked(hotline):
    hotline.create()

    (listed,) = hotline.list(hotline.auditor).json()["tickets"]

    assert listed["citizen"]["phone"] == "138****8000"
    assert listed["citizen"]["name"] == "陈**"


@pytest.mark.parametrize("who", ["operator", "manager", "water"])
def test_those_who_handle_the_appeal_see_the_citizen_in_clear(hotline, who):
    ticket = hotline.in_handling(unit="water")

    citizen = hotline.show(ticket["id"], getattr(hotline, who))["citizen"]

    assert citizen == {"type": "person", "name": CITIZEN_NAME, "phone": CITIZEN_PHONE,
                       "id_number": CITIZEN_ID_NUMBER, "contact": CITIZEN_CONTACT}


# --- audit of clear reads ---------------------------------------------------------

def audit(hotline, ticket_id, token=None):
    response = hotline.node.http("GET", "/api/v1/audit", token or hotline.auditor,
                                 params={"ticket": ticket_id})
    assert response.status_code == 200, response.text
    return response.json()["entries"]


def test_clear_read_is_audited(hotline):
    ticket = hotline.in_handling()
    before = audit(hotline, ticket["id"])

    hotline.show(ticket["id"], hotline.water)

    entries = audit(hotline, ticket["id"])
    assert len(entries) == len(before) + 1
    entry = entries[-1]
    assert {"actor": "水务局办理员", "role": "unit", "ticket": ticket["id"],
            "what": "pii_read"}.items() <= entry.items()
    assert entry["at"].endswith("+08:00")


def test_an_intake_answered_in_clear_is_audited_once_and_a_masked_one_not(hotline):
    """The answer to an intake shows the operator the citizen in clear: that
    read is written to the audit log with the intake itself, once.  A
    service's intake is answered masked, and nothing is written."""
    clear = hotline.create()
    assert clear["citizen"]["phone"] == hotline.ticket()["citizen"]["phone"]
    entries = audit(hotline, clear["id"])
    assert [(e["actor"], e["what"]) for e in entries] == [("坐席王芳", "pii_read")]

    masked = hotline.create(hotline.service)
    assert masked["citizen"]["phone"] != hotline.ticket()["citizen"]["phone"]
    assert audit(hotline, masked["id"]) == []


def test_masked_read_is_not_audited(hotline):
    ticket = hotline.in_handling()
    before = audit(hotline, ticket["id"])

    hotline.show(ticket["id"], hotline.auditor)

    assert audit(hotline, ticket["id"]) == before


def test_clear_list_is_audited_for_every_ticket_shown(hotline):
    ids = [hotline.create()["id"], hotline.create()["id"]]
    before = {ticket_id: len(audit(hotline, ticket_id)) for ticket_id in ids}

    assert hotline.listed(hotline.operator) == ids

    for ticket_id in ids:
        entries = audit(hotline, ticket_id)
        assert len(entries) == before[ticket_id] + 1
        assert (entries[-1]["actor"], entries[-1]["what"]) == ("坐席王芳", "pii_read")


def test_audit_is_not_in_the_ticket_timeline(hotline):
    ticket = hotline.in_handling()
    hotline.show(ticket["id"], hotline.operator)

    assert "pii_read" not in [event["action"] for event in hotline.events(ticket["id"])]


def test_manager_reads_the_audit(hotline):
    ticket = hotline.in_handling()
    hotline.show(ticket["id"], hotline.operator)

    assert audit(hotline, ticket["id"], hotline.manager)


@pytest.mark.parametrize("who", ["operator", "water", "service", "admin"])
def test_audit_is_for_auditors_and_managers(hotline, who):
    ticket = hotline.in_handling()

    response = hotline.node.http("GET", "/api/v1/audit", getattr(hotline, who),
                                 params={"ticket": ticket["id"]})

    assert_error(response, 403, "forbidden")


# --- at rest ---------------------------------------------------------------------

def rows_as_text(node, table=None):
    """Every row of table (default: every table of the node's database),
    each cast to text."""
    with closing(psycopg2.connect(node.settings["database"])) as db, db.cursor() as cursor:
        if table is None:
            cursor.execute("SELECT table_schema, table_name FROM information_schema.tables"
                           " WHERE table_type = 'BASE TABLE'"
                           " AND table_schema NOT IN ('pg_catalog', 'information_schema')")
            tables = cursor.fetchall()
        else:
            tables = [(None, table)]
        rows = []
        for schema, name in tables:
            identifier = (psycopg2.sql.Identifier(schema, name) if schema
                          else psycopg2.sql.Identifier(name))
            cursor.execute(psycopg2.sql.SQL("SELECT t::text FROM {} t").format(identifier))
            rows += [row for (row,) in cursor.fetchall()]
        return rows


def plain_forms(value):
    """value as text and as the hex PostgreSQL shows for bytea."""
    return [value, value.encode().hex()]


def test_pii_is_encrypted_in_the_tickets_table(hotline):
    ticket = hotline.in_handling()

    (row,) = [row for row in rows_as_text(hotline.node, "tickets") if ticket["id"] in row]

    for value in PII:
        for form in plain_forms(value):
            assert form not in row


def test_pii_is_in_no_table_in_clear(hotline):
    ticket = hotline.in_handling()
    hotline.do(hotline.water, ticket["id"], "completion")
    hotline.show(ticket["id"], hotline.manager)

    rows = rows_as_text(hotline.node)

    for value in PII:
        for form in plain_forms(value):
            assert not [row for row in rows if form in row], f"{value!r} found in clear"


# --- logs and metrics --------------------------------------------------------------

def test_no_pii_in_logs_or_metrics_after_a_full_scenario(federation):
    fed = federation(GUANGZHOU, start=False)
    city = fed.cities["440100"]
    for node in (fed.province, city):
        node.settings["log_level"] = "debug"
        node.write_config()
    city.settings["clock_interval_ms"] = CLOCK_INTERVAL_MS
    city.write_config()
    fed.start()
    fed.wait_connected("440100")
    office = Hotline(city)

    ticket_id = office.create(channel="web", token=office.service)["id"]
    for token in (office.operator, office.manager, office.auditor):
        office.show(ticket_id, token)
    office.listed(office.operator)
    office.do(office.operator, ticket_id, "dispatch", {"unit": "water"})
    office.show(ticket_id, office.water)
    office.do(office.water, ticket_id, "notes")
    office.do(office.water, ticket_id, "return")
    office.do(office.manager, ticket_id, "return/review", {"decision": "refuse"})
    office.do(office.water, ticket_id, "extension")
    office.do(office.manager, ticket_id, "extension/review")
    office.do(office.water, ticket_id, "completion")
    office.do(office.manager, ticket_id, "completion/review", {"decision": "send_back"})
    office.do(office.water, ticket_id, "completion")
    office.do(office.manager, ticket_id, "completion/review")
    audit(office, ticket_id)
    # refused requests that carry the PII
    office.post("/api/v1/tickets", office.operator, office.ticket(location={"lat": 99}))
    office.post("/api/v1/tickets", office.operator,
                office.ticket(citizen={"id_number": CITIZEN_ID_NUMBER + "-"}))
    office.post_raw("/api/v1/tickets", office.operator,
                    f'{{"citizen": {{"name": "{CITIZEN_NAME}", "phone": "{CITIZEN_PHONE}"'
                    .encode())
    office.create(citizen={"phone": CITIZEN_PHONE})
    metrics = [node.http("GET", "/metrics").text for node in (fed.province, city)]
    fed.province.stop()
    city.stop()

    for value in PII:
        for node in (fed.province, city):
            assert not node.log_lines(value), f"{value!r} in the log of {node}"
        for text in metrics:
            assert value not in text, f"{value!r} in /metrics"


# --- the event chain ---------------------------------------------------------------

def test_every_change_is_an_event(hotline):
    ticket = hotline.in_handling()
    hotline.do(hotline.water, ticket["id"], "completion")

    events = hotline.events(ticket["id"])

    assert [event["seq"] for event in events] == [1, 2, 3]
    assert [(event["from"], event["to"]) for event in events] == [
        (None, "registered"), ("registered", "handling"), ("handling", "completion_requested")]
    assert [(event["actor"], event["role"]) for event in events] == [
        ("坐席王芳", "operator"), ("坐席王芳", "operator"), ("水务局办理员", "unit")]
    assert all(event["at"].endswith("+08:00") for event in events)


def test_events_carry_a_hash_chain(hotline):
    ticket = hotline.in_handling()
    hotline.do(hotline.water, ticket["id"], "notes")

    hashes = [event["hash"] for event in hotline.events(ticket["id"])]

    assert all(re.fullmatch(r"[0-9a-f]{64}", h) for h in hashes)
    assert len(set(hashes)) == len(hashes)


def test_verify_passes_an_untouched_history(hotline):
    ids = [hotline.in_handling()["id"], hotline.create()["id"]]
    count = sum(len(hotline.events(ticket_id)) for ticket_id in ids)

    result = hotline.node.run("verify")

    assert f"verified {count} events in 2 tickets" in result.stdout + result.stderr


def tamper(node, ticket_id, seq):
    """Edit the reason of one event behind the node's back."""
    with closing(psycopg2.connect(node.settings["database"])) as db, db.cursor() as cursor:
        cursor.execute("UPDATE ticket_events SET reason = 'tampered'"
                       " WHERE ticket_id = %s AND seq = %s", (ticket_id, seq))
        assert cursor.rowcount == 1
        db.commit()


def test_verify_finds_an_edited_event(hotline):
    hotline.in_handling()
    ticket = hotline.in_handling()
    hotline.do(hotline.water, ticket["id"], "completion")
    tamper(hotline.node, ticket["id"], 2)

    result = hotline.node.run("verify", check=False)

    assert result.returncode == 1
    assert f"broken chain: ticket {ticket['id']} event 2" in result.stdout + result.stderr


def test_verify_names_the_first_broken_link(hotline):
    ticket = hotline.in_handling()
    hotline.do(hotline.water, ticket["id"], "completion")
    tamper(hotline.node, ticket["id"], 3)
    tamper(hotline.node, ticket["id"], 2)

    result = hotline.node.run("verify", check=False)

    assert result.returncode == 1
    assert f"broken chain: ticket {ticket['id']} event 2" in result.stdout + result.stderr
    assert "event 3" not in result.stdout + result.stderr


def test_province_verifies_its_chains_too(workspace, clock):
    province = workspace.new_node("province", *PROVINCE,
                                  federation_bind=f"tcp://127.0.0.1:{free_port()}",
                                  clock_interval_ms=CLOCK_INTERVAL_MS)
    province.init()
    province.start(env=clock.env())
    ticket = Hotline(province).in_handling()
    assert province.run("verify").returncode == 0

    tamper(province, ticket["id"], 2)
    result = province.run("verify", check=False)

    assert result.returncode == 1
    assert f"broken chain: ticket {ticket['id']} event 2" in result.stdout + result.stderr
