"""Cross-jurisdiction transfers (REGULATION.md Art 3, Art 10; DESIGN.md
"Ownership"): an appeal registered at the wrong node is offered, via the
province, to the right one; the target's acceptance, committed at the
province, hands it off; the origin keeps a read-only copy that answers a
progress query as the owner does; a decline goes to the province's
managers, whose decision is final.  Every message is signed, stored on
both sides, and checked by `verify`.
"""

from contextlib import closing

import psycopg2

from hotline import GUANGZHOU, PROVINCE, SHENZHEN
from lifecycle import CITIZEN_PHONE, Hotline, assert_error
from test_sync import running_federation


def rows(node, sql, args=()):
    with closing(psycopg2.connect(node.settings["database"])) as db, db.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall()


def status_at(office, ticket_id):
    response = office.get(ticket_id)
    return response.json()["status"] if response.status_code == 200 else None


def progress(office, ticket_id):
    response = office.node.http("GET", f"/api/v1/progress/{ticket_id}",
                                params={"phone_last4": CITIZEN_PHONE[-4:]})
    assert response.status_code == 200, response.text
    return response.json()


def offices(federation, *cities):
    fed = running_federation(federation, *cities)
    hotlines = {code: Hotline(node) for code, node in fed.cities.items()}
    hotlines[PROVINCE[0]] = Hotline(fed.province)
    return fed, hotlines


def transfer(office, ticket_id, to, reason="事发地在深圳市南山区，属深圳管辖"):
    return office.do(office.operator, ticket_id, "transfer", {"to": to, "reason": reason})


def wait_status(office, ticket_id, status):
    office.node.wait_for(lambda: status_at(office, ticket_id) == status,
                         f"ticket {ticket_id} to be '{status}' at {office.node.code}")


def test_city_to_city_hands_off_and_the_copy_follows_the_owner(federation):
    fed, office = offices(federation, GUANGZHOU, SHENZHEN)
    gz, sz = office["440100"], office["440300"]
    ticket = gz.create()
    tid = ticket["id"]

    pending = transfer(gz, tid, "440300")
    assert pending["status"] == "transfer_pending"
    # Frozen at the origin while the province decides.
    assert_error(gz.act(gz.operator, tid, "dispatch", {"unit": "water"}), 409,
                 "illegal_transition")

    wait_status(sz, tid, "registered")
    wait_status(gz, tid, "transferred")
    # The origin's copy is read-only; the target triages as usual.
    assert_error(gz.act(gz.operator, tid, "notes", {"text": "还在吗"}), 409, "transferred")
    sz.do(sz.operator, tid, "dispatch", {"unit": "water"})

    # The same id, the same citizen (personal data crossed sealed), one chain.
    shown = sz.get(tid).json()
    assert shown["id"] == tid and shown["citizen"]["phone"].endswith(CITIZEN_PHONE[-4:])
    [(owner, epoch)] = rows(fed.province, "SELECT node, owner_epoch FROM master_tickets"
                                          " WHERE id = %s", (tid,))
    assert (owner, epoch) == ("440300", 2)
    fed.province.wait_for(lambda: progress(sz, tid)["status"] == progress(gz, tid)["status"]
                          and progress(gz, tid) == progress(sz, tid),
                          "the origin's progress answer to equal the owner's")
    assert progress(gz, tid)["unit_name"] is not None

    # Evidence on both sides, signed by who sent it.
    history = gz.node.http("GET", f"/api/v1/tickets/{tid}/transfers", gz.manager).json()
    [t] = history["transfers"]
    assert t["status"] == "accepted" and t["owner"] == "440300"
    kinds = {m["kind"]: m["signer"] for m in t["messages"]}
    assert kinds == {"offer": "440100", "decision": "440000"}
    there = sz.node.http("GET", f"/api/v1/tickets/{tid}/transfers", sz.manager).json()
    assert {m["kind"] for m in there["transfers"][0]["messages"]} == {
        "offer", "accept", "decision"}
    for node in (gz.node, sz.node, fed.province):
        out = node.run("verify").stdout
        assert "signed transfer messages" in out, out


