//! `postcall bench`: the numbers in docs/benchmarks.md, from one command, on real parts.
//!
//! Every section runs against the local Postgres (its own schema in the `postcall_bench`
//! database), the local OpenAI-compatible server (`postcall mock-llm`'s, with a simulated
//! latency), and NATS for the bridge. Nothing here asserts a time: the harness measures and
//! prints, and `--json FILE` keeps the numbers. `--quick` is a smoke run with small sizes.

mod cold_start;
mod python_baseline;

use std::{
    collections::VecDeque,
    path::{Path, PathBuf},
    sync::{Arc, Mutex, OnceLock},
    time::{Duration, Instant},
};

use anyhow::{bail, Context as _};
use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use chrono::{Duration as ChronoDuration, Utc};
use lambda_runtime::{Context, LambdaEvent};
use postcall::{
    adapters::{
        postgres::{
            PgStore, DASHBOARD_ROLE_SETTINGS_SQL, SENTIMENT_TREND_7D_SQL,
            SENTIMENT_TREND_FROM_BASE_SQL, SENTIMENT_TREND_SQL, TOP_LEADS_24H_SQL, TOP_LEADS_SQL,
        },
        sqs::{EntryFailure, OutgoingMessage, QueueError, SendBatch},
    },
    analysis::{llm::Prices, rules},
    config::{AnalyzerConfig, BackfillConfig, BridgeConfig, DatabaseConfig},
    domain::{CallCompleted, CallId, Transcript, Turn},
    handlers::{
        analyze_batch::{analyze_batch, AnalyzerDeps},
        backfill::{run_backfill, BackfillRequest},
        bridge::drain,
    },
};
use serde::Serialize;
use tokio_postgres::NoTls;

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
const NATS_URL: &str = "nats://127.0.0.1:4222";
/// The analyzer's default transcript cap.
const MAX_CHARS: usize = postcall::config::DEFAULT_TRANSCRIPT_MAX_CHARS;

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

