-- SPDX-License-Identifier: Apache-2.0
-- Statistics and unit assessment (Art 16, Art 17): daily roll-ups of the
-- work-order events, so that the figures of a month or a year are sums over
-- a few thousand rows instead of a scan of every ticket and event.
--
-- Every counter belongs to one event and to the day (Beijing time) of its
-- `at`: a roll-up of day D is computed from D's events only (the index on
-- ticket_events(at)), deleted and inserted again in one transaction, so a
-- refresh can run any number of times.  The clock thread keeps them
-- (common/statsdb.c): it refreshes the days not yet final when their events
-- changed (today, and yesterday until just after midnight), every day never
-- rolled up since the first event, and any day marked dirty by a late write
-- (stats_stale_days).  The figures of a day depend only on events, which
-- are append-only, and on what tickets never change (kind, channel,
-- category), so once a day is over its figures are final.
--
-- Decisions, each in one place below:
--   - the unit of an event is the unit holding the order when it happened:
--     the unit of the latest dispatch or approved return before it (for an
--     approved return, the unit that returned it), the dispatched unit for
--     a dispatch, none ('') for registration, answer and rejection;
--   - a completion is on time when its approval is at or before the
--     deadline in force then, which stats_completions keeps;
--   - a rating counts on the day it is given; a second rating (after a
--     redo, Art 15) also takes back the first on its own day, so any period
--     that holds both counts the second only, and no past day changes.

CREATE INDEX ticket_events_by_at ON ticket_events (at);

-- Beijing time (UTC+8, no daylight saving): the day of an instant, and the
-- instant a day starts.
CREATE FUNCTION stats_day_of(at timestamptz) RETURNS date
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN ((at AT TIME ZONE 'UTC') + interval '8 hours')::date;

CREATE FUNCTION stats_day_start(day date) RETURNS timestamptz
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN (day::timestamp - interval '8 hours') AT TIME ZONE 'UTC';

-- The deadline in force when a completion was approved: a redo later sets a
-- new one on the ticket, so it is kept here, written by the trigger below
-- in the transaction of the approval.
CREATE TABLE stats_completions (
    ticket_id text NOT NULL,
    seq       integer NOT NULL,
    deadline  timestamptz,
    PRIMARY KEY (ticket_id, seq)
);

