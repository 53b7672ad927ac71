-- "Call" and "Turn" usually belong to the voice bridge: create them only when absent, and never
-- drop or retype their columns. The bridge may have written either id as text, integer or uuid;
-- postcall reads them through casts, so any of those works.
CREATE TABLE IF NOT EXISTS "Call" (
    id           text PRIMARY KEY,
    "fromNumber" text,
    "agentId"    text,
    "startedAt"  timestamptz,
    "endedAt"    timestamptz
);

CREATE TABLE IF NOT EXISTS "Turn" (
    id          text PRIMARY KEY,
    "callId"    text NOT NULL REFERENCES "Call" (id) ON DELETE CASCADE,
    role        text NOT NULL,
    text        text NOT NULL,
    "startedAt" timestamptz NOT NULL DEFAULT now(),
    "endedAt"   timestamptz
);

-- Added columns only, and only when missing, on tables someone else may own.
ALTER TABLE "Call" ADD COLUMN IF NOT EXISTS "agentId" text;
ALTER TABLE "Call" ADD COLUMN IF NOT EXISTS "fromNumber" text;
ALTER TABLE "Turn" ADD COLUMN IF NOT EXISTS "endedAt" timestamptz;

-- One indexed range scan loads a call's transcript in order.
CREATE INDEX IF NOT EXISTS "Turn_callId_startedAt_idx" ON "Turn" ("callId", "startedAt");
