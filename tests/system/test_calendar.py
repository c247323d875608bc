# SPDX-License-Identifier: Apache-2.0
"""The working-day calendar over HTTP: deadlines, the days of a range, and an
admin replacing a year when the State Council publishes its notice.

A node's calendar starts as the national calendar the binaries carry
(common/sql/cn-calendar.tsv), seeded into its database by `init`.
"""

import datetime
import pathlib

import pytest

from lifecycle import assert_error, hotline, standalone_city  # noqa: F401 (fixtures)
from lifecycle import clock  # noqa: F401 (fixture of hotline)

REPO = pathlib.Path(__file__).resolve().parents[2]
NATIONAL = REPO / "common" / "sql" / "cn-calendar.tsv"

# 2027, as the State Council might publish it (made up for the test: New Year
# on a Friday, a make-up Saturday after it).
YEAR_2027 = {"year": 2027, "days": [
    {"date": "2027-01-01", "kind": "off", "name": "元旦"},
    {"date": "2027-01-02", "kind": "off", "name": "元旦"},
    {"date": "2027-01-03", "kind": "off", "name": "元旦"},
    {"date": "2027-01-09", "kind": "work", "name": "元旦"},
]}


def national_calendar():
    """{date: (kind, name)} of the national calendar file."""
    listed = {}
    for line in NATIONAL.read_text().splitlines():
        if line and not line.startswith("#"):
            date, kind, name = line.split("\t")
            listed[date] = (kind, name)
    return listed


@pytest.fixture
def city(workspace):
    """A running city node of its own, initialised, with only its admin."""
    node = standalone_city(workspace)
    node.start()
    return node


def deadline(node, token, received, working_days):
    response = node.http("GET", "/api/v1/calendar/deadline", token,
                         params={"from": received, "working_days": working_days})
    assert response.status_code == 200, response.text
    return response.json()


def days(node, token, first, last):
    response = node.http("GET", "/api/v1/calendar/days", token,
                         params={"from": first, "to": last})
    assert response.status_code == 200, response.text
    return {day["date"]: day for day in response.json()["days"]}


def replace_year(node, token, body):
    return node.http("POST", "/api/v1/calendar/days", token, json=body)


def test_the_regulation_example(city):
    """REGULATION.md: received 2024-09-27, 15 working days, due 2024-10-23."""
    assert deadline(city, city.admin_token, "2024-09-27T10:00:00+08:00", 15) == {
        "deadline": "2024-10-23T23:59:59+08:00", "provisional": False}
    # The day of receipt is its date in Beijing: 16:00 UTC is already the next day.
    assert deadline(city, city.admin_token, "2024-10-08T15:59:59Z", 1)["deadline"] == \
        "2024-10-09T23:59:59+08:00"
    assert deadline(city, city.admin_token, "2024-10-08T16:00:00Z", 1)["deadline"] == \
        "2024-10-10T23:59:59+08:00"
    # A '+' left unencoded in the query string arrives as a space; it is read as '+'.
    response = city.http("GET", "/api/v1/calendar/deadline?from=2024-09-27T10:00:00+08:00"
                         "&working_days=15", city.admin_token)
    assert response.status_code == 200, response.text
    assert response.json()["deadline"] == "2024-10-23T23:59:59+08:00"


def test_the_defaults_are_the_national_calendar(city):
    """Every day of every covered year is as the national calendar file says."""
    listed = national_calendar()
    years = sorted({date[:4] for date in listed})
    assert years == ["2022", "2023", "2024", "2025", "2026"]
    for year in years:
        shown = days(city, city.admin_token, f"{year}-01-01", f"{year}-12-31")
        first = datetime.date(int(year), 1, 1)
        assert len(shown) == (datetime.date(int(year) + 1, 1, 1) - first).days
        for date, day in shown.items():
            weekday = datetime.date.fromisoformat(date).isoweekday()
            kind, name = listed.get(date, ("work" if weekday <= 5 else "off", None))
            assert day == {"date": date, "kind": kind, "name": name,
                           "weekday": weekday, "covered": True}
    assert days(city, city.admin_token, "2024-10-01", "2024-10-01")["2024-10-01"]["name"] == \
        "国庆节"


