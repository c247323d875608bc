-- SPDX-License-Identifier: Apache-2.0
-- Triage may correct an appeal's kind and category when it accepts it
-- (Art 7), after its registration was counted under those it came with.
-- The daily roll-ups count a ticket under its kind and category of now
-- (050_stats.sql), so the days of its earlier events are rolled up again:
-- the figures stay those a count over the events gives.

CREATE FUNCTION stats_ticket_reclassified() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    UPDATE stats_days SET dirty = true
     WHERE NOT dirty
       AND day IN (SELECT stats_day_of(e.at) FROM ticket_events e WHERE e.ticket_id = NEW.id);
    RETURN NULL;
END
$$;

CREATE TRIGGER stats_tickets_reclassified AFTER UPDATE OF kind, category ON tickets
    FOR EACH ROW
    WHEN (OLD.kind IS DISTINCT FROM NEW.kind OR OLD.category IS DISTINCT FROM NEW.category)
    EXECUTE FUNCTION stats_ticket_reclassified();
