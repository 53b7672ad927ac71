//! Caller sentiment: a small lexicon with negation, intensifiers, contrast, sarcasm and
//! recency, squashed into −1…1.

use super::text::{in_list, tokens, CallerSpeech, BOUNDARY};
use crate::domain::Sentiment;

/// Words before a lexicon word that flip it.
const NEGATION_WINDOW: usize = 3;
/// A negated word keeps most, not all, of its strength: "not happy" is milder than "unhappy".
const NEGATION_FACTOR: f64 = -0.8;
/// How much an intensifier in the two words before a lexicon word multiplies it.
const INTENSIFIER_FACTOR: f64 = 1.5;
/// Weight of a clause before "but"/"however" and after it.
const BEFORE_CONTRAST: f64 = 0.5;
const AFTER_CONTRAST: f64 = 1.5;
/// One long rant must not outweigh the rest of the call, so each turn is capped.
const MAX_TURN_SCORE: f64 = 5.0;
/// The last caller turn weighs this much more than the first: calls are judged by how
/// they end.
const RECENCY_GAIN: f64 = 1.5;
/// Squashing constant of `x / sqrt(x² + k)`.
const SQUASH: f64 = 12.0;
/// Valence of a sarcastic "oh great".
const SARCASM: f64 = -2.0;

/// Valence of an emoji the lexicon knows; [`super::text::normalize`] keeps exactly these.
pub(super) fn emoji_valence(c: char) -> Option<f64> {
    match c {
        '🙂' | '😀' | '😃' | '😄' | '😊' | '😁' | '👍' | '😍' | '🥰' | '❤' | '🙏' | '🎉' => {
            Some(2.0)
        }
        '😡' | '😠' | '👎' | '🤬' | '😤' | '😞' | '😢' | '😭' | '🙁' | '☹' => {
            Some(-2.0)
        }
        _ => None,
    }
}

/// Valence of a lowercase word (or emoji/emoticon token), if the lexicon knows it.
pub(super) fn word_valence(word: &str) -> Option<f64> {
    let v = match word {
        "excellent" | "excelente" | "fantastic" | "wonderful" | "amazing" | "awesome"
        | "outstanding" | "delighted" | "love" | "loved" | "perfect" | "perfecto" | "genial" => 2.5,
        "great" | "happy" | "helpful" | "pleased" | "satisfied" | "best" | "brilliant"
        | "lovely" | "glad" | "fabulous" | "superb" | "impressed" | "thrilled" | "excited" => 2.0,
        "good" | "nice" | "appreciate" | "appreciated" | "resolved" | "easy" | "bien" | "bueno"
        | "buena" | "cool" | "sweet" | "recommend" | "quick" | "smooth" | "fixed" | "solved"
        | "friendly" | "pleasure" | "enjoy" | "enjoyed" | ":)" => 1.5,
        "thanks" | "thank" | "gracias" | "fine" | "works" | "worked" | "clear" | "reasonable"
        | "fair" => 0.8,
        "working" => 0.3,
        "terrible" | "horrible" | "awful" | "worst" | "hate" | "hated" | "unacceptable"
        | "furious" | "disgusting" | "scam" | "pathetic" | "outrageous" | "fatal" => -3.0,
        "angry" | "ridiculous" | "useless" | "rude" | "incompetent" | "livid" | "molesto"
        | "molesta" | "nightmare" | "lied" | "ripped" => -2.5,
        "upset" | "frustrated" | "frustrating" | "annoyed" | "annoying" | "disappointed"
        | "disappointing" | "unhappy" | "mad" | "mal" | "malo" | "mala" | "pesimo" | "pésimo"
        | "poor" | "sucks" | "garbage" | "waste" | "unfair" | ":(" => -2.0,
        "bad" | "wrong" | "broken" | "failed" | "fails" | "confusing" | "confused" | "slow"
        | "late" | "worse" | "complaint" | "ignored" | "overcharged" | "expensive" | "hurts"
        | "painful" => -1.5,
        "problem" | "issue" | "waiting" | "waited" | "hold" | "forever" | "error" => -0.7,
        _ => {
            let mut chars = word.chars();
            return match (chars.next(), chars.next()) {
                (Some(c), None) => emoji_valence(c),
                _ => None,
            };
        }
    };
    Some(v)
}

