-- SPDX-License-Identifier: Apache-2.0
-- Repeat detection (Art 7 item 6): the character-bigram set of each
-- appeal's content (see common/ngram.h), indexed so that earlier appeals
-- sharing grams are found without a scan; and the links an operator makes
-- between related appeals.

ALTER TABLE tickets ADD COLUMN content_grams integer[] NOT NULL DEFAULT '{}';
CREATE INDEX tickets_content_grams ON tickets USING gin (content_grams);
CREATE INDEX tickets_by_phone ON tickets (phone_hash, created_at);

CREATE TABLE ticket_links (
    ticket_id  text NOT NULL REFERENCES tickets (id),
    related_id text NOT NULL REFERENCES tickets (id),
    linked_by  text NOT NULL,
    linked_at  timestamptz NOT NULL,
    PRIMARY KEY (ticket_id, related_id),
    CHECK (ticket_id <> related_id)
);
