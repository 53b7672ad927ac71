//! Postgres: the one place where postcall's SQL lives.
//!
//! One [`PgStore`] per container holds one `tokio_postgres::Client`, opened on first use and
//! reopened when the server drops it. tokio-postgres pipelines queries that are polled
//! concurrently, so every record of a batch shares that client; each write is one statement
//! (an upsert or a conditional update), so no transaction is needed on the shared connection.
//! Migrations, which do need transactions, open a connection of their own.

use std::{future::Future, str::FromStr, sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use tokio::sync::Mutex;
use tokio_postgres::{config::Host, error::SqlState, Client, NoTls, Statement};
use tracing::{debug, info, warn};

use crate::{
    adapters::secrets::{
        CachedSecret, Fetched, SecretError, SecretsStore, DEFAULT_REFETCH_INTERVAL,
    },
    analysis::AnalysisOutcome,
    config::{CaRoots, DatabaseConfig, DatabaseSource, TlsMode},
    domain::{
        Analysis, CallId, CallMetrics, Entities, HotLeadPolicy, Intent, LeadScore, Role, Sentiment,
        Summary, Turn,
    },
    error::{Classified, ErrorClass},
    secret::Secret,
};

/// One migration: a version, a name and its SQL.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// Applied in ascending order; recorded in `postcall_schema_migrations`.
    pub version: i32,
    /// File name without the number.
    pub name: &'static str,
    /// The SQL, run in one transaction.
    pub sql: &'static str,
}

/// The migrations in `migrations/`, compiled in so that a function can apply them at cold start.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "call_and_turn",
        sql: include_str!("../../../migrations/0001_call_and_turn.sql"),
    },
    Migration {
        version: 2,
        name: "analytics",
        sql: include_str!("../../../migrations/0002_analytics.sql"),
    },
    Migration {
        version: 3,
        name: "dashboard_indexes",
        sql: include_str!("../../../migrations/0003_dashboard_indexes.sql"),
    },
    Migration {
        version: 4,
        name: "notification",
        sql: include_str!("../../../migrations/0004_notification.sql"),
    },
    Migration {
        version: 5,
        name: "backfill",
        sql: include_str!("../../../migrations/0005_backfill.sql"),
    },
    Migration {
        version: 6,
        name: "top_leads_index",
        sql: include_str!("../../../migrations/0006_top_leads_index.sql"),
    },
    Migration {
        version: 7,
        name: "sentiment_rollup",
        sql: include_str!("../../../migrations/0007_sentiment_rollup.sql"),
    },
    Migration {
        version: 8,
        name: "top_leads_by_end_time",
        sql: include_str!("../../../migrations/0008_top_leads_by_end_time.sql"),
    },
];

/// A Postgres operation failed. Every variant is transient: a database that is down, slow or
/// misconfigured comes back, and the message is retried meanwhile.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Connecting (or preparing statements on a new connection) failed.
    #[error("connect to postgres at {target}")]
    Connect {
        /// Host and database name: never the password.
        target: String,
        /// The driver's error.
        #[source]
        source: tokio_postgres::Error,
    },
    /// A statement failed.
    #[error("{operation}")]
    Query {
        /// What was being done, with the call id.
        operation: String,
        /// The driver's error.
        #[source]
        source: tokio_postgres::Error,
    },
    /// A statement or a connect took longer than its timeout.
    #[error("{operation}: timed out after {timeout_ms} ms")]
    Timeout {
        /// What was being done.
        operation: String,
        /// The timeout.
        timeout_ms: u128,
    },
    /// The TLS configuration could not be built (bad CA bundle).
    #[error("postgres tls setup: {0}")]
    Tls(String),
    /// The credentials secret could not be fetched.
    #[error("fetch database credentials")]
    Credentials(#[from] SecretError),
    /// The credentials secret is not in the RDS format.
    #[error("database secret is not in the RDS format: {0}")]
    SecretFormat(String),
    /// A load or write shared by the records of a batch failed: each carries the one error.
    #[error("the batch's shared database round trip failed")]
    Batch(#[source] Arc<StoreError>),
}

impl Classified for StoreError {
    fn class(&self) -> ErrorClass {
        match self {
            StoreError::Connect { .. }
            | StoreError::Query { .. }
            | StoreError::Timeout { .. }
            | StoreError::Tls(_)
            | StoreError::Credentials(_)
            | StoreError::SecretFormat(_) => ErrorClass::Transient,
            StoreError::Batch(shared) => shared.class(),
        }
    }

    fn code(&self) -> &'static str {
        "Database"
    }
}

/// A call as stored: its facts, its turns in order and its current analytics row, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredCall {
    /// The caller's number.
    pub from_number: Option<String>,
    /// The agent.
    pub agent_id: Option<String>,
    /// When the call ended.
    pub ended_at: Option<DateTime<Utc>>,
    /// Turns ordered by start time, then id.
    pub turns: Vec<Turn>,
    /// The analytics row, when the call was analyzed before.
    pub analytics: Option<StoredAnalytics>,
}

/// The parts of an `"Analytics"` row that decide whether to analyze again and to publish.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredAnalytics {
    /// Hash of the transcript that was analyzed.
    pub transcript_hash: Option<String>,
    /// Analyzer that produced the row.
    pub analyzer: String,
    /// Its prompt version.
    pub prompt_version: Option<String>,
    /// When the hot-lead message was published.
    pub hot_published_at: Option<DateTime<Utc>>,
    /// The stored analysis; `None` when a value no longer parses (a row from an older writer).
    pub analysis: Option<Analysis>,
}

/// One `"Analytics"` row, as [`PgStore::upsert_analysis`] and [`PgStore::upsert_analyses`]
/// write it. Owned, so that the records of a batch can queue their rows for one shared write
/// ([`crate::round_trip_group`]).
#[derive(Debug, Clone)]
pub struct AnalyticsRecord {
    /// The call.
    pub call_id: CallId,
    /// The analysis and how it was made.
    pub outcome: AnalysisOutcome,
    /// Hash of the full transcript.
    pub transcript_hash: String,
    /// Characters of the full transcript.
    pub transcript_chars: usize,
    /// Whether only the capped form was analyzed.
    pub truncated: bool,
    /// Deterministic call metrics.
    pub metrics: CallMetrics,
    /// Time the analyzer took.
    pub latency_ms: u64,
    /// The call's agent and end time as loaded: the rollup bucket its row's triggers update.
    /// A group write takes its rows in bucket order, so two containers writing overlapping
    /// buckets lock them in the same order and cannot deadlock.
    pub bucket: (Option<String>, Option<DateTime<Utc>>),
}

/// Result of trying to take the right to publish a call's hot-lead message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HotClaim {
    /// This invocation holds the lease: publish, then [`PgStore::mark_hot_published`].
    Claimed,
    /// The message was published before.
    AlreadyPublished,
    /// Another invocation holds an unexpired lease.
    HeldElsewhere,
}

/// A call to write with [`PgStore::upsert_call`].
#[derive(Debug, Clone)]
pub struct NewCall {
    /// The call's id.
    pub id: String,
    /// The caller's number.
    pub from_number: Option<String>,
    /// The agent.
    pub agent_id: Option<String>,
    /// When the call started.
    pub started_at: Option<DateTime<Utc>>,
    /// When it ended.
    pub ended_at: Option<DateTime<Utc>>,
    /// Its turns.
    pub turns: Vec<NewTurn>,
}

/// One turn of a [`NewCall`].
#[derive(Debug, Clone)]
pub struct NewTurn {
    /// The turn's id.
    pub id: String,
    /// The role as the bridge spells it.
    pub role: String,
    /// What was said.
    pub text: String,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it ended.
    pub ended_at: Option<DateTime<Utc>>,
}

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
/// hourly rollup (migration 0007, kept exact by triggers), so its cost does not grow with the
/// number of calls. Right only for a zone whose offset from UTC is whole hours: for the others
/// (Asia/Kolkata, +05:30) [`PgStore::sentiment_trend`] runs [`SENTIMENT_TREND_FROM_BASE_SQL`]
/// instead ([`TIME_ZONE_OFFSET_SQL`] tells which). A call without an agent has a NULL agent, as
/// in the seed's query.
pub const SENTIMENT_TREND_SQL: &str = r#"SELECT NULLIF(d.agent, '') AS agent_id, d.local_day AT TIME ZONE $2::text AS day,
       (d.sentiment_sum / d.calls)::double precision AS avg_sent, d.calls,
       to_char(d.local_day, 'YYYY-MM-DD') AS local_date
