# SPDX-License-Identifier: Apache-2.0
"""Open311 GeoReport v2 on every node (DESIGN.md "Interfaces"): a generic
Open311 client, in XML and in JSON, lists the services (our kinds of appeal
in the five domains of Art 7), files a request with a service's api_key
(a normal intake: restrictions, emergencies and repeats apply) and follows
it; at the province one endpoint answers for every node from the master
dataset, and a request for a city is transferred there.

Every JSON answer is checked against the GeoReport v2 schemas
(schemas/open311/), every XML answer parsed with xml.etree and compared
with the JSON one.
"""

import json
import pathlib
import re
import xml.etree.ElementTree as ElementTree
from urllib.parse import urlencode

import jsonschema
import pytest

from hotline import GUANGZHOU, PROVINCE, SHENZHEN
from lifecycle import (CITIZEN_CONTACT, CITIZEN_ID_NUMBER, CITIZEN_NAME,  # noqa: F401
                       CITIZEN_PHONE, Hotline, clock, hotline)
from test_sync import running_federation

SCHEMAS = pathlib.Path(__file__).parent / "schemas" / "open311"
FORMATS = ("xml", "json")
CONTENT_TYPES = {"xml": "text/xml", "json": "application/json"}
XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'
# Elements that hold a list, in the XML of every resource.
XML_LISTS = {"services", "service_requests", "errors", "attributes", "values", "endpoints",
             "formats"}
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$")

NOISE = "工地每晚十一点后仍在施工，噪声很大，影响休息。"
EMAIL = "chen.xiaoming@example.cn"
MEDIA = "https://img.example.cn/open311/noise.jpg"


def schema(name):
    """A validator of schemas/open311/<name>.json, resolving its $refs."""
    path = SCHEMAS / f"{name}.json"
    document = json.loads(path.read_text())
    resolver = jsonschema.RefResolver(base_uri=path.as_uri(), referrer=document)
    return jsonschema.Draft7Validator(document, resolver=resolver,
                                      format_checker=jsonschema.FormatChecker())


def xml_value(element):
    """An element as the JSON the same answer holds: lists for the list
    elements, objects for the others with children, text (None if empty)."""
    if element.tag in XML_LISTS:
        return [xml_value(child) for child in element]
    if len(element):
        return {child.tag: xml_value(child) for child in element}
    return element.text


def as_xml_text(value):
    """A JSON value as XML shows it: every scalar as text."""
    if isinstance(value, list):
        return [as_xml_text(v) for v in value]
    if isinstance(value, dict):
        return {k: as_xml_text(v) for k, v in value.items()}
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return None
    return str(value)


class Answer:
    """One Open311 answer: status, the parsed body (JSON as it is, XML as
    xml_value), and the root element's tag for XML."""

    def __init__(self, response, fmt):
        self.response = response
        self.status = response.status_code
        self.fmt = fmt
        assert response.headers["Content-Type"] == CONTENT_TYPES[fmt], response.headers
        text = response.content.decode("utf-8")
        if fmt == "json":
            self.body = json.loads(text)
            self.root = None
        else:
            assert text.startswith(XML_DECLARATION), text[:80]
            element = ElementTree.fromstring(response.content)
            self.root = element.tag
            self.body = xml_value(element)

    def __repr__(self):
        return f"<{self.status} {self.response.text[:300]}>"


