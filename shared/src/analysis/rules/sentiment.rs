//! Caller sentiment: a small lexicon with negation, intensifiers, contrast, sarcasm and
//! recency, squashed into −1…1.

use super::text::{has_phrase, in_list, tokens, CallerSpeech, BOUNDARY};
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
/// Scale from a mean turn score to the squash's input.
const MEAN_GAIN: f64 = 1.2;
/// Cue turns at which the call's mean counts half: fewer cues, less confidence.
const CONFIDENCE_TURNS: f64 = 1.5;
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
        | "outstanding" | "delighted" | "love" | "loved" | "genial" | "incredible" | "thrilled"
        | "hooked" | "yay" | "woohoo" | "maravilloso" | "encantada" | "encantado" => 2.5,
        "great" | "happy" | "helpful" | "pleased" | "satisfied" | "best" | "brilliant"
        | "lovely" | "glad" | "fabulous" | "superb" | "impressed" | "excited" | "grateful"
        | "relieved" | "perfect" | "perfecto" | "stoked" | "feliz" => 2.0,
        "good" | "nice" | "appreciate" | "appreciated" | "resolved" | "easy" | "bien" | "bueno"
        | "buena" | "cool" | "sweet" | "recommend" | "quick" | "smooth" | "fixed" | "solved"
        | "friendly" | "pleasure" | "enjoy" | "enjoyed" | "relief" | "painless" | "definitely"
        | "excelent" | "fun" | "beautiful" | "gorgeous" | "kind" | ":)" => 1.5,
        "thanks" | "thank" | "gracias" | "merci" | "works" | "worked" | "clear" | "reasonable"
        | "fair" | "helps" | "phew" => 0.6,
        "fine" | "working" | "okay" => 0.2,
        "terrible" | "horrible" | "awful" | "worst" | "hate" | "hated" | "unacceptable"
        | "furious" | "disgusting" | "scam" | "pathetic" | "outrageous" | "fatal"
        | "unbelievable" | "sue" | "suing" | "chargeback" | "livid" => -3.0,
        "angry" | "ridiculous" | "useless" | "rude" | "incompetent" | "molesto" | "molesta"
        | "nightmare" | "lied" | "ripped" | "insane" | "absurd" | "disgusted" | "lawyer"
        | "lawyers" | "bbb" => -2.5,
        "upset" | "frustrated" | "frustrating" | "annoyed" | "annoying" | "disappointed"
        | "disappointing" | "unhappy" | "mad" | "mal" | "malo" | "mala" | "pesimo" | "pésimo"
        | "poor" | "sucks" | "garbage" | "waste" | "unfair" | "scared" | "whatever" | "dispute"
        | "disputing" | "reporting" | "ruined" | "ruins" | ":(" => -2.0,
        "bad" | "wrong" | "broken" | "failed" | "fails" | "confusing" | "confused" | "slow"
        | "late" | "worse" | "complaint" | "ignored" | "overcharged" | "expensive" | "hurts"
        | "painful" | "mistake" | "leaking" | "leak" | "cracked" | "damaged" | "damage"
        | "shaking" | "stressed" | "stressing" | "worried" | "anxious" | "refund" | "joke"
        | "fault" | "lost" | "missing" | "allergic" | "nervous" | "ugh" => -1.5,
        "problem" | "issue" | "waiting" | "waited" | "hold" | "forever" | "error"
        | "unfortunately" | "hesitant" | "confusion" => -0.7,
        "sorry" => -0.3,
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

/// Words that make praise in the same turn read as sarcasm ("love waiting forty minutes").
const WAITING_WORDS: &str =
    "hold waiting waited wait minutes hour hours forever transferred queue busy";

/// Praise that reads as sarcasm when the caller is aggrieved ("Fantastic. Third time this
/// month.", "Wow, super helpful, thanks a lot").
const SARCASTIC_PRAISE: &str =
    "great wonderful perfect fantastic awesome lovely brilliant terrific helpful love stars";

/// Words before praise that mark sarcasm when the caller is aggrieved.
const SARCASM_LEADS: &str = "oh just wow yeah real super so sure";