FROM (
    SELECT r."agentId" AS agent, date_trunc('day', r.hour AT TIME ZONE $2::text) AS local_day,
           sum(r."sentimentSum") AS sentiment_sum, sum(r.calls)::bigint AS calls
    FROM "SentimentRollup" r
    WHERE r.hour >= (date_trunc('day', now() AT TIME ZONE $2::text) - make_interval(days => $1 - 1))
                     AT TIME ZONE $2::text
    GROUP BY 1, 2
) d
ORDER BY 1, 2"#;

/// The session settings the README gives the dashboard's role (`ALTER ROLE postcall_dashboard
/// SET …`), as `SET` statements for a session that plays that role (the benchmark). Its queries
/// are small: on a 2-core database starting parallel workers or JIT-compiling a plan costs more
/// than running them (top leads: 51 ms with parallel workers, 9 ms without, at 1 M calls).
pub const DASHBOARD_ROLE_SETTINGS_SQL: &str =
    "SET jit = off; SET max_parallel_workers_per_gather = 0";

/// A zone's offset from UTC now, in seconds (`$1` the zone); an unknown zone is an error with
/// SQLSTATE 22023.
pub const TIME_ZONE_OFFSET_SQL: &str = r#"SELECT extract(epoch FROM (now() AT TIME ZONE $1::text) - (now() AT TIME ZONE 'UTC'))::bigint"#;

/// [`SENTIMENT_TREND_SQL`]'s answer computed from "Call" and "Analytics" alone, whatever the
/// zone (`$1` days, `$2` zone): what the rollup's answer must equal (tests compare them), and
/// the trend of a zone whose offset is not whole hours, as slow as the seed's query.
pub const SENTIMENT_TREND_FROM_BASE_SQL: &str = r#"SELECT c."agentId"::text,
       ((c."endedAt"::timestamptz AT TIME ZONE $2::text)::date::timestamp AT TIME ZONE $2::text),
       avg(a.sentiment), count(*),
       to_char((c."endedAt"::timestamptz AT TIME ZONE $2::text)::date, 'YYYY-MM-DD')
FROM "Call" c JOIN "Analytics" a ON a."callId" = c.id
WHERE c."endedAt" >= (date_trunc('day', now() AT TIME ZONE $2::text) - make_interval(days => $1 - 1))
                     AT TIME ZONE $2::text
GROUP BY 1, 2, 5
ORDER BY 1, 2"#;

/// What the rollup must equal: per agent ('' for none) and UTC hour, the analysed calls and
/// their sentiment sum, computed from the base tables (the property test and `postcall rollup
/// check` compare the two).
pub const SENTIMENT_ROLLUP_FROM_BASE_SQL: &str = r#"SELECT coalesce(c."agentId"::text, '') AS agent_id,
       date_trunc('hour', c."endedAt"::timestamptz AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS hour,
       count(*)::bigint AS calls, sum(a.sentiment::numeric)::text AS sentiment_sum
FROM "Analytics" a JOIN "Call" c ON c.id = a."callId"
WHERE c."endedAt" IS NOT NULL
GROUP BY 1, 2 ORDER BY 2, 1"#;

/// The rollup as stored, in the shape of [`SENTIMENT_ROLLUP_FROM_BASE_SQL`].
pub const SENTIMENT_ROLLUP_SQL: &str = r#"SELECT "agentId" AS agent_id, hour, calls,
       "sentimentSum"::text AS sentiment_sum
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

/// Result of [`PgStore::claim_notification`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotificationClaim {
    /// This invocation may post; `attempt` counts from 1.
    Claimed {
        /// Which attempt this is.
        attempt: u32,
    },
    /// Posted before: post nothing.
    AlreadySent,
    /// Refused permanently before: post nothing.
    AlreadyFailed,
    /// Another invocation holds a live claim.
    InProgress,
}

/// How a claimed notification ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotificationOutcome {
    /// Posted.
    Sent,
    /// Failed transiently; the next delivery may claim it.
    Retry,
    /// Refused permanently.
    Failed,
}

/// What [`PgStore::backfill_page`] selects.
#[derive(Debug, Clone)]
pub struct BackfillQuery<'a> {
    /// Calls that ended after this.
    pub since: DateTime<Utc>,
    /// …and at or before this (now minus the grace period, at most).
    pub until: DateTime<Utc>,
    /// Only this agent's calls.
    pub agent_id: Option<&'a str>,
    /// Also calls analyzed by another analyzer or prompt version, and given-up calls.
    pub reanalyze: bool,
    /// Attempts after which a call without analytics is left alone.
    pub max_attempts: u32,
    /// The analyzer now configured.
    pub current_analyzer: &'a str,
    /// Its prompt version.
    pub current_prompt_version: Option<&'a str>,
    /// Rows per page.
    pub page_size: usize,
}

/// Where a backfill run stopped: the last (`"endedAt"`, id) it handled.
#[derive(Debug, Clone, PartialEq)]
pub struct BackfillCursor {
    /// `"endedAt"` of the last call handled.
    pub ended_at: DateTime<Utc>,
    /// Its id.
    pub call_id: String,
}

/// A call the backfill selected.
#[derive(Debug, Clone, PartialEq)]
pub struct BackfillCandidate {
    /// The call.
    pub call_id: String,
    /// When it ended.
    pub ended_at: DateTime<Utc>,
}

/// The selection of [`PgStore::backfill_page`] without `reanalyze` (public for EXPLAIN in
/// tests and benchmarks). Two anti-joins, so each page is a range scan of
/// `"Call_endedAt_id_idx"` from the cursor with primary-key probes.
pub const BACKFILL_PAGE_SQL: &str = r#"SELECT c.id::text, c."endedAt"::timestamptz
FROM "Call" c
WHERE (c."endedAt", c.id) > ($1, $2::text) AND c."endedAt" > $3 AND c."endedAt" <= $4
  AND ($5::text IS NULL OR c."agentId" = $5)
  AND NOT EXISTS (SELECT 1 FROM "Analytics" a WHERE a."callId" = c.id)
  AND NOT EXISTS (SELECT 1 FROM "BackfillAttempt" b WHERE b."callId" = c.id AND b.attempts >= $6)
ORDER BY c."endedAt", c.id
LIMIT $7"#;

/// The `reanalyze` selection: calls with no analytics whatever their attempts, and calls whose
/// row another analyzer or prompt version made.
const BACKFILL_REANALYZE_PAGE_SQL: &str = r#"SELECT c.id::text, c."endedAt"::timestamptz
FROM "Call" c
LEFT JOIN "Analytics" a ON a."callId" = c.id
WHERE (c."endedAt", c.id) > ($1, $2::text) AND c."endedAt" > $3 AND c."endedAt" <= $4
  AND ($5::text IS NULL OR c."agentId" = $5)
  AND (a."callId" IS NULL OR a.analyzer <> $6 OR a."promptVersion" IS DISTINCT FROM $7::text)
ORDER BY c."endedAt", c.id
LIMIT $8"#;

struct PreparedStatements {
    fetch_calls: Statement,
    upsert_analyses: Statement,
    claim_hot: Statement,
    hot_published: Statement,
    mark_hot_published: Statement,
    release_hot_claim: Statement,
}

struct PgConnection {
    client: Client,
    statements: PreparedStatements,
}

/// Where the connection's credentials come from.
enum Credentials {
    /// `DATABASE_URL`.
    Url(Secret<String>),
    /// An RDS-format secret, cached and fetched again when Postgres rejects its password.
    Secret(Box<CachedSecret<tokio_postgres::Config>>),
}

