-- SPDX-License-Identifier: Apache-2.0
-- The hotline itself: handling units, work orders and their history.
-- Every node runs it: the cities for their city, the province for
-- province-level units.  Rules live in common/ticket.c, not here; the
-- checks below only keep rows well formed.

CREATE TABLE units (
    code       text PRIMARY KEY CHECK (code ~ '^[A-Za-z0-9_-]{1,32}$'),
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    node       text NOT NULL CHECK (node ~ '^[1-9][0-9]{5}$'),
    categories text[] NOT NULL CHECK (cardinality(categories) > 0),
    created_at timestamptz NOT NULL
);

-- A unit principal acts for exactly one unit; no other role has one.
ALTER TABLE principals ADD COLUMN unit_code text REFERENCES units (code);
ALTER TABLE principals ADD CONSTRAINT principals_unit_role
    CHECK ((role = 'unit') = (unit_code IS NOT NULL));

-- Ticket numbers: <node>-<yyyymmdd>-<sequence of the day>.
CREATE TABLE ticket_numbers (
    day      date PRIMARY KEY,
    last_seq integer NOT NULL
);

CREATE TABLE tickets (
    id           text PRIMARY KEY,
    status       text NOT NULL,
    kind         text NOT NULL,
    channel      text NOT NULL,
    category     text NOT NULL,
    content      text NOT NULL,
    citizen_type text NOT NULL,
    -- Name, phone, ID number and contact: AES-256-GCM, never in clear.
    citizen_pii  bytea NOT NULL,
    pii_key_id   text NOT NULL,
    -- HMAC-SHA256 of the phone number, for repeats and restrictions.
    phone_hash   text NOT NULL,
    division     text NOT NULL,
    address      text NOT NULL,
    lat          double precision,
    long         double precision,
    unit_code    text REFERENCES units (code),
    received_at  timestamptz,          -- the current unit's first receipt
    deadline     timestamptz,
    provisional  boolean NOT NULL DEFAULT false,
    returns      integer NOT NULL DEFAULT 0,
    extensions   integer NOT NULL DEFAULT 0,
    no_return    boolean NOT NULL DEFAULT false,
    due_soon     boolean NOT NULL DEFAULT false,
    overdue      boolean NOT NULL DEFAULT false,
    supervised   boolean NOT NULL DEFAULT false,
    -- The request awaiting a manager (return, extension, completion), and
    -- the outcome of a closed order, as JSON text without personal data.
    pending      text,
    outcome      text,
    owner_node   text NOT NULL,
    owner_epoch  integer NOT NULL DEFAULT 1,
    version      integer NOT NULL DEFAULT 1,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL
);

CREATE INDEX tickets_by_created ON tickets (created_at, id);
CREATE INDEX tickets_by_unit ON tickets (unit_code, created_at, id);
CREATE INDEX tickets_by_status ON tickets (status, created_at, id);
CREATE INDEX tickets_running ON tickets (deadline)
    WHERE status IN ('handling', 'return_requested', 'extension_requested',
                     'completion_requested');

-- Append-only history.  Each event's hash covers the previous event's hash
-- and its own fields, so editing or removing any past event breaks the chain
-- from there on (`verify`).
CREATE TABLE ticket_events (
    ticket_id   text NOT NULL REFERENCES tickets (id),
    seq         integer NOT NULL CHECK (seq > 0),
    at          timestamptz NOT NULL,
    actor       text NOT NULL,
    role        text NOT NULL,
    action      text NOT NULL,
    from_status text,
    to_status   text NOT NULL,
    reason      text,
    detail      text,
    prev_hash   text NOT NULL,
    hash        text NOT NULL,
    PRIMARY KEY (ticket_id, seq)
);

-- Who read personal data, and when (Art 20).
CREATE TABLE audit_log (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at           timestamptz NOT NULL,
    principal_id bigint NOT NULL,
    actor        text NOT NULL,
    role         text NOT NULL,
    ticket_id    text NOT NULL,
    what         text NOT NULL
);

CREATE INDEX audit_log_by_ticket ON audit_log (ticket_id, at);
