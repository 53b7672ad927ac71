//! `postcall train`: fits the rules analyzer's linear models on labelled calls and writes
//! `shared/src/analysis/rules/model.tsv`, which the analyzer compiles in.
//!
//! - The features are the analyzer's own (`rules::call_features`), so what is fitted is what
//!   runs. Every call is also trained through the speech-to-text transform (`--stt`), so the
//!   models see each call both as written and as a voice stack delivers it.
//! - Words and word pairs count only if at least [`MIN_CALLS`] calls from at least
//!   [`MIN_VERTICALS`] verticals use them: a word one vertical's calls share is that vertical,
//!   not the caller's intent.
//! - Cross-validation holds out whole verticals (fold = vertical), so the figures it prints
//!   are what the models do on a business they never saw; the regularisation of each model
//!   and the hot-lead threshold are chosen on those held-out predictions, never on the blind
//!   set.
//! - intent, lead band and hot: L2 logistic regression (`linfa-logistic`); sentiment: ridge
//!   regression, solved exactly in its dual form.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;

use anyhow::{bail, Context as _};
use linfa::prelude::*;
use linfa_logistic::MultiLogisticRegression;
use ndarray::{Array1, Array2};
use postcall::analysis::rules::{self, FeatureWeights, Features, Model, LEAD_BANDS};
use postcall::domain::{HotLeadPolicy, Intent, LeadScore};

use crate::dataset::LabelledCall;
use crate::eval::{load, score::Truth, transcript_of};

/// A word or pair must appear in this many training calls…
pub const MIN_CALLS: usize = 5;
/// …from this many verticals.
pub const MIN_VERTICALS: usize = 3;
/// The transcript cap the analyzer runs with by default (`TRANSCRIPT_MAX_CHARS`).
const MAX_CHARS: usize = postcall::config::DEFAULT_TRANSCRIPT_MAX_CHARS;

/// Options of `postcall train`.
pub struct TrainOptions {
    pub data: Vec<String>,
    pub out: String,
    /// Write every call's held-out prediction beside its label (JSONL).
    pub predictions: Option<String>,
    pub folds: usize,
    /// Also train on each call through the speech-to-text transform.
    pub stt: bool,
    /// Smaller grids and fewer iterations: for the smoke test, not for a model to ship.
    pub quick: bool,
}

/// One training example.
struct Row {
    features: Features,
    truth: Truth,
    /// The fold it is held out in.
    fold: usize,
    /// Whether it is a call through the speech-to-text transform.
    stt: bool,
}

/// The models' settings, chosen by cross-validation.
#[derive(Debug, Clone, Copy)]
struct Settings {
    intent_alpha: f64,
    sentiment_lambda: f64,
    band_alpha: f64,
    hot_alpha: f64,
    hot_threshold: f64,
    /// Ridge shrinks toward the mean; held-out predictions are stretched by this.
    sentiment_scale: f64,
    iterations: u64,
}

/// The band a lead score falls in.
fn band_of(score: u8) -> usize {
    LEAD_BANDS
        .iter()
        .position(|b| score <= *b)
        .unwrap_or(LEAD_BANDS.len() - 1)
}

fn intent_index(intent: Intent) -> usize {
    Intent::ALL.iter().position(|i| *i == intent).unwrap_or(0)
}

/// Folds by vertical: every call of a vertical is held out together. Verticals are spread
/// over the folds in an order fixed by a hash of their names, so the folds do not depend on
/// file order.
fn folds_by_vertical(calls: &[(LabelledCall, Truth)], folds: usize) -> HashMap<String, usize> {
    let mut verticals: Vec<&str> = calls.iter().map(|(c, _)| c.vertical.as_str()).collect();
    verticals.sort_unstable();
    verticals.dedup();
    // FNV-1a: stable across runs and platforms.
    let hash = |s: &str| {
        s.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        })
    };
    verticals.sort_by_key(|v| hash(v));
    verticals
        .into_iter()
        .enumerate()
        .map(|(i, v)| (v.to_owned(), i % folds.max(1)))
        .collect()
}

