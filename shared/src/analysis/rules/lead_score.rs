//! Lead score: a base per intent, moved by buying and brush-off signals in the caller's words.

use super::text::{count_unnegated, has_phrase, CallerSpeech, RawWord};
use crate::domain::{Entities, Intent, LeadScore, Sentiment};

/// Fewest digits in one turn that read as a phone number the caller volunteered.
const PHONE_DIGITS: usize = 7;
/// Points per unit of caller sentiment: a happy caller is a warmer lead, but mood alone
/// never makes one.
const SENTIMENT_POINTS: f64 = 10.0;

fn base(intent: Intent) -> i64 {
    match intent {
        Intent::Sales => 50,
        Intent::Booking => 45,
        Intent::Info => 25,
        Intent::Support => 8,
        Intent::Complaint => 3,
    }
}

/// The range a call of each intent can score in (docs/labelling.md): a complaint or a
/// support call is never a lead however cheerful the caller, a booking is a committed but
/// priced customer, and only a purchase conversation reaches the top.
fn band(intent: Intent) -> (i64, i64) {
    match intent {
        Intent::Sales => (0, 100),
        Intent::Booking => (35, 75),
        Intent::Info => (10, 55),
        Intent::Support => (0, 25),
        Intent::Complaint => (0, 10),
    }
}

const BUDGET_POINTS: i64 = 12;
const TIMELINE_POINTS: i64 = 10;
const PRICE_QUESTION_POINTS: i64 = 8;
const COMMITMENT_POINTS: i64 = 15;
const INTEREST_POINTS: i64 = 5;
const EMAIL_POINTS: i64 = 8;
const NAME_POINTS: i64 = 3;
const PHONE_POINTS: i64 = 5;

/// `(phrase, shown as)`: the first one the caller said is reported in the summary.
const TIMELINES: &[(&str, &str)] = &[
    ("asap", "ASAP"),
    ("as soon as possible", "ASAP"),
    ("right away", "right away"),
    ("immediately", "immediately"),
    ("urgently", "urgently"),
    ("today", "today"),
    ("tomorrow", "tomorrow"),
    ("this week", "this week"),
    ("this weekend", "this weekend"),
    ("within a week", "within a week"),
    ("next week", "next week"),
    ("by monday", "by Monday"),
    ("by tuesday", "by Tuesday"),
    ("by wednesday", "by Wednesday"),
    ("by thursday", "by Thursday"),
    ("by friday", "by Friday"),
    ("by the weekend", "by the weekend"),
    ("this month", "this month"),
    ("within a month", "within a month"),
    ("end of the month", "by the end of the month"),
    ("next month", "next month"),
];

const PRICE_QUESTIONS: &[&str] = &[
    "how much", "price", "prices", "pricing", "quote", "cost", "costs", "rates", "estimate",
    "precio", "cuánto",
];

const COMMITMENTS: &[&str] = &[
    "let's do it",
    "lets do it",
    "sign me up",
    "ready to",
    "i'll take it",
    "go ahead",
    "want to buy",
    "want to purchase",
    "like to buy",
    "like to purchase",
    "count me in",
    "where do i sign",
    "let's get started",
    "book it",
    "it's a deal",
];

/// `(phrase, points taken off)`. These carry their own negation, so they always count.
const BRUSH_OFFS: &[(&str, i64)] = &[
    ("just browsing", 15),
    ("just looking", 15),
    ("not interested", 25),
    ("too expensive", 15),
    ("too pricey", 15),
    ("too much money", 15),
    ("can't afford", 15),
    ("cannot afford", 15),
    ("out of my budget", 15),
    ("over my budget", 15),
    ("maybe later", 10),
    ("not right now", 10),
    ("not now", 10),
    ("think about it", 10),
    ("get back to you", 8),
    ("rather not", 10),
    ("prefer not to", 10),
    ("don't want to give", 10),
    ("not giving", 10),
    ("no email", 10),
    ("won't give", 10),
];

const DO_NOT_CALL: &[&str] = &[
    "don't call me",
    "do not call",
    "stop calling",
    "take me off",
    "remove me from",
    "don't call again",
    "never call",
];
const DO_NOT_CALL_POINTS: i64 = 30;

