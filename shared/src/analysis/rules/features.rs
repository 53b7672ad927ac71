//! The second step of the rules analyzer: a call's features, named, for the learned models
//! (`model.rs`) and for `postcall train`, which fits the models on the same features. One
//! function computes them for both, so what is trained is what runs.
//!
//! - `c:` caller words and word pairs (lightly stemmed, numbers as `<num>`), `o:` the same in
//!   the caller's opening (the reason for the call), `e:` words of the caller's last turns
//!   (how the call ends), `a:` the agent's words and pairs.
//! - `lex:{c,o,e,a}:<class>`: cue classes (`lexicon.rs`) per part of the call.
//! - `mood:*`: the caller's mood by structure (`mood.rs`): over the call, at the start and the
//!   end, its extremes, sarcasm, mood shifts.
//! - `len:*`, `has:*`, `q:*`, `lang:*`: how much the caller said, whether they gave a name,
//!   an email, a phone number or an amount, how many questions they asked, the language.

use std::collections::BTreeMap;

use super::dialogue::{Call, TurnReading};
use super::lexicon::{hits, Cue};
use super::mood::{grievance, squash, turn_mood, AGGRIEVED};
use crate::analysis::spoken::Lang;
use crate::domain::Role;

/// What the entity readers found, as features need it.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct EntityFacts {
    pub(crate) name: bool,
    pub(crate) email: bool,
    pub(crate) phone: bool,
}

/// A call's features: name → value, each value in about −1..=1 (binary features are 1).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Features {
    /// Feature name → value; a feature absent is 0.
    pub values: BTreeMap<String, f64>,
}

impl Features {
    fn set(&mut self, name: impl Into<String>, value: f64) {
        if value != 0.0 && value.is_finite() {
            self.values.insert(name.into(), value);
        }
    }

    fn flag(&mut self, name: impl Into<String>) {
        self.values.insert(name.into(), 1.0);
    }
}

/// What a cue class and a mood reading are worth against a word feature. Larger values
/// shrink them less under the models' regularisation; held-out error (`postcall train`) was
/// best at 1 (at 2: intent 0.911 against 0.925, hot F1 0.880 against 0.902).
const CLASS_SCALE: f64 = 1.0;
const MOOD_SCALE: f64 = 1.0;

/// Caller turns that count as the opening: the first ones with at least this many words.
const OPENING_MIN_WORDS: usize = 4;
const OPENING_TURNS: usize = 2;
/// Caller turns that count as the end of the call.
const CLOSING_TURNS: usize = 3;
/// Caller turns looked back on for a grievance when reading sarcasm.
const AGGRIEVED_LOOKBACK: usize = 3;
/// A turn this positive ends a grievance: later praise is meant.
const RECOVERED: f64 = 1.5;
/// The last caller turn weighs this much more than the first.
const RECENCY_GAIN: f64 = 1.5;

/// Questions start with these (in cue form) or end with `?`.
const QUESTION_WORDS: &[&str] = &[
    "what", "whats", "when", "where", "how", "why", "who", "which", "do", "does", "did", "can",
    "could", "is", "are", "would", "will", "que", "cuando", "donde", "como", "cuanto", "cuanta",
    "tienen", "hay", "puedo", "pueden",
];

/// A light stemmer for English feature words: "charges", "charged", "charge" → "charg";
/// "booking", "booked", "books" → "book". Words of four letters or fewer and non-ASCII words
/// stay as they are; a suffix comes off only if three letters remain.
pub(crate) fn stem(word: &str) -> String {
    if word.len() <= 4 || !word.is_ascii() {
        return word.to_owned();
    }
    for suffix in ["ies", "ing", "ed", "es", "s", "e"] {
        let Some(base) = word.strip_suffix(suffix) else {
            continue;
        };
        if base.len() < 3 || (suffix == "s" && base.ends_with('s')) {
            continue;
        }
        return if suffix == "ies" {
            format!("{base}y")
        } else {
            base.to_owned()
        };
    }
    word.to_owned()
}

