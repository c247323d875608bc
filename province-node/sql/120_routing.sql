-- SPDX-License-Identifier: Apache-2.0
-- Transfers as the province routes and decides them (DESIGN.md
-- "Ownership"): committing the target's acceptance here is the hand-off;
-- a declined transfer waits here for the managers' decision.

CREATE TABLE routed_transfers (
    id         text PRIMARY KEY,
    ticket_id  text NOT NULL,
    from_node  text NOT NULL,
    to_node    text NOT NULL,
    epoch      integer NOT NULL,
    reason     text NOT NULL,
    status     text NOT NULL
               CHECK (status IN ('offered', 'accepted', 'declined', 'decided', 'refused')),
    owner      text,
    offered_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE INDEX routed_transfers_by_ticket ON routed_transfers (ticket_id);
CREATE INDEX routed_transfers_by_status ON routed_transfers (status, offered_at);
