-- SPDX-License-Identifier: Apache-2.0
-- The province's broadcast log (DESIGN.md, "Federation protocol";
-- province-node/broadcastlog.c): every change to province-wide data, its
-- knowledge base, the calendar and caller restrictions, numbered in the
-- order the changes commit.  Each message went to every node registered
-- then; a node registered later is sent the last message of each key.

CREATE TABLE broadcast_log (
    version      bigint PRIMARY KEY CHECK (version > 0),
    kind         text NOT NULL CHECK (kind IN ('kb', 'calendar', 'restriction')),
    key          text NOT NULL,
    deleted      boolean NOT NULL,       -- a tombstone: the thing is gone
    body         text NOT NULL,          -- the message, {"broadcast": {...}}
    published_at timestamptz NOT NULL
);

CREATE INDEX broadcast_log_by_key ON broadcast_log (kind, key, version);

-- The last version given.  Its row is locked by each publishing transaction
-- until it commits, so versions are given, and reach each node's queue, in
-- commit order.
CREATE TABLE broadcast_counter (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    version   bigint NOT NULL
);
INSERT INTO broadcast_counter (version) VALUES (0);
