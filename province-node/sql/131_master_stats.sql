-- SPDX-License-Identifier: Apache-2.0
-- Statistics of the master dataset (Art 19): the figures of a node's own
-- GET /api/v1/stats, for every node, from daily roll-ups like the node's
-- (common/sql/050_stats.sql), so a year costs what a month does.
--
-- Each event is counted as its node counts it (stats_counts, 071): on the
-- day of its `at`, under the unit holding the order then as that node's
-- events show it, a completion on time against the deadline in force when
-- it was approved (which the node sends with the approval), a second rating
-- taking the first back.  So the figures of a node here equal its own.
--
-- The roll-ups change in the transaction that applies a batch of a node's
-- ticket stream (province-node/master.c), so they are exact at every commit
-- and never wait for a timer.  What an event counts depends only on the
-- earlier events of its ticket at its node; so for every ticket of a batch
-- the events from its first seq in the batch on are taken out before the
-- batch is applied and counted again after.  Usually there are none before
-- and only the new ones after; when a node's resync brings events older
-- than some already held, those later events are counted anew as well.

-- The deadline in force when a completion was approved, as the node sent it.
CREATE TABLE master_completions (
    ticket_id text NOT NULL,
    seq       integer NOT NULL,
    deadline  timestamptz,
    PRIMARY KEY (ticket_id, seq)
);

-- stats_daily of every node: one row per node, dimension, day, value and
-- category; the rows of one node and dimension add up to its day's totals.
CREATE TABLE master_stats_daily (
    node text NOT NULL,
    LIKE stats_daily INCLUDING CONSTRAINTS,
    PRIMARY KEY (dim, day, node, value, category)
);

-- What counting one event of the master dataset takes besides the event:
-- its day, the unit holding the order, its ticket's dimensions, whether a
-- completion was approved on time, the rating and the one it replaces.  No
-- row for an event stats_counts() does not count.
CREATE FUNCTION master_stats_context(e master_events)
    RETURNS TABLE (day date, unit text, kind text, channel text, category text,
                   on_time boolean, rating jsonb, replaced jsonb)
    LANGUAGE sql STABLE AS $$