/// Multi-word cues with their own valence, already holding any negation: threats, brush-offs
/// and the idioms of a let-down caller, and the warm ones of a keen one.
const PHRASES: &[(&str, f64)] = &[
    ("not okay", -2.0),
    ("not ok", -2.0),
    ("not acceptable", -2.5),
    ("not my problem", -1.5),
    ("not paying", -2.0),
    ("money back", -1.5),
    ("expected better", -2.0),
    ("expected a lot better", -2.0),
    ("expected more", -1.5),
    ("you people", -2.0),
    ("do not call", -2.0),
    ("stop calling", -2.0),
    ("take me off", -1.5),
    ("how did you get this number", -2.0),
    ("third time", -1.5),
    ("fourth time", -1.5),
    ("fifth time", -1.5),
    ("again and again", -1.5),
    ("i'll believe it when i see it", -2.5),
    ("do you hear yourself", -2.5),
    ("sure you will", -2.5),
    ("sure you are", -2.5),
    ("yeah right", -2.0),
    ("thanks for nothing", -3.0),
    ("fed up", -2.5),
    ("sick of", -2.0),
    ("can't wait", 2.5),
    ("cannot wait", 2.5),
    ("let's go", 1.5),
    ("let's do it", 1.5),
    ("made my day", 3.0),
    ("no complaints", 1.0),
    // Cancels the "wrong" of a caller who dialled the wrong number: no mood in it.
    ("wrong number", 1.5),
    ("thanks a lot", -0.5),
    ("not bad", 0.8),
];

/// Words after which the clause weighs more ("nice, but slow").
fn is_contrast(word: &str) -> bool {
    matches!(word, "but" | "however" | "though" | "although" | "pero")
}

/// True when `norm` mentions waiting or being on hold.
fn mentions_waiting(norm: &str) -> bool {
    tokens(norm).any(|w| in_list(WAITING_WORDS, w))
}

/// The negative part of a turn's plain reading (no sarcasm): how aggrieved it sounds.
fn grievance(norm: &str) -> f64 {
    let words: f64 = tokens(norm)
        .filter_map(word_valence)
        .filter(|v| *v < 0.0)
        .sum();
    let phrases: f64 = PHRASES
        .iter()
        .filter(|(p, v)| *v < 0.0 && has_phrase(norm, p))
        .map(|(_, v)| v)
        .sum();
    words + phrases
}

/// A caller this aggrieved (in one of the turns before, or earlier in the same turn) is being
/// sarcastic when they praise in a short clause.
const AGGRIEVED: f64 = -1.4;
/// A turn this positive ends a grievance: later praise is meant.
const RECOVERED: f64 = 1.5;
/// Caller turns looked back on for a grievance.
const AGGRIEVED_LOOKBACK: usize = 3;
/// Phrases of sincere thanks or of a fix: praise next to them is meant.
const SINCERE: &[&str] = &[
    "thank you",
    "thank you so much",
    "thanks so much",
    "thank you very much",
    "appreciate",
    "fixed",
    "solved",
    "resolved",
    "works",
    "worked",
    "that helps",
    "makes sense",
];
/// Longest clause, in tokens, that a sarcastic "Fantastic." stands in.
const SHORT_CLAUSE: usize = 3;

