-- SPDX-License-Identifier: Apache-2.0
-- A batch of a node's ticket stream staged with COPY and applied from
-- there, its roll-ups counted apart (tests/bench/sync_bench.py).
--
-- The batch arrives one row per message in a temporary table, so the
-- server parses each message once, on its own, instead of one JSON array
-- of the whole batch taken apart again.  Of the tickets only each one's
-- last version is written, as before.
--
-- The roll-ups (131_master_stats.sql) are no longer counted in the
-- transaction that applies a batch: counting them took half of its time.
-- The apply marks the days whose figures it changed (master_stats_stale):
-- the days of the events it added, of the events already held after them
-- on the same ticket (what an event counts depends on the earlier ones:
-- the unit holding the order, the rating it replaces), and of all the
-- events of a ticket whose kind or category it changed.  The master
-- dataset's thread (province-node/applier.c) looks at the marks once a
-- second and rolls a day up again from its events once no batch marked it
-- since the last look, or after ten looks: a catch-up brings a day's
-- events in a run, so the day is counted about once, not at every batch.
-- The figures of a day lag its events by a second or two; a day is
-- counted only from the events, so a refresh can run any number of
-- times.

-- A node's events of a day, for the refresh.  By the day's expression, not
-- by (node, at): the plans of the lookups of a ticket's events are made
-- once a session, maybe while the tables are empty, and could then take an
-- index on node for them and read every event of the node.
CREATE INDEX master_events_by_day ON master_events (stats_day_of(at), node);

-- The days of a node whose roll-ups wait to be counted again.  'gen' moves
-- at every mark: a refresh takes a mark away only if nothing marked the
-- day again while it counted (master_stats_refresh).  'seen' is the 'gen'
-- of the last look and 'looks' how many there were (master_stats_due).
CREATE TABLE master_stats_stale (
    node  text NOT NULL,
    day   date NOT NULL,
    gen   bigint NOT NULL DEFAULT 1,
    seen  bigint NOT NULL DEFAULT 0,
    looks integer NOT NULL DEFAULT 0,
    PRIMARY KEY (node, day)
);

-- The marked days to count again now, oldest first, at most 'cap': those
-- no batch marked since the last look, and those looked at ten times
-- already.  The others are looked at.
CREATE FUNCTION master_stats_due(cap integer) RETURNS TABLE (node text, day date, gen bigint)
    LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY
    WITH due AS (
        SELECT s.node, s.day, s.gen FROM master_stats_stale s
         WHERE s.gen = s.seen OR s.looks >= 10
         ORDER BY s.day, s.node LIMIT cap),
    looked AS (
        UPDATE master_stats_stale s SET seen = s.gen, looks = s.looks + 1
         WHERE NOT EXISTS (SELECT 1 FROM due d WHERE d.node = s.node AND d.day = s.day))
    SELECT d.node, d.day, d.gen FROM due d;
END
$$;

-- Counts day 'd' of 'of_node' again from its events, if it is marked with
-- 'gen' (master_stats_stale), and takes the mark away unless the day was
-- marked again meanwhile: a batch that adds events to the day and commits
-- while this runs holds the mark's row, so the delete waits for it, sees
-- the new 'gen' and leaves the mark for the next refresh.  Returns the
-- number of roll-up rows written.
CREATE FUNCTION master_stats_refresh(of_node text, d date, mark bigint) RETURNS bigint
    LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    lo timestamptz := stats_day_start(d);
    hi timestamptz := stats_day_start(d + 1);
    n bigint;
