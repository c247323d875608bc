# SPDX-License-Identifier: Apache-2.0
"""Faults between separate hosts: the province and each city run in a
network namespace of their own (netns.py), and the links between them are
cut, made lossy or slow while the hotline takes appeals and transfers
them.  Operators keep reaching their own node; only the links between
nodes fail.  Whatever happens to them, once they heal every change reaches
the master dataset exactly once and every transfer ends with one owner.

The machine's kernel has no netem qdisc: latency and reordering are not
injected (netns.py says so at the start of every run).
"""

import time

import pytest

from hotline import GUANGZHOU, MEIZHOU, PROVINCE, SHENZHEN
from lifecycle import Hotline
from netns import netns_federation
from test_sync import city_events, master_events, rows, wait_in_sync
from test_transfers import status_at, transfer

# A partition this long outlasts the kernel's SYN back-off, which then
# waits some 30 s more before it tries the connection again (netns.py).
LONG_OUTAGE_S = 35
LOSS_PERCENT = 10   # at each end of a link: some 19 % of its packets each way
SLOW_RATE = "96kbit"
SYNC_DEADLINE = 90  # seconds: a lossy or slow link takes longer to drain


def start(workspace, network, *cities):
    fed = netns_federation(workspace, network, *cities)
    print(network.report())
    offices = {code: Hotline(node) for code, node in fed.cities.items()}
    offices[PROVINCE[0]] = Hotline(fed.province)
    return fed, offices


def nodes_events(fed):
    """Every event every node holds, copies of transferred tickets included:
    {(ticket_id, seq, hash)}."""
    held = set()
    for node in (fed.province, *fed.cities.values()):
        held |= set(rows(node, "SELECT ticket_id, seq, hash FROM ticket_events"))
    return held


def owned_tickets(fed):
    """Each ticket as its owner holds it: {(id, node, status, version)}."""
    owned = set()
    for node in (fed.province, *fed.cities.values()):
        owned |= set(rows(node, "SELECT id, owner_node, status, version FROM tickets"
                                f" WHERE owner_node = '{node.code}'"))
    return owned


def in_sync(fed):
    """The master dataset holds every event of every node once and each
    ticket in its owner's latest state, and each ticket has one owner."""
    held, owned = nodes_events(fed), owned_tickets(fed)
    master = rows(fed.province, "SELECT ticket_id, seq, hash FROM master_events")
    return (len(master) == len(set(master)) and set(master) == held
            and set(rows(fed.province, "SELECT id, node, status, version"
                                       " FROM master_tickets")) == owned
            and len({ticket[0] for ticket in owned}) == len(owned))


def assert_exactly_once(fed, timeout=SYNC_DEADLINE):
    """Poll until in_sync(fed); on timeout, fail naming what differs."""
    deadline = time.monotonic() + timeout
    while not in_sync(fed):
        if time.monotonic() > deadline:
            held, owned = nodes_events(fed), owned_tickets(fed)
            master = set(rows(fed.province, "SELECT ticket_id, seq, hash FROM master_events"))
            tickets = set(rows(fed.province, "SELECT id, node, status, version"
                                             " FROM master_tickets"))
            pytest.fail(f"after {timeout} s the master dataset still differs: events missing "
                        f"{sorted(held - master)[:5]}, extra {sorted(master - held)[:5]}; "
                        f"tickets missing {sorted(owned - tickets)[:5]}, "
                        f"extra {sorted(tickets - owned)[:5]}")
        time.sleep(0.2)


def assert_one_owner(fed, offices, tid, owner, timeout=SYNC_DEADLINE):
    """The ticket is owned by owner alone: a copy ('transferred') at every
    other city, and the master dataset names owner with the owner's state."""
    def settled():
        states = {code: status_at(office, tid) for code, office in offices.items()
                  if code != PROVINCE[0]}
        master = rows(fed.province, f"SELECT node, status FROM master_tickets WHERE id = '{tid}'")
        return (states[owner] not in (None, "transfer_pending", "transferred")
                and all(s in (None, "transferred") for c, s in states.items() if c != owner)
                and master == [(owner, states[owner])])
    fed.province.wait_for(settled, f"ticket {tid} to have the one owner {owner}", timeout)


