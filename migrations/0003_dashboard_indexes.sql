-- Both seed dashboard queries filter "Call" on "endedAt" > now() - interval and join
-- "Analytics" on its primary key: a range scan on this index finds the window's calls.
-- INCLUDE makes it covering for the trend query's "agentId".
CREATE INDEX IF NOT EXISTS "Call_endedAt_idx" ON "Call" ("endedAt") INCLUDE ("agentId");
