//! The text report of `postcall eval`, and the means of the call metrics it prints.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use postcall::domain::{CallMetrics, Intent};

use super::score::Report;

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
    for (what, entity) in [("name", &report.name), ("email", &report.email)] {
        let _ = writeln!(
            out,
            "{what:<18} precision {:.3}  recall {:.3}  F1 {:.3}  (over {} calls that have one); \
             false positives {:.3} (over {} that have none)",
            entity.prf.precision,
            entity.prf.recall,
            entity.prf.f1,
            entity.labelled,
            entity.false_positive_rate,
            entity.unlabelled
        );
    }
    let _ = writeln!(
        out,
        "name / email exact {:.3} / {:.3}  (every call, null counted as a value)",
        report.name_exact, report.email_exact
    );
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

#[cfg(test)]
mod tests {
    use super::*;

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
