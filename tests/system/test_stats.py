# SPDX-License-Identifier: Apache-2.0
"""Statistics, unit assessment and the supervision report (REGULATION.md
Art 16, Art 17): figures of any period from daily roll-ups the clock thread
keeps, a reproducible monthly score per handling unit, the orders to
supervise; JSON, or CSV with `Accept: text/csv`.

One city node lives through a week of work on its fake clock (Monday
2024-11-04 to Thursday 2024-11-07), driven through the API; the tests read
what it reports.  Its configuration leaves public_service out of the
satisfaction rate, as a node may for mediation or law-enforcement cases.

    ticket  kind/channel/category                  what happens
    A       complaint/phone/ecological_environment to water; two extensions;
                                                   completed Tue, rated badly;
                                                   redone Wed; completed Thu,
                                                   rated well (replaces)
    B       consultation/web/public_service        answered on the spot
    C, D    complaint/phone/ecological_environment rejected: outside
                                                   jurisdiction, abusive
    E       help/app/public_service                to water, returned to
                                                   market; completed Tue, rated
                                                   dissatisfied
    F       complaint/phone/market_supervision     to market; return refused
                                                   (improper); supervised
    G       consultation/miniprogram/public_service to water Mon, due Wed;
                                                   overdue Thu, completed late
"""

import csv
import io
import pathlib
import shutil
import tempfile
from contextlib import closing

import psycopg2
import pytest

from hotline import Workspace, wait_until
from lifecycle import BODIES, FakeClock, Hotline, assert_error, standalone_city

GOOD = {"intake": "very_satisfied", "handling": "satisfied"}
BAD = {"intake": "satisfied", "handling": "very_dissatisfied"}
MEH = {"intake": "basically_satisfied", "handling": "dissatisfied"}
WEEK = {"from": "2024-11-04", "to": "2024-11-08"}
CSV = {"Accept": "text/csv"}


class Week:
    """The node after the week of work, and the ids of its tickets."""

    def __init__(self, hotline, clock, ids, kb_entry):
        self.hotline = hotline
        self.clock = clock
        self.ids = ids
        self.kb_entry = kb_entry

    def get(self, path, token=None, headers=None, **params):
        return self.hotline.node.http("GET", path, token or self.hotline.manager,
                                      params=params, headers=headers or {})

    def report(self, path, token=None, **params):
        response = self.get(path, token, **params)
        assert response.status_code == 200, response.text
        return response.json()

    def stats(self, **params):
        return self.report("/api/v1/stats", **params)

    def rows(self, group_by, **period):
        """{group value: row} of a grouped report of the week (or period)."""
        report = self.stats(group_by=group_by, **(period or WEEK))
        return {row[group_by]: row for row in report["rows"]}


def rate(hotline, ticket_id, body):
    response = hotline.post(f"/api/v1/tickets/{ticket_id}/rating", hotline.operator, body)
    assert response.status_code == 200, response.text


def complete(hotline, token, ticket_id):
    hotline.do(token, ticket_id, "completion")
    hotline.do(hotline.manager, ticket_id, "completion/review")


def rolled_up(node, clock):
    """True once the clock thread has rolled up every day to the fake today."""
    with closing(psycopg2.connect(node.settings["database"])) as db, db.cursor() as cur:
        cur.execute("SELECT count(*) FROM stats_stale_days(%s::timestamptz, 1000)",
                    (clock.now + "+08:00",))
        return cur.fetchone()[0] == 0


