"""A registered city that misbehaves changes nothing it does not own.

CURVE admits only registered keys, but a registered node may still be
compromised.  This test speaks the federation protocol itself, as such a
node would: the province must refuse envelopes claiming another node's
code, drop stream items that are not ticket changes (without blocking the
stream), and never let one node write another node's tickets.
"""

import json
from contextlib import closing

import psycopg2
import zmq

from hotline import GUANGZHOU

ROGUE = ("440700", "江门")


def varint(n):
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field(number, value):
    """One protobuf field: an int as a varint, bytes/str length-delimited."""
    if isinstance(value, int):
        return varint(number << 3) + varint(value)
    data = value.encode() if isinstance(value, str) else value
    return varint(number << 3 | 2) + varint(len(data)) + data


def envelope(sender, payload_number, payload, stream=0, seq=0):
    return (field(1, 1) + field(3, sender) + field(4, "440000") +
            (field(5, stream) + field(7, seq) if stream else b"") +
            field(payload_number, payload))


SIGN_KEY = "MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqo="  # any 32 bytes, base64


def hello(code, name):
    return envelope(code, 11, field(1, code) + field(2, name) + field(3, "rogue 0") + field(4, 7) +
                    field(5, SIGN_KEY))


def batch(code, seq, items):
    body = b"".join(field(1, json.dumps(item, ensure_ascii=False)) for item in items)
    return envelope(code, 16, body + field(2, seq), stream=1, seq=seq)


def forged_ticket(ticket_id, owner):
    at = "2024-11-04T10:00:00+08:00"
    return {"ticket": {"id": ticket_id, "owner_node": owner, "owner_epoch": 1, "version": 99,
                       "status": "completed", "kind": "help", "channel": "web",
                       "category": "public_service", "division": "440106", "phone_hash": "x",
                       "created_at": at, "updated_at": at, "deadline": None},
            "event": {"ticket_id": ticket_id, "seq": 1, "at": at, "action": "register",
                      "to_status": "registered", "hash": "0" * 64}}


def master_ids(fed):
    with closing(psycopg2.connect(fed.province.settings["database"])) as db, db.cursor() as cur:
        cur.execute("SELECT id FROM master_tickets")
        return {row[0] for row in cur.fetchall()}


def test_a_registered_but_hostile_city_cannot_write_what_it_does_not_own(federation):
    fed = federation(GUANGZHOU)
    fed.wait_connected("440100")
    public, secret = zmq.curve_keypair()
    fed.province.run("node-add", ROGUE[0], ROGUE[1], public.decode())

    context = zmq.Context()
    sock = context.socket(zmq.DEALER)
    sock.curve_publickey, sock.curve_secretkey = public, secret
    sock.curve_serverkey = fed.province.public_key().encode()
    sock.linger = 0
    try:
        sock.connect(fed.province.settings["federation_bind"])
        # Another city's code on our key: refused and logged.
        sock.send(hello("440100", "广州"))
        fed.province.wait_log("claiming '440100'")
        # Our own code: a session.
        sock.send(hello(*ROGUE))
        fed.province.wait_log(f"node '{ROGUE[0]}' connected")
        # A stream of: garbage, a ticket of Guangzhou's, a ticket claiming
        # to be ours but numbered as Guangzhou's, and one truly ours.
        sock.send(batch(ROGUE[0], 1, [
            {"nothing": "useful"},
            forged_ticket("440100-20241104-000001", "440100"),
            forged_ticket("440100-20241104-000002", ROGUE[0]),
            forged_ticket("440700-20241104-000001", ROGUE[0]),
        ]))
        fed.province.wait_log(f"dropped message 1 of node '{ROGUE[0]}'")
        fed.province.wait_for(lambda: "440700-20241104-000001" in master_ids(fed),
                              "the rogue's own ticket to arrive")
    finally:
        sock.close()
        context.term()

    assert master_ids(fed) & {"440100-20241104-000001", "440100-20241104-000002"} == set()
