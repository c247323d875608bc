"""Hostile peers at the federation's link: strangers, garbage, giants,
replays and floods.

The tests act as the peer themselves, with python3-zmq over TCP against a
real province (and real cities): a client without CURVE, with a key nobody
registered, with a registered key but the wrong server key; a registered
city writing garbage after a good handshake, a message over the maximum
size, captured messages sent again, and a city flooding the province.
Each is refused or dropped and logged, once per kind rather than once per
message, and the province keeps serving the others: a legitimate city's
change still reaches the master dataset.
"""

import json
import os

import zmq
from zmq.utils.monitor import recv_monitor_message

from hotline import GUANGZHOU, SHENZHEN, wait_until
from lifecycle import Hotline
from test_hostile_peer import ROGUE, Rogue, batch, envelope, field, forged_ticket, master_ids
from test_transfers import status_at, transfer

# The largest envelope (wire.h WIRE_MAX_SIZE) and the largest message
# ZeroMQ lets through (link.c: the envelope and room for its framing).
MAX_ENVELOPE = 1024 * 1024
MAX_MESSAGE = MAX_ENVELOPE + 1024


def log_count(node, text, since=0):
    return len(node.log_lines(text, since))


def handshake_ends(sock, monitor):
    """Waits for the 'monitor' of 'sock' to report its connection's handshake
    failed or its connection closed; returns the event."""
    ends = {zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL, zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL,
            zmq.EVENT_HANDSHAKE_FAILED_AUTH, zmq.EVENT_DISCONNECTED}

    def ended():
        while monitor.poll(0):
            event = recv_monitor_message(monitor)
            if event["event"] in ends:
                return event
        return None
    try:
        return wait_until(ended, "the handshake to end")
    finally:
        sock.disable_monitor()
        monitor.close()


def stranger(context, fed, public=None, secret=None, server_key=None):
    """A DEALER to the province, and its monitor; without keys it speaks no
    CURVE at all."""
    sock = context.socket(zmq.DEALER)
    sock.linger = 0
    if public is not None:
        sock.curve_publickey, sock.curve_secretkey = public, secret
        sock.curve_serverkey = server_key or fed.province.public_key().encode()
    monitor = sock.get_monitor_socket()
    sock.connect(fed.province.settings["federation_bind"])
    return sock, monitor


def test_strangers_are_refused_and_logged_while_a_registered_city_goes_on(federation):
    fed = federation(GUANGZHOU)
    fed.wait_connected("440100")
    gz = Hotline(fed.cities["440100"])
    province = fed.province
    mark = province.log_mark()
    registered_public, registered_secret = zmq.curve_keypair()
    province.run("node-add", ROGUE[0], ROGUE[1], registered_public.decode())
    wrong_server, _ = zmq.curve_keypair()
    unknown_public, unknown_secret = zmq.curve_keypair()
    attacks = {
        "no curve": {},
        "unknown key": {"public": unknown_public, "secret": unknown_secret},
        "wrong server key": {"public": registered_public, "secret": registered_secret,
                             "server_key": wrong_server},
    }
    rounds = 8
    created = []
    context = zmq.Context()
    try:
        for n in range(rounds):
            for kind, keys in attacks.items():
                sock, monitor = stranger(context, fed, **keys)
                try:
                    sock.send(envelope(ROGUE[0], 11, field(1, ROGUE[0]) + field(2, ROGUE[1])))
                    handshake_ends(sock, monitor)
                finally:
                    sock.close()
            # The registered city works on meanwhile.
            created.append(gz.create()["id"])
    finally:
        context.destroy(linger=0)

    province.wait_for(lambda: set(created) <= master_ids(fed),
                      "Guangzhou's tickets to reach the master dataset")
    assert province.healthz()["federation"] == "listening"
    assert fed.connected_entry("440100") is not None
    assert not province.log_lines(f"node '{ROGUE[0]}' connected", since=mark)
    refusals = {
        "no curve": "it does not speak curve",
        "unknown key": "refused unknown key '",
        "wrong server key": "its curve handshake does not decrypt",
    }
    for kind, text in refusals.items():
        lines = province.wait_log(text, since=mark) and province.log_lines(text, since=mark)
        # Logged, but not once per attempt.
        assert 1 <= len(lines) < rounds / 2, (kind, lines)