/// Words that flip a lexicon word a few words later.
const NEGATORS: &str = "not never no nobody nothing hardly neither nor don't dont doesn't \
    doesnt didn't didnt isn't isnt wasn't wasnt aren't arent weren't won't wont can't cant \
    cannot couldn't wouldn't shouldn't haven't hasn't hadn't ain't nunca tampoco";

/// Words that strengthen the lexicon word right after them.
const INTENSIFIERS: &str = "very really so extremely super totally absolutely incredibly truly \
    completely utterly too muy bastante";

/// Words that make a following "love that" read as sarcasm.
const WAITING_WORDS: &str =
    "hold waiting waited wait minutes hour hours forever transferred again queue busy";

/// Praise that a leading "oh"/"just" turns into sarcasm.
const SARCASTIC_PRAISE: &str =
    "great wonderful perfect fantastic awesome lovely brilliant terrific";

/// Words after which the clause weighs more ("nice, but slow").
fn is_contrast(word: &str) -> bool {
    matches!(word, "but" | "however" | "though" | "although" | "pero")
}

/// True when `norm` mentions waiting or being on hold.
fn mentions_waiting(norm: &str) -> bool {
    tokens(norm).any(|w| in_list(WAITING_WORDS, w))
}

/// Scores one turn. `previous` is the caller's previous turn: waiting mentioned there or here
/// turns a following "love that" into sarcasm.
fn turn_score(norm: &str, previous: Option<&str>) -> f64 {
    let toks: Vec<&str> = tokens(norm).collect();
    let mut score = 0.0;
    let mut clause_weight = 1.0;
    for (i, tok) in toks.iter().copied().enumerate() {
        if is_contrast(tok) {
            score *= BEFORE_CONTRAST;
            clause_weight = AFTER_CONTRAST;
            continue;
        }
        let prev = i.checked_sub(1).and_then(|p| toks.get(p)).copied();
        let next = toks.get(i + 1).copied();
        // Cheap neighbour checks first: this runs for every token.
        let sarcastic = (matches!(prev, Some("oh" | "just")) && in_list(SARCASTIC_PRAISE, tok))
            || (tok == "right" && prev == Some("yeah"))
            || (tok == "love"
                && matches!(next, Some("that" | "it" | "how" | "being"))
                // Checked only on "love that", which is rare, to keep the common path cheap.
                && (mentions_waiting(norm) || previous.is_some_and(mentions_waiting)));
        if sarcastic {
            score += SARCASM * clause_weight;
            continue;
        }
        let Some(base) = word_valence(tok) else {
            continue;
        };
        // Only the current clause: "no, this is great" is not negated.
        let before = toks
            .get(..i)
            .unwrap_or_default()
            .iter()
            .rev()
            .take_while(|w| **w != BOUNDARY && !is_contrast(w))
            .take(NEGATION_WINDOW);
        let mut value = base;
        let mut negated = false;
        let mut intensified = false;
        for (distance, w) in before.enumerate() {
            negated |= in_list(NEGATORS, w);
            intensified |= distance < 2 && in_list(INTENSIFIERS, w);
        }
        if intensified {
            value *= INTENSIFIER_FACTOR;
        }
        if negated {
            value *= NEGATION_FACTOR;
        }
        score += value * clause_weight;
    }
    score.clamp(-MAX_TURN_SCORE, MAX_TURN_SCORE)
}

/// The mood of one utterance in −1..=1, or `None` when it carries no sentiment cue at all
/// (so a trajectory can tell "neutral" from "nothing said"). Used for the caller's sentiment
/// per quarter of the call in the call metrics.
pub(super) fn utterance_sentiment(text: &str) -> Option<f64> {
    let norm = super::text::normalize(text);
    let score = turn_score(&norm, None);
    if score == 0.0 {
        return None;
    }
    Some((score / (score * score + SQUASH).sqrt()).clamp(-1.0, 1.0))
}