class Open311Client:
    """A generic Open311 client of one node: GET and POST a resource in
    either format, with the answer parsed."""

    def __init__(self, node, api_key=None):
        self.node = node
        self.base = node.url + "/open311/v2"
        self.api_key = api_key

    def get(self, resource, fmt, **params):
        return Answer(self.node_request("GET", f"{self.base}/{resource}.{fmt}", params=params),
                      fmt)

    def post(self, fmt, fields):
        """POST requests.<fmt> with fields (a dict or a list of pairs),
        form-encoded; the client's api_key first unless fields has one."""
        pairs = list(fields.items()) if isinstance(fields, dict) else list(fields)
        if self.api_key is not None and not any(k == "api_key" for k, _ in pairs):
            pairs.insert(0, ("api_key", self.api_key))
        return self.post_raw(fmt, urlencode(pairs).encode())

    def post_raw(self, fmt, data):
        return Answer(self.node_request(
            "POST", f"{self.base}/requests.{fmt}", data=data,
            headers={"Content-Type": "application/x-www-form-urlencoded"}), fmt)

    def node_request(self, method, url, **kwargs):
        import requests
        return requests.request(method, url, timeout=5, **kwargs)

    # What a client does most.

    def both(self, resource, **params):
        """GET resource in both formats: the JSON answer, having checked that
        the XML one says the same."""
        xml = self.get(resource, "xml", **params)
        answer = self.get(resource, "json", **params)
        assert xml.status == answer.status, (xml, answer)
        assert xml.body == as_xml_text(answer.body), (xml.body, answer.body)
        return answer

    def requests(self, **params):
        """GET requests.json that must succeed; checked against the schema."""
        answer = self.both("requests", **params)
        assert answer.status == 200, answer
        schema("requests").validate(answer.body)
        return answer.body

    def request(self, request_id, **params):
        answer = self.both(f"requests/{request_id}", **params)
        assert answer.status == 200, answer
        schema("requests").validate(answer.body)
        [one] = answer.body
        return one

    def file(self, fmt="json", **fields):
        """POST a valid noise complaint (fields change it); returns the
        service_request_id."""
        answer = self.post(fmt, appeal(**fields))
        assert answer.status == 200, answer
        body = answer.body
        if fmt == "json":
            schema("request-response").validate(body)
        else:
            assert answer.root == "service_requests"
        [created] = body
        return created["service_request_id"]


def appeal(**fields):
    """The form of a valid request: a noise complaint at a place given by
    its coordinates; None drops a field."""
    form = {
        "service_code": "complaint.ecological_environment",
        "lat": "23.1317",
        "long": "113.3216",
        "address_string": "广州市天河区体育西路1号",
        "address_id": "440106",
        "description": NOISE,
        "first_name": "小明",
        "last_name": "陈",
        "phone": CITIZEN_PHONE,
        "email": EMAIL,
        "device_id": "device-42",
        "account_id": "account-7",
        "media_url": MEDIA,
    }
    form.update(fields)
    return {k: v for k, v in form.items() if v is not None}


def assert_open311_error(answer, status):
    """The standard's error list, with status as its code."""
    assert answer.status == status, answer
    body = answer.body
    if answer.fmt == "json":
        schema("errors").validate(body)
        assert body[0]["code"] == status
    else:
        assert answer.root == "errors"
        assert body[0]["code"] == str(status) and body[0]["description"]


def assert_no_pii(answer):
    text = answer.response.text
    for secret in (CITIZEN_NAME, "小明", CITIZEN_PHONE, CITIZEN_PHONE[-4:], EMAIL, "体育西路",
                   "device-42", "account-7", CITIZEN_ID_NUMBER, CITIZEN_CONTACT):
        assert secret not in text, secret


@pytest.fixture
def office(hotline):
    return hotline


@pytest.fixture
def client(office):
    return Open311Client(office.node, office.service)


# --- discovery and services -----------------------------------------------------

def test_discovery_names_the_endpoint_and_its_formats(client):
    answer = client.both("discovery")

    assert answer.status == 200
    schema("discovery").validate(answer.body)
    [endpoint] = answer.body["endpoints"]
    assert endpoint["url"] == client.base
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["formats"] == ["text/xml", "application/json"]
    assert TIME.match(answer.body["changeset"])
    assert client.get("discovery", "xml").root == "discovery"


