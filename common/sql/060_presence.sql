-- SPDX-License-Identifier: Apache-2.0
-- Agent presence (Art 3, DESIGN.md "Load balancing"): the state the
-- telephony system or the agent desktop last reported for each operator,
-- and since when.  A node's load figures count the operators online or busy.

CREATE TABLE agent_presence (
    principal_id bigint PRIMARY KEY REFERENCES principals (id),
    state        text NOT NULL CHECK (state IN ('online', 'busy', 'away')),
    since        timestamptz NOT NULL,
    reported_at  timestamptz NOT NULL
);

-- The intake queue: online appeals still waiting for triage.
CREATE INDEX tickets_intake_queue ON tickets (created_at)
    WHERE status = 'registered' AND channel IN ('web', 'app', 'miniprogram');