/// What the caller said that bears on buying; the summary reports some of it.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Signals {
    /// An amount the caller named ("$450k"), if any.
    pub(super) amount: Option<String>,
    /// The caller mentioned a budget, with or without an amount.
    pub(super) budget: bool,
    /// When the caller wants it, as shown in the summary.
    pub(super) timeline: Option<&'static str>,
    /// The caller asked about price.
    pub(super) price_question: bool,
    /// The caller committed ("sign me up").
    pub(super) commitment: bool,
    /// The caller asked not to be called.
    pub(super) do_not_call: bool,
    /// Points taken off for brush-offs.
    pub(super) brush_off: i64,
    /// The caller said "interested in" without negating it.
    pub(super) interest: bool,
    /// The caller read out a phone number.
    pub(super) phone: bool,
}

fn any_unnegated(caller: &CallerSpeech<'_>, phrase: &str) -> bool {
    count_unnegated(&caller.norm, phrase) > 0
}

fn any_phrase(caller: &CallerSpeech<'_>, phrase: &str) -> bool {
    has_phrase(&caller.norm, phrase)
}

/// "$450k", or "300 dollars" shown as "$300".
fn amount_in(words: &[RawWord<'_>]) -> Option<String> {
    words.iter().enumerate().find_map(|(i, w)| {
        let mut chars = w.text.chars();
        if chars.next() == Some('$') && chars.next().is_some_and(|c| c.is_ascii_digit()) {
            return Some(w.text.to_owned());
        }
        let numeric = w.text.chars().next().is_some_and(|c| c.is_ascii_digit())
            && w.text
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, ',' | '.' | 'k' | 'K'));
        let unit = words.get(i + 1).map(|n| n.text.to_lowercase());
        match unit.as_deref() {
            Some("dollars" | "bucks" | "usd") if numeric => Some(format!("${}", w.text)),
            Some("thousand" | "grand") if numeric => Some(format!("${}k", w.text)),
            _ => None,
        }
    })
}

