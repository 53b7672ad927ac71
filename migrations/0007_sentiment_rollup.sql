-- The sentiment trend's rollup: per agent and UTC hour, the analysed calls that ended in it and
-- the sum of their caller sentiment. The dashboard's trend reads only this table (a few
-- thousand rows for a week), whatever the number of calls.
--
-- Kept exact by triggers, in the same transaction as the write that changes it:
--   * "Analytics": an insert adds the call, a re-analysis moves the sentiment's delta, a delete
--     takes the call out;
--   * "Call" (a table the voice bridge owns): a changed "agentId" or "endedAt" moves the call
--     between buckets, and a deleted call takes its contribution out before the cascade deletes
--     its "Analytics" row (whose own trigger then finds no call and does nothing).
-- Hourly buckets let the trend group by day in any time zone whose offset is whole hours.
-- A call without an agent is counted under '' (the seed's GROUP BY shows it as NULL). Calls
-- without "endedAt" are not counted until they have one. Sums are numeric, so adding and taking
-- out the same sentiments leaves no rounding residue. TRUNCATE fires no row trigger: after one,
-- run `postcall rollup rebuild`.
CREATE TABLE IF NOT EXISTS "SentimentRollup" (
    "agentId"      text NOT NULL,
    hour           timestamptz NOT NULL,
    calls          bigint NOT NULL,
    "sentimentSum" numeric NOT NULL,
    PRIMARY KEY (hour, "agentId")
);

-- Adds (sign 1) or takes out (sign -1) one call's sentiment; a bucket left empty is deleted.
-- The functions run as their owner (the migrator: SECURITY DEFINER), so neither postcall's
-- writer nor the voice bridge's user needs a grant on the rollup, and with search_path pinned
-- to the migration's schema a writer with another search_path still updates this schema's.
CREATE OR REPLACE FUNCTION postcall_rollup_apply(
    agent text, ended timestamptz, sentiment double precision, sign integer
) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    bucket timestamptz;
BEGIN
    IF ended IS NULL OR sentiment IS NULL THEN
        RETURN;
    END IF;
    bucket := date_trunc('hour', ended AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
    INSERT INTO "SentimentRollup" AS r ("agentId", hour, calls, "sentimentSum")
    VALUES (coalesce(agent, ''), bucket, sign, sign * sentiment::numeric)
    ON CONFLICT (hour, "agentId") DO UPDATE
        SET calls = r.calls + EXCLUDED.calls,
            "sentimentSum" = r."sentimentSum" + EXCLUDED."sentimentSum";
    IF sign < 0 THEN
        DELETE FROM "SentimentRollup"
        WHERE hour = bucket AND "agentId" = coalesce(agent, '') AND calls = 0;
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION postcall_rollup_on_analytics() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    call record;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        SELECT c."agentId"::text AS agent, c."endedAt"::timestamptz AS ended INTO call
        FROM "Call" c WHERE c.id = OLD."callId";
        IF FOUND THEN
            PERFORM postcall_rollup_apply(call.agent, call.ended, OLD.sentiment, -1);
        END IF;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        SELECT c."agentId"::text AS agent, c."endedAt"::timestamptz AS ended INTO call
        FROM "Call" c WHERE c.id = NEW."callId";
        IF FOUND THEN
            PERFORM postcall_rollup_apply(call.agent, call.ended, NEW.sentiment, 1);
        END IF;
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION postcall_rollup_on_call() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    analysed double precision;
BEGIN
    SELECT a.sentiment INTO analysed FROM "Analytics" a WHERE a."callId" = OLD.id;
    IF NOT FOUND THEN
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    END IF;
    PERFORM postcall_rollup_apply(OLD."agentId"::text, OLD."endedAt"::timestamptz, analysed, -1);
    IF TG_OP = 'UPDATE' THEN
        PERFORM postcall_rollup_apply(NEW."agentId"::text, NEW."endedAt"::timestamptz, analysed, 1);
        RETURN NEW;
    END IF;
    RETURN OLD;
END
$$;

DROP TRIGGER IF EXISTS postcall_rollup_insert_delete ON "Analytics";
CREATE TRIGGER postcall_rollup_insert_delete
    AFTER INSERT OR DELETE ON "Analytics"
    FOR EACH ROW EXECUTE FUNCTION postcall_rollup_on_analytics();
-- A re-analysis that leaves the sentiment as it was (most of them) costs nothing.
DROP TRIGGER IF EXISTS postcall_rollup_update ON "Analytics";
CREATE TRIGGER postcall_rollup_update
    AFTER UPDATE OF sentiment, "callId" ON "Analytics"
    FOR EACH ROW
    WHEN (OLD.sentiment IS DISTINCT FROM NEW.sentiment OR OLD."callId" IS DISTINCT FROM NEW."callId")
    EXECUTE FUNCTION postcall_rollup_on_analytics();
DROP TRIGGER IF EXISTS postcall_rollup_call_update ON "Call";
CREATE TRIGGER postcall_rollup_call_update
    AFTER UPDATE OF "agentId", "endedAt" ON "Call"
    FOR EACH ROW
    WHEN (OLD."agentId" IS DISTINCT FROM NEW."agentId" OR OLD."endedAt" IS DISTINCT FROM NEW."endedAt")
    EXECUTE FUNCTION postcall_rollup_on_call();
-- BEFORE: the foreign key's cascade (an AFTER trigger that fires first) would have deleted
-- the "Analytics" row by the time an AFTER trigger here ran.
DROP TRIGGER IF EXISTS postcall_rollup_call_delete ON "Call";
CREATE TRIGGER postcall_rollup_call_delete
    BEFORE DELETE ON "Call"
    FOR EACH ROW EXECUTE FUNCTION postcall_rollup_on_call();

-- Recomputes the rollup from "Analytics" and "Call" (`postcall rollup rebuild` calls it; the
-- migration runs it once for what is already there). The lock holds writers' triggers until the
-- rebuild commits; they then apply their deltas to the rebuilt rows, so nothing is counted
-- twice or missed. Returns the number of buckets.
CREATE OR REPLACE FUNCTION postcall_rollup_rebuild() RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    buckets bigint;
BEGIN
    LOCK TABLE "SentimentRollup" IN SHARE ROW EXCLUSIVE MODE;
    DELETE FROM "SentimentRollup";
    INSERT INTO "SentimentRollup" ("agentId", hour, calls, "sentimentSum")
    SELECT coalesce(c."agentId"::text, ''),
           date_trunc('hour', c."endedAt"::timestamptz AT TIME ZONE 'UTC') AT TIME ZONE 'UTC',
           count(*), sum(a.sentiment::numeric)
    FROM "Analytics" a JOIN "Call" c ON c.id = a."callId"
    WHERE c."endedAt" IS NOT NULL
    GROUP BY 1, 2;
    GET DIAGNOSTICS buckets = ROW_COUNT;
    RETURN buckets;
END
$$;

SELECT postcall_rollup_rebuild();
