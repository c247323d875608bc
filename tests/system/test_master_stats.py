# SPDX-License-Identifier: Apache-2.0
"""The province's master dataset (REGULATION.md Art 19): its tickets,
filtered and a page at a time, and the figures of every node's own
GET /api/v1/stats computed over it, by any grouping of the node's and by
node; JSON, or CSV with `Accept: text/csv`.

A province and two cities work for two days on one fake clock (Monday
2024-11-04 and Tuesday 2024-11-05), driven through the API; the tests
read what the province reports and set it against what each node says of
itself.

    ticket  node    kind/channel/category                  what happens
    g1      广州    complaint/phone/ecological_environment  Mon: to water, completed, rated well
    g2      广州    consultation/web/public_service         Mon: answered
    g3      广州    complaint/phone/ecological_environment  Mon: rejected
    s1      深圳    report/miniprogram/market_supervision   Mon: to market, extended, supervised
    g4      广州    help/app/public_service                 Tue: to water, returned to market
    g5      广州    complaint/phone/market_supervision      Tue: to market
    s2      深圳    suggestion/web/economic_regulation      Tue: to market, completed, rated badly
    p1      广东省  complaint/phone/public_service          Tue: to the province's water
"""

import csv
import io
import pathlib
import shutil
import tempfile
from contextlib import closing

import psycopg2
import pytest

from hotline import GUANGZHOU, SHENZHEN, Federation, Workspace, wait_until
from lifecycle import FakeClock, Hotline, assert_error

MONDAY, TUESDAY = "2024-11-04", "2024-11-05"
DAYS = {"from": MONDAY, "to": TUESDAY}
GOOD = {"intake": "very_satisfied", "handling": "satisfied"}
BAD = {"intake": "satisfied", "handling": "very_dissatisfied"}
CSV = {"Accept": "text/csv"}
GROUPINGS = ["unit", "kind", "category", "channel", "day"]


def rows(node, sql, params=None):
    with closing(psycopg2.connect(node.settings["database"])) as db, db.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def synced(province, node, clock=None):
    """True once the master dataset holds every event of node (a city, or
    the province's own hotline) and has counted them into its roll-ups,
    and the node's own roll-ups are up to date at the time of its clock
    (default: the real one)."""
    now = clock.now + "+08:00" if clock is not None else None
    own = rows(node, "SELECT count(*) FROM ticket_events")
    held = rows(province, "SELECT count(*) FROM master_events WHERE node = %s", (node.code,))
    stale = rows(node, "SELECT count(*) FROM stats_stale_days(COALESCE(%s, now()), 1000)",
                 (now,))
    return own == held and counted(province, node) and stale == [(0,)]


def counted(province, node):
    """True once no day of node's waits at the province to be counted again
    into the master dataset's roll-ups (they are counted apart from the
    batches that apply its stream)."""
    return rows(province, "SELECT count(*) FROM master_stats_stale WHERE node = %s",
                (node.code,)) == [(0,)]


def complete(office, token, ticket_id, rating=None):
    office.do(token, ticket_id, "completion")
    office.do(office.manager, ticket_id, "completion/review")
    if rating is not None:
        response = office.post(f"/api/v1/tickets/{ticket_id}/rating", office.operator, rating)
        assert response.status_code == 200, response.text


class Province:
    """The federation after its two days, seen from the province."""

    def __init__(self, fed, offices, ids):
        self.fed = fed
        self.node = fed.province
        self.offices = offices  # {node code: Hotline}
        self.office = offices[self.node.code]
        self.ids = ids

    def get(self, path, token=None, headers=None, **params):
        return self.node.http("GET", path, token or self.office.manager, params=params,
                              headers=headers or {})

    def ok(self, path, **params):
        response = self.get(path, **params)
        assert response.status_code == 200, response.text
        return response.json()

    def stats(self, **params):
        return self.ok("/api/v1/master/stats", **params)

    def listed(self, **params):
        """The ids of one page of the master dataset, and the total."""
        body = self.ok("/api/v1/master/tickets", **params)
        return [t["id"] for t in body["tickets"]], body["total"]

    def own_stats(self, code, **params):
        """What node code says of itself: GET /api/v1/stats at the node."""
        office = self.offices[code]
        response = office.node.http("GET", "/api/v1/stats", office.manager, params=params)
        assert response.status_code == 200, response.text
        return response.json()


