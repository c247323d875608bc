"""The client behind a trusted reverse proxy.

A node behind a reverse proxy sees every citizen come from the proxy's
address.  With `trusted_proxies` it takes the client from the proxy's
X-Forwarded-For instead: the right-most address there that is not itself a
trusted proxy, and only for a connection from a trusted proxy.  Everything
keyed by the client's address (the throttle of invalid tokens, the limits
of the progress query) then counts each client apart.  A header from anyone
else is ignored, and a header that is not a list of addresses counts the
request as the proxy's, which the log says.  A citizen's address is
personal data: it never reaches the log.
"""

from lifecycle import assert_error, standalone_city

LIMIT = 20  # invalid tokens an address may send within five minutes


def through(node, client, token, path="/api/v1/units"):
    """A request as the proxy forwards it for client (the header's value)."""
    headers = {} if client is None else {"X-Forwarded-For": client}
    return node.http("GET", path, token=token, headers=headers)


def guess(node, client, i):
    return through(node, client, f"guess-{i:04d}")


def exhaust(node, client):
    """Makes client send the invalid tokens that make it wait."""
    for i in range(LIMIT):
        assert_error(guess(node, client, i), 401, "unauthorized")
    assert_error(guess(node, client, LIMIT), 429, "too_many_attempts")


def test_two_clients_behind_a_trusted_proxy_are_throttled_apart(workspace):
    node = standalone_city(workspace, trusted_proxies="127.0.0.1, 10.0.0.0/8")
    node.start()

    # The proxy in front of 10.0.0.0/8 forwarded it too: the client is the
    # right-most address that is not a trusted proxy, whatever it claims
    # left of that.
    exhaust(node, "203.0.113.99, 198.51.100.7, 10.1.2.3")

    assert_error(through(node, "198.51.100.7", node.admin_token), 429, "too_many_attempts")
    assert_error(through(node, "192.0.2.1, 198.51.100.7", node.admin_token), 429,
                 "too_many_attempts")
    # Another citizen behind the same proxy, and the proxy itself, are served.
    assert through(node, "198.51.100.8", node.admin_token).status_code == 200
    assert through(node, "2001:db8::8", node.admin_token).status_code == 200
    assert through(node, None, node.admin_token).status_code == 200
    assert "198.51.100.7" not in node.log()


def test_a_forged_header_from_an_untrusted_address_changes_nothing(workspace):
    # 127.0.0.1, where the test connects from, is not a trusted proxy.
    node = standalone_city(workspace, trusted_proxies="192.0.2.10/32")
    node.start()

    for i in range(LIMIT):
        assert_error(guess(node, f"198.51.100.{i + 1}", i), 401, "unauthorized")

    # Every one of them was 127.0.0.1's: a new name in the header helps nobody.
    assert_error(through(node, "198.51.100.200", node.admin_token), 429, "too_many_attempts")
    assert_error(through(node, None, node.admin_token), 429, "too_many_attempts")


def test_no_proxy_is_trusted_by_default(workspace):
    node = standalone_city(workspace)
    node.start()

    for i in range(LIMIT):
        assert_error(guess(node, f"198.51.100.{i + 1}", i), 401, "unauthorized")
    assert_error(through(node, "198.51.100.200", node.admin_token), 429, "too_many_attempts")


MALFORMED = ["not-an-address", "198.51.100.7:8080", "[2001:db8::1]", "198.51.100.7,,10.1.2.3",
             "198.51.100.256", "1.2.3.4.5", "198.51.100.7 198.51.100.8",
             "198.51.100.7, " * 40 + "198.51.100.9", "unknown", "198.51.100.07"]


def test_a_malformed_header_counts_as_the_proxy_and_is_logged(workspace):
    node = standalone_city(workspace, trusted_proxies="127.0.0.1")
    node.start()
    mark = node.log_mark()

    for i in range(LIMIT):
        assert_error(guess(node, MALFORMED[i % len(MALFORMED)], i), 401, "unauthorized")

    # All of them were the proxy's: it waits, its well-formed clients do not.
    assert_error(through(node, None, node.admin_token), 429, "too_many_attempts")
    assert_error(through(node, "not-an-address", node.admin_token), 429, "too_many_attempts")
    assert through(node, "198.51.100.7", node.admin_token).status_code == 200
    line = node.wait_log("malformed X-Forwarded-For", since=mark)
    assert "127.0.0.1" in line and "198.51.100" not in line


def test_the_progress_query_limits_each_client_behind_the_proxy(workspace):
    node = standalone_city(workspace, trusted_proxies="127.0.0.1")
    node.start()

    def query(client, n):
        return through(node, client, None,
                       f"/api/v1/progress/440100-20240101-{n:06d}?phone_last4=0000")

    # Ten wrong guesses make an address wait (progress_api.c).
    for n in range(1, 11):
        assert_error(query("198.51.100.7", n), 404, "not_found")
    assert_error(query("198.51.100.7", 11), 429, "too_many_attempts")
    assert_error(query("198.51.100.8", 12), 404, "not_found")


def test_a_trusted_proxy_that_is_not_an_address_stops_the_node(workspace):
    node = standalone_city(workspace)
    for bad in ("10.0.0.0/33", "300.1.2.3", "proxy.example", "10.0.0.1,", "::1/129",
                "10.0.0.1/8x", "10.0.0.1/", "/8"):
        node.settings["trusted_proxies"] = bad
        node.write_config()
        result = node.check_config()
        assert result.returncode != 0, bad
        assert "trusted_proxies" in result.stderr, result.stderr
    node.settings["trusted_proxies"] = "10.0.0.0/8, 192.0.2.1, 2001:db8::/32, ::1"
    node.write_config()
    assert node.check_config().returncode == 0