def intake(office, count):
    return [office.in_handling()["id"] for _ in range(count)]


def test_a_partitioned_city_keeps_taking_appeals(workspace, network):
    fed, office = start(workspace, network, GUANGZHOU, SHENZHEN)
    gz, sz = fed.cities["440100"], fed.cities["440300"]

    network.partition(gz)
    fed.wait_disconnected("440100")
    intake(office["440100"], 10)
    intake(office["440300"], 2)
    wait_in_sync(fed, sz)
    assert master_events(fed, "440100") < city_events(gz)

    network.heal(gz)
    assert_exactly_once(fed)


def test_the_province_cut_off_from_everyone_for_half_a_minute(workspace, network):
    fed, office = start(workspace, network, GUANGZHOU, SHENZHEN)
    network.partition(fed.province)
    for code in fed.cities:
        fed.wait_disconnected(code)

    # Every node, the province's own hotline too, takes appeals throughout.
    end = time.monotonic() + LONG_OUTAGE_S
    while time.monotonic() < end:
        for each in office.values():
            each.create()
    network.heal(fed.province)

    for code in fed.cities:
        fed.wait_connected(code)
    assert_exactly_once(fed)


@pytest.mark.parametrize("cut", ["440100", "440300"], ids=["origin-cut", "target-cut"])
def test_a_transfer_started_while_a_city_is_cut_off_completes_once_healed(
        workspace, network, cut):
    fed, office = start(workspace, network, GUANGZHOU, SHENZHEN)
    gz = office["440100"]
    tid = gz.create()["id"]

    network.partition(cut)
    fed.wait_disconnected(cut)
    assert transfer(gz, tid, "440300")["status"] == "transfer_pending"
    if cut == "440300":
        fed.province.wait_for(lambda: rows(fed.province, "SELECT count(*) FROM routed_transfers"
                                           )[0][0] == 1, "the province to hold the offer")
    assert status_at(gz, tid) == "transfer_pending"
    assert status_at(office["440300"], tid) is None

    network.heal(cut)
    assert_one_owner(fed, office, tid, "440300")
    office["440300"].do(office["440300"].operator, tid, "dispatch", {"unit": "water"})
    assert_one_owner(fed, office, tid, "440300")
    [(epoch,)] = rows(fed.province, f"SELECT owner_epoch FROM master_tickets WHERE id = '{tid}'")
    assert epoch == 2


def test_loss_on_every_link_during_intake_and_transfers(workspace, network):
    fed, office = start(workspace, network, GUANGZHOU, SHENZHEN, MEIZHOU)
    for code in network.hosts:
        network.lose(code, LOSS_PERCENT)

    moved = []
    for origin, target in (("440100", "440300"), ("440300", "441400"), ("441400", "440100")):
        intake(office[origin], 8)
        tid = office[origin].create()["id"]
        transfer(office[origin], tid, target)
        moved.append((tid, target))

    # Still lossy: everything arrives anyway, nothing twice.
    for tid, target in moved:
        assert_one_owner(fed, office, tid, target)
    assert_exactly_once(fed)
    network.clear_all()


def test_a_slow_link(workspace, network):
    fed, office = start(workspace, network, GUANGZHOU)
    gz = fed.cities["440100"]
    network.slow(gz, SLOW_RATE)

    for tid in intake(office["440100"], 10):
        for _ in range(3):
            office["440100"].do(office["440100"].operator, tid, "notes", {"text": "核" * 600})
    assert_exactly_once(fed)


def test_a_link_cut_in_the_middle_of_a_batch(workspace, network):
    fed, office = start(workspace, network, GUANGZHOU)
    gz = fed.cities["440100"]
    network.partition(gz)
    fed.wait_disconnected("440100")
    intake(office["440100"], 40)

    # Catching up over a slow link, the link breaks again part of the way.
    network.slow(gz, SLOW_RATE)
    network.heal(gz)
    total = len(city_events(gz))
    gz.wait_for(lambda: 0 < len(master_events(fed, "440100")) < total,
                "part of the catch-up to arrive")
    network.partition(gz)
    fed.wait_disconnected("440100")
    assert len(master_events(fed, "440100")) < total

    network.clear(gz)
    assert_exactly_once(fed)
