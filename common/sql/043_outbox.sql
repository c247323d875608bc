-- SPDX-License-Identifier: Apache-2.0
-- Exactly-once messaging between nodes (DESIGN.md, "Federation protocol").
-- A change and the message announcing it are written in one transaction;
-- the link thread numbers messages when it first sends them (numbers given
-- at insert would commit out of order), resends from the last acknowledged
-- one, and forgets them once acknowledged.  The receiver applies a batch
-- and advances its cursor in one transaction.

CREATE TABLE outbox (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    stream     integer NOT NULL,
    body       text NOT NULL,          -- one JSON object, without personal data
    created_at timestamptz NOT NULL,
    seq        bigint                  -- given when first sent
);

CREATE UNIQUE INDEX outbox_by_seq ON outbox (stream, seq) WHERE seq IS NOT NULL;
CREATE INDEX outbox_unsent ON outbox (stream, id) WHERE seq IS NULL;

-- Sender side: the last number given and the last acknowledged, per stream.
CREATE TABLE outbox_state (
    stream    integer PRIMARY KEY,
    last_seq  bigint NOT NULL DEFAULT 0,
    acked_seq bigint NOT NULL DEFAULT 0
);

-- Receiver side: the last message applied, per peer and stream.
CREATE TABLE inbox_state (
    peer         text NOT NULL,
    stream       integer NOT NULL,
    last_applied bigint NOT NULL DEFAULT 0,
    applied_at   timestamptz,
    PRIMARY KEY (peer, stream)
);
