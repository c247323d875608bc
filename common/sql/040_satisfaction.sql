-- SPDX-License-Identifier: Apache-2.0
-- Satisfaction and redo (Art 15): after completion a rating window opens;
-- a citizen rates intake and handling once per round; a dissatisfied rating
-- opens a follow-up; one redo sends the order back to its unit.

ALTER TABLE tickets
    ADD COLUMN redos               integer NOT NULL DEFAULT 0,
    ADD COLUMN rating_due          timestamptz,   -- end of the rating window
    ADD COLUMN rated               boolean NOT NULL DEFAULT false,
    -- SHA-256 of the one-time token a citizen rates with (sent by SMS).
    ADD COLUMN rating_token_sha256 text;

CREATE INDEX tickets_rating_due ON tickets (rating_due) WHERE status = 'completed';

-- Every rating is kept; statistics use the latest round of each ticket.
CREATE TABLE ticket_ratings (
    ticket_id text NOT NULL REFERENCES tickets (id),
    round     integer NOT NULL CHECK (round IN (1, 2)),
    intake    text NOT NULL,
    handling  text NOT NULL,
    comment   text,
    by_whom   text NOT NULL,        -- the operator's name, or 'citizen'
    at        timestamptz NOT NULL,
    PRIMARY KEY (ticket_id, round)
);

-- 回访: a call back to a dissatisfied citizen, and what came of it.
CREATE TABLE followups (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id  text NOT NULL REFERENCES tickets (id),
    round      integer NOT NULL,
    created_at timestamptz NOT NULL,
    done_at    timestamptz,
    done_by    text,
    channel    text,
    outcome    text
);

CREATE INDEX followups_open ON followups (created_at) WHERE done_at IS NULL;
