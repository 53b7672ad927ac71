//! CloudWatch metrics as Embedded Metric Format lines on stdout.
//!
//! One JSON object per line, written straight to stdout (not through `tracing`, which would
//! wrap it) before the handler returns. Namespace `postcall`, dimension `function`; ids go in
//! as plain properties, never as dimensions.

use serde_json::{json, Map, Value};

/// Unit of a metric value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A count.
    Count,
    /// Milliseconds.
    Milliseconds,
    /// No unit.
    None,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Milliseconds => "Milliseconds",
            Unit::None => "None",
        }
    }
}

/// The nearest-rank percentile of sorted samples: the value at rank ⌈p·n/100⌉ (1-based), the
/// smallest sample with at least `percentile` % of the samples at or below it. `None` when
/// there are none. The one percentile of the project: call metrics, the benchmark and its
/// cold-start section all use it.
pub fn nearest_rank<T: Copy>(sorted: &[T], percentile: f64) -> Option<T> {
    // p·n first, then /100: exact for whole percentiles (0.95 × 20 is not 19 in binary).
    let rank = (percentile * sorted.len() as f64 / 100.0).ceil() as usize;
    sorted.get(rank.max(1) - 1).copied()
}

static IN_LAMBDA: std::sync::OnceLock<bool> = std::sync::OnceLock::new();

/// Most metrics one EMF object may hold.
const MAX_METRICS: usize = 100;

/// One EMF line under construction.
#[derive(Debug, Clone)]
pub struct MetricsLine {
    function: &'static str,
    metrics: Vec<(&'static str, f64, Unit)>,
    properties: Map<String, Value>,
}

impl MetricsLine {
    /// A line for `function` (the dimension value).
    pub fn new(function: &'static str) -> Self {
        Self {
            function,
            metrics: Vec::new(),
            properties: Map::new(),
        }
    }

    /// Adds a count.
    pub fn count(mut self, name: &'static str, value: usize) -> Self {
        if self.metrics.len() < MAX_METRICS {
            // Counts in a Lambda batch are far below 2^53; the conversion is exact.
            self.metrics.push((name, value as f64, Unit::Count));
        }
        self
    }

    /// Adds a value without a unit (a cost in dollars, say).
    pub fn none(mut self, name: &'static str, value: f64) -> Self {
        if self.metrics.len() < MAX_METRICS {
            self.metrics.push((name, value, Unit::None));
        }
        self
    }

    /// Adds a duration in milliseconds.
    pub fn milliseconds(mut self, name: &'static str, value: f64) -> Self {
        if self.metrics.len() < MAX_METRICS {
            self.metrics.push((name, value, Unit::Milliseconds));
        }
        self
    }

    /// Adds a searchable property that is not a dimension.
    pub fn property(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.properties.insert(name.to_owned(), value.into());
        self
    }

    /// The JSON object for a timestamp (ms since the epoch).
    pub fn to_json(&self, timestamp_ms: i64) -> String {
        let definitions: Vec<Value> = self
            .metrics
            .iter()
            .map(|(name, _, unit)| json!({"Name": name, "Unit": unit.as_str()}))
            .collect();
        let mut root = self.properties.clone();
        root.insert(
            "_aws".into(),
            json!({
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{"Namespace": "postcall", "Dimensions": [["function"]], "Metrics": definitions}]
            }),
        );
        root.insert("function".into(), Value::from(self.function));
        for (name, value, _) in &self.metrics {
            root.insert((*name).to_owned(), json!(value));
        }
        Value::Object(root).to_string()
    }

    /// Writes the line to stdout now, when running in Lambda (or `cargo lambda watch`):
    /// elsewhere (the CLI, tests) an EMF line is noise that nothing collects.
    pub fn emit(self) {
        if *IN_LAMBDA.get_or_init(|| std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some()) {
            println!("{}", self.to_json(chrono::Utc::now().timestamp_millis()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_emf_shape() {
        let line = MetricsLine::new("analyzer")
            .count("RecordsFailed", 1)
            .property("requestId", "r-1")
            .to_json(1_700_000_000_000);
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["_aws"]["Timestamp"], 1_700_000_000_000i64);
        assert_eq!(v["_aws"]["CloudWatchMetrics"][0]["Namespace"], "postcall");
        assert_eq!(
            v["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["function"]])
        );
        assert_eq!(
            v["_aws"]["CloudWatchMetrics"][0]["Metrics"][0],
            json!({"Name": "RecordsFailed", "Unit": "Count"})
        );
        assert_eq!(v["function"], "analyzer");
        assert_eq!(v["RecordsFailed"], 1.0);
        assert_eq!(v["requestId"], "r-1");
    }

    #[test]
    fn caps_metrics_at_the_emf_limit() {
        let mut line = MetricsLine::new("analyzer");
        for _ in 0..150 {
            line = line.count("X", 1);
        }
        assert_eq!(line.metrics.len(), MAX_METRICS);
    }

    #[test]
    fn nearest_rank_takes_the_ceiling_rank_and_is_none_when_empty() {
        let samples: Vec<i64> = (1..=20).collect();
        assert_eq!(super::nearest_rank(&samples, 50.0), Some(10));
        assert_eq!(super::nearest_rank(&samples, 95.0), Some(19));
        assert_eq!(super::nearest_rank(&samples, 100.0), Some(20));
        assert_eq!(super::nearest_rank(&samples, 0.0), Some(1));
        assert_eq!(super::nearest_rank(&[7.5], 99.0), Some(7.5));
        assert_eq!(super::nearest_rank::<f64>(&[], 50.0), None);
    }
}