fn has_phone_number(words: &[RawWord<'_>]) -> bool {
    let digits: usize = words
        .iter()
        .filter(|w| !w.text.starts_with('$'))
        .map(|w| w.text.chars().filter(char::is_ascii_digit).count())
        .sum();
    digits >= PHONE_DIGITS
}

/// Reads the buying signals in the caller's turns.
pub(super) fn signals(caller: &CallerSpeech<'_>) -> Signals {
    let amount = caller.turns.iter().find_map(|t| amount_in(&t.words));
    let budget = amount.is_some() || any_unnegated(caller, "budget");
    Signals {
        budget,
        amount,
        timeline: TIMELINES
            .iter()
            .find(|(p, _)| any_unnegated(caller, p))
            .map(|(_, shown)| *shown),
        price_question: PRICE_QUESTIONS.iter().any(|p| any_unnegated(caller, p)),
        commitment: COMMITMENTS.iter().any(|p| any_unnegated(caller, p)),
        do_not_call: DO_NOT_CALL.iter().any(|p| any_phrase(caller, p)),
        brush_off: BRUSH_OFFS
            .iter()
            .filter(|(p, _)| any_phrase(caller, p))
            .map(|(_, points)| points)
            .sum(),
        interest: any_unnegated(caller, "interested in"),
        phone: caller.turns.iter().any(|t| has_phone_number(&t.words)),
    }
}

/// Scores the lead from its intent, signals, the details the caller gave and their mood.
pub(super) fn score(
    intent: Intent,
    signals: &Signals,
    entities: &Entities,
    sentiment: Sentiment,
) -> LeadScore {
    let points = |present: bool, points: i64| if present { points } else { 0 };
    let total = base(intent)
        + points(signals.budget, BUDGET_POINTS)
        + points(signals.timeline.is_some(), TIMELINE_POINTS)
        + points(signals.price_question, PRICE_QUESTION_POINTS)
        + points(signals.commitment, COMMITMENT_POINTS)
        + points(signals.interest, INTEREST_POINTS)
        + points(entities.email.is_some(), EMAIL_POINTS)
        + points(entities.name.is_some(), NAME_POINTS)
        + points(signals.phone, PHONE_POINTS)
        - signals.brush_off
        - points(signals.do_not_call, DO_NOT_CALL_POINTS)
        // Rounded, so the cast only drops a zero fraction; sentiment is within ±1.
        + (sentiment.get() * SENTIMENT_POINTS).round() as i64;
    let (low, high) = band(intent);
    // A caller who asked not to be called is no lead, whatever the intent's floor.
    let low = if signals.do_not_call { 0 } else { low };
    LeadScore::clamped(total.clamp(low, high))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lead(intent: Intent, caller: &[&str]) -> (u8, Signals) {
        let s = signals(&CallerSpeech::new(caller.iter().copied()));
        (
            score(intent, &s, &Entities::default(), Sentiment::NEUTRAL).get(),
            s,
        )
    }

    #[test]
    fn the_base_ranks_sales_highest_and_complaints_lowest() {
        let of = |intent| lead(intent, &["hello"]).0;
        assert!(of(Intent::Sales) > of(Intent::Booking));
        assert!(of(Intent::Booking) > of(Intent::Info));
        assert!(of(Intent::Info) > of(Intent::Support));
        assert!(of(Intent::Support) > of(Intent::Complaint));
    }

    #[test]
    fn buying_signals_make_a_hot_sales_lead() {
        let (score, s) = lead(
            Intent::Sales,
            &[
                "My budget is $450k and I need it by Friday",
                "How much is the premium one?",
                "Let's do it, sign me up",
            ],
        );
        assert!(score >= 80, "{score}");
        assert_eq!(s.amount.as_deref(), Some("$450k"));
        assert_eq!(s.timeline, Some("by Friday"));
        assert!(s.price_question && s.commitment && s.budget);
    }

    #[test]
    fn brush_offs_lower_the_score() {
        let (cold, _) = lead(
            Intent::Sales,
            &["I'm just browsing, it's too expensive, maybe later"],
        );
        let (neutral, _) = lead(Intent::Sales, &["hello"]);
        assert!(cold + 30 <= neutral, "{cold} vs {neutral}");
    }

    #[test]
    fn do_not_call_and_refusing_an_email_count_against() {
        let (score, s) = lead(
            Intent::Info,
            &["Don't call me again. I'd rather not give my email."],
        );
        assert!(s.do_not_call);
        assert_eq!(score, 0);
    }

    #[test]
    fn negated_commitment_does_not_count() {
        let (_, s) = lead(Intent::Sales, &["I'm not ready to commit"]);
        assert!(!s.commitment);
    }

    #[test]
    fn given_contact_details_raise_the_score() {
        let s = signals(&CallerSpeech::new(["my number is 555 123 4567"]));
        assert!(s.phone);
        let anonymous = score(Intent::Info, &s, &Entities::default(), Sentiment::NEUTRAL);
        let known = Entities {
            email: Some("a@b.com".into()),
            name: Some("Dana".into()),
            topic: None,
        };
        assert!(score(Intent::Info, &s, &known, Sentiment::NEUTRAL) > anonymous);
    }

    #[test]
    fn spoken_amounts_are_shown_in_dollars() {
        assert_eq!(
            lead(Intent::Sales, &["about 300 dollars"])
                .1
                .amount
                .as_deref(),
            Some("$300")
        );
        assert_eq!(
            lead(Intent::Sales, &["around 450 thousand"])
                .1
                .amount
                .as_deref(),
            Some("$450k")
        );
        assert_eq!(
            lead(Intent::Sales, &["$ and 5 dollars off"])
                .1
                .amount
                .as_deref(),
            Some("$5")
        );
    }

    #[test]
    fn the_score_stays_in_range_with_every_signal() {
        let everything = "budget $1 asap how much let's do it sign me up interested in 5551234567";
        let (high, _) = lead(Intent::Sales, &[everything, everything]);
        assert!(high <= 100);
        let brush = "not interested too expensive maybe later don't call me no email just browsing";
        assert_eq!(lead(Intent::Complaint, &[brush]).0, 0);
    }
}