/// Scores one turn. `aggrieved` says the caller sounded aggrieved in the turns just before,
/// which, like negativity earlier in this turn or talk of waiting, turns short praise into
/// sarcasm unless the turn also holds sincere thanks or a fix.
fn turn_score(norm: &str, aggrieved: bool) -> f64 {
    let toks: Vec<&str> = tokens(norm).collect();
    let sincere = SINCERE.iter().any(|p| has_phrase(norm, p));
    let mut aggrieved = (aggrieved || mentions_waiting(norm)) && !sincere;
    let mut negativity_so_far = 0.0;
    let mut score: f64 = PHRASES
        .iter()
        .filter(|(p, _)| has_phrase(norm, p))
        .map(|(_, v)| v)
        .sum();
    let mut clause_weight = 1.0;
    let mut clause_start = 0;
    for (i, tok) in toks.iter().copied().enumerate() {
        if tok == BOUNDARY {
            clause_start = i + 1;
            continue;
        }
        if is_contrast(tok) {
            score *= BEFORE_CONTRAST;
            clause_weight = AFTER_CONTRAST;
            continue;
        }
        let Some(base) = word_valence(tok) else {
            continue;
        };
        if base < 0.0 {
            negativity_so_far += base;
            aggrieved |= negativity_so_far <= AGGRIEVED && !sincere;
        }
        let prev = i.checked_sub(1).and_then(|p| toks.get(p)).copied();
        if base > 0.0 && aggrieved && in_list(SARCASTIC_PRAISE, tok) {
            let clause_len = toks
                .get(clause_start..)
                .unwrap_or_default()
                .iter()
                .take_while(|w| **w != BOUNDARY)
                .count();
            let next = toks.get(i + 1).copied();
            let led = prev.is_some_and(|p| in_list(SARCASM_LEADS, p))
                || (tok == "love" && matches!(next, Some("that" | "it" | "how" | "being")));
            if clause_len <= SHORT_CLAUSE || led {
                score += SARCASM * clause_weight;
                continue;
            }
        }
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
    let score = turn_score(&norm, false);
    if score == 0.0 {
        return None;
    }
    Some(squash(score))
}

fn squash(score: f64) -> f64 {
    (score / (score * score + SQUASH).sqrt()).clamp(-1.0, 1.0)
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
    // Talk of waiting makes a caller aggrieved too ("I waited an hour" … "love that for me").
    let grievances: Vec<f64> = caller
        .iter()
        .map(|t| grievance(&t.norm) - if mentions_waiting(&t.norm) { 1.0 } else { 0.0 })
        .collect();
    let mut weighted = 0.0;
    let mut weights = 0.0;
    let mut cue_turns = 0usize;
    // Where the look-back for a grievance starts: a clearly happy turn ends the grievance.
    let mut since = 0;
    for (i, turn) in caller.iter().enumerate() {
        let aggrieved = grievances
            .get(i.saturating_sub(AGGRIEVED_LOOKBACK).max(since)..i)
            .unwrap_or_default()
            .iter()
            .any(|g| *g <= AGGRIEVED);
        let score = turn_score(&turn.norm, aggrieved);
        if score > RECOVERED {
            since = i + 1;
        }
        if score != 0.0 {
            cue_turns += 1;
        }
        let weight = 1.0 + RECENCY_GAIN * position(i);
        weighted += weight * score;
        weights += weight;
    }
    if cue_turns == 0 {
        return Sentiment::NEUTRAL;
    }
    // The mean over the turns that carried a cue, so long calls full of "ok" and account
    // numbers are not diluted to neutral; a call with one cue says less than one with many.
    let cue_share = cue_turns as f64 / n as f64;
    let mean = weighted / (weights * cue_share);
    let confidence = cue_turns as f64 / (cue_turns as f64 + CONFIDENCE_TURNS);
    Sentiment::clamped(squash(mean * confidence * MEAN_GAIN))
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
        assert!(mood(&["That was really helpful, thank you!"]) > 0.3);
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
        assert!(mood(&["ok 👍"]) > 0.2);
        assert!(mood(&["😡😡"]) < -0.4);
        assert!(mood(&["fine :("]) < 0.0);
    }

    #[test]
    fn sarcasm_cues_count_negative() {
        assert!(mood(&["Oh great, I've been transferred again."]) < 0.0);
        assert!(mood(&["My package is lost.", "Just great."]) < 0.0);
        assert!(mood(&["yeah right"]) < 0.0);
        assert!(mood(&["I've been on hold for 40 minutes. Love that."]) < 0.0);
        assert!(mood(&["I waited an hour", "love that for me"]) < 0.0);
        assert!(
            mood(&["I love that color"]) > 0.0,
            "without waiting context love is love"
        );
    }

    #[test]
    fn short_praise_after_a_grievance_is_sarcasm() {
        // "Fantastic." two turns after the grievance, with a name in between.
        let sarcastic = mood(&[
            "My delivery is wrong again and my kid is allergic, this is ridiculous.",
            "Dwayne Ellis.",
            "Fantastic. Five stars.",
        ]);
        assert!(sarcastic < -0.3, "{sarcastic}");
        assert!(
            mood(&[
                "The roof is leaking again, terrible.",
                "Wow, super helpful, thanks a lot."
            ]) < -0.3
        );
        assert!(mood(&["Sure you will."]) < 0.0);
        // The same words without a grievance before are praise.
        assert!(mood(&["Fantastic. Five stars."]) > 0.3);
    }

    #[test]
    fn sincere_thanks_after_anger_is_not_sarcasm() {
        let relieved = mood(&[
            "I'm so frustrated, this is ridiculous, nothing works.",
            "OK... it came. I'm in.",
            "Perfect, thank you so much, that fixed it.",
        ]);
        assert!(relieved > 0.0, "{relieved}");
    }

    #[test]
    fn a_wrong_number_has_no_mood() {
        assert!(mood(&["oh my god. sorry. sorry man. wrong number."]).abs() < 0.2);
    }

    #[test]
    fn threats_and_brush_offs_are_negative() {
        assert!(mood(&["If this isn't fixed I'm calling my lawyer and the BBB."]) < -0.3);
        assert!(mood(&["No. Do not call. Take this number off."]) < -0.2);
        assert!(mood(&["I expected a lot better for that price."]) < 0.0);
    }

    #[test]
    fn spanish_words_count() {
        assert!(mood(&["Perfecto, muchas gracias"]) > 0.3);
        assert!(mood(&["Estoy muy molesto, el servicio es terrible"]) < -0.5);
        assert!(mood(&["todo bien"]) > 0.0);
        assert!(mood(&["muy mal"]) < 0.0);
    }

    #[test]
    fn repeated_words_saturate_inside_the_range() {
        let rant = "terrible ".repeat(500);
        let value = mood(&[&rant]);
        assert!((-1.0..=-0.5).contains(&value), "{value}");
    }
}
