-- SPDX-License-Identifier: Apache-2.0
-- Ticket numbers drawn without a lock held until the intake commits.  The
-- day's counter row was taken inside the intake's transaction, so every
-- intake of a node waited for the one before it to reach the disk.  Now a
-- number is drawn in a transaction of its own, committed without waiting
-- for the disk (ticketdb_next_id): its row lock lasts a statement.  That
-- is safe because the WAL is written in order: an intake that commits
-- durably after the draw makes the draw durable too, and one that never
-- commits leaves an unused number.  So a day's numbers may skip one; they
-- are never given twice, and each day counts on its own.
CREATE FUNCTION ticket_number(d date) RETURNS bigint LANGUAGE sql AS $$
    INSERT INTO ticket_numbers AS n VALUES (d, 1)
    ON CONFLICT (day) DO UPDATE SET last_seq = n.last_seq + 1
    RETURNING last_seq
$$;
