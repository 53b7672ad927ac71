//! Lead score: a base per intent, moved by buying and brush-off signals in the caller's words.

use super::text::{count_unnegated, has_phrase, CallerSpeech, RawWord};
use crate::domain::{Entities, Intent, LeadScore, Sentiment};

/// Fewest digits in one turn that read as a phone number the caller volunteered.
const PHONE_DIGITS: usize = 7;

/// `(phrase, shown as)`: the first one the caller said is reported in the summary.
const TIMELINES: &[(&str, &str)] = &[
    ("asap", "ASAP"),
    ("as soon as possible", "ASAP"),
    ("right away", "right away"),
    ("right now", "right now"),
    ("immediately", "immediately"),
    ("urgently", "urgently"),
    ("today", "today"),
    ("tonight", "tonight"),
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
    ("first of next month", "next month"),
    ("lease ends", "when the lease ends"),
    ("same day", "the same day"),
    ("two weeks", "within two weeks"),
    ("couple of weeks", "within a couple of weeks"),
    ("january", "by January"),
    ("february", "by February"),
    ("march", "by March"),
    ("april", "by April"),
    ("may 1st", "by May"),
    ("june", "by June"),
    ("july", "by July"),
    ("august", "by August"),
    ("september", "by September"),
    ("october", "by October"),
    ("november", "by November"),
    ("december", "by December"),
    ("q1", "by Q1"),
    ("q2", "by Q2"),
    ("q3", "by Q3"),
    ("q4", "by Q4"),
    ("lease is up", "when the lease is up"),
    ("hoy mismo", "today"),
    ("mientras más pronto", "ASAP"),
    ("lo antes posible", "ASAP"),
];

const PRICE_QUESTIONS: &[&str] = &[
    "how much", "price", "prices", "pricing", "quote", "cost", "costs", "rates", "estimate",
    "precio", "cuánto",
];

/// The caller commits: a purchase, a signature, a payment, an offer.
const COMMITMENTS: &[&str] = &[
    "let's do it",
    "lets do it",
    "let's do this",
    "sign me up",
    "sign up for real",
    "want to sign up",
    "ready to buy",
    "ready to go",
    "ready to move",
    "ready to sign",
    "i'll take it",
    "we'll take it",
    "i'll take the",
    "we'll take the",
    "go ahead",
    "want to buy",
    "want to purchase",
    "like to buy",
    "like to purchase",
    "count me in",
    "where do i sign",
    "let's get started",
    "let's move forward",
    "move forward",
    "book it",
    "lock it in",
    "lock in",
    "it's a deal",
    "deal",
    "sold",
    "send the contract",
    "send me the contract",
    "send over the contract",
    "send the agreement",
    "send the paperwork",
    "sign the contract",
    "sign the agreement",
    "make an offer",
    "want to offer",
    "put down",
    "pay the deposit",
    "paying it",
    "pay it now",
    "pay now",
    "paid",
    "roll it out",
    "want to do this",
    "want to do it",
    "what's the next step",
    "what are the next steps",
    "drive it home",
    "want this live",
    "want it done",
    "we're ready",
    "i'm ready",
    "pretty serious",
    "queremos hacerlo",
    "lo pago",
    "vamos a hacerlo",
];

/// The caller accepts a price or says it fits.
const PRICE_ACCEPTED: &[&str] = &[
    "that works",
    "that's fine",
    "that's reasonable",
    "that's fair",
    "fair price",
    "less than i thought",
    "less than i expected",
    "way less than",
    "less than i'm paying",
    "what i was expecting",
    "about what i expected",
    "within budget",
    "within our budget",
    "under budget",
    "in range",
    "sounds good",
    "that's doable",
    "we're good",
    "works for us",
    "works for me",
];

/// Evidence of a ready buyer (budget, timeline, contact, price accepted) that makes a hot
/// lead without an explicit "let's do it".
const READY_EVIDENCE: i64 = 3;

/// `(phrase, points taken off)`: a caller backing away. They carry their own negation, so
/// they always count; the strongest one counts.
const BRUSH_OFFS: &[(&str, i64)] = &[
    ("just browsing", 25),
    ("kind of browsing", 25),
    ("just looking", 25),
    ("just seeing", 20),
    ("seeing what's out there", 20),
    ("not anytime soon", 20),
    ("too expensive", 30),
    ("too pricey", 30),
    ("too much money", 30),
    ("more than i wanted", 30),
    ("more than we wanted", 30),
    ("a lot more than", 20),
    ("can't afford", 30),
    ("cannot afford", 30),
    ("out of my budget", 30),
    ("over my budget", 30),
    ("out of our budget", 30),
    ("i'll pass", 35),
    ("we'll pass", 35),
    ("pass for now", 35),
    ("maybe later", 15),
    ("not right now", 15),
    ("not now", 15),
    ("think about it", 15),
    ("check with my", 10),
    ("talk to my", 8),
    ("get back to you", 10),
    ("call back", 8),
    ("not sure", 8),
    ("rather not", 10),
    ("prefer not to", 10),
    ("don't want to give", 10),
    ("no email", 10),
    ("won't give", 10),
    ("just asking", 10),
    ("just curious", 10),
];

