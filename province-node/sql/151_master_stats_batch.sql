-- SPDX-License-Identifier: Apache-2.0
-- The roll-up work of a batch (131_master_stats.sql) in proportion to the
-- batch: the events of the batch's tickets are found through each
-- ticket's index first, and only they are counted.  Joined as before, the
-- planner could read every event of the node and work out the unit and
-- the ratings of each before keeping those of the batch, so that a batch
-- cost more the more the node had sent: on a node's stream catching up,
-- above all while new monthly partitions have no statistics yet, applying
-- came down to a few hundred changes a second (tests/bench/sync_bench.py).

CREATE OR REPLACE FUNCTION master_stats_add(of_node text, firsts jsonb, sign integer) RETURNS void
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
  -- OFFSET 0 keeps the subquery as it is: a scan of the ticket's index.
  CROSS JOIN LATERAL (SELECT * FROM master_events e
                       WHERE e.ticket_id = f.key AND e.seq >= f.value::int AND e.node = of_node
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
           s.handling_very_dissatisfied + EXCLUDED.handling_very_dissatisfied
$$;
