-- SPDX-License-Identifier: Apache-2.0
-- The province's registry of the nodes it admits, and their live state.
-- A node is admitted only with the CURVE key registered here; removing it
-- keeps the row (who was admitted, and until when) but refuses the key.

CREATE TABLE nodes (
    code                text PRIMARY KEY CHECK (code ~ '^[1-9][0-9]{3}00$'),
    name                text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    curve_public_key    text NOT NULL CHECK (length(curve_public_key) = 40),
    registered_at       timestamptz NOT NULL,
    removed_at          timestamptz,
    -- Live state, written by the link thread.
    connected           boolean NOT NULL DEFAULT false,
    connected_at        timestamptz,
    last_heartbeat_at   timestamptz,
    incarnation         bigint,
    agents_online       integer NOT NULL DEFAULT 0,
    agents_busy         integer NOT NULL DEFAULT 0,
    queue_depth         integer NOT NULL DEFAULT 0,
    oldest_wait_seconds integer NOT NULL DEFAULT 0
);

-- One live registration per key.
CREATE UNIQUE INDEX nodes_live_key ON nodes (curve_public_key) WHERE removed_at IS NULL;
