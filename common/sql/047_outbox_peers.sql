-- SPDX-License-Identifier: Apache-2.0
-- Outboxes to more than one peer: the province sends each city a stream of
-- its own (transfers, decisions, broadcasts), so a queue is a stream and a
-- peer.  The empty peer is the node's uplink: the province, or, at the
-- province itself, its own master dataset.

ALTER TABLE outbox ADD COLUMN peer text NOT NULL DEFAULT '';
DROP INDEX outbox_by_seq;
DROP INDEX outbox_unsent;
CREATE UNIQUE INDEX outbox_by_seq ON outbox (stream, peer, seq) WHERE seq IS NOT NULL;
CREATE INDEX outbox_unsent ON outbox (stream, peer, id) WHERE seq IS NULL;

ALTER TABLE outbox_state ADD COLUMN peer text NOT NULL DEFAULT '';
ALTER TABLE outbox_state DROP CONSTRAINT outbox_state_pkey;
ALTER TABLE outbox_state ADD PRIMARY KEY (stream, peer);