/// The Postgres adapter: a lazily opened, self-healing connection and postcall's queries.
pub struct PgStore {
    config: DatabaseConfig,
    credentials: Credentials,
    connection: Mutex<Option<Arc<PgConnection>>>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl PgStore {
    /// A store that connects on first use. `secrets` is needed when the config names a
    /// `DATABASE_SECRET_ARN`.
    pub fn new(config: DatabaseConfig, secrets: Option<SecretsStore>) -> Self {
        Self {
            credentials: match &config.source {
                DatabaseSource::Url(url) => Credentials::Url(url.clone()),
                DatabaseSource::SecretArn(arn) => Credentials::Secret(Box::new(CachedSecret::new(
                    arn.clone(),
                    secrets,
                    |raw| rds_secret_config(raw).map_err(|e| e.to_string()),
                    DEFAULT_REFETCH_INTERVAL,
                ))),
            },
            config,
            connection: Mutex::new(None),
        }
    }

    /// Loads a call, its turns in order and its analytics row in one query. `Ok(None)` when
    /// no `"Call"` row has this id.
    ///
    /// # Errors
    /// [`StoreError`] on any database fault.
    pub async fn fetch_call(&self, call_id: &CallId) -> Result<Option<StoredCall>, StoreError> {
        let mut calls = self.fetch_calls(std::slice::from_ref(call_id)).await?;
        Ok(calls.pop().flatten())
    }

    /// Loads the calls of a batch, each with its turns in order and its analytics row, in one
    /// query: one entry per id, in order, `None` where no `"Call"` row has the id.
    ///
    /// # Errors
    /// [`StoreError`] on any database fault.
    pub async fn fetch_calls(
        &self,
        call_ids: &[CallId],
    ) -> Result<Vec<Option<StoredCall>>, StoreError> {
        let operation = || match call_ids {
            [one] => format!("load call {one}"),
            _ => format!("load {} calls", call_ids.len()),
        };
        let ids: Vec<&str> = call_ids.iter().map(CallId::as_str).collect();
        let ids = &ids;
        let rows = self
            .run(operation, |c| async move {
                c.client.query(&c.statements.fetch_calls, &[ids]).await
            })
            .await?;
        let read = |e: tokio_postgres::Error| StoreError::Query {
            operation: operation(),
            source: e,
        };
        // Rows come grouped by call, turns in order within each.
        let mut loaded: std::collections::HashMap<String, StoredCall> =
            std::collections::HashMap::with_capacity(call_ids.len());
        let mut start = 0;
        while start < rows.len() {
            let id: String = rows[start].try_get("call_id").map_err(read)?;
            let mut end = start + 1;
            while end < rows.len() && rows[end].try_get::<_, String>("call_id").map_err(read)? == id
            {
                end += 1;
            }
            loaded.insert(id, stored_call(&rows[start..end]).map_err(read)?);
            start = end;
        }
        Ok(call_ids
            .iter()
            .map(|id| loaded.get(id.as_str()).cloned())
            .collect())
    }

    /// Inserts or replaces the call's analytics row (one statement). `"hotPublishedAt"` is
    /// left as it was, so a re-analysis never publishes a second hot-lead message.
    ///
    /// # Errors
    /// [`StoreError`] on any database fault.
    #[tracing::instrument(skip_all, fields(call_id = %record.call_id))]
    pub async fn upsert_analysis(&self, record: &AnalyticsRecord) -> Result<(), StoreError> {
        let columns = AnalyticsColumns::of(std::slice::from_ref(record));
        let params = columns.params();
        let params = &params;
        self.run(
            || format!("upsert analytics for call {}", record.call_id),
            |c| async move {
                c.client
                    .execute(&c.statements.upsert_analyses, params)
                    .await
            },
        )
        .await?;
        Ok(())
    }

    /// Writes a batch's analytics rows in one multi-row statement: one round trip and one
    /// commit. Returns one result per record, in order. Rows for the same call are written
    /// once (the last one wins; both records succeed). When Postgres rejects the statement for
    /// what may be one row's fault (a constraint, a data error, a trigger that raised), the
    /// statement has rolled back as a whole and every row is written again on its own, so that
    /// only the rejected record fails; a connection failure, a timeout or a server in trouble
    /// fails every record of the batch, to be retried.
    pub async fn upsert_analyses(
        &self,
        records: &[AnalyticsRecord],
    ) -> Vec<Result<(), StoreError>> {
        if records.len() <= 1 {
            let mut results = Vec::with_capacity(1);
            for record in records {
                results.push(self.upsert_analysis(record).await);
            }
            return results;
        }
        // One row per call, in rollup-bucket order (see `AnalyticsRecord::bucket`).
        let mut order: Vec<usize> = (0..records.len()).collect();
        order.sort_by(|&a, &b| {
            let key = |i: usize| (&records[i].bucket, records[i].call_id.as_str());
            key(a).cmp(&key(b))
        });
        let mut unique: Vec<AnalyticsRecord> = Vec::with_capacity(records.len());
        for &index in &order {
            let record = &records[index];
            match unique.last_mut() {
                Some(last) if last.call_id == record.call_id => *last = record.clone(),
                _ => unique.push(record.clone()),
            }
        }
        let columns = AnalyticsColumns::of(&unique);
        let params = columns.params();
        let params = &params;
        let written = self
            .run(
                || format!("upsert analytics for {} calls", unique.len()),
                |c| async move {
                    c.client
                        .execute(&c.statements.upsert_analyses, params)
                        .await
                },
            )
            .await;
        match written {
            Ok(_) => records.iter().map(|_| Ok(())).collect(),
            Err(error) if may_be_one_rows_fault(&error) => {
                warn!(error = %crate::error::cause_chain(&error), rows = unique.len(),
                    "postgres rejected a row of the batch's analytics write; writing each row on its own");
                let mut results = Vec::with_capacity(records.len());
                for record in records {
                    results.push(self.upsert_analysis(record).await);
                }
                results
            }
            Err(error) => {
                let shared = Arc::new(error);
                records
                    .iter()
                    .map(|_| Err(StoreError::Batch(Arc::clone(&shared))))
                    .collect()
            }
        }
    }

    /// Takes a lease of `lease` on publishing the call's hot-lead message, unless it was
    /// published already or another invocation holds an unexpired lease.
    ///
    /// # Errors
    /// [`StoreError`] on any database fault.
    pub async fn claim_hot_publish(
        &self,
        call_id: &CallId,
        lease: Duration,
    ) -> Result<HotClaim, StoreError> {
        let lease_secs = lease.as_secs_f64();
        let lease_secs = &lease_secs;
        let claimed = self
            .run(
                || format!("claim hot-lead publish for call {call_id}"),
                |c| async move {
                    c.client
                        .query_opt(&c.statements.claim_hot, &[&call_id.as_str(), lease_secs])
                        .await
                },
            )
            .await?;
        if claimed.is_some() {
            return Ok(HotClaim::Claimed);
        }
        let published = self
            .run(
                || format!("read hot-lead state of call {call_id}"),
                |c| async move {
                    c.client
                        .query_opt(&c.statements.hot_published, &[&call_id.as_str()])
                        .await
                },
            )
            .await?;
        let is_published = published
            .map(|row| row.try_get::<_, bool>(0))
            .transpose()
            .map_err(|e| StoreError::Query {
                operation: format!("read hot-lead state of call {call_id}"),
                source: e,
            })?
            .unwrap_or(false);
        Ok(if is_published {
            HotClaim::AlreadyPublished
        } else {
            HotClaim::HeldElsewhere
        })
    }

    /// Records that the hot-lead message was published and drops the lease.
    ///
    /// # Errors
    /// [`StoreError`] on any database fault.
    pub async fn mark_hot_published(&self, call_id: &CallId) -> Result<(), StoreError> {
        self.run(
            || format!("mark hot lead published for call {call_id}"),
            |c| async move {
                c.client
                    .execute(&c.statements.mark_hot_published, &[&call_id.as_str()])
                    .await
            },
        )
        .await?;
        Ok(())
    }

    /// Drops the lease after a failed publish, so that the retry can publish at once.
    ///
    /// # Errors
    /// [`StoreError`] on any database fault.
    pub async fn release_hot_claim(&self, call_id: &CallId) -> Result<(), StoreError> {
        self.run(
            || format!("release hot-lead claim for call {call_id}"),
            |c| async move {
                c.client
                    .execute(&c.statements.release_hot_claim, &[&call_id.as_str()])
                    .await
            },
        )
        .await?;
        Ok(())
    }

    /// Writes a call and its turns as a voice bridge would (the demo, benchmarks and tests);
    /// an existing call or turn with the same id is updated, so loading twice is safe.
    ///
    /// # Errors
    /// [`StoreError`] on any database fault.
    pub async fn upsert_call(&self, call: &NewCall) -> Result<(), StoreError> {
        let ids: Vec<&str> = call.turns.iter().map(|t| t.id.as_str()).collect();
        let roles: Vec<&str> = call.turns.iter().map(|t| t.role.as_str()).collect();
        let texts: Vec<&str> = call.turns.iter().map(|t| t.text.as_str()).collect();
        let starts: Vec<DateTime<Utc>> = call.turns.iter().map(|t| t.started_at).collect();
        let ends: Vec<Option<DateTime<Utc>>> = call.turns.iter().map(|t| t.ended_at).collect();
        let (ids, roles, texts, starts, ends) = (&ids, &roles, &texts, &starts, &ends);
        self.run(
            || format!("upsert call {}", call.id),
            |c| async move {
                c.client
                    .execute(
                        r#"INSERT INTO "Call" (id, "fromNumber", "agentId", "startedAt", "endedAt")
                           VALUES ($1, $2, $3, $4, $5)
                           ON CONFLICT (id) DO UPDATE SET "fromNumber" = EXCLUDED."fromNumber",
                               "agentId" = EXCLUDED."agentId", "startedAt" = EXCLUDED."startedAt",
                               "endedAt" = EXCLUDED."endedAt""#,
                        &[
                            &call.id,
                            &call.from_number,
                            &call.agent_id,
                            &call.started_at,
                            &call.ended_at,
                        ],
                    )
                    .await
            },
        )
        .await?;
        self.run(
            || format!("upsert turns of call {}", call.id),
            |c| async move {
                c.client
                    .execute(
                        r#"INSERT INTO "Turn" (id, "callId", role, text, "startedAt", "endedAt")
                           SELECT t.id, $1, t.role, t.text, t.started, t.ended
                           FROM unnest($2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::timestamptz[])
                                AS t(id, role, text, started, ended)
                           ON CONFLICT (id) DO UPDATE SET role = EXCLUDED.role, text = EXCLUDED.text,
                               "startedAt" = EXCLUDED."startedAt", "endedAt" = EXCLUDED."endedAt""#,
                        &[&call.id, ids, roles, texts, starts, ends],
                    )
                    .await
            },
        )
        .await?;
        Ok(())
    }

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
    /// [`SENTIMENT_TREND_SQL`]. `Ok(None)` when Postgres does not know the time zone.
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
        let sql = if offset_s % 3600 == 0 {
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
    /// base)` with each side as `calls/sum`, `-` where a side has no bucket. Empty when exact.
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
                    let calls: i64 = row.try_get(2)?;
                    let sum: String = row.try_get(3)?;
                    Ok((
                        (
                            row.try_get::<_, String>(0)?,
                            row.try_get::<_, DateTime<Utc>>(1)?,
                        ),
                        format!("{calls}/{}", normalise_numeric(&sum)),
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

    /// Claims the right to notify `channel` about a call, for `lease`: in one statement, a new
    /// row, a row whose last attempt failed transiently, or one whose holder's lease expired.
    ///
    /// # Errors
    /// [`StoreError`] on any database fault.
    pub async fn claim_notification(
        &self,
        call_id: &CallId,
        channel: &str,
        lease: Duration,
    ) -> Result<NotificationClaim, StoreError> {
        let lease_secs = lease.as_secs_f64();
        let lease_secs = &lease_secs;
        let claimed = self
            .run(
                || format!("claim notification of call {call_id}"),
                |c| async move {
                    c.client
                        .query_opt(
                            r#"INSERT INTO "Notification" ("callId", channel, status, attempts, "leaseExpiresAt")
                               VALUES ($1, $2, 'sending', 1, now() + make_interval(secs => $3))
                               ON CONFLICT ("callId", channel) DO UPDATE
                                 SET status = 'sending', attempts = "Notification".attempts + 1,
                                     "leaseExpiresAt" = EXCLUDED."leaseExpiresAt", "updatedAt" = now()
                                 WHERE "Notification".status = 'retry'
                                    OR ("Notification".status = 'sending' AND "Notification"."leaseExpiresAt" < now())
                               RETURNING attempts"#,
                            &[&call_id.as_str(), &channel, lease_secs],
                        )
                        .await
                },
            )
            .await?;
        if let Some(row) = claimed {
            let attempt: i32 = row.try_get(0).map_err(|e| StoreError::Query {
                operation: format!("claim notification of call {call_id}"),
                source: e,
            })?;
            return Ok(NotificationClaim::Claimed {
                attempt: u32::try_from(attempt).unwrap_or(1),
            });
        }
        let row = self
            .run(
                || format!("read notification of call {call_id}"),
                |c| async move {
                    c.client
                        .query_opt(
                            r#"SELECT status FROM "Notification" WHERE "callId" = $1 AND channel = $2"#,
                            &[&call_id.as_str(), &channel],
                        )
                        .await
                },
            )
            .await?;
        let status: Option<String> =
            row.map(|r| r.try_get(0))
                .transpose()
                .map_err(|e| StoreError::Query {
                    operation: format!("read notification of call {call_id}"),
                    source: e,
                })?;
        Ok(match status.as_deref() {
            Some("sent") => NotificationClaim::AlreadySent,
            Some("failed") => NotificationClaim::AlreadyFailed,
            // 'sending' with a live lease; a row deleted meanwhile is retried the same way.
            _ => NotificationClaim::InProgress,
        })
    }

    /// Ends a claim: `sent`, `retry` (transient failure, claimable again at once) or `failed`
    /// (permanent), with the error to keep.
    ///
    /// # Errors
    /// [`StoreError`] on any database fault.
    pub async fn finish_notification(
        &self,
        call_id: &CallId,
        channel: &str,
        outcome: NotificationOutcome,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        let status = match outcome {
            NotificationOutcome::Sent => "sent",
            NotificationOutcome::Retry => "retry",
            NotificationOutcome::Failed => "failed",
        };
        let error: Option<String> = error.map(|e| e.chars().take(1000).collect());
        let error = &error;
        self.run(
            || format!("record notification {status} for call {call_id}"),
            |c| async move {
                c.client
                    .execute(
                        r#"UPDATE "Notification"
                           SET status = $3, "lastError" = $4, "leaseExpiresAt" = NULL, "updatedAt" = now(),
                               "sentAt" = CASE WHEN $3 = 'sent' THEN now() ELSE "sentAt" END
                           WHERE "callId" = $1 AND channel = $2"#,
                        &[&call_id.as_str(), &channel, &status, error],
                    )
                    .await
            },
        )
        .await?;
        Ok(())
    }

    /// One keyset page of calls to backfill, ordered by (`"endedAt"`, id), after `after`.
    /// Without `reanalyze`: calls with no analytics row whose backfill attempts are below
    /// `max_attempts`. With it: those regardless of attempts, plus calls whose row was made by
    /// another analyzer or prompt version than `current`.
    ///
    /// # Errors
    /// [`StoreError`] on any database fault.
    pub async fn backfill_page(
        &self,
        query: &BackfillQuery<'_>,
        after: Option<&BackfillCursor>,
    ) -> Result<Vec<BackfillCandidate>, StoreError> {
        // Without a cursor the range starts at `since` itself (every id sorts after "").
        let (from_ended, from_id) = match after {
            Some(cursor) => (cursor.ended_at, cursor.call_id.as_str()),
            None => (query.since, ""),
        };
        let page_size = i64::try_from(query.page_size).unwrap_or(i64::MAX);
        let max_attempts = i32::try_from(query.max_attempts).unwrap_or(i32::MAX);
        let rows = if query.reanalyze {
            let params: [&(dyn tokio_postgres::types::ToSql + Sync); 8] = [
                &from_ended,
                &from_id,
                &query.since,
                &query.until,
                &query.agent_id,
                &query.current_analyzer,
                &query.current_prompt_version,
                &page_size,
            ];
            let params = &params;
            self.run(
                || "select a reanalyze page".to_string(),
                |c| async move { c.client.query(BACKFILL_REANALYZE_PAGE_SQL, params).await },
            )
            .await?
        } else {
            let params: [&(dyn tokio_postgres::types::ToSql + Sync); 7] = [
                &from_ended,
                &from_id,
                &query.since,
                &query.until,
                &query.agent_id,
                &max_attempts,
                &page_size,
            ];
            let params = &params;
            self.run(
                || "select a backfill page".to_string(),
                |c| async move { c.client.query(BACKFILL_PAGE_SQL, params).await },
            )
            .await?
        };
        let read = |e| StoreError::Query {
            operation: "read a backfill page".into(),
            source: e,
        };
        rows.iter()
            .map(|row| {
                Ok(BackfillCandidate {
                    call_id: row.try_get(0).map_err(read)?,
                    ended_at: row.try_get(1).map_err(read)?,
                })
            })
            .collect()
    }

    /// Calls in the window with no analytics that reached `max_attempts`: what the backfill
    /// leaves alone until someone asks with `reanalyze`.
    ///
    /// # Errors
    /// [`StoreError`] on any database fault.
    pub async fn count_given_up(&self, query: &BackfillQuery<'_>) -> Result<u64, StoreError> {
        let max_attempts = i32::try_from(query.max_attempts).unwrap_or(i32::MAX);
        let (since, until, agent, max_attempts) =
            (&query.since, &query.until, &query.agent_id, &max_attempts);
        let row = self
            .run(
                || "count given-up calls".to_string(),
                |c| async move {
                    c.client
                        .query_one(
                            r#"SELECT count(*) FROM "BackfillAttempt" b JOIN "Call" c ON c.id = b."callId"
                               WHERE b.attempts >= $4 AND c."endedAt" > $1 AND c."endedAt" <= $2
                                 AND ($3::text IS NULL OR c."agentId" = $3)
                                 AND NOT EXISTS (SELECT 1 FROM "Analytics" a WHERE a."callId" = c.id)"#,
                            &[since, until, agent, max_attempts],
                        )
                        .await
                },
            )
            .await?;
        let count: i64 = row.try_get(0).map_err(|e| StoreError::Query {
            operation: "count given-up calls".into(),
            source: e,
        })?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    /// Counts one more backfill attempt for each call, unless one was counted less than
    /// `min_interval` ago: a duplicate scheduled delivery or two overlapping runs enqueue a
    /// call twice within seconds, and must not use up its attempts early.
    ///
    /// # Errors
    /// [`StoreError`] on any database fault.
    pub async fn record_backfill_attempts(
        &self,
        call_ids: &[&str],
        min_interval: Duration,
    ) -> Result<(), StoreError> {
        if call_ids.is_empty() {
            return Ok(());
        }
        let interval_secs = min_interval.as_secs_f64();
        self.run(
            || format!("record backfill attempts of {} calls", call_ids.len()),
            |c| async move {
                c.client
                    .execute(
                        r#"INSERT INTO "BackfillAttempt" ("callId", attempts, "lastEnqueuedAt")
                           SELECT id, 1, now() FROM unnest($1::text[]) AS id
                           ON CONFLICT ("callId") DO UPDATE
                             SET attempts = "BackfillAttempt".attempts + 1, "lastEnqueuedAt" = now()
                             WHERE "BackfillAttempt"."lastEnqueuedAt" IS NULL
                                OR "BackfillAttempt"."lastEnqueuedAt"
                                   <= now() - make_interval(secs => $2::float8)"#,
                        &[&call_ids, &interval_secs],
                    )
                    .await
            },
        )
        .await?;
        Ok(())
    }

    /// Applies the migrations not yet recorded in `postcall_schema_migrations`, each in its own
    /// transaction, under an advisory lock so that concurrent cold starts apply each once.
    /// Returns the versions applied now.
    ///
    /// # Errors
    /// [`StoreError`] when connecting or a migration fails (that migration is rolled back).
    pub async fn migrate(&self) -> Result<Vec<i32>, StoreError> {
        let mut client = self.open_client().await?;
        let fail = |operation: &str| {
            let operation = operation.to_owned();
            move |source| StoreError::Query { operation, source }
        };
        // The lock is per session and released when this connection closes at the end.
        client
            .batch_execute(
                "SELECT pg_advisory_lock(7412019) ;
                 CREATE TABLE IF NOT EXISTS postcall_schema_migrations (
                     version integer PRIMARY KEY,
                     name text NOT NULL,
                     applied_at timestamptz NOT NULL DEFAULT now())",
            )
            .await
            .map_err(fail("lock and create postcall_schema_migrations"))?;
        let applied: Vec<i32> = client
            .query("SELECT version FROM postcall_schema_migrations", &[])
            .await
            .map_err(fail("read applied migrations"))?
            .iter()
            .map(|row| row.get(0))
            .collect();
        let mut now_applied = Vec::new();
        for migration in MIGRATIONS.iter().filter(|m| !applied.contains(&m.version)) {
            let operation = format!("apply migration {} ({})", migration.version, migration.name);
            let tx = client.transaction().await.map_err(fail(&operation))?;
            tx.batch_execute(migration.sql)
                .await
                .map_err(fail(&operation))?;
            tx.execute(
                "INSERT INTO postcall_schema_migrations (version, name) VALUES ($1, $2)",
                &[&migration.version, &migration.name],
            )
            .await
            .map_err(fail(&operation))?;
            tx.commit().await.map_err(fail(&operation))?;
            info!(
                version = migration.version,
                name = migration.name,
                "migration applied"
            );
            now_applied.push(migration.version);
        }
        Ok(now_applied)
    }

    /// Runs `query` on the shared connection with the query timeout. When the connection turns
    /// out to be closed (the server restarted, an admin terminated it, the container was frozen
    /// past the server's idle timeout), it reconnects and runs the query once more: every
    /// statement here is idempotent, so the second run is safe.
    async fn run<T, F, Fut>(
        &self,
        operation: impl Fn() -> String,
        query: F,
    ) -> Result<T, StoreError>
    where
        F: Fn(Arc<PgConnection>) -> Fut,
        Fut: Future<Output = Result<T, tokio_postgres::Error>>,
    {
        let timeout = self.config.query_timeout;
        let connection = self.connection().await?;
        let first = tokio::time::timeout(timeout, query(connection.clone())).await;
        let source = match first {
            Ok(Ok(value)) => return Ok(value),
            Err(_) => {
                return Err(StoreError::Timeout {
                    operation: operation(),
                    timeout_ms: timeout.as_millis(),
                })
            }
            Ok(Err(source)) => source,
        };
        if !ends_connection(&source) && !connection.client.is_closed() {
            return Err(StoreError::Query {
                operation: operation(),
                source,
            });
        }
        warn!(error = %source, "postgres connection was closed; reconnecting once");
        self.forget(&connection).await;
        let connection = self.connection().await?;
        match tokio::time::timeout(timeout, query(connection)).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(source)) => Err(StoreError::Query {
                operation: operation(),
                source,
            }),
            Err(_) => Err(StoreError::Timeout {
                operation: operation(),
                timeout_ms: timeout.as_millis(),
            }),
        }
    }

    async fn connection(&self) -> Result<Arc<PgConnection>, StoreError> {
        let mut slot = self.connection.lock().await;
        if let Some(existing) = slot.as_ref().filter(|c| !c.client.is_closed()) {
            return Ok(existing.clone());
        }
        let client = self.open_client().await?;
        let statements =
            prepare_statements(&client)
                .await
                .map_err(|source| StoreError::Connect {
                    target: self.target_description(),
                    source,
                })?;
        let fresh = Arc::new(PgConnection { client, statements });
        *slot = Some(fresh.clone());
        Ok(fresh)
    }

    async fn forget(&self, broken: &Arc<PgConnection>) {
        let mut slot = self.connection.lock().await;
        if slot
            .as_ref()
            .is_some_and(|current| Arc::ptr_eq(current, broken))
        {
            *slot = None;
        }
    }

    /// Opens a new connection. On an authentication failure with credentials from Secrets
    /// Manager, tries once more with the secret fetched again (it may have been rotated; at
    /// most one refetch per interval, see [`CachedSecret`]).
    async fn open_client(&self) -> Result<Client, StoreError> {
        let credentials = match &self.credentials {
            Credentials::Url(url) => {
                let pg = tokio_postgres::Config::from_str(url.expose())
                    .map_err(|_| StoreError::SecretFormat("DATABASE_URL does not parse".into()))?;
                return self.connect(&self.with_session_settings(pg)).await;
            }
            Credentials::Secret(credentials) => credentials,
        };
        let used = credentials.get().await?;
        match self
            .connect(&self.with_session_settings(used.value.clone()))
            .await
        {
            Err(StoreError::Connect { source, target })
                if source.code() == Some(&SqlState::INVALID_PASSWORD) =>
            {
                self.retry_with_refetched_secret(
                    credentials,
                    &used,
                    StoreError::Connect { source, target },
                )
                .await
            }
            other => other,
        }
    }

    async fn retry_with_refetched_secret(
        &self,
        credentials: &CachedSecret<tokio_postgres::Config>,
        used: &Fetched<tokio_postgres::Config>,
        rejected: StoreError,
    ) -> Result<Client, StoreError> {
        match credentials.after_rejection(used).await? {
            Some(fresh) => {
                warn!("postgres rejected the password; trying the secret fetched again in case it was rotated");
                self.connect(&self.with_session_settings(fresh.value)).await
            }
            None => Err(rejected),
        }
    }

    fn with_session_settings(&self, mut pg: tokio_postgres::Config) -> tokio_postgres::Config {
        pg.connect_timeout(self.config.connect_timeout);
        if pg.get_application_name().is_none() {
            pg.application_name("postcall");
        }
        pg
    }

    async fn connect(&self, pg: &tokio_postgres::Config) -> Result<Client, StoreError> {
        let target = describe(pg);
        let connect_error = |source| StoreError::Connect {
            target: target.clone(),
            source,
        };
        let client = match self.tls_mode(pg) {
            TlsMode::Disable => {
                let (client, connection) = pg.connect(NoTls).await.map_err(connect_error)?;
                tokio::spawn(drive(connection));
                client
            }
            mode => {
                let mut pg = pg.clone();
                pg.ssl_mode(tokio_postgres::config::SslMode::Require);
                let tls = tokio_postgres_rustls::MakeRustlsConnect::new(self.tls_config(mode)?);
                let (client, connection) = pg.connect(tls).await.map_err(connect_error)?;
                tokio::spawn(drive(connection));
                client
            }
        };
        debug!(target_db = %target, "postgres connection opened");
        Ok(client)
    }

    fn tls_mode(&self, pg: &tokio_postgres::Config) -> TlsMode {
        self.config.tls.unwrap_or_else(|| {
            let is_local = pg.get_hosts().iter().all(|host| match host {
                Host::Tcp(name) => matches!(name.as_str(), "localhost" | "127.0.0.1" | "::1"),
                Host::Unix(_) => true,
            });
            if is_local {
                TlsMode::Disable
            } else {
                TlsMode::VerifyFull
            }
        })
    }

    fn tls_config(&self, mode: TlsMode) -> Result<rustls::ClientConfig, StoreError> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| StoreError::Tls(e.to_string()))?;
        let config = match mode {
            TlsMode::Require => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyCertificate { provider }))
                .with_no_client_auth(),
            TlsMode::VerifyFull | TlsMode::Disable => builder
                .with_root_certificates(root_store(&self.config.ca_bundle)?)
                .with_no_client_auth(),
        };
        Ok(config)
    }

    fn target_description(&self) -> String {
        match &self.config.source {
            DatabaseSource::Url(url) => tokio_postgres::Config::from_str(url.expose())
                .map(|pg| describe(&pg))
                .unwrap_or_default(),
            DatabaseSource::SecretArn(arn) => format!("the database in secret {arn}"),
        }
    }
}