def two_days(fed, clock):
    offices = {code: Hotline(node) for code, node in
               [(fed.province.code, fed.province)] + list(fed.cities.items())}
    gz, sz, gd = offices["440100"], offices["440300"], offices["440000"]
    ids = {}
    ids["g1"] = gz.in_handling("water")["id"]
    complete(gz, gz.water, ids["g1"], GOOD)
    ids["g2"] = gz.create(kind="consultation", channel="web", category="public_service")["id"]
    gz.do(gz.operator, ids["g2"], "answer")
    ids["g3"] = gz.create()["id"]
    gz.do(gz.operator, ids["g3"], "reject")
    ids["s1"] = sz.in_handling("market", kind="report", channel="miniprogram",
                               category="market_supervision")["id"]
    sz.do(sz.market, ids["s1"], "extension")
    sz.do(sz.manager, ids["s1"], "extension/review")
    sz.do(sz.manager, ids["s1"], "supervise")
    clock.set("2024-11-05 10:00:00")
    ids["g4"] = gz.in_handling("water", kind="help", channel="app", category="public_service")["id"]
    gz.do(gz.water, ids["g4"], "return")
    gz.do(gz.manager, ids["g4"], "return/review")  # to market
    ids["g5"] = gz.in_handling("market", category="market_supervision")["id"]
    ids["s2"] = sz.in_handling("market", kind="suggestion", channel="web",
                               category="economic_regulation")["id"]
    complete(sz, sz.market, ids["s2"], BAD)
    ids["p1"] = gd.in_handling("water", category="public_service")["id"]
    for office in offices.values():
        fed.province.wait_for(lambda node=office.node: synced(fed.province, node, clock),
                              f"the master dataset to hold {office.node.code}'s events")
    return offices, ids


@pytest.fixture(scope="module")
def province(postgres):
    folder = pathlib.Path(tempfile.mkdtemp(prefix="hotline-master-stats-"))
    workspace = Workspace(folder, postgres)
    clock = FakeClock(folder / "faketime")
    fed = Federation(workspace)
    for code, name in (GUANGZHOU, SHENZHEN):
        fed.add_city(code, name)
    for node in (fed.province, *fed.cities.values()):
        node.settings["clock_interval_ms"] = 300
        node.write_config()
        if node is not fed.province:
            fed.register(node)
    try:
        fed.province.start(env=clock.env())
        for city in fed.cities.values():
            city.start(env=clock.env())
        for code in fed.cities:
            fed.wait_connected(code)
        offices, ids = two_days(fed, clock)
        yield Province(fed, offices, ids)
    except BaseException:
        print(workspace.log_tails())
        raise
    finally:
        workspace.stop_all()
    shutil.rmtree(folder, ignore_errors=True)


def figures(row, *keys):
    """The figures of a report row, without its group members."""
    return {k: v for k, v in row.items() if k not in keys}


def add(total, row):
    """Adds the counts of row into total (nested dicts); rates are skipped."""
    for key, value in row.items():
        if isinstance(value, dict):
            add(total.setdefault(key, {}), value)
        elif isinstance(value, int):
            total[key] = total.get(key, 0) + value


def counts(row):
    total = {}
    add(total, row)
    return total


# --- statistics -----------------------------------------------------------------

def test_grouped_by_node_each_row_is_what_the_node_says_of_itself(province):
    report = province.stats(group_by="node", **DAYS)
    by_node = {row["node"]: row for row in report["rows"]}

    assert (report["group_by"], report["node"]) == ("node", None)
    assert sorted(by_node) == ["440000", "440100", "440300"]
    assert [by_node[c]["node_name"] for c in sorted(by_node)] == ["广东省", "广州", "深圳"]
    for code, row in by_node.items():
        assert figures(row, "node", "node_name") == province.own_stats(code, **DAYS)["total"], code
    assert by_node["440100"]["received"] == 5
    assert by_node["440300"]["supervised"] == 1


def test_the_total_is_the_sum_of_the_nodes_own_figures(province):
    total = province.stats(**DAYS)["total"]
    summed = {}
    for code in province.offices:
        add(summed, province.own_stats(code, **DAYS)["total"])

    assert counts(total) == summed
    assert (total["received"], total["dispatched"], total["completed"]) == (8, 6, 2)
    assert total["satisfaction_rate"]["handling"] == 0.5


