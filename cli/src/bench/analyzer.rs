//! The analyzer section: the analyzer handler on seeded calls in batches of 10, as Lambda runs
//! it, and the Python baseline on the same calls. Per-record latency comes from the handler's
//! own `record` spans, timed by [`RecordTimer`].

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex, OnceLock},
    time::{Duration, Instant},
};

use anyhow::Context as _;
use aws_lambda_events::sqs::SqsEvent;
use lambda_runtime::{Context, LambdaEvent};
use postcall::{
    config::AnalyzerConfig,
    domain::Transcript,
    handlers::analyze_batch::{analyze_batch, AnalyzerDeps},
};
use serde::Serialize;

use super::{
    cost::TokensPerCall, mean, percentile, python_baseline, seed_calls, sorted, sqs_batches,
    BenchDb, Sizes,
};
use crate::dataset;

#[derive(Debug, Serialize)]
pub struct AnalyzerRun {
    pub analyzer: String,
    /// Postgres's `synchronous_commit` for the analyzer's sessions: "on" (the default, what
    /// every other figure uses) or "off" (the trade docs/benchmarks.md describes).
    pub synchronous_commit: &'static str,
    pub llm_latency_ms: u64,
    pub concurrency: usize,
    pub instances: usize,
    /// Calls analysed while the clock ran: the warm-up's are not counted.
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

/// Runs `ids` through the analyzer handler as Lambda would: `instances` containers, each with
/// its own clients and Postgres connection, taking batches of 10 from one queue. Each container
/// is a thread with a current-thread runtime of its own, as the deployed function runs
/// (`functions/analyzer/src/main.rs`): on the bench's runtime the containers' tasks would share
/// its worker threads and hand work between them, which separate Lambda processes do not.
/// Each container first runs [`WARM_UP_BATCHES`] untimed (see there). Returns the calls analysed
/// while the clock ran, the records that failed (warm-up included), the wall time, the records'
/// latencies and the batches' times.
async fn run_analyzer(
    url: &str,
    ids: &[String],
    env: &[(&str, String)],
    concurrency: usize,
) -> anyhow::Result<(usize, usize, f64, Vec<f64>, Vec<f64>)> {
    let instances = concurrency.div_ceil(10).max(1);
    let per_instance = concurrency.min(10);
    let mut vars: std::collections::HashMap<String, String> = env
        .iter()
        .map(|(k, v)| ((*k).to_string(), v.clone()))
        .collect();
    vars.insert("DATABASE_URL".into(), url.to_string());
    vars.insert("ANALYZER_CONCURRENCY".into(), per_instance.to_string());
    let vars = Arc::new(vars);
    let queue = Arc::new(Mutex::new(
        sqs_batches(ids).into_iter().collect::<VecDeque<_>>(),
    ));
    // Every container sets up its clients and runs its warm-up first; the clock starts when all
    // are ready, and the records' latencies are collected from then on.
    let ready = Arc::new(std::sync::Barrier::new(instances + 1));
    let go = Arc::new(std::sync::Barrier::new(instances + 1));
    let mut containers = Vec::with_capacity(instances);
    for index in 0..instances {
        let (vars, queue) = (Arc::clone(&vars), Arc::clone(&queue));
        let (ready, go) = (Arc::clone(&ready), Arc::clone(&go));
        containers.push(
            std::thread::Builder::new()
                .name(format!("container-{index}"))
                .spawn(move || run_container(&vars, &queue, &ready, &go))
                .context("start a simulated container")?,
        );
    }
    let waiting = Arc::clone(&ready);
    tokio::task::spawn_blocking(move || waiting.wait()).await?;
    start_recording();
    tokio::task::spawn_blocking(move || go.wait()).await?;
    let started = Instant::now();
    let results = tokio::task::spawn_blocking(move || {
        containers
            .into_iter()
            .map(|container| {
                container
                    .join()
                    .map_err(|_| anyhow::anyhow!("a simulated container panicked"))?
            })
            .collect::<anyhow::Result<Vec<_>>>()
    })
    .await??;
    let wall = started.elapsed().as_secs_f64();
    let latencies: Vec<f64> = take_recording()
        .into_iter()
        .map(|d| d.as_secs_f64() * 1e3)
        .collect();
    let calls = results.iter().map(|run| run.calls - run.failed).sum();
    let failed = results
        .iter()
        .map(|run| run.failed + run.warm_up_failed)
        .sum();
    let batches = results.into_iter().flat_map(|run| run.batch_ms).collect();
    Ok((calls, failed, wall, latencies, batches))
}

/// Batches each simulated container (and the Python baseline, `run.py --warm-up-batches`) runs
/// before the clock starts, their calls not counted. A container's first batch opens its LLM
/// connections (Postgres's is opened at init) and meets cold caches in every process it talks
/// to: 186 ms at 0 ms LLM latency against a median of 4.7 ms, which alone moved the mean batch
/// of a 100-batch run by 1.8 ms. The section is about warm containers; section 3 measures the
/// cold start.
pub const WARM_UP_BATCHES: usize = 1;

/// What one simulated container did.
struct ContainerRun {
    /// Records taken in while the clock ran, and those of them that failed.
    calls: usize,
    failed: usize,
    /// Records of the warm-up that failed.
    warm_up_failed: usize,
    batch_ms: Vec<f64>,
}

/// Runs one batch through the handler; returns the records that failed (all of them when the
/// handler itself failed, as Lambda would redeliver them all).
async fn run_batch(deps: &AnalyzerDeps, event: SqsEvent) -> usize {
    let size = event.records.len();
    match Box::pin(analyze_batch(
        deps,
        LambdaEvent::new(event, Context::default()),
    ))
    .await
    {
        Ok(response) => response.batch_item_failures.len(),
        Err(_) => size,
    }
}

/// One simulated container: its clients and its warm-up, then, once `go` opens, batches from
/// `queue` until it is empty.
fn run_container(
    vars: &std::collections::HashMap<String, String>,
    queue: &Mutex<VecDeque<SqsEvent>>,
    ready: &std::sync::Barrier,
    go: &std::sync::Barrier,
) -> anyhow::Result<ContainerRun> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    let setup = |runtime: &tokio::runtime::Runtime| {
        runtime.block_on(async {
            let config = AnalyzerConfig::from_lookup(&|k: &str| vars.get(k).cloned())
                .context("analyzer configuration")?;
            let aws = crate::demo::aws_config(&config).await;
            anyhow::Ok(AnalyzerDeps::new(config, &aws).await?)
        })
    };
    let next = || queue.lock().ok().and_then(|mut q| q.pop_front());
    let warm_up = || {
        let runtime = runtime.context("the container's runtime")?;
        let deps = setup(&runtime)?;
        let mut warm_up_failed = 0;
        for _ in 0..WARM_UP_BATCHES {
            if let Some(event) = next() {
                warm_up_failed += runtime.block_on(run_batch(&deps, event));
            }
        }
        Ok((deps, runtime, warm_up_failed))
    };
    // A panic is an error too: the barriers below must be reached whatever happened.
    let warmed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(warm_up))
        .unwrap_or_else(|_| Err(anyhow::anyhow!("a simulated container panicked at set-up")));
    // Waited even after a failed setup, so that the other containers and the bench go on.
    ready.wait();
    go.wait();
    let (deps, runtime, warm_up_failed) = warmed?;
    runtime.block_on(async {
        let mut run = ContainerRun {
            calls: 0,
            failed: 0,
            warm_up_failed,
            batch_ms: Vec::new(),
        };
        while let Some(event) = next() {
            let at = Instant::now();
            run.calls += event.records.len();
            run.failed += run_batch(&deps, event).await;
            run.batch_ms.push(at.elapsed().as_secs_f64() * 1e3);
        }
        Ok(run)
    })
}

