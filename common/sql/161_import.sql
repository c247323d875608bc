-- SPDX-License-Identifier: Apache-2.0
-- Tickets imported from a legacy system (`city-node import`, common/importdb.c):
-- the legacy system's own id, kept and unique, so an import run again
-- writes nothing twice; and how far each file was imported, committed with
-- each batch, so an interrupted import resumes where it stopped.

ALTER TABLE tickets ADD COLUMN legacy_id text UNIQUE
    CHECK (length(legacy_id) BETWEEN 1 AND 64);

CREATE TABLE import_checkpoints (
    file       text PRIMARY KEY,      -- SHA-256 of its first and last 64 KiB and its size
    byte_offset bigint NOT NULL,      -- where the next line starts
    line       bigint NOT NULL,       -- lines read so far
    imported   bigint NOT NULL,
    refused    bigint NOT NULL,
    updated_at timestamptz NOT NULL
);
