"""A registered city that misbehaves changes nothing it does not own.

CURVE admits only registered keys, but a registered node may still be
compromised.  This test speaks the federation protocol itself, as such a
node would: the province must refuse envelopes claiming another node's
code, drop stream items that are not ticket changes (without blocking the
stream), and never let one node write another node's tickets nor impose a
restriction in another node's name.
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
    """A batch of the ticket stream; an item given as text goes as it is."""
    body = b"".join(field(1, item if isinstance(item, str) else json.dumps(item, ensure_ascii=False))
                    for item in items)
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


# --- Transfers: signatures, origins and owner epochs. ---

import base64
import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from zmq.utils import z85

from lifecycle import Hotline


class Rogue:
    """A registered node speaking the protocol itself, with a real signing key."""

    def __init__(self, fed):
        self.fed = fed
        self.public, self.secret = zmq.curve_keypair()
        self.signer = Ed25519PrivateKey.generate()
        raw = self.signer.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.sign_key = base64.b64encode(raw).decode()
        self.seq = 0
        fed.province.run("node-add", ROGUE[0], ROGUE[1], self.public.decode())
        self.context = zmq.Context()
        self.sock = self.context.socket(zmq.DEALER)
        self.sock.curve_publickey, self.sock.curve_secretkey = self.public, self.secret
        self.sock.curve_serverkey = fed.province.public_key().encode()
        self.sock.linger = 0
        self.sock.connect(fed.province.settings["federation_bind"])
        self.hello()
        fed.province.wait_log(f"node '{ROGUE[0]}' connected")

    def hello(self):
        """It sends no heartbeats: a hello before each batch keeps its session."""
        self.sock.send(envelope(ROGUE[0], 11, field(1, ROGUE[0]) + field(2, ROGUE[1]) +
                                field(3, "rogue 0") + field(4, 7) + field(5, self.sign_key)))

    def close(self):
        self.sock.close()
        self.context.term()

    def send(self, *items):
        self.hello()
        self.sock.send(batch(ROGUE[0], self.seq + 1, list(items)))
        self.seq += len(items)

    def signed(self, body, signer=None):
        text = json.dumps(body, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
        signature = (signer or self.signer).sign(text.encode())
        return {"body": text, "signature": base64.b64encode(signature).decode()}

    def seal_for_province(self, ticket_id, plain):
        """Personal data sealed as a node seals it for the province."""
        mine = X25519PrivateKey.from_private_bytes(z85.decode(self.secret))
        theirs = X25519PublicKey.from_public_bytes(
            z85.decode(self.fed.province.public_key().encode()))
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                   info=b"12345 federation transit v1").derive(mine.exchange(theirs))
        nonce = os.urandom(12)
        sealed = nonce + AESGCM(key).encrypt(nonce, plain.encode(), ticket_id.encode())
        return base64.b64encode(sealed).decode()


def offer(ticket_id, sender, to, epoch=1):
    return {"kind": "offer", "transfer": f"{ticket_id}.1", "ticket": ticket_id, "from": sender,
            "to": to, "epoch": epoch, "reason": "属广州管辖", "at": "2024-11-04T10:00:00+08:00",
            "head": {"seq": 0, "hash": None}}


def rogue_transfer(fed, rogue, mine, theirs):
    """A signed transfer of the rogue's ticket 'mine' to Guangzhou: a full
    row, shaped as Guangzhou's own ticket 'theirs', with the citizen sealed
    for the province."""
    with closing(psycopg2.connect(fed.cities["440100"].settings["database"])) as db, \
            db.cursor() as cur:
        cur.execute("SELECT to_jsonb(t) - 'citizen_pii' - 'pii_key_id' - 'remote_progress'"
                    " FROM tickets t WHERE id = %s", (theirs,))
        [snapshot] = cur.fetchone()
    snapshot.update(id=mine, owner_node=ROGUE[0], owner_epoch=1, event_seq=0, event_hash=None)
    citizen = json.dumps({"name": "陈先生", "phone": "13900139000"}, ensure_ascii=False)
    return {"transfer": {**rogue.signed(offer(mine, ROGUE[0], "440100")),
                         "ticket": snapshot, "events": [],
                         "pii": rogue.seal_for_province(mine, citizen)}}


def master_owner(fed, ticket_id):
    with closing(psycopg2.connect(fed.province.settings["database"])) as db, db.cursor() as cur:
        cur.execute("SELECT node, owner_epoch, version FROM master_tickets WHERE id = %s",
                    (ticket_id,))
        return cur.fetchone()


def routed(fed):
    with closing(psycopg2.connect(fed.province.settings["database"])) as db, db.cursor() as cur:
        cur.execute("SELECT id FROM routed_transfers")
        return {row[0] for row in cur.fetchall()}


def test_forged_and_stale_transfer_messages_are_refused(federation):
    fed = federation(GUANGZHOU)
    fed.wait_connected("440100")
    gz = Hotline(fed.cities["440100"])
    theirs = gz.create()["id"]
    rogue = Rogue(fed)
    mine = "440700-20241104-000001"
    try:
        rogue.send(forged_ticket(mine, ROGUE[0]))
        fed.province.wait_for(lambda: master_owner(fed, mine) is not None,
                              "the rogue's own ticket to arrive")

        # Speaking for another node, with our own valid signature.
        rogue.send({"transfer": rogue.signed(offer(theirs, "440100", "440000"))})
        fed.province.wait_log("it speaks for node '440100'")
        # Our own name, someone else's signature.
        stranger = Ed25519PrivateKey.generate()
        rogue.send({"transfer": rogue.signed(offer(mine, ROGUE[0], "440100"), stranger)})
        fed.province.wait_log("the signature is not the signing node's")
        # A ticket we do not own, properly signed.
        rogue.send({"transfer": rogue.signed(offer(theirs, ROGUE[0], "440000"))})
        fed.province.wait_log(f"it does not own ticket '{theirs}'")
        # An old epoch of our own ticket.
        rogue.send({"transfer": rogue.signed(offer(mine, ROGUE[0], "440100", epoch=3))})
        fed.province.wait_log(f"it does not own ticket '{mine}' at epoch 3")
        assert routed(fed) == set()
        assert master_owner(fed, theirs)[0] == "440100"

        # Now a real transfer of our ticket to Guangzhou: a full row, shaped
        # as Guangzhou's own, with the citizen sealed for the province.
        rogue.send(rogue_transfer(fed, rogue, mine, theirs))
        fed.province.wait_for(lambda: master_owner(fed, mine)[:2] == ("440100", 2),
                              "Guangzhou to accept the rogue's ticket")
        # The old owner's change, at the old epoch, is refused and logged.
        stale = forged_ticket(mine, ROGUE[0])
        stale["ticket"]["version"] = 1000
        stale["event"]["seq"] = 2
        rogue.send(stale)
        fed.province.wait_log(f"refused a change of ticket '{mine}' from node '{ROGUE[0]}':"
                              " node '440100' owns it (epoch 2)")
        assert master_owner(fed, mine)[:2] == ("440100", 2)
        gz.node.wait_for(lambda: gz.get(mine).json().get("status") == "registered",
                         "Guangzhou to take the ticket over")
        gz.do(gz.operator, mine, "dispatch", {"unit": "water"})
    finally:
        rogue.close()


def restriction(restriction_id, origin):
    at = "2024-11-04T10:00:00+08:00"
    return {"restriction": {"id": restriction_id, "origin_node": origin, "phone_hash": "a" * 64,
                            "phone_masked": "138****8000", "reason": "骚扰坐席",
                            "by": {"id": 1, "name": "坐席"}, "from": at,
                            "until": "2034-11-04T10:00:00+08:00", "lifted_at": None,
                            "lifted_by": None}}


def restriction_ids(node):
    with closing(psycopg2.connect(node.settings["database"])) as db, db.cursor() as cur:
        cur.execute("SELECT id FROM restrictions")
        return {row[0] for row in cur.fetchall()}


def test_a_hostile_city_imposes_restrictions_in_its_own_name_only(federation):
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
        sock.send(hello(*ROGUE))
        fed.province.wait_log(f"node '{ROGUE[0]}' connected")
        malformed = restriction("440700-R-000002", ROGUE[0])
        malformed["restriction"]["phone_hash"] = "13800138000"
        sock.send(batch(ROGUE[0], 1, [
            restriction("440100-R-000001", "440100"),  # in Guangzhou's name
            malformed,
            restriction("440700-R-000001", ROGUE[0]),
        ]))
        fed.province.wait_log(f"dropped message 2 of node '{ROGUE[0]}'")
        guangzhou = fed.cities["440100"]
        guangzhou.wait_for(lambda: "440700-R-000001" in restriction_ids(guangzhou),
                           "the rogue's own restriction to be broadcast")
    finally:
        sock.close()
        context.term()

    assert restriction_ids(fed.province) == {"440700-R-000001"}
    assert restriction_ids(fed.cities["440100"]) == {"440700-R-000001"}


# --- Changes the master dataset cannot take. ---

def test_changes_the_master_dataset_cannot_take_are_dropped_without_blocking_the_stream(federation):
    fed = federation()
    rogue = Rogue(fed)
    try:
        # RFC 3339 allows offsets up to 23:59, PostgreSQL up to 15:59.
        far = forged_ticket("440700-20241104-000001", ROGUE[0])
        far["event"]["at"] = "2024-11-04T10:00:00+16:00"
        # A daily report is nothing else: a change that comes with one
        # would go in unchecked.
        report = forged_ticket("440700-20241104-000002", ROGUE[0])
        report["event"]["seq"] = "first"
        report["report"] = {"node": ROGUE[0], "day": "2024-11-04", "events": 3}
        # The master dataset cannot do without a ticket's kind.
        kindless = forged_ticket("440700-20241104-000003", ROGUE[0])
        del kindless["ticket"]["kind"]
        # An event of a month to come would make that month's partition:
        # a node could make any number of them.
        future = forged_ticket("440700-20241104-000005", ROGUE[0])
        future["event"]["at"] = "2031-07-01T10:00:00+08:00"
        rogue.send(far, report, kindless, future,
                   forged_ticket("440700-20241104-000004", ROGUE[0]))
        fed.province.wait_for(lambda: "440700-20241104-000004" in master_ids(fed),
                              "the last change to arrive")
    finally:
        rogue.close()

    # One line for the batch.
    assert fed.province.log_lines(f"dropped messages 1, 2, 3, 4 of node '{ROGUE[0]}'")
    assert master_ids(fed) == {"440700-20241104-000004"}
    with closing(psycopg2.connect(fed.province.settings["database"])) as db, db.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_class WHERE relname LIKE 'master_events_2031%%'")
        assert cur.fetchone()[0] == 0


def test_a_change_reaches_the_master_dataset_as_sent_whatever_its_text_holds(federation):
    """A batch is staged with COPY, whose text format gives backslashes,
    tabs and newlines a meaning of their own: a change holding them in its
    strings and between its tokens arrives as it was sent."""
    fed = federation()
    rogue = Rogue(fed)
    change = forged_ticket("440700-20241104-000001", ROGUE[0])
    change["ticket"]["content"] = "\\N\t\\.\n\\\\ 反映\r\"噪声\""
    change["event"]["detail"] = json.dumps({"text": "a\tb\\N"})
    try:
        rogue.send(json.dumps(change, ensure_ascii=False, indent="\t"),
                   forged_ticket("440700-20241104-000002", ROGUE[0]))
        fed.province.wait_for(lambda: "440700-20241104-000002" in master_ids(fed),
                              "the changes to arrive")
    finally:
        rogue.close()

    with closing(psycopg2.connect(fed.province.settings["database"])) as db, db.cursor() as cur:
        cur.execute("SELECT t.data, e.data FROM master_tickets t JOIN master_events e"
                    " ON e.ticket_id = t.id WHERE t.id = '440700-20241104-000001'")
        assert cur.fetchall() == [(change["ticket"], change["event"])]
