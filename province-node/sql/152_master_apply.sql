-- SPDX-License-Identifier: Apache-2.0
-- A batch of a node's ticket stream applied by one function (called from
-- province-node/master.c), whose statements are planned once a session and
-- which reads the batch once: as separate statements and SQL functions the
-- batch was parsed twice and the statements planned at every batch, which
-- took longer than running them (tests/bench/sync_bench.py).
--
-- The earlier events counting an event depends on (131_master_stats.sql)
-- are looked up within the months they can be in: from the day before the
-- ticket was made to the day after the event (a day each side for the
-- clocks of two nodes that handled it in turn).  Unbounded, each lookup
-- read the ticket's index in every monthly partition of master_events, so
-- that applying a batch cost more with every month the province kept.

CREATE OR REPLACE FUNCTION master_stats_context(e master_events)
    RETURNS TABLE (day date, unit text, kind text, channel text, category text,
                   on_time boolean, rating jsonb, replaced jsonb)
    LANGUAGE sql STABLE AS $$
SELECT stats_day_of(e.at),
       COALESCE(CASE WHEN e.action = 'dispatch' THEN (e.data ->> 'detail')::jsonb ->> 'unit'
                     WHEN e.action IN ('register', 'answer', 'reject') THEN ''
                     ELSE (SELECT (p.data ->> 'detail')::jsonb ->> 'unit' FROM master_events p
                            WHERE p.ticket_id = e.ticket_id AND p.node = e.node AND p.seq < e.seq
                              AND p.at >= t.created_at - interval '1 day'
                              AND p.at <= e.at + interval '1 day'
                              AND p.action IN ('dispatch', 'return/review:approve')
                            ORDER BY p.seq DESC LIMIT 1) END, ''),
       t.kind, t.channel, t.category,
       CASE WHEN e.action = 'completion/review:approve' THEN
            e.at <= (SELECT c.deadline FROM master_completions c
                      WHERE c.ticket_id = e.ticket_id AND c.seq = e.seq) END,
       CASE WHEN e.action = 'rating' THEN (e.data ->> 'detail')::jsonb END,
       CASE WHEN e.action = 'rating' THEN
            (SELECT (p.data ->> 'detail')::jsonb FROM master_events p
              WHERE p.ticket_id = e.ticket_id AND p.node = e.node AND p.seq < e.seq
                AND p.at >= t.created_at - interval '1 day'
                AND p.at <= e.at + interval '1 day'
                AND p.action = 'rating'
              ORDER BY p.seq DESC LIMIT 1) END
  FROM master_tickets t
 WHERE t.id = e.ticket_id AND stats_counted(e.action)
$$;

-- The roll-up statement as PL/pgSQL, whose plan a session keeps: as a SQL
-- function (151) it was planned again at every call, which took longer
-- than running it.  The plan for any batch, not one per batch: which
-- tickets a batch holds changes nothing in it.
CREATE OR REPLACE FUNCTION master_stats_add(of_node text, firsts jsonb, sign integer) RETURNS void
    LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
