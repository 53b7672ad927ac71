//! What `postcall eval --check` enforces: issue #16's targets, or for a set that does not
//! reach one yet, the figure it reached made 0.02 worse, so a regression fails CI and nothing
//! is tuned to pass. The per-set gates live in `quality-gates.json` beside the data sets.

use std::path::Path;

use anyhow::Context as _;

use super::score::Report;

/// Limits a report must meet.
#[derive(Debug, Clone, Copy, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    pub sentiment_mae_max: f64,
    pub intent_accuracy_min: f64,
    pub lead_score_mae_max: f64,
    pub hot_f1_min: f64,
    pub name_f1_min: f64,
    pub email_f1_min: f64,
    pub name_false_positive_rate_max: f64,
    pub email_false_positive_rate_max: f64,
}

/// Issue #16's targets, for every set.
pub const TARGETS: Thresholds = Thresholds {
    sentiment_mae_max: 0.20,
    intent_accuracy_min: 0.85,
    lead_score_mae_max: 12.0,
    hot_f1_min: 0.85,
    name_f1_min: 0.90,
    email_f1_min: 0.90,
    name_false_positive_rate_max: 0.03,
    email_false_positive_rate_max: 0.03,
};

/// A metric's name, its value in a report, its limit and whether higher is better.
struct Metric {
    name: &'static str,
    value: f64,
    limit: f64,
    target: f64,
    higher_is_better: bool,
}

impl Metric {
    /// The value is on the wrong side of `bound` (or not a number).
    fn misses(&self, bound: f64) -> bool {
        self.value.is_nan()
            || if self.higher_is_better {
                self.value < bound
            } else {
                self.value > bound
            }
    }
}

impl Thresholds {
    fn metrics(&self, report: &Report) -> [Metric; 8] {
        let t = TARGETS;
        let m = |name, value, limit, target, higher_is_better| Metric {
            name,
            value,
            limit,
            target,
            higher_is_better,
        };
        [
            m(
                "sentiment_mae",
                report.sentiment_mae,
                self.sentiment_mae_max,
                t.sentiment_mae_max,
                false,
            ),
            m(
                "intent_accuracy",
                report.intent_accuracy,
                self.intent_accuracy_min,
                t.intent_accuracy_min,
                true,
            ),
            m(
                "lead_score_mae",
                report.lead_score_mae,
                self.lead_score_mae_max,
                t.lead_score_mae_max,
                false,
            ),
            m("hot_f1", report.hot.f1, self.hot_f1_min, t.hot_f1_min, true),
            m(
                "name_f1",
                report.name.prf.f1,
                self.name_f1_min,
                t.name_f1_min,
                true,
            ),
            m(
                "email_f1",
                report.email.prf.f1,
                self.email_f1_min,
                t.email_f1_min,
                true,
            ),
            m(
                "name_false_positive_rate",
                report.name.false_positive_rate,
                self.name_false_positive_rate_max,
                t.name_false_positive_rate_max,
                false,
            ),
            m(
                "email_false_positive_rate",
                report.email.false_positive_rate,
                self.email_false_positive_rate_max,
                t.email_false_positive_rate_max,
                false,
            ),
        ]
    }

    /// The metrics that miss, as lines to print; empty when all pass.
    pub fn misses(&self, report: &Report) -> Vec<String> {
        self.metrics(report)
            .into_iter()
            .filter(|m| m.misses(m.limit))
            .map(|m| {
                let side = if m.higher_is_better { "below" } else { "above" };
                format!("{} {:.3} is {side} {}", m.name, m.value, m.limit)
            })
            .collect()
    }

    /// The targets this report misses where the gate is looser, as lines to print (a target
    /// the report meets is not listed, whatever its gate).
    pub fn relaxed(&self, report: &Report) -> Vec<String> {
        self.metrics(report)
            .into_iter()
            .filter(|m| (m.limit - m.target).abs() > 1e-9)
            .filter(|m| m.misses(m.target))
            .map(|m| {
                format!(
                    "{} gated at {} (target {}; reached {:.3})",
                    m.name, m.limit, m.target, m.value
                )
            })
            .collect()
    }
}

/// One set's gate: the file name of the set, whether it runs under `--stt`, and its limits.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gate {
    pub data: String,
    pub stt: bool,
    pub thresholds: Thresholds,
    /// Why a limit is looser than its target, and since when.
    #[serde(default)]
    pub note: String,
}

/// `quality-gates.json`.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatesFile {
    /// For the people who edit the file.
    #[serde(default, rename = "comment")]
    _comment: String,
    pub gates: Vec<Gate>,
}

/// The gates file that governs `data`: `quality-gates.json` in the same folder.
pub fn gates_path(data: &Path) -> std::path::PathBuf {
    data.with_file_name("quality-gates.json")
}

