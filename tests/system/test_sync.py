"""Every ticket change reaches the provincial master dataset, exactly once.

DESIGN.md, "Federation protocol"; REGULATION.md Art 19.  A city writes each
change and the message announcing it in one transaction; its link numbers
messages when it first sends them, resends from the last acknowledged one
after any trouble, and the province applies each number once.  So whatever
happens to the link or to the processes, the province ends with exactly
the cities' events, no more and no fewer, and each ticket's latest state.
"""

import threading
from contextlib import closing, contextmanager

import psycopg2

from hotline import DEADLINE, GUANGZHOU, SHENZHEN
from lifecycle import Hotline

ADDRESS = "广州市天河区体育西路1号"  # the default appeal's location, see lifecycle.py


def rows(node, sql):
    with closing(psycopg2.connect(node.settings["database"])) as db, db.cursor() as cur:
        cur.execute(sql)
        return cur.fetchall()


def city_events(city):
    return set(rows(city, "SELECT ticket_id, seq, hash FROM ticket_events"))


def master_events(fed, code):
    return set(rows(fed.province, "SELECT ticket_id, seq, hash FROM master_events"
                                  f" WHERE node = '{code}'"))


def city_tickets(city):
    return set(rows(city, "SELECT id, status, version FROM tickets"))


def master_tickets(fed, code):
    return set(rows(fed.province, "SELECT id, status, version FROM master_tickets"
                                  f" WHERE node = '{code}'"))


def wait_in_sync(fed, city, timeout=DEADLINE):
    """Poll until the master dataset holds exactly the city's events and the
    latest state of each of its tickets."""
    fed.province.wait_for(
        lambda: master_events(fed, city.code) == city_events(city)
        and master_tickets(fed, city.code) == city_tickets(city),
        f"the master dataset to equal city {city.code}'s data", timeout)


def running_federation(federation, *cities, **settings):
    """The province and 'cities' started and connected, every node with
    'settings' (heartbeats every 200 ms unless they say otherwise)."""
    fed = federation(*cities, start=False)
    for node in (fed.province, *fed.cities.values()):
        node.settings.update({"heartbeat_interval_ms": 200, **settings})
        node.write_config()
    fed.start()
    for code, _ in cities:
        fed.wait_connected(code)
    return fed


def test_changes_reach_the_master_dataset(federation):
    fed = running_federation(federation, GUANGZHOU)
    city = fed.cities["440100"]
    office = Hotline(city)
    ticket = office.in_handling()
    office.do(office.water, ticket["id"], "completion")
    office.do(office.manager, ticket["id"], "completion/review")

    wait_in_sync(fed, city)

    [(status, version)] = rows(fed.province, "SELECT status, version FROM master_tickets"
                                             f" WHERE id = '{ticket['id']}'")
    assert status == "completed"
    assert version >= 3


def test_no_personal_data_reaches_the_province(federation):
    fed = running_federation(federation, GUANGZHOU)
    city = fed.cities["440100"]
    office = Hotline(city)
    office.in_handling()
    wait_in_sync(fed, city)

    dump = str(rows(fed.province, "SELECT data::text FROM master_tickets")) + \
        str(rows(fed.province, "SELECT data::text FROM master_events"))

    for secret in ("13800138000", "陈小明", "citizen_pii", ADDRESS):
        assert secret not in dump


def test_a_city_works_while_the_province_is_down_and_catches_up(federation):
    fed = running_federation(federation, GUANGZHOU)
    city = fed.cities["440100"]
    office = Hotline(city)
    fed.province.stop()

    for _ in range(20):
        office.in_handling()
    assert rows(fed.province, "SELECT count(*) FROM master_tickets") == [(0,)]

    fed.province.start()
    wait_in_sync(fed, city)


@contextmanager
def burst(office, clients=4):
    """Intake from 'clients' threads until the block ends; the requests a
    node being killed or stopped fails are let go."""
    stop = threading.Event()

    def post():
        while not stop.is_set():
            try:
                office.post("/api/v1/tickets", office.operator, office.ticket())
            except Exception:  # the node is going away: some requests fail
                pass

    workers = [threading.Thread(target=post) for _ in range(clients)]
    for w in workers:
        w.start()
    try:
        yield
    finally:
        stop.set()
        for w in workers:
            w.join()


def duplicated_events(fed):
    return rows(fed.province, "SELECT ticket_id, seq, count(*) FROM master_events"
                              " GROUP BY 1, 2 HAVING count(*) > 1")


def test_the_province_stopped_in_a_burst_takes_it_up_again(federation):
    """Stopped while it holds batches of a city's burst, checked but not yet
    applied, the province applies none of them twice nor loses any (and,
    built with SAN=1, leaves none of them allocated): the city sends them
    again."""
    fed = running_federation(federation, GUANGZHOU)
    city = fed.cities["440100"]

    with burst(Hotline(city)):
        fed.province.wait_for(lambda: len(master_events(fed, city.code)) >= 20,
                              "the burst to reach the master dataset")
        status = fed.province.stop()
    assert status == 0

    fed.province.start()
    wait_in_sync(fed, city)
    assert duplicated_events(fed) == []


def test_changes_committed_while_the_link_sends_do_not_wait_for_a_heartbeat(federation):
    """The link thread's own statements take in the notifications of the
    changes HTTP workers commit meanwhile, which the socket then no longer
    announces: with heartbeats a minute apart, burst after burst of intake
    from several clients reaches the master dataset, to the last change,
    long before the next heartbeat."""
    fed = running_federation(federation, GUANGZHOU, heartbeat_interval_ms=60000)
    city = fed.cities["440100"]
    office = Hotline(city)
    for _ in range(3):
        made = len(city_tickets(city))
        with burst(office):
            city.wait_for(lambda: len(city_tickets(city)) >= made + 20, "a burst of intake")
        wait_in_sync(fed, city)


