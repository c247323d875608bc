-- SPDX-License-Identifier: Apache-2.0
-- The rules of counting an event, in one place: the node's roll-ups
-- (stats_facts, over ticket_events) and the province's roll-ups of the
-- master dataset (province-node/sql/131_master_stats.sql, over
-- master_events) both count through stats_counts(), so the figures of a
-- node and those the province holds of it cannot drift apart.  Same
-- decisions as 050_stats.sql, and one more: events copied from another
-- node with a transferred order (070_transfers.sql) are that node's, and
-- count neither here nor as the unit holding the order, as in the node's
-- daily report; the master dataset holds them as the other node's.

-- The counters of one event: 'on_time' for a completion approved at or
-- before the deadline in force then; 'rating' the detail of a rating and
-- 'replaced' that of the rating it replaces (both NULL for other events),
-- so a second rating takes the first back (-1) where it counts the new one.
CREATE FUNCTION stats_counts(action text, reason text, on_time boolean, rating jsonb,
                             replaced jsonb)
    RETURNS TABLE (received int, answered int, dispatched int,
                   rejected_outside_jurisdiction int, rejected_other_legal_channel int,
                   rejected_petition_channel int, rejected_secret_or_privacy int,
                   rejected_abusive_or_empty int, rejected_repeat int, rejected_other int,
                   completed int, completed_on_time int, overdue int,
                   returns_requested int, returns_approved int, returns_refused int,
                   extensions_requested int, extensions_approved int, extensions_refused int,
                   redo_requested int, redo_approved int, supervised int,
                   intake_very_satisfied int, intake_satisfied int,
                   intake_basically_satisfied int, intake_dissatisfied int,
                   intake_very_dissatisfied int,
                   handling_very_satisfied int, handling_satisfied int,
                   handling_basically_satisfied int, handling_dissatisfied int,
                   handling_very_dissatisfied int)
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT (action = 'register')::int,
       (action = 'answer')::int,
       (action = 'dispatch')::int,
       (action = 'reject' AND reason = 'outside_jurisdiction')::int,
       (action = 'reject' AND reason = 'other_legal_channel')::int,
       (action = 'reject' AND reason = 'petition_channel')::int,
       (action = 'reject' AND reason = 'secret_or_privacy')::int,
       (action = 'reject' AND reason = 'abusive_or_empty')::int,
       (action = 'reject' AND reason = 'repeat')::int,
       (action = 'reject'
        AND COALESCE(reason, '') NOT IN ('outside_jurisdiction', 'other_legal_channel',
                                         'petition_channel', 'secret_or_privacy',
                                         'abusive_or_empty', 'repeat'))::int,
       (action = 'completion/review:approve')::int,
       (action = 'completion/review:approve' AND COALESCE(on_time, false))::int,
       (action = 'overdue')::int,
       (action = 'return')::int,
       (action = 'return/review:approve')::int,
       (action = 'return/review:refuse')::int,
       (action = 'extension')::int,
       (action = 'extension/review:approve')::int,
       (action = 'extension/review:refuse')::int,
       (action = 'redo')::int,
       (action = 'redo/review:approve')::int,
       (action = 'supervise')::int,
       (rating ->> 'intake' IS NOT DISTINCT FROM 'very_satisfied')::int
           - (replaced ->> 'intake' IS NOT DISTINCT FROM 'very_satisfied')::int,
       (rating ->> 'intake' IS NOT DISTINCT FROM 'satisfied')::int
           - (replaced ->> 'intake' IS NOT DISTINCT FROM 'satisfied')::int,
       (rating ->> 'intake' IS NOT DISTINCT FROM 'basically_satisfied')::int
           - (replaced ->> 'intake' IS NOT DISTINCT FROM 'basically_satisfied')::int,
       (rating ->> 'intake' IS NOT DISTINCT FROM 'dissatisfied')::int
           - (replaced ->> 'intake' IS NOT DISTINCT FROM 'dissatisfied')::int,
       (rating ->> 'intake' IS NOT DISTINCT FROM 'very_dissatisfied')::int
           - (replaced ->> 'intake' IS NOT DISTINCT FROM 'very_dissatisfied')::int,
       (rating ->> 'handling' IS NOT DISTINCT FROM 'very_satisfied')::int
           - (replaced ->> 'handling' IS NOT DISTINCT FROM 'very_satisfied')::int,
       (rating ->> 'handling' IS NOT DISTINCT FROM 'satisfied')::int
           - (replaced ->> 'handling' IS NOT DISTINCT FROM 'satisfied')::int,
       (rating ->> 'handling' IS NOT DISTINCT FROM 'basically_satisfied')::int
           - (replaced ->> 'handling' IS NOT DISTINCT FROM 'basically_satisfied')::int,
       (rating ->> 'handling' IS NOT DISTINCT FROM 'dissatisfied')::int
           - (replaced ->> 'handling' IS NOT DISTINCT FROM 'dissatisfied')::int,
       (rating ->> 'handling' IS NOT DISTINCT FROM 'very_dissatisfied')::int
           - (replaced ->> 'handling' IS NOT DISTINCT FROM 'very_dissatisfied')::int
