-- SPDX-License-Identifier: Apache-2.0
-- What each HTTP worker keeps of the database between requests (fresh.h):
-- the principals of the tokens it has seen, the active caller
-- restrictions, the emergency list and the calendar.  Each kind has a
-- version here, moved by trigger in the transaction that changes its
-- table: a worker that kept copies sends, with the first statement of its
-- next request, the versions it knows (cache_versions_check), and that
-- statement fails, and with it the request's work, if one moved.
CREATE TABLE cache_versions (
    singleton    boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    calendar     bigint NOT NULL,
    emergency    bigint NOT NULL,
    principals   bigint NOT NULL,
    restrictions bigint NOT NULL
);
INSERT INTO cache_versions (calendar, emergency, principals, restrictions)
    VALUES ((SELECT version FROM calendar_version), 1, 1, 1);

CREATE FUNCTION cache_versions_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE cache_versions
       SET emergency = emergency + (TG_ARGV[0] = 'emergency')::int,
           principals = principals + (TG_ARGV[0] = 'principals')::int,
           restrictions = restrictions + (TG_ARGV[0] = 'restrictions')::int;
    RETURN NULL;
END $$;

CREATE TRIGGER principals_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON principals
    FOR EACH STATEMENT EXECUTE FUNCTION cache_versions_bump('principals');
CREATE TRIGGER restrictions_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON restrictions
    FOR EACH STATEMENT EXECUTE FUNCTION cache_versions_bump('restrictions');
CREATE TRIGGER emergency_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON emergency_rules
    FOR EACH STATEMENT EXECUTE FUNCTION cache_versions_bump('emergency');

-- The calendar keeps its own number (calendar_version, moved by every
-- change of calendar_days); the copy here follows it.
CREATE FUNCTION cache_versions_calendar() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE cache_versions SET calendar = NEW.version;
    RETURN NULL;
END $$;
CREATE TRIGGER calendar_changed AFTER UPDATE ON calendar_version
    FOR EACH ROW EXECUTE FUNCTION cache_versions_calendar();

-- Fails with SQLSTATE HC001 unless 'known' holds the versions of the
-- calendar, the emergency list, the principals and the restrictions.
CREATE FUNCTION cache_versions_check(known bigint[]) RETURNS void LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF NOT EXISTS (SELECT FROM cache_versions
                    WHERE ARRAY[calendar, emergency, principals, restrictions] = known) THEN
        RAISE EXCEPTION 'a copy kept by the worker is out of date' USING ERRCODE = 'HC001';
    END IF;
END $$;
