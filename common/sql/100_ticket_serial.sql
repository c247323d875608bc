-- SPDX-License-Identifier: Apache-2.0
-- Ticket numbers drawn without a lock held until commit.  A counter row per
-- day made every intake of the node wait for the one before it to reach
-- the disk; now the numbers of a day come from one sequence, counted from
-- the value it had when the day opened.  A number drawn by an intake that
-- then failed is not drawn again, so a day's numbers may skip one; they
-- still rise with the order of intake and are never given twice.
CREATE SEQUENCE ticket_serial;

CREATE TABLE ticket_days (
    day  date PRIMARY KEY,
    base bigint NOT NULL -- the sequence's value just before the day's first number
);

-- The days numbered so far go on after their last number.
INSERT INTO ticket_days (day, base) SELECT day, -last_seq FROM ticket_numbers;
DROP TABLE ticket_numbers;

-- The next number of 'd', opening the day if it is the first of it.  Each
-- statement takes a fresh snapshot: an intake that finds the day being
-- opened by another waits for it, then reads its base.
CREATE FUNCTION ticket_number(d date) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    INSERT INTO ticket_days (day, base)
    SELECT d, nextval('ticket_serial')
    WHERE NOT EXISTS (SELECT 1 FROM ticket_days WHERE day = d)
    ON CONFLICT (day) DO NOTHING;
    SELECT nextval('ticket_serial') - base INTO n FROM ticket_days WHERE day = d;
    RETURN n;
END
$$;
