//! The rules section: the rules analyzer alone, on calls of 10 and 200 turns.

use std::time::Instant;

use postcall::{analysis::rules, domain::Transcript};
use serde::Serialize;

use super::{call_of_turns, ci95, mean, percentile, sorted, Sizes};
use crate::dataset;

/// The analyzer's default transcript cap.
const MAX_CHARS: usize = postcall::config::DEFAULT_TRANSCRIPT_MAX_CHARS;

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

pub(super) fn bench_rules(
    samples: &[(dataset::LabelledCall, Transcript)],
    sizes: &Sizes,
) -> Vec<RulesResult> {
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
