-- SPDX-License-Identifier: Apache-2.0
-- Likely repeats (Art 7 item 6) at a cost that does not grow with the
-- number of earlier appeals sharing a common word with a new one: on a
-- typhoon day thousands say "停电" in the same district, and the overlap
-- search of 042_repeats.sql read every one of them.
--
-- The candidates are the caller's latest appeals, and those among the
-- place's latest 1000 that share a word with the new one, newest first.
-- Each half walks its index from the newest row and stops at its limit
-- (bitmap scans, off in the function, would read the whole window before
-- sorting).  A row is tested against the new appeal's eight smallest gram
-- hashes, not all of them: the test compares every pair of elements, and
-- an earlier appeal sharing a good part of the words shares one of those
-- eight all but always.  The caller ranks the candidates on all the grams
-- (repeat.c).
CREATE INDEX tickets_by_division ON tickets (division, created_at);
DROP INDEX tickets_content_grams;

CREATE FUNCTION ticket_repeats(p_id text, p_phone_hash text, p_division text, p_grams integer[],
                               p_since timestamptz)
RETURNS TABLE (id text, same_caller boolean, same_place boolean, grams text)
LANGUAGE plpgsql STABLE
SET enable_bitmapscan = off
AS $$
DECLARE
    -- p_grams is ascending (ngram.c), so these are its smallest hashes.
    sketch integer[] := p_grams[1:8];
BEGIN
    RETURN QUERY
    SELECT c.id, c.same_caller, c.same_place, c.grams FROM (
        (SELECT t.id, true AS same_caller, t.division = p_division AS same_place,
                t.content_grams::text AS grams, t.created_at
           FROM tickets t
          WHERE t.phone_hash = p_phone_hash AND t.created_at >= p_since
            AND t.id <> p_id AND t.status <> 'rejected'
          ORDER BY t.created_at DESC LIMIT 50)
        UNION
        (SELECT latest.id, latest.phone_hash = p_phone_hash, true,
                latest.content_grams::text, latest.created_at
           FROM (SELECT t.id, t.phone_hash, t.content_grams, t.created_at, t.status
                   FROM tickets t
                  WHERE t.division = p_division AND t.created_at >= p_since
                  ORDER BY t.created_at DESC LIMIT 1000) latest
          WHERE latest.id <> p_id AND latest.status <> 'rejected'
            AND latest.content_grams && sketch
          ORDER BY latest.created_at DESC LIMIT 50)) c
    ORDER BY c.created_at DESC, c.id DESC LIMIT 100;
END
$$;