/// Function words and fillers: alone they say how long a call is, not what it is about, so
/// a word feature made only of them is left out ("o:you", "a:the_it").
const STOPWORDS: &[&str] = &[
    "i", "im", "ive", "id", "ill", "me", "my", "you", "your", "youre", "we", "our", "us", "he",
    "she", "his", "her", "it", "its", "they", "their", "them", "this", "that", "these", "those",
    "a", "an", "the", "and", "or", "but", "so", "of", "to", "in", "on", "at", "for", "with",
    "from", "by", "about", "as", "is", "am", "are", "was", "were", "be", "been", "do", "doe",
    "did", "have", "has", "had", "will", "would", "can", "could", "just", "like", "um", "uh",
    "umm", "uhh", "er", "oh", "ah", "okay", "ok", "yeah", "yes", "right", "well", "then", "there",
    "here", "what", "if", "all", "got", "get", "go", "el", "la", "los", "las", "de", "del", "que",
    "y", "en", "es", "un", "una", "lo", "le", "se", "mi", "su", "por", "con", "para", "este", "eh",
    "pue", "bueno", "si", "no", "not",
];

fn is_stopword(token: &str) -> bool {
    STOPWORDS.contains(&token)
}

/// A turn's feature words, clause by clause: stemmed cue forms, numbers as `<num>`, amounts
/// as `<money>`, addresses as `<email>`, spellings as `<spelled>`.
fn feature_words(turn: &TurnReading<'_>) -> Vec<Vec<String>> {
    let u = &turn.utterance;
    let mut clauses: Vec<Vec<String>> = vec![Vec::new()];
    let mut i = 0;
    let email_words: Vec<(usize, usize)> = turn.emails.iter().map(|e| (e.start, e.end)).collect();
    while let Some(word) = u.words.get(i) {
        let (token, end) = if let Some((_, end)) = email_words.iter().find(|(s, _)| *s == i) {
            ("<email>".to_owned(), *end)
        } else if let Some(run) = u.spelled_at(i) {
            ("<spelled>".to_owned(), run.end)
        } else if let Some(n) = u.number_at(i) {
            let money = word.raw.starts_with('$')
                || u.words.get(n.end).is_some_and(|w| {
                    matches!(
                        w.lower.as_str(),
                        "dollars" | "bucks" | "dolares" | "dólares" | "grand" | "k"
                    )
                });
            (if money { "<money>" } else { "<num>" }.to_owned(), n.end)
        } else if word.is_symbol() {
            (word.lower.clone(), i + 1)
        } else {
            let form = word.form.as_str();
            // A Spanish word feeds the models as its English equivalent.
            let english = (u.lang == Lang::Spanish)
                .then(|| super::glossary::english(form))
                .flatten();
            (stem(english.unwrap_or(form)), i + 1)
        };
        if let Some(clause) = clauses.last_mut() {
            clause.push(token);
        }
        let last = u.words.get(end.saturating_sub(1));
        if last.is_some_and(|w| w.clause_end) {
            clauses.push(Vec::new());
        }
        i = end.max(i + 1);
    }
    clauses.retain(|c| !c.is_empty());
    clauses
}

/// Adds a family of word features (each worth 1), leaving out those made only of function
/// words.
fn add_ngrams(features: &mut Features, prefix: &str, clauses: &[Vec<String>], pairs: bool) {
    for clause in clauses {
        for w in clause.iter().filter(|w| !is_stopword(w)) {
            features.flag(format!("{prefix}:{w}"));
        }
        if pairs {
            for pair in clause.windows(2) {
                if let [a, b] = pair {
                    if !(is_stopword(a) && is_stopword(b)) {
                        features.flag(format!("{prefix}:{a}_{b}"));
                    }
                }
            }
        }
    }
}