/// True for errors after which the connection is gone: the socket closed, or the server sent a
/// FATAL error (an administrator's `pg_terminate_backend`, a restart, an idle timeout). The
/// connection task may not have noticed yet, so `Client::is_closed` can still be false; a write
/// to the dead socket surfaces as an I/O error instead.
fn ends_connection(error: &tokio_postgres::Error) -> bool {
    use std::error::Error as _;
    use tokio_postgres::error::Severity;
    error.is_closed()
        || error
            .source()
            .is_some_and(|cause| cause.is::<std::io::Error>())
        || error.as_db_error().is_some_and(|db| {
            matches!(
                db.parsed_severity(),
                Some(Severity::Fatal | Severity::Panic)
            )
        })
}

async fn drive<F>(connection: F)
where
    F: Future<Output = Result<(), tokio_postgres::Error>>,
{
    if let Err(error) = connection.await {
        warn!(error = %error, "postgres connection ended");
    }
}

/// `host:port/dbname`, never the user or password.
fn describe(pg: &tokio_postgres::Config) -> String {
    let host = pg
        .get_hosts()
        .first()
        .map(|h| match h {
            Host::Tcp(name) => name.clone(),
            Host::Unix(path) => path.display().to_string(),
        })
        .unwrap_or_default();
    let port = pg.get_ports().first().copied().unwrap_or(5432);
    format!("{host}:{port}/{}", pg.get_dbname().unwrap_or(""))
}