$$;

-- The actions stats_counts() counts; stats_facts() reads no other event.
CREATE FUNCTION stats_counted(action text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN action IN ('register', 'answer', 'reject', 'dispatch', 'return',
                      'return/review:approve', 'return/review:refuse', 'extension',
                      'extension/review:approve', 'extension/review:refuse',
                      'completion/review:approve', 'overdue', 'redo', 'redo/review:approve',
                      'supervise', 'rating');

-- As in 050_stats.sql, counted by stats_counts(), without copied events.
CREATE OR REPLACE FUNCTION stats_facts(lo timestamptz, hi timestamptz)
    RETURNS TABLE (unit text, kind text, channel text, category text,
                   received int, answered int, dispatched int,
                   rejected_outside_jurisdiction int, rejected_other_legal_channel int,
                   rejected_petition_channel int, rejected_secret_or_privacy int,
                   rejected_abusive_or_empty int, rejected_repeat int, rejected_other int,
                   completed int, completed_on_time int, overdue int,
                   returns_requested int, returns_approved int, returns_refused int,
                   extensions_requested int, extensions_approved int, extensions_refused int,
                   redo_requested int, redo_approved int, supervised int,
                   intake_very_satisfied int, intake_satisfied int,
                   intake_basically_satisfied int, intake_dissatisfied int,
                   intake_very_dissatisfied int,
                   handling_very_satisfied int, handling_satisfied int,
                   handling_basically_satisfied int, handling_dissatisfied int,
                   handling_very_dissatisfied int)
    LANGUAGE sql STABLE AS $$
WITH ev AS MATERIALIZED (  -- each subquery once per event, not once per use
    SELECT e.ticket_id, e.seq, e.at, e.action, e.reason,
           CASE WHEN e.action = 'dispatch' THEN e.detail::jsonb ->> 'unit'
                WHEN e.action IN ('register', 'answer', 'reject') THEN ''
                ELSE (SELECT p.detail::jsonb ->> 'unit' FROM ticket_events p
                       WHERE p.ticket_id = e.ticket_id AND p.seq < e.seq AND NOT p.copied
                         AND p.action IN ('dispatch', 'return/review:approve')
                       ORDER BY p.seq DESC LIMIT 1) END AS unit,
           CASE WHEN e.action = 'completion/review:approve' THEN
                (SELECT c.deadline FROM stats_completions c
                  WHERE c.ticket_id = e.ticket_id AND c.seq = e.seq) END AS deadline,
           CASE WHEN e.action = 'rating' THEN e.detail::jsonb END AS rating,
           CASE WHEN e.action = 'rating' THEN
                (SELECT p.detail::jsonb FROM ticket_events p
                  WHERE p.ticket_id = e.ticket_id AND p.seq < e.seq AND p.action = 'rating'
                    AND NOT p.copied
                  ORDER BY p.seq DESC LIMIT 1) END AS replaced
      FROM ticket_events e
     WHERE e.at >= lo AND e.at < hi AND stats_counted(e.action) AND NOT e.copied
)
SELECT COALESCE(ev.unit, ''), t.kind, t.channel, t.category, c.*
  FROM ev
  JOIN tickets t ON t.id = ev.ticket_id
  CROSS JOIN LATERAL stats_counts(ev.action, ev.reason, ev.at <= ev.deadline, ev.rating,
                                  ev.replaced) c
$$;
