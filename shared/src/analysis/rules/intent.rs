//! Intent: cue phrases per intent, weighted by where they were said.
//!
//! The caller's words decide. What they say first (the reason for the call) weighs double,
//! every cue counts at most twice, and a negated cue ("not interested in buying") does not
//! count. The agent's words count at a lower weight: agents reflect the call's purpose
//! ("I'm so sorry about that", "let me pull up your account", "I can book you in"), which
//! helps when the caller is terse. Anger adds to a complaint only when the caller also named
//! a grievance.

use super::text::{count_unnegated, is_negated_at, phrase_positions, CallerSpeech};
use crate::domain::{Intent, Sentiment};
use Intent::{Booking, Complaint, Info, Sales, Support};

/// A cue counts at most this often per call, so a caller repeating "refund" five times does
/// not drown every other cue.
const MAX_HITS_PER_CUE: usize = 2;
/// Weight of the caller's opening turns, where the reason for the call is stated.
const OPENING_WEIGHT: f64 = 2.0;
/// Caller turns that count as the opening (those with at least [`OPENING_MIN_WORDS`]).
const OPENING_TURNS: usize = 2;
/// Shorter turns ("Hi.", "Yes, that's me.") are not the opening statement.
const OPENING_MIN_WORDS: usize = 4;
/// How much agent cues count against caller cues.
const AGENT_WEIGHT: f64 = 0.5;
/// Complaint points added per unit of negative caller sentiment, when a grievance was named.
const ANGER_BONUS: f64 = 3.0;
/// Below this caller sentiment the anger bonus applies.
const ANGRY: f64 = -0.3;