/// The Amazon RDS / Aurora CAs and RDS Proxy's Amazon Trust Services roots, built by
/// `scripts/update-rds-ca-bundle` (its header names the source and each certificate).
pub const AWS_RDS_CA_BUNDLE: &str = include_str!("../../certs/aws-rds-ca-bundle.pem");

/// The trust store of a `verify-full` connection.
///
/// # Errors
/// [`StoreError::Tls`] when a PEM file cannot be read or holds no usable certificate.
pub fn root_store(roots: &CaRoots) -> Result<rustls::RootCertStore, StoreError> {
    use rustls_pki_types::{pem::PemObject, CertificateDer};
    let mut store = rustls::RootCertStore::empty();
    let mut add_pem = |certs: Vec<Result<CertificateDer<'static>, _>>, from: &str| {
        for cert in certs {
            let cert = cert.map_err(|e: rustls_pki_types::pem::Error| {
                StoreError::Tls(format!("parse CA bundle {from}: {e}"))
            })?;
            store
                .add(cert)
                .map_err(|e| StoreError::Tls(format!("add CA from {from}: {e}")))?;
        }
        Ok::<_, StoreError>(())
    };
    if matches!(roots, CaRoots::AwsRds | CaRoots::AwsRdsAndPublic) {
        add_pem(
            CertificateDer::pem_slice_iter(AWS_RDS_CA_BUNDLE.as_bytes()).collect(),
            "aws-rds (built in)",
        )?;
    }
    if let CaRoots::File(path) = roots {
        let from = path.display().to_string();
        let certs = CertificateDer::pem_file_iter(path)
            .map_err(|e| StoreError::Tls(format!("read CA bundle {from}: {e}")))?
            .collect();
        add_pem(certs, &from)?;
        if store.is_empty() {
            return Err(StoreError::Tls(format!(
                "CA bundle {from} holds no certificate"
            )));
        }
    }
    if matches!(roots, CaRoots::Public | CaRoots::AwsRdsAndPublic) {
        store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    Ok(store)
}

