-- Top leads at scale. The dashboard's top leads orders by score, then the later call: with the
-- call's end time only in "Call", the planner walks "Analytics" by score and looks up every call
-- of the top score, in the window or not, then sorts those in it (7.8 ms at 1 M calls, ten
-- times that at 10 M). A copy of the end time on the analytics row, kept by triggers, and one
-- index in the query's order let it read the first 20 rows of the window and stop.
--
-- "callEndedAt" is set from "Call" when a row is inserted (or moved to another call, or
-- updated without one), and
-- follows "Call"."endedAt" when the voice bridge changes it. Both functions run as their owner
-- (the migrator), like the sentiment rollup's (migration 0007).
--
-- Filling the column rewrites every analytics row once and the index is built in the
-- migration's transaction: on a large table, writes to "Analytics" wait for both (run it in a
-- quiet hour).
ALTER TABLE "Analytics" ADD COLUMN IF NOT EXISTS "callEndedAt" timestamptz;

CREATE OR REPLACE FUNCTION postcall_copy_call_ended_at() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    NEW."callEndedAt" := (SELECT c."endedAt"::timestamptz FROM "Call" c WHERE c.id = NEW."callId");
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION postcall_follow_call_ended_at() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    UPDATE "Analytics" SET "callEndedAt" = NEW."endedAt"::timestamptz
    WHERE "callId" = NEW.id AND "callEndedAt" IS DISTINCT FROM NEW."endedAt"::timestamptz;
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS postcall_copy_call_ended_at ON "Analytics";
CREATE TRIGGER postcall_copy_call_ended_at
    BEFORE INSERT ON "Analytics"
    FOR EACH ROW EXECUTE FUNCTION postcall_copy_call_ended_at();
-- On an update only when the row has no copy yet (a row from before this migration, analysed
-- again) or moved to another call.
DROP TRIGGER IF EXISTS postcall_copy_call_ended_at_update ON "Analytics";
CREATE TRIGGER postcall_copy_call_ended_at_update
    BEFORE UPDATE ON "Analytics"
    FOR EACH ROW
    WHEN (NEW."callEndedAt" IS NULL OR OLD."callId" IS DISTINCT FROM NEW."callId")
    EXECUTE FUNCTION postcall_copy_call_ended_at();
DROP TRIGGER IF EXISTS postcall_follow_call_ended_at ON "Call";
CREATE TRIGGER postcall_follow_call_ended_at
    AFTER UPDATE OF "endedAt" ON "Call"
    FOR EACH ROW
    WHEN (OLD."endedAt" IS DISTINCT FROM NEW."endedAt")
    EXECUTE FUNCTION postcall_follow_call_ended_at();

-- Rows written before postcall that break migration 0002's checks (a score of 120, an intent
-- outside the five) cannot be updated, so they keep no copy and stay out of the dashboard's top
-- leads until they are analysed again (`postcall backfill --reanalyze`); they are not changed.
UPDATE "Analytics" a SET "callEndedAt" = c."endedAt"::timestamptz
FROM "Call" c
WHERE c.id = a."callId" AND a."callEndedAt" IS DISTINCT FROM c."endedAt"::timestamptz
  AND a.sentiment BETWEEN -1.0 AND 1.0 AND a."leadScore" BETWEEN 0 AND 100
  AND a.intent IN ('info', 'booking', 'complaint', 'sales', 'support')
  AND char_length(a.summary) <= 240;

-- The dashboard's order: score, then the later call, then the id. The seed's query (score
-- only) can use it as well as migration 0006's index.
CREATE INDEX IF NOT EXISTS "Analytics_leadScore_callEndedAt_idx"
    ON "Analytics" ("leadScore" DESC, "callEndedAt" DESC, "callId");