/// The feature names kept: every non-word feature, and words and pairs used widely enough.
fn vocabulary(rows: &[Row], calls: &[(LabelledCall, Truth)]) -> Vec<String> {
    let mut calls_with: BTreeMap<&str, usize> = BTreeMap::new();
    let mut verticals_with: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    // Written and transformed copies of a call count once.
    let originals = rows.iter().filter(|r| !r.stt).zip(calls);
    for (row, (call, _)) in originals {
        for name in row.features.values.keys() {
            *calls_with.entry(name).or_default() += 1;
            verticals_with
                .entry(name)
                .or_default()
                .insert(call.vertical.as_str());
        }
    }
    let mut names: BTreeSet<String> = BTreeSet::new();
    for row in rows {
        for name in row.features.values.keys() {
            let is_word = ["c:", "o:", "e:", "a:"].iter().any(|p| name.starts_with(p));
            let wide = calls_with.get(name.as_str()).copied().unwrap_or(0) >= MIN_CALLS
                && verticals_with.get(name.as_str()).map_or(0, BTreeSet::len) >= MIN_VERTICALS;
            if !is_word || wide {
                names.insert(name.clone());
            }
        }
    }
    names.into_iter().collect()
}

/// Rows as sparse vectors over the vocabulary.
fn sparse(rows: &[Row], index: &HashMap<&str, usize>) -> Vec<Vec<(usize, f64)>> {
    rows.iter()
        .map(|r| {
            let mut v: Vec<(usize, f64)> = r
                .features
                .values
                .iter()
                .filter_map(|(k, x)| index.get(k.as_str()).map(|i| (*i, *x)))
                .collect();
            v.sort_unstable_by_key(|(i, _)| *i);
            v
        })
        .collect()
}

/// The `train` rows over the vocabulary columns `cols`, as a dense matrix.
fn dense(x: &[Vec<(usize, f64)>], rows: &[usize], cols: &[usize]) -> Array2<f64> {
    let position: HashMap<usize, usize> = cols.iter().enumerate().map(|(k, c)| (*c, k)).collect();
    let mut m = Array2::zeros((rows.len(), cols.len()));
    for (r, &row) in rows.iter().enumerate() {
        for &(c, v) in x.get(row).map_or(&[][..], |v| v.as_slice()) {
            if let Some(k) = position.get(&c) {
                m[[r, *k]] = v;
            }
        }
    }
    m
}

/// Weights fitted over `cols`, spread back over the whole vocabulary (zero elsewhere).
fn scatter(fitted: &Array2<f64>, cols: &[usize], width: usize) -> Array2<f64> {
    let mut full = Array2::zeros((width, fitted.ncols()));
    for (k, &c) in cols.iter().enumerate() {
        full.row_mut(c).assign(&fitted.row(k));
    }
    full
}

/// Per-class weights (columns × classes) of an L2 logistic regression; a class absent from
/// the rows keeps zero weights.
fn fit_logistic(
    x: &Array2<f64>,
    y: &[usize],
    classes: usize,
    alpha: f64,
    iterations: u64,
) -> anyhow::Result<Array2<f64>> {
    let targets = Array1::from(y.to_vec());
    let dataset = Dataset::new(x.clone(), targets);
    let fitted = MultiLogisticRegression::default()
        .alpha(alpha)
        .max_iterations(iterations)
        .with_intercept(false)
        .fit(&dataset)
        .context("fit a logistic regression")?;
    let mut weights = Array2::from_elem((x.ncols(), classes), 0.0);
    for (k, class) in fitted.classes().iter().enumerate() {
        if *class < classes {
            weights
                .column_mut(*class)
                .assign(&fitted.params().column(k));
        }
    }
    Ok(weights)
}

