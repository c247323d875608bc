-- SPDX-License-Identifier: Apache-2.0
-- What every node keeps about itself and about who may call its API.

-- The node's identity: one row, written by `init`.  The incarnation is a
-- random number that changes when the database is re-created or restored, so
-- peers can tell a node that lost data from one that merely restarted.
CREATE TABLE node_identity (
    singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    code        text NOT NULL CHECK (code ~ '^[1-9][0-9]{5}$'),
    incarnation bigint NOT NULL,
    created_at  timestamptz NOT NULL
);

-- Callers of the HTTP API.  A bearer token is shown once, when created; only
-- its SHA-256 is stored.
CREATE TABLE principals (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    role         text NOT NULL
                 CHECK (role IN ('admin', 'operator', 'manager', 'unit', 'auditor', 'service')),
    token_sha256 text NOT NULL UNIQUE CHECK (token_sha256 ~ '^[0-9a-f]{64}$'),
    created_at   timestamptz NOT NULL,
    revoked_at   timestamptz
);