@pytest.mark.parametrize("group_by", GROUPINGS)
def test_one_node_by_any_grouping_is_what_the_node_says(province, group_by):
    for code in province.offices:
        mine = province.own_stats(code, group_by=group_by, **DAYS)
        master = province.stats(node=code, group_by=group_by, **DAYS)

        assert master["node"] == code
        assert master["total"] == mine["total"]
        if group_by == "unit":  # the province knows the names of its own units only
            assert [figures(r, "node", "unit_name") for r in master["rows"]] == \
                [figures(r, "unit_name") for r in mine["rows"]]
            assert {r["node"] for r in master["rows"]} == {code}
        else:
            assert master["rows"] == mine["rows"]


def test_by_unit_each_node_has_its_own_rows(province):
    report = province.stats(group_by="unit", **DAYS)
    keys = [(r["node"], r["unit"] or "") for r in report["rows"]]  # null: no unit
    water = {r["node"]: r for r in report["rows"] if r["unit"] == "water"}

    assert keys == sorted(keys)
    assert ("440100", "market") in keys and ("440300", "market") in keys
    assert water["440000"]["unit_name"] == "广州市水务局"  # the province's own unit
    assert water["440100"]["unit_name"] is None
    # g4 was returned by water and approved to market: the return is water's.
    assert water["440100"]["returns"] == {"requested": 1, "approved": 1, "refused": 0}


def test_by_day_each_figure_is_on_the_day_of_its_event(province):
    days = {r["day"]: r for r in province.stats(group_by="day", **DAYS)["rows"]}

    assert (days[MONDAY]["received"], days[TUESDAY]["received"]) == (4, 4)
    only_tuesday = province.stats(**{"from": TUESDAY, "to": TUESDAY})["total"]
    assert only_tuesday == figures(days[TUESDAY], "day")


def test_a_period_without_events_has_zero_figures(province):
    report = province.stats(group_by="node", **{"from": "2024-10-01", "to": "2024-10-31"})

    assert report["rows"] == []
    assert report["total"]["received"] == 0 and report["total"]["on_time_rate"] is None


def test_the_roll_ups_equal_a_count_of_the_events(province):
    assert_roll_ups_exact(province.node)


def test_a_resync_sent_again_counts_nothing_twice(province):
    before = province.stats(group_by="node", **DAYS)
    city = province.fed.cities["440100"]

    city.run("resync")
    city.wait_for(lambda: city.http("GET", "/api/v1/federation/links", token=city.admin_token)
                  .json()["links"][0]["queued"] == 0, "the resync to be acknowledged")
    province.node.wait_for(lambda: counted(province.node, city), "the roll-ups counted")

    assert province.stats(group_by="node", **DAYS) == before
    assert_roll_ups_exact(province.node)


def direct_count(province_node, dim):
    """{(node, day, value, category): {counter: n}} counted from master_events."""
    column = {"unit": "x.unit", "kind": "x.kind", "channel": "x.channel"}[dim]
    sql = (f"SELECT e.node, x.day, {column}, x.category, c.*"
           " FROM master_events e"
           " CROSS JOIN LATERAL master_stats_context(e) x"
           " CROSS JOIN LATERAL stats_counts(e.action, e.data ->> 'reason', x.on_time,"
           "                                 x.rating, x.replaced) c")
    return summed_by_key(province_node, sql)


def roll_ups(province_node, dim):
    sql = ("SELECT node, day, value, category, s.* FROM master_stats_daily s"
           f" WHERE dim = '{dim}'")
    found = summed_by_key(province_node, sql, skip=("node", "dim", "day", "value", "category"))
    return {key: row for key, row in found.items() if any(row.values())}


def summed_by_key(node, sql, skip=()):
    with closing(psycopg2.connect(node.settings["database"])) as db, db.cursor() as cur:
        cur.execute(sql)
        names = [d.name for d in cur.description]
        found = {}
        for record in cur.fetchall():
            key = tuple(str(v) for v in record[:4])
            row = found.setdefault(key, {})
            for name, value in zip(names[4:], record[4:]):
                if name not in skip:
                    row[name] = row.get(name, 0) + value
        return found


