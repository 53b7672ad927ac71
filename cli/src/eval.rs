//! `postcall eval`: an analyzer against calls a person labelled (docs/labelling.md).
//!
//! Loading and analyzing are at the top; the scoring is plain functions over
//! (truth, prediction) pairs, tested on small sets with known answers.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use anyhow::{bail, Context as _};
use chrono::{DateTime, Duration, TimeZone as _, Utc};
use futures::StreamExt as _;
use postcall::{
    analysis::{rules::utterance_sentiment, Analyzer},
    config::{AnalyzerKind, LlmConfig},
    domain::{call_metrics, Analysis, CallMetrics, HotLeadPolicy, Intent, Role, Transcript, Turn},
};

use crate::dataset::{self, LabelledCall};

/// Thresholds `--check` enforces (issue #9): the rules analyzer must meet them on the dev set.
pub const THRESHOLDS: Thresholds = Thresholds {
    sentiment_mae_max: 0.20,
    intent_accuracy_min: 0.85,
    lead_score_mae_max: 12.0,
    hot_f1_min: 0.85,
    email_exact_min: 0.95,
    name_exact_min: 0.85,
};

/// How many of the worst calls are listed per metric, unless `--worst` says otherwise.
pub const DEFAULT_WORST: usize = 10;

/// Options of `postcall eval`.
pub struct EvalOptions {
    pub data: String,
    pub analyzer: Option<String>,
    pub json: bool,
    pub check: bool,
    pub worst: usize,
    /// Print one call's caller turns with the rules analyzer's mood for each, then stop.
    pub explain: Option<String>,
}

/// What was read in one call, by a person (the label) or by the analyzer, in the fields eval
/// compares.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    pub sentiment: f64,
    pub lead_score: u8,
    pub intent: Intent,
    pub hot: bool,
    pub name: Option<String>,
    pub email: Option<String>,
    pub topic: Option<String>,
}

/// The label of a call.
pub type Truth = Reading;
/// The analyzer's reading of a call.
pub type Prediction = Reading;

impl Reading {
    fn from_analysis(analysis: &Analysis, policy: &HotLeadPolicy) -> Self {
        Self {
            sentiment: analysis.sentiment.get(),
            lead_score: analysis.lead_score.get(),
            intent: analysis.intent,
            hot: policy.is_hot_lead(analysis),
            name: analysis.entities.name.clone(),
            email: analysis.entities.email.clone(),
            topic: analysis.entities.topic.clone(),
        }
    }
}

/// A scored call.
#[derive(Debug, Clone)]
pub struct Case {
    pub id: String,
    pub truth: Truth,
    pub prediction: Prediction,
}

/// Precision, recall and F1 of one class.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Prf {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

impl Prf {
    /// From counts. With nothing predicted, precision is 1 when there was nothing to find
    /// and 0 otherwise; recall likewise with nothing to find. That keeps a class absent from
    /// both sides at 1.0 and never divides by zero.
    pub fn from_counts(true_pos: usize, false_pos: usize, false_neg: usize) -> Self {
        let ratio = |num: usize, den: usize, empty: f64| {
            if den == 0 {
                empty
            } else {
                num as f64 / den as f64
            }
        };
        let precision = ratio(
            true_pos,
            true_pos + false_pos,
            if false_neg == 0 { 1.0 } else { 0.0 },
        );
        let recall = ratio(
            true_pos,
            true_pos + false_neg,
            if false_pos == 0 { 1.0 } else { 0.0 },
        );
        let f1 = if precision + recall == 0.0 {
            0.0
        } else {
            2.0 * precision * recall / (precision + recall)
        };
        Self {
            precision,
            recall,
            f1,
        }
    }
}

/// One of the worst calls on a metric: id, how far off, what the label and analyzer said.
pub type WorstCall = (String, f64, String);

