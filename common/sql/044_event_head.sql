-- SPDX-License-Identifier: Apache-2.0
-- The head of each ticket's event chain, kept on the ticket in the
-- transaction that appends the event: removing the newest events of a
-- chain, which leaves what remains a valid chain, no longer goes unseen.

ALTER TABLE tickets
    ADD COLUMN event_seq  integer NOT NULL DEFAULT 0,
    ADD COLUMN event_hash text;

UPDATE tickets t SET event_seq = h.seq, event_hash = h.hash
FROM (SELECT DISTINCT ON (ticket_id) ticket_id, seq, hash
      FROM ticket_events ORDER BY ticket_id, seq DESC) h
WHERE h.ticket_id = t.id;