def test_decline_and_the_provinces_final_decision(federation):
    fed, office = offices(federation, GUANGZHOU, SHENZHEN)
    gz, sz, prov = office["440100"], office["440300"], office[PROVINCE[0]]
    tid = gz.create()["id"]
    transfer(gz, tid, "440300")
    wait_status(sz, tid, "registered")

    declined = sz.do(sz.operator, tid, "decline", {"reason": "诉求点位于广州市天河区"})
    assert declined["status"] == "transfer_pending"
    tr = f"{tid}.1"
    prov.node.wait_for(
        lambda: prov.node.http("GET", f"/api/v1/transfers/{tr}", prov.manager).json()
        .get("status") == "declined", "the province to hold the decline")
    waiting = prov.node.http("GET", "/api/v1/transfers", prov.manager,
                             params={"status": "declined"}).json()["transfers"]
    assert [w["id"] for w in waiting] == [tr]

    # Bad decisions change nothing.
    assert_error(prov.post(f"/api/v1/transfers/{tr}/decide", prov.manager,
                           {"owner": "441400", "reason": "x"}), 400, "invalid_field", "owner")
    assert_error(prov.post(f"/api/v1/transfers/{tr}/decide", prov.operator,
                           {"owner": "440300", "reason": "x"}), 403, "forbidden")
    assert_error(prov.post(f"/api/v1/transfers/{tid}.9/decide", prov.manager,
                           {"owner": "440300", "reason": "x"}), 404, "not_found")

    decided = prov.post(f"/api/v1/transfers/{tr}/decide", prov.manager,
                        {"owner": "440300", "reason": "涉及深圳市南山区住建局职责，由深圳办理"})
    assert decided.status_code == 200, decided.text
    assert decided.json()["status"] == "decided"
    assert_error(prov.post(f"/api/v1/transfers/{tr}/decide", prov.manager,
                           {"owner": "440100", "reason": "x"}), 409, "not_waiting")

    wait_status(sz, tid, "registered")
    # Final: the designated node cannot decline it again.
    assert_error(sz.act(sz.operator, tid, "decline", {"reason": "仍不属于我市"}), 409, "decided")
    sz.do(sz.operator, tid, "dispatch", {"unit": "water"})
    [(owner, epoch)] = rows(fed.province, "SELECT node, owner_epoch FROM master_tickets"
                                          " WHERE id = %s", (tid,))
    assert (owner, epoch) == ("440300", 3)
    # The origin's copy took the target's take-over and decline into its
    # chain with the decision: its head moved with them.
    wait_status(gz, tid, "transferred")
    assert [e["action"] for e in gz.events(tid)][-2:] == ["transfer/in", "transfer/decline"]
    for node in (gz.node, sz.node):
        assert "broken" not in node.run("verify").stdout


def test_decision_can_send_it_back_to_the_origin(federation):
    fed, office = offices(federation, GUANGZHOU, SHENZHEN)
    gz, sz, prov = office["440100"], office["440300"], office[PROVINCE[0]]
    tid = gz.create()["id"]
    transfer(gz, tid, "440300")
    wait_status(sz, tid, "registered")
    sz.do(sz.operator, tid, "decline", {"reason": "诉求点位于广州市天河区"})
    tr = f"{tid}.1"
    prov.node.wait_for(
        lambda: prov.node.http("GET", f"/api/v1/transfers/{tr}", prov.manager).json()
        .get("status") == "declined", "the province to hold the decline")
    prov.post(f"/api/v1/transfers/{tr}/decide", prov.manager,
              {"owner": "440100", "reason": "事发地在广州"})
    wait_status(gz, tid, "registered")
    wait_status(sz, tid, "transferred")
    gz.do(gz.operator, tid, "dispatch", {"unit": "water"})
    # The origin's versions go on past the target's decline: the master
    # dataset takes its changes again.
    fed.province.wait_for(
        lambda: rows(fed.province, "SELECT node, status, version FROM master_tickets"
                                   " WHERE id = %s", (tid,))
        == [("440100", *row) for row in rows(gz.node, "SELECT status, version FROM tickets"
                                                      " WHERE id = %s", (tid,))],
        "the master dataset to hold the origin's ticket as it is")
    # One chain across three owners' hands: each node verifies it.
    for node in (gz.node, sz.node):
        node.run("verify")
    events = [e["action"] for e in gz.events(tid)]
    assert events[:2] == ["register", "transfer"]
    assert "transfer/decline" in events and events[-1] == "dispatch"


