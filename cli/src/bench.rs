//! `postcall bench`: the numbers in docs/benchmarks.md, from one command, on real parts.
//!
//! Every section runs against the local Postgres (its own schema in the `postcall_bench`
//! database), the local OpenAI-compatible server (`postcall mock-llm`'s, with a simulated
//! latency), and NATS for the bridge. Nothing here asserts a time: the harness measures and
//! prints, and `--json FILE` keeps the numbers. `--quick` is a smoke run with small sizes.
//!
//! Each section is a module: [`rules`], [`analyzer`] (with [`python_baseline`] on the same
//! calls), [`cold_start`], [`backfill`], [`bridge`] and [`queries`]; [`cost`] turns the analyzer's
//! numbers into money, and [`report`] holds what a run found and prints it. This file has the
//! options, the sizes, what the sections share (the database, the sample calls, statistics) and
//! [`run`].

mod analyzer;
mod backfill;
mod bridge;
mod cold_start;
mod cost;
mod python_baseline;
mod queries;
mod report;
mod rules;

pub use analyzer::RecordTimer;

use std::time::Duration;

use anyhow::{bail, Context as _};
use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use chrono::{Duration as ChronoDuration, Utc};
use postcall::{
    adapters::{
        postgres::PgStore,
        sqs::{EntryFailure, OutgoingMessage, QueueError, SendBatch},
    },
    config::DatabaseConfig,
    domain::{CallCompleted, CallId, Transcript, Turn},
};
use serde::Serialize;
use tokio_postgres::NoTls;

use self::{
    analyzer::{bench_analyzer, AnalyzerSection},
    backfill::bench_backfill,
    bridge::bench_bridge,
    cold_start::bench_cold_start,
    cost::cost_model,
    queries::{bench_queries, QueryBench},
    report::{binary_sizes, commit, machine, render, BenchReport},
    rules::bench_rules,
};
use crate::{dataset, local_postgres};

/// Options of `postcall bench`.
pub struct BenchOptions {
    pub quick: bool,
    pub json: Option<String>,
    pub database_url: Option<String>,
    pub binary: Option<String>,
    /// Run one section only: rules, analyzer, cold-start, backfill, bridge or queries.
    pub only: Option<String>,
    /// Calls in the dashboard-queries data set (default 1 M; 20 000 with --quick).
    pub dashboard_calls: Option<i32>,
}

/// The sections `--only` can pick.
const SECTIONS: [&str; 6] = [
    "rules",
    "analyzer",
    "cold-start",
    "backfill",
    "bridge",
    "queries",
];

/// The bench database on the local server, unless `--database-url` says otherwise.
const DEFAULT_BENCH_URL: &str = "postgres://postgres@127.0.0.1:5432/postcall_bench";

/// Sizes of one run: the full run is what docs/benchmarks.md reports.
struct Sizes {
    analyzer_calls: usize,
    concurrencies: &'static [usize],
    llm_latencies_ms: &'static [u64],
    rules_samples: usize,
    rules_sample_time: Duration,
    backfill_calls: i32,
    bridge_events: usize,
    dashboard_calls: i32,
    query_runs: usize,
    cold_start_runs: usize,
}

const FULL: Sizes = Sizes {
    analyzer_calls: 1_000,
    concurrencies: &[10, 50],
    llm_latencies_ms: &[0, 300],
    rules_samples: 30,
    rules_sample_time: Duration::from_millis(50),
    backfill_calls: 25_000,
    bridge_events: 10_000,
    dashboard_calls: 1_000_000,
    query_runs: 20,
    cold_start_runs: 10,
};

const QUICK: Sizes = Sizes {
    analyzer_calls: 100,
    concurrencies: &[10],
    llm_latencies_ms: &[0, 300],
    rules_samples: 10,
    rules_sample_time: Duration::from_millis(5),
    backfill_calls: 2_000,
    bridge_events: 500,
    dashboard_calls: 20_000,
    query_runs: 5,
    cold_start_runs: 2,
};

#[derive(Debug, Serialize, Default)]
pub struct ThroughputResult {
    pub items: usize,
    pub wall_s: f64,
    pub per_s: f64,
    pub note: String,
}