SELECT stats_day_of(e.at),
       COALESCE(CASE WHEN e.action = 'dispatch' THEN (e.data ->> 'detail')::jsonb ->> 'unit'
                     WHEN e.action IN ('register', 'answer', 'reject') THEN ''
                     ELSE (SELECT (p.data ->> 'detail')::jsonb ->> 'unit' FROM master_events p
                            WHERE p.ticket_id = e.ticket_id AND p.node = e.node AND p.seq < e.seq
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
                AND p.action = 'rating'
              ORDER BY p.seq DESC LIMIT 1) END
  FROM master_tickets t
 WHERE t.id = e.ticket_id AND stats_counted(e.action)
$$;

-- The first seq of each ticket in a batch of a node's ticket stream, as
-- {"ticket id": seq}.
CREATE FUNCTION master_stats_firsts(batch jsonb) RETURNS jsonb
    LANGUAGE sql IMMUTABLE AS $$
SELECT COALESCE(jsonb_object_agg(id, seq), '{}')
  FROM (SELECT i -> 'event' ->> 'ticket_id' AS id, min((i -> 'event' ->> 'seq')::int) AS seq
          FROM jsonb_array_elements(batch) i
         WHERE i ? 'event'
         GROUP BY 1) x
$$;

-- Adds 'sign' (1 or -1) times what the events of 'of_node' count to the
-- roll-ups: of each ticket of 'firsts' ({"ticket id": seq}), its events
-- from that seq on.
CREATE FUNCTION master_stats_add(of_node text, firsts jsonb, sign integer) RETURNS void
    LANGUAGE sql AS $$
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
  JOIN master_events e ON e.ticket_id = f.key AND e.seq >= f.value::int AND e.node = of_node
  CROSS JOIN LATERAL master_stats_context(e) x
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
           s.handling_very_dissatisfied + EXCLUDED.handling_very_dissatisfied
$$;

-- stats_sum() of the master dataset, of one node or ('of_node' NULL) of
-- all, also by 'node'; grouped by unit, a row per node and unit.  The last
-- column is the node of the row when grouped by node or unit.
CREATE FUNCTION master_stats_sum(lo date, hi date, group_by text, excluded text[], of_node text)
    RETURNS TABLE (grp text, received bigint, answered bigint, dispatched bigint,
                   rejected_outside_jurisdiction bigint, rejected_other_legal_channel bigint,
                   rejected_petition_channel bigint, rejected_secret_or_privacy bigint,
                   rejected_abusive_or_empty bigint, rejected_repeat bigint,
                   rejected_other bigint, completed bigint, completed_on_time bigint,
                   overdue bigint, returns_requested bigint, returns_approved bigint,
                   returns_refused bigint, extensions_requested bigint,
                   extensions_approved bigint, extensions_refused bigint,
                   redo_requested bigint, redo_approved bigint, supervised bigint,
                   intake_very_satisfied bigint, intake_satisfied bigint,
                   intake_basically_satisfied bigint, intake_dissatisfied bigint,
                   intake_very_dissatisfied bigint,
                   handling_very_satisfied bigint, handling_satisfied bigint,
                   handling_basically_satisfied bigint, handling_dissatisfied bigint,
                   handling_very_dissatisfied bigint,
                   intake_rated_counted bigint, intake_satisfied_counted bigint,
                   handling_rated_counted bigint, handling_satisfied_counted bigint,
                   node text)
    LANGUAGE sql STABLE AS $$
SELECT CASE group_by WHEN 'day' THEN s.day::text WHEN 'category' THEN s.category
                     WHEN 'node' THEN s.node WHEN 'unit' THEN s.value WHEN 'kind' THEN s.value
                     WHEN 'channel' THEN s.value ELSE '' END,
       sum(s.received), sum(s.answered), sum(s.dispatched),
       sum(s.rejected_outside_jurisdiction), sum(s.rejected_other_legal_channel),
       sum(s.rejected_petition_channel), sum(s.rejected_secret_or_privacy),
       sum(s.rejected_abusive_or_empty), sum(s.rejected_repeat), sum(s.rejected_other),
       sum(s.completed), sum(s.completed_on_time), sum(s.overdue),
       sum(s.returns_requested), sum(s.returns_approved), sum(s.returns_refused),
       sum(s.extensions_requested), sum(s.extensions_approved), sum(s.extensions_refused),
       sum(s.redo_requested), sum(s.redo_approved), sum(s.supervised),
       sum(s.intake_very_satisfied), sum(s.intake_satisfied),
       sum(s.intake_basically_satisfied), sum(s.intake_dissatisfied),
       sum(s.intake_very_dissatisfied),
       sum(s.handling_very_satisfied), sum(s.handling_satisfied),
       sum(s.handling_basically_satisfied), sum(s.handling_dissatisfied),
       sum(s.handling_very_dissatisfied),
       COALESCE(sum(s.intake_very_satisfied + s.intake_satisfied + s.intake_basically_satisfied
                    + s.intake_dissatisfied + s.intake_very_dissatisfied)
                FILTER (WHERE s.category <> ALL (excluded)), 0),
       COALESCE(sum(s.intake_very_satisfied + s.intake_satisfied)
                FILTER (WHERE s.category <> ALL (excluded)), 0),
       COALESCE(sum(s.handling_very_satisfied + s.handling_satisfied
                    + s.handling_basically_satisfied + s.handling_dissatisfied
                    + s.handling_very_dissatisfied)
                FILTER (WHERE s.category <> ALL (excluded)), 0),
       COALESCE(sum(s.handling_very_satisfied + s.handling_satisfied)
                FILTER (WHERE s.category <> ALL (excluded)), 0),
       CASE WHEN group_by IN ('node', 'unit') THEN s.node END
  FROM master_stats_daily s
 WHERE s.dim = CASE WHEN group_by IN ('unit', 'channel') THEN group_by ELSE 'kind' END
   AND s.day BETWEEN lo AND hi
   AND (of_node IS NULL OR s.node = of_node)
 GROUP BY 1, 38
 ORDER BY 38, 1
$$;

-- What the master dataset held before this migration.  An approval's
-- deadline is its ticket's now, unless a redo came after.
INSERT INTO master_completions (ticket_id, seq, deadline)
SELECT e.ticket_id, e.seq, t.deadline
  FROM master_events e JOIN master_tickets t ON t.id = e.ticket_id
 WHERE e.action = 'completion/review:approve';

SELECT master_stats_add(node, jsonb_object_agg(id, 1), 1) FROM master_tickets GROUP BY node;
