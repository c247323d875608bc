-- SPDX-License-Identifier: Apache-2.0
-- Cross-jurisdiction transfers (Art 3, Art 10; DESIGN.md "Ownership").
-- Every node keeps the transfers it took part in and every signed message
-- of them, as signed: the evidence when a jurisdiction dispute or an
-- improper return is supervised (Art 16).  The province routes them
-- (province-node/sql/120_routing.sql).

-- The Ed25519 keys of the nodes whose signatures this node keeps, learnt
-- over authenticated sessions (the province's from its welcome; a city's
-- from its hello at the province, or from the province vouching for it).
CREATE TABLE node_keys (
    code     text PRIMARY KEY CHECK (code ~ '^[1-9][0-9]{3}00$'),
    sign_key text NOT NULL CHECK (length(sign_key) = 44),
    seen_at  timestamptz NOT NULL
);

CREATE TABLE transfers (
    id            text PRIMARY KEY,        -- <ticket id>.<n>
    ticket_id     text NOT NULL,
    from_node     text NOT NULL,
    to_node       text NOT NULL,
    epoch         integer NOT NULL,        -- the owner epoch it was offered at
    reason        text NOT NULL,
    status        text NOT NULL
                  CHECK (status IN ('offered', 'accepted', 'declined', 'decided', 'refused')),
    owner         text,                    -- the node the outcome gave the ticket
    offered_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);

CREATE INDEX transfers_by_ticket ON transfers (ticket_id);

CREATE TABLE transfer_messages (
    transfer_id text NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('offer', 'accept', 'decline', 'decision', 'final')),
    signer      text NOT NULL,
    body        text NOT NULL,             -- the signed text, byte for byte
    signature   text NOT NULL,
    signer_key  text NOT NULL,
    stored_at   timestamptz NOT NULL,
    PRIMARY KEY (transfer_id, kind)
);

-- On the ticket: when this node took it over by a transfer (the decline
-- window runs from here) and whether the province's decision made that
-- final; for a copy left behind, the owner's answer to a progress query.
ALTER TABLE tickets
    ADD COLUMN handed_at       timestamptz,
    ADD COLUMN transfer_final  boolean NOT NULL DEFAULT false,
    ADD COLUMN remote_progress jsonb,
    ADD COLUMN progress_sent   boolean NOT NULL DEFAULT true;

-- Events another node wrote, received with a ticket: part of the chain,
-- not of this node's daily count.
ALTER TABLE ticket_events ADD COLUMN copied boolean NOT NULL DEFAULT false;
