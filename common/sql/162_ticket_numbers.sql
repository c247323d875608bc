-- SPDX-License-Identifier: Apache-2.0
-- The next 'n' numbers of day 'd' in one call, as ticket_number() draws
-- one: for an import, which numbers thousands of tickets of a day at once
-- (common/importdb.c).
CREATE FUNCTION ticket_numbers(d date, n integer) RETURNS SETOF bigint LANGUAGE plpgsql AS $$
DECLARE
    b bigint;
BEGIN
    INSERT INTO ticket_days (day, base)
    SELECT d, nextval('ticket_serial')
    WHERE NOT EXISTS (SELECT 1 FROM ticket_days WHERE day = d)
    ON CONFLICT (day) DO NOTHING;
    SELECT base INTO b FROM ticket_days WHERE day = d;
    RETURN QUERY SELECT nextval('ticket_serial') - b FROM generate_series(1, n);
END
$$;