/// The report `eval` prints.
#[derive(Debug, Clone)]
pub struct Report {
    pub n: usize,
    pub sentiment_mae: f64,
    pub intent_accuracy: f64,
    /// `confusion[truth][predicted]`, intents in [`Intent::ALL`] order.
    pub confusion: [[usize; 5]; 5],
    pub intent_prf: [Prf; 5],
    pub lead_score_mae: f64,
    pub hot: Prf,
    pub name_exact: f64,
    pub email_exact: f64,
    pub topic_f1: f64,
    /// Per metric, the worst calls: (id, how far off, what was expected vs. said).
    pub worst: Vec<(&'static str, Vec<WorstCall>)>,
}

/// The `--json` object: exactly the keys issue #9 names.
#[derive(Debug, serde::Serialize)]
pub struct JsonReport {
    pub sentiment_mae: f64,
    pub intent_accuracy: f64,
    pub lead_score_mae: f64,
    pub hot_precision: f64,
    pub hot_recall: f64,
    pub hot_f1: f64,
    pub name_exact: f64,
    pub email_exact: f64,
    pub topic_f1: f64,
    pub n: usize,
}

impl Report {
    pub fn json(&self) -> JsonReport {
        JsonReport {
            sentiment_mae: round(self.sentiment_mae),
            intent_accuracy: round(self.intent_accuracy),
            lead_score_mae: round(self.lead_score_mae),
            hot_precision: round(self.hot.precision),
            hot_recall: round(self.hot.recall),
            hot_f1: round(self.hot.f1),
            name_exact: round(self.name_exact),
            email_exact: round(self.email_exact),
            topic_f1: round(self.topic_f1),
            n: self.n,
        }
    }
}

fn round(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// Limits the report must meet.
#[derive(Debug, Clone, Copy)]
pub struct Thresholds {
    pub sentiment_mae_max: f64,
    pub intent_accuracy_min: f64,
    pub lead_score_mae_max: f64,
    pub hot_f1_min: f64,
    pub email_exact_min: f64,
    pub name_exact_min: f64,
}

impl Thresholds {
    /// The metrics that miss, as lines to print; empty when all pass.
    pub fn misses(&self, report: &Report) -> Vec<String> {
        let mut misses = Vec::new();
        let mut at_most = |name: &str, value: f64, max: f64| {
            if value > max || value.is_nan() {
                misses.push(format!("{name} {value:.3} is above {max}"));
            }
        };
        at_most(
            "sentiment_mae",
            report.sentiment_mae,
            self.sentiment_mae_max,
        );
        at_most(
            "lead_score_mae",
            report.lead_score_mae,
            self.lead_score_mae_max,
        );
        let mut at_least = |name: &str, value: f64, min: f64| {
            if value < min || value.is_nan() {
                misses.push(format!("{name} {value:.3} is below {min}"));
            }
        };
        at_least(
            "intent_accuracy",
            report.intent_accuracy,
            self.intent_accuracy_min,
        );
        at_least("hot_f1", report.hot.f1, self.hot_f1_min);
        at_least("email_exact", report.email_exact, self.email_exact_min);
        at_least("name_exact", report.name_exact, self.name_exact_min);
        misses
    }
}

/// Mean absolute error; `None` for no pairs.
pub fn mean_absolute_error(pairs: impl IntoIterator<Item = (f64, f64)>) -> Option<f64> {
    let (sum, n) = pairs
        .into_iter()
        .fold((0.0, 0usize), |(s, n), (a, b)| (s + (a - b).abs(), n + 1));
    (n > 0).then(|| sum / n as f64)
}

/// A name compared the way labels are: lower case, letters (accents kept) and digits,
/// single spaces.
pub fn normalize_name(name: &str) -> String {
    name.split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| !w.is_empty())
        .map(|w| w.replace('\'', "").to_lowercase())
        .collect::<Vec<_>>()
        .join(" ")
}

/// An email compared the way labels are: trimmed, lower case.
pub fn normalize_email(email: &str) -> String {
    email.trim().trim_end_matches('.').to_lowercase()
}

/// Exact match of optional values after `normalize`, `None` (or an empty string) counted as
/// a value of its own.
pub fn exact_match(
    truth: Option<&str>,
    predicted: Option<&str>,
    normalize: fn(&str) -> String,
) -> bool {
    let norm = |v: Option<&str>| v.map(normalize).filter(|v| !v.is_empty());
    norm(truth) == norm(predicted)
}

const TOPIC_STOP_WORDS: &[&str] = &[
    "a", "an", "the", "of", "for", "to", "and", "or", "in", "on", "with", "about", "at", "by",
    "my", "their", "his", "her", "our", "your", "from", "is",
];

fn topic_tokens(topic: &str) -> Vec<String> {
    topic
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .filter(|w| !TOPIC_STOP_WORDS.contains(&w.as_str()))
        .collect()
}

/// Token F1 between two topics (bags of lower-case words, stop words dropped): 1 when both
/// are empty or absent, 0 when only one is.
pub fn token_f1(truth: Option<&str>, predicted: Option<&str>) -> f64 {
    let truth = truth.map(topic_tokens).unwrap_or_default();
    let predicted = predicted.map(topic_tokens).unwrap_or_default();
    if truth.is_empty() && predicted.is_empty() {
        return 1.0;
    }
    if truth.is_empty() || predicted.is_empty() {
        return 0.0;
    }
    let mut remaining = truth.clone();
    let mut common = 0usize;
    for token in &predicted {
        if let Some(i) = remaining.iter().position(|t| t == token) {
            remaining.swap_remove(i);
            common += 1;
        }
    }
    if common == 0 {
        return 0.0;
    }
    let precision = common as f64 / predicted.len() as f64;
    let recall = common as f64 / truth.len() as f64;
    2.0 * precision * recall / (precision + recall)
}

fn intent_index(intent: Intent) -> usize {
    Intent::ALL.iter().position(|i| *i == intent).unwrap_or(0)
}

/// Scores the cases. An empty set is an error for the caller to report, not a report of NaNs.
pub fn score(cases: &[Case], worst: usize) -> Option<Report> {
    if cases.is_empty() {
        return None;
    }
    let n = cases.len();
    let sentiment_mae = mean_absolute_error(
        cases
            .iter()
            .map(|c| (c.truth.sentiment, c.prediction.sentiment)),
    )?;
    let lead_score_mae = mean_absolute_error(cases.iter().map(|c| {
        (
            f64::from(c.truth.lead_score),
            f64::from(c.prediction.lead_score),
        )
    }))?;

    let mut confusion = [[0usize; 5]; 5];
    for c in cases {
        confusion[intent_index(c.truth.intent)][intent_index(c.prediction.intent)] += 1;
    }
    let correct: usize = (0..5).map(|i| confusion[i][i]).sum();
    let intent_prf = std::array::from_fn(|k| {
        let tp = confusion[k][k];
        let fp = (0..5).filter(|&t| t != k).map(|t| confusion[t][k]).sum();
        let fn_ = (0..5).filter(|&p| p != k).map(|p| confusion[k][p]).sum();
        Prf::from_counts(tp, fp, fn_)
    });

    let count = |f: &dyn Fn(&Case) -> bool| cases.iter().filter(|c| f(c)).count();
    let hot = Prf::from_counts(
        count(&|c| c.truth.hot && c.prediction.hot),
        count(&|c| !c.truth.hot && c.prediction.hot),
        count(&|c| c.truth.hot && !c.prediction.hot),
    );
    let name_ok = |c: &Case| {
        exact_match(
            c.truth.name.as_deref(),
            c.prediction.name.as_deref(),
            normalize_name,
        )
    };
    let email_ok = |c: &Case| {
        exact_match(
            c.truth.email.as_deref(),
            c.prediction.email.as_deref(),
            normalize_email,
        )
    };
    let topic = |c: &Case| token_f1(c.truth.topic.as_deref(), c.prediction.topic.as_deref());
    let topic_f1 = cases.iter().map(topic).sum::<f64>() / n as f64;

    let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "null".to_string());
    let worst = vec![
        worst_of(cases, worst, "sentiment", |c| {
            let off = (c.truth.sentiment - c.prediction.sentiment).abs();
            (
                off,
                format!(
                    "label {:+.2}, said {:+.2}",
                    c.truth.sentiment, c.prediction.sentiment
                ),
            )
        }),
        worst_of(cases, worst, "lead score", |c| {
            let off = (f64::from(c.truth.lead_score) - f64::from(c.prediction.lead_score)).abs();
            (
                off,
                format!(
                    "label {}, said {}",
                    c.truth.lead_score, c.prediction.lead_score
                ),
            )
        }),
        worst_of(cases, worst, "intent", |c| {
            let off = if c.truth.intent == c.prediction.intent {
                0.0
            } else {
                1.0
            };
            (
                off,
                format!("label {}, said {}", c.truth.intent, c.prediction.intent),
            )
        }),
        worst_of(cases, worst, "hot", |c| {
            let off = if c.truth.hot == c.prediction.hot {
                0.0
            } else {
                1.0
            };
            (
                off,
                format!(
                    "label {} ({} {}), said {} ({} {})",
                    c.truth.hot,
                    c.truth.intent,
                    c.truth.lead_score,
                    c.prediction.hot,
                    c.prediction.intent,
                    c.prediction.lead_score
                ),
            )
        }),
        worst_of(cases, worst, "name", |c| {
            let off = if name_ok(c) { 0.0 } else { 1.0 };
            (
                off,
                format!(
                    "label {}, said {}",
                    show(&c.truth.name),
                    show(&c.prediction.name)
                ),
            )
        }),
        worst_of(cases, worst, "email", |c| {
            let off = if email_ok(c) { 0.0 } else { 1.0 };
            (
                off,
                format!(
                    "label {}, said {}",
                    show(&c.truth.email),
                    show(&c.prediction.email)
                ),
            )
        }),
        worst_of(cases, worst, "topic", |c| {
            let off = 1.0 - topic(c);
            (
                off,
                format!(
                    "label {}, said {}",
                    show(&c.truth.topic),
                    show(&c.prediction.topic)
                ),
            )
        }),
    ];

