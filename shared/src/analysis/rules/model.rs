//! The learned part of the rules analyzer: linear models over a call's features
//! (`features.rs`), fitted by `postcall train` on the labelled development calls and compiled
//! into the binary (`model.tsv`). Four models share the features:
//!
//! - intent: multinomial logistic regression over the five intents;
//! - sentiment: ridge regression onto the label's −1…1;
//! - lead band: multinomial logistic regression over the rubric's score bands, read as the
//!   median of the predicted distribution;
//! - hot: logistic regression onto the label's hot flag, with a threshold chosen on
//!   cross-validated predictions.
//!
//! Prediction is a dot product per model; `explain` lists the features that moved each one.

use std::collections::HashMap;
use std::sync::OnceLock;

use super::features::Features;
use crate::domain::Intent;

/// The lead-score bands the band model predicts (inclusive upper bounds), from the rubric of
/// docs/labelling.md.
pub const LEAD_BANDS: [u8; 6] = [10, 25, 45, 69, 79, 100];

/// The compiled-in model, written by `postcall train`.
const MODEL_TSV: &str = include_str!("model.tsv");

/// One feature's weights in every model.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FeatureWeights {
    /// Logit per intent, in [`Intent::ALL`] order.
    pub intent: [f64; 5],
    /// Contribution to the sentiment.
    pub sentiment: f64,
    /// Logit per lead band.
    pub bands: [f64; 6],
    /// Contribution to the hot logit.
    pub hot: f64,
}

/// The models: weights per feature, and what turns their outputs into numbers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Model {
    /// Weights by feature name; a feature the model does not know weighs nothing.
    pub weights: HashMap<String, FeatureWeights>,
    /// The score a call in each band gets (the band's median label in training).
    pub band_scores: [f64; 6],
    /// Hot when the hot probability reaches this, or half of it when the lead bands give 80+
    /// (and the intent is sales); see `rules::decide`.
    pub hot_threshold: f64,
    /// Free text about the training run, kept in the file's header.
    pub provenance: Vec<String>,
}

/// What the models say about one call.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prediction {
    /// Probability per intent, in [`Intent::ALL`] order.
    pub intent: [f64; 5],
    /// Sentiment, clamped to −1..=1.
    pub sentiment: f64,
    /// Probability per lead band.
    pub bands: [f64; 6],
    /// Probability that the call is a hot lead.
    pub hot: f64,
}

