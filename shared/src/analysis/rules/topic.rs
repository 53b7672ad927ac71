//! The call's topic: what the caller named after a cue ("calling about my router", "a quote
//! for a new roof"), or the subject of a fault ("my internet is not working"), else the
//! first concrete noun phrase of the caller's opening with the intent's noun.

use super::dialogue::TurnReading;
use crate::analysis::spoken::Word;
use crate::domain::Intent;

/// Longest topic, in words.
const MAX_TOPIC_WORDS: usize = 6;

/// True when `word` is one of the space-separated words of `list`.
fn in_list(list: &str, word: &str) -> bool {
    list.split_ascii_whitespace().any(|w| w == word)
}

/// True when `words[at..]` starts with the lower-case words of `pattern`, within one clause.
fn words_match(words: &[Word<'_>], at: usize, pattern: &[&str]) -> bool {
    words.get(at..at + pattern.len()).is_some_and(|slice| {
        slice
            .iter()
            .zip(pattern)
            .all(|(w, p)| w.form == p.replace('\'', ""))
            && slice.iter().rev().skip(1).all(|w| !w.clause_end)
    })
}

/// Phrases after which the caller names what the call is about.
const TOPIC_CUES: &[&[&str]] = &[
    &["calling", "about"],
    &["calling", "regarding"],
    &["call", "about"],
    &["interested", "in"],
    &["looking", "for"],
    &["question", "about"],
    &["questions", "about"],
    &["asking", "about"],
    &["inquiring", "about"],
    &["enquiring", "about"],
    &["information", "about"],
    &["information", "on"],
    &["info", "on"],
    &["info", "about"],
    &["problem", "with"],
    &["problems", "with"],
    &["issue", "with"],
    &["issues", "with"],
    &["trouble", "with"],
    &["help", "with"],
    &["complaint", "about"],
    &["quote", "for"],
    &["quote", "on"],
    &["price", "of"],
    &["pricing", "for"],
    &["pricing", "on"],
    &["to", "book"],
    &["to", "schedule"],
    &["to", "reschedule"],
    &["to", "buy"],
    &["to", "purchase"],
    &["cancel"],
];

/// Phrases after which the thing the caller needs help with was named just before
/// ("my router is not working").
const TRAILING_TOPIC_CUES: &[&[&str]] = &[
    &["is", "not", "working"],
    &["isn't", "working"],
    &["stopped", "working"],
    &["doesn't", "work"],
    &["won't", "work"],
    &["won't", "turn", "on"],
    &["keeps", "crashing"],
    &["is", "broken"],
];

/// Longest subject before a trailing cue, in words.
const MAX_SUBJECT_WORDS: usize = 4;

const TOPIC_STOP_WORDS: &str =
    "and but because so since if when please which who that i im id ill im we you he she \
    they it its is are was were do does did can could would will should to for at on in \
    from with by today tomorrow tonight asap now right thanks thank okay ok yes yeah no hi \
    hello or than then as just also too really there here next this before after until where \
    how what why";

/// Words that end a topic phrase: the request is over once the caller moves on.
fn ends_topic(lower: &str) -> bool {
    in_list(TOPIC_STOP_WORDS, lower)
}

/// Hesitations skipped inside a topic.
const FILLERS: &str = "um uh er erm uhm hmm like";

/// Words that may not end a topic ("a quote for the").
const DANGLING: &str = "a an the my your our some of about any new";

fn topic_at(words: &[Word<'_>], start: usize) -> Option<String> {
    let mut parts: Vec<&str> = Vec::with_capacity(MAX_TOPIC_WORDS);
    for word in words.get(start..)?.iter() {
        let lower = word.form.as_str();
        if parts.len() == MAX_TOPIC_WORDS || ends_topic(lower) || word.raw.contains('@') {
            break;
        }
        if !in_list(FILLERS, lower) {
            parts.push(word.raw);
        }
        if word.clause_end {
            break;
        }
    }
    while parts
        .last()
        .is_some_and(|w| in_list(DANGLING, &w.to_lowercase()))
    {
        parts.pop();
    }
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// The topic after the cue at `at`, unless the cue ends a clause ("interested in, uh").
fn topic_after_cue(words: &[Word<'_>], at: usize) -> Option<String> {
    TOPIC_CUES
        .iter()
        .filter(|cue| words_match(words, at, cue))
        .find_map(|cue| {
            let start = at + cue.len();
            let cue_closes_clause = start
                .checked_sub(1)
                .and_then(|last| words.get(last))
                .is_none_or(|w| w.clause_end);
            if cue_closes_clause {
                None
            } else {
                topic_at(words, start)
            }
        })
}

/// The subject of a trailing cue at `at` ("my internet" in "so my internet is not
/// working"), read back to the start of the clause.
fn topic_before_cue(words: &[Word<'_>], at: usize) -> Option<String> {
    if !TRAILING_TOPIC_CUES
        .iter()
        .any(|cue| words_match(words, at, cue))
    {
        return None;
    }
    let mut parts: Vec<&str> = Vec::with_capacity(MAX_SUBJECT_WORDS);
    for word in words.get(..at)?.iter().rev() {
        let lower = word.form.as_str();
        let is_subject_word = !word.clause_end && !ends_topic(lower) && !in_list(FILLERS, lower);
        if !is_subject_word || parts.len() == MAX_SUBJECT_WORDS {
            break;
        }
        parts.push(word.raw);
    }
    parts.reverse();
    let all_dangling = parts.iter().all(|w| in_list(DANGLING, &w.to_lowercase()));
    (!all_dangling).then(|| parts.join(" "))
}

/// The topic of the caller's first request that names one.
pub(crate) fn first_topic(caller: &[&TurnReading<'_>]) -> Option<String> {
    caller.iter().find_map(|turn| {
        (0..turn.utterance.words.len()).find_map(|at| {
            topic_after_cue(&turn.utterance.words, at)
                .or_else(|| topic_before_cue(&turn.utterance.words, at))
        })
    })
}

/// Words that introduce the thing a caller talks about ("the listing", "my router").
const DETERMINERS: &str = "the a an my our your this that his her their";

/// Heads that say nothing about the call ("a question", "the morning", "my wife").
const VAGUE_HEADS: &str = "question questions thing things bit lot way time times morning \
    afternoon evening night week weeks month months year years day days call moment minute \
    minutes second reason wife husband son daughter kid kids guy guys people one ones front \
    phone number name email other same first last next little few couple whole kind sort \
    part end problem issue help";

/// Words that end a noun phrase in the opening statement.
const PHRASE_BREAKS: &str = "and or but because so since if when is are was were do does did \
    can could would will should to for at on in from with by of about that which who i we you \
    he she they it just really like um uh";

/// The noun each intent adds to a topic taken from the opening statement.
fn intent_noun(intent: Intent) -> &'static str {
    match intent {
        Intent::Sales => "purchase",
        Intent::Booking => "appointment",
        Intent::Complaint => "complaint",
        Intent::Support => "support",
        Intent::Info => "inquiry",
    }
}

/// A topic when no cue phrase named one: the first concrete noun phrase of the caller's
/// opening turns ("my delivery", "the solar panels") with the intent's noun ("delivery
/// complaint").
pub(crate) fn fallback_topic(caller: &[&TurnReading<'_>], intent: Intent) -> Option<String> {
    let phrase = caller
        .iter()
        .filter(|t| t.utterance.words.len() >= 4)
        .take(2)
        .find_map(|turn| {
            let words = &turn.utterance.words;
            (0..words.len()).find_map(|i| {
                let det = words.get(i)?;
                if det.clause_end || !in_list(DETERMINERS, &det.form) {
                    return None;
                }
                let mut parts: Vec<String> = Vec::new();
                for w in words.get(i + 1..)?.iter().take(3) {
                    let lower = w.form.as_str();
                    let wordlike = lower.chars().all(|c| c.is_alphanumeric() || c == '-')
                        && lower.chars().any(char::is_alphabetic);
                    if !wordlike || in_list(PHRASE_BREAKS, lower) || in_list(FILLERS, lower) {
                        break;
                    }
                    parts.push(lower.to_owned());
                    if w.clause_end {
                        break;
                    }
                }
                let head = parts.last()?;
                (!in_list(VAGUE_HEADS, head) && !in_list(DETERMINERS, head))
                    .then(|| parts.join(" "))
            })
        })?;
    let noun = intent_noun(intent);
    Some(if phrase.split_whitespace().any(|w| w == noun) {
        phrase
    } else {
        format!("{phrase} {noun}")
    })
}