BEGIN
    DELETE FROM master_stats_daily WHERE node = of_node AND day = d;
    INSERT INTO master_stats_daily
    SELECT of_node,
           CASE WHEN GROUPING(x.unit) = 0 THEN 'unit' WHEN GROUPING(x.kind) = 0 THEN 'kind'
                ELSE 'channel' END,
           d,
           CASE WHEN GROUPING(x.unit) = 0 THEN x.unit WHEN GROUPING(x.kind) = 0 THEN x.kind
                ELSE x.channel END,
           x.category,
           sum(c.received), sum(c.answered), sum(c.dispatched),
           sum(c.rejected_outside_jurisdiction), sum(c.rejected_other_legal_channel),
           sum(c.rejected_petition_channel), sum(c.rejected_secret_or_privacy),
           sum(c.rejected_abusive_or_empty), sum(c.rejected_repeat), sum(c.rejected_other),
           sum(c.completed), sum(c.completed_on_time), sum(c.overdue),
           sum(c.returns_requested), sum(c.returns_approved), sum(c.returns_refused),
           sum(c.extensions_requested), sum(c.extensions_approved), sum(c.extensions_refused),
           sum(c.redo_requested), sum(c.redo_approved), sum(c.supervised),
           sum(c.intake_very_satisfied), sum(c.intake_satisfied),
           sum(c.intake_basically_satisfied), sum(c.intake_dissatisfied),
           sum(c.intake_very_dissatisfied),
           sum(c.handling_very_satisfied), sum(c.handling_satisfied),
           sum(c.handling_basically_satisfied), sum(c.handling_dissatisfied),
           sum(c.handling_very_dissatisfied)
      FROM master_events e
     CROSS JOIN LATERAL master_stats_context(e) x
     CROSS JOIN LATERAL stats_counts(e.action, e.data ->> 'reason', x.on_time, x.rating,
                                     x.replaced) c
     WHERE stats_day_of(e.at) = d AND e.node = of_node AND e.at >= lo AND e.at < hi
     GROUP BY GROUPING SETS ((x.unit, x.category), (x.kind, x.category),
                             (x.channel, x.category));
    GET DIAGNOSTICS n = ROW_COUNT;
    DELETE FROM master_stats_stale WHERE node = of_node AND day = d AND gen = mark;
    RETURN n;
END
$$;

DROP FUNCTION master_apply(jsonb, text, timestamptz);
DROP FUNCTION master_stats_firsts(jsonb);

-- The table a batch is staged in, made once a session: one row per
-- message, 'n' its number in the node's stream.
CREATE FUNCTION master_staging() RETURNS void
    LANGUAGE plpgsql AS $$
BEGIN
    IF to_regclass('pg_temp.master_staged') IS NULL THEN
        CREATE TEMPORARY TABLE master_staged (n bigint NOT NULL, item jsonb NOT NULL)
            ON COMMIT DELETE ROWS;
    END IF;
END
$$;

