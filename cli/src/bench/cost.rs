//! The cost model: Lambda and LLM cost per 1 000 calls, from the analyzer section's numbers.

use postcall::analysis::llm::Prices;
use serde::Serialize;

use super::analyzer::AnalyzerRun;

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

/// Lambda arm64 list prices (us-east-1): per GB-second and per request.
const LAMBDA_ARM_USD_PER_GB_S: f64 = 0.000_013_333_4;
const LAMBDA_USD_PER_REQUEST: f64 = 0.000_000_2;

pub(super) fn cost_model(runs: &[AnalyzerRun], tokens: Option<&TokensPerCall>) -> Vec<CostRow> {
    // The 300 ms, 10-way run is the production shape: one container, batches of 10.
    let Some(run) = runs
        .iter()
        .find(|r| {
            r.analyzer == "llm"
                && r.llm_latency_ms == 300
                && r.concurrency == 10
                && r.synchronous_commit == "on"
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cost_model_bills_100_invocations_per_1000_calls() {
        let run = AnalyzerRun {
            analyzer: "llm".into(),
            synchronous_commit: "on",
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
}
