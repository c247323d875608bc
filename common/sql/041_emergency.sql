-- SPDX-License-Identifier: Apache-2.0
-- Emergency fast track (Art 14): each node keeps a dynamic list of urgent
-- matter types.  A rule matches a category (or any) and keywords; a matching
-- appeal is flagged at intake, handed to an emergency line and handled
-- within hours instead of working days.  Rules are versioned: a change
-- writes a new version and closes the old one, so every flagged ticket
-- names the exact rule it matched.

CREATE TABLE emergency_rules (
    id           integer NOT NULL,
    version      integer NOT NULL,
    name         text NOT NULL,
    category     text,                  -- NULL: any category
    keywords     text[] NOT NULL CHECK (cardinality(keywords) > 0),
    line         text NOT NULL CHECK (line IN ('110', '120', '119', '122', 'none')),
    period_hours integer NOT NULL CHECK (period_hours BETWEEN 1 AND 168),
    active       boolean NOT NULL,      -- false: this version deletes the rule
    created_at   timestamptz NOT NULL,
    created_by   text NOT NULL,
    superseded_at timestamptz,
    PRIMARY KEY (id, version)
);

CREATE UNIQUE INDEX emergency_rules_current ON emergency_rules (id) WHERE superseded_at IS NULL;
CREATE SEQUENCE emergency_rule_ids;

ALTER TABLE tickets
    ADD COLUMN emergency_rule    integer,
    ADD COLUMN emergency_version integer,
    ADD COLUMN emergency_line    text,
    ADD COLUMN emergency_hours   integer;