/// The caller turns the offer down.
const NOT_INTERESTED: &[&str] = &["not interested", "no interesa", "no me interesa"];

const DO_NOT_CALL: &[&str] = &[
    "don't call me",
    "do not call",
    "stop calling",
    "take me off",
    "take this number off",
    "remove me from",
    "don't call again",
    "don't call this number",
    "never call",
];

/// The caller moves an appointment away or calls it off: no new revenue.
const CANCELLATIONS: &[&str] = &[
    "cancel my appointment",
    "cancel the appointment",
    "cancel my reservation",
    "cancel the reservation",
    "need to cancel",
    "have to cancel",
    "want to cancel",
    "cancelar",
];

/// Fewer caller words than this is a hang-up, a wrong number or a voicemail greeting.
const MIN_CALLER_WORDS: usize = 8;

/// Points per unit of caller sentiment inside a band: a happy caller is a warmer lead, but
/// mood alone never moves a call out of its band.
const SENTIMENT_POINTS: f64 = 6.0;

/// What the caller said that bears on buying; the summary reports some of it.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Signals {
    /// An amount the caller named ("$450k"), if any.
    pub(super) amount: Option<String>,
    /// The caller mentioned a budget or financing already in place, with or without an amount.
    pub(super) budget: bool,
    /// When the caller wants it, as shown in the summary.
    pub(super) timeline: Option<&'static str>,
    /// The caller asked about price.
    pub(super) price_question: bool,
    /// The caller committed ("sign me up", "send the contract", a payment).
    pub(super) commitment: bool,
    /// The caller accepted a price ("that works", "less than I thought").
    pub(super) price_accepted: bool,
    /// The caller asked not to be called.
    pub(super) do_not_call: bool,
    /// The caller turned the offer down.
    pub(super) not_interested: bool,
    /// Points taken off for the strongest brush-off.
    pub(super) brush_off: i64,
    /// The caller said "interested in" without negating it.
    pub(super) interest: bool,
    /// The caller read out a phone number.
    pub(super) phone: bool,
    /// The caller called off an appointment.
    pub(super) cancellation: bool,
    /// The caller barely spoke: a hang-up, a wrong number, a voicemail greeting.
    pub(super) minimal: bool,
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
    let budget = amount.is_some()
        || [
            "budget",
            "budgeted",
            "pre approved",
            "preapproved",
            "cash buyer",
            "paying cash",
        ]
        .iter()
        .any(|p| any_unnegated(caller, p));
    let words: usize = caller.turns.iter().map(|t| t.words.len()).sum();
    Signals {
        budget,
        amount,
        timeline: TIMELINES
            .iter()
            .find(|(p, _)| any_unnegated(caller, p))
            .map(|(_, shown)| *shown),
        price_question: PRICE_QUESTIONS.iter().any(|p| any_unnegated(caller, p)),
        commitment: COMMITMENTS.iter().any(|p| any_unnegated(caller, p)),
        price_accepted: PRICE_ACCEPTED.iter().any(|p| any_unnegated(caller, p)),
        do_not_call: DO_NOT_CALL.iter().any(|p| any_phrase(caller, p)),
        not_interested: NOT_INTERESTED.iter().any(|p| any_phrase(caller, p)),
        brush_off: BRUSH_OFFS
            .iter()
            .filter(|(p, _)| any_phrase(caller, p))
            .map(|(_, points)| *points)
            .max()
            .unwrap_or(0),
        interest: any_unnegated(caller, "interested in"),
        phone: caller.turns.iter().any(|t| has_phone_number(&t.words)),
        cancellation: CANCELLATIONS.iter().any(|p| any_unnegated(caller, p)),
        minimal: words < MIN_CALLER_WORDS,
    }
}

/// How many marks of a ready buyer the caller showed.
fn ready_evidence(signals: &Signals, entities: &Entities) -> i64 {
    [
        signals.budget,
        signals.timeline.is_some(),
        entities.email.is_some() || signals.phone,
        signals.price_accepted,
    ]
    .into_iter()
    .map(i64::from)
    .sum()
}

