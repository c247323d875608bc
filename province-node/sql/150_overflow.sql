-- SPDX-License-Identifier: Apache-2.0
-- Overflow (Art 3, DESIGN.md "Load balancing"): the province's decision on
-- each item a centre offered, one row per offer (ticket and round), and how
-- it ended.  Nothing of the appeal is kept here: the item itself only
-- passes through, to its helper.

CREATE TABLE overflow_assignments (
    ticket_id  text NOT NULL,
    round      integer NOT NULL CHECK (round > 0),
    owner_node text NOT NULL,
    helper     text,                  -- NULL: no centre could take it; it stayed home
    state      text NOT NULL CHECK (state IN ('home', 'assigned', 'withdrawn', 'triaged')),
    reason     text NOT NULL,         -- why this helper, or why none
    decided_at timestamptz NOT NULL,
    closed_at  timestamptz,           -- triaged, or withdrawn by its owner
    PRIMARY KEY (ticket_id, round)
);

-- What each helper has been given and not yet triaged counts in its queue.
CREATE INDEX overflow_assignments_out ON overflow_assignments (helper) WHERE state = 'assigned';
CREATE INDEX overflow_assignments_by_time ON overflow_assignments (decided_at DESC);
