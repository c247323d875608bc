# SPDX-License-Identifier: Apache-2.0
"""Key rotation without downtime (README "Key rotation").

A city replaces its CURVE key pair and its signing key while it keeps
syncing: `city-node rotate-key` makes the new keys ready, the province
registers them with `node-key` and admits the old and the new ones during a
grace period, the city switches on SIGHUP without stopping, and after the
grace (or `node-key-retire`) the old key is refused and logged.  Signatures
made with the old signing key still verify at both ends, and the province
records which key signed each message.  A node replaces the key that seals
personal data: old rows stay readable, new rows carry the new key's id, and
`pii-reseal` seals every row again, in batches, resumable, while the node
runs, so that the old key can be deleted.
"""

import datetime
import signal
import zoneinfo
from contextlib import closing

import psycopg2
import zmq

from hotline import GUANGZHOU, SHENZHEN
from lifecycle import (CITIZEN_CONTACT, CITIZEN_ID_NUMBER, CITIZEN_NAME,  # noqa: F401
                       CITIZEN_PHONE, FakeClock, clock, hotline)
from test_sync import wait_in_sync
from test_transfers import offices, transfer, wait_status

CLEAR = {"type": "person", "name": CITIZEN_NAME, "phone": CITIZEN_PHONE,
         "id_number": CITIZEN_ID_NUMBER, "contact": CITIZEN_CONTACT}
MASKED = {"type": "person", "name": "陈**", "phone": "138****8000",
          "id_number": "440" + "*" * 13 + "3X", "contact": "***"}


def rows(node, sql, args=()):
    with closing(psycopg2.connect(node.settings["database"])) as db, db.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall()


def rotate_key(city):
    """`rotate-key`: the new CURVE public key and signing key, as printed."""
    printed = dict(line.split(" ", 1) for line in city.run("rotate-key").stdout.splitlines())
    return printed["curve-key"], printed["sign-key"]


def switch_keys(node, expect):
    """SIGHUP, as `systemctl reload` sends it; waits for the node to say expect."""
    mark = node.log_mark()
    node.process.send_signal(signal.SIGHUP)
    return node.wait_log(expect, since=mark)


def change_reaches_the_master_dataset(fed, office):
    """A new appeal at the city, dispatched; polls until the master dataset
    holds the ticket as the city does, with every event of it."""
    ticket_id = office.in_handling()["id"]
    query = "SELECT status, version FROM {} WHERE id = %s"
    events = "SELECT seq, hash FROM {} WHERE ticket_id = %s ORDER BY seq"
    fed.province.wait_for(
        lambda: rows(fed.province, query.format("master_tickets"), (ticket_id,))
        == rows(office.node, query.format("tickets"), (ticket_id,))
        and rows(fed.province, events.format("master_events"), (ticket_id,))
        == rows(office.node, events.format("ticket_events"), (ticket_id,)),
        f"ticket {ticket_id} of {office.node.code} in the master dataset")
    return ticket_id


def signer_keys(node, ticket_id):
    """{kind: signer_key} of the transfer messages of a ticket stored at node."""
    return dict(rows(node, "SELECT kind, signer_key FROM transfer_messages"
                           " WHERE transfer_id LIKE %s", (ticket_id + ".%",)))


def assert_no_key_material_logged(nodes):
    """No secret of any node's data folder, in use, made ready or kept,
    appears in any node's log."""
    secrets = [path.read_text().strip() for node in nodes for path in node.data_dir.glob("*.key")]
    assert len(secrets) >= len(nodes)
    for node in nodes:
        log = node.log()
        assert not [secret for secret in secrets if secret in log]


def hand_off(gz, sz, ticket_id):
    transfer(gz, ticket_id, "440300")
    wait_status(sz, ticket_id, "registered")
    wait_status(gz, ticket_id, "transferred")


