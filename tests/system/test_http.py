# SPDX-License-Identifier: Apache-2.0
"""The HTTP endpoints every node serves: /healthz, /metrics, and the JSON
error format for unknown paths and wrong methods."""

import re

import pytest

from hotline import GUANGZHOU


@pytest.fixture(params=["province", "city"])
def node(request, federation):
    """A running node of each role, in a federation with its link up."""
    fed = federation(GUANGZHOU)
    fed.wait_connected("440100")
    return fed.province if request.param == "province" else fed.cities["440100"]


def test_city_healthz(federation):
    fed = federation(GUANGZHOU)
    fed.wait_connected("440100")
    guangzhou = fed.cities["440100"]

    guangzhou.wait_for(lambda: guangzhou.healthz()["federation"] == "connected",
                       "the city to report its link connected")
    response = guangzhou.http("GET", "/healthz")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    expected = {"status": "ok", "node": "440100", "name": "广州", "role": "city",
                "database": "up", "federation": "connected"}
    assert expected.items() <= response.json().items()


def test_province_healthz(federation):
    fed = federation(GUANGZHOU)
    fed.wait_connected("440100")

    response = fed.province.http("GET", "/healthz")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    expected = {"status": "ok", "node": "440000", "name": "广东省", "role": "province",
                "database": "up", "federation": "listening", "nodes_connected": 1}
    assert expected.items() <= response.json().items()


def test_healthz_reports_the_database_down(federation, postgres):
    province = federation().province
    database = province.settings["database"]

    def healthz_status(status, database_state):
        response = province.http("GET", "/healthz")
        return (response.status_code == status
                and response.json()["database"] == database_state)

    postgres.allow_connections(database, False)
    province.wait_for(lambda: healthz_status(503, "down"),
                      "/healthz to report the database down")
    postgres.allow_connections(database, True)
    province.wait_for(lambda: healthz_status(200, "up"),
                      "/healthz to report the database up again")


def test_metrics_is_prometheus_text(node):
    response = node.http("GET", "/metrics")
    assert response.status_code == 200
    content_type = response.headers["Content-Type"]
    assert content_type.startswith("text/plain") and "version=0.0.4" in content_type

    metrics = parse_prometheus_text(response.text)
    (uptime,) = samples(metrics, "hotline_uptime_seconds")
    assert uptime[1] >= 0
    assert metrics["hotline_http_requests_total"]["type"] == "counter"
    if node.role == "city":
        assert samples(metrics, "hotline_link_up") == [({}, 1.0)]
    else:
        assert samples(metrics, "hotline_federation_nodes_connected") == [({}, 1.0)]
    for family in ("hotline_link_messages_sent_total",
                   "hotline_link_messages_received_total"):
        assert metrics[family]["type"] == "counter"
        assert all("type" in labels for labels, _ in samples(metrics, family))


def test_metrics_count_http_requests(node):
    def healthz_200_count():
        metrics = parse_prometheus_text(node.http("GET", "/metrics").text)
        return sum(value for labels, value in samples(metrics, "hotline_http_requests_total")
                   if "healthz" in labels["route"] and labels["status"] == "200")

    before = healthz_200_count()
    for _ in range(3):
        assert node.http("GET", "/healthz").status_code == 200

    node.wait_for(lambda: healthz_200_count() >= before + 3,
                  "three more /healthz requests counted")
    assert healthz_200_count() == before + 3


@pytest.mark.parametrize("path", ["/nope", "/api/v1/nope", "/healthz/extra"])
def test_unknown_path_is_404(node, path):
    response = node.http("GET", path)
    assert response.status_code == 404
    assert_json_error(response)


@pytest.mark.parametrize("method, path", [("POST", "/healthz"), ("DELETE", "/metrics")])
def test_wrong_method_is_405(node, method, path):
    response = node.http(method, path)
    assert response.status_code == 405
    assert_json_error(response)


def assert_json_error(response):
    assert response.headers["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"]


# A strict reader of the Prometheus text exposition format 0.0.4
# (https://prometheus.io/docs/instrumenting/exposition_formats/).

METRIC_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"')
SAMPLE = re.compile(rf"({METRIC_NAME})(?:\{{(.*)\}})?[ \t]+([^ \t]+)(?:[ \t]+-?[0-9]+)?")
FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[+-]?Inf|NaN")
HELP = re.compile(rf"#[ \t]+HELP[ \t]+({METRIC_NAME})(?:[ \t]+((?:[^\\]|\\[\\n])*))?")
TYPE = re.compile(rf"#[ \t]+TYPE[ \t]+({METRIC_NAME})[ \t]+(counter|gauge|histogram|summary|untyped)")
SUFFIXES = {"histogram": ("_bucket", "_sum", "_count"), "summary": ("_sum", "_count")}


