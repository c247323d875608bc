-- SPDX-License-Identifier: Apache-2.0
-- The next 'n' numbers of day 'd' in one call: for an import, which numbers
-- thousands of tickets of a day at once (common/importdb.c) inside its
-- batch's transaction; an intake of the same day waits for that batch.
CREATE FUNCTION ticket_numbers(d date, n integer) RETURNS SETOF bigint LANGUAGE sql AS $$
    WITH drawn AS (
        INSERT INTO ticket_numbers AS t VALUES (d, n)
        ON CONFLICT (day) DO UPDATE SET last_seq = t.last_seq + n
        RETURNING last_seq
    )
    SELECT generate_series(last_seq - n + 1, last_seq)::bigint FROM drawn
$$;