/// Ridge regression solved in its dual form: `w = Xᵀ (XXᵀ + λI)⁻¹ (y − ȳ)`, the mean added to
/// the bias weight so the bias is not shrunk.
fn fit_ridge(
    x: &[Vec<(usize, f64)>],
    rows: &[usize],
    y: &[f64],
    lambda: f64,
    width: usize,
) -> Vec<f64> {
    let n = rows.len();
    let mean = y.iter().sum::<f64>() / n.max(1) as f64;
    let dot = |a: &[(usize, f64)], b: &[(usize, f64)]| {
        let (mut i, mut j, mut s) = (0, 0, 0.0);
        while i < a.len() && j < b.len() {
            match a[i].0.cmp(&b[j].0) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    s += a[i].1 * b[j].1;
                    i += 1;
                    j += 1;
                }
            }
        }
        s
    };
    let empty: Vec<(usize, f64)> = Vec::new();
    let row = |k: usize| x.get(rows[k]).unwrap_or(&empty);
    let mut k = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let v = dot(row(i), row(j)) + if i == j { lambda } else { 0.0 };
            k[i * n + j] = v;
            k[j * n + i] = v;
        }
    }
    let target: Vec<f64> = y.iter().map(|v| v - mean).collect();
    let alpha = cholesky_solve(&mut k, n, &target);
    let mut w = vec![0.0; width];
    for (i, a) in alpha.iter().enumerate() {
        for &(c, v) in row(i) {
            w[c] += a * v;
        }
    }
    if let Some(bias) = w.first_mut() {
        *bias += mean;
    }
    w
}

/// Solves `A x = b` for a symmetric positive definite `A` (row-major, overwritten).
fn cholesky_solve(a: &mut [f64], n: usize, b: &[f64]) -> Vec<f64> {
    for j in 0..n {
        let mut d = a[j * n + j];
        for k in 0..j {
            d -= a[j * n + k] * a[j * n + k];
        }
        let d = d.max(1e-12).sqrt();
        a[j * n + j] = d;
        for i in j + 1..n {
            let mut s = a[i * n + j];
            for k in 0..j {
                s -= a[i * n + k] * a[j * n + k];
            }
            a[i * n + j] = s / d;
        }
    }
    let mut z = b.to_vec();
    for i in 0..n {
        for k in 0..i {
            z[i] -= a[i * n + k] * z[k];
        }
        z[i] /= a[i * n + i];
    }
    for i in (0..n).rev() {
        for k in i + 1..n {
            z[i] -= a[k * n + i] * z[k];
        }
        z[i] /= a[i * n + i];
    }
    z
}

/// The features a model reads. Sentiment is the caller's: of the agent it reads only cue
/// classes.
/// Intent reads the caller's words and the agent's (agents name a call's purpose); the lead
/// models read everything.
fn reads(model: &str, feature: &str) -> bool {
    // What the agent answered counts as a cue class (an apology says the caller is upset);
    // the agent's own words and how much they talk do not.
    let agent_words = feature.starts_with("a:") || feature == "len:agent_turns";
    match model {
        "sentiment" => !agent_words,
        // How long a call is says little about its purpose; only an empty or near-empty
        // caller side (a hang-up, a voicemail) does.
        // No intercept either: a short call is decided by what it says, not by a prior.
        "intent" => {
            feature != "bias"
                && !feature.starts_with("e:")
                && !feature.starts_with("lex:e:")
                && !matches!(
                    feature,
                    "len:caller_words" | "len:caller_turns" | "len:agent_turns"
                )
        }
        _ => true,
    }
}

/// The vocabulary columns a model reads ("bias" first).
fn columns(vocab: &[String], model: &str) -> Vec<usize> {
    (0..vocab.len())
        .filter(|&i| reads(model, &vocab[i]))
        .collect()
}

/// Which models a fit fits; the others get no weights.
#[derive(Debug, Clone, Copy)]
struct Which {
    intent: bool,
    sentiment: bool,
    bands: bool,
    hot: bool,
}

const ALL: Which = Which {
    intent: true,
    sentiment: true,
    bands: true,
    hot: true,
};