/// libpq's `sslmode=require`: encrypt, but accept any certificate. Signatures are still checked
/// so the handshake itself is sound.
#[derive(Debug)]
struct AnyCertificate {
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl rustls::client::danger::ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls_pki_types::CertificateDer<'_>,
        _intermediates: &[rustls_pki_types::CertificateDer<'_>],
        _server_name: &rustls_pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls_pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls_pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls_pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
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

/// Builds a connection config from an RDS-format secret.
fn rds_secret_config(secret: &str) -> Result<tokio_postgres::Config, StoreError> {
    #[derive(serde::Deserialize)]
    struct RdsSecret {
        host: String,
        port: Option<serde_json::Value>,
        username: String,
        password: String,
        dbname: Option<String>,
    }
    let parsed: RdsSecret = serde_json::from_str(secret).map_err(|e| {
        StoreError::SecretFormat(format!(
            "expected JSON with host, username, password: {}",
            e.classify_name()
        ))
    })?;
    let port = match parsed.port {
        None => 5432,
        Some(serde_json::Value::Number(n)) => n
            .as_u64()
            .and_then(|p| u16::try_from(p).ok())
            .unwrap_or(5432),
        Some(serde_json::Value::String(s)) => s
            .parse()
            .map_err(|_| StoreError::SecretFormat("port is not a number".into()))?,
        Some(_) => return Err(StoreError::SecretFormat("port is not a number".into())),
    };
    let mut pg = tokio_postgres::Config::new();
    pg.host(&parsed.host)
        .port(port)
        .user(&parsed.username)
        .password(parsed.password.as_bytes());
    pg.dbname(parsed.dbname.as_deref().unwrap_or("postgres"));
    Ok(pg)
}

trait ClassifyName {
    fn classify_name(&self) -> &'static str;
}

impl ClassifyName for serde_json::Error {
    // serde_json's Display may quote parts of the input, which here is a password.
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "io error",
            serde_json::error::Category::Syntax => "syntax error",
            serde_json::error::Category::Data => "missing or mistyped field",
            serde_json::error::Category::Eof => "unexpected end",
        }
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

fn stored_analysis(row: &tokio_postgres::Row) -> Result<Option<Analysis>, tokio_postgres::Error> {
    let intent: String = row.try_get("intent")?;
    let Ok(intent) = Intent::from_str(&intent) else {
        return Ok(None);
    };
    let entities: serde_json::Value = row.try_get("entities")?;
    let Ok(entities) = serde_json::from_value::<Entities>(entities) else {
        return Ok(None);
    };
    Ok(Some(Analysis {
        sentiment: Sentiment::clamped(row.try_get("sentiment")?),
        lead_score: LeadScore::clamped(i64::from(row.try_get::<_, i32>("lead_score")?)),
        intent,
        entities,
        summary: Summary::new(&row.try_get::<_, String>("summary")?),
        next_action: row.try_get("next_action")?,
    }))
}

/// One call's rows of the `fetch_calls` statement (at least one: the LEFT JOINs give a call
/// without turns one row of NULL turn columns) as a [`StoredCall`].
fn stored_call(rows: &[tokio_postgres::Row]) -> Result<StoredCall, tokio_postgres::Error> {
    let first = &rows[0];
    let analytics = match first.try_get::<_, Option<String>>("analyzer")? {
        None => None,
        Some(analyzer) => Some(StoredAnalytics {
            transcript_hash: first.try_get("transcript_hash")?,
            analyzer,
            prompt_version: first.try_get("prompt_version")?,
            hot_published_at: first.try_get("hot_published_at")?,
            analysis: stored_analysis(first)?,
        }),
    };
    let mut turns = Vec::with_capacity(rows.len());
    for row in rows {
        // A LEFT JOIN row without a turn carries NULLs in every turn column.
        let Some(role) = row.try_get::<_, Option<String>>("role")? else {
            continue;
        };
        turns.push(Turn {
            role: Role::parse(&role),
            text: row
                .try_get::<_, Option<String>>("text")?
                .unwrap_or_default(),
            started_at: row.try_get("turn_started_at")?,
            ended_at: row.try_get("turn_ended_at")?,
        });
    }
    Ok(StoredCall {
        from_number: first.try_get("from_number")?,
        agent_id: first.try_get("agent_id")?,
        ended_at: first.try_get("call_ended_at")?,
        turns,
        analytics,
    })
}

/// A batch of analytics rows as the column arrays of the `upsert_analyses` statement.
struct AnalyticsColumns<'a> {
    call_ids: Vec<&'a str>,
    sentiments: Vec<f64>,
    lead_scores: Vec<i32>,
    intents: Vec<&'a str>,
    entities: Vec<serde_json::Value>,
    summaries: Vec<&'a str>,
    next_actions: Vec<&'a str>,
    analyzers: Vec<&'a str>,
    prompt_versions: Vec<Option<&'a str>>,
    transcript_hashes: Vec<&'a str>,
    transcript_chars: Vec<i32>,
    truncated: Vec<bool>,
    metrics: Vec<serde_json::Value>,
    input_tokens: Vec<Option<i32>>,
    output_tokens: Vec<Option<i32>>,
    costs_usd: Vec<Option<f64>>,
    latencies_ms: Vec<i32>,
}

impl<'a> AnalyticsColumns<'a> {
    fn of(records: &'a [AnalyticsRecord]) -> Self {
        let saturate = |n: u64| i32::try_from(n).unwrap_or(i32::MAX);
        let usage = |r: &AnalyticsRecord| r.outcome.usage;
        Self {
            call_ids: records.iter().map(|r| r.call_id.as_str()).collect(),
            sentiments: records
                .iter()
                .map(|r| r.outcome.analysis.sentiment.get())
                .collect(),
            lead_scores: records
                .iter()
                .map(|r| i32::from(r.outcome.analysis.lead_score.get()))
                .collect(),
            intents: records
                .iter()
                .map(|r| r.outcome.analysis.intent.as_str())
                .collect(),
            entities: records
                .iter()
                .map(|r| {
                    serde_json::to_value(&r.outcome.analysis.entities)
                        .unwrap_or(serde_json::Value::Null)
                })
                .collect(),
            summaries: records
                .iter()
                .map(|r| r.outcome.analysis.summary.as_str())
                .collect(),
            next_actions: records
                .iter()
                .map(|r| r.outcome.analysis.next_action.as_str())
                .collect(),
            analyzers: records
                .iter()
                .map(|r| r.outcome.analyzer.as_str())
                .collect(),
            prompt_versions: records
                .iter()
                .map(|r| r.outcome.prompt_version.as_deref())
                .collect(),
            transcript_hashes: records.iter().map(|r| r.transcript_hash.as_str()).collect(),
            transcript_chars: records
                .iter()
                .map(|r| saturate(r.transcript_chars as u64))
                .collect(),
            truncated: records.iter().map(|r| r.truncated).collect(),
            metrics: records
                .iter()
                .map(|r| serde_json::to_value(&r.metrics).unwrap_or(serde_json::Value::Null))
                .collect(),
            input_tokens: records
                .iter()
                .map(|r| usage(r).map(|u| saturate(u64::from(u.input_tokens))))
                .collect(),
            output_tokens: records
                .iter()
                .map(|r| usage(r).map(|u| saturate(u64::from(u.output_tokens))))
                .collect(),
            costs_usd: records
                .iter()
                .map(|r| usage(r).map(|u| u.cost_usd))
                .collect(),
            latencies_ms: records.iter().map(|r| saturate(r.latency_ms)).collect(),
        }
    }