def test_past_the_covered_years_deadlines_are_provisional(city):
    assert deadline(city, city.admin_token, "2026-12-24T10:00:00+08:00", 5) == {
        "deadline": "2026-12-31T23:59:59+08:00", "provisional": False}
    assert deadline(city, city.admin_token, "2026-12-30T10:00:00+08:00", 5) == {
        "deadline": "2027-01-06T23:59:59+08:00", "provisional": True}
    shown = days(city, city.admin_token, "2026-12-31", "2027-01-01")
    assert shown["2026-12-31"]["covered"] is True
    assert shown["2027-01-01"] == {"date": "2027-01-01", "kind": "work", "name": None,
                                   "weekday": 5, "covered": False}


def test_adding_2027_makes_its_deadlines_final(city):
    token = city.admin_token
    response = replace_year(city, token, YEAR_2027)
    assert response.status_code == 200, response.text
    assert response.json() == {"year": 2027, "days": 4}
    # Every HTTP worker sees the change at once (the node runs two).
    for _ in range(6):
        # 2026-12-31, then 2027-01-04 to 01-08, then the make-up Saturday.
        assert deadline(city, token, "2026-12-30T10:00:00+08:00", 7) == {
            "deadline": "2027-01-09T23:59:59+08:00", "provisional": False}
        assert deadline(city, token, "2026-12-31T10:00:00+08:00", 1)["deadline"] == \
            "2027-01-04T23:59:59+08:00"
    shown = days(city, token, "2027-01-01", "2027-01-10")
    assert shown["2027-01-01"] == {"date": "2027-01-01", "kind": "off", "name": "元旦",
                                   "weekday": 5, "covered": True}
    assert shown["2027-01-09"]["kind"] == "work"
    assert shown["2027-01-10"] == {"date": "2027-01-10", "kind": "off", "name": None,
                                   "weekday": 7, "covered": True}

    # Posting the year again replaces it: a date left out follows its weekday.
    response = replace_year(city, token, {"year": 2027, "days": YEAR_2027["days"][:1]})
    assert response.status_code == 200, response.text
    shown = days(city, token, "2027-01-01", "2027-01-09")
    assert shown["2027-01-01"]["kind"] == "off"
    assert shown["2027-01-04"]["kind"] == "work"
    assert shown["2027-01-09"] == {"date": "2027-01-09", "kind": "off", "name": None,
                                   "weekday": 6, "covered": True}


def test_init_again_keeps_an_admins_year(city):
    """init seeds only the years a node does not cover yet."""
    token = city.admin_token
    changed = {"year": 2024, "days": [{"date": "2024-10-01", "kind": "off", "name": "国庆节"}]}
    assert replace_year(city, token, changed).status_code == 200
    city.init()
    shown = days(city, token, "2024-10-01", "2024-10-07")
    assert shown["2024-10-01"]["kind"] == "off"
    assert shown["2024-10-02"] == {"date": "2024-10-02", "kind": "work", "name": None,
                                   "weekday": 3, "covered": True}
    assert days(city, token, "2025-10-01", "2025-10-01")["2025-10-01"]["name"] == "国庆节、中秋节"


@pytest.mark.parametrize("params, field", [
    ({"working_days": 15}, "from"),
    ({"from": "2024-09-27", "working_days": 15}, "from"),
    ({"from": "2024-09-27T10:00:00", "working_days": 15}, "from"),
    ({"from": "2024-02-30T10:00:00+08:00", "working_days": 15}, "from"),
    ({"from": "2024-09-27T24:00:00+08:00", "working_days": 15}, "from"),
    ({"from": "2024-09-27T10:00:00+08:00"}, "working_days"),
    ({"from": "2024-09-27T10:00:00+08:00", "working_days": 0}, "working_days"),
    ({"from": "2024-09-27T10:00:00+08:00", "working_days": 366}, "working_days"),
    ({"from": "2024-09-27T10:00:00+08:00", "working_days": "15x"}, "working_days"),
    ({"from": "2024-09-27T10:00:00+08:00", "working_days": -1}, "working_days"),
    ({"from": "9999-12-30T10:00:00+08:00", "working_days": 5}, "from"),  # due in 10000
])
def test_a_bad_deadline_query_names_the_parameter(city, params, field):
    response = city.http("GET", "/api/v1/calendar/deadline", city.admin_token, params=params)
    assert_error(response, 400, "invalid_field", field)