def live_week(hotline, clock):
    h = hotline
    ids = {}
    # Monday 2024-11-04
    ids["A"] = h.in_handling("water", kind="complaint", channel="phone")["id"]
    ids["B"] = h.create(kind="consultation", channel="web", category="public_service")["id"]
    h.do(h.operator, ids["B"], "answer")
    ids["C"] = h.create()["id"]
    h.do(h.operator, ids["C"], "reject")
    ids["D"] = h.create()["id"]
    h.do(h.operator, ids["D"], "reject", {"reason": "abusive_or_empty", "explanation": "无实质内容"})
    ids["E"] = h.in_handling("water", kind="help", channel="app", category="public_service")["id"]
    h.do(h.water, ids["E"], "return")
    h.do(h.manager, ids["E"], "return/review")  # to market
    ids["F"] = h.in_handling("market", category="market_supervision")["id"]
    h.do(h.market, ids["F"], "return")
    h.do(h.manager, ids["F"], "return/review", {"decision": "refuse", "note": "属本单位职责"})
    h.do(h.manager, ids["F"], "supervise")
    ids["G"] = h.in_handling("water", kind="consultation", channel="miniprogram",
                             category="public_service")["id"]
    for _ in range(2):
        h.do(h.water, ids["A"], "extension")
        h.do(h.manager, ids["A"], "extension/review")
    entry = h.post("/api/v1/kb", h.water, {
        "type": "contact", "title": "供水抢修热线",
        "text": "停水请拨打自来水公司24小时抢修热线96968。", "valid_from": "2024-01-01"})
    assert entry.status_code == 201, entry.text
    kb_id = entry.json()["id"]
    review = h.post(f"/api/v1/kb/{kb_id}/review", h.manager, {"decision": "approve", "version": 1})
    assert review.status_code == 200, review.text
    filed = h.post(f"/api/v1/kb/{kb_id}/corrections", h.manager, {"note": "热线号码已变更"})
    assert filed.status_code == 201, filed.text
    # Tuesday
    clock.set("2024-11-05 10:00:00")
    complete(h, h.water, ids["A"])
    rate(h, ids["A"], BAD)
    complete(h, h.market, ids["E"])
    rate(h, ids["E"], MEH)
    # Wednesday
    clock.set("2024-11-06 10:00:00")
    h.do(h.operator, ids["A"], "redo", {"reason": "诉求人要求重办"})
    h.do(h.manager, ids["A"], "redo/review", {"decision": "approve"})
    # Thursday: G's deadline (Wednesday 23:59:59) has passed.
    clock.set("2024-11-07 10:00:00")
    h.wait_for_flag(ids["G"], "overdue")
    complete(h, h.water, ids["G"])
    complete(h, h.water, ids["A"])
    rate(h, ids["A"], GOOD)
    h.node.wait_for(lambda: rolled_up(h.node, clock), "the roll-ups of the week")
    return ids, kb_id


@pytest.fixture(scope="module")
def week(postgres):
    folder = pathlib.Path(tempfile.mkdtemp(prefix="hotline-stats-"))
    workspace = Workspace(folder, postgres)
    clock = FakeClock(folder / "faketime")
    node = standalone_city(workspace, satisfaction_excluded_categories="public_service")
    node.start(env=clock.env())
    try:
        hotline = Hotline(node)
        ids, kb_id = live_week(hotline, clock)
        yield Week(hotline, clock, ids, kb_id)
    except BaseException:
        print(workspace.log_tails())
        raise
    finally:
        workspace.stop_all()
    shutil.rmtree(folder, ignore_errors=True)


# --- figures --------------------------------------------------------------------

def test_totals_of_the_week(week):
    report = week.stats(**WEEK)
    total = report["total"]

    assert (report["from"], report["to"], report["group_by"]) == ("2024-11-04", "2024-11-08", None)
    assert report["rows"] == [total]
    assert (total["received"], total["accepted"], total["answered"], total["dispatched"]) == (
        7, 5, 1, 4)
    assert total["rejected"] == {"total": 2, "outside_jurisdiction": 1, "other_legal_channel": 0,
                                 "petition_channel": 0, "secret_or_privacy": 0,
                                 "abusive_or_empty": 1, "repeat": 0, "other": 0}
    # A twice (before and after its redo) and E on time; G late.
    assert (total["completed"], total["completed_on_time"], total["on_time_rate"]) == (
        4, 3, 0.75)
    assert total["overdue"] == {"open": 1, "closed": 1}
    assert total["returns"] == {"requested": 2, "approved": 1, "refused": 1}
    assert total["extensions"] == {"requested": 2, "approved": 2, "refused": 0}
    assert total["redo"] == {"requested": 1, "approved": 1}
    assert total["supervised"] == 1