// --- statistics ------------------------------------------------------------------------

/// Nearest-rank percentile of sorted values ([`postcall::metrics::nearest_rank`]); 0 for none.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    postcall::metrics::nearest_rank(sorted, p).unwrap_or(0.0)
}

fn sorted(mut values: Vec<f64>) -> Vec<f64> {
    values.sort_by(f64::total_cmp);
    values
}

fn mean(values: &[f64]) -> f64 {
    if values.is_empty() {
        0.0
    } else {
        values.iter().sum::<f64>() / values.len() as f64
    }
}

/// Half-width of the 95 % confidence interval of the mean (normal approximation).
fn ci95(values: &[f64]) -> f64 {
    let n = values.len();
    if n < 2 {
        return 0.0;
    }
    let m = mean(values);
    let var = values.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (n - 1) as f64;
    1.96 * (var / n as f64).sqrt()
}

// --- sample calls ------------------------------------------------------------------------

/// The demo set's calls as transcripts, with real timestamps.
fn sample_transcripts() -> anyhow::Result<Vec<(dataset::LabelledCall, Transcript)>> {
    let calls = dataset::parse_jsonl(dataset::DEMO_CALLS)?;
    Ok(calls
        .into_iter()
        .map(|call| {
            let transcript = crate::eval::transcript_of(&call);
            (call, transcript)
        })
        .collect())
}

/// A call of about `turns` turns, made of the demo calls' turns in order.
fn call_of_turns(samples: &[(dataset::LabelledCall, Transcript)], turns: usize) -> Transcript {
    let mut out: Vec<Turn> = Vec::with_capacity(turns);
    for (_, t) in samples.iter().cycle() {
        for turn in t.turns() {
            if out.len() == turns {
                return Transcript::new(out);
            }
            out.push(turn.clone());
        }
    }
    Transcript::new(out)
}

// --- database ----------------------------------------------------------------------------

struct BenchDb {
    admin: tokio_postgres::Client,
    base_url: String,
    /// Schemas this run created, dropped at its end.
    created: std::sync::Mutex<Vec<String>>,
}

impl BenchDb {
    async fn connect(url: &str) -> anyhow::Result<Self> {
        local_postgres::ensure_database(url).await?;
        let (admin, connection) = tokio_postgres::connect(url, NoTls)
            .await
            .with_context(|| format!("connect to {}", local_postgres::describe(url)))?;
        tokio::spawn(connection);
        Ok(Self {
            admin,
            base_url: url.to_string(),
            created: std::sync::Mutex::default(),
        })
    }

    /// A fresh schema, migrated, and the URL that puts a connection in it. The name carries
    /// the process id, so two runs against one database (CI's smoke run and one by hand) do
    /// not drop each other's tables.
    async fn schema(&self, name: &str) -> anyhow::Result<String> {
        let name = &Self::schema_name(name);
        self.created
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(name.clone());
        self.admin
            .batch_execute(&format!(
                "DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}"
            ))
            .await
            .with_context(|| format!("create schema {name}"))?;
        let sep = if self.base_url.contains('?') {
            '&'
        } else {
            '?'
        };
        let url = format!("{}{sep}options=-c%20search_path%3D{name}", self.base_url);
        PgStore::new(DatabaseConfig::from_url(&url), None)
            .migrate()
            .await
            .with_context(|| format!("migrate schema {name}"))?;
        Ok(url)
    }

    fn schema_name(name: &str) -> String {
        format!("{name}_{}", std::process::id())
    }