/// Fits the chosen models on `train` rows.
fn fit(
    rows: &[Row],
    x: &[Vec<(usize, f64)>],
    vocab: &[String],
    train: &[usize],
    s: Settings,
    which: Which,
) -> anyhow::Result<Model> {
    let width = vocab.len();
    let truth = |i: usize| &rows[train[i]].truth;
    let y_intent: Vec<usize> = (0..train.len())
        .map(|i| intent_index(truth(i).intent))
        .collect();
    let y_band: Vec<usize> = (0..train.len())
        .map(|i| band_of(truth(i).lead_score))
        .collect();
    let y_hot: Vec<usize> = (0..train.len())
        .map(|i| usize::from(truth(i).hot))
        .collect();
    let y_sent: Vec<f64> = (0..train.len()).map(|i| truth(i).sentiment).collect();
    let zeros = |classes: usize| Array2::from_elem((width, classes), 0.0);
    let intent = if which.intent {
        let cols = columns(vocab, "intent");
        let fitted = fit_logistic(
            &dense(x, train, &cols),
            &y_intent,
            5,
            s.intent_alpha,
            s.iterations,
        )?;
        scatter(&fitted, &cols, width)
    } else {
        zeros(5)
    };
    let (bands, hot) = if which.bands || which.hot {
        let cols = columns(vocab, "lead");
        let xd = dense(x, train, &cols);
        let bands = if which.bands {
            scatter(
                &fit_logistic(&xd, &y_band, 6, s.band_alpha, s.iterations)?,
                &cols,
                width,
            )
        } else {
            zeros(6)
        };
        let hot = if which.hot {
            scatter(
                &fit_logistic(&xd, &y_hot, 2, s.hot_alpha, s.iterations)?,
                &cols,
                width,
            )
        } else {
            zeros(2)
        };
        (bands, hot)
    } else {
        (zeros(6), zeros(2))
    };
    let sentiment = if which.sentiment {
        let cols = columns(vocab, "sentiment");
        let keep: Vec<bool> = (0..width).map(|i| cols.binary_search(&i).is_ok()).collect();
        let xs: Vec<Vec<(usize, f64)>> = x
            .iter()
            .map(|r| {
                r.iter()
                    .copied()
                    .filter(|(c, _)| keep.get(*c).copied().unwrap_or(false))
                    .collect()
            })
            .collect();
        // Stretched about the mean: scale · prediction + (1 − scale) · mean.
        let mean = y_sent.iter().sum::<f64>() / y_sent.len().max(1) as f64;
        let mut w: Vec<f64> = fit_ridge(&xs, train, &y_sent, s.sentiment_lambda, width)
            .into_iter()
            .map(|w| w * s.sentiment_scale)
            .collect();
        if let Some(bias) = w.first_mut() {
            *bias += (1.0 - s.sentiment_scale) * mean;
        }
        w
    } else {
        vec![0.0; width]
    };
    let mut band_scores = [0.0; 6];
    for (b, slot) in band_scores.iter_mut().enumerate() {
        let mut in_band: Vec<u8> = (0..train.len())
            .filter(|&i| y_band[i] == b)
            .map(|i| truth(i).lead_score)
            .collect();
        in_band.sort_unstable();
        let low = if b == 0 { 0 } else { LEAD_BANDS[b - 1] + 1 };
        *slot = in_band
            .get(in_band.len() / 2)
            .map_or(f64::from(low), |m| f64::from(*m));
    }
    let mut weights = HashMap::with_capacity(width);
    for (k, name) in vocab.iter().enumerate() {
        let w = FeatureWeights {
            intent: std::array::from_fn(|c| intent[[k, c]]),
            sentiment: sentiment.get(k).copied().unwrap_or(0.0),
            bands: std::array::from_fn(|c| bands[[k, c]]),
            hot: hot[[k, 1]] - hot[[k, 0]],
        };
        // Weights this small move no prediction; leaving them out keeps the file small.
        let big = w.intent.iter().chain(&w.bands).any(|v| v.abs() >= 1e-4)
            || w.sentiment.abs() >= 1e-5
            || w.hot.abs() >= 1e-4;
        if big {
            weights.insert(name.clone(), w);
        }
    }
    Ok(Model {
        weights,
        band_scores,
        hot_threshold: s.hot_threshold,
        provenance: Vec::new(),
    })
}