def test_a_city_replaces_its_keys_while_it_keeps_syncing(federation):
    fed, office = offices(federation, GUANGZHOU, SHENZHEN)
    gz, sz, province = office["440100"], office["440300"], fed.province
    city = gz.node
    before = fed.nodes()["440100"]["key_fingerprint"]

    # Before: a transfer signed with the key the city has had all along.
    signed_before = gz.create()["id"]
    hand_off(gz, sz, signed_before)
    old_sign = signer_keys(province, signed_before)["offer"]

    # 1. The city makes new keys ready; it still uses the old ones.
    curve, sign = rotate_key(city)
    assert (city.data_dir / "node.next.key").stat().st_mode & 0o777 == 0o600
    assert (city.data_dir / "sign.next.key").stat().st_mode & 0o777 == 0o600
    assert sign != old_sign
    assert rotate_key(city) == (curve, sign), "ready keys are kept, not made again"
    change_reaches_the_master_dataset(fed, gz)

    # 2. The province registers them with a grace period: both are admitted,
    # the city's session on its old key goes on.
    mark = province.log_mark()
    province.run("node-key", "440100", curve, sign, "--grace-hours", "24")
    entry = fed.nodes()["440100"]
    assert entry["previous_key_fingerprint"] == before
    assert entry["key_fingerprint"] != before and entry["previous_key_until"] is not None
    change_reaches_the_master_dataset(fed, gz)
    # A new session on the old keys is admitted too: its CURVE key, and the
    # signing key its hello shows.
    province.restart()
    fed.wait_connected("440100")
    mark = province.log_mark()
    change_reaches_the_master_dataset(fed, gz)
    signed_during = gz.create()["id"]
    hand_off(gz, sz, signed_during)
    # The province seals what it sends the city for the new key already: the
    # city, not switched yet, opens it with the key made ready.
    inbound = sz.create()["id"]
    transfer(sz, inbound, "440100")
    wait_status(gz, inbound, "registered")
    assert gz.show(inbound)["citizen"] == CLEAR
    assert fed.connected_entry("440100") is not None
    assert province.log_lines("disconnected", since=mark) == []

    # 3. A transfer in flight: offered, signed and sealed with the old keys
    # while the province is away, then the city switches without a restart.
    province.stop()
    in_flight = gz.create()["id"]
    transfer(gz, in_flight, "440300")
    pid = city.process.pid
    switch_keys(city, "switched to the new keys")
    assert city.process.pid == pid and city.healthz()["status"] == "ok"
    assert not (city.data_dir / "node.next.key").exists()
    assert (city.data_dir / "node.old.key").stat().st_mode & 0o777 == 0o600
    assert city.public_key() == curve
    province.start()
    fed.wait_connected("440100")
    wait_status(sz, in_flight, "registered")
    wait_status(gz, in_flight, "transferred")
    assert sz.show(in_flight)["citizen"] == CLEAR, "the personal data crossed and opens"
    change_reaches_the_master_dataset(fed, gz)

    # 4. After the switch, messages are signed with the new key.
    signed_after = gz.create()["id"]
    hand_off(gz, sz, signed_after)

    # 5. The grace period ends: the old key is refused and logged, the new
    # one goes on syncing.
    mark = province.log_mark()
    province.run("node-key-retire", "440100")
    assert fed.nodes()["440100"]["previous_key_fingerprint"] is None
    old_secret = (city.data_dir / "node.old.key").read_text().strip()
    old_public = (city.data_dir / "node.old.pub").read_text().strip()
    context = zmq.Context()
    try:
        dealer = context.socket(zmq.DEALER)
        dealer.setsockopt(zmq.LINGER, 0)
        dealer.curve_secretkey = old_secret.encode()
        dealer.curve_publickey = old_public.encode()
        dealer.curve_serverkey = province.public_key().encode()
        dealer.connect(province.settings["federation_bind"])
        refusal = province.wait_log("refused unknown key", since=mark)
        assert before in refusal, "the refusal names the old key's fingerprint"
    finally:
        context.destroy(linger=0)
    change_reaches_the_master_dataset(fed, gz)
    assert fed.connected_entry("440100")["key_fingerprint"] != before

    # Which key signed what, recorded on both sides; every signature verifies.
    for node in (province, city, sz.node):
        assert signer_keys(node, signed_before)["offer"] == old_sign
        assert signer_keys(node, signed_during)["offer"] == old_sign
        assert signer_keys(node, in_flight)["offer"] == old_sign
        assert signer_keys(node, signed_after)["offer"] == sign
        result = node.run("verify")
        assert "verified" in result.stdout and "bad signature" not in result.stdout
    assert province.log_lines("signed with its previous key")
    assert_no_key_material_logged([province, city, sz.node])