BEGIN
    INSERT INTO master_stats_daily AS s
    SELECT of_node,
           CASE WHEN GROUPING(x.unit) = 0 THEN 'unit' WHEN GROUPING(x.kind) = 0 THEN 'kind'
                ELSE 'channel' END,
           x.day,
           CASE WHEN GROUPING(x.unit) = 0 THEN x.unit WHEN GROUPING(x.kind) = 0 THEN x.kind
                ELSE x.channel END,
           x.category,
           sign * sum(c.received), sign * sum(c.answered), sign * sum(c.dispatched),
           sign * sum(c.rejected_outside_jurisdiction), sign * sum(c.rejected_other_legal_channel),
           sign * sum(c.rejected_petition_channel), sign * sum(c.rejected_secret_or_privacy),
           sign * sum(c.rejected_abusive_or_empty), sign * sum(c.rejected_repeat),
           sign * sum(c.rejected_other),
           sign * sum(c.completed), sign * sum(c.completed_on_time), sign * sum(c.overdue),
           sign * sum(c.returns_requested), sign * sum(c.returns_approved),
           sign * sum(c.returns_refused),
           sign * sum(c.extensions_requested), sign * sum(c.extensions_approved),
           sign * sum(c.extensions_refused),
           sign * sum(c.redo_requested), sign * sum(c.redo_approved), sign * sum(c.supervised),
           sign * sum(c.intake_very_satisfied), sign * sum(c.intake_satisfied),
           sign * sum(c.intake_basically_satisfied), sign * sum(c.intake_dissatisfied),
           sign * sum(c.intake_very_dissatisfied),
           sign * sum(c.handling_very_satisfied), sign * sum(c.handling_satisfied),
           sign * sum(c.handling_basically_satisfied), sign * sum(c.handling_dissatisfied),
           sign * sum(c.handling_very_dissatisfied)
      FROM jsonb_each_text(firsts) f
      -- OFFSET 0 keeps the subquery as it is: a scan of the ticket's index,
      -- in the months from the ticket's making on.
      CROSS JOIN LATERAL (SELECT * FROM master_events e
                           WHERE e.ticket_id = f.key AND e.seq >= f.value::int AND e.node = of_node
                             AND e.at >= (SELECT t.created_at - interval '1 day'
                                            FROM master_tickets t WHERE t.id = f.key)
                          OFFSET 0) e
      CROSS JOIN LATERAL master_stats_context(e::master_events) x
      CROSS JOIN LATERAL stats_counts(e.action, e.data ->> 'reason', x.on_time, x.rating,
                                      x.replaced) c
     GROUP BY x.day, GROUPING SETS ((x.unit, x.category), (x.kind, x.category),
                                    (x.channel, x.category))
        ON CONFLICT (dim, day, node, value, category) DO UPDATE SET
           received = s.received + EXCLUDED.received,
           answered = s.answered + EXCLUDED.answered,
           dispatched = s.dispatched + EXCLUDED.dispatched,
           rejected_outside_jurisdiction =
               s.rejected_outside_jurisdiction + EXCLUDED.rejected_outside_jurisdiction,
           rejected_other_legal_channel =
               s.rejected_other_legal_channel + EXCLUDED.rejected_other_legal_channel,
           rejected_petition_channel =
               s.rejected_petition_channel + EXCLUDED.rejected_petition_channel,
           rejected_secret_or_privacy =
               s.rejected_secret_or_privacy + EXCLUDED.rejected_secret_or_privacy,
           rejected_abusive_or_empty =
               s.rejected_abusive_or_empty + EXCLUDED.rejected_abusive_or_empty,
           rejected_repeat = s.rejected_repeat + EXCLUDED.rejected_repeat,
           rejected_other = s.rejected_other + EXCLUDED.rejected_other,
           completed = s.completed + EXCLUDED.completed,
           completed_on_time = s.completed_on_time + EXCLUDED.completed_on_time,
           overdue = s.overdue + EXCLUDED.overdue,
           returns_requested = s.returns_requested + EXCLUDED.returns_requested,
           returns_approved = s.returns_approved + EXCLUDED.returns_approved,
           returns_refused = s.returns_refused + EXCLUDED.returns_refused,
           extensions_requested = s.extensions_requested + EXCLUDED.extensions_requested,
           extensions_approved = s.extensions_approved + EXCLUDED.extensions_approved,
           extensions_refused = s.extensions_refused + EXCLUDED.extensions_refused,
           redo_requested = s.redo_requested + EXCLUDED.redo_requested,
           redo_approved = s.redo_approved + EXCLUDED.redo_approved,
           supervised = s.supervised + EXCLUDED.supervised,
           intake_very_satisfied = s.intake_very_satisfied + EXCLUDED.intake_very_satisfied,
           intake_satisfied = s.intake_satisfied + EXCLUDED.intake_satisfied,
           intake_basically_satisfied =
               s.intake_basically_satisfied + EXCLUDED.intake_basically_satisfied,
           intake_dissatisfied = s.intake_dissatisfied + EXCLUDED.intake_dissatisfied,
           intake_very_dissatisfied = s.intake_very_dissatisfied + EXCLUDED.intake_very_dissatisfied,
           handling_very_satisfied = s.handling_very_satisfied + EXCLUDED.handling_very_satisfied,
           handling_satisfied = s.handling_satisfied + EXCLUDED.handling_satisfied,
           handling_basically_satisfied =
               s.handling_basically_satisfied + EXCLUDED.handling_basically_satisfied,
           handling_dissatisfied = s.handling_dissatisfied + EXCLUDED.handling_dissatisfied,
           handling_very_dissatisfied =
               s.handling_very_dissatisfied + EXCLUDED.handling_very_dissatisfied;
