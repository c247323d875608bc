-- SPDX-License-Identifier: Apache-2.0
-- The provincial master dataset (Art 19): the current state of every ticket
-- of every node, and every event, as the nodes sent them.  Personal data
-- never arrives here: the phone only as its province-wide keyed hash.
-- A ticket row is replaced only by a newer (owner epoch, version).

CREATE TABLE master_tickets (
    id          text PRIMARY KEY,
    node        text NOT NULL,
    owner_epoch integer NOT NULL,
    version     integer NOT NULL,
    status      text NOT NULL,
    kind        text NOT NULL,
    channel     text NOT NULL,
    category    text NOT NULL,
    unit_code   text,
    division    text NOT NULL,
    phone_hash  text NOT NULL,
    deadline    timestamptz,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    data        jsonb NOT NULL           -- the whole row as the node sent it
);

CREATE INDEX master_tickets_by_node ON master_tickets (node, created_at, id);
CREATE INDEX master_tickets_by_status ON master_tickets (status, created_at, id);

-- Partitioned by month of the event; sync creates a month's partition before
-- its first event, so the default partition stays empty.
CREATE TABLE master_events (
    ticket_id   text NOT NULL,
    seq         integer NOT NULL,
    node        text NOT NULL,
    at          timestamptz NOT NULL,
    action      text NOT NULL,
    from_status text,
    to_status   text NOT NULL,
    hash        text NOT NULL,
    data        jsonb NOT NULL,
    PRIMARY KEY (ticket_id, seq, at)
) PARTITION BY RANGE (at);

CREATE TABLE master_events_default PARTITION OF master_events DEFAULT;