    Some(Report {
        n,
        sentiment_mae,
        intent_accuracy: correct as f64 / n as f64,
        confusion,
        intent_prf,
        lead_score_mae,
        hot,
        name_exact: count(&name_ok) as f64 / n as f64,
        email_exact: count(&email_ok) as f64 / n as f64,
        topic_f1,
        worst,
    })
}

/// The calls with the largest error on one metric, worst first; ties by id; only errors > 0.
fn worst_of(
    cases: &[Case],
    limit: usize,
    metric: &'static str,
    error: impl Fn(&Case) -> (f64, String),
) -> (&'static str, Vec<WorstCall>) {
    let mut rows: Vec<WorstCall> = cases
        .iter()
        .map(|c| {
            let (off, detail) = error(c);
            (c.id.clone(), off, detail)
        })
        .filter(|(_, off, _)| *off > 0.0)
        .collect();
    rows.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    rows.truncate(limit);
    (metric, rows)
}

/// The text report.
pub fn render(report: &Report, analyzer: &str, metrics: &MetricsSummary) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "postcall eval: {} calls, analyzer {analyzer}\n",
        report.n
    );
    let _ = writeln!(out, "sentiment MAE      {:.3}", report.sentiment_mae);
    let _ = writeln!(out, "lead score MAE     {:.2}", report.lead_score_mae);
    let _ = writeln!(out, "intent accuracy    {:.3}", report.intent_accuracy);
    let _ = writeln!(
        out,
        "hot leads          precision {:.3}  recall {:.3}  F1 {:.3}",
        report.hot.precision, report.hot.recall, report.hot.f1
    );
    let _ = writeln!(out, "name exact         {:.3}", report.name_exact);
    let _ = writeln!(out, "email exact        {:.3}", report.email_exact);
    let _ = writeln!(out, "topic token F1     {:.3}", report.topic_f1);

    let _ = writeln!(out, "\nintent confusion (rows: label, columns: analyzer)");
    let _ = write!(out, "{:>10}", "");
    for intent in Intent::ALL {
        let _ = write!(out, "{:>10}", intent.as_str());
    }
    let _ = writeln!(out, "{:>8}", "F1");
    for (t, intent) in Intent::ALL.iter().enumerate() {
        let _ = write!(out, "{:>10}", intent.as_str());
        for p in 0..5 {
            let _ = write!(out, "{:>10}", report.confusion[t][p]);
        }
        let _ = writeln!(out, "{:>8.3}", report.intent_prf[t].f1);
    }

    let _ = writeln!(
        out,
        "\ncall metrics (over {} calls with timestamps)",
        metrics.calls
    );
    for (name, value) in &metrics.lines {
        let _ = writeln!(out, "  {name:<34} {value}");
    }

    for (metric, rows) in &report.worst {
        if rows.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\nworst {metric}:");
        for (id, _, detail) in rows {
            let _ = writeln!(out, "  {id:<14} {detail}");
        }
    }
    out
}