/// `(phrase, intent, weight)` for the caller's words. Phrases are lowercase words of the
/// `norm` form; a cue preceded by a negation does not count, except the ones that hold their
/// own negation ("not interested", "no funciona"), which are listed in [`SELF_NEGATED`].
const CALLER_CUES: &[(&str, Intent, f64)] = &[
    // complaint: something already went wrong, and the caller wants it put right
    ("refund", Complaint, 3.0),
    ("refunded", Complaint, 3.0),
    ("my money back", Complaint, 3.5),
    ("charges back", Complaint, 3.0),
    ("charged twice", Complaint, 4.0),
    ("double charged", Complaint, 4.0),
    ("overcharged", Complaint, 3.5),
    ("been charged", Complaint, 2.5),
    ("got charged", Complaint, 2.5),
    ("still charged", Complaint, 3.0),
    ("charged me", Complaint, 2.0),
    ("i was charged", Complaint, 2.5),
    ("i was billed", Complaint, 2.0),
    ("got a bill", Complaint, 1.5),
    ("late fee", Complaint, 2.0),
    ("cancellation fee", Complaint, 2.0),
    ("unacceptable", Complaint, 3.0),
    ("not acceptable", Complaint, 3.0),
    ("not okay", Complaint, 2.0),
    ("not ok", Complaint, 2.0),
    ("terrible", Complaint, 2.0),
    ("horrible", Complaint, 2.0),
    ("awful", Complaint, 2.0),
    ("ridiculous", Complaint, 2.0),
    ("worst", Complaint, 2.0),
    ("rude", Complaint, 2.5),
    ("disappointed", Complaint, 2.0),
    ("complaint", Complaint, 3.0),
    ("complain", Complaint, 3.0),
    ("scam", Complaint, 3.0),
    ("manager", Complaint, 2.0),
    ("not happy", Complaint, 3.0),
    ("lawyer", Complaint, 2.5),
    ("attorney general", Complaint, 3.0),
    ("want out", Complaint, 3.0),
    ("pulling the", Complaint, 2.0),
    ("you people", Complaint, 2.5),
    ("i've called", Complaint, 2.0),
    ("nobody has", Complaint, 2.0),
    ("promised", Complaint, 2.0),
    ("i paid", Complaint, 2.0),
    ("worse than before", Complaint, 3.0),
    ("it better be", Complaint, 2.5),
    ("cost me", Complaint, 2.0),
    ("explain that", Complaint, 2.0),
    ("credited", Complaint, 2.0),
    ("supervisor", Complaint, 3.0),
    ("escalate", Complaint, 3.0),
    ("never again", Complaint, 2.0),
    ("still haven't", Complaint, 2.0),
    ("still hasn't", Complaint, 2.0),
    ("no show", Complaint, 3.0),
    ("no one showed", Complaint, 3.0),
    ("nobody showed", Complaint, 3.0),
    ("didn't show up", Complaint, 3.0),
    ("never came", Complaint, 2.5),
    ("stood me up", Complaint, 3.0),
    ("wrong order", Complaint, 3.0),
    ("got the wrong", Complaint, 2.5),
    ("mistake", Complaint, 2.0),
    ("messed up", Complaint, 2.5),
    ("screwed up", Complaint, 2.5),
    ("ruined", Complaint, 2.5),
    ("damaged", Complaint, 2.5),
    ("dispute", Complaint, 3.0),
    ("disputing", Complaint, 3.0),
    ("chargeback", Complaint, 3.5),
    ("my bank", Complaint, 1.5),
    ("bbb", Complaint, 2.5),
    ("better business bureau", Complaint, 3.0),
    ("not paying", Complaint, 3.0),
    ("shouldn't have to pay", Complaint, 3.0),
    ("nobody told me", Complaint, 2.0),
    ("no one told me", Complaint, 2.0),
    ("nobody called", Complaint, 2.0),
    ("been waiting", Complaint, 1.5),
    ("waited", Complaint, 1.5),
    ("upset", Complaint, 2.0),
    ("furious", Complaint, 3.0),
    ("angry", Complaint, 2.0),
    ("so mad", Complaint, 2.0),
    ("frustrated", Complaint, 1.5),
    ("fed up", Complaint, 2.5),
    ("sick of", Complaint, 2.0),
    ("third time", Complaint, 2.0),
    ("make it right", Complaint, 2.0),
    ("compensation", Complaint, 2.5),
    ("compensate", Complaint, 2.5),
    ("reimburse", Complaint, 2.5),
    ("reverse the", Complaint, 2.5),
    ("take it off", Complaint, 1.5),
    ("wrongly", Complaint, 2.0),
    ("review", Complaint, 1.0),
    ("queja", Complaint, 3.0),
    ("reembolso", Complaint, 3.0),
    ("devolución", Complaint, 2.0),
    ("molesto", Complaint, 2.0),
    ("molesta", Complaint, 2.0),
    // support: help with something the caller already has
    ("not working", Support, 3.5),
    ("isn't working", Support, 3.5),
    ("stopped working", Support, 3.5),
    ("doesn't work", Support, 3.5),
    ("won't work", Support, 3.0),
    ("won't turn on", Support, 3.0),
    ("won't let me", Support, 3.0),
    ("can't find", Support, 2.0),
    ("error", Support, 3.0),
    ("errors", Support, 3.0),
    ("invalid", Support, 2.5),
    ("won't load", Support, 3.0),
    ("doesn't load", Support, 3.0),
    ("add my", Support, 2.0),
    ("glitch", Support, 2.5),
    ("no connection", Support, 3.0),
    ("can't log in", Support, 4.0),
    ("cannot log in", Support, 4.0),
    ("can't login", Support, 4.0),
    ("can't sign in", Support, 4.0),
    ("unable to log in", Support, 4.0),
    ("locked out", Support, 3.5),
    ("log in", Support, 1.5),
    ("login", Support, 2.0),
    ("password", Support, 2.5),
    ("reset", Support, 2.5),
    ("broken", Support, 2.0),
    ("crashes", Support, 2.5),
    ("crashing", Support, 2.5),
    ("bug", Support, 2.0),
    ("my account", Support, 2.5),
    ("app", Support, 1.5),
    ("portal", Support, 2.0),
    ("troubleshoot", Support, 3.0),
    ("technical", Support, 2.0),
    ("set up", Support, 1.5),
    ("install", Support, 1.5),
    ("settings", Support, 2.0),
    ("update my", Support, 3.0),
    ("change my", Support, 2.5),
    ("freeze my", Support, 3.0),
    ("pause my", Support, 3.0),
    ("transfer my", Support, 2.0),
    ("my policy", Support, 2.0),
    ("my claim", Support, 3.0),
    ("the claim", Support, 2.0),
    ("status", Support, 2.5),
    ("where things are", Support, 2.5),
    ("check on", Support, 2.0),
    ("following up on", Support, 2.0),
    ("paperwork", Support, 2.0),
    ("form", Support, 1.5),
    ("forms", Support, 1.5),
    ("superbill", Support, 3.0),
    ("receipt", Support, 2.0),
    ("invoice", Support, 1.5),
    ("statement", Support, 2.0),
    ("records", Support, 2.0),
    ("prescription", Support, 2.0),
    ("refill", Support, 2.5),
    ("points", Support, 1.5),
    ("how do i", Support, 2.0),
    ("don't know how to", Support, 2.5),
    ("won't start", Support, 3.0),
    ("is that normal", Support, 2.5),
    ("side effect", Support, 2.5),
    ("side effects", Support, 2.5),
    ("refilled", Support, 2.5),
    ("pharmacy", Support, 1.5),
    ("update", Support, 1.5),
    ("new insurance", Support, 2.0),
    ("insurance card", Support, 2.0),
    ("how can i", Support, 2.0),
    ("is there a way to", Support, 3.0),
    ("where do i", Support, 2.5),
    ("help me with", Support, 2.0),
    ("help with", Support, 1.0),
    ("i need help", Support, 1.0),
    ("i'm a client", Support, 2.0),
    ("i'm a patient", Support, 2.0),
    ("i'm a member", Support, 2.0),
    ("existing", Support, 1.5),
    ("cancel my membership", Support, 2.0),
    ("cancel my subscription", Support, 2.0),
    ("cancel my account", Support, 2.0),
    ("cancel my policy", Support, 2.0),
    ("no funciona", Support, 3.5),
    ("mi cuenta", Support, 2.5),
    ("contraseña", Support, 2.5),
    // booking: an appointment or reservation for a service the caller has chosen
    ("appointment", Booking, 3.0),
    ("appointments", Booking, 3.0),
    ("book", Booking, 2.5),
    ("booking", Booking, 2.0),
    ("schedule", Booking, 2.5),
    ("reschedule", Booking, 3.5),
    ("move my", Booking, 2.5),
    ("cancel my appointment", Booking, 3.5),
    ("reservation", Booking, 3.0),
    ("reserve", Booking, 2.5),
    ("table for", Booking, 2.5),
    ("a table", Booking, 2.0),
    ("come in", Booking, 1.5),
    ("see me", Booking, 2.5),
    ("get me in", Booking, 2.5),
    ("someone come", Booking, 2.5),
    ("somebody come", Booking, 2.5),
    ("come out", Booking, 2.0),
    ("get in", Booking, 1.0),
    ("see someone", Booking, 2.0),
    ("see the doctor", Booking, 2.5),
    ("see a doctor", Booking, 2.5),
    ("availability", Booking, 1.5),
    ("next available", Booking, 2.5),
    ("openings", Booking, 2.0),
    ("slot", Booking, 1.5),
    ("earliest", Booking, 1.5),
    ("works for me", Booking, 1.0),
    ("cita", Booking, 3.0),
    ("reservar", Booking, 3.0),
    ("reservación", Booking, 3.0),
    ("agendar", Booking, 3.0),
    ("turno", Booking, 2.0),
    // A weekday alone is a weak hint of a booking ("Tuesday at 3 works").
    ("monday", Booking, 0.75),
    ("tuesday", Booking, 0.75),
    ("wednesday", Booking, 0.75),
    ("thursday", Booking, 0.75),
    ("friday", Booking, 0.75),
    ("saturday", Booking, 0.75),
    ("sunday", Booking, 0.75),
    // sales: a purchase in view, warm or cold
    ("buy", Sales, 3.0),
    ("buying", Sales, 3.0),
    ("purchase", Sales, 3.0),
    ("purchasing", Sales, 3.0),
    ("quote", Sales, 3.0),
    ("quotes", Sales, 3.0),
    ("estimate", Sales, 2.0),
    ("price", Sales, 1.5),
    ("prices", Sales, 1.5),
    ("pricing", Sales, 2.0),
    ("how much", Sales, 1.5),
    ("cost", Sales, 1.0),
    ("rates", Sales, 1.5),
    ("interested in", Sales, 2.5),
    ("sign up", Sales, 3.0),
    ("sign me up", Sales, 3.5),
    ("enroll", Sales, 2.5),
    ("upgrade", Sales, 2.5),
    ("financing", Sales, 3.0),
    ("finance", Sales, 2.0),
    ("payment plan", Sales, 2.5),
    ("down payment", Sales, 3.0),
    ("deposit", Sales, 2.0),
    ("pre approved", Sales, 3.5),
    ("preapproved", Sales, 3.5),
    ("mortgage", Sales, 2.0),
    ("budget", Sales, 2.0),
    ("afford", Sales, 1.5),
    ("package", Sales, 2.0),
    ("packages", Sales, 2.0),
    ("plans", Sales, 1.5),
    ("membership", Sales, 0.5),
    ("special", Sales, 1.5),
    ("promotion", Sales, 2.0),
    ("deal", Sales, 1.5),
    ("discount", Sales, 1.5),
    ("contract", Sales, 2.0),
    ("agreement", Sales, 1.5),
    ("let's do it", Sales, 3.0),
    ("lets do it", Sales, 3.0),
    ("move forward", Sales, 2.5),
    ("i'll take", Sales, 1.0),
    ("a membership", Sales, 2.5),
    ("gift", Sales, 1.5),
    ("commit", Sales, 2.0),
    ("get started", Sales, 2.0),
    ("demo", Sales, 2.0),
    ("free trial", Sales, 2.0),
    ("switch", Sales, 1.5),
    ("switching", Sales, 2.0),
    ("lease", Sales, 2.0),
    ("trade in", Sales, 2.5),
    ("test drive", Sales, 3.0),
    ("listing", Sales, 2.5),
    ("make an offer", Sales, 3.0),
    ("licenses", Sales, 2.0),
    ("seats", Sales, 1.5),
    ("per month", Sales, 1.5),
    ("room block", Sales, 3.0),
    ("group rate", Sales, 3.0),
    ("catering", Sales, 2.0),
    ("subscribe", Sales, 2.0),
    ("open an account", Sales, 3.0),
    ("looking to", Sales, 1.5),
    ("want to get", Sales, 1.5),
    ("looking to get", Sales, 2.0),
    ("next step", Sales, 2.0),
    ("want to do this", Sales, 3.0),
    ("thinking about getting", Sales, 2.0),
    ("considering", Sales, 1.5),
    ("comparing", Sales, 2.0),
    ("cheaper", Sales, 1.5),
    ("too expensive", Sales, 2.0),
    ("ballpark", Sales, 2.0),
    ("what you'd charge", Sales, 2.5),
    ("lock in", Sales, 2.5),
    ("browsing", Sales, 2.0),
    ("just looking", Sales, 1.5),
    ("comprar", Sales, 3.0),
    ("precio", Sales, 1.5),
    ("cotización", Sales, 3.0),
    ("presupuesto", Sales, 2.0),
    ("cuánto cuesta", Sales, 2.0),
    // A caller turning down an offer is a (cold) sales call.
    ("not interested", Sales, 3.0),
    ("take me off", Sales, 3.0),
    ("stop calling", Sales, 3.0),
    ("do not call", Sales, 3.0),
    ("don't call", Sales, 2.5),
    // info: questions without a commitment
    ("hours", Info, 2.0),
    ("are you open", Info, 2.5),
    ("open on", Info, 2.0),
    ("do i need an appointment", Info, 4.0),
    ("what it is", Info, 1.5),
    ("is it just", Info, 1.5),
    ("do i have to", Info, 1.5),
    ("want to ask", Info, 2.5),
    ("deadline", Info, 1.5),
    ("requirements", Info, 1.5),
    ("what time", Info, 2.0),
    ("where are you", Info, 3.0),
    ("located", Info, 2.0),
    ("location", Info, 1.5),
    ("directions", Info, 2.0),
    ("do you offer", Info, 3.0),
    ("do you have", Info, 2.0),
    ("do you guys have", Info, 2.5),
    ("do you accept", Info, 2.5),
    ("do you take", Info, 2.0),
    ("do you guys", Info, 1.5),
    ("do you do", Info, 1.5),
    ("is there", Info, 1.0),
    ("are there", Info, 1.0),
    ("can non", Info, 1.5),
    ("just wondering", Info, 3.0),
    ("wondering", Info, 1.5),
    ("just curious", Info, 3.0),
    ("curious", Info, 1.5),
    ("quick question", Info, 3.0),
    ("couple questions", Info, 3.0),
    ("couple quick questions", Info, 3.0),
    ("question about", Info, 2.5),
    ("questions about", Info, 2.5),
    ("just asking", Info, 3.0),
    ("want to know", Info, 1.5),
    ("information", Info, 1.5),
    ("info", Info, 1.5),
    ("parking", Info, 1.5),
    ("wifi", Info, 1.5),
    ("policy on", Info, 2.0),
    ("what's your policy", Info, 2.5),
    ("how does", Info, 2.0),
    ("how long does", Info, 1.5),
    ("difference between", Info, 2.5),
    ("brochure", Info, 2.0),
    ("check with my", Info, 2.0),
    ("think about it", Info, 1.5),
    ("wrong number", Info, 5.0),
    ("horario", Info, 2.5),
    ("aceptan", Info, 2.5),
    ("dirección", Info, 2.0),
    ("pregunta", Info, 2.0),
    ("información", Info, 2.0),
    ("a qué hora", Info, 2.5),
];

