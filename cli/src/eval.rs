//! `postcall eval`: an analyzer against calls a person labelled (docs/labelling.md).
//!
//! Loading and analyzing are here; the scoring is plain functions in [`score`], the limits
//! `--check` enforces in [`gates`], the text report in [`render`], and `--stt`'s transform in
//! `crate::stt`.

pub mod gates;
pub mod render;
pub mod score;

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use anyhow::{bail, Context as _};
use chrono::{DateTime, Duration, TimeZone as _, Utc};
use futures::StreamExt as _;
use postcall::{
    adapters::llm::ApiKeySource,
    analysis::{rules::utterance_sentiment, Analyzer},
    config::{AnalysisSettings, AnalyzerKind},
    domain::{call_metrics, CallMetrics, Intent, Role, Transcript, Turn},
};

use self::render::{render, summarize_metrics};
use self::score::{score, Case, Prediction, Truth};
use crate::dataset::{self, LabelledCall};

/// How many of the worst calls are listed per metric, unless `--worst` says otherwise.
pub const DEFAULT_WORST: usize = 10;

/// Options of `postcall eval`.
pub struct EvalOptions {
    pub data: String,
    pub analyzer: Option<String>,
    pub json: bool,
    pub check: bool,
    pub worst: usize,
    /// Print why one call got its numbers, then stop.
    pub explain: Option<String>,
    /// Run every call through the speech-to-text transform first.
    pub stt: bool,
    /// Write each call's prediction beside its label to this JSONL file.
    pub predictions: Option<String>,
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
        // Judged under the run's policy with the prediction's (`Reading::with_policy`).
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

/// Why one call got its numbers: each turn with the caller's mood, where the name and email
/// came from, and the features that moved each model (the rules analyzer's own account),
/// then the label beside the analysis.
pub fn explain(call: &LabelledCall, truth: &Truth) -> String {
    let transcript = transcript_of(call).capped(postcall::config::DEFAULT_TRANSCRIPT_MAX_CHARS);
    let mut out = postcall::analysis::rules::explain(&transcript);
    let analysis = postcall::analysis::rules::analyze(&transcript);
    let _ = writeln!(out, "\nlabel:    {truth:?}");
    let _ = writeln!(out, "analysis: {analysis:?}");
    out
}

/// One line of `--predictions`: a call's label and what the analyzer said, side by side.
#[derive(Debug, serde::Serialize)]
struct PredictionLine<'a> {
    id: &'a str,
    vertical: &'a str,
    language: Option<&'a str>,
    style: Option<&'a str>,
    stt: bool,
    label: &'a Truth,
    prediction: &'a Prediction,
}

/// Writes `--predictions`.
fn write_predictions(
    path: &str,
    calls: &[(LabelledCall, Truth)],
    cases: &[Case],
    stt: bool,
) -> anyhow::Result<()> {
    let mut out = std::io::BufWriter::new(
        std::fs::File::create(path).with_context(|| format!("create {path}"))?,
    );
    for ((call, _), case) in calls.iter().zip(cases) {
        let line = PredictionLine {
            id: &call.id,
            vertical: &call.vertical,
            language: call.language.as_deref(),
            style: call.style.as_deref(),
            stt,
            label: &case.truth,
            prediction: &case.prediction,
        };
        serde_json::to_writer(&mut out, &line)?;
        out.write_all(b"\n")?;
    }
    out.flush().with_context(|| format!("write {path}"))
}

/// Runs `postcall eval`.
pub async fn run(options: EvalOptions) -> anyhow::Result<()> {
    let text =
        std::fs::read_to_string(&options.data).with_context(|| format!("read {}", options.data))?;
    let mut calls =
        load(&text).with_context(|| format!("{} is not a labelled dataset", options.data))?;
    if calls.is_empty() {
        bail!("{} holds no calls", options.data);
    }
    if options.stt {
        for (call, _) in &mut calls {
            *call = crate::stt::transform_call(call);
        }
    }
    if let Some(id) = &options.explain {
        let (call, truth) = calls
            .iter()
            .find(|(c, _)| &c.id == id)
            .with_context(|| format!("no call {id:?} in {}", options.data))?;
        print!("{}", explain(call, truth));
        return Ok(());
    }

    // The analyzer's own settings (ANALYZER, LLM_*, TRANSCRIPT_MAX_CHARS, HOT_LEAD_*), read as
    // the function reads them, with --analyzer in place of ANALYZER.
    let lookup = |name: &str| match (name, options.analyzer.as_deref()) {
        ("ANALYZER", Some(analyzer)) => Some(analyzer.to_string()),
        _ => std::env::var(name).ok(),
    };
    let settings = AnalysisSettings::from_lookup(&lookup).context(
        "analyzer settings (ANALYZER, LLM_BASE_URL, LLM_API_KEY, TRANSCRIPT_MAX_CHARS, HOT_LEAD_*)",
    )?;
    let secrets = match &settings.analyzer {
        AnalyzerKind::Llm(llm) if matches!(llm.key, ApiKeySource::SecretArn(_)) => {
            let aws = postcall::config::aws_sdk_config().await;
            Some(postcall::adapters::secrets::SecretsStore::new(
                aws_sdk_secretsmanager::Client::new(&aws),
            ))
        }
        _ => None,
    };
    let analyzer =
        Analyzer::from_config(&settings.analyzer, secrets).context("build the analyzer")?;
    // One policy judges the label and the prediction alike.
    let policy = settings.hot_lead_policy;
    let max_chars = settings.transcript_max_chars;
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
                        truth: truth.clone().with_policy(policy),
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
    if let Some(path) = &options.predictions {
        write_predictions(path, &calls, &cases, options.stt)?;
    }

    if options.json {
        println!("{}", serde_json::to_string(&report.json())?);
    } else {
        let name = if options.stt {
            format!("{} (speech-to-text transform)", analyzer.name())
        } else {
            analyzer.name().to_owned()
        };
        print!("{}", render(&report, &name, &summarize_metrics(&metrics)));
    }
    if options.check {
        let (thresholds, from) = gates::thresholds_for(Path::new(&options.data), options.stt)?;
        let relaxed = thresholds.relaxed(&report);
        if !relaxed.is_empty() {
            eprintln!(
                "eval: {} of issue #16's targets not met yet on this set; gated by {from}:\n  {}",
                relaxed.len(),
                relaxed.join("\n  ")
            );
        }
        let misses = thresholds.misses(&report);
        if !misses.is_empty() {
            bail!(
                "eval thresholds missed ({from}):\n  {}",
                misses.join("\n  ")
            );
        }
        eprintln!("eval: every threshold met ({from})");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
