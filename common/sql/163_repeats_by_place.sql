-- Likely repeats (Art 7 item 6) at a cost that does not grow with the
-- number of earlier appeals sharing a common word with a new one (on a
-- typhoon day, thousands say "停电" in the same district): the caller's
-- latest appeals, and, among the place's latest 1000, those sharing a word,
-- newest first.  Both halves walk their index from the newest row and stop
-- at their limit; bitmap scans are off in the function because they would
-- read every row of the window before sorting.
CREATE INDEX tickets_by_division ON tickets (division, created_at);

CREATE FUNCTION ticket_repeats(p_id text, p_phone_hash text, p_division text, p_grams integer[],
                               p_since timestamptz)
RETURNS TABLE (id text, same_caller boolean, same_place boolean, grams text)
LANGUAGE plpgsql STABLE
SET enable_bitmapscan = off
AS $$
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
            AND latest.content_grams && p_grams
          ORDER BY latest.created_at DESC LIMIT 100)) c
    ORDER BY c.created_at DESC, c.id DESC LIMIT 100;
END
$$;