def garbage(code):
    """Every kind of garbage a registered city may write after its handshake,
    as lists of frames."""
    good = batch(code, 1, [forged_ticket(f"{code}-20241104-000001", code)])
    unknown_payload = envelope(code, 30, field(1, "who knows"))
    welcome = envelope(code, 12, field(1, code) + field(2, "江门") +
                       field(5, "MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqo="))
    return {
        "random bytes": ([os.urandom(97)], "message is not a valid envelope"),
        "truncated envelope": ([good[:len(good) // 2]], "message is not a valid envelope"),
        "three frames": ([good, good, good], "dropped a multipart message"),
        "empty frame": ([b""], "unknown protocol version"),
        "unknown payload": ([unknown_payload], "no known payload"),
        "welcome to the province": ([welcome], "refused welcome from '440700'"),
    }


def test_garbage_after_a_good_handshake_is_dropped_and_logged_once_per_kind(federation):
    fed = federation(GUANGZHOU)
    fed.wait_connected("440100")
    gz = Hotline(fed.cities["440100"])
    province = fed.province
    rogue = Rogue(fed)
    mark = province.log_mark()
    lines_before = len(province.log().splitlines())
    copies = 60
    try:
        kinds = garbage(ROGUE[0])
        for _ in range(copies):
            for frames, _ in kinds.values():
                rogue.sock.send_multipart(frames)
        # The same connection, in the same session, is heard afterwards.
        mine = f"{ROGUE[0]}-20241104-000001"
        rogue.send(forged_ticket(mine, ROGUE[0]))
        theirs = gz.create()["id"]
        province.wait_for(lambda: {mine, theirs} <= master_ids(fed),
                          "the rogue's and Guangzhou's changes to arrive")
    finally:
        rogue.close()

    assert province.healthz()["federation"] == "listening"
    for kind, (_, text) in kinds.items():
        lines = province.log_lines(text, since=mark)
        assert lines, kind
        assert len(lines) <= 3, (kind, lines)
    # Hundreds of messages, a few lines.
    written = len(province.log().splitlines()) - lines_before
    assert written < copies * len(kinds) / 10, province.log()[mark:]


def padded_batch(code, seq, ticket_id, size):
    """A batch of one real change and items of padding (not JSON: dropped
    one by one), at most 'size' bytes in all and as close to it as can be."""
    change = field(1, json.dumps(forged_ticket(ticket_id, code)))

    def build(pads):
        items = change + b"".join(field(1, "{" + "x" * n + "}") for n in pads)
        return envelope(code, 16, items + field(2, seq), stream=1, seq=seq)

    pads = []
    while len(build(pads + [200 * 1024])) <= size:
        pads.append(200 * 1024)
    n = size - len(build(pads))
    while n > 0 and len(build(pads + [n])) > size:
        n -= 1
    return build(pads + [n] if n > 0 else pads), 1 + len(pads) + (n > 0)


def test_a_message_over_the_maximum_size_closes_the_connection_and_is_logged(federation):
    fed = federation(GUANGZHOU)
    fed.wait_connected("440100")
    province = fed.province
    rogue = Rogue(fed)
    try:
        mark = province.log_mark()
        # Just under the largest envelope: handled as any other.
        under, items = padded_batch(ROGUE[0], 1, f"{ROGUE[0]}-20241104-000001", MAX_ENVELOPE)
        assert MAX_ENVELOPE - 16 < len(under) <= MAX_ENVELOPE
        rogue.hello()
        rogue.sock.send(under)
        rogue.seq = items
        province.wait_for(lambda: f"{ROGUE[0]}-20241104-000001" in master_ids(fed),
                          "the change in the largest envelope to arrive")

        # Over what ZeroMQ takes: the province closes the connection.
        monitor = rogue.sock.get_monitor_socket(zmq.EVENT_DISCONNECTED)
        rogue.sock.send(b"\x00" * (MAX_MESSAGE + 1))
        wait_until(lambda: monitor.poll(0), "the province to close the connection")
        rogue.sock.disable_monitor()
        monitor.close()
        province.wait_log("closed: by the peer, by the network or for a message over 1049600 bytes",
                          since=mark)
        assert province.healthz()["federation"] == "listening"
    finally:
        rogue.close()