-- Which days are rolled up: the events the roll-up counted, when (the
-- node's clock), and whether an event arrived later for a day already
-- rolled up.
CREATE TABLE stats_days (
    day          date PRIMARY KEY,
    events       bigint NOT NULL,
    refreshed_at timestamptz NOT NULL,
    dirty        boolean NOT NULL DEFAULT false
);

-- One row per day, dimension value and category: the dimension is 'unit'
-- (value '' for events of no unit), 'kind' or 'channel'; every event is in
-- exactly one row of each dimension, so the rows of one dimension add up to
-- the day's totals.  The category is in every row because the satisfaction
-- rate leaves some categories out (a node's setting, applied when reading).
-- Rating levels can be negative on a day when a second rating replaced a
-- first one given on an earlier day.
CREATE TABLE stats_daily (
    dim      text NOT NULL CHECK (dim IN ('unit', 'kind', 'channel')),
    day      date NOT NULL,
    value    text NOT NULL,
    category text NOT NULL,
    received                      integer NOT NULL,
    answered                      integer NOT NULL,
    dispatched                    integer NOT NULL,
    rejected_outside_jurisdiction integer NOT NULL,
    rejected_other_legal_channel  integer NOT NULL,
    rejected_petition_channel     integer NOT NULL,
    rejected_secret_or_privacy    integer NOT NULL,
    rejected_abusive_or_empty     integer NOT NULL,
    rejected_repeat               integer NOT NULL,
    rejected_other                integer NOT NULL,
    completed                     integer NOT NULL,
    completed_on_time             integer NOT NULL,
    overdue                       integer NOT NULL,
    returns_requested             integer NOT NULL,
    returns_approved              integer NOT NULL,
    returns_refused               integer NOT NULL,
    extensions_requested          integer NOT NULL,
    extensions_approved           integer NOT NULL,
    extensions_refused            integer NOT NULL,
    redo_requested                integer NOT NULL,
    redo_approved                 integer NOT NULL,
    supervised                    integer NOT NULL,
    intake_very_satisfied         integer NOT NULL,
    intake_satisfied              integer NOT NULL,
    intake_basically_satisfied    integer NOT NULL,
    intake_dissatisfied           integer NOT NULL,
    intake_very_dissatisfied      integer NOT NULL,
    handling_very_satisfied       integer NOT NULL,
    handling_satisfied            integer NOT NULL,
    handling_basically_satisfied  integer NOT NULL,
    handling_dissatisfied         integer NOT NULL,
    handling_very_dissatisfied    integer NOT NULL,
    PRIMARY KEY (dim, day, value, category)
);

-- Keeps the deadline of each approval, and marks a day dirty when an event
-- arrives for it after its roll-up was made (a transaction that committed
-- late, a clock set back).
CREATE FUNCTION stats_event_recorded() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.action = 'completion/review:approve' THEN
        INSERT INTO stats_completions (ticket_id, seq, deadline)
        SELECT NEW.ticket_id, NEW.seq, t.deadline FROM tickets t WHERE t.id = NEW.ticket_id;
    END IF;
    UPDATE stats_days SET dirty = true
     WHERE day = stats_day_of(NEW.at) AND refreshed_at > NEW.at AND NOT dirty;
    RETURN NULL;
END
$$;

CREATE TRIGGER stats_events AFTER INSERT ON ticket_events
    FOR EACH ROW EXECUTE FUNCTION stats_event_recorded();

-- Approvals made before this migration: the ticket's deadline now is the
-- one of its approval unless a redo came after.
INSERT INTO stats_completions (ticket_id, seq, deadline)
SELECT e.ticket_id, e.seq, t.deadline
  FROM ticket_events e JOIN tickets t ON t.id = e.ticket_id
 WHERE e.action = 'completion/review:approve';

-- One row per counted event in [lo, hi): its ticket's dimensions, the unit
-- holding the order, and a 0/1 (ratings: -1/0/1) per counter.  The roll-up
-- of a day sums it; so does the benchmark's scan over a whole period.
CREATE FUNCTION stats_facts(lo timestamptz, hi timestamptz)
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
                       WHERE p.ticket_id = e.ticket_id AND p.seq < e.seq
                         AND p.action IN ('dispatch', 'return/review:approve')
                       ORDER BY p.seq DESC LIMIT 1) END AS unit,
           CASE WHEN e.action = 'completion/review:approve' THEN
                (SELECT c.deadline FROM stats_completions c
                  WHERE c.ticket_id = e.ticket_id AND c.seq = e.seq) END AS deadline,
           CASE WHEN e.action = 'rating' THEN e.detail::jsonb END AS rating,
           CASE WHEN e.action = 'rating' THEN
                (SELECT p.detail::jsonb FROM ticket_events p
                  WHERE p.ticket_id = e.ticket_id AND p.seq < e.seq AND p.action = 'rating'
                  ORDER BY p.seq DESC LIMIT 1) END AS replaced
      FROM ticket_events e
     WHERE e.at >= lo AND e.at < hi
       AND e.action IN ('register', 'answer', 'reject', 'dispatch', 'return',
                        'return/review:approve', 'return/review:refuse', 'extension',
                        'extension/review:approve', 'extension/review:refuse',
                        'completion/review:approve', 'overdue', 'redo', 'redo/review:approve',
                        'supervise', 'rating')
)
SELECT COALESCE(ev.unit, ''), t.kind, t.channel, t.category,
       (ev.action = 'register')::int,
       (ev.action = 'answer')::int,
       (ev.action = 'dispatch')::int,
       (ev.action = 'reject' AND ev.reason = 'outside_jurisdiction')::int,
       (ev.action = 'reject' AND ev.reason = 'other_legal_channel')::int,
       (ev.action = 'reject' AND ev.reason = 'petition_channel')::int,
       (ev.action = 'reject' AND ev.reason = 'secret_or_privacy')::int,
       (ev.action = 'reject' AND ev.reason = 'abusive_or_empty')::int,
       (ev.action = 'reject' AND ev.reason = 'repeat')::int,
       (ev.action = 'reject'
        AND COALESCE(ev.reason, '') NOT IN ('outside_jurisdiction', 'other_legal_channel',
                                            'petition_channel', 'secret_or_privacy',
                                            'abusive_or_empty', 'repeat'))::int,
       (ev.action = 'completion/review:approve')::int,
       (ev.action = 'completion/review:approve' AND COALESCE(ev.at <= ev.deadline, false))::int,
       (ev.action = 'overdue')::int,
       (ev.action = 'return')::int,
       (ev.action = 'return/review:approve')::int,
       (ev.action = 'return/review:refuse')::int,
       (ev.action = 'extension')::int,
       (ev.action = 'extension/review:approve')::int,
       (ev.action = 'extension/review:refuse')::int,
       (ev.action = 'redo')::int,
       (ev.action = 'redo/review:approve')::int,
       (ev.action = 'supervise')::int,
       (ev.rating ->> 'intake' IS NOT DISTINCT FROM 'very_satisfied')::int
           - (ev.replaced ->> 'intake' IS NOT DISTINCT FROM 'very_satisfied')::int,
       (ev.rating ->> 'intake' IS NOT DISTINCT FROM 'satisfied')::int
           - (ev.replaced ->> 'intake' IS NOT DISTINCT FROM 'satisfied')::int,
       (ev.rating ->> 'intake' IS NOT DISTINCT FROM 'basically_satisfied')::int
           - (ev.replaced ->> 'intake' IS NOT DISTINCT FROM 'basically_satisfied')::int,
       (ev.rating ->> 'intake' IS NOT DISTINCT FROM 'dissatisfied')::int
           - (ev.replaced ->> 'intake' IS NOT DISTINCT FROM 'dissatisfied')::int,
       (ev.rating ->> 'intake' IS NOT DISTINCT FROM 'very_dissatisfied')::int
           - (ev.replaced ->> 'intake' IS NOT DISTINCT FROM 'very_dissatisfied')::int,
       (ev.rating ->> 'handling' IS NOT DISTINCT FROM 'very_satisfied')::int
           - (ev.replaced ->> 'handling' IS NOT DISTINCT FROM 'very_satisfied')::int,
       (ev.rating ->> 'handling' IS NOT DISTINCT FROM 'satisfied')::int
           - (ev.replaced ->> 'handling' IS NOT DISTINCT FROM 'satisfied')::int,
       (ev.rating ->> 'handling' IS NOT DISTINCT FROM 'basically_satisfied')::int
           - (ev.replaced ->> 'handling' IS NOT DISTINCT FROM 'basically_satisfied')::int,
       (ev.rating ->> 'handling' IS NOT DISTINCT FROM 'dissatisfied')::int
           - (ev.replaced ->> 'handling' IS NOT DISTINCT FROM 'dissatisfied')::int,
       (ev.rating ->> 'handling' IS NOT DISTINCT FROM 'very_dissatisfied')::int
           - (ev.replaced ->> 'handling' IS NOT DISTINCT FROM 'very_dissatisfied')::int
  FROM ev
  JOIN tickets t ON t.id = ev.ticket_id
