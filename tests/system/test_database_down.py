"""A node whose database goes away answers at once that it cannot serve,
writes nothing by half, and carries on by itself when the database is back.

Requests that need the database are answered 503 database_unavailable
while it is away, without waiting for it; its threads (HTTP, link, clock)
stay up and reconnect; what a request answered 201 before the outage is
there after it, and nothing a request was refused for is.
"""

from contextlib import closing

import psycopg2

from hotline import GUANGZHOU, Federation
from lifecycle import Hotline, assert_error, clock, hotline  # noqa: F401


def rows(node, sql, params=None):
    with closing(psycopg2.connect(node.settings["database"])) as db, db.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def count(node, sql, params=None):
    return rows(node, sql, params)[0][0]


def test_requests_fail_fast_while_the_database_is_down_and_work_again_after(
        federation, postgres):
    fed = federation(GUANGZHOU)
    fed.wait_connected("440100")
    city = fed.cities["440100"]
    office = Hotline(city)
    before = office.in_handling()
    tickets, events = count(city, "SELECT count(*) FROM tickets"), \
        count(city, "SELECT count(*) FROM ticket_events")

    postgres.allow_connections(city.settings["database"], False)
    try:
        city.wait_for(lambda: city.http("GET", "/healthz").status_code == 503,
                      "/healthz to report the database down")
        # Reading, writing, and the workflow: each refused, none waits.
        for response in (
                office.post("/api/v1/tickets", office.operator, office.ticket()),
                city.http("GET", f"/api/v1/tickets/{before['id']}", token=office.operator),
                office.act(office.water, before["id"], "completion"),
                city.http("GET", "/api/v1/stats", token=office.manager)):
            assert_error(response, 503, "database_unavailable")
    finally:
        postgres.allow_connections(city.settings["database"], True)

    # Back by itself at once: no restart, the same tokens, and every HTTP
    # worker, each finding its connection gone, connects again.
    for _ in range(4 * city.settings["http_threads"]):
        assert office.show(before["id"])["status"] == before["status"]
    assert city.http("GET", "/healthz").status_code == 200
    assert count(city, "SELECT count(*) FROM tickets") == tickets
    assert count(city, "SELECT count(*) FROM ticket_events") == events
    after = office.in_handling()
    assert after["id"] != before["id"]
    assert city.is_running()

    # The link and its outbox came back too: the province gets what came after.
    fed.province.wait_for(
        lambda: count(fed.province, "SELECT count(*) FROM master_tickets WHERE id = %s",
                      (after["id"],)) == 1,
        "the ticket made after the outage in the master dataset")


def test_the_master_dataset_catches_up_when_the_provinces_database_is_back(
        federation, postgres):
    fed = federation(GUANGZHOU)
    fed.wait_connected("440100")
    city = fed.cities["440100"]
    office = Hotline(city)
    first = office.in_handling()
    province_db = fed.province.settings["database"]

    def master_ids():
        return {row[0] for row in rows(fed.province, "SELECT id FROM master_tickets")}
    fed.province.wait_for(lambda: first["id"] in master_ids(), "the first ticket to arrive")

    postgres.allow_connections(province_db, False)
    try:
        fed.province.wait_for(lambda: fed.province.http("GET", "/healthz").status_code == 503,
                              "the province to report its database down")
        # The city works on; what it takes waits in its outbox.
        during = [office.in_handling()["id"] for _ in range(3)]
    finally:
        postgres.allow_connections(province_db, True)

    fed.province.wait_for(lambda: set(during) <= master_ids(),
                          "what the city took meanwhile to reach the master dataset")
    assert fed.province.is_running()


def test_a_province_whose_database_turns_a_thread_away_at_start_runs_on(workspace, postgres):
    """The province's database takes one connection of its role at a time
    (a connection limit reached, a pool exhausted): its link thread and the
    master dataset's thread cannot both connect as it starts.  It runs on,
    and once the database takes them the cities connect and their changes
    reach the master dataset."""
    role = "hotline_one_connection"
    with closing(psycopg2.connect(postgres.conninfo("postgres"))) as admin:
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute(f"CREATE ROLE {role} LOGIN CONNECTION LIMIT 1")
            cur.execute(f"CREATE DATABASE {role} OWNER {role}")
    conninfo = postgres.conninfo(role).replace(f"user={postgres.superuser}", f"user={role}")

    fed = Federation(workspace, province_database=conninfo)
    city = fed.add_city(*GUANGZHOU)
    fed.register(city)
    fed.start()
    fed.province.wait_for(lambda: "database unavailable for now" in fed.province.log_path.read_text(),
                          "a thread of the province turned away by its database")
    assert fed.province.is_running()

    with closing(psycopg2.connect(postgres.conninfo("postgres"))) as admin:
        admin.autocommit = True
        admin.cursor().execute(f"ALTER ROLE {role} CONNECTION LIMIT -1")
    fed.wait_connected("440100")
    ticket = Hotline(city).in_handling()
    fed.province.wait_for(
        lambda: count(fed.province, "SELECT count(*) FROM master_tickets WHERE id = %s",
                      (ticket["id"],)) == 1,
        "the city's ticket in the master dataset")
    assert fed.province.is_running()


def test_an_intake_whose_last_write_fails_answers_an_error_and_leaves_nothing(hotline):
    """An intake's writes travel without waiting for their answers (db_send)
    and are checked with its commit: when the last of them fails (here the
    audit entry of the answer, refused by a trigger), the request fails and
    neither the ticket, its events nor its messages for the province stay."""
    node = hotline.node
    tables = ("tickets", "ticket_events", "outbox", "audit_log")
    before = {table: count(node, f"SELECT count(*) FROM {table}") for table in tables}
    with closing(psycopg2.connect(node.settings["database"])) as db, db.cursor() as cur:
        cur.execute("CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS"
                    " $$ BEGIN RAISE EXCEPTION 'refused'; END $$")
        cur.execute("CREATE TRIGGER refuse BEFORE INSERT ON audit_log"
                    " FOR EACH ROW EXECUTE FUNCTION refuse()")
        db.commit()

    response = hotline.post("/api/v1/tickets", hotline.operator, hotline.ticket())
    assert response.status_code == 500, response.text
    assert {table: count(node, f"SELECT count(*) FROM {table}") for table in tables} == before

    with closing(psycopg2.connect(node.settings["database"])) as db, db.cursor() as cur:
        cur.execute("DROP TRIGGER refuse ON audit_log")
        db.commit()
    ticket = hotline.create()
    assert count(node, "SELECT count(*) FROM tickets WHERE id = %s", (ticket["id"],)) == 1