def assert_roll_ups_exact(province_node):
    for dim in ("unit", "kind", "channel"):
        direct = direct_count(province_node, dim)
        assert direct, dim
        assert roll_ups(province_node, dim) == \
            {key: row for key, row in direct.items() if any(row.values())}, dim


# --- CSV ------------------------------------------------------------------------------

def test_csv_says_what_the_json_says(province):
    for group_by, members in (("node", ["node", "node_name"]),
                              ("unit", ["node", "unit", "unit_name"])):
        response = province.get("/api/v1/master/stats", headers=CSV, group_by=group_by, **DAYS)
        assert response.status_code == 200, response.text
        assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
        assert response.headers["Content-Disposition"] == \
            'attachment; filename="master-stats-2024-11-04-2024-11-05.csv"'
        table = list(csv.DictReader(io.StringIO(response.content.decode("utf-8"), newline="")))
        rows_json = province.stats(group_by=group_by, **DAYS)["rows"]

        assert list(table[0])[:len(members) + 1] == members + ["received"]
        assert len(table) == len(rows_json)
        for line, row in zip(table, rows_json):
            assert says_the_same(line, flat(row)), (line, row)


def flat(row, prefix=""):
    """A JSON report row flattened as its CSV line is: dotted headers."""
    out = {}
    for key, value in row.items():
        if isinstance(value, dict):
            out.update(flat(value, f"{prefix}{key}."))
        else:
            out[prefix + key] = value
    return out


def says_the_same(line, row):
    """A CSV line says what a flattened JSON row says: "" for null, the same
    number (a rate may drop a trailing .0), the same text."""
    def same(text, value):
        if value is None:
            return text == ""
        if isinstance(value, (int, float)):
            return float(text) == value
        return text == value
    return list(line) == list(row) and all(same(line[k], row[k]) for k in row)


# --- the master dataset's tickets -----------------------------------------------------

@pytest.mark.parametrize("params, expected", [
    ({}, ["g1", "g2", "g3", "s1", "g4", "g5", "s2", "p1"]),
    ({"node": "440300"}, ["s1", "s2"]),
    ({"unit": "market"}, ["s1", "g4", "g5", "s2"]),
    ({"kind": "complaint"}, ["g1", "g3", "g5", "p1"]),
    ({"category": "public_service"}, ["g2", "g4", "p1"]),
    ({"status": "handling"}, ["s1", "g4", "g5", "p1"]),
    ({"from": TUESDAY}, ["g4", "g5", "s2", "p1"]),
    ({"to": MONDAY}, ["g1", "g2", "g3", "s1"]),
    ({"from": TUESDAY, "to": TUESDAY, "node": "440100", "unit": "market",
      "kind": "help", "category": "public_service", "status": "handling"}, ["g4"]),
    ({"from": "2024-11-06"}, []),
])
def test_tickets_filtered(province, params, expected):
    ids, total = province.listed(page_size=200, **params)

    assert sorted(ids) == sorted(province.ids[name] for name in expected)
    assert total == len(expected)


def test_tickets_a_page_at_a_time_oldest_first(province):
    body = province.ok("/api/v1/master/tickets", page_size=200)
    everything = [t["id"] for t in body["tickets"]]
    pages = [province.listed(page=n, page_size=3) for n in (1, 2, 3, 4)]

    assert [(t["created_at"], t["id"]) for t in body["tickets"]] == \
        sorted((t["created_at"], t["id"]) for t in body["tickets"])
    assert [ids for ids, _ in pages] == [everything[0:3], everything[3:6], everything[6:8], []]
    assert {t for _, t in pages} == {body["total"]} == {8}
    market, _ = province.listed(unit="market")
    page = province.ok("/api/v1/master/tickets", page=2, page_size=3, unit="market")
    assert (page["page"], page["page_size"], page["total"]) == (2, 3, 4)
    assert [t["id"] for t in page["tickets"]] == market[3:]
    assert "citizen_pii" not in page["tickets"][0]


# --- refusals -------------------------------------------------------------------------