def test_services_are_our_kinds_in_every_domain(client):
    answer = client.both("services")

    assert answer.status == 200
    schema("services").validate(answer.body)
    services = {s["service_code"]: s for s in answer.body}
    assert len(services) == 25
    noise = services["complaint.ecological_environment"]
    assert noise["service_name"] == "投诉·生态环境保护"
    assert noise["group"] == "生态环境保护"
    assert noise["metadata"] is True and noise["type"] == "realtime"
    assert "15个工作日" in noise["description"]
    assert "噪声" in noise["keywords"]
    assert services["consultation.public_service"]["description"].count("2个工作日") == 1
    assert client.get("services", "xml").root == "services"


def test_a_service_definition_lists_its_attributes(client):
    answer = client.both("services/help.public_service")

    assert answer.status == 200
    schema("service-definition").validate(answer.body)
    assert answer.body["service_code"] == "help.public_service"
    attributes = {a["code"]: a for a in answer.body["attributes"]}
    assert set(attributes) == {"citizen_type", "channel"}
    assert [v["key"] for v in attributes["channel"]["values"]] == [
        "web", "app", "miniprogram", "phone"]
    assert all(a["datatype"] == "singlevaluelist" and a["required"] is False
               for a in attributes.values())
    assert client.get("services/help.public_service", "xml").root == "service_definition"


@pytest.mark.parametrize("fmt", FORMATS)
def test_unknown_things_are_404(client, fmt):
    for resource in ("services/help.weather", "services/help", "nothing",
                     "requests/440100-20241104-999999", "requests/not-a-ticket",
                     "request/440100-20241104-999999", "tokens/440100-20241104-999999"):
        assert_open311_error(client.get(resource, fmt), 404)
    assert_open311_error(client.get("services", fmt, jurisdiction_id="440300"), 404)
    assert_open311_error(client.get("requests", fmt, jurisdiction_id="440000"), 404)
    # XML is the mandatory format: an unknown one is answered in it.
    answer = Answer(client.node_request("GET", f"{client.base}/services.csv"), "xml")
    assert_open311_error(answer, 404)


# --- filing a request ------------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
def test_a_request_is_an_intake(office, client, fmt):
    answer = client.post(fmt, appeal(**{"attribute[citizen_type]": "person",
                                        "jurisdiction_id": "440100"}))

    assert answer.status == 200, answer
    [created] = answer.body
    request_id = created["service_request_id"]
    assert re.match(r"^440100-\d{8}-\d{6}$", request_id)
    assert "15个工作日" in created["service_notice"]
    assert created["account_id"] == "account-7"
    if fmt == "json":
        schema("request-response").validate(answer.body)

    # The same ticket the staff's API shows, the citizen's data sealed in it.
    ticket = office.show(request_id, office.operator)
    assert ticket["kind"] == "complaint" and ticket["category"] == "ecological_environment"
    assert ticket["channel"] == "web" and ticket["content"] == NOISE
    assert ticket["citizen"]["name"] == "陈小明" and ticket["citizen"]["phone"] == CITIZEN_PHONE
    assert ticket["citizen"]["contact"] == EMAIL
    assert ticket["location"] == {"division": "440106", "address": "广州市天河区体育西路1号",
                                  "lat": 23.1317, "long": 113.3216}
    [registered] = office.events(request_id)
    assert registered["action"] == "register" and registered["role"] == "service"