fn add_cues(features: &mut Features, prefix: &str, turns: &[&TurnReading<'_>]) {
    let mut counts: BTreeMap<Cue, usize> = BTreeMap::new();
    for turn in turns {
        for hit in hits(&turn.norm) {
            *counts.entry(hit.cue).or_default() += 1;
        }
    }
    for (cue, n) in counts {
        // One hit weighs CLASS_SCALE; more hits count less and less.
        let value = CLASS_SCALE * (1.0 + n as f64).log2().min(3.0);
        features.set(format!("lex:{prefix}:{}", cue.name()), value);
    }
}

fn is_question(turn: &TurnReading<'_>) -> bool {
    turn.utterance.words.iter().any(|w| w.question)
        || turn
            .norm
            .split(' ')
            .find(|w| !w.is_empty())
            .is_some_and(|w| QUESTION_WORDS.contains(&w))
}

/// The caller's mood per turn, with sarcasm read against the turns before (the caller's
/// grievances, the agent's apology).
pub(crate) fn caller_moods(call: &Call<'_>) -> Vec<(usize, super::mood::TurnMood)> {
    let mut moods = Vec::new();
    let mut grievances: Vec<f64> = Vec::new();
    let mut since = 0;
    for (position, turn) in call.turns.iter().enumerate() {
        if turn.role != Role::Caller {
            continue;
        }
        let k = grievances.len();
        let agent_apologised = call
            .agent_before(position)
            .is_some_and(|a| hits(&a.norm).iter().any(|h| h.cue == Cue::Apology));
        let aggrieved = agent_apologised
            || grievances
                .get(k.saturating_sub(AGGRIEVED_LOOKBACK).max(since)..k)
                .unwrap_or_default()
                .iter()
                .any(|g| *g <= AGGRIEVED);
        let mood = turn_mood(&turn.norm, aggrieved);
        if mood.score > RECOVERED {
            since = k + 1;
        }
        let waiting = if super::mood::mentions_waiting(&turn.norm) {
            1.0
        } else {
            0.0
        };
        grievances.push(grievance(&turn.norm) - waiting);
        moods.push((turn.index, mood));
    }
    moods
}

/// The call's mood by the lexicon alone: the recency-weighted mean of the turns that carry a
/// cue, squashed, and shrunk when few turns carry one.
pub(crate) fn lexicon_sentiment(moods: &[(usize, super::mood::TurnMood)]) -> f64 {
    let n = moods.len();
    let mut weighted = 0.0;
    let mut weights = 0.0;
    let mut cue_turns = 0usize;
    for (i, (_, m)) in moods.iter().enumerate() {
        let position = if n > 1 {
            i as f64 / (n - 1) as f64
        } else {
            0.0
        };
        let weight = 1.0 + RECENCY_GAIN * position;
        if m.has_cue {
            cue_turns += 1;
            weighted += weight * m.score;
            weights += weight;
        }
    }
    if cue_turns == 0 || weights == 0.0 {
        return 0.0;
    }
    let mean = weighted / weights;
    let confidence = cue_turns as f64 / (cue_turns as f64 + 1.5);
    squash(mean * confidence * 1.2)
}

/// Every feature of a call.
pub(crate) fn extract(call: &Call<'_>, facts: EntityFacts) -> Features {
    let mut f = Features::default();
    f.flag("bias");
    let caller: Vec<&TurnReading<'_>> = call.caller().collect();
    let agent: Vec<&TurnReading<'_>> = call.agent().collect();
    let opening: Vec<&TurnReading<'_>> = caller
        .iter()
        .copied()
        .filter(|t| t.utterance.words.len() >= OPENING_MIN_WORDS)
        .take(OPENING_TURNS)
        .collect();
    let closing: Vec<&TurnReading<'_>> = caller.iter().rev().take(CLOSING_TURNS).copied().collect();

    let caller_clauses: Vec<Vec<String>> = caller.iter().flat_map(|t| feature_words(t)).collect();
    add_ngrams(&mut f, "c", &caller_clauses, true);
    let opening_clauses: Vec<Vec<String>> = opening.iter().flat_map(|t| feature_words(t)).collect();
    add_ngrams(&mut f, "o", &opening_clauses, true);
    let closing_clauses: Vec<Vec<String>> = closing.iter().flat_map(|t| feature_words(t)).collect();
    add_ngrams(&mut f, "e", &closing_clauses, false);
    let agent_clauses: Vec<Vec<String>> = agent.iter().flat_map(|t| feature_words(t)).collect();
    add_ngrams(&mut f, "a", &agent_clauses, true);

    add_cues(&mut f, "c", &caller);
    add_cues(&mut f, "o", &opening);
    add_cues(&mut f, "e", &closing);
    add_cues(&mut f, "a", &agent);

    let moods = caller_moods(call);
    let squashed: Vec<f64> = moods
        .iter()
        .filter(|(_, m)| m.has_cue)
        .map(|(_, m)| squash(m.score))
        .collect();
    let m = MOOD_SCALE;
    f.set("mood:lexicon", m * lexicon_sentiment(&moods));
    if let (Some(first), Some(last)) = (squashed.first(), squashed.last()) {
        f.set("mood:first", m * first);
        f.set("mood:last", m * last);
        f.set("mood:shift", m * (last - first) / 2.0);
        let end: Vec<f64> = squashed.iter().rev().take(3).copied().collect();
        f.set("mood:end", m * end.iter().sum::<f64>() / end.len() as f64);
        f.set("mood:min", m * squashed.iter().copied().fold(1.0, f64::min));
        f.set(
            "mood:max",
            m * squashed.iter().copied().fold(-1.0, f64::max),
        );
        let share = |p: fn(&f64) -> bool| {
            squashed.iter().filter(|v| p(v)).count() as f64 / caller.len().max(1) as f64
        };
        f.set("mood:positive_share", share(|v| *v > 0.2));
        f.set("mood:negative_share", share(|v| *v < -0.2));
    }
    let sarcastic = moods.iter().filter(|(_, m)| m.sarcasm).count();
    f.set("mood:sarcasm", (1.0 + sarcastic as f64).ln());

    let caller_words: usize = caller.iter().map(|t| t.utterance.words.len()).sum();
    f.set("len:caller_words", (1.0 + caller_words as f64).ln() / 6.0);
    f.set("len:caller_turns", (1.0 + caller.len() as f64).ln() / 4.0);
    f.set("len:agent_turns", (1.0 + agent.len() as f64).ln() / 4.0);
    if caller_words <= 3 {
        f.flag("len:caller_silent");
    } else if caller_words <= 12 {
        f.flag("len:caller_brief");
    }
    let questions = caller.iter().filter(|t| is_question(t)).count();
    f.set(
        "q:caller_share",
        questions as f64 / caller.len().max(1) as f64,
    );
    if opening.first().is_some_and(|t| is_question(t)) {
        f.flag("q:opening");
    }
    if facts.name {
        f.flag("has:name");
    }
    if facts.email {
        f.flag("has:email");
    }
    if facts.phone {
        f.flag("has:phone");
    }
    if caller_clauses.iter().flatten().any(|w| w == "<money>") {
        f.flag("has:money");
    }
    if call.lang == Lang::Spanish {
        f.flag("lang:es");
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Transcript, Turn};

    fn features(turns: &[(Role, &str)]) -> Features {
        let t =
            Transcript::new(turns.iter().map(|(r, x)| Turn::new(*r, *x)).collect()).capped(100_000);
        extract(&Call::read(&t), EntityFacts::default())
    }

    #[test]
    fn stems_merge_word_forms() {
        assert_eq!(stem("charges"), stem("charged"));
        assert_eq!(stem("charge"), "charg");
        assert_eq!(stem("booking"), "book");
        assert_eq!(stem("books"), "book");
        assert_eq!(stem("booked"), "book");
        assert_eq!(stem("appointments"), stem("appointment"));
        assert_eq!(stem("class"), "class");
        assert_eq!(stem("cita"), "cita");
    }

    #[test]
    fn a_call_has_its_words_cues_and_mood() {
        let f = features(&[
            (Role::Agent, "Thanks for calling, how can I help?"),
            (
                Role::Caller,
                "hi i was charged twice for my order and i want a refund",
            ),
            (Role::Agent, "I'm so sorry about that."),
            (Role::Caller, "oh great thanks a lot"),
        ]);
        let v = &f.values;
        assert!(v.contains_key("c:refund") && v.contains_key("o:refund"));
        assert!(v.contains_key("c:charg_twic"), "{v:?}");
        assert!(
            !v.contains_key("o:you") && !v.contains_key("c:and_i"),
            "function words alone"
        );
        assert!(v.contains_key("a:sorry"));
        assert!(v.contains_key("lex:c:grievance") && v.contains_key("lex:a:apology"));
        assert!(v.get("mood:sarcasm").is_some_and(|s| *s > 0.0), "{v:?}");
        assert!(v.get("mood:last").is_some_and(|s| *s < 0.0));
        assert_eq!(v.get("bias"), Some(&1.0));
    }

    #[test]
    fn numbers_and_amounts_are_classes_not_values() {
        let f = features(&[(
            Role::Caller,
            "my budget is four hundred fifty thousand dollars and i have 3 kids",
        )]);
        assert!(f.values.contains_key("c:<money>"));
        assert!(f.values.contains_key("c:<num>"));
        assert!(f.values.contains_key("has:money"));
        assert!(!f.values.keys().any(|k| k.contains("450")));
    }

    #[test]
    fn every_value_is_small_and_finite() {
        let long = "terrible ".repeat(400);
        let f = features(&[(Role::Caller, long.as_str()), (Role::Agent, "ok")]);
        for (k, v) in &f.values {
            assert!(v.is_finite() && v.abs() <= 6.0, "{k} = {v}");
        }
    }
}
