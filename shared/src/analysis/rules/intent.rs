//! Intent: keyword cues in the caller's words, scored per intent.

use super::text::{count_unnegated, join_norms, normalize, phrase_positions, CallerSpeech};
use crate::domain::{Intent, Sentiment};
use Intent::{Booking, Complaint, Info, Sales, Support};

/// A cue counts at most this often per call, so a caller repeating "refund" five times does
/// not drown every other cue.
const MAX_HITS_PER_CUE: usize = 2;
/// How much agent cues count, and only to break a tie between caller scores.
const AGENT_WEIGHT: f64 = 0.25;
/// Complaint points added per unit of negative caller sentiment (an angry "cancel my
/// membership" is a complaint, a calm one is not).
const ANGER_BONUS: f64 = 3.0;
/// Below this caller sentiment the anger bonus applies.
const ANGRY: f64 = -0.3;

/// `(phrase, intent, weight)`: phrases are lowercase words of the `norm` form. A cue preceded
/// by a negation ("not interested in") does not count; cues with a negative weight already
/// hold their negation and always count.
const CUES: &[(&str, Intent, f64)] = &[
    // complaint
    ("refund", Complaint, 3.0),
    ("my money back", Complaint, 3.0),
    ("charged twice", Complaint, 4.0),
    ("double charged", Complaint, 4.0),
    ("overcharged", Complaint, 3.0),
    ("unacceptable", Complaint, 3.0),
    ("terrible", Complaint, 2.0),
    ("horrible", Complaint, 2.0),
    ("awful", Complaint, 2.0),
    ("ridiculous", Complaint, 2.0),
    ("worst", Complaint, 2.0),
    ("rude", Complaint, 2.0),
    ("disappointed", Complaint, 2.0),
    ("complaint", Complaint, 3.0),
    ("complain", Complaint, 3.0),
    ("scam", Complaint, 3.0),
    ("speak to a manager", Complaint, 4.0),
    ("speak to the manager", Complaint, 4.0),
    ("talk to a manager", Complaint, 4.0),
    ("talk to your manager", Complaint, 4.0),
    ("speak to your manager", Complaint, 4.0),
    ("supervisor", Complaint, 3.0),
    ("never again", Complaint, 2.0),
    ("still haven't received", Complaint, 2.0),
    ("cancel my membership", Complaint, 1.0),
    ("cancel my subscription", Complaint, 1.0),
    ("cancel my account", Complaint, 1.0),
    // booking
    ("appointment", Booking, 3.0),
    ("appointments", Booking, 3.0),
    ("book", Booking, 2.5),
    ("booking", Booking, 2.5),
    ("schedule", Booking, 2.5),
    ("reschedule", Booking, 3.5),
    ("reservation", Booking, 3.0),
    ("reserve", Booking, 2.5),
    ("available on", Booking, 2.0),
    ("availability", Booking, 1.5),
    ("slot", Booking, 1.5),
    ("viewing", Booking, 2.0),
    ("consultation", Booking, 1.5),
    ("table for", Booking, 2.0),
    ("cita", Booking, 3.0),
    ("see someone", Booking, 2.0),
    ("see the doctor", Booking, 2.0),
    ("see a doctor", Booking, 2.0),
    ("come in", Booking, 1.5),
    ("next available", Booking, 2.0),
    ("openings", Booking, 1.5),
    // A weekday alone is a weak hint of a booking ("Tuesday at 3 works").
    ("monday", Booking, 1.0),
    ("tuesday", Booking, 1.0),
    ("wednesday", Booking, 1.0),
    ("thursday", Booking, 1.0),
    ("friday", Booking, 1.0),
    ("saturday", Booking, 1.0),
    ("sunday", Booking, 1.0),
    // sales
    ("buy", Sales, 3.0),
    ("buying", Sales, 3.0),
    ("purchase", Sales, 3.0),
    ("purchasing", Sales, 3.0),
    ("quote", Sales, 2.5),
    ("estimate", Sales, 2.0),
    ("price", Sales, 1.5),
    ("pricing", Sales, 1.5),
    ("how much", Sales, 1.5),
    ("cost", Sales, 1.0),
    ("interested in", Sales, 2.5),
    ("sign up", Sales, 3.0),
    ("sign me up", Sales, 3.0),
    ("upgrade", Sales, 2.5),
    ("financing", Sales, 3.0),
    ("get started", Sales, 2.0),
    ("demo", Sales, 2.0),
    ("free trial", Sales, 2.0),
    ("discount", Sales, 1.5),
    ("budget", Sales, 2.0),
    ("order", Sales, 1.5),
    ("subscribe", Sales, 2.0),
    ("comprar", Sales, 3.0),
    ("precio", Sales, 1.5),
    ("not interested", Sales, -3.0),
    // support
    ("not working", Support, 3.5),
    ("isn't working", Support, 3.5),
    ("stopped working", Support, 3.5),
    ("doesn't work", Support, 3.5),
    ("won't work", Support, 3.0),
    ("won't turn on", Support, 3.0),
    ("error", Support, 3.0),
    ("error message", Support, 1.0),
    ("can't log in", Support, 4.0),
    ("cannot log in", Support, 4.0),
    ("can't login", Support, 4.0),
    ("can't sign in", Support, 4.0),
    ("unable to log in", Support, 4.0),
    ("locked out", Support, 3.5),
    ("password", Support, 2.0),
    ("reset", Support, 2.5),
    ("broken", Support, 2.5),
    ("crashes", Support, 2.5),
    ("crashing", Support, 2.5),
    ("bug", Support, 2.0),
    ("help with my account", Support, 3.0),
    ("troubleshoot", Support, 3.0),
    ("fix", Support, 2.0),
    ("technical", Support, 2.0),
    ("set up", Support, 1.5),
    ("install", Support, 1.5),
    ("problem with", Support, 1.5),
    ("issue with", Support, 1.5),
    ("cancel my membership", Support, 2.0),
    ("cancel my subscription", Support, 2.0),
    ("cancel my account", Support, 2.0),
    ("no funciona", Support, 3.5),
    // info
    ("hours", Info, 2.0),
    ("open on", Info, 1.5),
    ("what time", Info, 2.0),
    ("where are you", Info, 3.0),
    ("located", Info, 2.0),
    ("directions", Info, 2.0),
    ("do you offer", Info, 3.0),
    ("do you have", Info, 1.5),
    ("do you accept", Info, 2.0),
    ("do you take", Info, 1.5),
    ("just wondering", Info, 3.0),
    ("wondering", Info, 1.5),
    ("question about", Info, 2.5),
    ("quick question", Info, 2.5),
    ("information", Info, 1.5),
    ("parking", Info, 1.0),
    ("horario", Info, 2.0),
];

