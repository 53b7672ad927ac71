//! The dashboard's reads (top leads, the sentiment trend and its rollup, one call's detail)
//! and the seed tutorial's queries the demo runs.

use chrono::{DateTime, Utc};
use tokio_postgres::error::SqlState;

use super::{PgStore, StoreError};
use crate::domain::{CallId, HotLeadPolicy};

/// The seed tutorial's dashboard query "top leads in last 24h", verbatim.
pub const TOP_LEADS_24H_SQL: &str = r#"SELECT c.id, c."fromNumber", a."leadScore", a.intent, a.entities
FROM "Call" c JOIN "Analytics" a ON a."callId" = c.id
WHERE c."endedAt" > now() - interval '24 hours'
ORDER BY a."leadScore" DESC
LIMIT 20"#;

/// The seed tutorial's dashboard query "sentiment trend per agent (7 days)", verbatim.
pub const SENTIMENT_TREND_7D_SQL: &str = r#"SELECT c."agentId", date_trunc('day', c."endedAt") d, AVG(a.sentiment) avg_sent
FROM "Call" c JOIN "Analytics" a ON a."callId" = c.id
WHERE c."endedAt" > now() - interval '7 days'
GROUP BY 1, 2 ORDER BY 1, 2"#;

/// One row of [`TOP_LEADS_24H_SQL`].
#[derive(Debug, Clone, PartialEq)]
pub struct TopLead {
    /// The call.
    pub call_id: String,
    /// The caller's number.
    pub from_number: Option<String>,
    /// Its lead score.
    pub lead_score: i32,
    /// Its intent.
    pub intent: String,
    /// Its entities as stored.
    pub entities: serde_json::Value,
}

/// One row of [`SENTIMENT_TREND_7D_SQL`].
#[derive(Debug, Clone, PartialEq)]
pub struct SentimentPoint {
    /// The agent.
    pub agent_id: Option<String>,
    /// The day (UTC midnight).
    pub day: DateTime<Utc>,
    /// Average caller sentiment that day.
    pub average_sentiment: f64,
}

/// [`TOP_LEADS_24H_SQL`] with its window and row count as parameters (`$1` hours, `$2` rows)
/// and the agent and end time added. Ties in score go to the latest call, then the id, so that
/// the same data always lists the same way. The window and the order are read from the
/// analytics row's copy of the call's end time (migration 0008, kept by triggers), so the index
/// `"Analytics_leadScore_callEndedAt_idx"` hands the rows over in the query's order and the
/// scan stops at the `$2`-th one in the window.
pub const TOP_LEADS_SQL: &str = r#"SELECT c.id::text, c."fromNumber"::text, a."leadScore", a.intent, a.entities,
       c."agentId"::text, c."endedAt"::timestamptz
FROM "Analytics" a JOIN "Call" c ON c.id = a."callId"
WHERE a."callEndedAt" > now() - make_interval(hours => $1)
ORDER BY a."leadScore" DESC, a."callEndedAt" DESC, a."callId"
LIMIT $2"#;

