-- SPDX-License-Identifier: Apache-2.0
-- The working-day calendar (REGULATION.md, "counting working days"): the
-- dates that differ from the plain rule, Monday-Friday work and weekends
-- off, as the State Council declares them each year.  A year is covered
-- when it has dates here.  `init` seeds the national calendar the binaries
-- carry (common/sql/cn-calendar.tsv); POST /api/v1/calendar/days replaces
-- one year.  The checks repeat those of calendar_check() in calendar.c.

CREATE TABLE calendar_days (
    day      date PRIMARY KEY CHECK (day BETWEEN '1970-01-01' AND '9999-12-31'),
    kind     text NOT NULL CHECK (kind IN ('off', 'work')),
    name     text CHECK (octet_length(name) BETWEEN 1 AND 64),
    added_at timestamptz NOT NULL,
    source   text NOT NULL,
    -- only a Saturday or a Sunday can be a make-up working day (调休上班)
    CHECK (kind = 'off' OR extract(isodow FROM day) IN (6, 7))
);

-- One number, raised by every change to calendar_days: each HTTP worker
-- keeps its own copy of the calendar and reloads it only when this moved.
CREATE TABLE calendar_version (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    version   bigint NOT NULL
);
INSERT INTO calendar_version (version) VALUES (1);