def test_every_city_has_its_own_stream(federation):
    fed = running_federation(federation, GUANGZHOU, SHENZHEN)
    for city in fed.cities.values():
        office = Hotline(city)
        for _ in range(3):
            office.in_handling()

    for city in fed.cities.values():
        wait_in_sync(fed, city)


def test_a_crash_in_the_middle_of_a_burst_loses_and_duplicates_nothing(federation):
    fed = running_federation(federation, GUANGZHOU)
    city = fed.cities["440100"]

    with burst(Hotline(city)):
        city.wait_for(lambda: rows(city, "SELECT count(*) FROM tickets")[0][0] >= 40,
                      "a burst of intake")
        city.kill()
    fed.province.kill()
    fed.province.start()
    city.start()

    wait_in_sync(fed, city)
    assert duplicated_events(fed) == []


def test_the_province_shows_each_link(federation):
    fed = running_federation(federation, GUANGZHOU)
    city = fed.cities["440100"]
    Hotline(city).in_handling()
    wait_in_sync(fed, city)

    links = fed.province.http("GET", "/api/v1/federation/links",
                              token=fed.province.admin_token).json()["links"]
    [link] = [entry for entry in links if entry["peer"] == "440100"]
    assert link["last_applied"] == len(city_events(city))

    mine = city.http("GET", "/api/v1/federation/links", token=city.admin_token).json()["links"]
    city.wait_for(lambda: city.http("GET", "/api/v1/federation/links",
                                    token=city.admin_token).json()["links"][0]["queued"] == 0,
                  "the city's queue to drain")
    assert mine[0]["peer"] == "440000"
    metrics = city.http("GET", "/metrics").text
    assert 'hotline_link_acked_seq{stream="tickets"}' in metrics


def test_the_master_dataset_is_listed_by_node(federation):
    fed = running_federation(federation, GUANGZHOU, SHENZHEN)
    for city in fed.cities.values():
        Hotline(city).in_handling()
    for city in fed.cities.values():
        wait_in_sync(fed, city)

    response = fed.province.http("GET", "/api/v1/master/tickets",
                                 token=fed.province.admin_token, params={"node": "440300"})

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] == 1
    assert body["tickets"][0]["owner_node"] == "440300"
    assert "citizen_pii" not in body["tickets"][0]


def test_the_province_own_hotline_feeds_the_master_dataset(federation):
    fed = running_federation(federation, GUANGZHOU)
    office = Hotline(fed.province)

    ticket = office.in_handling()

    fed.province.wait_for(
        lambda: rows(fed.province, "SELECT node, status FROM master_tickets"
                                   f" WHERE id = '{ticket['id']}'") == [("440000", "handling")],
        "the province's own ticket in the master dataset")
    assert set(rows(fed.province, "SELECT ticket_id, seq, hash FROM master_events"
                                  " WHERE node = '440000'")) == \
        set(rows(fed.province, "SELECT ticket_id, seq, hash FROM ticket_events"))


def test_a_province_restored_from_a_backup_is_resynced_without_duplicates(federation):
    fed = running_federation(federation, GUANGZHOU)
    city = fed.cities["440100"]
    office = Hotline(city)
    for _ in range(5):
        office.in_handling()
    wait_in_sync(fed, city)
    # The province comes back from an old backup: it lost the city's data
    # and its cursor, while the city has forgotten what it acknowledged.
    fed.province.stop()
    with closing(psycopg2.connect(fed.province.settings["database"])) as db, db.cursor() as cur:
        cur.execute("DELETE FROM master_events WHERE node = '440100'")
        cur.execute("DELETE FROM master_tickets WHERE node = '440100'")
        cur.execute("UPDATE inbox_state SET last_applied = 0 WHERE peer = '440100'")
        db.commit()
    fed.province.start()
    office.in_handling()
    fed.province.wait_log("no longer holds its messages")

    result = city.run("resync")

    assert "queued" in result.stdout
    wait_in_sync(fed, city)
    city.run("resync")
    wait_in_sync(fed, city)
    assert rows(fed.province, "SELECT count(*) FROM master_events WHERE node = '440100'") == \
        [(len(city_events(city)),)]


def reconciliation(fed, **params):
    response = fed.province.http("GET", "/api/v1/federation/reconciliation",
                                 token=fed.province.admin_token, params=params)
    assert response.status_code == 200, response.text
    return response.json()["days"]


def test_daily_reports_reconcile_with_the_master_dataset(federation):
    fed = running_federation(federation, GUANGZHOU, clock_interval_ms=300)
    city = fed.cities["440100"]
    office = Hotline(city)
    for _ in range(3):
        office.in_handling()
    wait_in_sync(fed, city)

    city.wait_for(lambda: any(d["node"] == "440100" and d["reported"] == len(city_events(city))
                              for d in reconciliation(fed)),
                  "the city's report of today")
    [today] = [d for d in reconciliation(fed, node="440100") if d["reported"] > 0]
    assert today["match"] is True and today["received"] == today["reported"]
    assert reconciliation(fed, mismatches="true") == []

    # An event lost at the province shows up as a mismatch of its day.
    with closing(psycopg2.connect(fed.province.settings["database"])) as db, db.cursor() as cur:
        cur.execute("DELETE FROM master_events WHERE node = '440100'"
                    " AND (ticket_id, seq) = (SELECT ticket_id, seq FROM master_events"
                    "                         WHERE node = '440100' LIMIT 1)")
        db.commit()
    [lost] = reconciliation(fed, mismatches="true")
    assert (lost["node"], lost["received"]) == ("440100", today["reported"] - 1)