/// Held-out predictions for every row: each fold's rows predicted by the models fitted on
/// the other folds (the folds fitted side by side).
fn cross_validate(
    rows: &[Row],
    x: &[Vec<(usize, f64)>],
    vocab: &[String],
    folds: usize,
    s: Settings,
    which: Which,
) -> anyhow::Result<Vec<rules::Prediction>> {
    let mut out: Vec<Option<rules::Prediction>> = vec![None; rows.len()];
    let results: Vec<anyhow::Result<Vec<(usize, rules::Prediction)>>> =
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..folds)
                .map(|fold| {
                    scope.spawn(move || -> anyhow::Result<Vec<(usize, rules::Prediction)>> {
                        let train: Vec<usize> =
                            (0..rows.len()).filter(|&i| rows[i].fold != fold).collect();
                        let test: Vec<usize> =
                            (0..rows.len()).filter(|&i| rows[i].fold == fold).collect();
                        if train.is_empty() || test.is_empty() {
                            return Ok(Vec::new());
                        }
                        let model = fit(rows, x, vocab, &train, s, which)?;
                        Ok(test
                            .into_iter()
                            .map(|i| (i, model.predict(&rows[i].features)))
                            .collect())
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(anyhow::anyhow!("a fold's fit panicked")))
                })
                .collect()
        });
    for result in results {
        for (i, p) in result? {
            if let Some(slot) = out.get_mut(i) {
                *slot = Some(p);
            }
        }
    }
    out.into_iter()
        .enumerate()
        .map(|(i, p)| p.with_context(|| format!("row {i} was never held out")))
        .collect()
}

/// Held-out figures, as eval reports them.
#[derive(Debug, Clone, Copy, Default)]
struct Figures {
    intent_accuracy: f64,
    sentiment_mae: f64,
    lead_mae: f64,
    hot_f1: f64,
}

fn figures(rows: &[Row], preds: &[rules::Prediction], model: &Model, stt: Option<bool>) -> Figures {
    let policy = HotLeadPolicy::default();
    let (mut n, mut correct, mut sent, mut lead) = (0usize, 0usize, 0.0, 0.0);
    let (mut tp, mut fp, mut fn_) = (0usize, 0usize, 0usize);
    for (row, p) in rows.iter().zip(preds) {
        if stt.is_some_and(|s| s != row.stt) {
            continue;
        }
        let (intent, sentiment, score) = rules::decide(model, p);
        n += 1;
        correct += usize::from(intent == row.truth.intent);
        sent += (sentiment.get() - row.truth.sentiment).abs();
        lead += (f64::from(score.get()) - f64::from(row.truth.lead_score)).abs();
        let said = policy.is_hot(score, intent);
        let label = policy.is_hot(
            LeadScore::clamped(i64::from(row.truth.lead_score)),
            row.truth.intent,
        );
        match (label, said) {
            (true, true) => tp += 1,
            (false, true) => fp += 1,
            (true, false) => fn_ += 1,
            _ => {}
        }
    }
    let n = n.max(1) as f64;
    let f1 = if tp == 0 {
        0.0
    } else {
        2.0 * tp as f64 / (2 * tp + fp + fn_) as f64
    };
    Figures {
        intent_accuracy: correct as f64 / n,
        sentiment_mae: sent / n,
        lead_mae: lead / n,
        hot_f1: f1,
    }
}

/// The hot threshold with the best held-out hot F1.
fn best_threshold(rows: &[Row], preds: &[rules::Prediction], model: &Model) -> f64 {
    let mut best = (0.5, -1.0);
    for t in (2..=80).step_by(2).map(|t| f64::from(t) / 100.0) {
        let trial = Model {
            hot_threshold: t,
            ..model.clone()
        };
        let f1 = figures(rows, preds, &trial, None).hot_f1;
        if f1 > best.1 + 1e-9 {
            best = (t, f1);
        }
    }
    best.0
}