def test_city_to_province_and_province_to_city(federation):
    fed, office = offices(federation, GUANGZHOU)
    gz, prov = office["440100"], office[PROVINCE[0]]
    tid = gz.create()["id"]
    transfer(gz, tid, PROVINCE[0], "涉及省级部门职责")
    wait_status(prov, tid, "registered")
    wait_status(gz, tid, "transferred")

    own = prov.create()["id"]
    transfer(prov, own, "440100", "属广州市管辖")
    wait_status(gz, own, "registered")
    wait_status(prov, own, "transferred")
    gz.do(gz.operator, own, "dispatch", {"unit": "market"})
    prov.node.wait_for(lambda: progress(prov, own) == progress(gz, own),
                       "the province's copy to answer as the city does")


def test_target_offline_gets_the_offer_when_back_and_only_once(federation):
    fed, office = offices(federation, GUANGZHOU, SHENZHEN)
    gz, sz = office["440100"], office["440300"]
    fed.cities["440300"].stop()
    ids = [gz.create()["id"] for _ in range(3)]
    for tid in ids:
        transfer(gz, tid, "440300")
    fed.province.wait_for(
        lambda: rows(fed.province, "SELECT count(*) FROM routed_transfers")[0][0] == 3,
        "the province to hold the offers")
    assert all(status_at(gz, tid) == "transfer_pending" for tid in ids)
    # The province shows what waits for the city, on the API and in /metrics.
    sending = fed.province.http("GET", "/api/v1/federation/links",
                                token=fed.province.admin_token).json()["sending"]
    [down] = [q for q in sending if q["peer"] == "440300"]
    assert down["stream"] == "down" and down["queued"] == 3
    assert 'hotline_down_queued{peer="440300"} 3' in fed.province.http("GET", "/metrics").text
    fed.cities["440300"].start()
    fed.wait_connected("440300")
    for tid in ids:
        wait_status(gz, tid, "transferred")
        wait_status(sz, tid, "registered")
    assert rows(fed.cities["440300"],
                "SELECT count(*) FROM transfers WHERE status = 'accepted'")[0][0] == 3
    assert rows(fed.cities["440300"], "SELECT count(*) FROM ticket_events"
                " WHERE action = 'transfer/in'")[0][0] == 3
    fed.province.wait_for(
        lambda: [q["queued"] for q in fed.province.http(
            "GET", "/api/v1/federation/links", token=fed.province.admin_token).json()["sending"]
            if q["peer"] == "440300"] == [0], "the queue to the city to drain")
    receiving = sz.node.http("GET", "/api/v1/federation/links",
                             token=sz.node.admin_token).json()["receiving"]
    assert receiving[0]["stream"] == "down" and receiving[0]["last_applied"] >= 3


def test_the_province_decides_an_offer_its_target_never_answered(federation):
    fed, office = offices(federation, GUANGZHOU, SHENZHEN)
    gz, sz, prov = office["440100"], office["440300"], office[PROVINCE[0]]
    fed.cities["440300"].stop()
    tid = gz.create()["id"]
    transfer(gz, tid, "440300")
    tr = f"{tid}.1"
    prov.node.wait_for(
        lambda: prov.node.http("GET", f"/api/v1/transfers/{tr}", prov.manager).json()
        .get("status") == "offered", "the province to hold the offer")
    decided = prov.post(f"/api/v1/transfers/{tr}/decide", prov.manager,
                        {"owner": "440100", "reason": "深圳中心长时间未接收，由广州办理"})
    assert decided.status_code == 200, decided.text
    wait_status(gz, tid, "registered")
    gz.do(gz.operator, tid, "dispatch", {"unit": "water"})

    # The target, back, gets the offer and the decision, in order: a copy.
    fed.cities["440300"].start()
    fed.wait_connected("440300")
    wait_status(sz, tid, "transferred")
    fed.province.wait_log(f"refused an acceptance of transfer '{tr}' from node '440300'")
    [(owner, epoch)] = rows(fed.province, "SELECT node, owner_epoch FROM master_tickets"
                                          " WHERE id = %s", (tid,))
    assert (owner, epoch) == ("440100", 2)