/// The thresholds `--check` applies to `data` (under `--stt` when `stt`), and where they came
/// from: the set's gate, or the targets for a set without one.
pub fn thresholds_for(data: &Path, stt: bool) -> anyhow::Result<(Thresholds, String)> {
    let path = gates_path(data);
    let file_name = data
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if !path.exists() {
        return Ok((
            TARGETS,
            "the targets (no quality-gates.json beside the set)".to_owned(),
        ));
    }
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("read {}", path.display()))?;
    let gates: GatesFile = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a gates file", path.display()))?;
    Ok(gates
        .gates
        .into_iter()
        .find(|g| g.data == file_name && g.stt == stt)
        .map_or_else(
            || {
                (
                    TARGETS,
                    format!(
                        "the targets (no gate for {file_name} in {})",
                        path.display()
                    ),
                )
            },
            |g| {
                let how = if stt { " under --stt" } else { "" };
                let why = if g.note.is_empty() {
                    String::new()
                } else {
                    format!(": {}", g.note)
                };
                (
                    g.thresholds,
                    format!("the gate for {file_name}{how} in {}{why}", path.display()),
                )
            },
        ))
}

#[cfg(test)]
mod tests {
    use super::super::score::{score, Case, Truth};
    use super::*;
    use postcall::domain::Intent;

    fn truth(intent: Intent, sentiment: f64, lead: u8) -> Truth {
        Truth {
            sentiment,
            lead_score: lead,
            intent,
            hot: lead >= 80 && intent == Intent::Sales,
            name: None,
            email: None,
            topic: None,
        }
    }

    fn one(t: Truth, p: Truth) -> Report {
        score(
            &[Case {
                id: "a".into(),
                truth: t,
                prediction: p,
            }],
            10,
        )
        .unwrap()
    }

    #[test]
    fn each_miss_is_named() {
        let misses = TARGETS.misses(&one(
            truth(Intent::Sales, 1.0, 100),
            truth(Intent::Info, -1.0, 0),
        ));
        let text = misses.join("\n");
        for metric in [
            "sentiment_mae",
            "lead_score_mae",
            "intent_accuracy",
            "hot_f1",
        ] {
            assert!(text.contains(metric), "{text}");
        }
        let perfect = one(truth(Intent::Sales, 0.5, 90), truth(Intent::Sales, 0.5, 90));
        assert!(TARGETS.misses(&perfect).is_empty());
    }

    #[test]
    fn a_relaxed_gate_passes_what_the_target_fails_and_says_so() {
        let report = one(truth(Intent::Info, 0.5, 20), truth(Intent::Info, 0.2, 20));
        assert!(!TARGETS.misses(&report).is_empty(), "0.3 off misses 0.20");
        let gate = Thresholds {
            sentiment_mae_max: 0.32,
            ..TARGETS
        };
        assert!(gate.misses(&report).is_empty());
        let relaxed = gate.relaxed(&report).join("\n");
        assert!(
            relaxed.contains("sentiment_mae gated at 0.32 (target 0.2"),
            "{relaxed}"
        );
        // A loose gate on a metric that meets its target is not reported as a miss.
        let loose_but_met = Thresholds {
            intent_accuracy_min: 0.5,
            ..gate
        };
        assert_eq!(loose_but_met.relaxed(&report), gate.relaxed(&report));
    }

    #[test]
    fn the_committed_gates_file_parses_and_never_loosens_past_its_reach() {
        let data = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../data/dev-calls.jsonl"
        ));
        let text = std::fs::read_to_string(gates_path(data)).unwrap();
        let gates: GatesFile = serde_json::from_str(&text).unwrap();
        assert!(gates
            .gates
            .iter()
            .any(|g| g.data == "blind-calls.jsonl" && g.stt));
        assert!(gates
            .gates
            .iter()
            .any(|g| g.data == "blind-calls.jsonl" && !g.stt));
        assert!(gates
            .gates
            .iter()
            .any(|g| g.data == "dev-calls.jsonl" && !g.stt));
        for g in &gates.gates {
            let t = g.thresholds;
            // A gate is the target or looser, never stricter.
            assert!(
                t.sentiment_mae_max >= TARGETS.sentiment_mae_max,
                "{}",
                g.data
            );
            assert!(
                t.intent_accuracy_min <= TARGETS.intent_accuracy_min,
                "{}",
                g.data
            );
            assert!(
                t.lead_score_mae_max >= TARGETS.lead_score_mae_max,
                "{}",
                g.data
            );
            assert!(t.hot_f1_min <= TARGETS.hot_f1_min, "{}", g.data);
            assert!(t.name_f1_min <= TARGETS.name_f1_min, "{}", g.data);
            assert!(t.email_f1_min <= TARGETS.email_f1_min, "{}", g.data);
            if t != TARGETS {
                assert!(!g.note.is_empty(), "a relaxed gate says why: {}", g.data);
            }
        }
        let (found, from) = thresholds_for(data, false).unwrap();
        assert!(from.contains("gate for dev-calls.jsonl"), "{from}");
        assert_eq!(
            Some(found),
            gates
                .gates
                .iter()
                .find(|g| g.data == "dev-calls.jsonl" && !g.stt)
                .map(|g| g.thresholds)
        );
    }
}