/// Cues that carry their own negation: they count even after "not", "don't".
const SELF_NEGATED: &[&str] = &[
    "not interested",
    "not happy",
    "not working",
    "not acceptable",
    "not okay",
    "not ok",
    "not paying",
    "no show",
    "no one showed",
    "no one told me",
    "no connection",
    "no funciona",
    "don't call",
    "do not call",
];

/// `(phrase, intent, weight)` for the agent's words, which mirror the call's purpose.
const AGENT_CUES: &[(&str, Intent, f64)] = &[
    ("sorry to hear", Complaint, 2.0),
    ("i apologize", Complaint, 2.5),
    ("apologize for", Complaint, 2.5),
    ("our apologies", Complaint, 2.5),
    ("i'm so sorry", Complaint, 2.0),
    ("i'm really sorry", Complaint, 2.0),
    ("make this right", Complaint, 3.0),
    ("make it right", Complaint, 3.0),
    ("refund", Complaint, 2.0),
    ("waive", Complaint, 2.0),
    ("waived", Complaint, 2.0),
    ("reverse", Complaint, 1.5),
    ("voucher", Complaint, 1.5),
    ("file a complaint", Complaint, 3.0),
    ("escalate", Complaint, 2.0),
    ("pull up your account", Support, 3.0),
    ("your account", Support, 2.0),
    ("click", Support, 2.5),
    ("tap", Support, 2.5),
    ("settings", Support, 2.0),
    ("log out", Support, 2.5),
    ("restart", Support, 2.5),
    ("refresh", Support, 2.0),
    ("reset link", Support, 3.0),
    ("your claim", Support, 2.5),
    ("your policy", Support, 2.0),
    ("ticket", Support, 2.0),
    ("should work now", Support, 3.0),
    ("on file", Support, 1.5),
    ("book you", Booking, 3.0),
    ("i can book", Booking, 3.0),
    ("you're booked", Booking, 3.0),
    ("have you down for", Booking, 3.0),
    ("i have an opening", Booking, 3.0),
    ("appointment", Booking, 2.0),
    ("reservation", Booking, 2.5),
    ("see you on", Booking, 2.0),
    ("price is", Sales, 2.0),
    ("pricing", Sales, 2.0),
    ("package", Sales, 2.0),
    ("financing", Sales, 2.5),
    ("deposit", Sales, 1.5),
    ("contract", Sales, 2.0),
    ("agreement", Sales, 1.5),
    ("per month", Sales, 2.0),
    ("discount", Sales, 1.5),
    ("quote", Sales, 2.5),
    ("move forward", Sales, 2.5),
    ("get you started", Sales, 2.0),
    ("sign you up", Sales, 3.0),
    ("budget", Sales, 2.0),
    ("timeline", Sales, 2.0),
    ("we're open", Info, 2.5),
    ("our hours", Info, 3.0),
    ("we're located", Info, 2.0),
    ("we do offer", Info, 2.0),
    ("we accept", Info, 2.0),
];

