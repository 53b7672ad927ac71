-- The sentiment rollup's triggers on "Analytics" run once per statement instead of once per row.
--
-- The analyzer writes a batch's rows with one multi-row statement; with the row triggers of
-- migration 0007 each row then ran a PL/pgSQL function, a lookup of its call and an upsert of its
-- bucket, one after another inside the statement. These triggers see the statement's rows at once
-- (transition tables), join them to "Call" in one query and apply one grouped upsert, in bucket
-- order as before (two writers touching the same buckets lock them in the same order).
--
-- The arithmetic is migration 0009's: each row adds (sign 1) or takes out (sign -1) its call's
-- sentiment in the hourly bucket of the call's end time, with the quarter-hour columns. An update
-- takes out every old row and adds every new one; a row whose sentiment and call did not change
-- nets to nothing and its bucket is not written. A bucket left with no calls is deleted. The
-- triggers on "Call" (0007) are unchanged: the voice bridge updates one call at a time.
--
-- PostgreSQL allows a transition table only on a trigger with one event and no column list, so
-- there are three triggers, and the update trigger runs for every UPDATE of "Analytics" (the
-- hot-lead lease's too); such an update nets to nothing and writes no bucket.

CREATE OR REPLACE FUNCTION postcall_rollup_on_analytics_statement() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    call_ids text[];
    sentiments double precision[];
    signs integer[];
    emptied_hours timestamptz[];
    emptied_agents text[];
BEGIN
    -- What the statement changed, as (call, sentiment, sign) rows. PL/pgSQL plans a query when it
    -- first runs it, so each branch names only the transition tables its event has.
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(n."callId"), array_agg(n.sentiment), array_agg(1)
        INTO call_ids, sentiments, signs
        FROM new_rows n;
    ELSIF TG_OP = 'UPDATE' THEN
        -- Rows whose call and sentiment are unchanged cancel out here, so an update of other
        -- columns (a re-analysis with the same sentiment, the hot-lead lease) writes nothing.
        SELECT array_agg(x."callId"), array_agg(x.sentiment), array_agg(x.sign)
        INTO call_ids, sentiments, signs
        FROM (
            (SELECT "callId", sentiment, 1 AS sign FROM new_rows
             EXCEPT ALL SELECT "callId", sentiment, 1 FROM old_rows)
            UNION ALL
            (SELECT "callId", sentiment, -1 AS sign FROM old_rows
             EXCEPT ALL SELECT "callId", sentiment, -1 FROM new_rows)
        ) x;
    ELSE
        SELECT array_agg(o."callId"), array_agg(o.sentiment), array_agg(-1)
        INTO call_ids, sentiments, signs
        FROM old_rows o;
    END IF;
    IF call_ids IS NULL THEN
        RETURN NULL;
    END IF;

    WITH placed AS (
        SELECT coalesce(c."agentId"::text, '') AS agent,
               date_trunc('hour', c."endedAt"::timestamptz AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS bucket,
               extract(minute FROM c."endedAt"::timestamptz AT TIME ZONE 'UTC')::integer AS minute,
               ch.sign,
               ch.sign * ch.sentiment::numeric AS amount
        FROM unnest(call_ids, sentiments, signs) AS ch(call_id, sentiment, sign)
        JOIN "Call" c ON c.id = ch.call_id
        WHERE c."endedAt" IS NOT NULL AND ch.sentiment IS NOT NULL
    ),
    net AS (
        SELECT agent, bucket,
               sum(sign) AS calls, sum(amount) AS amount,
               sum(CASE WHEN minute < 15 THEN sign ELSE 0 END) AS calls15,
               sum(CASE WHEN minute < 30 THEN sign ELSE 0 END) AS calls30,
               sum(CASE WHEN minute < 45 THEN sign ELSE 0 END) AS calls45,
               sum(CASE WHEN minute < 15 THEN amount ELSE 0 END) AS amount15,
               sum(CASE WHEN minute < 30 THEN amount ELSE 0 END) AS amount30,
               sum(CASE WHEN minute < 45 THEN amount ELSE 0 END) AS amount45
        FROM placed
        GROUP BY agent, bucket
    ),
    moved AS (
        INSERT INTO "SentimentRollup" AS r (
            "agentId", hour, calls, "sentimentSum",
            "callsBefore15", "callsBefore30", "callsBefore45",
            "sentimentSumBefore15", "sentimentSumBefore30", "sentimentSumBefore45"
        )
        SELECT agent, bucket, calls, amount, calls15, calls30, calls45, amount15, amount30, amount45
        FROM net
        WHERE calls <> 0 OR amount <> 0 OR calls15 <> 0 OR calls30 <> 0 OR calls45 <> 0
           OR amount15 <> 0 OR amount30 <> 0 OR amount45 <> 0
        -- Bucket order, as the per-row triggers had it: writers lock shared buckets in one order.
        ORDER BY bucket, agent
        ON CONFLICT (hour, "agentId") DO UPDATE
            SET calls = r.calls + EXCLUDED.calls,
                "sentimentSum" = r."sentimentSum" + EXCLUDED."sentimentSum",
                "callsBefore15" = r."callsBefore15" + EXCLUDED."callsBefore15",
                "callsBefore30" = r."callsBefore30" + EXCLUDED."callsBefore30",
                "callsBefore45" = r."callsBefore45" + EXCLUDED."callsBefore45",
                "sentimentSumBefore15" = r."sentimentSumBefore15" + EXCLUDED."sentimentSumBefore15",
                "sentimentSumBefore30" = r."sentimentSumBefore30" + EXCLUDED."sentimentSumBefore30",
                "sentimentSumBefore45" = r."sentimentSumBefore45" + EXCLUDED."sentimentSumBefore45"
        RETURNING r.hour, r."agentId", r.calls
    )
    SELECT array_agg(hour) FILTER (WHERE calls = 0), array_agg("agentId") FILTER (WHERE calls = 0)
    INTO emptied_hours, emptied_agents
    FROM moved;
    -- A bucket left with no calls goes (only an update or a delete can empty one).
    IF emptied_hours IS NOT NULL THEN
        DELETE FROM "SentimentRollup" r
        USING unnest(emptied_hours, emptied_agents) AS e(hour, agent)
        WHERE r.hour = e.hour AND r."agentId" = e.agent AND r.calls = 0;
    END IF;
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS postcall_rollup_insert_delete ON "Analytics";
DROP TRIGGER IF EXISTS postcall_rollup_update ON "Analytics";
DROP FUNCTION IF EXISTS postcall_rollup_on_analytics();

DROP TRIGGER IF EXISTS postcall_rollup_insert ON "Analytics";
CREATE TRIGGER postcall_rollup_insert
    AFTER INSERT ON "Analytics"
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION postcall_rollup_on_analytics_statement();
DROP TRIGGER IF EXISTS postcall_rollup_update ON "Analytics";
CREATE TRIGGER postcall_rollup_update
    AFTER UPDATE ON "Analytics"
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION postcall_rollup_on_analytics_statement();
DROP TRIGGER IF EXISTS postcall_rollup_delete ON "Analytics";
CREATE TRIGGER postcall_rollup_delete
    AFTER DELETE ON "Analytics"
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION postcall_rollup_on_analytics_statement();