@pytest.mark.parametrize("params, field", [
    ({"to": "2024-10-07"}, "from"),
    ({"from": "2024-10-32", "to": "2024-10-07"}, "from"),
    ({"from": "2024-10-01"}, "to"),
    ({"from": "2024-10-01", "to": "2024/10/07"}, "to"),
    ({"from": "2024-10-07", "to": "2024-10-01"}, "to"),
    ({"from": "2024-01-01", "to": "2025-01-01"}, "to"),  # 367 days
])
def test_a_bad_range_names_the_parameter(city, params, field):
    response = city.http("GET", "/api/v1/calendar/days", city.admin_token, params=params)
    assert_error(response, 400, "invalid_field", field)


def test_a_range_of_a_leap_year_is_allowed(city):
    assert len(days(city, city.admin_token, "2024-01-01", "2024-12-31")) == 366


def test_a_refused_year_changes_nothing(city):
    token = city.admin_token
    good = {"date": "2027-01-01", "kind": "off", "name": "元旦"}
    cases = [
        ({"year": "2027", "days": [good]}, "year"),
        ({"year": 1969, "days": [good]}, "year"),
        ({"days": [good]}, "year"),
        ({"year": 2027}, "days"),
        ({"year": 2027, "days": []}, "days"),
        ({"year": 2027, "days": {"2027-01-01": "off"}}, "days"),
        ({"year": 2027, "days": [good], "source": "x"}, "source"),
        ({"year": 2027, "days": [good, "2027-01-02"]}, "days[1]"),
        ({"year": 2027, "days": [good, {"date": "2027-02-29", "kind": "off"}]}, "days[1].date"),
        ({"year": 2027, "days": [good, {"kind": "off"}]}, "days[1].date"),
        ({"year": 2027, "days": [good, {"date": "2027-01-02", "kind": "holiday"}]},
         "days[1].kind"),
        ({"year": 2027, "days": [good, {"date": "2027-01-02"}]}, "days[1].kind"),
        # A make-up working day is a Saturday or Sunday; 2027-01-05 is a Tuesday.
        ({"year": 2027, "days": [good, {"date": "2027-01-05", "kind": "work"}]},
         "days[1].kind"),
        ({"year": 2027, "days": [good, {"date": "2027-01-02", "kind": "off", "name": 7}]},
         "days[1].name"),
        ({"year": 2027, "days": [good, {"date": "2027-01-02", "kind": "off",
                                        "name": "元" * 22}]}, "days[1].name"),
        ({"year": 2027, "days": [good, {"date": "2027-01-02", "kind": "off", "name": "a\nb"}]},
         "days[1].name"),
        ({"year": 2027, "days": [good, {"date": "2027-01-02", "kind": "off", "note": "x"}]},
         "days[1].note"),
        ({"year": 2027, "days": [good, {"date": "2028-01-01", "kind": "off"}]}, "days"),
        ({"year": 2027, "days": [good, good]}, "days"),
    ]
    for body, field in cases:
        response = replace_year(city, token, body)
        assert_error(response, 400, "invalid_field", field)
    response = city.http("POST", "/api/v1/calendar/days", token, data=b"{",
                         headers={"Content-Type": "application/json"})
    assert_error(response, 400, "malformed_json")
    assert deadline(city, token, "2026-12-31T10:00:00+08:00", 1) == {
        "deadline": "2027-01-01T23:59:59+08:00", "provisional": True}


def test_the_calendar_needs_a_token(city):
    for method, path in [("GET", "/api/v1/calendar/deadline?from=2024-09-27T10:00:00Z"
                                 "&working_days=1"),
                         ("GET", "/api/v1/calendar/days?from=2024-10-01&to=2024-10-07"),
                         ("POST", "/api/v1/calendar/days")]:
        assert_error(city.http(method, path), 401, "unauthorized")
        assert_error(city.http(method, path, "0" * 64), 401, "unauthorized")


def test_every_role_reads_and_only_an_admin_writes(hotline):
    node = hotline.node
    readers = [hotline.admin, hotline.operator, hotline.manager, hotline.water,
               hotline.auditor, hotline.service]
    for token in readers:
        assert deadline(node, token, "2024-09-27T10:00:00+08:00", 15)["deadline"] == \
            "2024-10-23T23:59:59+08:00"
        assert days(node, token, "2024-09-29", "2024-09-29")["2024-09-29"]["kind"] == "work"
    for token in readers[1:]:
        assert_error(replace_year(node, token, YEAR_2027), 403, "forbidden")
    assert deadline(node, hotline.admin, "2026-12-31T10:00:00+08:00", 1)["provisional"] is True
