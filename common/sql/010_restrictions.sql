-- SPDX-License-Identifier: Apache-2.0
-- Callers restricted from the phone hotline (Art 9; common/restriction.c).
-- A row is the same at every node that holds it: its id is unique in the
-- province (<origin node>-R-<sequence>) and names where it was imposed, so
-- the federation can copy rows between nodes unchanged.  The number is kept
-- only as its keyed hash and its mask.  A restriction is active while the
-- node's time is before ends_at and it was not lifted; nothing expires it.

CREATE SEQUENCE restriction_numbers;

CREATE TABLE restrictions (
    id             text PRIMARY KEY CHECK (id ~ '^[1-9][0-9]{5}-R-[0-9]{6,}$'),
    origin_node    text NOT NULL CHECK (origin_node ~ '^[1-9][0-9]{5}$'),
    phone_hash     text NOT NULL CHECK (phone_hash ~ '^[0-9a-f]{64}$'),
    phone_masked   text NOT NULL CHECK (phone_masked ~ '^[0-9]{3}[*]{4}[0-9]{4}$'),
    reason         text NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
    -- who imposed it: a principal of the origin node
    by_id          bigint NOT NULL,
    by_name        text NOT NULL,
    starts_at      timestamptz NOT NULL,
    ends_at        timestamptz NOT NULL CHECK (ends_at > starts_at),
    lifted_at      timestamptz,
    lifted_by_id   bigint,
    lifted_by_name text,
    CHECK ((lifted_at IS NULL) = (lifted_by_id IS NULL)
           AND (lifted_at IS NULL) = (lifted_by_name IS NULL))
);

CREATE INDEX restrictions_by_phone ON restrictions (phone_hash, ends_at);
CREATE INDEX restrictions_by_end ON restrictions (ends_at) WHERE lifted_at IS NULL;

-- Every intake refused because of a restriction: when, where, who tried to
-- register it, under which restriction.  No number.
CREATE TABLE restriction_hits (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    restriction_id text NOT NULL REFERENCES restrictions (id),
    at             timestamptz NOT NULL,
    node           text NOT NULL CHECK (node ~ '^[1-9][0-9]{5}$'),
    principal_id   bigint NOT NULL,
    actor          text NOT NULL,
    role           text NOT NULL
);

CREATE INDEX restriction_hits_by_restriction ON restriction_hits (restriction_id, at);
