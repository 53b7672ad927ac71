//! Scoring (truth, prediction) pairs: plain functions, tested on small sets with known answers.

use postcall::domain::{Analysis, HotLeadPolicy, Intent, LeadScore};

/// What was read in one call, by a person (the label) or by the analyzer, in the fields eval
/// compares.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Reading {
    pub sentiment: f64,
    pub lead_score: u8,
    pub intent: Intent,
    /// Derived from `lead_score` and `intent` under the run's one hot-lead policy, for the
    /// label and the prediction alike.
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
    pub fn from_analysis(analysis: &Analysis, policy: &HotLeadPolicy) -> Self {
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

    /// The same reading with `hot` judged under `policy`.
    pub fn with_policy(mut self, policy: &HotLeadPolicy) -> Self {
        self.hot = policy.is_hot(LeadScore::clamped(i64::from(self.lead_score)), self.intent);
        self
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

/// How well a name or email was found: precision, recall and F1 over the calls whose label
/// has one, and how often one was claimed where the label has none.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EntityScore {
    pub prf: Prf,
    /// Share of the calls whose label is null for which the analyzer gave a value.
    pub false_positive_rate: f64,
    /// Calls whose label has a value.
    pub labelled: usize,
    /// Calls whose label is null.
    pub unlabelled: usize,
}

/// Scores one entity. Over calls whose label has a value: a match is a true positive, a
/// different value is a false positive (and a miss), no value is a miss. Over calls whose
/// label is null, any value is a false positive of the rate.
pub fn entity_score(
    cases: &[Case],
    field: fn(&Reading) -> Option<&str>,
    normalize: fn(&str) -> String,
) -> EntityScore {
    let norm = |v: Option<&str>| v.map(normalize).filter(|v| !v.is_empty());
    let (mut tp, mut wrong, mut missed, mut labelled, mut unlabelled, mut invented) =
        (0, 0, 0, 0, 0, 0);
    for c in cases {
        let truth = norm(field(&c.truth));
        let predicted = norm(field(&c.prediction));
        match (truth, predicted) {
            (Some(t), Some(p)) => {
                labelled += 1;
                if t == p {
                    tp += 1;
                } else {
                    wrong += 1;
                }
            }
            (Some(_), None) => {
                labelled += 1;
                missed += 1;
            }
            (None, p) => {
                unlabelled += 1;
                invented += usize::from(p.is_some());
            }
        }
    }
    EntityScore {
        prf: Prf::from_counts(tp, wrong, wrong + missed),
        false_positive_rate: if unlabelled == 0 {
            0.0
        } else {
            invented as f64 / unlabelled as f64
        },
        labelled,
        unlabelled,
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
    pub name: EntityScore,
    pub email: EntityScore,
    /// Exact match over every call, `null` counted as a value (the issue #9 figure).
    pub name_exact: f64,
    pub email_exact: f64,
    pub topic_f1: f64,
    /// Per metric, the worst calls: (id, how far off, what was expected vs. said).
    pub worst: Vec<(&'static str, Vec<WorstCall>)>,
}

/// The `--json` object.
#[derive(Debug, serde::Serialize)]
pub struct JsonReport {
    pub sentiment_mae: f64,
    pub intent_accuracy: f64,
    pub lead_score_mae: f64,
    pub hot_precision: f64,
    pub hot_recall: f64,
    pub hot_f1: f64,
    pub name_precision: f64,
    pub name_recall: f64,
    pub name_f1: f64,
    pub name_false_positive_rate: f64,
    pub email_precision: f64,
    pub email_recall: f64,
    pub email_f1: f64,
    pub email_false_positive_rate: f64,
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
            name_precision: round(self.name.prf.precision),
            name_recall: round(self.name.prf.recall),
            name_f1: round(self.name.prf.f1),
            name_false_positive_rate: round(self.name.false_positive_rate),
            email_precision: round(self.email.prf.precision),
            email_recall: round(self.email.prf.recall),
            email_f1: round(self.email.prf.f1),
            email_false_positive_rate: round(self.email.false_positive_rate),
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

pub fn intent_index(intent: Intent) -> usize {
    Intent::ALL.iter().position(|i| *i == intent).unwrap_or(0)
}

fn name_of(r: &Reading) -> Option<&str> {
    r.name.as_deref()
}

fn email_of(r: &Reading) -> Option<&str> {
    r.email.as_deref()
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
    let miss = |ok: bool| if ok { 0.0 } else { 1.0 };
    let worst = vec![
        worst_of(cases, worst, "sentiment", |c| {
            let off = (c.truth.sentiment - c.prediction.sentiment).abs();
            let detail = format!(
                "label {:+.2}, said {:+.2}",
                c.truth.sentiment, c.prediction.sentiment
            );
            (off, detail)
        }),
        worst_of(cases, worst, "lead score", |c| {
            let off = (f64::from(c.truth.lead_score) - f64::from(c.prediction.lead_score)).abs();
            let detail = format!(
                "label {}, said {}",
                c.truth.lead_score, c.prediction.lead_score
            );
            (off, detail)
        }),
        worst_of(cases, worst, "intent", |c| {
            let detail = format!("label {}, said {}", c.truth.intent, c.prediction.intent);
            (miss(c.truth.intent == c.prediction.intent), detail)
        }),
        worst_of(cases, worst, "hot", |c| {
            let detail = format!(
                "label {} ({} {}), said {} ({} {})",
                c.truth.hot,
                c.truth.intent,
                c.truth.lead_score,
                c.prediction.hot,
                c.prediction.intent,
                c.prediction.lead_score
            );
            (miss(c.truth.hot == c.prediction.hot), detail)
        }),
        worst_of(cases, worst, "name", |c| {
            let detail = format!(
                "label {}, said {}",
                show(&c.truth.name),
                show(&c.prediction.name)
            );
            (miss(name_ok(c)), detail)
        }),
        worst_of(cases, worst, "email", |c| {
            let detail = format!(
                "label {}, said {}",
                show(&c.truth.email),
                show(&c.prediction.email)
            );
            (miss(email_ok(c)), detail)
        }),
        worst_of(cases, worst, "topic", |c| {
            let detail = format!(
                "label {}, said {}",
                show(&c.truth.topic),
                show(&c.prediction.topic)
            );
            (1.0 - topic(c), detail)
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
        name: entity_score(cases, name_of, normalize_name),
        email: entity_score(cases, email_of, normalize_email),
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

#[cfg(test)]
mod tests {
    use super::*;

    const WORST: usize = 10;

    pub(crate) fn truth(intent: Intent, sentiment: f64, lead: u8) -> Truth {
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

    pub(crate) fn case(id: &str, truth: Truth, prediction: Prediction) -> Case {
        Case {
            id: id.to_string(),
            truth,
            prediction,
        }
    }

    fn named(name: Option<&str>, email: Option<&str>) -> Reading {
        Reading {
            name: name.map(str::to_owned),
            email: email.map(str::to_owned),
            ..truth(Intent::Info, 0.0, 20)
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
        assert_eq!(Prf::from_counts(0, 0, 0).f1, 1.0);
        let missed = Prf::from_counts(0, 0, 4);
        assert_eq!(
            (missed.precision, missed.recall, missed.f1),
            (0.0, 0.0, 0.0)
        );
        let false_alarm = Prf::from_counts(0, 2, 0);
        assert_eq!(
            (false_alarm.precision, false_alarm.recall, false_alarm.f1),
            (0.0, 0.0, 0.0)
        );
    }

    #[test]
    fn names_are_scored_over_labelled_calls_and_false_positives_over_the_rest() {
        let cases = vec![
            // Labelled: right, wrong, missed, right.
            case(
                "a",
                named(Some("Dana Whitfield"), None),
                named(Some("dana whitfield"), None),
            ),
            case(
                "b",
                named(Some("Jon Petersen"), None),
                named(Some("John Petersen"), None),
            ),
            case("c", named(Some("Rosa"), None), named(None, None)),
            case(
                "d",
                named(Some("Kevin Brown"), None),
                named(Some("Kevin Brown"), None),
            ),
            // Unlabelled: one invented, three right to say nothing.
            case("e", named(None, None), named(Some("Max"), None)),
            case("f", named(None, None), named(None, None)),
            case("g", named(None, None), named(None, None)),
            case("h", named(None, None), named(None, None)),
        ];
        let r = score(&cases, WORST).unwrap();
        // tp 2, wrong 1 → precision 2/3; missed 1 + wrong 1 → recall 2/4.
        assert!((r.name.prf.precision - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(r.name.prf.recall, 0.5);
        assert_eq!((r.name.labelled, r.name.unlabelled), (4, 4));
        assert_eq!(r.name.false_positive_rate, 0.25);
        // Nobody gave an email and none was claimed: nothing to find, nothing invented.
        assert_eq!(r.email.prf.f1, 1.0);
        assert_eq!(r.email.false_positive_rate, 0.0);
        // Exact match still counts null for null (5 of 8: a, d, f, g, h).
        assert_eq!(r.name_exact, 5.0 / 8.0);
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
        let r = score(&cases, WORST).unwrap();
        assert_eq!(r.intent_accuracy, 0.75);
        let (sales, info) = (intent_index(Intent::Sales), intent_index(Intent::Info));
        assert_eq!(r.confusion[sales][sales], 1);
        assert_eq!(r.confusion[sales][info], 1);
        assert_eq!(r.confusion[info][info], 1);
        assert!((r.intent_prf[sales].f1 - 2.0 / 3.0).abs() < 1e-12);
        assert!((r.intent_prf[info].f1 - 2.0 / 3.0).abs() < 1e-12);
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
        let r = score(&cases, WORST).unwrap();
        assert_eq!(r.intent_accuracy, 1.0);
        assert!((r.sentiment_mae - 0.4).abs() < 1e-12);
        assert_eq!(r.lead_score_mae, 15.0);
        assert_eq!(r.hot.f1, 1.0);
        assert_eq!(r.worst[0].1[0].0, "a", "ties go by id");
    }

    #[test]
    fn an_empty_set_has_no_report() {
        assert!(score(&[], WORST).is_none());
    }

    #[test]
    fn hot_is_judged_under_one_policy_for_label_and_prediction() {
        let strict = HotLeadPolicy {
            min_score: LeadScore::clamped(90),
            intents: vec![Intent::Sales],
        };
        let label = truth(Intent::Sales, 0.5, 85).with_policy(&strict);
        let said = truth(Intent::Sales, 0.5, 85).with_policy(&strict);
        assert!(!label.hot && !said.hot, "85 is not hot under a 90 policy");
        let loose = HotLeadPolicy::default();
        assert!(truth(Intent::Sales, 0.5, 85).with_policy(&loose).hot);
        assert!(!truth(Intent::Booking, 0.5, 95).with_policy(&loose).hot);
    }

    #[test]
    fn hot_precision_recall_and_the_json_keys() {
        let hot = truth(Intent::Sales, 0.5, 90);
        let cold = truth(Intent::Sales, 0.0, 40);
        let cases = vec![
            case("tp", hot.clone(), hot.clone()),
            case("fn", hot.clone(), cold.clone()),
            case("fp", cold.clone(), hot.clone()),
            case("tn", cold.clone(), cold.clone()),
        ];
        let r = score(&cases, WORST).unwrap();
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
                "email_f1",
                "email_false_positive_rate",
                "email_precision",
                "email_recall",
                "hot_f1",
                "hot_precision",
                "hot_recall",
                "intent_accuracy",
                "lead_score_mae",
                "n",
                "name_exact",
                "name_f1",
                "name_false_positive_rate",
                "name_precision",
                "name_recall",
                "sentiment_mae",
                "topic_f1"
            ]
        );
    }

    #[test]
    fn names_and_emails_match_after_normalising() {
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
        assert!(
            (token_f1(Some("house viewing"), Some("house viewing saturday")) - 0.8).abs() < 1e-12
        );
    }
}