/// Means of the call metrics over the set, for the report.
#[derive(Debug, Default)]
pub struct MetricsSummary {
    pub calls: usize,
    pub lines: Vec<(String, String)>,
}

/// Summarises the call metrics of every call: means of the numeric fields, recursively, by
/// their JSON names, so the summary follows the metrics as they grow.
pub fn summarize_metrics(all: &[CallMetrics]) -> MetricsSummary {
    let mut sums: BTreeMap<String, (f64, usize)> = BTreeMap::new();
    for metrics in all {
        if let Ok(value) = serde_json::to_value(metrics) {
            add_numbers(&mut sums, String::new(), &value);
        }
    }
    MetricsSummary {
        calls: all.len(),
        lines: sums
            .into_iter()
            .map(|(name, (sum, n))| (format!("mean {name}"), format!("{:.2}", sum / n as f64)))
            .collect(),
    }
}

fn add_numbers(
    sums: &mut BTreeMap<String, (f64, usize)>,
    prefix: String,
    value: &serde_json::Value,
) {
    match value {
        serde_json::Value::Number(n) => {
            if let Some(x) = n.as_f64() {
                let entry = sums.entry(prefix).or_insert((0.0, 0));
                entry.0 += x;
                entry.1 += 1;
            }
        }
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                let name = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                add_numbers(sums, name, v);
            }
        }
        serde_json::Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                add_numbers(sums, format!("{prefix}[{i}]"), v);
            }
        }
        _ => {}
    }
}