def test_the_second_rating_replaces_the_first(week):
    total = week.stats(**WEEK)["total"]

    # A's bad first rating is gone; its good second one and E's remain.
    assert total["rated"] == 2
    assert total["ratings"] == {
        "intake": {"very_satisfied": 1, "satisfied": 0, "basically_satisfied": 1,
                   "dissatisfied": 0, "very_dissatisfied": 0},
        "handling": {"very_satisfied": 0, "satisfied": 1, "basically_satisfied": 0,
                     "dissatisfied": 1, "very_dissatisfied": 0}}


def test_a_rating_counts_on_its_day_and_a_second_takes_the_first_back_on_its_day(week):
    tuesday = week.stats(**{"from": "2024-11-05", "to": "2024-11-05"})["total"]
    thursday = week.stats(**{"from": "2024-11-07", "to": "2024-11-07"})["total"]

    assert tuesday["rated"] == 2
    assert tuesday["ratings"]["handling"]["very_dissatisfied"] == 1
    assert thursday["rated"] == 0
    assert thursday["ratings"]["handling"]["satisfied"] == 1
    assert thursday["ratings"]["handling"]["very_dissatisfied"] == -1
    assert thursday["satisfaction_rate"] == {"intake": None, "handling": None}


def test_excluded_categories_are_reported_but_not_in_the_satisfaction_rate(week):
    report = week.stats(**WEEK)

    assert report["excluded_categories"] == ["public_service"]
    # E (public_service, dissatisfied) is counted among the ratings but not
    # in the rate: only A's satisfied second rating is.
    assert report["total"]["ratings"]["handling"]["dissatisfied"] == 1
    assert report["total"]["satisfaction_rate"] == {"intake": 1.0, "handling": 1.0}
    by_category = week.rows("category")
    assert by_category["public_service"]["rated"] == 1
    assert by_category["public_service"]["satisfaction_rate"] == {"intake": None,
                                                                  "handling": None}


def test_grouped_by_unit_each_event_counts_for_the_unit_holding_the_order(week):
    rows = week.stats(group_by="unit", **WEEK)["rows"]
    by_unit = {row["unit"]: row for row in rows}

    assert set(by_unit) == {None, "water", "market"}
    office = by_unit[None]
    assert (office["unit_name"], office["received"], office["answered"]) == (None, 7, 1)
    assert office["rejected"]["total"] == 2
    water, market = by_unit["water"], by_unit["market"]
    assert water["unit_name"] == "广州市水务局"
    assert (water["dispatched"], water["completed"], water["completed_on_time"]) == (3, 3, 2)
    assert water["overdue"] == {"open": 1, "closed": 1}
    # The water authority returned E; the approval counts for it, not market.
    assert water["returns"] == {"requested": 1, "approved": 1, "refused": 0}
    assert water["extensions"]["approved"] == 2 and water["redo"]["approved"] == 1
    assert (market["dispatched"], market["completed"], market["supervised"]) == (1, 1, 1)
    assert market["returns"] == {"requested": 1, "approved": 0, "refused": 1}
    assert market["ratings"]["handling"]["dissatisfied"] == 1


@pytest.mark.parametrize("group_by, expected", [
    ("kind", {"complaint": 4, "consultation": 2, "help": 1}),
    ("channel", {"phone": 4, "web": 1, "app": 1, "miniprogram": 1}),
    ("category", {"ecological_environment": 3, "public_service": 3, "market_supervision": 1}),
    ("day", {"2024-11-04": 7}),
])
def test_group_by_variants_add_up_to_the_totals(week, group_by, expected):
    report = week.stats(group_by=group_by, **WEEK)
    rows = {row[group_by]: row for row in report["rows"]}

    assert {key: row["received"] for key, row in rows.items() if row["received"]} == expected
    for figure in ("received", "dispatched", "completed", "rated", "supervised"):
        assert sum(row[figure] for row in rows.values()) == report["total"][figure]
    assert report["total"] == week.stats(**WEEK)["total"]