@pytest.mark.parametrize("params, field", [
    ({"node": "4401"}, "node"),
    ({"node": "440101"}, "node"),
    ({"status": "lost"}, "status"),
    ({"unit": "水务"}, "unit"),
    ({"unit": "x" * 33}, "unit"),
    ({"kind": "praise"}, "kind"),
    ({"category": "weather"}, "category"),
    ({"from": "2024-11-31"}, "from"),
    ({"from": "2024-11-04T00:00:00+08:00"}, "from"),
    ({"to": "yesterday"}, "to"),
    ({"from": TUESDAY, "to": MONDAY}, "to"),
    ({"page": "0"}, "page"),
    ({"page_size": "201"}, "page_size"),
    ({"page_size": "ten"}, "page_size"),
])
def test_bad_ticket_filters_are_refused_naming_them(province, params, field):
    assert_error(province.get("/api/v1/master/tickets", **params), 400, "invalid_field", field)


@pytest.mark.parametrize("params, field", [
    ({"to": TUESDAY}, "from"),
    ({"from": MONDAY}, "to"),
    ({"from": "2024-02-30", "to": TUESDAY}, "from"),
    ({"from": TUESDAY, "to": MONDAY}, "to"),
    ({"from": "2000-01-01", "to": "2024-11-05"}, "to"),
    ({**DAYS, "group_by": "division"}, "group_by"),
    ({**DAYS, "group_by": "NODE"}, "group_by"),
    ({**DAYS, "node": "44a100"}, "node"),
])
def test_bad_stats_parameters_are_refused_naming_them(province, params, field):
    assert_error(province.get("/api/v1/master/stats", **params), 400, "invalid_field", field)


def test_a_refused_request_changes_nothing(province):
    def state():
        return (rows(province.node, "SELECT id, version FROM master_tickets ORDER BY id"),
                rows(province.node, "SELECT count(*) FROM master_events"),
                rows(province.node, "SELECT s.* FROM master_stats_daily s"
                                    " ORDER BY dim, day, node, value, category"))
    before = state()
    report = province.stats(group_by="node", **DAYS)

    for params in ({"group_by": "node"}, {**DAYS, "node": "'; DELETE FROM master_events; --"},
                   {**DAYS, "group_by": "node; DROP TABLE master_stats_daily"}):
        assert province.get("/api/v1/master/stats", **params).status_code == 400
    assert province.get("/api/v1/master/tickets",
                        unit="x' OR '1'='1").status_code == 400

    assert state() == before
    assert province.stats(group_by="node", **DAYS) == report


def test_the_node_statistics_offer_no_grouping_by_node(province):
    office = province.offices["440100"]
    response = office.node.http("GET", "/api/v1/stats", office.manager,
                                params={**DAYS, "group_by": "node"})

    assert_error(response, 400, "invalid_field", "group_by")


# --- who may read -----------------------------------------------------------------------

def test_master_statistics_are_for_managers_and_auditors(province):
    office = province.office

    assert_error(province.node.http("GET", "/api/v1/master/stats", None, params=DAYS),
                 401, "unauthorized")
    for token in (office.admin, office.operator, office.water, office.service):
        assert_error(province.get("/api/v1/master/stats", token, **DAYS), 403, "forbidden")
    for token in (office.manager, office.auditor):
        assert province.get("/api/v1/master/stats", token, **DAYS).status_code == 200


def test_master_tickets_are_for_administrators_managers_and_auditors(province):
    office = province.office

    for token in (office.operator, office.water, office.service):
        assert_error(province.get("/api/v1/master/tickets", token), 403, "forbidden")
    for token in (office.admin, office.manager, office.auditor):
        assert province.get("/api/v1/master/tickets", token).status_code == 200


def test_only_the_province_has_a_master_dataset(province):
    office = province.offices["440100"]
    response = office.node.http("GET", "/api/v1/master/stats", office.manager, params=DAYS)

    assert response.status_code == 404


# --- a province restored from a backup ---------------------------------------------------

def copy_database(postgres, source, target):
    """CREATE DATABASE target TEMPLATE source; nobody may be connected to source."""
    with closing(psycopg2.connect(postgres.conninfo("postgres"))) as admin:
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{target}"')
            cur.execute(f'CREATE DATABASE "{target}" TEMPLATE "{source}"')