/// Runs `postcall train`.
pub fn run(options: TrainOptions) -> anyhow::Result<()> {
    let mut calls: Vec<(LabelledCall, Truth)> = Vec::new();
    for path in &options.data {
        let text = std::fs::read_to_string(path).with_context(|| format!("read {path}"))?;
        calls.extend(load(&text).with_context(|| format!("{path} is not a labelled dataset"))?);
    }
    if calls.len() < 20 {
        bail!("{} labelled calls are too few to train on", calls.len());
    }
    let folds = options.folds.max(2);
    let fold_of = folds_by_vertical(&calls, folds);
    eprintln!("train: reading {} calls", calls.len());
    let mut rows: Vec<Row> = Vec::new();
    let mut stt_rows: Vec<Row> = Vec::new();
    for (call, truth) in &calls {
        let fold = fold_of.get(&call.vertical).copied().unwrap_or(0);
        let features = rules::call_features(&transcript_of(call).capped(MAX_CHARS));
        rows.push(Row {
            features,
            truth: truth.clone(),
            fold,
            stt: false,
        });
        if options.stt {
            let spoken = crate::stt::transform_call(call);
            let features = rules::call_features(&transcript_of(&spoken).capped(MAX_CHARS));
            stt_rows.push(Row {
                features,
                truth: truth.clone(),
                fold,
                stt: true,
            });
        }
    }
    let originals = rows.len();
    rows.extend(stt_rows);
    let vocab = {
        let mut v = vocabulary(&rows, &calls);
        // "bias" first: fit_logistic puts a missing class's weight there.
        v.retain(|n| n != "bias");
        v.insert(0, "bias".to_owned());
        v
    };
    let index: HashMap<&str, usize> = vocab
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i))
        .collect();
    let x = sparse(&rows, &index);
    eprintln!(
        "train: {} rows ({originals} calls{}), {} features, {folds} folds by vertical",
        rows.len(),
        if options.stt {
            " as written and through --stt"
        } else {
            ""
        },
        vocab.len()
    );

    let iterations = if options.quick { 40 } else { 150 };
    let alphas: &[f64] = if options.quick {
        &[1.0]
    } else {
        &[0.03, 0.1, 0.3, 1.0]
    };
    let lambdas: &[f64] = if options.quick {
        &[10.0]
    } else {
        &[1.0, 3.0, 10.0, 30.0, 100.0, 300.0]
    };
    let mut s = Settings {
        intent_alpha: 1.0,
        sentiment_lambda: 10.0,
        band_alpha: 1.0,
        hot_alpha: 1.0,
        hot_threshold: 0.5,
        sentiment_scale: 1.0,
        iterations,
    };
    let mut report = String::new();
    let scorer = Model {
        band_scores: band_scores_of(&rows),
        ..fit_shell()
    };
    let only = |intent, sentiment, bands, hot| Which {
        intent,
        sentiment,
        bands,
        hot,
    };
    // Each model's setting is chosen on held-out predictions, one model at a time.
    let mut best_intent: Option<(f64, f64, Vec<rules::Prediction>)> = None;
    for &alpha in alphas {
        let trial = Settings {
            intent_alpha: alpha,
            ..s
        };
        let preds = cross_validate(
            &rows,
            &x,
            &vocab,
            folds,
            trial,
            only(true, false, false, false),
        )?;
        let f = figures(&rows, &preds, &scorer, None);
        let _ = writeln!(
            report,
            "  intent alpha {alpha}: accuracy {:.3}",
            f.intent_accuracy
        );
        if best_intent.as_ref().is_none_or(|b| f.intent_accuracy > b.1) {
            best_intent = Some((alpha, f.intent_accuracy, preds));
        }
    }
    let (intent_alpha, _, intent_preds) = best_intent.context("no intent setting tried")?;
    s.intent_alpha = intent_alpha;
    let mut best_sentiment: Option<(f64, f64, Vec<rules::Prediction>)> = None;
    for &lambda in lambdas {
        let trial = Settings {
            sentiment_lambda: lambda,
            ..s
        };
        let preds = cross_validate(
            &rows,
            &x,
            &vocab,
            folds,
            trial,
            only(false, true, false, false),
        )?;
        let f = figures(&rows, &preds, &scorer, None);
        let _ = writeln!(
            report,
            "  sentiment lambda {lambda}: MAE {:.3}",
            f.sentiment_mae
        );
        if best_sentiment
            .as_ref()
            .is_none_or(|b| f.sentiment_mae < b.1)
        {
            best_sentiment = Some((lambda, f.sentiment_mae, preds));
        }
    }
    let (lambda, _, sentiment_preds) = best_sentiment.context("no sentiment setting tried")?;
    s.sentiment_lambda = lambda;
    // Ridge pulls predictions toward the mean; stretch them back as far as held-out error
    // allows. The bias carries the mean, so the stretch is about it.
    let mean = rows.iter().map(|r| r.truth.sentiment).sum::<f64>() / rows.len().max(1) as f64;
    let mut best_scale = (1.0, f64::MAX);
    for scale in [1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.8, 2.0] {
        let mae = rows
            .iter()
            .zip(&sentiment_preds)
            .map(|(r, p)| {
                ((mean + (p.sentiment - mean) * scale).clamp(-1.0, 1.0) - r.truth.sentiment).abs()
            })
            .sum::<f64>()
            / rows.len().max(1) as f64;
        let _ = writeln!(report, "  sentiment scale {scale}: MAE {mae:.3}");
        if mae < best_scale.1 - 1e-6 {
            best_scale = (scale, mae);
        }
    }
    s.sentiment_scale = best_scale.0;
    let sentiment_preds: Vec<rules::Prediction> = sentiment_preds
        .iter()
        .map(|p| rules::Prediction {
            sentiment: (mean + (p.sentiment - mean) * s.sentiment_scale).clamp(-1.0, 1.0),
            ..*p
        })
        .collect();
    let mut best_lead: Option<(f64, f64, f64, Vec<rules::Prediction>)> = None;
    for &alpha in alphas {
        let trial = Settings {
            band_alpha: alpha,
            hot_alpha: alpha,
            ..s
        };
        let preds = cross_validate(
            &rows,
            &x,
            &vocab,
            folds,
            trial,
            only(false, false, true, true),
        )?;
        let preds = combine(&intent_preds, &sentiment_preds, &preds);
        let threshold = best_threshold(&rows, &preds, &scorer);
        let f = figures(
            &rows,
            &preds,
            &Model {
                hot_threshold: threshold,
                ..scorer.clone()
            },
            None,
        );
        let _ = writeln!(
            report,
            "  band/hot alpha {alpha}: lead MAE {:.2}, hot F1 {:.3} at threshold {threshold}",
            f.lead_mae, f.hot_f1
        );
        // Lead MAE and hot F1 on one scale: a point of F1 is worth five of MAE.
        let objective = f.lead_mae - 5.0 * f.hot_f1;
        if best_lead.as_ref().is_none_or(|b| objective < b.1) {
            best_lead = Some((alpha, objective, threshold, preds));
        }
    }
    let (alpha, _, threshold, preds) = best_lead.context("no band setting tried")?;
    s.band_alpha = alpha;
    s.hot_alpha = alpha;
    s.hot_threshold = threshold;

    let all: Vec<usize> = (0..rows.len()).collect();
    let mut model = fit(&rows, &x, &vocab, &all, s, ALL)?;
    let cv_model = Model {
        hot_threshold: s.hot_threshold,
        ..scorer
    };
    let written = figures(&rows, &preds, &cv_model, Some(false));
    let spoken = figures(&rows, &preds, &cv_model, Some(true));
    let line = |name: &str, f: Figures| {
        format!(
            "{name}: intent {:.3}, sentiment MAE {:.3}, lead MAE {:.2}, hot F1 {:.3}",
            f.intent_accuracy, f.sentiment_mae, f.lead_mae, f.hot_f1
        )
    };
    model.provenance = vec![
        format!("trained on {originals} calls from {}", options.data.join(", ")),
        format!(
            "{} rows{}, {} features kept (words in >= {MIN_CALLS} calls of >= {MIN_VERTICALS} verticals), {} with weights",
            rows.len(),
            if options.stt { " (each call as written and through the speech-to-text transform)" } else { "" },
            vocab.len(),
            model.weights.len()
        ),
        format!(
            "settings: intent alpha {}, sentiment lambda {} scale {}, band alpha {}, hot alpha {}, hot threshold {}, {} iterations",
            s.intent_alpha, s.sentiment_lambda, s.sentiment_scale, s.band_alpha, s.hot_alpha, s.hot_threshold, s.iterations
        ),
        format!("held out by vertical ({folds} folds), {}", line("as written", written)),
        format!("held out by vertical ({folds} folds), {}", line("speech-to-text", spoken)),
    ];
    model.hot_threshold = s.hot_threshold;
    std::fs::write(&options.out, model.to_tsv())
        .with_context(|| format!("write {}", options.out))?;
    if let Some(path) = &options.predictions {
        write_held_out(path, &rows, &preds, &cv_model, &calls)?;
    }
    print!("postcall train\n{report}");
    for l in &model.provenance {
        println!("{l}");
    }
    println!("wrote {}", options.out);
    Ok(())
}

