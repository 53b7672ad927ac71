-- The sentiment rollup learns where its calls fall inside each hour, so that the trend can be
-- served from it in every time zone in use today, not only those whose offset from UTC is whole
-- hours. India (+05:30), Nepal (+05:45), Newfoundland (-03:30), South Australia (+09:30) and a
-- few more put local midnight at a quarter past, half past or a quarter to a UTC hour; until now
-- their trend was computed from the base tables, as slow as the seed's query (19 s at 10 M
-- calls).
--
-- Each hourly bucket also keeps the calls that ended in its first 15, 30 and 45 minutes
-- (cumulative: "callsBefore30" includes "callsBefore15") and the sum of their sentiment. A local
-- day that starts at 18:30 UTC takes the 18:00 bucket's calls after minute 30
-- (calls - "callsBefore30") and leaves the rest to the day before. The columns are plain
-- additions in the trigger's one upsert, so a write costs what it did.
ALTER TABLE "SentimentRollup"
    ADD COLUMN IF NOT EXISTS "callsBefore15" bigint NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS "callsBefore30" bigint NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS "callsBefore45" bigint NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS "sentimentSumBefore15" numeric NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS "sentimentSumBefore30" numeric NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS "sentimentSumBefore45" numeric NOT NULL DEFAULT 0;

-- Same signature and contract as migration 0007's: adds (sign 1) or takes out (sign -1) one
-- call's sentiment; a bucket left empty is deleted.
CREATE OR REPLACE FUNCTION postcall_rollup_apply(
    agent text, ended timestamptz, sentiment double precision, sign integer
) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    utc timestamp;
    bucket timestamptz;
    minute integer;
    amount numeric;
BEGIN
    IF ended IS NULL OR sentiment IS NULL THEN
        RETURN;
    END IF;
    utc := ended AT TIME ZONE 'UTC';
    bucket := date_trunc('hour', utc) AT TIME ZONE 'UTC';
    minute := extract(minute FROM utc)::integer;
    amount := sign * sentiment::numeric;
    INSERT INTO "SentimentRollup" AS r (
        "agentId", hour, calls, "sentimentSum",
        "callsBefore15", "callsBefore30", "callsBefore45",
        "sentimentSumBefore15", "sentimentSumBefore30", "sentimentSumBefore45"
    )
    VALUES (
        coalesce(agent, ''), bucket, sign, amount,
        CASE WHEN minute < 15 THEN sign ELSE 0 END,
        CASE WHEN minute < 30 THEN sign ELSE 0 END,
        CASE WHEN minute < 45 THEN sign ELSE 0 END,
        CASE WHEN minute < 15 THEN amount ELSE 0 END,
        CASE WHEN minute < 30 THEN amount ELSE 0 END,
        CASE WHEN minute < 45 THEN amount ELSE 0 END
    )
    ON CONFLICT (hour, "agentId") DO UPDATE
        SET calls = r.calls + EXCLUDED.calls,
            "sentimentSum" = r."sentimentSum" + EXCLUDED."sentimentSum",
            "callsBefore15" = r."callsBefore15" + EXCLUDED."callsBefore15",
            "callsBefore30" = r."callsBefore30" + EXCLUDED."callsBefore30",
            "callsBefore45" = r."callsBefore45" + EXCLUDED."callsBefore45",
            "sentimentSumBefore15" = r."sentimentSumBefore15" + EXCLUDED."sentimentSumBefore15",
            "sentimentSumBefore30" = r."sentimentSumBefore30" + EXCLUDED."sentimentSumBefore30",
            "sentimentSumBefore45" = r."sentimentSumBefore45" + EXCLUDED."sentimentSumBefore45";
    IF sign < 0 THEN
        DELETE FROM "SentimentRollup"
        WHERE hour = bucket AND "agentId" = coalesce(agent, '') AND calls = 0;
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION postcall_rollup_rebuild() RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    buckets bigint;
BEGIN
    LOCK TABLE "SentimentRollup" IN SHARE ROW EXCLUSIVE MODE;
    DELETE FROM "SentimentRollup";
    INSERT INTO "SentimentRollup" (
        "agentId", hour, calls, "sentimentSum",
        "callsBefore15", "callsBefore30", "callsBefore45",
        "sentimentSumBefore15", "sentimentSumBefore30", "sentimentSumBefore45"
    )
    SELECT agent, date_trunc('hour', utc) AT TIME ZONE 'UTC',
           count(*), sum(sentiment),
           count(*) FILTER (WHERE minute < 15),
           count(*) FILTER (WHERE minute < 30),
           count(*) FILTER (WHERE minute < 45),
           coalesce(sum(sentiment) FILTER (WHERE minute < 15), 0),
           coalesce(sum(sentiment) FILTER (WHERE minute < 30), 0),
           coalesce(sum(sentiment) FILTER (WHERE minute < 45), 0)
    FROM (
        SELECT coalesce(c."agentId"::text, '') AS agent,
               c."endedAt"::timestamptz AT TIME ZONE 'UTC' AS utc,
               extract(minute FROM c."endedAt"::timestamptz AT TIME ZONE 'UTC')::integer AS minute,
               a.sentiment::numeric AS sentiment
        FROM "Analytics" a JOIN "Call" c ON c.id = a."callId"
        WHERE c."endedAt" IS NOT NULL
    ) calls
    GROUP BY 1, 2
    -- In the primary key's order: the rows are appended as they come, so each hour's buckets
    -- share a few pages and the trend's per-day index ranges read them together, as they do in
    -- a rollup that live traffic writes hour after hour (in the hash aggregate's order they
    -- were spread over the whole table: docs/benchmarks.md, section 6).
    ORDER BY 2, 1;
    GET DIAGNOSTICS buckets = ROW_COUNT;
    RETURN buckets;
END
$$;

-- Fills the new columns for what is already there (one pass over "Analytics" and "Call",
-- writers waiting meanwhile, as in migration 0007).
SELECT postcall_rollup_rebuild();