/// Reads and checks a labelled dataset; an error names the line.
pub fn load(text: &str) -> anyhow::Result<Vec<(LabelledCall, Truth)>> {
    let calls = dataset::parse_jsonl(text)?;
    // parse_jsonl skips blank lines: recover each call's line number for messages.
    let line_numbers: Vec<usize> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, _)| i + 1)
        .collect();
    calls
        .into_iter()
        .zip(line_numbers)
        .map(|(call, line)| {
            let truth =
                truth_of(&call).with_context(|| format!("line {line} (call {:?})", call.id))?;
            Ok((call, truth))
        })
        .collect()
}

fn truth_of(call: &LabelledCall) -> anyhow::Result<Truth> {
    let Some(label) = &call.label else {
        bail!("no \"label\": eval needs labelled calls (docs/labelling.md)");
    };
    if !(-1.0..=1.0).contains(&label.sentiment) {
        bail!("label.sentiment {} is outside -1..1", label.sentiment);
    }
    let lead_score = u8::try_from(label.lead_score)
        .ok()
        .filter(|s| *s <= 100)
        .with_context(|| format!("label.lead_score {} is outside 0..100", label.lead_score))?;
    let intent: Intent = label.intent.parse().map_err(|_| {
        anyhow::anyhow!(
            "label.intent {:?} is not one of info, booking, complaint, sales, support",
            label.intent
        )
    })?;
    for (i, turn) in call.turns.iter().enumerate() {
        if turn.end_ms < turn.start_ms {
            bail!(
                "turn {i} ends ({}) before it starts ({})",
                turn.end_ms,
                turn.start_ms
            );
        }
    }
    Ok(Truth {
        sentiment: label.sentiment,
        lead_score,
        intent,
        hot: label.hot,
        name: label.entities.name.clone(),
        email: label.entities.email.clone(),
        topic: label.entities.topic.clone(),
    })
}

/// The call's turns at fixed times (offsets from an arbitrary start), as a voice bridge would
/// store them.
pub fn transcript_of(call: &LabelledCall) -> Transcript {
    let start: DateTime<Utc> = Utc
        .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or_default();
    Transcript::new(
        call.turns
            .iter()
            .map(|t| Turn {
                role: Role::parse(&t.role),
                text: t.text.clone(),
                started_at: Some(start + Duration::milliseconds(t.start_ms)),
                ended_at: Some(start + Duration::milliseconds(t.end_ms)),
            })
            .collect(),
    )
}