fn index(intent: Intent) -> usize {
    Intent::ALL.iter().position(|i| *i == intent).unwrap_or(0)
}

/// Per-intent scores of the caller's cues, each hit weighted by its turn.
fn caller_scores(caller: &CallerSpeech<'_>) -> [f64; 5] {
    let opening: Vec<usize> = caller
        .turns
        .iter()
        .enumerate()
        .filter(|(_, t)| t.words.len() >= OPENING_MIN_WORDS)
        .map(|(i, _)| i)
        .take(OPENING_TURNS)
        .collect();
    let turn_weight = |at: usize| {
        if opening.contains(&caller.turn_at(at)) {
            OPENING_WEIGHT
        } else {
            1.0
        }
    };
    let mut scores = [0.0; 5];
    for (phrase, intent, weight) in CALLER_CUES {
        let self_negated = SELF_NEGATED.contains(phrase);
        let total: f64 = phrase_positions(&caller.norm, phrase)
            .filter(|&at| self_negated || !is_negated_at(&caller.norm, at))
            .take(MAX_HITS_PER_CUE)
            .map(turn_weight)
            .sum();
        if let Some(score) = scores.get_mut(index(*intent)) {
            *score += weight * total;
        }
    }
    scores
}

/// Per-intent scores of the agent's cues (`agent_norm` is the agent's turns joined).
fn agent_scores(agent_norm: &str) -> [f64; 5] {
    let mut scores = [0.0; 5];
    for (phrase, intent, weight) in AGENT_CUES {
        let hits = count_unnegated(agent_norm, phrase).min(MAX_HITS_PER_CUE);
        if let Some(score) = scores.get_mut(index(*intent)) {
            *score += weight * hits as f64;
        }
    }
    scores
}