def test_grouped_by_day_each_figure_is_on_the_day_of_its_event(week):
    days = week.rows("day")

    assert sorted(days) == ["2024-11-04", "2024-11-05", "2024-11-06", "2024-11-07"]
    assert days["2024-11-04"]["dispatched"] == 4
    assert days["2024-11-05"]["completed"] == 2
    assert days["2024-11-06"]["redo"] == {"requested": 1, "approved": 1}
    assert (days["2024-11-07"]["completed"], days["2024-11-07"]["overdue"]["open"]) == (2, 1)


def test_a_period_without_events_has_zero_figures(week):
    total = week.stats(**{"from": "2024-10-01", "to": "2024-10-31"})["total"]

    assert total["received"] == 0 and total["rated"] == 0
    assert total["on_time_rate"] is None


# --- parameters and roles -------------------------------------------------------------

@pytest.mark.parametrize("params, field", [
    ({"to": "2024-11-08"}, "from"),
    ({"from": "2024-11-04"}, "to"),
    ({"from": "2024-11-31", "to": "2024-12-01"}, "from"),
    ({"from": "2024/11/04", "to": "2024-11-08"}, "from"),
    ({"from": "2024-11-08", "to": "2024-11-04"}, "to"),
    ({"from": "2000-01-01", "to": "2024-11-04"}, "to"),
    ({**WEEK, "group_by": "operator"}, "group_by"),
])
def test_bad_stats_parameters_are_refused_naming_the_field(week, params, field):
    assert_error(week.get("/api/v1/stats", **params), 400, "invalid_field", field)


@pytest.mark.parametrize("month", [None, "2024-13", "2024-1", "202411", "2024-11-01", "abcd-11"])
def test_bad_months_are_refused(week, month):
    params = {"month": month} if month else {}
    assert_error(week.get("/api/v1/assessment", **params), 400, "invalid_field", "month")


@pytest.mark.parametrize("path", ["/api/v1/stats", "/api/v1/assessment", "/api/v1/supervision"])
def test_reports_are_for_managers_and_auditors(week, path):
    h = week.hotline
    params = {"month": "2024-11"} if path.endswith("assessment") else WEEK

    response = h.node.http("GET", path, None, params=params)
    assert_error(response, 401, "unauthorized")
    for token in (h.operator, h.water, h.admin, h.service):
        assert_error(week.get(path, token, **params), 403, "forbidden")
    assert week.get(path, h.auditor, **params).status_code == 200
    assert week.get(path, h.manager, **params).status_code == 200


# --- CSV -----------------------------------------------------------------------------------

def parse_csv(response, filename):
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == f'attachment; filename="{filename}"'
    assert response.content.endswith(b"\r\n")
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8"), newline="")))


def test_stats_as_csv_say_what_the_json_says(week):
    rows = parse_csv(week.get("/api/v1/stats", headers=CSV, group_by="unit", **WEEK),
                     "stats-2024-11-04-2024-11-08.csv")
    by_unit = {row["unit"]: row for row in rows}
    water = week.rows("unit")["water"]

    assert list(rows[0])[:4] == ["unit", "unit_name", "received", "accepted"]
    assert by_unit["water"]["unit_name"] == "广州市水务局"
    assert by_unit[""]["received"] == "7"
    assert by_unit["water"]["returns.approved"] == "1"
    assert by_unit["water"]["ratings.handling.satisfied"] == str(
        water["ratings"]["handling"]["satisfied"])
    assert by_unit["water"]["on_time_rate"] == "0.6667"
    assert by_unit["market"]["satisfaction_rate.handling"] == ""