def test_a_request_is_followed_until_it_is_closed(office, client):
    request_id = client.file()

    shown = client.request(request_id)
    assert {"service_request_id": request_id, "status": "open",
            "service_code": "complaint.ecological_environment", "service_name": "投诉·生态环境保护",
            "description": NOISE, "agency_responsible": None, "expected_datetime": None,
            "address": None, "address_id": "440106", "zipcode": None, "lat": None,
            "long": None, "media_url": MEDIA}.items() <= shown.items()
    assert shown["status_notes"] and TIME.match(shown["requested_datetime"])
    assert shown["requested_datetime"].startswith("2024-11-04T10:00")
    assert client.request(request_id) == client.both(f"request/{request_id}").body[0]
    assert_no_pii(client.get(f"requests/{request_id}", "xml"))

    office.do(office.operator, request_id, "dispatch", {"unit": "water"})
    shown = client.request(request_id)
    assert shown["status"] == "open"
    assert shown["agency_responsible"] == "广州市水务局"
    assert shown["expected_datetime"] == "2024-11-25T23:59:59+08:00"

    office.do(office.water, request_id, "completion")
    office.do(office.manager, request_id, "completion/review")
    shown = client.request(request_id)
    assert shown["status"] == "closed" and "办结" in shown["status_notes"]
    assert_no_pii(client.get("requests", "json"))


def test_a_token_is_the_request_id(client):
    request_id = client.file("xml")

    answer = client.both(f"tokens/{request_id}")

    assert answer.status == 200
    schema("tokens").validate(answer.body)
    assert answer.body == [{"service_request_id": request_id, "token": request_id}]


def test_an_emergency_tells_the_line_to_call(office, client):
    rule = {"name": "燃气泄漏", "keywords": ["燃气泄漏"], "line": "119", "period_hours": 4}
    assert office.post("/api/v1/emergency-rules", office.manager, rule).status_code == 201

    answer = client.post("json", appeal(service_code="help.public_service",
                                        description="楼道里有燃气泄漏的味道，很浓。"))

    assert answer.status == 200, answer
    [created] = answer.body
    assert "拨打119" in created["service_notice"]
    assert "拨打119" in client.request(created["service_request_id"])["service_notice"]


def test_repeats_are_detected_as_at_any_intake(office, client):
    first = client.file()
    second = client.file()

    actions = [e["action"] for e in office.events(second)]
    assert actions == ["register", "repeat_check"]
    [check] = [e for e in office.events(second) if e["action"] == "repeat_check"]
    assert first in json.dumps(check["detail"])


def test_a_restricted_number_may_not_file_by_phone(office, client):
    response = office.post("/api/v1/restrictions", office.operator,
                           {"phone": CITIZEN_PHONE, "reason": "多次来电辱骂坐席，经警告后仍继续。"})
    assert response.status_code == 201, response.text
    before = office.total()

    answer = client.post("json", appeal(**{"attribute[channel]": "phone"}))

    assert_open311_error(answer, 400)
    assert "Art 9" in answer.body[0]["description"]
    assert office.total() == before
    # The restriction covers the phone hotline only (Art 9).
    client.file(**{"attribute[channel]": "app"})


BAD_FORMS = [
    ({"service_code": None}, "service_code"),
    ({"service_code": "complaint.weather"}, "service_code"),
    ({"lat": None, "long": None, "address_string": None, "address_id": None}, "location"),
    ({"long": None}, "lat and long"),
    ({"lat": "91"}, "lat and long"),
    ({"long": "east"}, "lat and long"),
    ({"address_id": "4401"}, "address_id"),
    ({"description": None}, "description"),
    ({"description": "长" * 4001}, "description"),
    ({"first_name": None, "last_name": None}, "first_name"),
    ({"phone": None}, "phone"),
    ({"phone": "12345"}, "phone"),
    ({"email": "not-an-address"}, "email"),
    ({"media_url": "ftp://img.example.cn/a.jpg"}, "media_url"),
    ({"account_id": "a" * 101}, "account_id"),
    ({"nickname": "小陈"}, "nickname"),
    ({"attribute[channel]": "fax"}, "channel"),
    ({"attribute[colour]": "red"}, "attribute"),
]