    fn params(&self) -> [&(dyn tokio_postgres::types::ToSql + Sync); 17] {
        [
            &self.call_ids,
            &self.sentiments,
            &self.lead_scores,
            &self.intents,
            &self.entities,
            &self.summaries,
            &self.next_actions,
            &self.analyzers,
            &self.prompt_versions,
            &self.transcript_hashes,
            &self.transcript_chars,
            &self.truncated,
            &self.metrics,
            &self.input_tokens,
            &self.output_tokens,
            &self.costs_usd,
            &self.latencies_ms,
        ]
    }
}

/// Whether a failed batch write may have failed because of what one row holds: Postgres
/// answered with an error (a data exception, a constraint, a trigger that raised, a deadlock),
/// rather than the connection failing, the statement timing out, or the server saying it is
/// unwell (SQLSTATE classes 08 connection, 53 insufficient resources, 57 operator intervention,
/// 58 system error). Only then is it worth writing each row on its own to find the culprit.
fn may_be_one_rows_fault(error: &StoreError) -> bool {
    let StoreError::Query { source, .. } = error else {
        return false;
    };
    source
        .as_db_error()
        .is_some_and(|db| !matches!(&db.code().code()[..2], "08" | "53" | "57" | "58"))
}

async fn prepare_statements(client: &Client) -> Result<PreparedStatements, tokio_postgres::Error> {
    // Prepared once per connection and pipelined together. Casts keep the reads independent of
    // the types a voice bridge chose for columns it owns (integer or uuid turn ids, an enum role,
    // timestamp without time zone).
    let fetch_calls = client.prepare(
        r#"SELECT c.id::text AS call_id,
                  c."fromNumber"::text AS from_number, c."agentId"::text AS agent_id,
                  c."endedAt"::timestamptz AS call_ended_at,
                  a.analyzer, a."transcriptHash" AS transcript_hash, a."promptVersion" AS prompt_version,
                  a."hotPublishedAt" AS hot_published_at, a.sentiment, a."leadScore" AS lead_score,
                  a.intent, a.entities, a.summary, a."nextAction" AS next_action,
                  t.role::text AS role, t.text::text AS text,
                  t."startedAt"::timestamptz AS turn_started_at, t."endedAt"::timestamptz AS turn_ended_at
           FROM "Call" c
           LEFT JOIN "Analytics" a ON a."callId" = c.id
           LEFT JOIN "Turn" t ON t."callId" = c.id
           WHERE c.id = ANY($1::text[])
           ORDER BY c.id, t."startedAt" NULLS LAST, t.id"#,
    );
    // Every analytics write, of one row or a batch's, is this one statement: rows come as
    // arrays, one per column, and go in in the order given.
    let upsert_analyses = client.prepare(
        r#"INSERT INTO "Analytics" ("callId", sentiment, "leadScore", intent, entities, "computedAt",
                                    summary, "nextAction", analyzer, "promptVersion", "transcriptHash",
                                    "transcriptChars", truncated, metrics, "inputTokens", "outputTokens",
                                    "costUsd", "latencyMs")
           SELECT r.call_id, r.sentiment, r.lead_score, r.intent, r.entities, now(),
                  r.summary, r.next_action, r.analyzer, r.prompt_version, r.transcript_hash,
                  r.transcript_chars, r.truncated, r.metrics, r.input_tokens, r.output_tokens,
                  r.cost_usd, r.latency_ms
           FROM unnest($1::text[], $2::float8[], $3::int4[], $4::text[], $5::jsonb[], $6::text[],
                       $7::text[], $8::text[], $9::text[], $10::text[], $11::int4[], $12::bool[],
                       $13::jsonb[], $14::int4[], $15::int4[], $16::float8[], $17::int4[])
                WITH ORDINALITY AS r(call_id, sentiment, lead_score, intent, entities, summary,
                                     next_action, analyzer, prompt_version, transcript_hash,
                                     transcript_chars, truncated, metrics, input_tokens,
                                     output_tokens, cost_usd, latency_ms, position)
           ORDER BY r.position
           ON CONFLICT ("callId") DO UPDATE SET
               sentiment = EXCLUDED.sentiment, "leadScore" = EXCLUDED."leadScore",
               intent = EXCLUDED.intent, entities = EXCLUDED.entities, "computedAt" = now(),
               summary = EXCLUDED.summary, "nextAction" = EXCLUDED."nextAction",
               analyzer = EXCLUDED.analyzer, "promptVersion" = EXCLUDED."promptVersion",
               "transcriptHash" = EXCLUDED."transcriptHash", "transcriptChars" = EXCLUDED."transcriptChars",
               truncated = EXCLUDED.truncated, metrics = EXCLUDED.metrics,
               "inputTokens" = EXCLUDED."inputTokens", "outputTokens" = EXCLUDED."outputTokens",
               "costUsd" = EXCLUDED."costUsd", "latencyMs" = EXCLUDED."latencyMs""#,
    );
    let claim_hot = client.prepare(
        r#"UPDATE "Analytics" SET "hotClaimExpiresAt" = now() + make_interval(secs => $2)
           WHERE "callId" = $1 AND "hotPublishedAt" IS NULL
             AND ("hotClaimExpiresAt" IS NULL OR "hotClaimExpiresAt" < now())
           RETURNING 1"#,
    );
    let hot_published = client
        .prepare(r#"SELECT "hotPublishedAt" IS NOT NULL FROM "Analytics" WHERE "callId" = $1"#);
    let mark_hot_published = client.prepare(
        r#"UPDATE "Analytics" SET "hotPublishedAt" = now(), "hotClaimExpiresAt" = NULL WHERE "callId" = $1"#,
    );
    let release_hot_claim = client.prepare(
        r#"UPDATE "Analytics" SET "hotClaimExpiresAt" = NULL WHERE "callId" = $1 AND "hotPublishedAt" IS NULL"#,
    );
    let (
        fetch_calls,
        upsert_analyses,
        claim_hot,
        hot_published,
        mark_hot_published,
        release_hot_claim,
    ) = tokio::try_join!(
        fetch_calls,
        upsert_analyses,
        claim_hot,
        hot_published,
        mark_hot_published,
        release_hot_claim
    )?;
    Ok(PreparedStatements {
        fetch_calls,
        upsert_analyses,
        claim_hot,
        hot_published,
        mark_hot_published,
        release_hot_claim,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_rds_bundle_holds_every_region_and_rds_proxys_amazon_roots() {
        let aws = root_store(&CaRoots::AwsRds).unwrap();
        let public = root_store(&CaRoots::Public).unwrap();
        let both = root_store(&CaRoots::AwsRdsAndPublic).unwrap();
        // 27 regions x (RSA2048, RSA4096, ECC384), the beta and preview roots, and the five
        // roots RDS Proxy chains to (scripts/update-rds-ca-bundle lists them).
        assert_eq!(aws.len(), 92);
        assert_eq!(public.len(), webpki_roots::TLS_SERVER_ROOTS.len());
        // The Amazon Trust Services roots in our bundle are byte for byte Mozilla's: the part
        // of the bundle that can be checked against a second source is.
        let in_public: Vec<_> = aws
            .roots
            .iter()
            .filter(|root| public.roots.iter().any(|p| p.subject == root.subject))
            .collect();
        assert_eq!(in_public.len(), 5);
        for root in in_public {
            let same = public
                .roots
                .iter()
                .find(|p| p.subject == root.subject)
                .unwrap();
            assert_eq!(same.subject_public_key_info, root.subject_public_key_info);
        }
        assert_eq!(both.len(), aws.len() + public.len());
    }

    #[test]
    fn a_ca_file_without_certificates_is_an_error_naming_it() {
        let path =
            std::env::temp_dir().join(format!("postcall-empty-ca-{}.pem", std::process::id()));
        std::fs::write(&path, "not a certificate\n").unwrap();
        let error = root_store(&CaRoots::File(path.clone()))
            .unwrap_err()
            .to_string();
        assert!(error.contains(&path.display().to_string()), "{error}");
        let missing = root_store(&CaRoots::File("/nonexistent/ca.pem".into()))
            .unwrap_err()
            .to_string();
        assert!(missing.contains("/nonexistent/ca.pem"), "{missing}");
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn ca_roots_parse_names_and_paths() {
        assert_eq!(CaRoots::parse("aws-rds"), Some(CaRoots::AwsRds));
        assert_eq!(CaRoots::parse(" Public "), Some(CaRoots::Public));
        assert_eq!(
            CaRoots::parse("public,aws-rds"),
            Some(CaRoots::AwsRdsAndPublic)
        );
        assert_eq!(
            CaRoots::parse("/opt/certs/ca.pem"),
            Some(CaRoots::File("/opt/certs/ca.pem".into()))
        );
        assert_eq!(CaRoots::parse("rds"), None);
        assert_eq!(CaRoots::parse("ca.pem"), None);
    }

    #[test]
    fn rds_secrets_parse_with_numeric_or_string_ports() {
        let pg = rds_secret_config(r#"{"host":"db.x","port":6543,"username":"app","password":"pw","dbname":"calls","engine":"postgres"}"#).unwrap();
        assert_eq!(describe(&pg), "db.x:6543/calls");
        let pg =
            rds_secret_config(r#"{"host":"db.x","port":"5433","username":"app","password":"pw"}"#)
                .unwrap();
        assert_eq!(describe(&pg), "db.x:5433/postgres");
    }

    #[test]
    fn a_malformed_secret_error_never_quotes_the_secret() {
        let err = rds_secret_config(r#"{"host":"db","username":"app","password":sentinel-pw}"#)
            .unwrap_err();
        assert!(!err.to_string().contains("sentinel-pw"), "{err}");
    }

    #[test]
    fn describe_never_includes_the_password() {
        let pg = tokio_postgres::Config::from_str(
            "postgres://app:sentinel-pw@db.example.com:5432/calls",
        )
        .unwrap();
        assert_eq!(describe(&pg), "db.example.com:5432/calls");
    }

    #[test]
    fn migrations_are_numbered_in_order_and_match_their_files() {
        for m in MIGRATIONS {
            assert!(!m.sql.trim().is_empty(), "{}", m.name);
        }
        let versions: Vec<i32> = MIGRATIONS.iter().map(|m| m.version).collect();
        assert_eq!(versions, (1..=MIGRATIONS.len() as i32).collect::<Vec<_>>());
    }
}