def parse_prometheus_text(text):
    """Parse an exposition; return {family: {"type", "help", "samples"}} where
    samples is a list of (labels dict, float value). Any deviation from the
    format fails the test naming the offending line."""
    assert text.endswith("\n"), "the exposition ends with a newline"
    families = {}
    seen_series = set()
    finished = set()  # families whose group of lines has ended
    current = None
    for number, line in enumerate(text[:-1].split("\n"), 1):
        where = f"line {number}: {line!r}"
        if m := HELP.fullmatch(line):
            name, kind, content = m[1], "help", m[2] or ""
        elif m := TYPE.fullmatch(line):
            name, kind, content = m[1], "type", m[2]
        elif line.startswith("#"):
            assert not re.match(r"#[ \t]+(HELP|TYPE)[ \t]", line), f"malformed {where}"
            continue
        elif line == "":
            continue
        else:
            m = SAMPLE.fullmatch(line)
            assert m, f"malformed sample at {where}"
            sample_name, label_text, value_text = m.groups()
            name, kind = family_of(sample_name, families), "sample"
            assert "type" in families.get(name, {}), f"sample without a TYPE at {where}"
            assert FLOAT.fullmatch(value_text), f"value is not a float at {where}"
            labels = parse_labels(label_text or "", where)
            series = (sample_name, tuple(sorted(labels.items())))
            assert series not in seen_series, f"duplicate series at {where}"
            seen_series.add(series)
            content = (labels, float(value_text))

        if name != current:
            assert name not in finished, f"family {name} split in two groups at {where}"
            finished.add(current)
            current = name
        family = families.setdefault(name, {"samples": []})
        if kind == "sample":
            family["samples"].append(content)
        else:
            assert kind not in family, f"second {kind.upper()} at {where}"
            assert not family["samples"], f"{kind.upper()} after samples at {where}"
            family[kind] = content
    return families


def family_of(sample_name, families):
    """The family a sample belongs to: itself, or for histograms and
    summaries the name without its _bucket/_sum/_count suffix."""
    for suffix in ("_bucket", "_sum", "_count"):
        base = sample_name.removesuffix(suffix)
        if base != sample_name and suffix in SUFFIXES.get(families.get(base, {}).get("type"), ()):
            return base
    return sample_name


def parse_labels(text, where):
    """Parse `a="x",b="y"` (a trailing comma is allowed) into a dict."""
    labels = {}
    pos = 0
    while pos < len(text):
        m = LABEL.match(text, pos)
        assert m, f"malformed labels at {where}"
        assert m[1] not in labels, f"label {m[1]} twice at {where}"
        labels[m[1]] = re.sub(r"\\(.)", lambda e: "\n" if e[1] == "n" else e[1], m[2])
        pos = m.end()
        if pos < len(text):
            assert text[pos] == ",", f"malformed labels at {where}"
            pos += 1
    return labels


def samples(metrics, family):
    """[(labels, value)] of a family; fails if the family is missing."""
    assert family in metrics, f"no metric family {family}"
    return metrics[family]["samples"]


@pytest.mark.parametrize("text", [
    "x 1\n",                                    # no TYPE
    "# TYPE x gauge\nx 1",                      # no final newline
    "# TYPE x gauge\nx one\n",                  # value not a float
    '# TYPE x gauge\nx{a="1} 1\n',              # unterminated label value
    '# TYPE x gauge\nx{a="\\q"} 1\n',           # bad escape
    '# TYPE x gauge\nx{a="1"} 1\nx{a="1"} 2\n',  # duplicate series
    "# TYPE x gauge\n# TYPE y gauge\nx 1\ny 1\nx 2\n",  # family split
    "# TYPE x gauge\nx 1\n# TYPE x gauge\n",    # second TYPE
    "# TYPE x meter\nx 1\n",                    # unknown type
])
def test_metrics_reader_is_strict(text):
    with pytest.raises(AssertionError):
        parse_prometheus_text(text)


def test_metrics_reader_reads_a_valid_exposition():
    text = ('# HELP req_total Requests, by route.\\nSecond line.\n'
            '# TYPE req_total counter\n'
            'req_total{route="/a\\"b",status="200",} 3\n'
            'req_total{route="/c",status="404"} 1e0 1700000000000\n'
            '\n'
            '# TYPE lat histogram\n'
            'lat_bucket{le="+Inf"} 2\nlat_sum 0.5\nlat_count 2\n')
    metrics = parse_prometheus_text(text)
    assert samples(metrics, "req_total") == [({"route": '/a"b', "status": "200"}, 3.0),
                                             ({"route": "/c", "status": "404"}, 1.0)]
    assert len(samples(metrics, "lat")) == 3
