//! The report of one run: what it measured, the machine and checkout it ran on, and its text
//! form.

use std::path::Path;

use serde::Serialize;

use super::{
    analyzer::AnalyzerRun,
    cold_start,
    cost::{CostRow, TokensPerCall},
    python_baseline,
    queries::QueryBench,
    rules::RulesResult,
    ThroughputResult,
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
pub struct BinarySize {
    pub function: String,
    pub bytes: Option<u64>,
}

const FUNCTIONS: [&str; 5] = ["analyzer", "notifier", "backfill", "bridge", "dashboard"];

pub(super) fn binary_sizes() -> Vec<BinarySize> {
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

/// The checkout's commit, from git: short hash, `+dirty` when the tree has local changes;
/// `unknown` outside a git checkout.
pub(super) fn commit() -> String {
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

pub(super) fn machine() -> String {
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

pub(super) fn render(r: &BenchReport) -> String {
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
    let _ = writeln!(out, "  analyzer  llm ms  conc  inst  sync commit  calls/s  per inst    p50 ms   p95 ms   p99 ms  overhead  batch p50  batch mean  ms/call  failed");
    for a in &r.analyzer {
        let _ = writeln!(
            out,
            "  {:<8} {:>6} {:>5} {:>5} {:>12} {:>8.1} {:>9.1} {:>9.1} {:>8.1} {:>8.1} {:>9.2} {:>10.1} {:>11.1} {:>8.2} {:>7}",
            a.analyzer, a.llm_latency_ms, a.concurrency, a.instances, a.synchronous_commit, a.calls_per_s,
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
            a.analyzer == "llm"
                && a.concurrency == 10
                && a.llm_latency_ms == p.llm_latency_ms
                && a.synchronous_commit == "on"
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