fn index(intent: Intent) -> usize {
    Intent::ALL.iter().position(|i| *i == intent).unwrap_or(0)
}

fn cue_scores(norm: &str) -> [f64; 5] {
    let mut scores = [0.0; 5];
    for (phrase, intent, weight) in CUES {
        let hits = if *weight < 0.0 {
            phrase_positions(norm, phrase).count()
        } else {
            count_unnegated(norm, phrase)
        };
        if let Some(score) = scores.get_mut(index(*intent)) {
            *score += weight * hits.min(MAX_HITS_PER_CUE) as f64;
        }
    }
    scores
}

/// Which intent wins a tie: the one a human most needs to act on.
const TIE_ORDER: [Intent; 5] = [Complaint, Support, Booking, Sales, Info];

/// Classifies the call from caller cues, with agent cues (`agent` holds the agent's raw
/// turns) only breaking ties; [`Info`] when the caller said nothing that matches.
pub(super) fn classify(caller: &CallerSpeech<'_>, agent: &[&str], sentiment: Sentiment) -> Intent {
    let mut scores = cue_scores(&caller.norm);
    let complaint = index(Complaint);
    if sentiment.get() < ANGRY && scores.get(complaint).is_some_and(|s| *s > 0.0) {
        if let Some(s) = scores.get_mut(complaint) {
            *s += ANGER_BONUS * -sentiment.get();
        }
    }
    let best = scores.iter().copied().fold(0.0_f64, f64::max);
    if best <= 0.0 {
        return Info;
    }
    let tied: Vec<Intent> = Intent::ALL
        .into_iter()
        .filter(|i| {
            scores
                .get(index(*i))
                .is_some_and(|s| (best - s).abs() < 1e-9)
        })
        .collect();
    if tied.len() == 1 {
        return tied.first().copied().unwrap_or(Info);
    }
    // Agent text is only normalized when a tie needs it.
    let agent_norms: Vec<String> = agent.iter().map(|t| normalize(t)).collect();
    let agent_scores = cue_scores(&join_norms(agent_norms.iter().map(String::as_str)));
    let agent_best = tied
        .iter()
        .map(|i| agent_scores.get(index(*i)).copied().unwrap_or(0.0) * AGENT_WEIGHT)
        .fold(0.0_f64, f64::max);
    TIE_ORDER
        .into_iter()
        .filter(|i| tied.contains(i))
        .find(|i| agent_scores.get(index(*i)).copied().unwrap_or(0.0) * AGENT_WEIGHT >= agent_best)
        .unwrap_or(Info)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn intent_of(caller: &[&str], agent: &[&str], sentiment: f64) -> Intent {
        classify(
            &CallerSpeech::new(caller.iter().copied()),
            agent,
            Sentiment::clamped(sentiment),
        )
    }

    fn caller_intent(text: &str) -> Intent {
        intent_of(&[text], &[], 0.0)
    }

    #[test]
    fn complaint_cues() {
        for text in [
            "I want a refund",
            "You charged twice on my card, this is unacceptable",
            "Let me speak to a manager",
            "The service was terrible",
        ] {
            assert_eq!(caller_intent(text), Complaint, "{text}");
        }
    }

    #[test]
    fn booking_cues() {
        for text in [
            "I'd like to book an appointment",
            "Can I reschedule to Thursday?",
            "A reservation for two please",
            "Are you available on Tuesday for a viewing?",
        ] {
            assert_eq!(caller_intent(text), Booking, "{text}");
        }
    }

    #[test]
    fn sales_cues() {
        for text in [
            "I want to buy the premium package",
            "I'm interested in solar panels, can I get a quote?",
            "How much to get started? I'd like to sign up",
            "Do you do financing if I upgrade my plan?",
        ] {
            assert_eq!(caller_intent(text), Sales, "{text}");
        }
    }

    #[test]
    fn support_cues() {
        for text in [
            "My router is not working",
            "I can't log in, I keep getting an error",
            "I need to reset my password",
            "Can you help with my account",
        ] {
            assert_eq!(caller_intent(text), Support, "{text}");
        }
    }

    #[test]
    fn info_cues() {
        for text in [
            "What are your hours?",
            "Where are you located?",
            "Do you offer gift cards?",
            "just wondering",
        ] {
            assert_eq!(caller_intent(text), Info, "{text}");
        }
    }

    #[test]
    fn nothing_matching_defaults_to_info() {
        assert_eq!(caller_intent(""), Info);
        assert_eq!(caller_intent("hello? hello?"), Info);
    }

    #[test]
    fn negated_cues_do_not_count() {
        assert_eq!(
            caller_intent("I'm not interested in buying anything, what are your hours"),
            Info
        );
    }

    #[test]
    fn an_angry_cancellation_is_a_complaint_and_a_calm_one_is_support() {
        assert_eq!(intent_of(&["cancel my membership"], &[], -0.8), Complaint);
        assert_eq!(intent_of(&["cancel my membership"], &[], 0.0), Support);
    }

    #[test]
    fn agent_cues_only_break_ties() {
        // Caller: "appointment" (booking 3) vs "quote" (sales 2.5): the agent cannot overturn it.
        assert_eq!(
            intent_of(&["appointment for a quote"], &["buy buy purchase"], 0.0),
            Booking
        );
        // Caller: one booking cue, one support cue of equal weight: the agent decides.
        assert_eq!(
            intent_of(&["reset or book"], &["I can book that for you"], 0.0),
            Booking
        );
        assert_eq!(
            intent_of(&["reset or book"], &["let's reset it"], 0.0),
            Support
        );
        // Agent cues alone never make an intent.
        assert_eq!(
            intent_of(&["hello"], &["would you like to buy?"], 0.0),
            Info
        );
    }

    #[test]
    fn a_repeated_cue_counts_at_most_twice() {
        assert_eq!(
            caller_intent("refund refund refund refund, but I can't log in and get an error"),
            Support
        );
    }
}