def test_json_is_the_default_and_csv_must_be_asked_for(week):
    for accept in ("application/json", "*/*", "text/csv;q=0, application/json",
                   "application/json, text/csv;q=0.5"):
        response = week.get("/api/v1/stats", headers={"Accept": accept}, **WEEK)
        assert response.headers["Content-Type"] == "application/json", accept
    response = week.get("/api/v1/stats", headers={"Accept": "text/html, text/csv;q=0.9"}, **WEEK)
    assert response.headers["Content-Type"].startswith("text/csv")


# --- assessment ------------------------------------------------------------------------------

def expected_score(unit, formula):
    """The formula of README "Assessment", recomputed from the rates shown."""
    weights = formula["weights"]
    parts = [(weights[name], unit[f"{name}_rate"]) for name in weights]
    parts = [(w, r) for w, r in parts if r is not None and w > 0]
    score = 100 * sum(w * r for w, r in parts) / sum(w for w, _ in parts)
    return max(0.0, min(100.0, score - formula["penalty_supervised"] * unit["supervised"]))


def test_assessment_scores_each_unit_by_the_formula(week):
    report = week.report("/api/v1/assessment", month="2024-11")
    units = {u["unit"]: u for u in report["units"]}

    assert report["formula"] == {"weights": {"on_time": 40, "satisfaction": 40, "returns": 10,
                                             "redo": 10},
                                 "penalty_supervised": 2,
                                 "excluded_categories": ["public_service"]}
    assert (report["from"], report["to"]) == ("2024-11-01", "2024-11-30")
    water, market = units["water"], units["market"]
    assert (water["completed"], water["completed_on_time"], water["redo_approved"]) == (3, 2, 1)
    assert (water["on_time_rate"], water["satisfaction_rate"], water["returns_rate"],
            water["redo_rate"]) == (0.6667, 1.0, 1.0, 0.6667)
    # market: E's rating is public_service, left out: no satisfaction rate;
    # F's refused return makes its returns rate 0; F is supervised.
    assert (market["on_time_rate"], market["satisfaction_rate"], market["returns_rate"],
            market["redo_rate"], market["supervised"]) == (1.0, None, 0.0, 1.0, 1)
    for unit in (water, market):
        assert unit["score"] == pytest.approx(expected_score(unit, report["formula"]), abs=0.006)
    assert market["score"] == pytest.approx(100 * 50 / 60 - 2, abs=0.006)
    assert [u["unit"] for u in report["units"]] == ["water", "market"]


def test_assessment_is_reproducible(week):
    first = week.get("/api/v1/assessment", month="2024-11")
    week.hotline.node.restart()

    again = week.get("/api/v1/assessment", month="2024-11")
    assert again.content == first.content
    csv_rows = parse_csv(week.get("/api/v1/assessment", headers=CSV, month="2024-11"),
                         "assessment-2024-11.csv")
    assert [(r["unit"], float(r["score"])) for r in csv_rows] == [
        (u["unit"], u["score"]) for u in first.json()["units"]]


def test_a_month_without_work_has_units_but_no_scores(week):
    report = week.report("/api/v1/assessment", month="2024-10")

    assert sorted(u["unit"] for u in report["units"]) == ["market", "water"]
    assert all(u["score"] is None and u["completed"] == 0 for u in report["units"])


# --- supervision ---------------------------------------------------------------------------

def test_supervision_report_names_the_orders_to_look_at(week):
    report = week.report("/api/v1/supervision", **WEEK)
    ids = week.ids

    [supervised] = report["supervised"]
    assert (supervised["ticket"], supervised["unit"], supervised["by"]) == (
        ids["F"], "market", "值班长李强")
    assert supervised["note"] == BODIES["supervise"]["note"]
    [improper] = report["improper_returns"]
    assert (improper["ticket"], improper["unit"], improper["note"]) == (
        ids["F"], "market", "属本单位职责")
    assert improper["reason"] == BODIES["return"]["reason"]
    [repeated] = report["repeated_extensions"]
    assert (repeated["ticket"], repeated["unit"]) == (ids["A"], "water")
    assert repeated["reason"] == BODIES["extension"]["reason"]
    [late] = report["late_kb_work"]
    assert (late["entry"], late["unit"], late["state"]) == (week.kb_entry, "water", "overdue")
    assert late["deadline"] == "2024-11-06T23:59:59+08:00"