@pytest.mark.parametrize("fmt", FORMATS)
def test_bad_requests_are_400_and_register_nothing(office, client, fmt):
    before = office.total()

    for change, words in BAD_FORMS:
        answer = client.post(fmt, appeal(**change))
        assert_open311_error(answer, 400)
        assert words in answer.body[0]["description"], (change, answer)
    for raw in (b"api_key=" + office.service.encode() + b"&description=%ZZ",
                b"api_key=" + office.service.encode() + b"&phone=1&phone=2",
                b"api_key=" + office.service.encode() + b"&description=%FF%FE"):
        assert_open311_error(client.post_raw(fmt, raw), 400)
    assert_open311_error(client.post(fmt, appeal(jurisdiction_id="440300")), 404)
    assert office.total() == before


@pytest.mark.parametrize("fmt", FORMATS)
def test_only_a_services_api_key_may_file(office, client, fmt):
    before = office.total()

    for key in (None, "", "f" * 64, office.operator, office.admin):
        form = appeal()
        if key is not None:
            form["api_key"] = key
        answer = Open311Client(office.node).post(fmt, form)
        assert_open311_error(answer, 403)
    assert office.total() == before


def test_a_database_that_is_down_is_an_open311_400(office, client, postgres):
    request_id = client.file()
    database = office.node.settings["database"]

    postgres.allow_connections(database, False)
    try:
        for fmt in FORMATS:
            office.node.wait_for(lambda: client.get("requests", fmt).status == 400,
                                 "Open311 to answer 400 without its database")
            assert_open311_error(client.get(f"requests/{request_id}", fmt), 400)
            assert_open311_error(client.post(fmt, appeal()), 400)
            # The services need no database.
            assert client.get("services", fmt).status == 200
    finally:
        postgres.allow_connections(database, True)
    office.node.wait_for(lambda: all(client.get(f"requests/{request_id}", fmt).status == 200
                                     for fmt in FORMATS for _ in range(4)),
                         "every worker to read again")
    assert client.request(request_id)["service_request_id"] == request_id


# --- querying requests -----------------------------------------------------------

def test_requests_filter_by_id_code_status_and_date(office, client, clock):
    noise = client.file()
    light = client.file(service_code="help.public_service", description="路灯坏了，晚上很黑。")
    closed = client.file(service_code="consultation.social_management",
                         description="办理居住证需要什么材料？")
    office.do(office.operator, closed, "answer")
    clock.set("2024-11-06 10:00:00")
    later = client.file()

    def ids(**params):
        return [r["service_request_id"] for r in client.requests(**params)]

    assert ids() == [noise, light, closed, later]
    assert ids(service_code="help.public_service") == [light]
    assert ids(service_code="help.public_service,complaint.ecological_environment") == [
        noise, light, later]
    assert ids(status="closed") == [closed]
    assert ids(status="open") == [noise, light, later]
    assert ids(status="open,closed") == [noise, light, closed, later]
    assert ids(start_date="2024-11-05T00:00:00+08:00") == [later]
    assert ids(end_date="2024-11-05T00:00:00+08:00") == [noise, light, closed]
    assert ids(start_date="2024-11-04T00:00:00Z", end_date="2024-11-06T23:59:59Z") == [
        noise, light, closed, later]
    # service_request_id overrides every other filter.
    assert ids(service_request_id=f"{later},{closed}", status="open",
               service_code="help.public_service") == [closed, later]
    assert ids(jurisdiction_id="440100") == ids()


def test_requests_come_a_page_at_a_time(client):
    filed = [client.file() for _ in range(5)]

    def ids(**params):
        return [r["service_request_id"] for r in client.requests(**params)]

    assert ids(page_size="2") == filed[:2]
    assert ids(page_size="2", page="2") == filed[2:4]
    assert ids(page_size="2", page="3") == filed[4:]
    assert ids(page_size="2", page="4") == []
    assert ids(page="2") == []


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("params", [
    {"start_date": "2024-01-01T00:00:00+08:00", "end_date": "2024-11-04T00:00:00+08:00"},
    {"start_date": "2024-11-04T00:00:00+08:00", "end_date": "2024-11-03T00:00:00+08:00"},
    {"start_date": "2024-11-04"},
    {"end_date": "yesterday"},
    {"status": "pending"},
    {"status": "open,"},
    {"service_code": "help.weather"},
    {"service_code": ""},
    {"service_request_id": "440100-20241104-000001,,440100-20241104-000002"},
    {"service_request_id": "1234"},
    {"page": "0"},
    {"page_size": "1001"},
    {"page_size": "ten"},
])
def test_bad_queries_are_400(client, fmt, params):
    assert_open311_error(client.get("requests", fmt, **params), 400)