def test_a_key_replaced_without_grace_ends_the_old_session_at_once(federation):
    fed, office = offices(federation, GUANGZHOU)
    gz = office["440100"]
    city = gz.node
    curve, sign = rotate_key(city)

    # As node-add re-keying does: the old key's session ends at once.
    province = fed.province
    province.run("node-key", "440100", curve, sign, "--grace-hours", "0")
    province.wait_log("removed or re-keyed")
    fed.wait_disconnected("440100")
    assert fed.nodes()["440100"]["previous_key_fingerprint"] is None
    stranded = gz.create()["id"]  # the city serves meanwhile

    # The city switches and is back, with what it took meanwhile.
    switch_keys(city, "switched to the new keys")
    fed.wait_connected("440100")
    wait_in_sync(fed, city)
    assert rows(province, "SELECT count(*) FROM master_tickets WHERE id = %s",
                (stranded,)) == [(1,)]


def test_the_old_key_is_refused_once_the_grace_period_is_over(federation, workspace):
    fed = federation(GUANGZHOU, start=False)
    now = datetime.datetime.now(zoneinfo.ZoneInfo("Asia/Shanghai"))
    province_clock = FakeClock(workspace.folder / "province-time", now.strftime("%F %T"))
    fed.province.start(env=province_clock.env())
    city = fed.cities["440100"]
    city.start()
    fed.wait_connected("440100")
    curve, sign = rotate_key(city)
    fed.province.run("node-key", "440100", curve, sign, "--grace-hours", "1")

    # Within the hour the old key's session goes on; past it, it ends.
    province_clock.set((now + datetime.timedelta(minutes=50)).strftime("%F %T"))
    assert fed.nodes()["440100"]["previous_key_fingerprint"] is not None
    assert fed.connected_entry("440100") is not None
    province_clock.set((now + datetime.timedelta(minutes=70)).strftime("%F %T"))
    fed.province.wait_log("removed or re-keyed")
    fed.wait_disconnected("440100")
    assert fed.nodes()["440100"]["previous_key_fingerprint"] is None

    switch_keys(city, "switched to the new keys")
    fed.wait_connected("440100")


def test_a_city_that_switches_first_waits_for_its_new_key_to_be_registered(federation):
    fed, office = offices(federation, GUANGZHOU)
    city = office["440100"].node
    curve, sign = rotate_key(city)
    mark = fed.province.log_mark()

    switch_keys(city, "switched to the new keys")
    fed.province.wait_log("refused unknown key", since=mark)
    fed.wait_disconnected("440100")
    waiting = office["440100"].create()["id"]

    fed.province.run("node-key", "440100", curve, sign)
    fed.wait_connected("440100")
    fed.province.wait_for(
        lambda: rows(fed.province, "SELECT 1 FROM master_tickets WHERE id = %s", (waiting,)),
        "what the city took while refused in the master dataset")


def test_node_key_refuses_what_is_not_a_key(federation):
    fed, _ = offices(federation, GUANGZHOU)
    curve, sign = rotate_key(fed.cities["440100"])
    province = fed.province

    for args, message in [(("440700", curve, sign), "not a registered node"),
                          (("440100", "short", sign), "not a CURVE public key"),
                          (("440100", curve, "not-base64"), "not an Ed25519 public key"),
                          (("440100", curve, sign, "--grace-hours", "x"), "--grace-hours")]:
        result = province.run("node-key", *args, check=False)
        assert result.returncode != 0 and message in result.stderr, result.stderr
    assert fed.nodes()["440100"]["previous_key_fingerprint"] is None
    assert province.run("node-key-retire", "440100", check=False).returncode == 1


def key_ids(node):
    """{pii_key_id: count} of the node's tickets, as psql shows them."""
    return dict(rows(node, "SELECT pii_key_id, count(*) FROM tickets GROUP BY 1"))