/// Scores the lead by the rubric of docs/labelling.md: the intent sets the band, the signals
/// place the call in it, and only a purchase conversation with a commitment reaches 80.
pub(super) fn score(
    intent: Intent,
    signals: &Signals,
    entities: &Entities,
    sentiment: Sentiment,
) -> LeadScore {
    let yes = |present: bool, points: i64| if present { points } else { 0 };
    // Rounded, so the cast only drops a zero fraction; sentiment is within ±1.
    let mood = (sentiment.get() * SENTIMENT_POINTS).round() as i64;
    let contact = yes(entities.email.is_some(), 4) + yes(signals.phone, 2);
    if signals.do_not_call || signals.minimal {
        return LeadScore::clamped(yes(!signals.do_not_call && !signals.minimal, 5));
    }
    let score = match intent {
        Intent::Complaint => (3 + mood.min(0) / 2).clamp(0, 10),
        Intent::Support => (8 + mood / 2 + yes(signals.interest, 8)).clamp(3, 25),
        Intent::Info => {
            let need = yes(signals.price_question, 5)
                + yes(signals.timeline.is_some(), 5)
                + yes(signals.interest, 5)
                + contact
                + yes(signals.budget, 5);
            (25 + need + mood - signals.brush_off / 2).clamp(10, 50)
        }
        Intent::Booking => {
            if signals.cancellation {
                (12 + mood).clamp(5, 25)
            } else {
                let warm = yes(signals.timeline.is_some(), 3)
                    + yes(signals.price_question, 3)
                    + yes(signals.budget, 5)
                    + yes(signals.commitment, 5)
                    + contact;
                (48 + warm + mood - signals.brush_off / 2).clamp(35, 72)
            }
        }
        Intent::Sales => {
            if signals.not_interested {
                (5 + mood.min(0)).clamp(0, 10)
            } else if signals.brush_off < 20
                && (signals.commitment || ready_evidence(signals, entities) >= READY_EVIDENCE)
            {
                let evidence = yes(signals.budget, 4)
                    + yes(signals.timeline.is_some(), 4)
                    + yes(signals.price_accepted, 3)
                    + contact
                    + yes(entities.name.is_some(), 2);
                (80 + evidence + mood / 2 - signals.brush_off).clamp(70, 98)
            } else {
                let evidence = yes(signals.budget, 8)
                    + yes(signals.timeline.is_some(), 8)
                    + yes(signals.price_question, 3)
                    + yes(signals.interest, 4)
                    + contact;
                (50 + evidence + mood - signals.brush_off).clamp(10, 79)
            }
        }
    };
    LeadScore::clamped(score)
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

    const PLAIN: &str = "I am calling about the thing we talked about before.";

    #[test]
    fn the_bands_rank_sales_highest_and_complaints_lowest() {
        let of = |intent| lead(intent, &[PLAIN]).0;
        assert!(of(Intent::Sales) > of(Intent::Booking));
        assert!(of(Intent::Booking) > of(Intent::Info));
        assert!(of(Intent::Info) > of(Intent::Support));
        assert!(of(Intent::Support) > of(Intent::Complaint));
        // However keen the words, a complaint or a support call stays in its band.
        let keen = "Let's do it, my budget is $5,000, I need it this week, sign me up";
        assert!(lead(Intent::Complaint, &[keen]).0 <= 10);
        assert!(lead(Intent::Support, &[keen]).0 <= 25);
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
    fn a_ready_buyer_is_hot_without_saying_lets_do_it() {
        // Budget, timeline and a price accepted: three marks of a ready buyer.
        let (score, s) = lead(
            Intent::Sales,
            &[
                "Our budget for this is about fifteen K a year.",
                "That works. We need it in place before July.",
            ],
        );
        assert!(!s.commitment);
        assert!(score >= 80, "{score}");
        // Interest alone is not enough.
        let (lukewarm, _) = lead(
            Intent::Sales,
            &["I'm interested in the premium plan, what does it include?"],
        );
        assert!((40..80).contains(&lukewarm), "{lukewarm}");
    }

    #[test]
    fn brush_offs_lower_the_score() {
        let (cold, _) = lead(
            Intent::Sales,
            &["I'm just browsing, it's too expensive, maybe later"],
        );
        let (neutral, _) = lead(Intent::Sales, &[PLAIN]);
        assert!(cold + 25 <= neutral, "{cold} vs {neutral}");
        // A brush-off outweighs a commitment word in the same call.
        let (hesitant, _) = lead(
            Intent::Sales,
            &["I'd go ahead but honestly it's too expensive, I'll pass"],
        );
        assert!(hesitant < 80, "{hesitant}");
    }

    #[test]
    fn a_caller_turning_the_offer_down_is_a_cold_sale() {
        let (score, s) = lead(
            Intent::Sales,
            &["No thanks, I'm not interested, I signed up for a webinar, that's all."],
        );
        assert!(s.not_interested);
        assert!(score <= 10, "{score}");
    }

    #[test]
    fn a_cancelled_booking_brings_no_new_revenue() {
        let (score, s) = lead(
            Intent::Booking,
            &["Hi, I need to cancel my appointment on Friday please."],
        );
        assert!(s.cancellation);
        assert!(score <= 25, "{score}");
        let (booked, _) = lead(
            Intent::Booking,
            &["I'd like to book a haircut on Friday please."],
        );
        assert!((40..=72).contains(&booked), "{booked}");
    }

    #[test]
    fn a_hang_up_or_wrong_number_is_no_lead() {
        let (score, s) = lead(Intent::Sales, &["hello?", "wrong number, sorry"]);
        assert!(s.minimal);
        assert_eq!(score, 0);
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
        let s = signals(&CallerSpeech::new([
            "I have a question about the classes, my number is 555 123 4567",
        ]));
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