/// Writes each call's held-out prediction beside its label, as `postcall eval --predictions`
/// does: the figures `train` prints, call by call, for error analysis on development data.
fn write_held_out(
    path: &str,
    rows: &[Row],
    preds: &[rules::Prediction],
    model: &Model,
    calls: &[(LabelledCall, Truth)],
) -> anyhow::Result<()> {
    use std::io::Write as _;
    let policy = HotLeadPolicy::default();
    let mut out = std::io::BufWriter::new(
        std::fs::File::create(path).with_context(|| format!("create {path}"))?,
    );
    for (k, (row, p)) in rows.iter().zip(preds).enumerate() {
        let (call, _) = &calls[k % calls.len()];
        let (intent, sentiment, score) = rules::decide(model, p);
        let line = serde_json::json!({
            "id": call.id,
            "vertical": call.vertical,
            "language": call.language,
            "style": call.style,
            "stt": row.stt,
            "label": row.truth,
            "prediction": {
                "sentiment": sentiment.get(),
                "lead_score": score.get(),
                "intent": intent,
                "hot": policy.is_hot(score, intent),
                "hot_probability": p.hot,
            },
        });
        serde_json::to_writer(&mut out, &line)?;
        out.write_all(b"\n")?;
    }
    out.flush().with_context(|| format!("write {path}"))
}