/// One call, turn by turn, with the rules analyzer's mood of each caller turn and its
/// analysis against the label: for finding out why a call scores as it does.
pub fn explain(call: &LabelledCall, truth: &Truth) -> String {
    let transcript = transcript_of(call);
    let mut out = String::new();
    for turn in transcript.turns() {
        let mood = match turn.role {
            Role::Caller => utterance_sentiment(&turn.text)
                .map_or_else(|| "   .".to_string(), |m| format!("{m:+.2}")),
            _ => String::new(),
        };
        let _ = writeln!(out, "{:>6} {:<6} {}", mood, turn.role.label(), turn.text);
    }
    let analysis = postcall::analysis::rules::analyze(&transcript.capped(usize::MAX));
    let _ = writeln!(out, "\nlabel:    {truth:?}");
    let _ = writeln!(out, "analysis: {analysis:?}");
    out
}

/// Runs `postcall eval`.
pub async fn run(options: EvalOptions) -> anyhow::Result<()> {
    let text =
        std::fs::read_to_string(&options.data).with_context(|| format!("read {}", options.data))?;
    let calls =
        load(&text).with_context(|| format!("{} is not a labelled dataset", options.data))?;
    if calls.is_empty() {
        bail!("{} holds no calls", options.data);
    }
    if let Some(id) = &options.explain {
        let (call, truth) = calls
            .iter()
            .find(|(c, _)| &c.id == id)
            .with_context(|| format!("no call {id:?} in {}", options.data))?;
        print!("{}", explain(call, truth));
        return Ok(());
    }

    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let lookup = |name: &str| env(name);
    let kind = match options.analyzer.as_deref().or(env("ANALYZER").as_deref()) {
        None | Some("rules") => AnalyzerKind::Rules,
        Some("llm") => AnalyzerKind::Llm(Box::new(
            LlmConfig::from_lookup(&lookup)
                .context("LLM configuration (LLM_BASE_URL, LLM_API_KEY, ...)")?,
        )),
        Some(other) => bail!("--analyzer takes rules or llm, not {other:?}"),
    };
    let secrets = if matches!(kind, AnalyzerKind::Llm(_)) && env("LLM_API_KEY_SECRET_ARN").is_some()
    {
        let aws = postcall::config::aws_sdk_config().await;
        Some(postcall::adapters::secrets::SecretsStore::new(
            aws_sdk_secretsmanager::Client::new(&aws),
        ))
    } else {
        None
    };
    let analyzer = Analyzer::from_config(&kind, secrets).context("build the analyzer")?;
    let policy = HotLeadPolicy::from_lookup(&lookup).context("hot-lead thresholds")?;
    let max_chars: usize = env("TRANSCRIPT_MAX_CHARS")
        .map(|v| v.parse())
        .transpose()
        .context("TRANSCRIPT_MAX_CHARS takes a number")?
        .unwrap_or(12_000);
    let concurrency = if matches!(analyzer, Analyzer::Rules) {
        1
    } else {
        8
    };

    let analyzer = &analyzer;
    let results: Vec<anyhow::Result<(Case, CallMetrics)>> =
        futures::stream::iter(calls.iter().map(|(call, truth)| {
            let policy = &policy;
            async move {
                let transcript = transcript_of(call);
                let outcome = analyzer
                    .analyze(&transcript, max_chars, None)
                    .await
                    .with_context(|| format!("analyze call {}", call.id))?;
                let metrics = call_metrics(transcript.turns(), utterance_sentiment);
                Ok((
                    Case {
                        id: call.id.clone(),
                        truth: truth.clone(),
                        prediction: Prediction::from_analysis(&outcome.analysis, policy),
                    },
                    metrics,
                ))
            }
        }))
        .buffered(concurrency)
        .collect()
        .await;
    let (cases, metrics): (Vec<Case>, Vec<CallMetrics>) = results
        .into_iter()
        .collect::<anyhow::Result<Vec<_>>>()?
        .into_iter()
        .unzip();
    let report = score(&cases, options.worst).context("no calls to score")?;

    if options.json {
        println!("{}", serde_json::to_string(&report.json())?);
    } else {
        print!(
            "{}",
            render(&report, analyzer.name(), &summarize_metrics(&metrics))
        );
    }
    if options.check {
        let misses = THRESHOLDS.misses(&report);
        if !misses.is_empty() {
            bail!("eval thresholds missed:\n  {}", misses.join("\n  "));
        }
        eprintln!("eval: every threshold met");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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

    fn case(id: &str, truth: Truth, prediction: Prediction) -> Case {
        Case {
            id: id.to_string(),
            truth,
            prediction,
        }
    }

    #[test]
    fn mae_of_known_pairs_and_of_nothing() {
        assert_eq!(mean_absolute_error([(0.5, 0.0), (-1.0, 0.0)]), Some(0.75));
        assert_eq!(mean_absolute_error([(0.2, 0.2)]), Some(0.0));
        assert_eq!(mean_absolute_error(std::iter::empty()), None);
    }

    #[test]
    fn prf_from_known_counts() {
        let p = Prf::from_counts(3, 1, 2);
        assert_eq!(p.precision, 0.75);
        assert_eq!(p.recall, 0.6);
        assert!((p.f1 - 2.0 * 0.75 * 0.6 / 1.35).abs() < 1e-12);
    }

    #[test]
    fn prf_edge_cases_never_divide_by_zero() {
        // Nothing to find, nothing claimed: perfect.
        assert_eq!(Prf::from_counts(0, 0, 0).f1, 1.0);
        // Something to find, nothing claimed.
        let missed = Prf::from_counts(0, 0, 4);
        assert_eq!(
            (missed.precision, missed.recall, missed.f1),
            (0.0, 0.0, 0.0)
        );
        // Nothing to find, something claimed.
        let false_alarm = Prf::from_counts(0, 2, 0);
        assert_eq!(
            (false_alarm.precision, false_alarm.recall, false_alarm.f1),
            (0.0, 0.0, 0.0)
        );
    }

    #[test]
    fn confusion_accuracy_and_per_intent_f1() {
        let cases = vec![
            case(
                "a",
                truth(Intent::Sales, 0.0, 90),
                truth(Intent::Sales, 0.0, 90),
            ),
            case(
                "b",
                truth(Intent::Sales, 0.0, 50),
                truth(Intent::Info, 0.0, 50),
            ),
            case(
                "c",
                truth(Intent::Info, 0.0, 20),
                truth(Intent::Info, 0.0, 20),
            ),
            case(
                "d",
                truth(Intent::Complaint, 0.0, 0),
                truth(Intent::Complaint, 0.0, 0),
            ),
        ];
        let r = score(&cases, DEFAULT_WORST).unwrap();
        assert_eq!(r.intent_accuracy, 0.75);
        let (sales, info) = (intent_index(Intent::Sales), intent_index(Intent::Info));
        assert_eq!(r.confusion[sales][sales], 1);
        assert_eq!(r.confusion[sales][info], 1);
        assert_eq!(r.confusion[info][info], 1);
        // sales: tp 1, fn 1 → P 1, R 0.5; info: tp 1, fp 1 → P 0.5, R 1.
        assert!((r.intent_prf[sales].f1 - 2.0 / 3.0).abs() < 1e-12);
        assert!((r.intent_prf[info].f1 - 2.0 / 3.0).abs() < 1e-12);
        // Booking appears on neither side.
        assert_eq!(r.intent_prf[intent_index(Intent::Booking)].f1, 1.0);
        assert_eq!(r.worst[2].1.len(), 1, "one intent miss listed");
        assert_eq!(r.worst[2].1[0].0, "b");
    }

    #[test]
    fn single_class_sets_score_sanely() {
        let cases = vec![
            case(
                "a",
                truth(Intent::Support, 0.5, 10),
                truth(Intent::Support, 0.1, 30),
            ),
            case(
                "b",
                truth(Intent::Support, -0.5, 10),
                truth(Intent::Support, -0.1, 0),
            ),
        ];
        let r = score(&cases, DEFAULT_WORST).unwrap();
        assert_eq!(r.intent_accuracy, 1.0);
        assert!((r.sentiment_mae - 0.4).abs() < 1e-12);
        assert_eq!(r.lead_score_mae, 15.0);
        // No hot leads anywhere: hot F1 is perfect, not NaN.
        assert_eq!(r.hot.f1, 1.0);
        assert_eq!(r.worst[0].1[0].0, "a", "ties go by id");
    }

    #[test]
    fn an_empty_set_has_no_report() {
        assert!(score(&[], DEFAULT_WORST).is_none());
    }

    #[test]
    fn hot_precision_recall_from_the_flags() {
        let hot = truth(Intent::Sales, 0.5, 90);
        let cold = truth(Intent::Sales, 0.0, 40);
        let cases = vec![
            case("tp", hot.clone(), hot.clone()),
            case("fn", hot.clone(), cold.clone()),
            case("fp", cold.clone(), hot.clone()),
            case("tn", cold.clone(), cold.clone()),
        ];
        let r = score(&cases, DEFAULT_WORST).unwrap();
        assert_eq!((r.hot.precision, r.hot.recall), (0.5, 0.5));
        let json = serde_json::to_value(r.json()).unwrap();
        let mut keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "email_exact",
                "hot_f1",
                "hot_precision",
                "hot_recall",
                "intent_accuracy",
                "lead_score_mae",
                "n",
                "name_exact",
                "sentiment_mae",
                "topic_f1"
            ]
        );
    }

    #[test]
    fn names_and_emails_match_after_normalising_and_null_is_a_value() {
        assert!(exact_match(
            Some("Dana  Whitfield"),
            Some("dana whitfield."),
            normalize_name
        ));
        assert!(exact_match(
            Some("José O'Neil"),
            Some("josé oneil"),
            normalize_name
        ));
        assert!(
            !exact_match(Some("José"), Some("Jose"), normalize_name),
            "accents are kept"
        );
        assert!(exact_match(None, None, normalize_name));
        assert!(exact_match(None, Some(""), normalize_name));
        assert!(!exact_match(None, Some("Dana"), normalize_name));
        assert!(exact_match(
            Some("Ana.R@Gmail.com"),
            Some("ana.r@gmail.com"),
            normalize_email
        ));
        assert!(!exact_match(Some("ana@gmail.com"), None, normalize_email));
    }

    #[test]
    fn topic_token_f1() {
        assert_eq!(
            token_f1(Some("Login problem"), Some("the login problem")),
            1.0
        );
        assert_eq!(token_f1(None, None), 1.0);
        assert_eq!(token_f1(Some("refund"), None), 0.0);
        assert_eq!(token_f1(Some("refund"), Some("invoice")), 0.0);
        // truth {house, viewing}, predicted {house, viewing, saturday}: P 2/3, R 1.
        assert!(
            (token_f1(Some("house viewing"), Some("house viewing saturday")) - 0.8).abs() < 1e-12
        );
    }

    #[test]
    fn thresholds_name_each_miss() {
        let cases = vec![case(
            "a",
            truth(Intent::Sales, 1.0, 100),
            truth(Intent::Info, -1.0, 0),
        )];
        let misses = THRESHOLDS.misses(&score(&cases, DEFAULT_WORST).unwrap());
        let text = misses.join("\n");
        for metric in [
            "sentiment_mae",
            "lead_score_mae",
            "intent_accuracy",
            "hot_f1",
        ] {
            assert!(text.contains(metric), "{text}");
        }
        let perfect = vec![case(
            "a",
            truth(Intent::Sales, 0.5, 90),
            truth(Intent::Sales, 0.5, 90),
        )];
        assert!(THRESHOLDS
            .misses(&score(&perfect, DEFAULT_WORST).unwrap())
            .is_empty());
    }

    #[test]
    fn a_bad_label_names_its_line() {
        let good = r#"{"id":"a","agent_id":"x","turns":[],"label":{"sentiment":0.1,"lead_score":5,"intent":"info","entities":{"name":null,"email":null,"topic":null},"hot":false},"notes":""}"#;
        let bad = good.replace("\"info\"", "\"chitchat\"");
        assert_eq!(load(good).unwrap().len(), 1);
        let err = format!("{:#}", load(&format!("{good}\n\n{bad}\n")).unwrap_err());
        assert!(err.contains("line 3") && err.contains("chitchat"), "{err}");
        let unlabelled = r#"{"id":"a","agent_id":"x","turns":[]}"#;
        let err = format!("{:#}", load(unlabelled).unwrap_err());
        assert!(err.contains("line 1") && err.contains("label"), "{err}");
        let err = format!("{:#}", load("{not json").unwrap_err());
        assert!(err.contains("line 1"), "{err}");
    }

    #[test]
    fn metrics_summary_means_nested_numbers() {
        let a = CallMetrics::default();
        let s = summarize_metrics(&[a.clone(), a]);
        assert_eq!(s.calls, 2);
        assert!(
            s.lines.iter().any(|(name, _)| name.contains("turns")),
            "{:?}",
            s.lines
        );
    }
}