/// The dashboard's sentiment trend: average caller sentiment per agent and day over the last
/// `$1` days in time zone `$2` (today and the `$1 - 1` days before it, each from local
/// midnight), with the number of calls behind each average and the local date. Read from the
/// hourly rollup (migrations 0007 and 0009, kept exact by triggers), so its cost does not grow
/// with the number of calls. Each local day takes the UTC hours between its midnights; where a
/// midnight falls inside a UTC hour (a zone 30 or 45 minutes off a whole hour: Asia/Kolkata,
/// Asia/Kathmandu, America/St_Johns), the bucket's quarter-hour columns split that hour between
/// the two days. Right for any zone whose offset is a whole number of quarter hours, which is
/// every zone in use today; [`PgStore::sentiment_trend`] falls back to
/// [`SENTIMENT_TREND_FROM_BASE_SQL`] for any other ([`TIME_ZONE_OFFSET_SQL`] tells which). A call
/// without an agent has a NULL agent, as in the seed's query. Calls that end after the end of
/// today (a clock ahead of the database's) are not counted.
pub const SENTIMENT_TREND_SQL: &str = r#"WITH days AS MATERIALIZED (
    SELECT b.local_day, b.starts, b.ends,
           date_trunc('hour', b.starts AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS start_hour,
           extract(minute FROM b.starts AT TIME ZONE 'UTC')::integer AS start_minute,
           date_trunc('hour', b.ends AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS end_hour,
           extract(minute FROM b.ends AT TIME ZONE 'UTC')::integer AS end_minute
    FROM (
        SELECT g.local_day, g.local_day AT TIME ZONE $2::text AS starts,
               (g.local_day + interval '1 day') AT TIME ZONE $2::text AS ends
        FROM generate_series(
                 date_trunc('day', now() AT TIME ZONE $2::text) - make_interval(days => $1 - 1),
                 date_trunc('day', now() AT TIME ZONE $2::text),
                 interval '1 day') AS g(local_day)
    ) b
)
SELECT NULLIF(t.agent, '') AS agent_id, d.starts AS day,
       (t.sentiment_sum / t.calls)::double precision AS avg_sent, t.calls,
       to_char(d.local_day, 'YYYY-MM-DD') AS local_date
FROM days d
CROSS JOIN LATERAL (
    SELECT r."agentId" AS agent,
           sum(CASE WHEN r.hour = d.start_hour THEN r.calls - CASE d.start_minute
                        WHEN 15 THEN r."callsBefore15" WHEN 30 THEN r."callsBefore30"
                        WHEN 45 THEN r."callsBefore45" ELSE 0 END
                    WHEN r.hour = d.end_hour THEN CASE d.end_minute
                        WHEN 15 THEN r."callsBefore15" WHEN 30 THEN r."callsBefore30"
                        WHEN 45 THEN r."callsBefore45" ELSE 0 END
                    ELSE r.calls END)::bigint AS calls,
           sum(CASE WHEN r.hour = d.start_hour THEN r."sentimentSum" - CASE d.start_minute
                        WHEN 15 THEN r."sentimentSumBefore15" WHEN 30 THEN r."sentimentSumBefore30"
                        WHEN 45 THEN r."sentimentSumBefore45" ELSE 0 END
                    WHEN r.hour = d.end_hour THEN CASE d.end_minute
                        WHEN 15 THEN r."sentimentSumBefore15" WHEN 30 THEN r."sentimentSumBefore30"
                        WHEN 45 THEN r."sentimentSumBefore45" ELSE 0 END
                    ELSE r."sentimentSum" END) AS sentiment_sum
    FROM "SentimentRollup" r
    WHERE r.hour >= d.start_hour AND r.hour < d.ends
    GROUP BY r."agentId"
) t
WHERE t.calls > 0
ORDER BY 1, 2"#;

/// The session settings the README gives the dashboard's role (`ALTER ROLE postcall_dashboard
/// SET …`), as `SET` statements for a session that plays that role (the benchmark). Its queries
/// are small: on a 2-core database starting parallel workers or JIT-compiling a plan costs more
/// than running them.
pub const DASHBOARD_ROLE_SETTINGS_SQL: &str =
    "SET jit = off; SET max_parallel_workers_per_gather = 0";

/// A zone's offset from UTC now, in seconds (`$1` the zone); an unknown zone is an error with
/// SQLSTATE 22023.
pub const TIME_ZONE_OFFSET_SQL: &str = r#"SELECT extract(epoch FROM (now() AT TIME ZONE $1::text) - (now() AT TIME ZONE 'UTC'))::bigint"#;

/// [`SENTIMENT_TREND_SQL`]'s answer computed from "Call" and "Analytics" alone, whatever the
/// zone (`$1` days, `$2` zone): what the rollup's answer must equal (tests compare them), and
/// the trend of a zone whose offset is not a whole number of quarter hours (none in use today),
/// as slow as the seed's query.
pub const SENTIMENT_TREND_FROM_BASE_SQL: &str = r#"SELECT c."agentId"::text,
       ((c."endedAt"::timestamptz AT TIME ZONE $2::text)::date::timestamp AT TIME ZONE $2::text),
       avg(a.sentiment), count(*),
       to_char((c."endedAt"::timestamptz AT TIME ZONE $2::text)::date, 'YYYY-MM-DD')
FROM "Call" c JOIN "Analytics" a ON a."callId" = c.id
WHERE c."endedAt" >= (date_trunc('day', now() AT TIME ZONE $2::text) - make_interval(days => $1 - 1))
                     AT TIME ZONE $2::text
  AND c."endedAt" < (date_trunc('day', now() AT TIME ZONE $2::text) + interval '1 day')
                    AT TIME ZONE $2::text
GROUP BY 1, 2, 5
ORDER BY 1, 2"#;

/// What the rollup must equal: per agent ('' for none) and UTC hour, the analysed calls and
/// their sentiment sum, then the same for the calls that ended before minute 15, 30 and 45 of
/// the hour, computed from the base tables (the property test and `postcall rollup check`
/// compare the two). Sums are numeric text.
pub const SENTIMENT_ROLLUP_FROM_BASE_SQL: &str = r#"SELECT b.agent_id, b.hour, b.calls, b.sentiment_sum,
       b.calls_before_15, b.sum_before_15, b.calls_before_30, b.sum_before_30,
       b.calls_before_45, b.sum_before_45
FROM (
    SELECT coalesce(c."agentId"::text, '') AS agent_id,
           date_trunc('hour', c."endedAt"::timestamptz AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS hour,
           count(*)::bigint AS calls, sum(a.sentiment::numeric)::text AS sentiment_sum,
           count(*) FILTER (WHERE m.minute < 15)::bigint AS calls_before_15,
           coalesce(sum(a.sentiment::numeric) FILTER (WHERE m.minute < 15), 0)::text AS sum_before_15,
           count(*) FILTER (WHERE m.minute < 30)::bigint AS calls_before_30,
           coalesce(sum(a.sentiment::numeric) FILTER (WHERE m.minute < 30), 0)::text AS sum_before_30,
           count(*) FILTER (WHERE m.minute < 45)::bigint AS calls_before_45,
           coalesce(sum(a.sentiment::numeric) FILTER (WHERE m.minute < 45), 0)::text AS sum_before_45
    FROM "Analytics" a JOIN "Call" c ON c.id = a."callId"
    CROSS JOIN LATERAL (
        SELECT extract(minute FROM c."endedAt"::timestamptz AT TIME ZONE 'UTC')::integer AS minute
    ) m
    WHERE c."endedAt" IS NOT NULL
    GROUP BY 1, 2
) b
ORDER BY 2, 1"#;

/// The rollup as stored, in the shape of [`SENTIMENT_ROLLUP_FROM_BASE_SQL`].
pub const SENTIMENT_ROLLUP_SQL: &str = r#"SELECT "agentId" AS agent_id, hour, calls,
       "sentimentSum"::text AS sentiment_sum,
       "callsBefore15", "sentimentSumBefore15"::text, "callsBefore30", "sentimentSumBefore30"::text,
       "callsBefore45", "sentimentSumBefore45"::text
FROM "SentimentRollup" ORDER BY 2, 1"#;

/// One call for the dashboard's detail view: the call, its analytics row (NULLs when not
/// analyzed) and at most `$2` turns in order, one row per turn (one row of NULL turn columns
/// when it has none). `$1` is the call id.
pub const CALL_DETAIL_SQL: &str = r#"SELECT c.id::text AS call_id, c."fromNumber"::text AS from_number, c."agentId"::text AS agent_id,
       c."startedAt"::timestamptz AS call_started_at, c."endedAt"::timestamptz AS call_ended_at,
       a.sentiment, a."leadScore" AS lead_score, a.intent, a.entities, a.summary,
       a."nextAction" AS next_action, a.metrics, a.analyzer, a."computedAt" AS computed_at,
       a.truncated,
       t.role, t.text, t.started_at AS turn_started_at, t.ended_at AS turn_ended_at
FROM "Call" c
LEFT JOIN "Analytics" a ON a."callId" = c.id
LEFT JOIN LATERAL (
    SELECT t.role::text AS role, t.text::text AS text, t."startedAt"::timestamptz AS started_at,
           t."endedAt"::timestamptz AS ended_at, t.id::text AS id
    FROM "Turn" t WHERE t."callId" = c.id
    ORDER BY t."startedAt" NULLS LAST, t.id
    LIMIT $2
) t ON true
WHERE c.id = $1
ORDER BY t.started_at NULLS LAST, t.id"#;

/// Most turns [`PgStore::call_detail`] returns; a longer call is cut there and says so.
pub const CALL_DETAIL_MAX_TURNS: usize = 1000;

/// One row of [`TOP_LEADS_SQL`].
#[derive(Debug, Clone, PartialEq)]
pub struct DashboardLead {
    /// The seed query's columns.
    pub lead: TopLead,
    /// The agent.
    pub agent_id: Option<String>,
    /// When the call ended.
    pub ended_at: Option<DateTime<Utc>>,
}

/// One row of [`SENTIMENT_TREND_SQL`].
#[derive(Debug, Clone, PartialEq)]
pub struct TrendPoint {
    /// The seed query's columns; `day` is the local midnight as an instant.
    pub point: SentimentPoint,
    /// Analyzed calls behind the average.
    pub calls: i64,
    /// The local calendar day, `YYYY-MM-DD`.
    pub date: String,
}

/// A call as the dashboard shows it: [`CALL_DETAIL_SQL`].
#[derive(Debug, Clone, PartialEq)]
pub struct CallDetail {
    /// The call's id.
    pub call_id: String,
    /// The caller's number.
    pub from_number: Option<String>,
    /// The agent.
    pub agent_id: Option<String>,
    /// When the call started.
    pub started_at: Option<DateTime<Utc>>,
    /// When it ended.
    pub ended_at: Option<DateTime<Utc>>,
    /// Its analytics row; `None` when the call was not analyzed (yet).
    pub analytics: Option<DetailAnalytics>,
    /// Its turns in order, at most [`CALL_DETAIL_MAX_TURNS`].
    pub turns: Vec<DetailTurn>,
    /// Whether the call has more turns than were returned.
    pub turns_truncated: bool,
}

/// The analytics columns the detail view shows, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct DetailAnalytics {
    /// Caller sentiment, −1..=1.
    pub sentiment: f64,
    /// Lead score, 0..=100.
    pub lead_score: i32,
    /// Intent.
    pub intent: String,
    /// Entities JSON (`name`, `email`, `topic`).
    pub entities: serde_json::Value,
    /// Summary.
    pub summary: String,
    /// Next action.
    pub next_action: String,
    /// Call metrics JSON; `None` for rows written before metrics existed.
    pub metrics: Option<serde_json::Value>,
    /// Analyzer that wrote the row.
    pub analyzer: String,
    /// When it was written.
    pub computed_at: DateTime<Utc>,
    /// Whether only the capped transcript was analyzed.
    pub truncated: bool,
}

/// One turn of a [`CallDetail`].
#[derive(Debug, Clone, PartialEq)]
pub struct DetailTurn {
    /// The role as the bridge wrote it.
    pub role: String,
    /// What was said.
    pub text: String,
    /// When it started.
    pub started_at: Option<DateTime<Utc>>,
    /// When it ended.
    pub ended_at: Option<DateTime<Utc>>,
}

impl PgStore {
    /// The seed's "top leads in the last 24 h" query, unchanged, plus the caller's name.
    ///
    /// # Errors
    /// [`StoreError`] on any database fault.
    pub async fn top_leads_24h(&self) -> Result<Vec<TopLead>, StoreError> {
        let operation = || "query top leads of the last 24 h".to_string();
        let rows = self
            .run(operation, |c| async move {
                c.client.query(TOP_LEADS_24H_SQL, &[]).await
            })
            .await?;
        rows.iter()
            .map(|row| {
                top_lead(row).map_err(|e| StoreError::Query {
                    operation: operation(),
                    source: e,
                })
            })
            .collect()
    }

    /// The seed's "sentiment trend per agent, 7 days" query, unchanged.
    ///
    /// # Errors
    /// [`StoreError`] on any database fault.
    pub async fn sentiment_trend_7d(&self) -> Result<Vec<SentimentPoint>, StoreError> {
        let operation = || "query the 7-day sentiment trend".to_string();
        let rows = self
            .run(operation, |c| async move {
                c.client.query(SENTIMENT_TREND_7D_SQL, &[]).await
            })
            .await?;
        let read = |e| StoreError::Query {
            operation: operation(),
            source: e,
        };
        rows.iter()
            .map(|row| {
                Ok(SentimentPoint {
                    agent_id: row.try_get(0).map_err(read)?,
                    day: row.try_get(1).map_err(read)?,
                    average_sentiment: row.try_get(2).map_err(read)?,
                })
            })
            .collect()
    }

    /// The top leads of the last `hours`, at most `limit` of them: [`TOP_LEADS_SQL`].
    ///
    /// # Errors
    /// [`StoreError`] on any database fault.
    pub async fn top_leads(
        &self,
        hours: i32,
        limit: i64,
    ) -> Result<Vec<DashboardLead>, StoreError> {
        let operation = || format!("query top leads of the last {hours} h");
        let (hours_param, limit_param) = (&hours, &limit);
        let rows = self
            .run(operation, |c| async move {
                c.client
                    .query(TOP_LEADS_SQL, &[hours_param, limit_param])
                    .await
            })
            .await?;
        let read = |e| StoreError::Query {
            operation: operation(),
            source: e,
        };
        rows.iter()
            .map(|row| {
                Ok(DashboardLead {
                    lead: top_lead(row).map_err(read)?,
                    agent_id: row.try_get(5).map_err(read)?,
                    ended_at: row.try_get(6).map_err(read)?,
                })
            })
            .collect()
    }

    /// Average caller sentiment per agent and day over the last `days` in `time_zone`:
    /// [`SENTIMENT_TREND_SQL`] from the rollup, or [`SENTIMENT_TREND_FROM_BASE_SQL`] when the
    /// zone's offset now is not a whole number of quarter hours (no IANA zone today; a POSIX
    /// zone such as `XYZ-05:20` is one). `Ok(None)` when Postgres does not know the time zone.
    ///
    /// # Errors
    /// [`StoreError`] on any database fault.
    pub async fn sentiment_trend(
        &self,
        days: i32,
        time_zone: &str,
    ) -> Result<Option<Vec<TrendPoint>>, StoreError> {
        let operation = || format!("query the {days}-day sentiment trend");
        let zone_param = &time_zone;
        let offset = match self
            .run(operation, |c| async move {
                c.client
                    .query_one(TIME_ZONE_OFFSET_SQL, &[zone_param])
                    .await
            })
            .await
        {
            Err(StoreError::Query { source, .. })
                if source.code() == Some(&SqlState::INVALID_PARAMETER_VALUE) =>
            {
                return Ok(None);
            }
            other => other?,
        };
        let offset_s: i64 = offset.try_get(0).map_err(|e| StoreError::Query {
            operation: operation(),
            source: e,
        })?;
        let sql = if offset_s % 900 == 0 {
            SENTIMENT_TREND_SQL
        } else {
            SENTIMENT_TREND_FROM_BASE_SQL
        };
        let days_param = &days;
        let rows = self
            .run(operation, |c| async move {
                c.client.query(sql, &[days_param, zone_param]).await
            })
            .await?;
        let read = |e| StoreError::Query {
            operation: operation(),
            source: e,
        };
        rows.iter()
            .map(|row| {
                Ok(TrendPoint {
                    point: SentimentPoint {
                        agent_id: row.try_get(0).map_err(read)?,
                        day: row.try_get(1).map_err(read)?,
                        average_sentiment: row.try_get(2).map_err(read)?,
                    },
                    calls: row.try_get(3).map_err(read)?,
                    date: row.try_get(4).map_err(read)?,
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// Recomputes the sentiment rollup from "Analytics" and "Call" (after a TRUNCATE, a bulk
    /// load with triggers disabled, or to check it); writers wait meanwhile. Returns the number
    /// of buckets.
    ///
    /// # Errors
    /// [`StoreError`] on any database fault.
    pub async fn rebuild_sentiment_rollup(&self) -> Result<i64, StoreError> {
        let operation = || "rebuild the sentiment rollup".to_string();
        let rows = self
            .run(operation, |c| async move {
                c.client
                    .query("SELECT postcall_rollup_rebuild()", &[])
                    .await
            })
            .await?;
        rows.first()
            .map_or(Ok(0), |row| row.try_get(0))
            .map_err(|e| StoreError::Query {
                operation: operation(),
                source: e,
            })
    }

    /// The buckets of the rollup that differ from the base tables: `(agent, hour, stored, from
    /// base)` with each side as `calls/sum; c/s before :15; c/s before :30; c/s before :45`, `-`
    /// where a side has no bucket. Empty when exact.
    ///
    /// # Errors
    /// [`StoreError`] on any database fault.
    pub async fn sentiment_rollup_differences(
        &self,
    ) -> Result<Vec<(String, DateTime<Utc>, String, String)>, StoreError> {
        let operation = || "compare the sentiment rollup with its base tables".to_string();
        let read_all = |sql: &'static str| async move {
            let rows = self
                .run(operation, |c| async move { c.client.query(sql, &[]).await })
                .await?;
            rows.iter()
                .map(|row| {
                    // calls/sum for the hour, then for its calls before minute 15, 30 and 45.
                    let mut parts = Vec::with_capacity(4);
                    for column in [2, 4, 6, 8] {
                        let calls: i64 = row.try_get(column)?;
                        let sum: String = row.try_get(column + 1)?;
                        parts.push(format!("{calls}/{}", normalise_numeric(&sum)));
                    }
                    Ok((
                        (
                            row.try_get::<_, String>(0)?,
                            row.try_get::<_, DateTime<Utc>>(1)?,
                        ),
                        parts.join("; "),
                    ))
                })
                .collect::<Result<std::collections::BTreeMap<_, _>, tokio_postgres::Error>>()
                .map_err(|source| StoreError::Query {
                    operation: operation(),
                    source,
                })
        };
        let stored = read_all(SENTIMENT_ROLLUP_SQL).await?;
        let base = read_all(SENTIMENT_ROLLUP_FROM_BASE_SQL).await?;
        let keys: std::collections::BTreeSet<_> = stored.keys().chain(base.keys()).collect();
        Ok(keys
            .into_iter()
            .filter(|key| stored.get(*key) != base.get(*key))
            .map(|(agent, hour)| {
                let side = |m: &std::collections::BTreeMap<_, String>| {
                    m.get(&(agent.clone(), *hour))
                        .cloned()
                        .unwrap_or_else(|| "-".into())
                };
                (agent.clone(), *hour, side(&stored), side(&base))
            })
            .collect())
    }

    /// One call with its analytics and transcript for the dashboard: [`CALL_DETAIL_SQL`].
    /// `Ok(None)` when no `"Call"` row has this id.
    ///
    /// # Errors
    /// [`StoreError`] on any database fault.
    pub async fn call_detail(&self, call_id: &CallId) -> Result<Option<CallDetail>, StoreError> {
        let operation = || format!("load call {call_id} for the dashboard");
        // One more than shown, to know whether the call was cut.
        let limit = i64::try_from(CALL_DETAIL_MAX_TURNS + 1).unwrap_or(i64::MAX);
        let limit = &limit;
        let rows = self
            .run(operation, |c| async move {
                c.client
                    .query(CALL_DETAIL_SQL, &[&call_id.as_str(), limit])
                    .await
            })
            .await?;
        let Some(first) = rows.first() else {
            return Ok(None);
        };
        let read = |e: tokio_postgres::Error| StoreError::Query {
            operation: operation(),
            source: e,
        };
        let analytics = match first
            .try_get::<_, Option<String>>("analyzer")
            .map_err(read)?
        {
            None => None,
            Some(analyzer) => Some(DetailAnalytics {
                sentiment: first.try_get("sentiment").map_err(read)?,
                lead_score: first.try_get("lead_score").map_err(read)?,
                intent: first.try_get("intent").map_err(read)?,
                entities: first.try_get("entities").map_err(read)?,
                summary: first.try_get("summary").map_err(read)?,
                next_action: first.try_get("next_action").map_err(read)?,
                metrics: first.try_get("metrics").map_err(read)?,
                analyzer,
                computed_at: first.try_get("computed_at").map_err(read)?,
                truncated: first.try_get("truncated").map_err(read)?,
            }),
        };
        let mut turns = Vec::with_capacity(rows.len().min(CALL_DETAIL_MAX_TURNS));
        for row in &rows {
            // The LATERAL join gives a call without turns one row of NULL turn columns.
            let Some(role) = row.try_get::<_, Option<String>>("role").map_err(read)? else {
                continue;
            };
            turns.push(DetailTurn {
                role,
                text: row
                    .try_get::<_, Option<String>>("text")
                    .map_err(read)?
                    .unwrap_or_default(),
                started_at: row.try_get("turn_started_at").map_err(read)?,
                ended_at: row.try_get("turn_ended_at").map_err(read)?,
            });
        }
        let turns_truncated = turns.len() > CALL_DETAIL_MAX_TURNS;
        turns.truncate(CALL_DETAIL_MAX_TURNS);
        Ok(Some(CallDetail {
            call_id: first.try_get("call_id").map_err(read)?,
            from_number: first.try_get("from_number").map_err(read)?,
            agent_id: first.try_get("agent_id").map_err(read)?,
            started_at: first.try_get("call_started_at").map_err(read)?,
            ended_at: first.try_get("call_ended_at").map_err(read)?,
            analytics,
            turns,
            turns_truncated,
        }))
    }

    /// Hot leads among calls that ended since `since`: score at or above the policy's, intent
    /// among its intents; highest score first.
    ///
    /// # Errors
    /// [`StoreError`] on any database fault.
    pub async fn hot_leads_since(
        &self,
        since: DateTime<Utc>,
        policy: &HotLeadPolicy,
    ) -> Result<Vec<TopLead>, StoreError> {
        let operation = || "query hot leads".to_string();
        let min_score = i32::from(policy.min_score.get());
        let intents: Vec<&str> = policy.intents.iter().map(|i| i.as_str()).collect();
        let (min_score, intents) = (&min_score, &intents);
        let rows = self
            .run(operation, |c| async move {
                c.client
                    .query(
                        r#"SELECT c.id, c."fromNumber"::text, a."leadScore", a.intent, a.entities
                           FROM "Call" c JOIN "Analytics" a ON a."callId" = c.id
                           WHERE c."endedAt" > $1 AND a."leadScore" >= $2 AND a.intent = ANY($3)
                           ORDER BY a."leadScore" DESC, c."endedAt" DESC"#,
                        &[&since, min_score, intents],
                    )
                    .await
            })
            .await?;
        rows.iter()
            .map(|row| {
                top_lead(row).map_err(|e| StoreError::Query {
                    operation: operation(),
                    source: e,
                })
            })
            .collect()
    }
}

/// A numeric's text without trailing zeros after the point (`1.50` and `1.5` are one value).
fn normalise_numeric(text: &str) -> String {
    if !text.contains('.') {
        return text.to_owned();
    }
    let trimmed = text.trim_end_matches('0').trim_end_matches('.');
    if trimmed == "-0" || trimmed.is_empty() {
        "0".to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// A row of the top-leads shape: id, number, score, intent, entities.
fn top_lead(row: &tokio_postgres::Row) -> Result<TopLead, tokio_postgres::Error> {
    Ok(TopLead {
        call_id: row.try_get(0)?,
        from_number: row.try_get(1)?,
        lead_score: row.try_get(2)?,
        intent: row.try_get(3)?,
        entities: row.try_get(4)?,
    })
}