fn softmax<const N: usize>(logits: [f64; N]) -> [f64; N] {
    let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let exps = logits.map(|l| (l - max).exp());
    let sum: f64 = exps.iter().sum();
    exps.map(|e| if sum > 0.0 { e / sum } else { 1.0 / N as f64 })
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

impl Model {
    /// The model compiled into the binary. An unreadable file (a bug the unit tests catch)
    /// gives an empty model, whose calls read as neutral information calls.
    pub fn compiled() -> &'static Model {
        static MODEL: OnceLock<Model> = OnceLock::new();
        MODEL.get_or_init(|| Model::parse(MODEL_TSV).unwrap_or_default())
    }

    /// The four models' outputs for a call's features.
    pub fn predict(&self, features: &Features) -> Prediction {
        let mut sum = FeatureWeights::default();
        for (name, value) in &features.values {
            if let Some(w) = self.weights.get(name) {
                for (s, x) in sum.intent.iter_mut().zip(w.intent) {
                    *s += x * value;
                }
                sum.sentiment += w.sentiment * value;
                for (s, x) in sum.bands.iter_mut().zip(w.bands) {
                    *s += x * value;
                }
                sum.hot += w.hot * value;
            }
        }
        Prediction {
            intent: softmax(sum.intent),
            sentiment: sum.sentiment.clamp(-1.0, 1.0),
            bands: softmax(sum.bands),
            hot: sigmoid(sum.hot),
        }
    }

    /// The lead score of a band distribution: the median band's score, moved within it by
    /// how far into the band the median falls.
    pub fn lead_score(&self, bands: &[f64; 6]) -> f64 {
        let mut cumulative = 0.0;
        for (i, p) in bands.iter().enumerate() {
            if cumulative + p >= 0.5 {
                return self.band_scores.get(i).copied().unwrap_or(0.0);
            }
            cumulative += p;
        }
        self.band_scores.last().copied().unwrap_or(0.0)
    }

    /// The features that moved one output most, largest first: `(feature, value × weight)`.
    /// `pick` chooses the output (an intent's logit, the sentiment, the hot logit).
    pub fn contributions(
        &self,
        features: &Features,
        pick: impl Fn(&FeatureWeights) -> f64,
        top: usize,
    ) -> Vec<(String, f64)> {
        let mut out: Vec<(String, f64)> = features
            .values
            .iter()
            .filter_map(|(name, value)| {
                let w = self.weights.get(name)?;
                let c = pick(w) * value;
                (c != 0.0).then(|| (name.clone(), c))
            })
            .collect();
        out.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()).then_with(|| a.0.cmp(&b.0)));
        out.truncate(top);
        out
    }

    /// Writes the model in the format [`Model::parse`] reads.
    pub fn to_tsv(&self) -> String {
        let mut out = String::new();
        out.push_str(
            "# postcall rules model: written by `postcall train`, read by model.rs; do not edit\n",
        );
        for line in &self.provenance {
            out.push_str("# ");
            out.push_str(line);
            out.push('\n');
        }
        let join = |xs: &[f64]| {
            xs.iter()
                .map(|x| fmt_weight(*x))
                .collect::<Vec<_>>()
                .join("\t")
        };
        out.push_str(&format!("band_scores\t{}\n", join(&self.band_scores)));
        out.push_str(&format!(
            "hot_threshold\t{}\n",
            fmt_weight(self.hot_threshold)
        ));
        let mut names: Vec<&String> = self.weights.keys().collect();
        names.sort();
        for name in names {
            let Some(w) = self.weights.get(name) else {
                continue;
            };
            out.push_str(&format!(
                "f\t{name}\t{}\t{}\t{}\t{}\n",
                join(&w.intent),
                fmt_weight(w.sentiment),
                join(&w.bands),
                fmt_weight(w.hot)
            ));
        }
        out
    }

    /// Reads a model file.
    ///
    /// # Errors
    /// A line that is not a comment, `band_scores`, `hot_threshold` or a feature with 13
    /// weights, or a weight that is not a finite number.
    pub fn parse(text: &str) -> Result<Model, String> {
        let mut model = Model::default();
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            if let Some(comment) = line.strip_prefix("# ") {
                if !comment.starts_with("postcall rules model:") {
                    model.provenance.push(comment.to_owned());
                }
                continue;
            }
            let fields: Vec<&str> = line.split('\t').collect();
            let numbers = |from: usize| -> Result<Vec<f64>, String> {
                fields
                    .get(from..)
                    .unwrap_or_default()
                    .iter()
                    .map(|f| {
                        f.parse::<f64>()
                            .ok()
                            .filter(|x| x.is_finite())
                            .ok_or_else(|| format!("line {}: {f:?} is not a weight", n + 1))
                    })
                    .collect()
            };
            match fields.first().copied() {
                Some("band_scores") => {
                    let v = numbers(1)?;
                    model.band_scores = v
                        .try_into()
                        .map_err(|_| format!("line {}: band_scores needs 6 numbers", n + 1))?;
                }
                Some("hot_threshold") => {
                    model.hot_threshold = numbers(1)?
                        .first()
                        .copied()
                        .ok_or_else(|| format!("line {}: hot_threshold needs a number", n + 1))?;
                }
                Some("f") => {
                    let name = fields
                        .get(1)
                        .ok_or_else(|| format!("line {}: feature without a name", n + 1))?;
                    let v = numbers(2)?;
                    if v.len() != 13 {
                        return Err(format!(
                            "line {}: {name} needs 13 weights, has {}",
                            n + 1,
                            v.len()
                        ));
                    }
                    let w = FeatureWeights {
                        intent: [v[0], v[1], v[2], v[3], v[4]],
                        sentiment: v[5],
                        bands: [v[6], v[7], v[8], v[9], v[10], v[11]],
                        hot: v[12],
                    };
                    model.weights.insert((*name).to_owned(), w);
                }
                _ => return Err(format!("line {}: unknown line {line:?}", n + 1)),
            }
        }
        Ok(model)
    }
}

