-- SPDX-License-Identifier: Apache-2.0
-- Overflow of the intake queue (Art 3, DESIGN.md "Load balancing").  A
-- centre whose queue passes its threshold offers the excess to the
-- province, which gives each item to a helper centre or sends it back; the
-- helper's operators triage it, and the result comes back to the owner,
-- which alone changes its ticket.  Every node may be owner and helper.

-- This centre's balancing settings, as the province last sent them; none
-- until an administrator sets them there, and no offers before.
CREATE TABLE overflow_settings (
    only_row        boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    queue_threshold integer NOT NULL CHECK (queue_threshold >= 0),
    takes_overflow  boolean NOT NULL,
    region          text NOT NULL,
    updated_at      timestamptz NOT NULL
);

-- The owner's side: its appeals offered to other centres, the current round
-- of each.  An item out (offered, or assigned to a helper) is not offered
-- again and has left the home queue; one sent back ('home') may be offered
-- again, in a new round, after overflow_retry_seconds.
CREATE TABLE overflow_offers (
    ticket_id  text PRIMARY KEY REFERENCES tickets (id),
    round      integer NOT NULL CHECK (round > 0),
    state      text NOT NULL
               CHECK (state IN ('offered', 'assigned', 'home', 'withdrawn', 'triaged')),
    centre     text,                  -- the helper, once assigned
    offered_at timestamptz NOT NULL,
    decided_at timestamptz
);

CREATE INDEX overflow_offers_out ON overflow_offers (ticket_id)
    WHERE state IN ('offered', 'assigned');

-- The helper's side: other centres' appeals for its operators to triage,
-- with what triage needs and nothing of the citizen.  The content and the
-- address are forgotten once the item is triaged or withdrawn.
CREATE TABLE assists (
    ticket_id   text NOT NULL,
    round       integer NOT NULL CHECK (round > 0),
    owner_node  text NOT NULL,
    owner_name  text NOT NULL,
    kind        text NOT NULL,
    channel     text NOT NULL,
    category    text NOT NULL,
    content     text,
    division    text NOT NULL,
    address     text,
    created_at  timestamptz NOT NULL,  -- when the citizen submitted it
    assigned_at timestamptz NOT NULL,  -- when it arrived here
    state       text NOT NULL CHECK (state IN ('open', 'triaged', 'withdrawn')),
    triage      text,                  -- JSON: the decision and what goes with it
    triaged_by  text,
    closed_at   timestamptz,
    PRIMARY KEY (ticket_id, round)
);

CREATE INDEX assists_open ON assists (created_at, ticket_id) WHERE state = 'open';
