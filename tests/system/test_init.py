# SPDX-License-Identifier: Apache-2.0
"""`init` prepares a node: database schema, CURVE key pair, first admin
token; the daemon guards its private key and stops cleanly on a signal."""

import re
from contextlib import closing
import signal
import stat

import psycopg2
import psycopg2.sql
import pytest

from hotline import GUANGZHOU, PROVINCE, free_port

Z85_KEY = re.compile(r"[0-9a-zA-Z.\-:+=^!/*?&<>()\[\]{}@%$#]{40}")
PROVINCE_KEY = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"  # nobody listens there


@pytest.fixture(params=["city", "province"])
def node(request, workspace):
    """A node of each role with a valid config and an empty database,
    not yet initialised. Cities point at a province that is not running."""
    endpoint = f"tcp://127.0.0.1:{free_port()}"
    if request.param == "province":
        return workspace.new_node("province", *PROVINCE, federation_bind=endpoint)
    return workspace.new_node("city", *GUANGZHOU, province_endpoint=endpoint,
                              province_public_key=PROVINCE_KEY)


def mode(path):
    return stat.S_IMODE(path.stat().st_mode)


def test_init_creates_key_pair_and_admin_token(node):
    node.init()

    assert mode(node.data_dir / "node.key") == 0o600
    assert (node.data_dir / "node.pub").exists()
    assert Z85_KEY.fullmatch(node.public_key())
    token_file = node.data_dir / "admin.token"
    assert mode(token_file) == 0o600
    assert re.fullmatch(r"[0-9a-f]{64}\n", token_file.read_text())


def test_init_twice_keeps_keys_and_token(node):
    node.init()
    public_key = node.public_key()
    secret = (node.data_dir / "node.key").read_bytes()
    token = node.admin_token

    node.init()

    assert node.public_key() == public_key
    assert (node.data_dir / "node.key").read_bytes() == secret
    assert node.admin_token == token


def test_init_records_schema_migrations(node):
    node.init()

    with closing(psycopg2.connect(node.settings["database"])) as db, db.cursor() as cursor:
        cursor.execute("SELECT table_schema FROM information_schema.tables"
                       " WHERE table_name = 'schema_migrations'")
        schemas = cursor.fetchall()
        assert len(schemas) == 1, f"one schema_migrations table, found {schemas}"
        cursor.execute(psycopg2.sql.SQL("SELECT count(*) FROM {}.schema_migrations")
                       .format(psycopg2.sql.Identifier(schemas[0][0])))
        (applied,) = cursor.fetchone()
    assert applied > 0


def test_init_needs_an_existing_database(workspace):
    city = workspace.new_node("city", *GUANGZHOU,
                              database=workspace.postgres.conninfo("no_such_database"),
                              province_endpoint=f"tcp://127.0.0.1:{free_port()}",
                              province_public_key=PROVINCE_KEY)

    result = city.run("init", check=False, timeout=60)  # it may retry for a while

    assert result.returncode != 0
    assert "no_such_database" in result.stderr


@pytest.mark.parametrize("key_mode", [0o644, 0o640, 0o604], ids=oct)
def test_daemon_refuses_a_readable_private_key(node, key_mode):
    node.init()
    (node.data_dir / "node.key").chmod(key_mode)

    node.start(wait=False)

    assert node.wait_exit() != 0
    (complaint,) = node.log_lines("node.key")
    assert re.search(r"permission|mode", complaint, re.IGNORECASE)


@pytest.mark.parametrize("signal_number", [signal.SIGTERM, signal.SIGINT],
                         ids=["SIGTERM", "SIGINT"])
def test_daemon_stops_cleanly_on_a_signal(node, signal_number):
    node.init()
    node.start()

    node.process.send_signal(signal_number)

    assert node.wait_exit() == 0