END
$$;

-- Applies a batch of 'of_node''s ticket stream: its daily reports and its
-- changes, the roll-ups of its tickets taken out before and counted again
-- after (131_master_stats.sql), all of a ticket's events when the batch
-- gives it another kind or category (triage accepted it so), as they all
-- count under the ticket's.  'stamp' is when it arrived.
--
-- Only the owner of a ticket may change it ('owned'): the node the master
-- dataset names (a transfer's hand-off changes it), or for a ticket new
-- here the node that registered it, whose code starts the id.  What a node
-- says about itself (owner_node) is not trusted alone; the changes refused
-- are answered, with the owner.  A completion approved keeps the deadline
-- then in force; a node that does not send it has it in the ticket it
-- sends with the approval.
CREATE FUNCTION master_apply(batch jsonb, of_node text, stamp timestamptz)
    RETURNS TABLE (refused_ticket text, owner text, epoch integer)
    LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    firsts jsonb;
    refused jsonb;
BEGIN
    -- The plans are made once, maybe while the tables are still empty:
    -- the tickets of a batch are looked up by id one by one (LATERAL, and
    -- OFFSET 0 keeps it so), never all of a node's at once, whatever the
    -- statistics said then.
    firsts := master_stats_firsts(batch)
              || COALESCE((SELECT jsonb_object_agg(m.id, 1)
                             FROM jsonb_array_elements(batch) i
                            CROSS JOIN LATERAL (SELECT * FROM master_tickets m
                                                 WHERE m.id = i -> 'ticket' ->> 'id'
                                                OFFSET 0) m
                            WHERE m.node = of_node
                              AND (m.kind <> i -> 'ticket' ->> 'kind'
                                   OR m.category <> i -> 'ticket' ->> 'category')), '{}');
    PERFORM master_stats_add(of_node, firsts, -1);

    -- Each ticket's owner is looked up once: a ticket is the batch's
    -- node's if the master dataset says so, or is new and has its code.
    WITH items AS MATERIALIZED (
        SELECT x.i -> 'report' AS r, x.i -> 'event' AS e, x.i -> 'ticket' AS t,
               x.i -> 'approval_deadline' AS d, x.n, m.node AS owner_now, m.owner_epoch,
               COALESCE(m.node = of_node, left(x.i -> 'ticket' ->> 'id', 6) = of_node) AS owned
          FROM jsonb_array_elements(batch) WITH ORDINALITY AS x(i, n)
          LEFT JOIN LATERAL (SELECT * FROM master_tickets m
                              WHERE m.id = x.i -> 'ticket' ->> 'id' OFFSET 0) m ON true),
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
        RETURNING ticket_id, seq, action),
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
               < (EXCLUDED.owner_epoch, EXCLUDED.version))
    SELECT jsonb_agg(DISTINCT jsonb_build_array(t ->> 'id', owner_now, owner_epoch))
      INTO refused
      FROM items WHERE owner_now <> of_node;

    PERFORM master_stats_add(of_node, firsts, 1);
    RETURN QUERY SELECT r ->> 0, r ->> 1, (r ->> 2)::int
                   FROM jsonb_array_elements(COALESCE(refused, '[]')) r;
END
$$;
