# SPDX-License-Identifier: Apache-2.0
"""The long run of `make soak`, not part of `make check`: round after round
of random faults between the nodes of a federation in network namespaces
(netns.py) while its cities take appeals and transfer them, then, links
healed, the invariants of test_network_faults.py: every event of every
node in the master dataset exactly once, each ticket there in its owner's
latest state, every transfer with one owner, every hash chain intact.

    SOAK_MINUTES  how long to run (default 10)
    SOAK_ROUNDS   at most this many rounds (default 1000)
    SOAK_SEED     the seed; a run prints its own at the start, so that it
                  can be run again with the same choices of faults, links
                  and work (the timing of the processes is not replayed)
"""

import os
import random
import time

import pytest

from hotline import GUANGZHOU, MEIZHOU, PROVINCE, SHENZHEN
from test_network_faults import assert_exactly_once, assert_one_owner, start
from test_transfers import transfer

MINUTES = float(os.environ.get("SOAK_MINUTES") or 10)
ROUNDS = int(os.environ.get("SOAK_ROUNDS") or 1000)
CHECK_EVERY = 10  # rounds between two checks of the invariants, links healed
HEAL_DEADLINE = 180
RATES = ("64kbit", "256kbit", "1mbit")


def inject(rng, network, nodes):
    """One random fault on a random node's link (nodes: the province's code
    first, then the cities'); returns what it did."""
    node = rng.choice(nodes)
    kind = rng.choice(("partition", "partition", "loss", "slow"))
    if kind == "partition":
        # Cities talk to the province only: a city is cut off from it, the
        # province from one city or from all.
        peer = rng.choice([None, *nodes[1:]]) if node == nodes[0] else None
        network.partition(node, peer)
        return f"partition {node}" + (f" from {peer}" if peer else "")
    if kind == "loss":
        percent = rng.randint(5, 20)
        network.lose(node, percent)
        return f"loss {percent}% at {node}"
    rate = rng.choice(RATES)
    network.slow(node, rate)
    return f"slow {node} {rate}"


@pytest.mark.soak
def test_random_faults_between_hosts(workspace, network):
    seed = int(os.environ.get("SOAK_SEED") or random.SystemRandom().randrange(1 << 32))
    print(f"\nsoak: seed {seed} (replay with SOAK_SEED={seed}), {MINUTES:g} min, "
          f"at most {ROUNDS} rounds", flush=True)
    rng = random.Random(seed)
    fed, office = start(workspace, network, GUANGZHOU, SHENZHEN, MEIZHOU)
    cities = sorted(fed.cities)
    nodes = [PROVINCE[0], *cities]
    owners = {}  # ticket id -> the city it was transferred to
    appeals = 0
    end = time.monotonic() + MINUTES * 60
    rounds = 0
    while rounds < ROUNDS and time.monotonic() < end:
        rounds += 1
        faults = [inject(rng, network, nodes) for _ in range(rng.randint(1, 3))]
        hold = rng.uniform(0.5, 8)
        print(f"round {rounds}: {'; '.join(faults)}; for {hold:.1f} s", flush=True)
        until = time.monotonic() + hold
        while time.monotonic() < until:
            origin = rng.choice(cities)
            tid = office[origin].create()["id"]
            appeals += 1
            if rng.random() < 0.2:
                target = rng.choice([c for c in cities if c != origin])
                transfer(office[origin], tid, target)
                owners[tid] = target
        network.clear_all()
        if rounds % CHECK_EVERY == 0:
            assert_exactly_once(fed, HEAL_DEADLINE)

    network.clear_all()
    for tid, owner in owners.items():
        assert_one_owner(fed, office, tid, owner, HEAL_DEADLINE)
    assert_exactly_once(fed, HEAL_DEADLINE)
    for node in (fed.province, *fed.cities.values()):
        node.run("verify")
    print(f"soak: seed {seed}: {rounds} rounds, {appeals} appeals, {len(owners)} transfers, "
          "every change in the master dataset once, every transfer with one owner", flush=True)