$$;

-- Rolls day 'd' up again from its events, as of 'as_of' (the node's clock).
-- Returns the number of events the day had.
CREATE FUNCTION stats_refresh_day(d date, as_of timestamptz) RETURNS bigint
    LANGUAGE plpgsql AS $$
DECLARE
    lo timestamptz := stats_day_start(d);
    hi timestamptz := stats_day_start(d + 1);
    n bigint;
BEGIN
    -- Counted first: in READ COMMITTED an event committed between the two
    -- statements is then rolled up but not counted, and the day is rolled
    -- up once more, rather than counted and missed.
    SELECT count(*) INTO n FROM ticket_events WHERE at >= lo AND at < hi;
    DELETE FROM stats_daily WHERE day = d AND dim IN ('unit', 'kind', 'channel');
    INSERT INTO stats_daily
    SELECT CASE WHEN GROUPING(f.unit) = 0 THEN 'unit'
                WHEN GROUPING(f.kind) = 0 THEN 'kind' ELSE 'channel' END,
           d,
           CASE WHEN GROUPING(f.unit) = 0 THEN f.unit
                WHEN GROUPING(f.kind) = 0 THEN f.kind ELSE f.channel END,
           f.category,
           sum(f.received), sum(f.answered), sum(f.dispatched),
           sum(f.rejected_outside_jurisdiction), sum(f.rejected_other_legal_channel),
           sum(f.rejected_petition_channel), sum(f.rejected_secret_or_privacy),
           sum(f.rejected_abusive_or_empty), sum(f.rejected_repeat), sum(f.rejected_other),
           sum(f.completed), sum(f.completed_on_time), sum(f.overdue),
           sum(f.returns_requested), sum(f.returns_approved), sum(f.returns_refused),
           sum(f.extensions_requested), sum(f.extensions_approved), sum(f.extensions_refused),
           sum(f.redo_requested), sum(f.redo_approved), sum(f.supervised),
           sum(f.intake_very_satisfied), sum(f.intake_satisfied),
           sum(f.intake_basically_satisfied), sum(f.intake_dissatisfied),
           sum(f.intake_very_dissatisfied),
           sum(f.handling_very_satisfied), sum(f.handling_satisfied),
           sum(f.handling_basically_satisfied), sum(f.handling_dissatisfied),
           sum(f.handling_very_dissatisfied)
      FROM stats_facts(lo, hi) f
     GROUP BY GROUPING SETS ((f.unit, f.category), (f.kind, f.category),
                             (f.channel, f.category));
    INSERT INTO stats_days AS s (day, events, refreshed_at, dirty) VALUES (d, n, as_of, false)
        ON CONFLICT (day) DO UPDATE SET events = n, refreshed_at = as_of, dirty = false;
    RETURN n;
END
$$;

-- The days whose roll-up is missing or out of date at 'now' (the node's
-- clock), oldest first, at most 'cap' of them.  A day is final once it was
-- rolled up 5 minutes after its end, when no transaction that began in it
-- can still be running; before that, it is rolled up again whenever its
-- events changed, and once when it is over.  So a day counts everything,
-- even when the node was stopped or its clock jumped across days.  After
-- that only a late event, which marks it dirty, brings it back.
CREATE FUNCTION stats_stale_days(now timestamptz, cap integer) RETURNS SETOF date
    LANGUAGE sql STABLE AS $$
SELECT day FROM (
    SELECT day FROM stats_days WHERE dirty
    UNION
    SELECT g::date FROM generate_series(
               (SELECT stats_day_of(min(at)) FROM ticket_events), stats_day_of(now),
               interval '1 day') g
     WHERE NOT EXISTS (SELECT 1 FROM stats_days s WHERE s.day = g::date)
    UNION
    SELECT s.day FROM stats_days s
     WHERE s.refreshed_at < stats_day_start(s.day + 1) + interval '5 minutes'
       AND (now >= stats_day_start(s.day + 1) + interval '5 minutes'
            OR s.events <> (SELECT count(*) FROM ticket_events
                             WHERE at >= stats_day_start(s.day) AND at < stats_day_start(s.day + 1)))
) stale
ORDER BY day LIMIT cap
$$;

-- The figures of the days 'lo' to 'hi' (both included), one row per value
-- of 'group_by' ('unit', 'kind', 'channel', 'category', 'day'; anything
-- else: one row of totals, group ''), from the roll-ups only.  The last
-- four columns count the ratings of the categories not in 'excluded', for
-- the satisfaction rates.
CREATE FUNCTION stats_sum(lo date, hi date, group_by text, excluded text[])
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
                   handling_rated_counted bigint, handling_satisfied_counted bigint)
    LANGUAGE sql STABLE AS $$
SELECT CASE group_by WHEN 'day' THEN s.day::text WHEN 'category' THEN s.category
                     WHEN 'unit' THEN s.value WHEN 'kind' THEN s.value
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
                FILTER (WHERE s.category <> ALL (excluded)), 0)
  FROM stats_daily s
 WHERE s.dim = CASE WHEN group_by IN ('unit', 'channel') THEN group_by ELSE 'kind' END
   AND s.day BETWEEN lo AND hi
 GROUP BY 1
 ORDER BY 1
$$;