/// Which intent wins a tie: the one a human most needs to act on.
const TIE_ORDER: [Intent; 5] = [Complaint, Support, Booking, Sales, Info];

/// Classifies the call; [`Info`] when nobody said anything that matches.
pub(super) fn classify(
    caller: &CallerSpeech<'_>,
    agent_norm: &str,
    sentiment: Sentiment,
) -> Intent {
    let mut scores = caller_scores(caller);
    let complaint = index(Complaint);
    let grievance = scores.get(complaint).is_some_and(|s| *s > 0.0);
    for (score, agent) in scores.iter_mut().zip(agent_scores(agent_norm)) {
        *score += AGENT_WEIGHT * agent;
    }
    if grievance && sentiment.get() < ANGRY {
        if let Some(s) = scores.get_mut(complaint) {
            *s += ANGER_BONUS * -sentiment.get();
        }
    }
    let best = scores.iter().copied().fold(0.0_f64, f64::max);
    if best <= 0.0 {
        return Info;
    }
    TIE_ORDER
        .into_iter()
        .find(|i| {
            scores
                .get(index(*i))
                .is_some_and(|s| (best - s).abs() < 1e-9)
        })
        .unwrap_or(Info)
}

#[cfg(test)]
mod tests {
    use super::super::text::{join_norms, normalize};
    use super::*;

