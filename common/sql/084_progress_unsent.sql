-- SPDX-License-Identifier: Apache-2.0
-- The copies whose progress answer is still to be sent
-- (transferdb_progress_flush), found without reading every ticket: the
-- link thread looks for them each time it sends, so on a large node a scan
-- of all tickets slowed every batch of its stream to the province.  Few
-- tickets are ever in it.

CREATE INDEX tickets_progress_unsent ON tickets (updated_at) WHERE NOT progress_sent;