def test_supervision_report_covers_its_period_only(week):
    report = week.report("/api/v1/supervision", **{"from": "2024-11-05", "to": "2024-11-05"})

    assert report["supervised"] == report["improper_returns"] == []
    assert report["repeated_extensions"] == report["late_kb_work"] == []


def test_supervision_report_as_csv(week):
    rows = parse_csv(week.get("/api/v1/supervision", headers=CSV, **WEEK),
                     "supervision-2024-11-04-2024-11-08.csv")

    assert [(r["section"], r["ticket"]) for r in rows] == [
        ("supervised", week.ids["F"]), ("improper_returns", week.ids["F"]),
        ("repeated_extensions", week.ids["A"]), ("late_kb_work", week.kb_entry)]
    assert list(rows[0]) == ["section", "ticket", "at", "unit", "by", "reason", "note"]


def test_a_day_is_rolled_up_again_when_an_event_arrives_late(week):
    node = week.hotline.node
    tuesday = {"from": "2024-11-05", "to": "2024-11-05"}
    before = week.stats(**tuesday)["total"]["supervised"]
    with closing(psycopg2.connect(node.settings["database"])) as db, db.cursor() as cur:
        # As if a transaction begun on Tuesday committed only now.
        cur.execute("INSERT INTO ticket_events (ticket_id, seq, at, actor, role, action,"
                    " to_status, prev_hash, hash) SELECT ticket_id, seq + 100,"
                    " '2024-11-05T12:00:00+08:00', 'x', 'manager', 'supervise', to_status,"
                    " hash, hash FROM ticket_events WHERE ticket_id = %s ORDER BY seq DESC"
                    " LIMIT 1", (week.ids["E"],))
        cur.execute("SELECT dirty FROM stats_days WHERE day = '2024-11-05'")
        assert cur.fetchone() == (True,)
        db.commit()
    try:
        node.wait_for(lambda: week.stats(**tuesday)["total"]["supervised"] == before + 1,
                      "Tuesday to be rolled up again")
    finally:
        with closing(psycopg2.connect(node.settings["database"])) as db, db.cursor() as cur:
            cur.execute("DELETE FROM ticket_events WHERE ticket_id = %s AND seq > 100",
                        (week.ids["E"],))
            cur.execute("UPDATE stats_days SET dirty = true WHERE day = '2024-11-05'")
            db.commit()
        wait_until(lambda: week.stats(**tuesday)["total"]["supervised"] == before,
                   "Tuesday back as it was")


def test_an_appeal_reclassified_at_acceptance_counts_under_its_new_category(workspace):
    clock = FakeClock(workspace.folder / "faketime")
    node = standalone_city(workspace)
    node.start(env=clock.env())
    h = Hotline(node)
    monday = {"from": "2024-11-04", "to": "2024-11-04", "group_by": "category"}

    def received(category):
        response = node.http("GET", "/api/v1/stats", h.manager, params=monday)
        assert response.status_code == 200, response.text
        rows = {row["category"]: row for row in response.json()["rows"]}
        return rows.get(category, {"received": 0})["received"]

    ticket = h.create(channel="web", category="market_supervision")
    clock.set("2024-11-05 10:00:00")
    node.wait_for(lambda: rolled_up(node, clock), "Monday's roll-up")
    assert received("market_supervision") == 1

    h.do(h.operator, ticket["id"], "accept", {"category": "public_service"})

    node.wait_for(lambda: received("public_service") == 1, "Monday to be rolled up again")
    assert received("market_supervision") == 0