/// The local OpenAI-compatible server on a thread and runtime of its own: on the bench's
/// runtime its tasks would take turns with the analyzer's on the same worker threads, and
/// wait for them, which a real model's answers do not. It still shares the machine's cores.
struct LlmOnItsOwnThread {
    base_url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl LlmOnItsOwnThread {
    fn start(options: postcall_testkit::MockLlmOptions) -> anyhow::Result<Self> {
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("bench-llm".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(e) => {
                        let _ = started_tx.send(Err(anyhow::Error::from(e)));
                        return;
                    }
                };
                runtime.block_on(async move {
                    match postcall_testkit::MockLlm::start(options).await {
                        Ok(server) => {
                            let _ = started_tx.send(Ok(server.base_url()));
                            // Serves until the section is done with it, then drops it.
                            let _ = stopped.await;
                            drop(server);
                        }
                        Err(e) => {
                            let _ = started_tx.send(Err(e.into()));
                        }
                    }
                });
            })?;
        let base_url = started_rx
            .recv()
            .context("the server's thread ended before it started")??;
        Ok(Self {
            base_url,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    fn base_url(&self) -> String {
        self.base_url.clone()
    }
}

impl Drop for LlmOnItsOwnThread {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// What the analyzer section measured.
pub(super) struct AnalyzerSection {
    pub(super) runs: Vec<AnalyzerRun>,
    pub(super) tokens: Option<TokensPerCall>,
    pub(super) python: Vec<python_baseline::PythonRun>,
    pub(super) python_error: Option<String>,
}

pub(super) async fn bench_analyzer(
    db: &BenchDb,
    samples: &[(dataset::LabelledCall, Transcript)],
    sizes: &Sizes,
) -> anyhow::Result<AnalyzerSection> {
    let url = db.schema("bench_analyzer").await?;
    let ids = seed_calls(db, &url, samples, sizes.analyzer_calls, "an").await?;
    let client = db.client_in(&url).await?;
    let mut runs = Vec::new();
    let mut tokens = None;
    let mut python = Vec::new();
    let python_interpreter = python_baseline::interpreter().await;
    let mut python_error = python_interpreter.as_ref().err().map(|e| format!("{e:#}"));

    let mut plan: Vec<(String, u64, usize, &'static str)> =
        vec![("rules".to_string(), 0, 10, "on")];
    for latency in sizes.llm_latencies_ms {
        for concurrency in sizes.concurrencies {
            plan.push(("llm".to_string(), *latency, *concurrency, "on"));
        }
    }
    // What a commit's WAL flush costs the batch: the 300 ms / 10-way run again with
    // `synchronous_commit = off` for the analyzer's sessions (the role setting the doc discusses).
    plan.push(("llm".to_string(), 300, 10, "off"));
    for (analyzer, latency_ms, concurrency, synchronous_commit) in plan {
        client.batch_execute(r#"DELETE FROM "Analytics""#).await?;
        let server = LlmOnItsOwnThread::start(postcall_testkit::MockLlmOptions {
            port: 0,
            latency: Duration::from_millis(latency_ms),
            cycle: Vec::new(),
        })
        .context("start the local OpenAI-compatible server")?;
        let env = [
            ("ANALYZER", analyzer.clone()),
            ("LLM_BASE_URL", server.base_url()),
            ("LLM_API_KEY", "bench".to_string()),
        ];
        // `schema` ends the URL with its `options` parameter: one more setting joins it.
        let session_url = match synchronous_commit {
            "on" => url.clone(),
            _ => format!("{url}%20-c%20synchronous_commit%3D{synchronous_commit}"),
        };
        let (calls, failed, wall, latencies, batches) =
            run_analyzer(&session_url, &ids, &env, concurrency).await?;
        let lat = sorted(latencies);
        let instances = concurrency.div_ceil(10).max(1);
        let calls_per_s = calls as f64 / wall;
        let p50 = percentile(&lat, 50.0);
        let simulated = if analyzer == "llm" {
            latency_ms as f64
        } else {
            0.0
        };
        eprintln!(
            "  analyzer {analyzer} latency {latency_ms} ms concurrency {concurrency} synchronous_commit {synchronous_commit}: {calls_per_s:.1} calls/s, p50 {p50:.1} ms"
        );
        runs.push(AnalyzerRun {
            analyzer: analyzer.clone(),
            synchronous_commit,
            llm_latency_ms: latency_ms,
            concurrency,
            instances,
            calls,
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
        if analyzer == "llm" && concurrency == 10 && synchronous_commit == "on" {
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