/// Held-out predictions put together from the runs that fitted each model.
fn combine(
    intent: &[rules::Prediction],
    sentiment: &[rules::Prediction],
    lead: &[rules::Prediction],
) -> Vec<rules::Prediction> {
    intent
        .iter()
        .zip(sentiment)
        .zip(lead)
        .map(|((i, s), l)| rules::Prediction {
            intent: i.intent,
            sentiment: s.sentiment,
            bands: l.bands,
            hot: l.hot,
        })
        .collect()
}

/// A model with no weights, for scoring held-out predictions with `decide`.
fn fit_shell() -> Model {
    Model {
        band_scores: [5.0, 15.0, 35.0, 55.0, 75.0, 88.0],
        hot_threshold: 0.5,
        ..Model::default()
    }
}

/// Each band's median label score over all rows.
fn band_scores_of(rows: &[Row]) -> [f64; 6] {
    std::array::from_fn(|b| {
        let mut v: Vec<u8> = rows
            .iter()
            .map(|r| r.truth.lead_score)
            .filter(|s| band_of(*s) == b)
            .collect();
        v.sort_unstable();
        v.get(v.len() / 2).map_or(0.0, |m| f64::from(*m))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cholesky_solves_a_small_system() {
        // [[4, 2], [2, 3]] x = [2, 5] → x = [-0.5, 2].
        let mut a = vec![4.0, 2.0, 2.0, 3.0];
        let x = cholesky_solve(&mut a, 2, &[2.0, 5.0]);
        assert!(
            (x[0] + 0.5).abs() < 1e-12 && (x[1] - 2.0).abs() < 1e-12,
            "{x:?}"
        );
    }

    #[test]
    fn ridge_recovers_a_linear_signal() {
        // y = 0.5 + 2·a − b over six rows; a tiny lambda recovers it.
        let x: Vec<Vec<(usize, f64)>> = [
            (1.0, 0.0),
            (0.0, 1.0),
            (1.0, 1.0),
            (2.0, 0.0),
            (0.0, 2.0),
            (3.0, 1.0),
        ]
        .iter()
        .map(|(a, b)| vec![(0, 1.0), (1, *a), (2, *b)])
        .collect();
        let y: Vec<f64> = x.iter().map(|r| 0.5 + 2.0 * r[1].1 - r[2].1).collect();
        let rows: Vec<usize> = (0..x.len()).collect();
        let w = fit_ridge(&x, &rows, &y, 1e-6, 3);
        for (r, want) in x.iter().zip(&y) {
            let got: f64 = r.iter().map(|(i, v)| w[*i] * v).sum();
            assert!((got - want).abs() < 1e-3, "{got} vs {want}");
        }
    }

    #[test]
    fn bands_follow_the_rubric() {
        assert_eq!(band_of(0), 0);
        assert_eq!(band_of(10), 0);
        assert_eq!(band_of(11), 1);
        assert_eq!(band_of(79), 4);
        assert_eq!(band_of(80), 5);
        assert_eq!(band_of(100), 5);
    }
}