/// The caller's mood from their own turns only; neutral when they said nothing.
pub(super) fn caller_sentiment(speech: &CallerSpeech<'_>) -> Sentiment {
    let caller = &speech.turns;
    let n = caller.len();
    if n == 0 {
        return Sentiment::NEUTRAL;
    }
    let position = |i: usize| {
        if n > 1 {
            i as f64 / (n - 1) as f64
        } else {
            0.0
        }
    };
    // Relative weights average 1: recency shifts weight towards the end of the call without
    // making the call as a whole louder.
    let mean_weight = if n > 1 { 1.0 + RECENCY_GAIN / 2.0 } else { 1.0 };
    let mut total = 0.0;
    for (i, turn) in caller.iter().enumerate() {
        let weight = (1.0 + RECENCY_GAIN * position(i)) / mean_weight;
        let previous = i
            .checked_sub(1)
            .and_then(|p| caller.get(p))
            .map(|t| t.norm.as_str());
        total += weight * turn_score(&turn.norm, previous);
    }
    // Normalised by √turns: a long polite call must not saturate at +1 on "thanks" alone.
    let total = total / (n as f64).sqrt();
    Sentiment::clamped(total / (total * total + SQUASH).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mood(caller: &[&str]) -> f64 {
        caller_sentiment(&CallerSpeech::new(caller.iter().copied())).get()
    }

    #[test]
    fn no_caller_text_is_neutral() {
        assert_eq!(mood(&[]), 0.0);
        assert_eq!(mood(&["", "   ", "[inaudible]"]), 0.0);
    }

    #[test]
    fn praise_is_positive_and_anger_negative() {
        assert!(mood(&["That was really helpful, thank you!"]) > 0.5);
        assert!(mood(&["This is terrible and unacceptable."]) < -0.5);
        assert_eq!(mood(&["I need the invoice for March."]), 0.0);
    }

    #[test]
    fn negation_flips_within_a_short_window() {
        assert!(mood(&["I'm not happy with this"]) < 0.0);
        assert!(mood(&["Honestly I'm not unhappy with it"]) > 0.0);
        assert!(mood(&["I'm no longer satisfied"]) < 0.0);
        assert!(mood(&["I don't love it"]) < 0.0);
    }

    #[test]
    fn negation_does_not_cross_a_clause_break() {
        assert!(mood(&["No, that's great"]) > 0.0);
    }

    #[test]
    fn intensifiers_strengthen() {
        assert!(mood(&["I'm extremely happy"]) > mood(&["I'm happy"]));
        assert!(mood(&["this is so bad"]) < mood(&["this is bad"]));
    }

    #[test]
    fn the_clause_after_but_weighs_more() {
        assert!(mood(&["The staff were nice but the wait was terrible"]) < 0.0);
        assert!(mood(&["The wait was terrible, however the staff were wonderful"]) > 0.0);
    }

    #[test]
    fn later_turns_weigh_more_so_angry_then_satisfied_ends_positive() {
        let shift = mood(&[
            "I'm really angry, this is ridiculous",
            "ok",
            "Perfect, that fixed it, thank you so much",
        ]);
        assert!(shift > 0.0, "{shift}");
        let reverse = mood(&[
            "Perfect, that fixed it, thank you so much",
            "ok",
            "I'm really angry, this is ridiculous",
        ]);
        assert!(reverse < 0.0, "{reverse}");
    }

    #[test]
    fn emoji_and_emoticons_count() {
        assert!(mood(&["ok 👍"]) > 0.4);
        assert!(mood(&["😡😡"]) < -0.4);
        assert!(mood(&["fine :("]) < 0.0);
    }

    #[test]
    fn sarcasm_cues_count_negative() {
        assert!(mood(&["Oh great, another transfer."]) < 0.0);
        assert!(mood(&["Just great."]) < 0.0);
        assert!(mood(&["yeah right"]) < 0.0);
        assert!(mood(&["I've been on hold for 40 minutes. Love that."]) < 0.0);
        assert!(mood(&["I waited an hour", "love that for me"]) < 0.0);
        assert!(
            mood(&["I love that color"]) > 0.0,
            "without waiting context love is love"
        );
    }

    #[test]
    fn spanish_words_count() {
        assert!(mood(&["Perfecto, muchas gracias"]) > 0.5);
        assert!(mood(&["Estoy muy molesto, el servicio es terrible"]) < -0.5);
        assert!(mood(&["todo bien"]) > 0.0);
        assert!(mood(&["muy mal"]) < 0.0);
    }

    #[test]
    fn repeated_words_saturate_inside_the_range() {
        let rant = "terrible ".repeat(500);
        let value = mood(&[&rant]);
        assert!((-1.0..=-0.8).contains(&value), "{value}");
    }
}
