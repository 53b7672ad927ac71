//! The Python baseline of the analyzer section: `bench/python-baseline`, a well-pooled Python
//! Lambda (psycopg pool, one httpx client, Powertools' batch processor on a thread pool), run on
//! the same calls, the same database and the same local LLM server as the Rust analyzer, one
//! container taking batches of 10 in turn.
//!
//! Its packages live in `.venv-bench` at the checkout's root, made from its pinned
//! `requirements.txt` on first use (PyPI).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use serde::{Deserialize, Serialize};

/// One run of the baseline, as `run.py` prints it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PythonRun {
    /// Simulated LLM latency of the run (filled in by the bench, not by `run.py`).
    #[serde(default)]
    pub llm_latency_ms: u64,
    pub calls: usize,
    pub failed: usize,
    pub wall_s: f64,
    pub calls_per_s: f64,
    pub record_p50_ms: f64,
    pub record_p95_ms: f64,
    pub batch_p50_ms: f64,
    pub python: String,
    pub packages: serde_json::Value,
}

fn checkout() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

fn baseline_dir() -> PathBuf {
    checkout().join("bench/python-baseline")
}

/// The baseline's interpreter, after making its virtualenv when it is missing or incomplete.
///
/// # Errors
/// When `python3 -m venv` or `pip install` fails (no Python, no network to PyPI).
pub async fn interpreter() -> anyhow::Result<PathBuf> {
    let venv = checkout().join(".venv-bench");
    let python = venv.join("bin/python");
    let ready = |python: &Path| {
        let python = python.to_path_buf();
        async move {
            tokio::process::Command::new(&python)
                .args([
                    "-c",
                    "import psycopg, psycopg_pool, httpx, aws_lambda_powertools",
                ])
                .output()
                .await
                .is_ok_and(|o| o.status.success())
        }
    };
    if ready(&python).await {
        return Ok(python);
    }
    eprintln!(
        "  making {} for the Python baseline (pip, PyPI)",
        venv.display()
    );
    run_checked(
        tokio::process::Command::new("python3")
            .arg("-m")
            .arg("venv")
            .arg(&venv),
        "python3 -m venv",
    )
    .await?;
    run_checked(
        tokio::process::Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
            .arg(baseline_dir().join("requirements.txt")),
        "pip install -r bench/python-baseline/requirements.txt",
    )
    .await?;
    if !ready(&python).await {
        bail!("{} still lacks the baseline's packages", venv.display());
    }
    Ok(python)
}

async fn run_checked(command: &mut tokio::process::Command, what: &str) -> anyhow::Result<()> {
    let output = command.output().await.with_context(|| what.to_string())?;
    if !output.status.success() {
        bail!(
            "{what} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

/// Runs the baseline over `ids` (batches of 10, 10 records at once) against `database_url`
/// and the LLM server at `llm_base_url`.
///
/// # Errors
/// When the driver fails or prints no result.
pub async fn run(
    python: &Path,
    database_url: &str,
    llm_base_url: &str,
    ids: &[String],
    llm_latency_ms: u64,
) -> anyhow::Result<PythonRun> {
    let ids_file = std::env::temp_dir().join(format!(
        "postcall-bench-python-ids-{}.txt",
        std::process::id()
    ));
    std::fs::write(&ids_file, ids.join("\n")).context("write the call ids for run.py")?;
    let output = tokio::process::Command::new(python)
        .arg(baseline_dir().join("run.py"))
        .arg("--ids-file")
        .arg(&ids_file)
        .args(["--batch-size", "10"])
        .arg("--warm-up-batches")
        .arg(super::analyzer::WARM_UP_BATCHES.to_string())
        .env("DATABASE_URL", database_url)
        .env("LLM_BASE_URL", llm_base_url)
        .env("LLM_API_KEY", "bench")
        .env("ANALYZER_CONCURRENCY", "10")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .await
        .context("run bench/python-baseline/run.py")?;
    let _ = std::fs::remove_file(&ids_file);
    if !output.status.success() {
        bail!(
            "bench/python-baseline/run.py failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let mut result: PythonRun = serde_json::from_slice(&output.stdout).with_context(|| {
        format!(
            "run.py's result: {}",
            String::from_utf8_lossy(&output.stdout).trim()
        )
    })?;
    result.llm_latency_ms = llm_latency_ms;
    Ok(result)
}
