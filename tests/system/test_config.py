# SPDX-License-Identifier: Apache-2.0
"""`-n` checks a config file: a good one is accepted, every kind of mistake
is rejected with exit status 1 and a message naming the option."""

import pytest

from hotline import GUANGZHOU, PROVINCE

Z85_KEY = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"  # a well-formed public key
Z85_KEY_WITH_HASH = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]y#7"  # '#' is a Z85 digit


@pytest.fixture
def make_node(workspace):
    """make_node(role) -> a node with a valid config that is never started."""
    def make(role):
        code, name = PROVINCE if role == "province" else GUANGZHOU
        extra = ({"federation_bind": "tcp://127.0.0.1:12350"} if role == "province" else
                 {"province_endpoint": "tcp://127.0.0.1:12350",
                  "province_public_key": Z85_KEY})
        database = workspace.postgres.conninfo("postgres")
        return workspace.new_node(role, code, name, database=database, **extra)
    return make


@pytest.mark.parametrize("role", ["city", "province"])
def test_good_config_is_accepted(make_node, role):
    node = make_node(role)

    result = node.check_config()

    assert result.returncode == 0, result.stderr
    assert "configuration OK" in result.stdout


def test_public_key_may_contain_a_hash_sign(make_node):
    node = make_node("city")
    node.settings["province_public_key"] = Z85_KEY_WITH_HASH
    node.write_config()

    result = node.check_config()

    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("role, key, value", [
    ("city", "http_port", "70000"),
    ("city", "http_port", "0"),
    ("city", "http_port", "80x"),
    ("city", "http_threads", "65"),
    ("city", "heartbeat_interval_ms", "99"),
    ("city", "heartbeat_interval_ms", "60001"),
    ("city", "log_level", "chatty"),
    ("city", "node_code", "abc"),
    ("city", "node_code", "4401"),
    ("city", "node_code", "440000"),  # the province's code
    ("city", "node_code", "440106"),  # a district, not a city
    ("province", "node_code", "440100"),
    ("city", "data_dir", "/nonexistent/hotline"),
    ("city", "province_public_key", "too-short"),
])
def test_bad_value_is_rejected(make_node, role, key, value):
    node = make_node(role)
    node.settings[key] = value
    node.write_config()

    result = node.check_config()

    assert result.returncode == 1
    assert key in result.stderr


@pytest.mark.parametrize("role, key, value", [
    ("city", "colour", "red"),
    ("province", "colour", "red"),
    ("province", "province_endpoint", "tcp://127.0.0.1:12350"),  # city only
    ("province", "province_public_key", Z85_KEY),  # city only
    ("city", "federation_bind", "tcp://127.0.0.1:12350"),  # province only
])
def test_key_not_valid_for_the_role_is_rejected(make_node, role, key, value):
    node = make_node(role)
    node.settings[key] = value
    node.write_config()

    result = node.check_config()

    assert result.returncode == 1
    assert key in result.stderr


@pytest.mark.parametrize("role, key", [
    ("city", "node_code"),
    ("province", "node_code"),
    ("city", "province_public_key"),
])
def test_missing_required_key_is_rejected(make_node, role, key):
    node = make_node(role)
    del node.settings[key]
    node.write_config()

    result = node.check_config()

    assert result.returncode == 1
    assert key in result.stderr


def test_line_without_equals_sign_is_rejected(make_node):
    node = make_node("city")
    with open(node.config_path, "a") as config:
        config.write("http_port 12341\n")

    result = node.check_config()

    assert result.returncode == 1
    assert str(node.config_path) in result.stderr


def test_missing_config_file_is_rejected(make_node):
    node = make_node("city")
    node.config_path.unlink()

    result = node.check_config()

    assert result.returncode == 1
    assert str(node.config_path) in result.stderr