def test_the_sealing_key_is_replaced_and_every_row_sealed_again(hotline):
    node = hotline.node
    old_rows = [hotline.create()["id"] for _ in range(5)]
    (old_id,) = key_ids(node)

    # A key made ready changes nothing until the switch.
    staged = node.run("pii-rotate").stdout.split()[-1]
    assert staged != old_id
    assert key_ids(node) == {old_id: 5}
    assert node.run("pii-reseal").stdout.endswith(f"every ticket is sealed with key '{old_id}';"
                                                  " 0 resealed\n")

    switch_keys(node, f"sealed with key '{staged}' from now on")
    assert (node.data_dir / f"pii.{old_id}.key").stat().st_mode & 0o777 == 0o600
    new_row = hotline.create()["id"]
    assert key_ids(node) == {old_id: 5, staged: 1}
    for ticket_id in old_rows + [new_row]:
        assert hotline.show(ticket_id)["citizen"] == CLEAR
        assert hotline.show(ticket_id, hotline.auditor)["citizen"] == MASKED

    # In batches, stopped after the first, then finished by a second run.
    first = node.run("pii-reseal", "--batch-size", "2", "--max-batches", "1", check=False)
    assert first.returncode == 1
    assert "5 tickets sealed with another key" in first.stdout
    assert "resealed 2 of 5" in first.stdout and "run again" in first.stdout
    assert key_ids(node) == {old_id: 3, staged: 3}
    rest = node.run("pii-reseal", "--batch-size", "2")
    assert "resealed 3 of 3" in rest.stdout
    assert key_ids(node) == {staged: 6}
    again = node.run("pii-reseal")
    assert again.stdout.endswith(f"every ticket is sealed with key '{staged}'; 0 resealed\n")
    assert key_ids(node) == {staged: 6}

    # The node read them all along, and reads them without the old key.
    for ticket_id in old_rows:
        assert hotline.show(ticket_id)["citizen"] == CLEAR
    assert_no_key_material_logged([node])
    (node.data_dir / f"pii.{old_id}.key").unlink()
    node.restart()
    for ticket_id in old_rows + [new_row]:
        assert hotline.show(ticket_id)["citizen"] == CLEAR
        assert hotline.show(ticket_id, hotline.auditor)["citizen"] == MASKED
    progress = node.http("GET", f"/api/v1/progress/{old_rows[0]}",
                         params={"phone_last4": CITIZEN_PHONE[-4:]})
    assert progress.status_code == 200, progress.text
    hotline.create()
    assert key_ids(node) == {staged: 7}
    assert "verified" in node.run("verify").stdout


def test_a_retired_sealing_key_must_be_a_secret_file(hotline):
    node = hotline.node
    ticket_id = hotline.create()["id"]
    node.run("pii-rotate")
    switch_keys(node, "from now on")
    (retired,) = node.data_dir.glob("pii.*.key")
    retired.chmod(0o644)
    node.stop()
    node.start(wait=False)
    assert node.wait_exit() == 1
    assert "loose permissions" in node.log_tail()
    retired.chmod(0o600)
    node.start()
    assert hotline.show(ticket_id)["citizen"] == CLEAR


def test_rows_a_key_not_held_sealed_are_reported_not_resealed(hotline):
    node = hotline.node
    hotline.create()
    with closing(psycopg2.connect(node.settings["database"])) as db, db.cursor() as cur:
        cur.execute("UPDATE tickets SET pii_key_id = '0123456789abcdef'")
        db.commit()
    result = node.run("pii-reseal", check=False)
    assert result.returncode == 1
    assert "does not open with key '0123456789abcdef' (not held here)" in result.stdout
    assert key_ids(node) == {"0123456789abcdef": 1}


def test_the_province_seals_its_own_hotline_with_a_new_key(federation):
    fed, office = offices(federation, GUANGZHOU)
    province, mine = fed.province, office["440000"]
    ticket_id = mine.in_handling()["id"]
    (old_id,) = key_ids(province)

    staged = province.run("pii-rotate").stdout.split()[-1]
    switch_keys(province, f"sealed with key '{staged}' from now on")
    assert "every ticket is sealed with key" in province.run("pii-reseal").stdout
    assert key_ids(province) == {staged: 1}
    assert mine.show(ticket_id)["citizen"] == CLEAR
    # The link went on: the province's CURVE key is not switched.
    change_reaches_the_master_dataset(fed, office["440100"])
    # The master dataset holds no sealed personal data to seal again.
    assert rows(province, "SELECT count(*) FROM information_schema.columns"
                          " WHERE table_name LIKE 'master%%' AND data_type = 'bytea'") == [(0,)]