# --- the province answers for every node -------------------------------------------

def test_the_province_answers_for_the_whole_province(federation):
    fed = running_federation(federation, GUANGZHOU, SHENZHEN)
    offices = {code: Hotline(node) for code, node in fed.cities.items()}
    offices[PROVINCE[0]] = Hotline(fed.province)
    clients = {code: Open311Client(o.node, o.service) for code, o in offices.items()}
    province = clients[PROVINCE[0]]

    in_guangzhou = clients["440100"].file()
    at_province = province.file(address_id=None, jurisdiction_id="440000")

    def province_ids(**params):
        """What the province lists now, in JSON: the master dataset may
        change between two answers while the cities sync."""
        answer = province.get("requests", "json", **params)
        assert answer.status == 200, answer
        return [r["service_request_id"] for r in answer.body]

    def shown(client, request_id):
        answer = client.get(f"requests/{request_id}", "json")
        return answer.body[0] if answer.status == 200 else None

    # With no jurisdiction, or a city's, the province reads its master dataset.
    fed.province.wait_for(lambda: in_guangzhou in province_ids(),
                          "the province to list Guangzhou's request")
    fed.province.wait_for(lambda: at_province in province_ids(),
                          "the province to list its own request")
    assert [r["service_request_id"] for r in province.requests()] == [in_guangzhou, at_province]
    assert province_ids(jurisdiction_id="440100") == [in_guangzhou]
    assert province_ids(jurisdiction_id="440300") == []
    assert province_ids(jurisdiction_id="440000") == [at_province]
    assert province.request(in_guangzhou) == clients["440100"].request(in_guangzhou)
    assert province.request(at_province, jurisdiction_id="440000")["address_id"] == "440000"
    assert_open311_error(province.get("requests", "json", jurisdiction_id="445300"), 404)
    assert_open311_error(province.get("requests", "xml", jurisdiction_id="440001"), 404)

    # A request for a city, filed at the province, is transferred there.
    answer = province.post("json", appeal(jurisdiction_id="440300", address_id=None,
                                          service_code="report.market_supervision",
                                          description="某超市出售过期食品。"))
    assert answer.status == 200, answer
    [created] = answer.body
    forwarded = created["service_request_id"]
    assert forwarded.startswith("440000-") and "440300" in created["service_notice"]
    shenzhen = clients["440300"]
    fed.province.wait_for(lambda: shown(shenzhen, forwarded),
                          "Shenzhen to hold the forwarded request")
    fed.province.wait_for(
        lambda: province_ids(jurisdiction_id="440300") == [forwarded],
        "the master dataset to name Shenzhen the owner")
    assert shenzhen.request(forwarded)["address_id"] == "440300"
    assert shenzhen.request(forwarded)["service_code"] == "report.market_supervision"

    # Followed at the city or at the province, it reads the same.
    fed.province.wait_for(
        lambda: offices["440300"].show(forwarded)["status"] == "registered",
        "Shenzhen to take the request over")
    offices["440300"].do(offices["440300"].operator, forwarded, "dispatch", {"unit": "market"})
    fed.province.wait_for(
        lambda: shown(province, forwarded) == shown(shenzhen, forwarded)
        and shown(province, forwarded)["agency_responsible"] == "广州市市场监督管理局",
        "the province's answer to follow Shenzhen's")
    assert province.request(forwarded) == shenzhen.request(forwarded)
    assert_no_pii(province.get("requests", "xml"))