    fn intent_of(caller: &[&str], agent: &[&str], sentiment: f64) -> Intent {
        let agent_norms: Vec<String> = agent.iter().map(|t| normalize(t)).collect();
        classify(
            &CallerSpeech::new(caller.iter().copied()),
            &join_norms(agent_norms.iter().map(String::as_str)),
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
            "The technician never came and nobody called me",
            "I got the wrong order and I'm not paying for it",
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
            "What's the next available slot to see the doctor?",
            "Quisiera una cita para el martes",
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
            "We're pre-approved and want to make an offer on the listing",
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
            "Can you help me with my account",
            "I need to update my insurance on file",
            "Is there a way to add my daughter in the app?",
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
            "Quick question, do you accept Medicaid?",
            "Sorry, wrong number",
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
    fn negated_cues_do_not_count_but_a_refusal_is_a_cold_sale() {
        assert_eq!(
            caller_intent("I don't need a quote, what are your hours"),
            Info
        );
        assert_eq!(
            caller_intent("I'm not interested, take me off your list"),
            Sales
        );
    }

    #[test]
    fn an_angry_cancellation_is_a_complaint_and_a_calm_one_is_support() {
        assert_eq!(
            intent_of(&["cancel my membership, this is a scam"], &[], -0.8),
            Complaint
        );
        assert_eq!(intent_of(&["cancel my membership"], &[], 0.0), Support);
        // Anger without a grievance named is not a complaint.
        assert_eq!(intent_of(&["I can't log in"], &[], -0.8), Support);
    }

    #[test]
    fn the_opening_statement_weighs_double() {
        // "appointment" (booking 3) in the opening outweighs "quote" (sales 3) said later.
        assert_eq!(
            intent_of(
                &["I need an appointment for my dog please", "and a quote"],
                &[],
                0.0
            ),
            Booking
        );
        assert_eq!(
            intent_of(
                &[
                    "Can I get a quote for the big package",
                    "and an appointment"
                ],
                &[],
                0.0
            ),
            Sales
        );
    }

    #[test]
    fn agent_cues_count_less_but_decide_a_terse_call() {
        // A terse caller: the agent's apology and refund make it a complaint.
        assert_eq!(
            intent_of(
                &["yeah", "the order"],
                &["I'm so sorry about that, I'll refund it and make this right"],
                0.0
            ),
            Complaint
        );
        // The caller's clear cue beats a single agent cue.
        assert_eq!(
            intent_of(&["I'd like to book an appointment"], &["our pricing"], 0.0),
            Booking
        );
    }

    #[test]
    fn a_repeated_cue_counts_at_most_twice() {
        assert_eq!(
            caller_intent(
                "refund refund refund refund, but I can't log in and get an error, the app error"
            ),
            Support
        );
    }

    #[test]
    fn cues_map_back_to_their_turns() {
        let caller = CallerSpeech::new(["Hi.", "I want to buy a car today", "ok"]);
        let at = phrase_positions(&caller.norm, "buy").next().unwrap();
        assert_eq!(caller.turn_at(at), 1);
        let at = phrase_positions(&caller.norm, "ok").next().unwrap();
        assert_eq!(caller.turn_at(at), 2);
    }
}
