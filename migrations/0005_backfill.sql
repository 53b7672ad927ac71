-- How often the backfill enqueued a call that still has no analytics: after
-- BACKFILL_MAX_ATTEMPTS it stops, so a poison call is never enqueued forever.
CREATE TABLE IF NOT EXISTS "BackfillAttempt" (
    "callId"         text PRIMARY KEY,
    attempts         integer NOT NULL DEFAULT 0,
    "lastEnqueuedAt" timestamptz
);

-- Keyset pagination on ("endedAt", id): each page is one range scan.
CREATE INDEX IF NOT EXISTS "Call_endedAt_id_idx" ON "Call" ("endedAt", id);
