-- The seed's "top leads in the last 24 h" orders analyzed calls by "leadScore" and keeps 20.
-- With this index the planner walks the highest scores and keeps the first 20 calls inside
-- the window (a nested loop on "Call"'s primary key): 0.3 ms instead of 116-185 ms at 1 M calls
-- (docs/benchmarks.md). It relies on high scores being spread over time: when the window's
-- best calls score unusually low, the walk goes further down the index, and the planner, which
-- chooses from statistics, can then pick this plan where the hash join would have been faster.
-- Built in the migration's transaction: on a large existing table, writes to "Analytics" wait
-- for it (about 0.4 s per million rows here).
CREATE INDEX IF NOT EXISTS "Analytics_leadScore_idx" ON "Analytics" ("leadScore" DESC);
