-- SPDX-License-Identifier: Apache-2.0
-- A node whose database was restored from a backup takes back what it did
-- after the backup from the province's master dataset (`city-node recover`,
-- city-node/recover.c): one ticket of `province-node node-export` at a
-- time, in the transaction of the whole recovery.
--
-- 'item' is {"ticket": <the master dataset's row>, "events": [<every
-- event the master dataset holds of it, with "copied" set for those
-- another node wrote and "approval_deadline" for an approval>]}.  What
-- the master dataset never holds stays as the backup had it: personal
-- data (a ticket the backup lacks gets 'sealed', an empty record, and no
-- address), the outcome; the pending request is made again from the event
-- that made it.  Answers:
--   'clash'   this node's chain parts from the master dataset's, or it
--             changed a ticket another node owns now: changes made here
--             after the restore, which the province never took;
--   'added'   a ticket the backup lacked; 'changed'; 'same'; 'ahead'
--             (this node holds more of it than the province: it goes up).
CREATE FUNCTION recover_ticket(item jsonb, own text, sealed bytea, key_id text)
    RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    t jsonb := item -> 'ticket';
    tid text := item -> 'ticket' ->> 'id';
    ours boolean := item -> 'ticket' ->> 'owner_node' = own;
    mine tickets;
    head jsonb;
    fields jsonb;
    cols text;
    numbered date;
BEGIN
    IF EXISTS (SELECT 1 FROM jsonb_array_elements(item -> 'events') e
                 JOIN ticket_events l ON l.ticket_id = tid AND l.seq = (e ->> 'seq')::int
                WHERE l.hash <> e ->> 'hash') THEN
        RETURN 'clash';
    END IF;
    SELECT * INTO mine FROM tickets WHERE id = tid FOR UPDATE;
    IF mine.id IS NOT NULL AND mine.event_seq > (t ->> 'event_seq')::int THEN
        RETURN CASE WHEN ours THEN 'ahead' ELSE 'clash' END;
    END IF;

    -- The request awaiting a manager, from the event that made it.
    SELECT e INTO head FROM jsonb_array_elements(item -> 'events') e
     WHERE (e ->> 'seq')::int = (t ->> 'event_seq')::int;
    fields := t || jsonb_build_object('pending', CASE t ->> 'status'
        WHEN 'return_requested' THEN jsonb_build_object('request', 'return', 'body',
            jsonb_build_object('reason', head ->> 'reason',
                               'basis', (head ->> 'detail')::jsonb ->> 'basis'))::text
        WHEN 'extension_requested' THEN jsonb_build_object('request', 'extension', 'body',
            jsonb_build_object('reason', head ->> 'reason'))::text
        WHEN 'completion_requested' THEN jsonb_build_object('request', 'completion', 'body',
            (head ->> 'detail')::jsonb)::text END);
    IF NOT ours THEN
        -- A copy: the owner's word on who holds it, nothing of its units.
        fields := jsonb_build_object('owner_node', t ->> 'owner_node',
                                     'owner_epoch', t -> 'owner_epoch',
                                     'status', 'transferred', 'handed_at', NULL,
                                     'transfer_final', false, 'progress_sent', true,
                                     'event_seq', t -> 'event_seq',
                                     'event_hash', t -> 'event_hash');
        IF mine.id IS NULL THEN
            fields := t || fields || jsonb_build_object('unit_code', NULL, 'pending', NULL);
        END IF;
    ELSIF t ->> 'unit_code' IS NOT NULL THEN
        -- A unit made after the backup comes back under the name it had.
        INSERT INTO units (code, name, node, categories, created_at)
        VALUES (t ->> 'unit_code', COALESCE(t ->> 'unit_name', t ->> 'unit_code'), own,
                ARRAY[t ->> 'category'], (t ->> 'updated_at')::timestamptz)
            ON CONFLICT (code) DO NOTHING;
    END IF;

    IF mine.id IS NULL THEN
        -- In FROM, so that the record is made once, not once per column.
        INSERT INTO tickets
        SELECT r.* FROM jsonb_populate_record(NULL::tickets,
                    jsonb_build_object('address', '', 'content_grams', '{}',
                                       'transfer_final', false, 'progress_sent', true,
                                       'citizen_pii', '\x' || encode(sealed, 'hex'),
                                       'pii_key_id', key_id) || fields) r;
    ELSIF (mine.owner_epoch, mine.version) < ((t ->> 'owner_epoch')::int, (t ->> 'version')::int)
          OR mine.event_seq < (t ->> 'event_seq')::int THEN
        SELECT string_agg(quote_ident(a.attname), ', ') INTO cols
          FROM pg_attribute a
         WHERE a.attrelid = 'tickets'::regclass AND a.attnum > 0 AND NOT a.attisdropped
           AND fields ? a.attname AND a.attname <> 'id';
        EXECUTE format('UPDATE tickets SET (%1$s) = (SELECT %1$s FROM'
                       ' jsonb_populate_record(NULL::tickets, $1)) WHERE id = $2', cols)
          USING fields, tid;
    ELSE
        RETURN 'same';
    END IF;

    INSERT INTO ticket_events
    SELECT r.* FROM jsonb_array_elements(item -> 'events') e,
                    LATERAL jsonb_populate_record(NULL::ticket_events, e) r
        ON CONFLICT DO NOTHING;
    -- The deadline each approval was judged by, as the node kept it (the
    -- trigger of 050_stats.sql took the ticket's of now).
    UPDATE stats_completions c SET deadline = (e ->> 'approval_deadline')::timestamptz
      FROM jsonb_array_elements(item -> 'events') e
     WHERE c.ticket_id = tid AND c.seq = (e ->> 'seq')::int
       AND e ->> 'approval_deadline' IS NOT NULL;

    -- Ticket numbers given after the backup are not given again: the
    -- day's counter moves on past this number of it.
    IF left(tid, 6) = own THEN
        numbered := to_date(substr(tid, 8, 8), 'YYYYMMDD');
        INSERT INTO ticket_numbers AS counter VALUES (numbered, substr(tid, 17)::int)
            ON CONFLICT (day) DO UPDATE SET last_seq = greatest(counter.last_seq, EXCLUDED.last_seq);
    END IF;
    RETURN CASE WHEN mine.id IS NULL THEN 'added' ELSE 'changed' END;
END
$$;