-- Applies the batch of 'of_node''s ticket stream staged in master_staged
-- (master_staging()): its daily reports and its changes, as master_apply()
-- (152_master_apply.sql) did, and marks the days whose roll-ups it
-- changed.  'stamp' is when it arrived.
--
-- Only the owner of a ticket may change it ('owned'): the node the master
-- dataset names (a transfer's hand-off changes it), or for a ticket new
-- here the node that registered it, whose code starts the id.  What a node
-- says about itself (owner_node) is not trusted alone; the changes refused
-- are answered, with the owner.  A completion approved keeps the deadline
-- then in force; a node that does not send it has it in the ticket it
-- sends with the approval.
CREATE FUNCTION master_apply_staged(of_node text, stamp timestamptz)
    RETURNS TABLE (refused_ticket text, owner text, epoch integer)
    LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
BEGIN
    -- The plans are made once, maybe while the tables are still empty:
    -- the tickets of a batch are looked up by id one by one (LATERAL, and
    -- OFFSET 0 keeps it so), never all of a node's at once.  Each ticket's
    -- owner is looked up once: a ticket is the batch's node's if the
    -- master dataset says so, or is new and has its code.
    RETURN QUERY
    WITH items AS MATERIALIZED (
        SELECT s.item -> 'report' AS r, s.item -> 'event' AS e, s.item -> 'ticket' AS t,
               s.item -> 'approval_deadline' AS d, s.n, m.node AS owner_now, m.owner_epoch,
               m.kind AS kind_now, m.category AS category_now, m.created_at AS created_now,
               COALESCE(m.node = of_node, left(s.item -> 'ticket' ->> 'id', 6) = of_node) AS owned
          FROM master_staged s
          LEFT JOIN LATERAL (SELECT * FROM master_tickets m
                              WHERE m.id = s.item -> 'ticket' ->> 'id' OFFSET 0) m ON true),
    reports AS (
        INSERT INTO node_reports (node, day, events, reported_at)
        SELECT DISTINCT ON (r ->> 'day') of_node, (r ->> 'day')::date, (r ->> 'events')::bigint,
               stamp
          FROM items WHERE r IS NOT NULL ORDER BY r ->> 'day', n DESC
            ON CONFLICT (node, day) DO UPDATE SET events = EXCLUDED.events,
                                                  reported_at = EXCLUDED.reported_at),
    added AS (
        INSERT INTO master_events (ticket_id, seq, node, at, action, from_status, to_status,
                                   hash, data)
        SELECT e ->> 'ticket_id', (e ->> 'seq')::int, of_node, (e ->> 'at')::timestamptz,
               e ->> 'action', e ->> 'from_status', e ->> 'to_status', e ->> 'hash', e
          FROM items
         WHERE owned AND t ->> 'owner_node' = of_node AND e ->> 'ticket_id' = t ->> 'id'
            ON CONFLICT DO NOTHING
        RETURNING ticket_id, seq, at, action),
    completions AS (
        INSERT INTO master_completions (ticket_id, seq, deadline)
        SELECT a.ticket_id, a.seq,
               (CASE WHEN x.d IS NULL THEN x.t -> 'deadline' ELSE x.d END #>> '{}')::timestamptz
          FROM added a JOIN items x ON x.e ->> 'ticket_id' = a.ticket_id
                                   AND (x.e ->> 'seq')::int = a.seq
         WHERE a.action = 'completion/review:approve'
            ON CONFLICT DO NOTHING),
    tickets AS (
        INSERT INTO master_tickets (id, node, owner_epoch, version, status, kind, channel,
                                    category, unit_code, division, phone_hash, deadline,
                                    created_at, updated_at, data)
        SELECT DISTINCT ON (t ->> 'id') t ->> 'id', of_node, (t ->> 'owner_epoch')::int,
               (t ->> 'version')::int, t ->> 'status', t ->> 'kind', t ->> 'channel',
               t ->> 'category', t ->> 'unit_code', t ->> 'division', t ->> 'phone_hash',
               (t ->> 'deadline')::timestamptz, (t ->> 'created_at')::timestamptz,
               (t ->> 'updated_at')::timestamptz, t
          FROM items
         WHERE owned AND t ->> 'owner_node' = of_node
         ORDER BY t ->> 'id', (t ->> 'owner_epoch')::int DESC, (t ->> 'version')::int DESC
            ON CONFLICT (id) DO UPDATE SET node = EXCLUDED.node,
               owner_epoch = EXCLUDED.owner_epoch, version = EXCLUDED.version,
               status = EXCLUDED.status, kind = EXCLUDED.kind, category = EXCLUDED.category,
               unit_code = EXCLUDED.unit_code, deadline = EXCLUDED.deadline,
               updated_at = EXCLUDED.updated_at, data = EXCLUDED.data
         WHERE master_tickets.node = of_node
           AND (master_tickets.owner_epoch, master_tickets.version)
               < (EXCLUDED.owner_epoch, EXCLUDED.version)),
    -- The statement's snapshot holds the events from before the batch only.
    later AS (
        SELECT p.at FROM (SELECT ticket_id, min(seq) AS seq FROM added GROUP BY ticket_id) f
         CROSS JOIN LATERAL (SELECT p.at FROM master_events p
                              WHERE p.ticket_id = f.ticket_id AND p.seq > f.seq
                                AND p.node = of_node
                                AND p.at >= (SELECT t.created_at - interval '1 day'
                                               FROM master_tickets t WHERE t.id = f.ticket_id)
                             OFFSET 0) p),
    reclassified AS (
        SELECT p.at FROM (SELECT DISTINCT t ->> 'id' AS id, created_now FROM items
                           WHERE owner_now = of_node
                             AND (kind_now <> t ->> 'kind' OR category_now <> t ->> 'category')) x
         CROSS JOIN LATERAL (SELECT p.at FROM master_events p
                              WHERE p.ticket_id = x.id AND p.node = of_node
                                AND p.at >= x.created_now - interval '1 day' OFFSET 0) p),
    marked AS (
        INSERT INTO master_stats_stale AS s (node, day)
        SELECT of_node, day FROM (SELECT stats_day_of(at) AS day FROM added
                                  UNION SELECT stats_day_of(at) FROM later
                                  UNION SELECT stats_day_of(at) FROM reclassified) days
            ON CONFLICT (node, day) DO UPDATE SET gen = s.gen + 1)
    SELECT DISTINCT t ->> 'id', owner_now, owner_epoch FROM items WHERE owner_now <> of_node;
END
$$;
