"""What the internet may throw at the API: each gets a clear 4xx, and
nothing changes.

Oversized bodies and headers, deep nesting, bytes that are not UTF-8,
injection strings (kept as text, word for word), paths that climb out,
absurd paging, and a client that starts a request and never finishes it.
"""

import socket
from contextlib import closing

import psycopg2
import pytest

from lifecycle import assert_error, clock, hotline, standalone_city  # noqa: F401 (fixtures)


def count(node, table):
    with closing(psycopg2.connect(node.settings["database"])) as db, db.cursor() as cur:
        cur.execute(f"SELECT count(*) FROM {table}")
        return cur.fetchone()[0]


def raw(node, request, timeout=10):
    """Sends bytes as they are; returns what the node answers, until it closes."""
    with socket.create_connection(("127.0.0.1", node.settings["http_port"]),
                                  timeout=timeout) as s:
        s.sendall(request)
        answer = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return answer
            answer += chunk


def status_of(answer):
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.") else None


def test_a_body_over_the_limit_is_413_and_registers_nothing(hotline):
    before = count(hotline.node, "tickets")
    body = hotline.ticket(content="很" * 100)
    data = ('{"pad": "' + "x" * (1024 * 1024) + '", ' + str(body)[1:]).encode()
    response = hotline.post_raw("/api/v1/tickets", hotline.operator, data)
    assert_error(response, 413, "body_too_large")
    assert count(hotline.node, "tickets") == before


def test_headers_too_large_are_refused(hotline):
    answer = raw(hotline.node, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: "
                 + b"a" * (256 * 1024) + b"\r\n\r\n")
    assert status_of(answer) in (400, 413, 431)


def test_deep_nesting_is_malformed_json(hotline):
    before = count(hotline.node, "tickets")
    for data in (b"[" * 100000 + b"]" * 100000,
                 b'{"kind": ' + b"{\"a\": " * 50000 + b"1" + b"}" * 50000 + b"}"):
        response = hotline.post_raw("/api/v1/tickets", hotline.operator, data)
        assert response.status_code == 400, response.text
        assert response.json()["error"]["code"] in ("malformed_json", "invalid_field")
    assert count(hotline.node, "tickets") == before


@pytest.mark.parametrize("text", [
    "'; DROP TABLE tickets; --",
    "\" OR 1=1 --",
    "1); DELETE FROM ticket_events WHERE (1=1",
    "$1 $$ \\x00 %s %n {{7*7}} <script>alert(1)</script>",
])
def test_injection_strings_are_kept_verbatim_and_do_nothing(hotline, text):
    ticket = hotline.create(content="工地夜间施工扰民。" + text)
    assert hotline.show(ticket["id"])["content"] == "工地夜间施工扰民。" + text
    assert count(hotline.node, "tickets") >= 1
    assert count(hotline.node, "ticket_events") >= 1
    listed = hotline.list(q=text)
    assert listed.status_code in (200, 400), listed.text


@pytest.mark.parametrize("path", [
    "/../../etc/passwd",
    "/api/v1/../../../etc/passwd",
    "/api/v1/tickets/..%2F..%2F..%2Fetc%2Fpasswd",
    "/api/v1/tickets/%2e%2e/%2e%2e/etc/passwd",
    "/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "//etc/passwd",
])
def test_paths_that_climb_out_find_nothing(hotline, path):
    answer = raw(hotline.node, f"GET {path} HTTP/1.1\r\nHost: x\r\n"
                 f"Authorization: Bearer {hotline.manager}\r\nConnection: close\r\n\r\n"
                 .encode())
    assert status_of(answer) in (400, 404), answer[:200]
    assert b"root:" not in answer


@pytest.mark.parametrize("params", [
    {"page_size": "1000000"},
    {"page_size": "0"},
    {"page": "0"},
    {"page": "-1"},
    {"page": "99999999999999999999999"},
    {"page_size": "1e9"},
    {"page": "1; DROP TABLE tickets"},
])
def test_absurd_paging_is_refused_naming_the_parameter(hotline, params):
    response = hotline.list(**params)
    assert_error(response, 400, "invalid_field", next(iter(params)))


def test_a_query_that_is_not_utf8_is_refused(hotline):
    answer = raw(hotline.node, b"GET /api/v1/tickets?status=%ff%fe HTTP/1.1\r\nHost: x\r\n"
                 b"Authorization: Bearer " + hotline.manager.encode()
                 + b"\r\nConnection: close\r\n\r\n")
    assert status_of(answer) == 400, answer[:300]


def test_a_client_that_never_finishes_is_cut_off_and_others_are_served(workspace):
    node = standalone_city(workspace, http_timeout_s=2)
    node.start()
    with socket.create_connection(("127.0.0.1", node.settings["http_port"]), timeout=60) as s:
        s.sendall(b"POST /api/v1/tickets HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{")
        # Meanwhile the node serves everybody else.
        assert node.http("GET", "/healthz").status_code == 200
        # Then the connection is closed: recv() ends instead of timing out.
        while s.recv(65536):
            pass
    assert node.http("GET", "/healthz").status_code == 200
    assert count(node, "tickets") == 0


def test_an_address_trying_tokens_is_made_to_wait(workspace):
    node = standalone_city(workspace)
    node.start()
    for i in range(20):
        response = node.http("GET", "/api/v1/tickets", token=f"guess-{i:04d}")
        assert_error(response, 401, "unauthorized")

    response = node.http("GET", "/api/v1/tickets", token="guess-0020")
    assert_error(response, 429, "too_many_attempts")
    assert int(response.headers["Retry-After"]) > 0
    # The address waits whatever it sends, so that it learns nothing meanwhile.
    assert_error(node.http("GET", "/api/v1/units", token=node.admin_token), 429,
                 "too_many_attempts")
    # What needs no token is served.
    assert node.http("GET", "/healthz").status_code == 200
