# SPDX-License-Identifier: Apache-2.0
"""The seeded chaos run (chaos.py): a realistic workload on the province
and two cities while nodes are killed with SIGKILL and started again,
PostgreSQL is restarted under them, a node's database goes away, a node
freezes and a city's federation link is cut; then, healed and quiet, the
invariants: every request answered 2xx is persisted, the master dataset
is the union of the nodes' data row by row, no ticket has two owners,
every transfer is resolved, every chain verifies, no numbering has gaps,
nothing is delivered twice.

The short run is part of `make check`; `make soak` runs the long one for
SOAK_MINUTES (default 10) or SOAK_FAULTS faults (default 500), whichever
ends first.  Each prints its seed first; CHAOS_SEED=<seed> replays it.
"""

import os

import pytest

from chaos import ChaosRun, chaos_seed

SHORT_SECONDS = 45


def run_chaos(federation, postgres, seconds, max_faults=None):
    run = ChaosRun(federation, postgres, chaos_seed(), seconds, max_faults)
    held = False
    try:
        run.start()
        run.drive()
        run.heal()
        run.check()
        held = True
    finally:
        run.close()
        print(run.figures(held), flush=True)
        print("chaos: faults in order: " + "; ".join(run.fault_log), flush=True)


def test_a_short_chaos_run_keeps_every_invariant(federation, postgres):
    run_chaos(federation, postgres, SHORT_SECONDS)


@pytest.mark.soak
def test_a_long_chaos_run_keeps_every_invariant(federation, postgres):
    run_chaos(federation, postgres, 60 * float(os.environ.get("SOAK_MINUTES") or "10"),
              int(os.environ.get("SOAK_FAULTS") or "500"))