def test_an_accepted_appeal_is_transferred_too(federation):
    fed, office = offices(federation, GUANGZHOU, SHENZHEN)
    gz, sz = office["440100"], office["440300"]
    tid = gz.create()["id"]
    assert gz.do(gz.operator, tid, "accept", {})["status"] == "accepted"
    transfer(gz, tid, "440300")
    wait_status(sz, tid, "registered")
    wait_status(gz, tid, "transferred")


def test_back_and_forth_each_hop_its_own_transfer(federation):
    fed, office = offices(federation, GUANGZHOU, SHENZHEN)
    gz, sz = office["440100"], office["440300"]
    tid = gz.create()["id"]
    for hop, (origin, target) in enumerate([(gz, sz), (sz, gz), (gz, sz), (sz, gz)], 1):
        transfer(origin, tid, target.node.code, f"第{hop}次转办")
        wait_status(target, tid, "registered")
        wait_status(origin, tid, "transferred")
    [(owner, epoch)] = rows(fed.province, "SELECT node, owner_epoch FROM master_tickets"
                                          " WHERE id = %s", (tid,))
    assert (owner, epoch) == ("440100", 5)
    ids = [t["id"] for t in gz.node.http("GET", f"/api/v1/tickets/{tid}/transfers",
                                         gz.manager).json()["transfers"]]
    assert ids == [f"{tid}.{n}" for n in range(1, 5)]
    gz.do(gz.operator, tid, "dispatch", {"unit": "water"})
    for node in (gz.node, sz.node):
        assert node.run("verify").returncode == 0


def test_nothing_waits_for_a_heartbeat(federation):
    """A node sends what is queued as soon as it is queued, also what its
    link thread queued itself applying a message (the province's offer and
    decision, the target's acceptance), and a city greets the province as
    soon as its connection is made: with heartbeats a minute apart, the
    cities connect and a transfer goes through long before the next one."""
    fed = federation(GUANGZHOU, SHENZHEN, start=False)
    for node in (fed.province, *fed.cities.values()):
        node.settings["heartbeat_interval_ms"] = 60000
        node.write_config()
    fed.start()
    for code in ("440100", "440300"):
        fed.wait_connected(code)
    gz, sz = Hotline(fed.cities["440100"]), Hotline(fed.cities["440300"])
    tid = gz.create()["id"]
    transfer(gz, tid, "440300")
    wait_status(sz, tid, "registered")
    wait_status(gz, tid, "transferred")


def test_bad_transfers_change_nothing(federation):
    fed, office = offices(federation, GUANGZHOU)
    gz = office["440100"]
    tid = gz.create()["id"]
    before = gz.get(tid).json()
    assert_error(gz.act(gz.operator, tid, "transfer", {"to": "440100", "reason": "x"}), 400,
                 "invalid_field", "to")
    assert_error(gz.act(gz.operator, tid, "transfer", {"to": "450100", "reason": "x"}), 400,
                 "invalid_field", "to")
    assert_error(gz.act(gz.operator, tid, "transfer", {"to": "440300"}), 400, "invalid_field",
                 "reason")
    assert_error(gz.act(gz.water, tid, "transfer", {"to": "440300", "reason": "x"}), 403,
                 "forbidden")
    assert_error(gz.act(gz.operator, tid, "decline", {"reason": "x"}), 409, "not_transferred")
    assert gz.get(tid).json() == before

    # A history too long for one message: refused here, before anything changes.
    long = gz.create()["id"]
    for _ in range(45):
        gz.do(gz.operator, long, "notes", {"text": "核" * 2000})
    before = gz.get(long).json()
    assert_error(gz.act(gz.operator, long, "transfer", {"to": "440300", "reason": "x"}), 413,
                 "too_large")
    assert gz.get(long).json() == before

    # A node nobody registered: the province refuses it, the origin gets it back.
    transfer(gz, tid, "441400")
    wait_status(gz, tid, "registered")
    events = [e["action"] for e in gz.events(tid)]
    assert events[-2:] == ["transfer", "transfer/refused"]
    fed.province.wait_log("no such node to take it")