def test_events_older_than_some_held_are_counted_where_they_belong(workspace, federation):
    """The province comes back from a backup taken before a return was
    approved; the city meanwhile forgot what the province had acknowledged,
    so the completion that followed arrives first, counted for the unit the
    province then believes holds the order.  The city's resync brings the
    approval, and the completion moves to the unit that held the order."""
    fed = federation(GUANGZHOU, start=False)
    for node in (fed.province, *fed.cities.values()):
        node.settings["clock_interval_ms"] = 300
        node.write_config()
    fed.start()
    fed.wait_connected("440100")
    city = fed.cities["440100"]
    office = Hotline(city)
    province_manager = Hotline(fed.province).manager
    ticket = office.in_handling("water")["id"]
    fed.province.wait_for(lambda: synced(fed.province, city), "the dispatch at the province")
    database = fed.province.settings["database"].split("dbname=")[1].split()[0]
    fed.province.stop()
    copy_database(workspace.postgres, database, database + "_backup")
    fed.province.start()

    office.do(office.water, ticket, "return")
    office.do(office.manager, ticket, "return/review")  # to market
    fed.province.wait_for(lambda: synced(fed.province, city), "the return at the province")
    fed.province.stop()
    copy_database(workspace.postgres, database + "_backup", database)
    fed.province.start()
    complete(office, office.market, ticket)
    fed.province.wait_log("no longer holds its messages")
    fed.province.wait_for(lambda: rows(fed.province, "SELECT count(*) FROM master_events"
                                                     " WHERE action = 'completion/review:approve'")
                          == [(1,)], "the completion at the province")
    fed.province.wait_for(lambda: counted(fed.province, city), "the completion counted")
    today = rows(city, "SELECT stats_day_of(now())::text")[0][0]
    period = {"from": today, "to": today, "group_by": "unit", "node": city.code}
    held = fed.province.http("GET", "/api/v1/master/stats", province_manager, params=period)
    [water] = [r for r in held.json()["rows"] if r["unit"] == "water"]
    assert water["completed"] == 1  # the province has not seen the return yet
    assert_roll_ups_exact(fed.province)

    city.run("resync")
    fed.province.wait_for(lambda: synced(fed.province, city), "the resync at the province")

    mine = city.http("GET", "/api/v1/stats", office.manager, params=period).json()
    master = fed.province.http("GET", "/api/v1/master/stats", province_manager,
                               params=period).json()
    assert [figures(r, "node", "unit_name") for r in master["rows"]] == \
        [figures(r, "unit_name") for r in mine["rows"]]
    [market] = [r for r in master["rows"] if r["unit"] == "market"]
    assert (market["completed"], market["returns"]["approved"]) == (1, 0)
    assert_roll_ups_exact(fed.province)


def test_an_appeal_reclassified_at_acceptance_counts_under_its_new_category(federation):
    """Triage accepts an appeal as another category than it came with: its
    node counts all its events under the new one, and so does the province."""
    fed = federation(GUANGZHOU, start=False)
    for node in (fed.province, *fed.cities.values()):
        node.settings["clock_interval_ms"] = 300
        node.write_config()
    fed.start()
    fed.wait_connected("440100")
    city = fed.cities["440100"]
    office = Hotline(city)
    province_manager = Hotline(fed.province).manager
    ticket = office.create(channel="web", category="market_supervision")["id"]
    fed.province.wait_for(lambda: synced(fed.province, city), "the appeal at the province")

    office.do(office.operator, ticket, "accept", {"category": "public_service"})
    office.do(office.operator, ticket, "dispatch", {"unit": "water"})
    fed.province.wait_for(lambda: synced(fed.province, city), "the acceptance at the province")

    today = rows(city, "SELECT stats_day_of(now())::text")[0][0]
    period = {"from": today, "to": today, "group_by": "category", "node": city.code}
    mine = city.http("GET", "/api/v1/stats", office.manager, params=period).json()
    master = fed.province.http("GET", "/api/v1/master/stats", province_manager,
                               params=period).json()
    assert [(r["category"], r["received"], r["dispatched"]) for r in mine["rows"]] == \
        [("public_service", 1, 1)]
    # The category it came with keeps a row of zeros at the province.
    counted = [figures(r, "node") for r in master["rows"]
               if any(isinstance(v, int) and v for v in flat(r).values())]
    assert counted == mine["rows"]
    assert_roll_ups_exact(fed.province)
