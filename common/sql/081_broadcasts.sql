-- SPDX-License-Identifier: Apache-2.0
-- Province-wide broadcasts (DESIGN.md, "Federation protocol";
-- common/broadcast.c): what a node holds of the province's numbered
-- changes to the knowledge base, the calendar and caller restrictions.

-- The version that last changed each key here; a deleted key keeps its
-- version, so an older message never brings it back.
CREATE TABLE broadcast_items (
    kind       text NOT NULL CHECK (kind IN ('kb', 'calendar', 'restriction')),
    key        text NOT NULL CHECK (length(key) BETWEEN 1 AND 64),
    version    bigint NOT NULL CHECK (version > 0),
    deleted    boolean NOT NULL,
    applied_at timestamptz NOT NULL,
    PRIMARY KEY (kind, key)
);

-- The last version of the province's log this node applied.
CREATE TABLE broadcast_held (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    version    bigint NOT NULL CHECK (version >= 0),
    applied_at timestamptz
);
INSERT INTO broadcast_held (version) VALUES (0);

-- The published version of each knowledge-base entry another node (the
-- province) keeps, as it broadcast it: read-only here, searchable like this
-- node's own entries (common/kbdb.c).
CREATE TABLE kb_copies (
    id               text PRIMARY KEY,     -- "440000-KB-0001"
    origin           text NOT NULL CHECK (origin ~ '^[1-9][0-9]{5}$'),
    entry            bigint NOT NULL CHECK (entry > 0),
    type             text NOT NULL CHECK (type IN ('duty', 'power_list', 'service_item',
                                                   'contact', 'office_hours', 'policy',
                                                   'answer_script')),
    unit_code        text NOT NULL,
    unit_name        text NOT NULL,
    version          integer NOT NULL CHECK (version > 0),
    title            text NOT NULL,
    body             text NOT NULL,
    valid_from       date NOT NULL,
    valid_until      date CHECK (valid_until >= valid_from),
    publication_date date,
    official_text    text,
    late             boolean NOT NULL,
    title_grams      integer[] NOT NULL,
    body_grams       integer[] NOT NULL,
    submitted_at     timestamptz NOT NULL,
    submitted_by     text NOT NULL,
    submitted_role   text NOT NULL,
    reviewed_at      timestamptz,
    reviewed_by      text,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    received_at      timestamptz NOT NULL,
    UNIQUE (origin, entry)
);

CREATE INDEX kb_copies_title_grams ON kb_copies USING gin (title_grams);
CREATE INDEX kb_copies_body_grams ON kb_copies USING gin (body_grams);

-- Restrictions are lifted at any node: which one did it.
ALTER TABLE restrictions ADD COLUMN lifted_node text CHECK (lifted_node ~ '^[1-9][0-9]{5}$');