    /// Drops the schemas this run created (best effort: a failed run leaves its own behind,
    /// named with its process id).
    async fn drop_schemas(&self) {
        let names = std::mem::take(
            &mut *self
                .created
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        for name in names {
            if let Err(e) = self
                .admin
                .batch_execute(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"))
                .await
            {
                eprintln!("  could not drop schema {name}: {e}");
            }
        }
    }

    async fn client_in(&self, url: &str) -> anyhow::Result<tokio_postgres::Client> {
        let (client, connection) = tokio_postgres::connect(url, NoTls).await?;
        tokio::spawn(connection);
        Ok(client)
    }
}

/// Loads `count` calls (the demo calls, cycled, with unique ids), gathers the planner's
/// statistics on them and returns their ids.
async fn seed_calls(
    db: &BenchDb,
    url: &str,
    samples: &[(dataset::LabelledCall, Transcript)],
    count: usize,
    prefix: &str,
) -> anyhow::Result<Vec<String>> {
    let store = PgStore::new(DatabaseConfig::from_url(url), None);
    let now = Utc::now();
    let mut ids = Vec::with_capacity(count);
    for (i, (call, _)) in samples.iter().cycle().take(count).enumerate() {
        let id = format!("{prefix}-{i:05}");
        let ended_at = now - ChronoDuration::minutes(5 + i as i64 % 600);
        store
            .upsert_call(&call.to_new_call(&id, ended_at))
            .await
            .with_context(|| format!("seed call {id}"))?;
        ids.push(id);
    }
    // Tables just filled have no statistics until autovacuum gets to them (a minute or more):
    // until then the planner guesses, and loading a batch's calls scanned every turn (3.6 ms
    // for 10 calls at 1 000 seeded, 0.3 ms with statistics). A deployed table has statistics.
    db.client_in(url)
        .await?
        .batch_execute(r#"ANALYZE "Call"; ANALYZE "Turn"; ANALYZE "Analytics""#)
        .await
        .context("analyze the seeded tables")?;
    Ok(ids)
}

fn sqs_batches(ids: &[String]) -> Vec<SqsEvent> {
    ids.chunks(10)
        .enumerate()
        .map(|(b, chunk)| {
            let records = chunk
                .iter()
                .enumerate()
                .filter_map(|(i, id)| {
                    let call_id = CallId::parse(id).ok()?;
                    let mut record = SqsMessage::default();
                    record.message_id = Some(format!("bench-{b:05}-{i}"));
                    record.body = Some(
                        CallCompleted {
                            call_id,
                            ended_at: Some(Utc::now()),
                        }
                        .to_body(),
                    );
                    record.event_source_arn =
                        Some("arn:aws:sqs:us-east-1:000000000000:postcall-calls".to_string());
                    record
                        .attributes
                        .insert("ApproximateReceiveCount".to_string(), "1".to_string());
                    Some(record)
                })
                .collect();
            let mut event = SqsEvent::default();
            event.records = records;
            event
        })
        .collect()
}

/// Accepts every batch, as the tests' recorder does: the backfill and bridge numbers are
/// postcall's own cost, without SQS's network time (see docs/benchmarks.md).
#[derive(Default)]
struct CountingSender {
    sent: std::sync::atomic::AtomicUsize,
}

impl SendBatch for CountingSender {
    async fn send_batch(
        &self,
        entries: &[OutgoingMessage],
    ) -> Result<Vec<EntryFailure>, QueueError> {
        self.sent
            .fetch_add(entries.len(), std::sync::atomic::Ordering::Relaxed);
        Ok(Vec::new())
    }

    fn is_fifo(&self) -> bool {
        false
    }
}

// --- the command -------------------------------------------------------------------------

/// Runs `postcall bench`.
pub async fn run(options: BenchOptions) -> anyhow::Result<()> {
    let sizes = if options.quick { &QUICK } else { &FULL };
    if let Some(only) = options.only.as_deref() {
        if !SECTIONS.contains(&only) {
            bail!("--only takes one of {}", SECTIONS.join(", "));
        }
    }
    let started_at = Utc::now().format("%Y-%m-%d %H:%M UTC").to_string();
    let url = options
        .database_url
        .clone()
        .unwrap_or_else(|| DEFAULT_BENCH_URL.to_string());
    let db = BenchDb::connect(&url).await?;
    let samples = sample_transcripts()?;
    let build = if cfg!(debug_assertions) {
        "debug (numbers are not representative: run with --release)"
    } else {
        "release"
    };
    eprintln!(
        "postcall bench{}: {build}",
        if options.quick { " --quick" } else { "" }
    );

    let wanted = |section: &str| options.only.as_deref().is_none_or(|only| only == section);
    let rules = if wanted("rules") {
        eprintln!("rules analyzer alone");
        bench_rules(&samples, sizes)
    } else {
        Vec::new()
    };
    let AnalyzerSection {
        runs: analyzer,
        tokens,
        python: python_baseline,
        python_error: python_baseline_error,
    } = if wanted("analyzer") {
        eprintln!("analyzer handler, {} calls", sizes.analyzer_calls);
        bench_analyzer(&db, &samples, sizes).await?
    } else {
        AnalyzerSection {
            runs: Vec::new(),
            tokens: None,
            python: Vec::new(),
            python_error: None,
        }
    };
    let (cold_start, cold_start_error) = if wanted("cold-start") {
        eprintln!("cold start and peak RSS");
        match bench_cold_start(&db, &samples, sizes, options.binary.as_deref()).await {
            Ok(c) => (Some(c), None),
            Err(e) => {
                eprintln!("  cold start not measured: {e:#}");
                (None, Some(format!("{e:#}")))
            }
        }
    } else {
        (None, None)
    };
    let backfill = if wanted("backfill") {
        eprintln!("backfill, {} calls", sizes.backfill_calls);
        bench_backfill(&db, sizes).await?
    } else {
        ThroughputResult::default()
    };
    let bridge = if wanted("bridge") {
        eprintln!("bridge, {} events", sizes.bridge_events);
        bench_bridge(sizes).await?
    } else {
        ThroughputResult::default()
    };
    let dashboard_queries = if wanted("queries") {
        let calls = options.dashboard_calls.unwrap_or(sizes.dashboard_calls);
        eprintln!("dashboard queries, {calls} calls");
        bench_queries(&db, calls, sizes.query_runs).await?
    } else {
        QueryBench::default()
    };
    let cost = cost_model(&analyzer, tokens.as_ref());
    db.drop_schemas().await;

    let report = BenchReport {
        quick: options.quick,
        machine: machine(),
        commit: commit(),
        date: started_at,
        build,
        rules,
        analyzer,
        cold_start,
        cold_start_error,
        binary_sizes: binary_sizes(),
        backfill,
        bridge,
        dashboard_queries,
        cost,
        llm_tokens_per_call: tokens,
        python_baseline,
        python_baseline_error,
    };
    print!("{}", render(&report));
    if let Some(path) = &options.json {
        std::fs::write(path, serde_json::to_string_pretty(&report)?)
            .with_context(|| format!("write {path}"))?;
        eprintln!("wrote {path}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_database_that_does_not_answer_is_named_without_its_password() {
        // Port 1: nothing listens, the connection is refused at once.
        let url = "postgres://bench:sentinel-bench-pw@127.0.0.1:1/bench";
        let error = format!("{:#}", BenchDb::connect(url).await.err().unwrap());
        assert!(!error.contains("sentinel-bench-pw"), "{error}");
        assert!(error.contains("127.0.0.1:1/bench"), "{error}");
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let v = sorted((1..=20).map(f64::from).rev().collect());
        assert_eq!(percentile(&v, 50.0), 10.0);
        assert_eq!(percentile(&v, 95.0), 19.0);
        assert_eq!(percentile(&v, 99.0), 20.0);
        assert_eq!(percentile(&[], 50.0), 0.0);
    }

    #[test]
    fn the_confidence_interval_shrinks_with_samples() {
        let few = [1.0, 2.0, 3.0];
        let many: Vec<f64> = few.iter().cycle().take(300).copied().collect();
        assert!(ci95(&many) < ci95(&few));
        assert_eq!(ci95(&[5.0]), 0.0);
    }

    #[test]
    fn a_long_call_is_built_from_the_demo_turns() {
        let samples = sample_transcripts().unwrap();
        assert_eq!(call_of_turns(&samples, 200).turns().len(), 200);
        assert_eq!(call_of_turns(&samples, 10).turns().len(), 10);
        assert!(
            sqs_batches(&(0..25).map(|i| format!("c-{i}")).collect::<Vec<_>>())
                .iter()
                .map(|e| e.records.len())
                .eq([10, 10, 5])
        );
    }
}