/// A weight with five significant digits: enough for the models, a third of the file size.
fn fmt_weight(x: f64) -> String {
    if x == 0.0 {
        return "0".to_owned();
    }
    let s = format!("{x:.5e}");
    // Plain decimals read better where they are short.
    let plain = format!("{x:.5}");
    if x.abs() >= 0.001 && plain.len() <= s.len() {
        plain.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    }
}

/// The intent with the highest probability (the first of [`Intent::ALL`] on a tie).
pub fn top_intent(probabilities: &[f64; 5]) -> Intent {
    let mut best = 0;
    for (i, p) in probabilities.iter().enumerate() {
        if *p > probabilities[best] {
            best = i;
        }
    }
    Intent::ALL.get(best).copied().unwrap_or(Intent::Info)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_compiled_model_parses_and_knows_features() {
        let model = Model::parse(MODEL_TSV).unwrap();
        assert!(
            model.weights.len() > 100,
            "{} features",
            model.weights.len()
        );
        assert!(model.weights.contains_key("bias"));
        assert!((0.0..1.0).contains(&model.hot_threshold));
        assert!(
            model.band_scores.windows(2).all(|w| w[0] <= w[1]),
            "{:?}",
            model.band_scores
        );
    }

    #[test]
    fn a_model_round_trips_through_its_file() {
        let mut model = Model {
            band_scores: [3.0, 15.0, 35.0, 55.0, 75.0, 88.0],
            hot_threshold: 0.4,
            provenance: vec!["trained on nothing".into()],
            ..Model::default()
        };
        model.weights.insert(
            "c:refund".into(),
            FeatureWeights {
                intent: [0.1, -0.2, 1.5, -0.7, 0.0],
                sentiment: -0.12345678,
                bands: [1.0, 0.5, 0.0, -0.5, -1.0, -2.0],
                hot: -1e-7,
            },
        );
        let back = Model::parse(&model.to_tsv()).unwrap();
        assert_eq!(back.band_scores, model.band_scores);
        assert_eq!(back.provenance, model.provenance);
        let w = back.weights["c:refund"];
        assert!((w.sentiment + 0.12346).abs() < 1e-9, "{}", w.sentiment);
        assert_eq!(w.intent[2], 1.5);
    }

    #[test]
    fn a_bad_file_is_an_error_naming_the_line() {
        let err = Model::parse("hot_threshold\t0.5\nf\tbias\t1\t2\n").unwrap_err();
        assert!(
            err.contains("line 2") && err.contains("13 weights"),
            "{err}"
        );
        let err = Model::parse("band_scores\t1\t2\tNaN\t4\t5\t6\n").unwrap_err();
        assert!(err.contains("line 1"), "{err}");
    }

    #[test]
    fn predictions_follow_the_weights() {
        let mut model = Model {
            band_scores: [5.0, 15.0, 35.0, 55.0, 75.0, 90.0],
            hot_threshold: 0.5,
            ..Model::default()
        };
        model.weights.insert(
            "c:refund".into(),
            FeatureWeights {
                intent: [0.0, 0.0, 4.0, 0.0, 0.0],
                sentiment: -0.6,
                bands: [5.0, 0.0, 0.0, 0.0, 0.0, 0.0],
                hot: -3.0,
            },
        );
        let mut features = Features::default();
        features.values.insert("c:refund".into(), 1.0);
        features.values.insert("c:unknown".into(), 1.0);
        let p = model.predict(&features);
        assert_eq!(top_intent(&p.intent), Intent::Complaint);
        assert!((p.sentiment + 0.6).abs() < 1e-12);
        assert_eq!(model.lead_score(&p.bands), 5.0);
        assert!(p.hot < 0.1);
        let why = model.contributions(&features, |w| w.intent[2], 3);
        assert_eq!(why, [("c:refund".to_owned(), 4.0)]);
        // Nothing known: even odds everywhere.
        let p = model.predict(&Features::default());
        assert!((p.intent[0] - 0.2).abs() < 1e-12);
        assert_eq!(top_intent(&p.intent), Intent::Info);
    }
}