/// Everything one run measured; `--json` writes it.
#[derive(Debug, Serialize)]
pub struct BenchReport {
    pub quick: bool,
    pub machine: String,
    /// The checkout measured (`git describe`-like: short hash, `+dirty` with local changes).
    pub commit: String,
    /// When the run started (UTC).
    pub date: String,
    pub build: &'static str,
    pub rules: Vec<RulesResult>,
    pub analyzer: Vec<AnalyzerRun>,
    pub cold_start: Option<cold_start::ColdStart>,
    pub cold_start_error: Option<String>,
    pub binary_sizes: Vec<BinarySize>,
    pub backfill: ThroughputResult,
    pub bridge: ThroughputResult,
    pub dashboard_queries: QueryBench,
    pub cost: Vec<CostRow>,
    pub llm_tokens_per_call: Option<TokensPerCall>,
    /// The Python baseline on the same calls, one container, 10-way.
    pub python_baseline: Vec<python_baseline::PythonRun>,
    pub python_baseline_error: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct RulesResult {
    pub turns: usize,
    pub chars: usize,
    pub samples: usize,
    pub iterations_per_sample: u64,
    pub median_us: f64,
    pub p95_us: f64,
    pub mean_us: f64,
    pub ci95_us: f64,
}

#[derive(Debug, Serialize)]
pub struct AnalyzerRun {
    pub analyzer: String,
    pub llm_latency_ms: u64,
    pub concurrency: usize,
    pub instances: usize,
    pub calls: usize,
    pub failed: usize,
    pub wall_s: f64,
    pub calls_per_s: f64,
    pub calls_per_s_per_instance: f64,
    pub latency_p50_ms: f64,
    pub latency_p95_ms: f64,
    pub latency_p99_ms: f64,
    /// Per-call latency minus the simulated LLM latency, at the median.
    pub overhead_p50_ms: f64,
    /// Wall time of a batch of 10 (one invocation), median: what Lambda bills.
    pub batch_p50_ms: f64,
    /// The same, mean: what the cost per call is computed from.
    pub batch_mean_ms: f64,
    /// A container's time per call beyond the simulated LLM wait: (mean batch time − the
    /// simulated latency) / the batch's records. The records of a batch wait for the LLM
    /// together, so this is the cost of everything else, spread over the calls.
    pub overhead_per_call_ms: f64,
}

#[derive(Debug, Serialize)]
pub struct BinarySize {
    pub function: String,
    pub bytes: Option<u64>,
}

#[derive(Debug, Serialize, Default)]
pub struct ThroughputResult {
    pub items: usize,
    pub wall_s: f64,
    pub per_s: f64,
    pub note: String,
}

/// The dashboard queries on one data set.
#[derive(Debug, Serialize, Default)]
pub struct QueryBench {
    pub calls: i32,
    /// Share of calls scored 80 or more.
    pub hot_share: f64,
    /// Buckets of the sentiment rollup, and how long `postcall rollup rebuild` took for them.
    pub rollup_buckets: i64,
    pub rollup_rebuild_s: f64,
    pub queries: Vec<QueryResult>,
}

#[derive(Debug, Serialize)]
pub struct QueryResult {
    pub name: &'static str,
    pub calls: i32,
    pub runs: usize,
    /// Server execution time (EXPLAIN ANALYZE), median and p95.
    pub median_ms: f64,
    pub p95_ms: f64,
    pub min_ms: f64,
    pub max_ms: f64,
    /// The prepared query as the dashboard runs it, round trip included.
    pub wall_p50_ms: f64,
    pub wall_p95_ms: f64,
    pub rows: u64,
    pub plan: String,
}

#[derive(Debug, Serialize)]
pub struct CostRow {
    pub memory_mb: u32,
    pub lambda_usd_per_1000_calls: f64,
    pub llm_usd_per_1000_calls: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct TokensPerCall {
    pub input: f64,
    pub output: f64,
}

// --- per-record latency, from the analyzer's own `record` spans -------------------------

/// Durations of closed `record` spans, collected while a bench run has it switched on.
static RECORD_SPANS: OnceLock<Mutex<Option<Vec<Duration>>>> = OnceLock::new();

fn record_spans() -> &'static Mutex<Option<Vec<Duration>>> {
    RECORD_SPANS.get_or_init(|| Mutex::new(None))
}

/// A tracing layer that times the spans `batch.rs` opens around each SQS record (from
/// creation to close: queueing inside the batch included, as the caller of the batch sees it).
pub struct RecordTimer;

struct Opened(Instant);

impl<S> lambda_runtime::tracing::subscriber::Layer<S> for RecordTimer
where
    S: lambda_runtime::tracing::Subscriber
        + for<'a> lambda_runtime::tracing::subscriber::registry::LookupSpan<'a>,
{
    fn on_new_span(
        &self,
        attrs: &lambda_runtime::tracing::span::Attributes<'_>,
        id: &lambda_runtime::tracing::span::Id,
        ctx: lambda_runtime::tracing::subscriber::layer::Context<'_, S>,
    ) {
        if attrs.metadata().name() == "record" {
            if let Some(span) = ctx.span(id) {
                span.extensions_mut().insert(Opened(Instant::now()));
            }
        }
    }

    fn on_close(
        &self,
        id: lambda_runtime::tracing::span::Id,
        ctx: lambda_runtime::tracing::subscriber::layer::Context<'_, S>,
    ) {
        let Some(span) = ctx.span(&id) else { return };
        let Some(opened) = span.extensions().get::<Opened>().map(|o| o.0) else {
            return;
        };
        if let Ok(mut guard) = record_spans().lock() {
            if let Some(spans) = guard.as_mut() {
                spans.push(opened.elapsed());
            }
        }
    }
}

fn start_recording() {
    if let Ok(mut guard) = record_spans().lock() {
        *guard = Some(Vec::new());
    }
}

fn take_recording() -> Vec<Duration> {
    record_spans()
        .lock()
        .ok()
        .and_then(|mut g| g.take())
        .unwrap_or_default()
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

/// Loads `count` calls (the demo calls, cycled, with unique ids) and returns their ids.
async fn seed_calls(
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

// --- sections ----------------------------------------------------------------------------

fn bench_rules(samples: &[(dataset::LabelledCall, Transcript)], sizes: &Sizes) -> Vec<RulesResult> {
    [10usize, 200]
        .into_iter()
        .map(|turns| {
            let transcript = call_of_turns(samples, turns);
            let run = || {
                let capped = std::hint::black_box(&transcript).capped(MAX_CHARS);
                std::hint::black_box(rules::analyze(&capped));
            };
            // Warm up, then size a sample so it lasts about `rules_sample_time`.
            let warm = Instant::now();
            let mut warm_runs = 0u64;
            while warm.elapsed() < sizes.rules_sample_time || warm_runs < 10 {
                run();
                warm_runs += 1;
            }
            let per_run = warm.elapsed().as_secs_f64() / warm_runs as f64;
            let iterations =
                ((sizes.rules_sample_time.as_secs_f64() / per_run).ceil() as u64).max(1);
            let samples_us: Vec<f64> = (0..sizes.rules_samples)
                .map(|_| {
                    let start = Instant::now();
                    for _ in 0..iterations {
                        run();
                    }
                    start.elapsed().as_secs_f64() * 1e6 / iterations as f64
                })
                .collect();
            let s = sorted(samples_us.clone());
            RulesResult {
                turns: transcript.turns().len(),
                chars: transcript.chars(),
                samples: s.len(),
                iterations_per_sample: iterations,
                median_us: percentile(&s, 50.0),
                p95_us: percentile(&s, 95.0),
                mean_us: mean(&samples_us),
                ci95_us: ci95(&samples_us),
            }
        })
        .collect()
}

/// Runs `ids` through the analyzer handler as Lambda would: `instances` containers, each with
/// its own clients and Postgres connection, taking batches of 10 from one queue.
async fn run_analyzer(
    url: &str,
    ids: &[String],
    env: &[(&str, String)],
    concurrency: usize,
) -> anyhow::Result<(usize, f64, Vec<f64>, Vec<f64>)> {
    let instances = concurrency.div_ceil(10).max(1);
    let per_instance = concurrency.min(10);
    let mut vars: std::collections::HashMap<String, String> = env
        .iter()
        .map(|(k, v)| ((*k).to_string(), v.clone()))
        .collect();
    vars.insert("DATABASE_URL".into(), url.to_string());
    vars.insert("ANALYZER_CONCURRENCY".into(), per_instance.to_string());
    let mut deps = Vec::with_capacity(instances);
    for _ in 0..instances {
        let config = AnalyzerConfig::from_lookup(&|k: &str| vars.get(k).cloned())
            .context("analyzer configuration")?;
        let aws = crate::demo::aws_config(&config).await;
        deps.push(AnalyzerDeps::new(config, &aws).await?);
    }
    let queue = Arc::new(Mutex::new(
        sqs_batches(ids).into_iter().collect::<VecDeque<_>>(),
    ));
    start_recording();
    let started = Instant::now();
    let results = futures::future::join_all(deps.iter().map(|deps| {
        let queue = Arc::clone(&queue);
        async move {
            let mut failed = 0usize;
            let mut batch_ms = Vec::new();
            loop {
                let next = queue.lock().ok().and_then(|mut q| q.pop_front());
                let Some(event) = next else { break };
                let size = event.records.len();
                let at = Instant::now();
                match Box::pin(analyze_batch(
                    deps,
                    LambdaEvent::new(event, Context::default()),
                ))
                .await
                {
                    Ok(response) => failed += response.batch_item_failures.len(),
                    Err(_) => failed += size,
                }
                batch_ms.push(at.elapsed().as_secs_f64() * 1e3);
            }
            (failed, batch_ms)
        }
    }))
    .await;
    let wall = started.elapsed().as_secs_f64();
    let latencies: Vec<f64> = take_recording()
        .into_iter()
        .map(|d| d.as_secs_f64() * 1e3)
        .collect();
    let failed = results.iter().map(|(f, _)| f).sum();
    let batches = results.into_iter().flat_map(|(_, b)| b).collect();
    Ok((failed, wall, latencies, batches))
}

/// What the analyzer section measured.
struct AnalyzerSection {
    runs: Vec<AnalyzerRun>,
    tokens: Option<TokensPerCall>,
    python: Vec<python_baseline::PythonRun>,
    python_error: Option<String>,
}

async fn bench_analyzer(
    db: &BenchDb,
    samples: &[(dataset::LabelledCall, Transcript)],
    sizes: &Sizes,
) -> anyhow::Result<AnalyzerSection> {
    let url = db.schema("bench_analyzer").await?;
    let ids = seed_calls(&url, samples, sizes.analyzer_calls, "an").await?;
    let client = db.client_in(&url).await?;
    let mut runs = Vec::new();
    let mut tokens = None;
    let mut python = Vec::new();
    let python_interpreter = python_baseline::interpreter().await;
    let mut python_error = python_interpreter.as_ref().err().map(|e| format!("{e:#}"));

    let mut plan: Vec<(String, u64, usize)> = vec![("rules".to_string(), 0, 10)];
    for latency in sizes.llm_latencies_ms {
        for concurrency in sizes.concurrencies {
            plan.push(("llm".to_string(), *latency, *concurrency));
        }
    }
    for (analyzer, latency_ms, concurrency) in plan {
        client.batch_execute(r#"DELETE FROM "Analytics""#).await?;
        let server = postcall_testkit::MockLlm::start(postcall_testkit::MockLlmOptions {
            port: 0,
            latency: Duration::from_millis(latency_ms),
            cycle: Vec::new(),
        })
        .await
        .context("start the local OpenAI-compatible server")?;
        let env = [
            ("ANALYZER", analyzer.clone()),
            ("LLM_BASE_URL", server.base_url()),
            ("LLM_API_KEY", "bench".to_string()),
        ];
        let (failed, wall, latencies, batches) =
            run_analyzer(&url, &ids, &env, concurrency).await?;
        let lat = sorted(latencies);
        let instances = concurrency.div_ceil(10).max(1);
        let calls_per_s = ids.len() as f64 / wall;
        let p50 = percentile(&lat, 50.0);
        let simulated = if analyzer == "llm" {
            latency_ms as f64
        } else {
            0.0
        };
        eprintln!(
            "  analyzer {analyzer} latency {latency_ms} ms concurrency {concurrency}: {calls_per_s:.1} calls/s, p50 {p50:.1} ms"
        );
        runs.push(AnalyzerRun {
            analyzer: analyzer.clone(),
            llm_latency_ms: latency_ms,
            concurrency,
            instances,
            calls: ids.len(),
            failed,
            wall_s: wall,
            calls_per_s,
            calls_per_s_per_instance: calls_per_s / instances as f64,
            latency_p50_ms: p50,
            latency_p95_ms: percentile(&lat, 95.0),
            latency_p99_ms: percentile(&lat, 99.0),
            overhead_p50_ms: (p50 - simulated).max(0.0),
            batch_p50_ms: percentile(&sorted(batches.clone()), 50.0),
            batch_mean_ms: mean(&batches),
            overhead_per_call_ms: ((mean(&batches) - simulated) / 10.0).max(0.0),
        });
        if analyzer == "llm" && concurrency == 10 {
            if let Ok(interpreter) = &python_interpreter {
                client.batch_execute(r#"DELETE FROM "Analytics""#).await?;
                match python_baseline::run(interpreter, &url, &server.base_url(), &ids, latency_ms)
                    .await
                {
                    Ok(run) => {
                        eprintln!(
                            "  python baseline latency {latency_ms} ms concurrency 10: {:.1} calls/s",
                            run.calls_per_s
                        );
                        python.push(run);
                    }
                    Err(e) => python_error = Some(format!("{e:#}")),
                }
            }
        }
        if analyzer == "llm" && tokens.is_none() {
            let row = client
                .query_one(
                    r#"SELECT avg("inputTokens")::float8, avg("outputTokens")::float8 FROM "Analytics""#,
                    &[],
                )
                .await?;
            let (input, output): (Option<f64>, Option<f64>) = (row.get(0), row.get(1));
            if let (Some(input), Some(output)) = (input, output) {
                tokens = Some(TokensPerCall { input, output });
            }
        }
    }
    Ok(AnalyzerSection {
        runs,
        tokens,
        python,
        python_error,
    })
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

async fn bench_backfill(db: &BenchDb, sizes: &Sizes) -> anyhow::Result<ThroughputResult> {
    let url = db.schema("bench_backfill").await?;
    let client = db.client_in(&url).await?;
    // As in the 25 000-call test: 10 % analyzed, 5 % inside the grace period.
    client
        .execute(
            r#"INSERT INTO "Call" (id, "fromNumber", "agentId", "endedAt")
               SELECT 'call-' || g, '+1555' || lpad(g::text, 7, '0'), 'agent-' || (g % 7),
                      CASE WHEN g % 20 = 1 THEN now() - interval '30 seconds'
                           ELSE now() - interval '3 minutes' - (g * interval '20 seconds') END
               FROM generate_series(1, $1) g"#,
            &[&sizes.backfill_calls],
        )
        .await?;
    client
        .execute(
            r#"INSERT INTO "Analytics" ("callId", sentiment, "leadScore", intent, analyzer)
               SELECT 'call-' || g, 0.1, 50, 'info', $2 FROM generate_series(10, $1, 10) g"#,
            &[&sizes.backfill_calls, &rules::RULES_ANALYZER_VERSION],
        )
        .await?;
    client
        .batch_execute(r#"ANALYZE "Call"; ANALYZE "Analytics""#)
        .await?;
    let vars = std::collections::HashMap::from([
        ("DATABASE_URL", url.clone()),
        (
            "ANALYZER_QUEUE_URL",
            "http://bench.invalid/queue".to_string(),
        ),
    ]);
    let config = BackfillConfig::from_lookup(&|k: &str| vars.get(k).cloned())?;
    let store = PgStore::new(config.database.clone(), None);
    let sender = CountingSender::default();
    let started = Instant::now();
    let report = run_backfill(
        &store,
        Some(&sender),
        &config,
        BackfillRequest::default(),
        Utc::now(),
        None,
    )
    .await?;
    let wall = started.elapsed().as_secs_f64();
    Ok(ThroughputResult {
        items: report.enqueued,
        wall_s: wall,
        per_s: report.enqueued as f64 / wall,
        note: format!(
            "{} calls, {} selected and enqueued in batches of 10 with attempts recorded; counting sender, no SQS",
            sizes.backfill_calls, report.selected
        ),
    })
}

async fn bench_bridge(sizes: &Sizes) -> anyhow::Result<ThroughputResult> {
    let url = std::env::var("NATS_URL").unwrap_or_else(|_| NATS_URL.to_string());
    let client = async_nats::connect(&url).await.with_context(|| {
        format!(
            "NATS JetStream does not answer at {}",
            postcall::secret::url_for_logs(&url)
        )
    })?;
    let js = async_nats::jetstream::new(client);
    let id = format!("{}", std::process::id());
    let (stream, subject) = (format!("BENCH_{id}"), format!("bench.call.completed.{id}"));
    let _ = js.delete_stream(&stream).await;
    js.get_or_create_stream(async_nats::jetstream::stream::Config {
        name: stream.clone(),
        subjects: vec![subject.clone()],
        ..Default::default()
    })
    .await
    .context("create the bench stream")?;
    // Publish with acks, pipelined in chunks (the client holds at most 5 000 in flight).
    for chunk in (0..sizes.bridge_events).collect::<Vec<_>>().chunks(1_000) {
        let mut acks = Vec::with_capacity(chunk.len());
        for i in chunk {
            let body = format!(r#"{{"callId":"bench-{i:06}","endedAt":"2026-11-20T10:00:00Z"}}"#);
            acks.push(js.publish(subject.clone(), body.into()).await?);
        }
        for ack in acks {
            ack.await?;
        }
    }
    let vars = std::collections::HashMap::from([
        ("NATS_URL", url.clone()),
        ("NATS_STREAM", stream.clone()),
        ("NATS_SUBJECT", subject.clone()),
        ("NATS_CONSUMER", format!("bench-{id}")),
        ("BRIDGE_ENSURE_STREAM", "true".to_string()),
        ("BRIDGE_NAK_DELAY_MS", "0".to_string()),
        (
            "ANALYZER_QUEUE_URL",
            "http://bench.invalid/queue".to_string(),
        ),
    ]);
    let config = BridgeConfig::from_lookup(&|k: &str| vars.get(k).cloned())?;
    let source = postcall::adapters::nats::NatsSource::new(config.nats.clone(), None);
    let sender = CountingSender::default();
    let started = Instant::now();
    let mut forwarded = 0;
    // A drain stops when the stream is empty; a second pass catches stragglers.
    for _ in 0..3 {
        let report = drain(&source, &sender, None, &config, None).await?;
        forwarded += report.forwarded;
        if forwarded >= sizes.bridge_events {
            break;
        }
    }
    let wall = started.elapsed().as_secs_f64();
    let _ = js.delete_stream(&stream).await;
    Ok(ThroughputResult {
        items: forwarded,
        wall_s: wall,
        per_s: forwarded as f64 / wall,
        note: "JetStream durable pull consumer -> validate -> counting sender -> double ack"
            .to_string(),
    })
}

/// The node types and index names of a JSON plan, depth first.
fn plan_summary(plan: &serde_json::Value) -> String {
    fn walk(node: &serde_json::Value, out: &mut Vec<String>) {
        if let Some(kind) = node.get("Node Type").and_then(|v| v.as_str()) {
            let on = node
                .get("Index Name")
                .or_else(|| node.get("Relation Name"))
                .and_then(|v| v.as_str())
                .map(|n| format!(" on {n}"))
                .unwrap_or_default();
            out.push(format!("{kind}{on}"));
        }
        if let Some(children) = node.get("Plans").and_then(|v| v.as_array()) {
            for child in children {
                walk(child, out);
            }
        }
    }
    let mut out = Vec::new();
    if let Some(root) = plan.get(0).and_then(|p| p.get("Plan")) {
        walk(root, &mut out);
    }
    out.join(" > ")
}

async fn bench_queries(db: &BenchDb, calls: i32, runs: usize) -> anyhow::Result<QueryBench> {
    let url = db.schema("bench_queries").await?;
    let client = db.client_in(&url).await?;
    eprintln!("  seeding {calls} calls with analytics over 30 days, skewed as real traffic is");
    // Skewed as real traffic is: most calls recent (the end time is 30 days times the square of
    // a uniform draw, so half of them fall in the last 7.5 days), 50 agents, every call
    // analysed, lead scores mostly low (3 % at 80 and above, the rest squared towards 0).
    // The draws are hashes of the row number: the same data on every run.
    client
        .execute(
            r#"INSERT INTO "Call" (id, "fromNumber", "agentId", "endedAt")
               SELECT 'call-' || g, '+1555' || lpad((g % 10000000)::text, 7, '0'),
                      'agent-' || ((g::bigint * 40503) % 50),
                      now() - interval '30 days' * power(((g::bigint * 7919) % 1000003) / 1000003.0, 2)
               FROM generate_series(1, $1) g"#,
            &[&calls],
        )
        .await?;
    // The rollup's trigger is switched off for the bulk load and the rollup rebuilt after it,
    // as the README says to do for a bulk load; the rebuild is timed.
    client
        .batch_execute(r#"ALTER TABLE "Analytics" DISABLE TRIGGER postcall_rollup_insert_delete"#)
        .await?;
    client
        .execute(
            r#"INSERT INTO "Analytics" ("callId", sentiment, "leadScore", intent, entities, analyzer)
               SELECT 'call-' || g, (((g::bigint * 17) % 200) - 100) / 100.0,
                      CASE WHEN (g::bigint * 104729) % 1000 < 30 THEN 80 + (g % 21)
                           ELSE floor(79 * power(((g::bigint * 31) % 1000) / 1000.0, 2))::int END,
                      (ARRAY['info','booking','complaint','sales','support'])[1 + g % 5],
                      '{"name": null, "email": null, "topic": "bench"}'::jsonb, 'bench'
               FROM generate_series(1, $1) g"#,
            &[&calls],
        )
        .await?;
    client
        .batch_execute(r#"ALTER TABLE "Analytics" ENABLE TRIGGER postcall_rollup_insert_delete"#)
        .await?;
    let started = Instant::now();
    let buckets: i64 = client
        .query_one("SELECT postcall_rollup_rebuild()", &[])
        .await?
        .get(0);
    let rebuild_s = started.elapsed().as_secs_f64();
    // One statement at a time: a multi-statement string runs as one transaction, and VACUUM
    // refuses to run in one.
    for table in ["Call", "Analytics", "SentimentRollup"] {
        client
            .batch_execute(&format!(r#"VACUUM ANALYZE "{table}""#))
            .await?;
    }
    let hot_share: f64 = client
        .query_one(
            r#"SELECT avg(("leadScore" >= 80)::int)::float8 FROM "Analytics""#,
            &[],
        )
        .await?
        .get(0);
    type Params = Vec<Box<dyn tokio_postgres::types::ToSql + Sync + Send>>;
    // The seed's two queries verbatim in a session with the server's defaults, then the
    // dashboard's own SQL with its own parameters in a session with the settings the README
    // gives the dashboard's role (`ALTER ROLE … SET jit = off, max_parallel_workers_per_gather
    // = 0`: on a 2-core machine starting parallel workers or JIT-compiling costs more than
    // these queries).
    let dashboard = db.client_in(&url).await?;
    dashboard.batch_execute(DASHBOARD_ROLE_SETTINGS_SQL).await?;
    let queries: Vec<(&'static str, &'static str, Params)> = vec![
        ("seed: top leads, last 24 h", TOP_LEADS_24H_SQL, vec![]),
        (
            "seed: sentiment trend per agent, 7 days",
            SENTIMENT_TREND_7D_SQL,
            vec![],
        ),
        (
            "dashboard: top leads (24 h, 20 rows)",
            TOP_LEADS_SQL,
            vec![Box::new(24i32), Box::new(20i64)],
        ),
        (
            "dashboard: trend (7 days, UTC)",
            SENTIMENT_TREND_SQL,
            vec![Box::new(7i32), Box::new("UTC")],
        ),
        (
            "dashboard: trend (30 days, America/New_York)",
            SENTIMENT_TREND_SQL,
            vec![Box::new(30i32), Box::new("America/New_York")],
        ),
        (
            "dashboard: trend (90 days, Europe/Berlin)",
            SENTIMENT_TREND_SQL,
            vec![Box::new(90i32), Box::new("Europe/Berlin")],
        ),
        (
            "dashboard: trend (7 days, Asia/Kolkata: base tables)",
            SENTIMENT_TREND_FROM_BASE_SQL,
            vec![Box::new(7i32), Box::new("Asia/Kolkata")],
        ),
    ];
    let mut results = Vec::new();
    for (name, sql, params) in &queries {
        let client = if name.starts_with("seed") {
            &client
        } else {
            &dashboard
        };
        let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = params
            .iter()
            .map(|p| p.as_ref() as &(dyn tokio_postgres::types::ToSql + Sync))
            .collect();
        let statement = client.prepare(sql).await?;
        let explain = client
            .prepare(&format!("EXPLAIN (ANALYZE, FORMAT JSON) {sql}"))
            .await?;
        // One warm-up run, as a dashboard's second viewer sees it.
        client.query(&statement, &params).await?;
        let (mut server, mut wall) = (Vec::with_capacity(runs), Vec::with_capacity(runs));
        let mut plan_text = String::new();
        let mut rows = 0u64;
        for _ in 0..runs {
            // What the dashboard waits for: the prepared query, round trip included.
            let started = Instant::now();
            rows = client.query(&statement, &params).await?.len() as u64;
            wall.push(started.elapsed().as_secs_f64() * 1e3);
            let plan: serde_json::Value = client.query_one(&explain, &params).await?.get(0);
            server.push(
                plan.get(0)
                    .and_then(|p| p.get("Execution Time"))
                    .and_then(serde_json::Value::as_f64)
                    .unwrap_or(f64::NAN),
            );
            plan_text = plan_summary(&plan);
        }
        let (server, wall) = (sorted(server), sorted(wall));
        results.push(QueryResult {
            name,
            calls,
            runs,
            median_ms: percentile(&server, 50.0),
            p95_ms: percentile(&server, 95.0),
            min_ms: server.first().copied().unwrap_or(0.0),
            max_ms: server.last().copied().unwrap_or(0.0),
            wall_p50_ms: percentile(&wall, 50.0),
            wall_p95_ms: percentile(&wall, 95.0),
            rows,
            plan: plan_text,
        });
    }
    Ok(QueryBench {
        calls,
        hot_share,
        rollup_buckets: buckets,
        rollup_rebuild_s: rebuild_s,
        queries: results,
    })
}

/// The release analyzer if built, else the debug one (a smoke run's cold start).
fn analyzer_binary(explicit: Option<&str>) -> Option<(PathBuf, &'static str)> {
    if let Some(path) = explicit {
        return Some((PathBuf::from(path), "as given"));
    }
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".to_string());
    [("release", "release"), ("debug", "debug")]
        .into_iter()
        .map(|(dir, build)| (Path::new(&target).join(dir).join("analyzer"), build))
        .find(|(path, _)| path.is_file())
}

async fn bench_cold_start(
    db: &BenchDb,
    samples: &[(dataset::LabelledCall, Transcript)],
    sizes: &Sizes,
    explicit: Option<&str>,
) -> anyhow::Result<cold_start::ColdStart> {
    let Some((binary, build)) = analyzer_binary(explicit) else {
        bail!("no analyzer binary: run `cargo build --release -p analyzer` (or pass --binary)");
    };
    eprintln!("  cold start of {} ({build} build)", binary.display());
    let url = db.schema("bench_cold").await?;
    let ids = seed_calls(&url, samples, 10, "cold").await?;
    let event = sqs_batches(&ids)
        .into_iter()
        .next()
        .context("a batch of 10")?;
    let event_json = serde_json::to_string(&event)?;
    let env = vec![
        ("DATABASE_URL".to_string(), url),
        ("ANALYZER".to_string(), "rules".to_string()),
        ("RUST_LOG".to_string(), "warn".to_string()),
    ];
    cold_start::measure(&binary, &env, &event_json, sizes.cold_start_runs).await
}

const FUNCTIONS: [&str; 5] = ["analyzer", "notifier", "backfill", "bridge", "dashboard"];

fn binary_sizes() -> Vec<BinarySize> {
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".to_string());
    FUNCTIONS
        .iter()
        .map(|f| BinarySize {
            function: (*f).to_string(),
            bytes: std::fs::metadata(
                Path::new(&target)
                    .join("lambda-arm64")
                    .join(f)
                    .join("bootstrap"),
            )
            .ok()
            .map(|m| m.len()),
        })
        .collect()
}

/// Lambda arm64 list prices (us-east-1): per GB-second and per request.
const LAMBDA_ARM_USD_PER_GB_S: f64 = 0.000_013_333_4;
const LAMBDA_USD_PER_REQUEST: f64 = 0.000_000_2;

fn cost_model(runs: &[AnalyzerRun], tokens: Option<&TokensPerCall>) -> Vec<CostRow> {
    // The 300 ms, 10-way run is the production shape: one container, batches of 10.
    let Some(run) = runs
        .iter()
        .find(|r| r.analyzer == "llm" && r.llm_latency_ms == 300 && r.concurrency == 10)
        .or_else(|| runs.iter().find(|r| r.analyzer == "llm"))
    else {
        return Vec::new();
    };
    let invocations_per_1000 = 100.0;
    // Lambda bills each invocation's duration rounded up to the millisecond: the mean batch.
    let billed_s = run.batch_mean_ms.ceil() / 1000.0;
    let llm = tokens.map(|t| {
        let prices = Prices::GPT_4O_MINI;
        1000.0 * (t.input * prices.input_per_million_usd + t.output * prices.output_per_million_usd)
            / 1e6
    });
    [128u32, 256, 512]
        .into_iter()
        .map(|memory_mb| CostRow {
            memory_mb,
            lambda_usd_per_1000_calls: invocations_per_1000
                * (billed_s * f64::from(memory_mb) / 1024.0 * LAMBDA_ARM_USD_PER_GB_S
                    + LAMBDA_USD_PER_REQUEST),
            llm_usd_per_1000_calls: llm,
        })
        .collect()
}

/// The checkout's commit, from git: short hash, `+dirty` when the tree has local changes;
/// `unknown` outside a git checkout.
fn commit() -> String {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    match git(&["rev-parse", "--short", "HEAD"]) {
        Some(hash) => {
            let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
                .is_some_and(|s| !s.is_empty());
            if dirty {
                format!("{hash}+dirty")
            } else {
                hash
            }
        }
        None => "unknown".to_string(),
    }
}

fn machine() -> String {
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".to_string());
    format!("{cpus} CPUs ({model}), {}", std::env::consts::ARCH)
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

fn render(r: &BenchReport) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\npostcall bench{} on {}; {}; commit {}, {}",
        if r.quick { " --quick" } else { "" },
        r.machine,
        r.build,
        r.commit,
        r.date
    );
    let _ = writeln!(
        out,
        "\nrules analyzer alone (µs per call: median, p95, mean ± 95 % CI)"
    );
    for x in &r.rules {
        let _ = writeln!(
            out,
            "  {:>3} turns, {:>6} chars: {:>8.1} {:>8.1} {:>8.1} ± {:.1}  ({} samples × {})",
            x.turns,
            x.chars,
            x.median_us,
            x.p95_us,
            x.mean_us,
            x.ci95_us,
            x.samples,
            x.iterations_per_sample
        );
    }
    let _ = writeln!(out, "\nanalyzer handler, batches of 10");
    let _ = writeln!(out, "  analyzer  llm ms  conc  inst  calls/s  per inst    p50 ms   p95 ms   p99 ms  overhead  batch p50  batch mean  ms/call  failed");
    for a in &r.analyzer {
        let _ = writeln!(
            out,
            "  {:<8} {:>6} {:>5} {:>5} {:>8.1} {:>9.1} {:>9.1} {:>8.1} {:>8.1} {:>9.2} {:>10.1} {:>11.1} {:>8.2} {:>7}",
            a.analyzer, a.llm_latency_ms, a.concurrency, a.instances, a.calls_per_s,
            a.calls_per_s_per_instance, a.latency_p50_ms, a.latency_p95_ms, a.latency_p99_ms,
            a.overhead_p50_ms, a.batch_p50_ms, a.batch_mean_ms, a.overhead_per_call_ms, a.failed
        );
    }
    let _ = writeln!(
        out,
        "  (overhead: a record's latency over the simulated LLM latency, p50; ms/call: a container's time per call beyond the LLM wait, from the mean batch)"
    );
    let _ = writeln!(
        out,
        "\nPython baseline (bench/python-baseline: psycopg pool, httpx, Powertools on 10 threads), same calls and server, 1 container"
    );
    for p in &r.python_baseline {
        let rust = r.analyzer.iter().find(|a| {
            a.analyzer == "llm" && a.concurrency == 10 && a.llm_latency_ms == p.llm_latency_ms
        });
        let ratio = rust.map_or_else(String::new, |a| {
            format!(
                "; Rust {:.1} calls/s = {:.2}×",
                a.calls_per_s,
                a.calls_per_s / p.calls_per_s
            )
        });
        let _ = writeln!(
            out,
            "  llm {:>3} ms: {:.1} calls/s, record p50 {:.1} ms p95 {:.1} ms, batch p50 {:.1} ms, {} failed (Python {}){ratio}",
            p.llm_latency_ms, p.calls_per_s, p.record_p50_ms, p.record_p95_ms, p.batch_p50_ms, p.failed, p.python
        );
    }
    if let Some(e) = &r.python_baseline_error {
        let _ = writeln!(out, "  not measured: {e}");
    }
    let _ = writeln!(
        out,
        "\ncold start (process start to first /next) and peak RSS after a 10-record batch"
    );
    match (&r.cold_start, &r.cold_start_error) {
        (Some(c), _) => {
            let _ = writeln!(
                out,
                "  {}: median {:.1} ms, p95 {:.1} ms over {} runs; peak RSS {:.1} MiB; response ok: {}",
                c.binary, c.first_next_ms_median, c.first_next_ms_p95, c.runs,
                c.peak_rss_kib as f64 / 1024.0, c.response_ok
            );
        }
        (None, Some(e)) => {
            let _ = writeln!(out, "  not measured: {e}");
        }
        (None, None) => {}
    }
    let _ = writeln!(out, "\narm64 release binaries (scripts/build-lambdas)");
    for b in &r.binary_sizes {
        let size = b.bytes.map_or_else(
            || "not built".to_string(),
            |n| format!("{:.1} MB ({n} bytes)", n as f64 / 1e6),
        );
        let _ = writeln!(out, "  {:<10} {size}", b.function);
    }
    let _ = writeln!(
        out,
        "\nbackfill: {} calls enqueued in {:.2} s = {:.0} calls/s ({})",
        r.backfill.items, r.backfill.wall_s, r.backfill.per_s, r.backfill.note
    );
    let _ = writeln!(
        out,
        "bridge: {} events in {:.2} s = {:.0} events/s ({})",
        r.bridge.items, r.bridge.wall_s, r.bridge.per_s, r.bridge.note
    );
    let _ = writeln!(out, "\ndashboard queries (EXPLAIN ANALYZE execution time)");
    if !r.dashboard_queries.queries.is_empty() {
        let d = &r.dashboard_queries;
        let _ = writeln!(
            out,
            "  {} calls, {:.1} % scored 80+; sentiment rollup: {} buckets, rebuilt in {:.1} s",
            d.calls,
            d.hot_share * 100.0,
            d.rollup_buckets,
            d.rollup_rebuild_s
        );
    }
    for q in &r.dashboard_queries.queries {
        let _ = writeln!(
            out,
            "  {:<52} server p50 {:.2} ms p95 {:.2} ms; round trip p50 {:.2} ms p95 {:.2} ms; {} runs, {} rows\n    plan: {}",
            q.name, q.median_ms, q.p95_ms, q.wall_p50_ms, q.wall_p95_ms, q.runs, q.rows, q.plan
        );
    }
    if let Some(t) = &r.llm_tokens_per_call {
        let _ = writeln!(
            out,
            "\nllm tokens per call: {:.0} in, {:.0} out",
            t.input, t.output
        );
    }
    let _ = writeln!(
        out,
        "\ncost per 1 000 calls (arm64 list price, mean batch of the 300 ms / 10-way run)"
    );
    for c in &r.cost {
        let llm = c
            .llm_usd_per_1000_calls
            .map_or_else(String::new, |l| format!(", gpt-4o-mini ${l:.3}"));
        let _ = writeln!(
            out,
            "  {:>4} MB: Lambda ${:.4}{llm}",
            c.memory_mb, c.lambda_usd_per_1000_calls
        );
    }
    out
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
    fn plans_are_summarised_with_their_indexes() {
        let plan = serde_json::json!([{"Plan": {"Node Type": "Limit", "Plans": [
            {"Node Type": "Index Scan", "Index Name": "Call_endedAt_idx"},
            {"Node Type": "Seq Scan", "Relation Name": "Analytics"}]}}]);
        assert_eq!(
            plan_summary(&plan),
            "Limit > Index Scan on Call_endedAt_idx > Seq Scan on Analytics"
        );
    }

    #[test]
    fn the_cost_model_bills_100_invocations_per_1000_calls() {
        let run = AnalyzerRun {
            analyzer: "llm".into(),
            llm_latency_ms: 300,
            concurrency: 10,
            instances: 1,
            calls: 1000,
            failed: 0,
            wall_s: 30.0,
            calls_per_s: 33.0,
            calls_per_s_per_instance: 33.0,
            latency_p50_ms: 301.0,
            latency_p95_ms: 305.0,
            latency_p99_ms: 310.0,
            overhead_p50_ms: 1.0,
            // The mean, not the median, is billed: a slow tail costs money too.
            batch_p50_ms: 305.0,
            batch_mean_ms: 309.2,
            overhead_per_call_ms: 0.92,
        };
        let rows = cost_model(
            &[run],
            Some(&TokensPerCall {
                input: 1000.0,
                output: 200.0,
            }),
        );
        let at_1024 = 100.0 * (0.31 * LAMBDA_ARM_USD_PER_GB_S + LAMBDA_USD_PER_REQUEST);
        let at_128 = rows.first().unwrap();
        assert!(
            (at_128.lambda_usd_per_1000_calls
                - (at_1024 - 100.0 * LAMBDA_USD_PER_REQUEST) / 8.0
                - 100.0 * LAMBDA_USD_PER_REQUEST)
                .abs()
                < 1e-12
        );
        // 1000 calls × (1000 × 0.15 + 200 × 0.60) / 1e6
        assert!((at_128.llm_usd_per_1000_calls.unwrap() - 0.27).abs() < 1e-9);
        assert_eq!(rows.len(), 3);
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
