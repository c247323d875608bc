-- SPDX-License-Identifier: Apache-2.0
-- The knowledge base (Art 18): entries kept by the units of this node and
-- reviewed by the hotline office, every edit a new version, and the
-- corrections the office files.  Rules live in common/kb.c; the checks
-- below only keep rows well formed.

CREATE TABLE kb_entries (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    type           text NOT NULL CHECK (type IN ('duty', 'power_list', 'service_item', 'contact',
                                                 'office_hours', 'policy', 'answer_script')),
    unit_code      text NOT NULL REFERENCES units (code),
    latest_version integer NOT NULL CHECK (latest_version > 0),
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL
);

CREATE INDEX kb_entries_by_unit ON kb_entries (unit_code, id);

-- Each version is the whole entry as submitted.  Title and text are kept
-- with their bigram sets (common/ngram.c) for search.
CREATE TABLE kb_versions (
    entry_id         bigint NOT NULL REFERENCES kb_entries (id),
    version          integer NOT NULL CHECK (version > 0),
    state            text NOT NULL CHECK (state IN ('pending', 'published', 'rejected',
                                                    'superseded', 'withdrawn')),
    title            text NOT NULL,
    body             text NOT NULL,
    valid_from       date NOT NULL,
    valid_until      date CHECK (valid_until >= valid_from),
    publication_date date,
    official_text    text,
    late             boolean NOT NULL DEFAULT false,
    title_grams      integer[] NOT NULL,
    body_grams       integer[] NOT NULL,
    submitted_at     timestamptz NOT NULL,
    submitted_by     text NOT NULL,
    submitted_role   text NOT NULL,
    reviewed_at      timestamptz,
    reviewed_by      text,
    review_reason    text,
    PRIMARY KEY (entry_id, version)
);

-- At most one published version per entry: the one readers see.
CREATE UNIQUE INDEX kb_versions_published ON kb_versions (entry_id) WHERE state = 'published';
CREATE INDEX kb_versions_pending ON kb_versions (entry_id) WHERE state = 'pending';

-- Search: candidates share a bigram with the query (the && operator).
CREATE INDEX kb_versions_title_grams ON kb_versions USING gin (title_grams)
    WHERE state = 'published';
CREATE INDEX kb_versions_body_grams ON kb_versions USING gin (body_grams)
    WHERE state = 'published';

-- An error the office found in an entry; closed when a version the unit
-- submitted after the filing is published.
CREATE TABLE kb_corrections (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    entry_id      bigint NOT NULL REFERENCES kb_entries (id),
    note          text NOT NULL,
    filed_at      timestamptz NOT NULL,
    filed_by      text NOT NULL,
    deadline      timestamptz NOT NULL,
    provisional   boolean NOT NULL,
    closed_at     timestamptz,
    fixed_version integer,
    CHECK ((closed_at IS NULL) = (fixed_version IS NULL))
);

CREATE INDEX kb_corrections_by_entry ON kb_corrections (entry_id, id);
CREATE INDEX kb_corrections_open ON kb_corrections (deadline) WHERE closed_at IS NULL;
