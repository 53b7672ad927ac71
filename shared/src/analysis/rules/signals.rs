//! What the caller said that bears on buying, as the summary reports it: an amount, a budget,
//! a timeline, a commitment, a price question, a do-not-call request.

use super::dialogue::Call;
use super::lexicon::{hits, Cue};

/// Buying signals in the caller's words.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Signals {
    /// An amount the caller named ("$450,000"), if any.
    pub(crate) amount: Option<String>,
    /// The caller mentioned a budget or financing already in place.
    pub(crate) budget: bool,
    /// When the caller wants it, as shown in the summary.
    pub(crate) timeline: Option<&'static str>,
    /// The caller asked about price.
    pub(crate) price_question: bool,
    /// The caller committed ("sign me up", "send the contract").
    pub(crate) commitment: bool,
    /// The caller asked not to be called.
    pub(crate) do_not_call: bool,
}

/// Timeline phrases as the summary shows them.
fn shown(phrase: &'static str) -> &'static str {
    match phrase {
        "asap" | "as soon as possible" | "lo antes posible" | "cuanto antes" => "ASAP",
        "hoy" => "today",
        "manana" => "tomorrow",
        "esta semana" => "this week",
        "la proxima semana" => "next week",
        "este mes" => "this month",
        "el proximo mes" => "next month",
        "urgente" | "urgently" => "urgent",
        "by monday" => "by Monday",
        "by tuesday" => "by Tuesday",
        "by wednesday" => "by Wednesday",
        "by thursday" => "by Thursday",
        "by friday" => "by Friday",
        "by saturday" => "by Saturday",
        other => other,
    }
}

const PRICE_QUESTIONS: &[&str] = &[
    "how much",
    "price",
    "prices",
    "pricing",
    "quote",
    "quotes",
    "cost",
    "costs",
    "rates",
    "estimate",
    "cuanto cuesta",
    "cuanto sale",
    "precio",
    "precios",
    "cotizacion",
];

const DO_NOT_CALL: &[&str] = &[
    "take me off",
    "stop calling",
    "do not call",
    "dont call",
    "remove me",
    "remove my number",
    "no vuelvan a llamar",
    "no me llamen",
];

/// "$450,000" from digits.
fn dollars(digits: &str) -> String {
    let (whole, cents) = digits.split_once('.').unwrap_or((digits, ""));
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    if cents.is_empty() {
        format!("${grouped}")
    } else {
        format!("${grouped}.{cents}")
    }
}

/// Reads the caller's buying signals.
pub(crate) fn read(call: &Call<'_>) -> Signals {
    let mut s = Signals::default();
    for turn in call.caller() {
        let u = &turn.utterance;
        if s.amount.is_none() {
            s.amount = u.numbers.iter().find_map(|n| {
                let word = u.words.get(n.start)?;
                let unit = u.words.get(n.end).map(|w| w.lower.as_str());
                let money = word.raw.starts_with('$')
                    || matches!(unit, Some("dollars" | "bucks" | "dólares" | "dolares"));
                let scale = match unit {
                    Some("k" | "grand") => "000",
                    _ => "",
                };
                (money || !scale.is_empty()).then(|| dollars(&format!("{}{scale}", n.digits)))
            });
        }
        for hit in hits(&turn.norm) {
            match hit.cue {
                Cue::Budget => s.budget = true,
                Cue::Timeline => {
                    s.timeline.get_or_insert(shown(hit.phrase));
                }
                Cue::Commitment => s.commitment = true,
                Cue::Purchase if PRICE_QUESTIONS.contains(&hit.phrase) => s.price_question = true,
                Cue::Refusal if DO_NOT_CALL.contains(&hit.phrase) => s.do_not_call = true,
                _ => {}
            }
        }
    }
    s.budget |= s.amount.is_some();
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Role, Transcript, Turn};

    fn signals(caller: &[&str]) -> Signals {
        let t = Transcript::new(caller.iter().map(|x| Turn::new(Role::Caller, *x)).collect())
            .capped(100_000);
        read(&Call::read(&t))
    }

    #[test]
    fn every_signal_phrase_is_a_lexicon_cue_of_its_class() {
        // Signals are read off the lexicon's hits by phrase: a phrase missing from the lexicon
        // (or moved to another class) would silently never raise its signal.
        for (list, cue) in [
            (DO_NOT_CALL, Cue::Refusal),
            (PRICE_QUESTIONS, Cue::Purchase),
        ] {
            for phrase in list {
                let found = hits(&format!(" {phrase} "));
                assert!(
                    found.iter().any(|h| h.cue == cue && h.phrase == *phrase),
                    "{phrase:?} is not a {cue:?} cue: {found:?}"
                );
            }
        }
    }

    #[test]
    fn amounts_timelines_and_commitments_are_read_in_any_form() {
        let s = signals(&[
            "my budget is four hundred fifty thousand dollars and i need it by friday",
            "lets do it",
        ]);
        assert_eq!(s.amount.as_deref(), Some("$450,000"));
        assert_eq!(s.timeline, Some("by Friday"));
        assert!(s.budget && s.commitment);
        let s = signals(&["Budget is $450,000, ASAP really. How much is the deposit?"]);
        assert_eq!(s.amount.as_deref(), Some("$450,000"));
        assert_eq!(s.timeline, Some("ASAP"));
        assert!(s.price_question);
        assert!(signals(&["please take me off your list"]).do_not_call);
        assert_eq!(signals(&["I have 3 kids"]).amount, None);
    }
}
