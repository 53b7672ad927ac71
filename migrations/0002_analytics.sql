-- One row per analyzed call. The seed's columns first, then what production needs.
CREATE TABLE IF NOT EXISTS "Analytics" (
    "callId"          text PRIMARY KEY REFERENCES "Call" (id) ON DELETE CASCADE,
    sentiment         double precision NOT NULL,
    "leadScore"       integer NOT NULL,
    intent            text NOT NULL,
    entities          jsonb NOT NULL DEFAULT '{}'::jsonb,
    "computedAt"      timestamptz NOT NULL DEFAULT now(),
    summary           text NOT NULL DEFAULT '',
    "nextAction"      text NOT NULL DEFAULT '',
    analyzer          text NOT NULL DEFAULT 'unknown',
    "promptVersion"   text,
    "transcriptHash"  text,
    "transcriptChars" integer,
    truncated         boolean NOT NULL DEFAULT false,
    metrics           jsonb,
    "inputTokens"     integer,
    "outputTokens"    integer,
    "costUsd"         double precision,
    "latencyMs"       integer,
    "hotPublishedAt"  timestamptz,
    "hotClaimExpiresAt" timestamptz
);

-- A table created by the seed's tutorial has only the first six columns: add the rest.
ALTER TABLE "Analytics" ADD COLUMN IF NOT EXISTS summary text NOT NULL DEFAULT '';
ALTER TABLE "Analytics" ADD COLUMN IF NOT EXISTS "nextAction" text NOT NULL DEFAULT '';
ALTER TABLE "Analytics" ADD COLUMN IF NOT EXISTS analyzer text NOT NULL DEFAULT 'unknown';
ALTER TABLE "Analytics" ADD COLUMN IF NOT EXISTS "promptVersion" text;
ALTER TABLE "Analytics" ADD COLUMN IF NOT EXISTS "transcriptHash" text;
ALTER TABLE "Analytics" ADD COLUMN IF NOT EXISTS "transcriptChars" integer;
ALTER TABLE "Analytics" ADD COLUMN IF NOT EXISTS truncated boolean NOT NULL DEFAULT false;
ALTER TABLE "Analytics" ADD COLUMN IF NOT EXISTS metrics jsonb;
ALTER TABLE "Analytics" ADD COLUMN IF NOT EXISTS "inputTokens" integer;
ALTER TABLE "Analytics" ADD COLUMN IF NOT EXISTS "outputTokens" integer;
ALTER TABLE "Analytics" ADD COLUMN IF NOT EXISTS "costUsd" double precision;
ALTER TABLE "Analytics" ADD COLUMN IF NOT EXISTS "latencyMs" integer;
ALTER TABLE "Analytics" ADD COLUMN IF NOT EXISTS "hotPublishedAt" timestamptz;
-- A lease on publishing the hot-lead message: one invocation publishes, the others wait.
ALTER TABLE "Analytics" ADD COLUMN IF NOT EXISTS "hotClaimExpiresAt" timestamptz;

-- Ranges and the five intents (looked up on this table: constraint names are not unique
-- across schemas). NOT VALID: rows written before postcall (by the seed's worker,
-- say) are left alone, while every new or updated row is checked.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'Analytics_sentiment_range'
                   AND conrelid = '"Analytics"'::regclass) THEN
        ALTER TABLE "Analytics" ADD CONSTRAINT "Analytics_sentiment_range"
            CHECK (sentiment BETWEEN -1.0 AND 1.0) NOT VALID;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'Analytics_leadScore_range'
                   AND conrelid = '"Analytics"'::regclass) THEN
        ALTER TABLE "Analytics" ADD CONSTRAINT "Analytics_leadScore_range"
            CHECK ("leadScore" BETWEEN 0 AND 100) NOT VALID;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'Analytics_intent_known'
                   AND conrelid = '"Analytics"'::regclass) THEN
        ALTER TABLE "Analytics" ADD CONSTRAINT "Analytics_intent_known"
            CHECK (intent IN ('info', 'booking', 'complaint', 'sales', 'support')) NOT VALID;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'Analytics_summary_length'
                   AND conrelid = '"Analytics"'::regclass) THEN
        ALTER TABLE "Analytics" ADD CONSTRAINT "Analytics_summary_length"
            CHECK (char_length(summary) <= 240) NOT VALID;
    END IF;
END
$$;
