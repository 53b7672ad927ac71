//! The caller's name, from the dialogue rather than from capital letters (speech-to-text
//! output has none): the answer to the agent's name question, a self-introduction ("my name
//! is…", "this is…", "it's…", "me llamo…", "soy…"), a voicemail greeting, a spelling
//! ("jenna j e n n a", "o, k, e, k, e"), a correction ("no, it's Jon with no h", "Katherine
//! with a K"), and a name the agent reads out that the caller confirms. Never the agent's own
//! name, a third party ("my wife Jolene", "Dr. Patel"), a company or a common word.
//!
//! Word lists decide what can be a name when nothing else does: first names, surnames and
//! ordinary English words (`spoken::vocabulary`), and the words common in calls
//! (`names/common-words.txt`, built from the development transcripts by
//! `scripts/build-word-lists`).

use std::collections::HashSet;
use std::sync::OnceLock;

use super::dialogue::{cue_form, Call, TurnReading};
use crate::analysis::spoken::names::{respell, spelling_hint, title_case};
use crate::analysis::spoken::{fold, vocabulary, Word};
use crate::domain::Role;

const COMMON_WORDS: &str = include_str!("names/common-words.txt");
const COMMON_WORDS_EXTRA: &str = include_str!("names/common-words-extra.txt");

fn common_words() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| {
        let extra = COMMON_WORDS_EXTRA
            .lines()
            .filter(|l| !l.starts_with('#'))
            .flat_map(str::split_whitespace);
        COMMON_WORDS
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .chain(extra)
            .collect()
    })
}

/// Words that are never (part of) a name: pronouns, articles, prepositions, auxiliaries,
/// fillers, greetings, yes and no, in English and Spanish.
const FUNCTION_WORDS: &[&str] = &[
    "a",
    "an",
    "the",
    "and",
    "or",
    "but",
    "so",
    "of",
    "to",
    "in",
    "on",
    "at",
    "for",
    "with",
    "from",
    "by",
    "about",
    "as",
    "into",
    "i",
    "im",
    "ive",
    "id",
    "ill",
    "me",
    "my",
    "mine",
    "you",
    "your",
    "youre",
    "he",
    "she",
    "his",
    "her",
    "hers",
    "him",
    "it",
    "its",
    "we",
    "our",
    "us",
    "they",
    "their",
    "them",
    "this",
    "that",
    "these",
    "those",
    "is",
    "am",
    "are",
    "was",
    "were",
    "be",
    "been",
    "being",
    "do",
    "does",
    "did",
    "dont",
    "doesnt",
    "didnt",
    "have",
    "has",
    "had",
    "will",
    "would",
    "can",
    "could",
    "should",
    "shall",
    "may",
    "might",
    "must",
    "not",
    "no",
    "yes",
    "yeah",
    "yep",
    "yup",
    "nope",
    "ok",
    "okay",
    "um",
    "uh",
    "umm",
    "uhh",
    "er",
    "erm",
    "hmm",
    "mm",
    "oh",
    "ah",
    "hi",
    "hey",
    "hello",
    "thanks",
    "thank",
    "please",
    "sorry",
    "sure",
    "well",
    "just",
    "like",
    "also",
    "too",
    "very",
    "really",
    "here",
    "there",
    "what",
    "who",
    "whom",
    "whose",
    "which",
    "when",
    "where",
    "why",
    "how",
    "if",
    "then",
    "than",
    "because",
    "calling",
    "call",
    "speaking",
    "again",
    "still",
    "now",
    "today",
    "mister",
    "mr",
    "mrs",
    "ms",
    "miss",
    "sir",
    "maam",
    "madam",
    "dr",
    "doctor",
    "el",
    "la",
    "los",
    "las",
    "de",
    "del",
    "y",
    "o",
    "que",
    "en",
    "es",
    "soy",
    "yo",
    "mi",
    "su",
    "un",
    "una",
    "con",
    "por",
    "para",
    "si",
    "no",
    "hola",
    "gracias",
    "bueno",
    "pues",
    "este",
    "esta",
    "senor",
    "senora",
    "senorita",
    "don",
    "dona",
    "name",
    "names",
    "nombre",
    "apellido",
    "first",
    "last",
    "middle",
    "full",
    "account",
    "under",
    "spelled",
    "spell",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "january",
    "february",
    "march",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "lunes",
    "martes",
    "miercoles",
    "jueves",
    "viernes",
    "sabado",
    "domingo",
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "octubre",
    "noviembre",
    "diciembre",
    "nomas",
    "mira",
    "oye",
    "mire",
    "oiga",
];

/// People other than the caller whose names callers give ("under my wife, Jolene").
const RELATIONS: &[&str] = &[
    "wife",
    "husband",
    "partner",
    "spouse",
    "son",
    "daughter",
    "mom",
    "mother",
    "mum",
    "dad",
    "father",
    "kid",
    "kids",
    "child",
    "baby",
    "brother",
    "sister",
    "boss",
    "friend",
    "neighbor",
    "neighbour",
    "grandma",
    "grandpa",
    "grandmother",
    "grandfather",
    "grandson",
    "granddaughter",
    "fiance",
    "fiancee",
    "girlfriend",
    "boyfriend",
    "tenant",
    "landlord",
    "roommate",
    "doctor",
    "dr",
    "nurse",
    "dentist",
    "patient",
    "dog",
    "cat",
    "pet",
    "puppy",
    "kitten",
    "uncle",
    "aunt",
    "cousin",
    "nephew",
    "niece",
    "colleague",
    "coworker",
    "manager",
    "assistant",
    "technician",
    "tech",
    "agent",
    "rep",
    "lawyer",
    "attorney",
    "client",
    "employee",
    "esposa",
    "esposo",
    "marido",
    "hijo",
    "hija",
    "mama",
    "papa",
    "madre",
    "padre",
    "hermano",
    "hermana",
    "amigo",
    "amiga",
    "doctora",
    "perro",
    "perrita",
    "perrito",
    "gato",
    "abuela",
    "abuelo",
    "novio",
    "novia",
    "jefe",
    "jefa",
    "sobrino",
    "sobrina",
    "tio",
    "tia",
    "suegra",
    "suegro",
    "inquilino",
];

/// Words that start an answer before the name itself ("yeah it's under…", "sure, first name
/// is…"). Read in cue form.
const ANSWER_LEAD_INS: &[&str] = &[
    "sure",
    "yes",
    "yeah",
    "yep",
    "yup",
    "ok",
    "okay",
    "um",
    "uh",
    "umm",
    "uhh",
    "er",
    "eh",
    "oh",
    "hi",
    "hello",
    "its",
    "it",
    "is",
    "this",
    "thats",
    "that",
    "my",
    "name",
    "names",
    "first",
    "full",
    "the",
    "under",
    "im",
    "i",
    "am",
    "be",
    "would",
    "id",
    "so",
    "si",
    "claro",
    "es",
    "soy",
    "me",
    "llamo",
    "mi",
    "nombre",
    "a",
    "de",
    "bueno",
    "pues",
    "este",
    "mm",
    "mhm",
    "certainly",
    "absolutely",
    "of",
    "course",
    "go",
    "ahead",
    "ready",
    "speaking",
    "and",
    "then",
    "right",
    "correct",
    "please",
    "put",
    "con",
    "habla",
    "le",
];

/// Strong self-introductions: the name follows whatever it is.
const STRONG_CUES: &[&[&str]] = &[
    &["my", "name", "is"],
    &["the", "name", "is"],
    &["the", "names"],
    &["my", "names"],
    &["my", "full", "name", "is"],
    &["me", "llamo"],
    &["mi", "nombre", "es"],
    &["you", "have", "reached"],
    &["youve", "reached"],
    &["you", "reached"],
    &["voicemail", "of"],
    &["voicemail", "for"],
    &["mailbox", "of"],
    &["has", "llamado", "a"],
    &["buzon", "de", "voz", "de"],
];

/// Weak self-introductions: the name follows only if it looks like one.
const WEAK_CUES: &[&[&str]] = &[
    &["under"],
    &["this", "is"],
    &["its"],
    &["it", "is"],
    &["its", "me"],
    &["it", "is", "me"],
    &["im"],
    &["i", "am"],
    &["soy"],
    &["habla"],
    &["le", "habla"],
    &["call", "me"],
];

/// Cues after which only part of the name follows.
const FIRST_NAME_CUES: &[&[&str]] = &[&["first", "name", "is"], &["first", "name"]];
const SURNAME_CUES: &[&[&str]] = &[
    &["last", "name", "is"],
    &["last", "name"],
    &["last", "names"],
    &["surname", "is"],
    &["family", "name", "is"],
    &["apellido", "es"],
    &["mi", "apellido"],
];

/// Words after a name that mark it as said of oneself ("jenna calling from", "tom here").
const NAME_CONTEXT_AFTER: &[&str] = &["calling", "here", "speaking", "from", "again", "over"];

/// Replies that confirm what the agent just read out.
const CONFIRMATIONS: &[&str] = &[
    "yes", "yeah", "yep", "yup", "correct", "right", "exactly", "speaking", "si", "thats", "that",
    "mhm", "sure", "it",
];

/// Words that open a correction ("no, it's…", "actually…").
const CORRECTIONS: &[&str] = &[
    "no",
    "actually",
    "sorry",
    "correction",
    "oops",
    "perdon",
    "nope",
];

/// Fillers skipped between a cue and the name ("my name is, um, dorothy").
const FILLERS: &[&str] = &[
    "um", "uh", "umm", "uhh", "er", "erm", "eh", "mm", "este", "pues",
];

/// Agent phrases before a name they read out for the caller to confirm ("am I speaking with
/// Rachel Feingold?", "I have you as Maria Gomez").
const AGENT_READ_BACKS: &[&[&str]] = &[
    &["account", "for"],
    &["your", "name", "is"],
    &["is", "your", "name"],
    &["on", "file", "as"],
    &["have", "you", "down", "as"],
    &["speaking", "with"],
    &["speaking", "to"],
    &["is", "this"],
    &["have", "you", "as"],
    &["is", "that"],
    &["under", "the", "name"],
    &["under", "the", "name", "of"],
    &["account", "holder"],
    &["hablo", "con"],
    &["es", "usted"],
];

/// Agent phrases before the agent's own name ("this is Maya", "my name is Maya").
const AGENT_SELF: &[&[&str]] = &[
    &["this", "is"],
    &["my", "name", "is"],
    &["my", "names"],
    &["im"],
    &["i", "am"],
    &["me", "llamo"],
    &["le", "atiende"],
    &["le", "habla"],
    &["habla"],
    &["soy"],
];

/// How sure a name is: a later one replaces an earlier one only if it is at least as sure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Strength {
    /// Read out by the agent and confirmed.
    Confirmed,
    /// "this is Tom", "it's Jenna".
    Weak,
    /// "my name is…", an answer to the name question, a voicemail greeting.
    Strong,
}

/// Which part of a name a candidate holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// As much of the name as was said.
    Whole,
    /// "first name is Tyler", the answer to "and first?".
    First,
    /// "last name is Brooks", the answer to "and your last name?".
    Surname,
}

/// A name found in one turn.
#[derive(Debug, Clone)]
struct Candidate {
    /// Lower-case words, first name first.
    words: Vec<String>,
    strength: Strength,
    part: Part,
    /// Said after a correction word ("no, it's…", "actually…").
    correction: bool,
    /// The turn's index in the transcript.
    turn: usize,
}

/// The caller's name and the transcript turn it was (last) said in.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct NameFound {
    /// Title case ("Maria Gomez").
    pub(crate) name: String,
    /// The turn's index in the transcript.
    pub(crate) turn: usize,
}

fn is_function_word(w: &str) -> bool {
    FUNCTION_WORDS.contains(&w)
}

fn is_first_name(w: &str) -> bool {
    vocabulary::is_first_name(w)
}

fn is_common(w: &str) -> bool {
    common_words().contains(w)
}

fn is_surname(w: &str) -> bool {
    vocabulary::is_surname(w)
}

/// An ordinary English word ("found", "pizza", "unbelievable"), which in lower-case text is a
/// name only if it is also a known first name or surname.
fn is_english(w: &str) -> bool {
    vocabulary::is_english_word(w)
}

/// The shape of a name word: letters (an apostrophe or hyphen inside), 2 to 20 of them.
fn name_shaped(word: &Word<'_>) -> bool {
    let n = word.lower.chars().count();
    // "o'brien", "d'angelo" are names; "that'd", "we'll" are not.
    let contraction = word.lower.contains('\'')
        && !(word.lower.starts_with("o'") || word.lower.starts_with("d'"));
    !contraction
        && (2..=20).contains(&n)
        && word.lower.chars().next().is_some_and(char::is_alphabetic)
        && word
            .lower
            .chars()
            .all(|c| c.is_alphabetic() || matches!(c, '\'' | '-'))
}

/// A word that may stand in a name: shaped like one, not a function word, a relation or a
/// common word (unless the transcript is cased and the word is capitalised).
fn plain_name_word(word: &Word<'_>, cased: bool) -> bool {
    let form = word.form.as_str();
    name_shaped(word)
        && !is_function_word(form)
        && !RELATIONS.contains(&form)
        && (!is_common(form) || (cased && word.is_capitalised()))
}

/// The turn is written with capitals (a formatting transcriber), so a capital means
/// something; speech-to-text output in lower case says nothing by case.
fn is_cased(turn: &TurnReading<'_>) -> bool {
    let words = &turn.utterance.words;
    words.iter().any(|w| w.raw.chars().any(char::is_uppercase))
        && words.iter().any(|w| {
            w.raw.chars().any(char::is_alphabetic) && !w.raw.chars().any(char::is_uppercase)
        })
}

/// How sure we must be that a word opens a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Context {
    /// After "my name is": any word but a function or common word (a common word that is a
    /// first name, too: "my name is Grace").
    Strong,
    /// The answer to the name question: a known first name, a capitalised word in a cased
    /// transcript, or a short clause of nothing but name-like words ("maria gomez",
    /// "okeke").
    Answer,
    /// After "this is", "it's", "I'm": a known first name, or a capitalised word in a cased
    /// transcript; a first name that is also a common word only before "calling", "from",
    /// a surname or the end of the clause.
    Weak,
}

/// Particles inside a name ("María de la Cruz", "Ludwig van Beethoven").
const PARTICLES: &[&str] = &[
    "de", "del", "la", "las", "los", "van", "von", "der", "den", "da", "das", "do", "dos", "di",
    "el", "al", "bin", "abu", "ibn",
];

/// The index of the first word at or after `start` that is not a filler.
fn skip_fillers(turn: &TurnReading<'_>, start: usize) -> usize {
    let words = &turn.utterance.words;
    let mut at = start;
    while words
        .get(at)
        .is_some_and(|w| FILLERS.contains(&w.form.as_str()))
    {
        at += 1;
    }
    at
}

/// [`read_name`], and when the name ends a clause and the next clause starts with the same
/// first name ("dorothy, dorothy fields"), the fuller reading.
fn read_name_extended(
    turn: &TurnReading<'_>,
    start: usize,
    context: Context,
) -> Option<Vec<String>> {
    let parts = read_name(turn, start, context)?;
    let words = &turn.utterance.words;
    let next = start + parts.len();
    let repeats = words
        .get(next.saturating_sub(1))
        .is_some_and(|w| w.clause_end)
        && words
            .get(next)
            .zip(parts.first())
            .is_some_and(|(w, first)| fold(&w.lower) == fold(first));
    if repeats {
        if let Some(longer) = read_name(turn, next, context).filter(|l| l.len() > parts.len()) {
            return Some(longer);
        }
    }
    Some(parts)
}

/// Reads a name from word `start` of `turn`; `None` when the words there are not one.
fn read_name(turn: &TurnReading<'_>, start: usize, context: Context) -> Option<Vec<String>> {
    let words = &turn.utterance.words;
    let cased = is_cased(turn);
    // Words of an email address ("it's jules underscore ito at…") are not a name.
    let emails = &turn.emails;
    let in_email = |k: usize| emails.iter().any(|e| (e.start..e.end).contains(&k));
    if in_email(start) {
        return None;
    }
    // A spelled name standing alone ("j e n n a"); "C L M 4 4 2" is a reference number.
    if let Some(run) = turn.utterance.spelled_at(start) {
        let has_vowel = run.letters.chars().any(|c| "aeiouy".contains(c));
        let then_digits = turn.utterance.number_at(run.end).is_some();
        return (run.letters.chars().count() >= 2 && has_vowel && !then_digits)
            .then(|| vec![run.letters.clone()]);
    }
    let first = words.get(start)?;
    if !name_shaped(first) {
        return None;
    }
    let form = first.form.as_str();
    if is_function_word(form) || RELATIONS.contains(&form) {
        return None;
    }
    let known = is_first_name(form);
    let capital = cased && first.is_capitalised();
    // In lower-case text an ordinary English word counts as common too ("unbelievable").
    let common = is_common(form) || (!capital && is_english(form) && !is_surname(form));
    // The words of the clause before any spelling of them ("raman r a m a n").
    let clause_end = words
        .get(start..)
        .unwrap_or_default()
        .iter()
        .position(|w| w.clause_end)
        .map_or(words.len(), |p| start + p + 1);
    let spelled_from = turn
        .utterance
        .spelled
        .iter()
        .map(|r| r.start)
        .find(|&s| s > start && s < clause_end)
        .unwrap_or(clause_end);
    let clause_len = spelled_from - start;
    // An unknown first word before a known surname or a word that is no English word
    // ("viktor hale", "anders holm", "anaïs moreau"): a name, however the clause goes on.
    let surname_next = words.get(start + 1).is_some_and(|w| {
        let f = w.form.as_str();
        name_shaped(w)
            && !first.clause_end
            && !is_function_word(f)
            && !is_common(f)
            && (is_surname(f) || !is_english(f))
    });
    let unknown_name = !common && !is_english(form) && surname_next;
    let accepted = match context {
        Context::Strong => !common || known || capital,
        Context::Answer => {
            (known && !(common && !capital && clause_len > 3))
                || capital
                || unknown_name
                || (!common
                    && clause_len <= 4
                    && words
                        .get(start..start + clause_len)
                        .unwrap_or_default()
                        .iter()
                        .all(|w| plain_name_word(w, cased) || w.lower.chars().count() == 1))
        }
        Context::Weak => {
            let next = words.get(start + 1).map(|w| w.form.as_str());
            let name_follows = first.clause_end
                || next.is_none_or(|n| {
                    NAME_CONTEXT_AFTER.contains(&n) || (!is_common(n) && !is_function_word(n))
                });
            (known && (!common || capital || name_follows)) || (capital && !common) || unknown_name
        }
    };
    if !accepted {
        return None;
    }
    let mut parts = vec![first.lower.replace('’', "'")];
    let mut at = start;
    // Four name words at most; particles ("de los", "van der") do not count.
    let name_words = |parts: &[String]| {
        parts
            .iter()
            .filter(|p| !PARTICLES.contains(&cue_form(p).as_str()))
            .count()
    };
    while name_words(&parts) < 4 && !words.get(at).is_some_and(|w| w.clause_end) {
        let Some(next) = words.get(at + 1) else { break };
        if turn.utterance.spelled_at(at + 1).is_some() || in_email(at + 1) {
            break;
        }
        // "marcus marcus bell": a stutter is said once; "walt uh walter": a filler is not.
        if next.lower == words.get(at).map_or("", |w| w.lower.as_str())
            || FILLERS.contains(&next.form.as_str())
        {
            at += 1;
            continue;
        }
        let next_form = next.form.as_str();
        // "walt uh walter kowalczyk": the fuller form of the first name starts the name again.
        if parts.len() == 1
            && is_first_name(next_form)
            && parts
                .first()
                .is_some_and(|p| fold(p) != fold(&next.lower) && same_person(p, &next.lower))
            && next_form.starts_with(&fold(parts.first().map_or("", String::as_str)))
        {
            parts.clear();
            parts.push(next.lower.replace('’', "'"));
            at += 1;
            continue;
        }
        let followed_by_name = |k: usize| {
            words.get(k).is_some_and(|w| {
                plain_name_word(w, cased) && !is_first_name(&w.form) || w.is_capitalised() && cased
            })
        };
        // "robert j sullivan": a middle initial between two name words.
        let initial = next.lower.chars().count() == 1
            && next.lower.chars().all(char::is_alphabetic)
            && followed_by_name(at + 2);
        let name_word_at = |k: usize| {
            words
                .get(k)
                .is_some_and(|w| plain_name_word(w, cased) || (cased && w.is_capitalised()))
        };
        // "de la cruz", "de los angeles", "van der berg": a particle may take another before
        // the name word.
        let particle_at = |k: usize| {
            words
                .get(k)
                .is_some_and(|w| PARTICLES.contains(&w.form.as_str()))
        };
        let particle = PARTICLES.contains(&next_form)
            && (name_word_at(at + 2) || (particle_at(at + 2) && name_word_at(at + 3)));
        // In a cased transcript a lower-case word after a capitalised name is not a name.
        let case_breaks = cased && first.is_capitalised() && !next.is_capitalised() && !particle;
        // In lower-case text a surname is a known one or no English word ("gomez", "okeke";
        // not "found", "pizza").
        let capitalised_in_cased_text = cased && next.is_capitalised();
        let lower_case_word = !capitalised_in_cased_text
            && is_english(next_form)
            && !is_surname(next_form)
            && !particle;
        // "wendell price": a surname that is also a common word, as the last word said.
        let ends_here = next.clause_end || words.get(at + 2).is_none();
        let common_surname = ends_here
            && is_surname(next_form)
            && name_shaped(next)
            && !is_function_word(next_form)
            && !RELATIONS.contains(&next_form);
        if !(plain_name_word(next, cased) || initial || particle || common_surname)
            || case_breaks
            || (lower_case_word && !common_surname)
        {
            break;
        }
        // "brooks tanya brooks": the caller started over with a first name; the name is what
        // follows. "anaïs moreau anaïs has…" is the name and a new sentence.
        let next_lower = next.lower.replace('’', "'");
        if let Some(k) = parts.iter().position(|p| fold(p) == fold(&next_lower)) {
            let restarts = parts
                .get(k + 1)
                .is_some_and(|p| is_first_name(&cue_form(p)));
            if !restarts {
                break;
            }
            parts.drain(..=k);
        }
        // In lower-case text a third word is a name only if it is a known surname
        // ("gabriel santos june", "hollis grant tidewater logistics" are not).
        let after_particle = parts
            .last()
            .is_some_and(|p| PARTICLES.contains(&cue_form(p).as_str()));
        if !cased && parts.len() >= 2 && !particle && !after_particle && !is_surname(next_form) {
            break;
        }
        parts.push(next_lower);
        at += 1;
    }
    // "maria del": a particle ends no name.
    while parts.len() > 1
        && parts
            .last()
            .is_some_and(|p| PARTICLES.contains(&cue_form(p).as_str()))
    {
        parts.pop();
    }
    Some(parts)
}

fn matches_at(turn: &TurnReading<'_>, at: usize, phrase: &[&str]) -> bool {
    let words = &turn.utterance.words;
    phrase.iter().enumerate().all(|(k, p)| {
        words
            .get(at + k)
            .is_some_and(|w| w.form == *p && (k + 1 == phrase.len() || !w.clause_end))
    })
}

/// A relation word (or a possessive) among the three words before `at` in the same clause.
fn owned_by_someone_else(turn: &TurnReading<'_>, at: usize) -> bool {
    let words = &turn.utterance.words;
    (1..=3)
        .filter_map(|k| at.checked_sub(k))
        .map_while(|i| words.get(i).filter(|w| !w.clause_end || i + 1 == at))
        .any(|w| {
            let form = w.form.as_str();
            RELATIONS.contains(&form)
                || (w.lower.ends_with("'s") && form != "its" && form != "lets" && form != "thats")
                || matches!(form, "his" | "her" | "their" | "hers")
        })
}

/// Correction words among the three words before `at`.
fn corrected_before(turn: &TurnReading<'_>, at: usize) -> bool {
    let words = &turn.utterance.words;
    (1..=3)
        .filter_map(|k| at.checked_sub(k))
        .filter_map(|i| words.get(i))
        .any(|w| CORRECTIONS.contains(&w.form.as_str()))
}

/// The agent's own first names, from their self-introductions.
fn agent_names(call: &Call<'_>) -> HashSet<String> {
    let mut names = HashSet::new();
    for turn in call.agent() {
        let words = &turn.utterance.words;
        for i in 0..words.len() {
            for cue in AGENT_SELF {
                if matches_at(turn, i, cue) {
                    if let Some(parts) = read_name(turn, i + cue.len(), Context::Weak) {
                        if let Some(first) = parts.first() {
                            names.insert(fold(first));
                        }
                    }
                }
            }
        }
        // "Maya speaking", "Maya here".
        for pair in words.windows(2) {
            if let [name, after] = pair {
                let a = after.form.as_str();
                if (a == "speaking" || a == "here") && is_first_name(&name.form) {
                    names.insert(fold(&name.lower));
                }
            }
        }
    }
    names
}

fn candidate(
    turn: &TurnReading<'_>,
    words: Vec<String>,
    strength: Strength,
    part: Part,
    at: usize,
) -> Candidate {
    // "kowalczyk, k o w a l c z y k kowalczyk": a word said twice in a row is said once.
    let mut words = words;
    words.dedup_by(|b, a| fold(a) == fold(b));
    Candidate {
        words,
        strength,
        part,
        correction: corrected_before(turn, at),
        turn: turn.index,
    }
}

/// Candidates in one caller turn.
fn candidates_in(
    call: &Call<'_>,
    position: usize,
    turn: &TurnReading<'_>,
    best: Option<&Candidate>,
    agents: &HashSet<String>,
) -> Vec<Candidate> {
    let mut found = Vec::new();
    let words = &turn.utterance.words;
    if let Some(agent) = call.agent_before(position).filter(|a| a.asks.name) {
        // "…and your last name?" asks for a surname only; "and first?" for a first name.
        let asks_last = agent.norm.contains(" last");
        let asks_first = agent.norm.contains(" first");
        let part = match (asks_first, asks_last) {
            (false, true) => Part::Surname,
            (true, false) if !agent.norm.contains(" first name and") => Part::First,
            _ => Part::Whole,
        };
        if let Some(c) = answer(turn, part, agents) {
            found.push(c);
        }
    }
    let cue_sets: [(&[&[&str]], Strength, Part, Context); 4] = [
        (STRONG_CUES, Strength::Strong, Part::Whole, Context::Strong),
        (WEAK_CUES, Strength::Weak, Part::Whole, Context::Weak),
        (
            FIRST_NAME_CUES,
            Strength::Strong,
            Part::First,
            Context::Answer,
        ),
        (
            SURNAME_CUES,
            Strength::Strong,
            Part::Surname,
            Context::Answer,
        ),
    ];
    for i in 0..words.len() {
        for (cues, strength, part, context) in cue_sets {
            // The longest cue at this word wins ("its me" over "its").
            let Some(cue) = cues
                .iter()
                .filter(|c| matches_at(turn, i, c))
                .max_by_key(|c| c.len())
            else {
                continue;
            };
            let cue_end = i + cue.len();
            let after_break = words
                .get(cue_end.saturating_sub(1))
                .is_some_and(|w| w.clause_end);
            // "this is, uh, Tom" reads on; "this is. Tom" after a weak cue does not, except
            // "it's me, Jake".
            let me_cue = cue.last() == Some(&"me");
            if after_break && context == Context::Weak && !me_cue {
                continue;
            }
            if owned_by_someone_else(turn, i) {
                continue;
            }
            let start = skip_fillers(turn, cue_end);
            if let Some(parts) = read_name_extended(turn, start, context) {
                found.push(candidate(turn, parts, strength, part, i));
            }
        }
        // "Grace here", "Tom speaking" at the start of a turn.
        let w = words[i].form.as_str();
        if i <= 2
            && (w == "here" || w == "speaking")
            && i > 0
            && is_first_name(&words[i - 1].form)
            && !is_function_word(&words[i - 1].form)
        {
            found.push(candidate(
                turn,
                vec![words[i - 1].lower.clone()],
                Strength::Weak,
                Part::Whole,
                i - 1,
            ));
        }
    }
    // "No, Andrea" to "señor Andrés", "no p h, Stephen" after "Steven": a correction that
    // opens with a first name resembling the name found or the one the agent just said.
    let agent_said: Vec<String> = call
        .agent_before(position)
        .map(|a| {
            a.utterance
                .words
                .iter()
                .map(|w| w.form.clone())
                .filter(|w| is_first_name(w))
                .collect()
        })
        .unwrap_or_default();
    if words
        .first()
        .is_some_and(|w| CORRECTIONS.contains(&w.form.as_str()))
    {
        let resembles = |w: &str| {
            best.and_then(|b| b.words.first())
                .is_some_and(|f| same_person(f, w))
                || agent_said.iter().any(|a| same_person(a, w))
        };
        if let Some(at) = (1..words.len().min(6)).find(|&k| {
            words.get(k).is_some_and(|w| {
                let form = w.form.as_str();
                name_shaped(w) && is_first_name(form) && !is_function_word(form) && resembles(form)
            })
        }) {
            if let Some(parts) = read_name(turn, at, Context::Weak) {
                let mut c = candidate(turn, parts, Strength::Weak, Part::Whole, at);
                c.correction = true;
                found.push(c);
            }
        }
    }
    // "yes uh rob szymanski s z y m a n s k i" … "i see you rob": a first name and surname
    // the caller says, by whose first name the agent's next turn calls them.
    if let Some(reply) = call
        .turns
        .get(position + 1)
        .filter(|t| t.role == Role::Agent)
    {
        let said = (0..words.len()).find_map(|k| {
            let w = &words[k];
            let form = w.form.as_str();
            let named = is_first_name(form)
                && !is_function_word(form)
                && !agents.contains(&fold(&w.lower))
                && !owned_by_someone_else(turn, k);
            let parts = named
                .then(|| read_name(turn, k, Context::Weak))
                .flatten()
                .filter(|parts| parts.len() >= 2)?;
            addresses_by(reply, form, &parts[1]).then_some((k, parts))
        });
        if let Some((k, parts)) = said {
            found.push(candidate(turn, parts, Strength::Weak, Part::Whole, k));
        }
    }
    // "I'm her son, Tom", "this is his daughter Maria": the caller, named by their relation.
    for i in 0..words.len() {
        let Some(cue) = [&["im"][..], &["i", "am"], &["this", "is"], &["soy"]]
            .into_iter()
            .find(|c| matches_at(turn, i, c))
        else {
            continue;
        };
        let mut k = i + cue.len();
        if words.get(k).is_some_and(|w| {
            matches!(
                w.form.as_str(),
                "her" | "his" | "their" | "the" | "your" | "su" | "el" | "la"
            )
        }) {
            k += 1;
        }
        let is_relation = words
            .get(k)
            .is_some_and(|w| RELATIONS.contains(&w.form.as_str()));
        if is_relation {
            let start = skip_fillers(turn, k + 1);
            if let Some(parts) = read_name_extended(turn, start, Context::Weak) {
                found.push(candidate(turn, parts, Strength::Weak, Part::Whole, start));
            }
        }
    }
    // "hi pete warren hughes here", "hi gavin craig holloway your guy came out": a greeting
    // to the agent by name, then the caller's own first name and surname.
    if position <= 3 {
        let greets = words.first().is_some_and(|w| {
            matches!(w.form.as_str(), "hi" | "hello" | "hey" | "hola" | "morning")
        });
        let agent_named = words
            .get(1)
            .is_some_and(|w| agents.contains(&fold(&w.lower)));
        if greets && agent_named {
            let start = skip_fillers(turn, 2);
            if words.get(start).is_some_and(|w| is_first_name(&w.form)) {
                if let Some(parts) = read_name(turn, start, Context::Weak) {
                    if parts.len() >= 2 {
                        found.push(candidate(turn, parts, Strength::Weak, Part::Whole, start));
                    }
                }
            }
        }
        // "warren hughes here", "declan murphy calling": a full name, then who is speaking.
        for k in 0..words.len().min(6) {
            let Some(parts) = words
                .get(k)
                .filter(|w| is_first_name(&w.form))
                .and_then(|_| read_name(turn, k, Context::Weak))
            else {
                continue;
            };
            let after = words.get(k + parts.len()).map(|w| w.form.as_str());
            let speaking = matches!(after, Some("here" | "calling" | "speaking"));
            if parts.len() >= 2 && speaking && !owned_by_someone_else(turn, k) {
                found.push(candidate(turn, parts, Strength::Weak, Part::Whole, k));
                break;
            }
        }
    }
    // "Hi Simone. Owen Pritchard. My solar app…", "Hi Kim, Doug Farrell over at Akron…": in
    // the caller's first turns of a cased transcript, a clause that is a name, or a name
    // followed by "calling", "from", "here", "over at".
    if position <= 3 && is_cased(turn) {
        let mut k = 0;
        while k < words.len() {
            let clause_start = k == 0 || words.get(k - 1).is_some_and(|w| w.clause_end);
            let first = &words[k];
            if clause_start
                && first.is_capitalised()
                && is_first_name(&first.form)
                && !is_function_word(&first.form)
                && !owned_by_someone_else(turn, k)
            {
                if let Some(parts) = read_name(turn, k, Context::Weak) {
                    let after = k + parts.len();
                    let ends_clause = words.get(after - 1).is_some_and(|w| w.clause_end);
                    let context_after = words
                        .get(after)
                        .is_some_and(|w| NAME_CONTEXT_AFTER.contains(&w.form.as_str()));
                    if parts.len() >= 2 && (ends_clause || context_after) {
                        found.push(candidate(turn, parts, Strength::Weak, Part::Whole, k));
                    }
                }
            }
            k += 1;
        }
    }
    found
}

/// The name given in answer to the agent's question: in each of the first few clauses,
/// lead-ins skipped, then a name; the fullest one wins ("wilson. greg wilson", "the
/// homeowner, tim sanders").
fn answer(turn: &TurnReading<'_>, part: Part, agents: &HashSet<String>) -> Option<Candidate> {
    const CLAUSES: usize = 8;
    let words = &turn.utterance.words;
    let mut best: Option<Candidate> = None;
    let mut start = 0;
    for _ in 0..CLAUSES {
        if start >= words.len() {
            break;
        }
        let len = words
            .get(start..)
            .unwrap_or_default()
            .iter()
            .position(|w| w.clause_end)
            .map_or(words.len() - start, |p| p + 1);
        let skip_lead_ins = |from: usize| {
            (from..start + len).find(|&k| {
                words
                    .get(k)
                    .is_some_and(|w| !ANSWER_LEAD_INS.contains(&w.form.as_str()))
            })
        };
        let mut lead = skip_lead_ins(start);
        // "hi shawna, it's tamara jenkins": the agent's name greeted first is not the answer.
        if let Some(at) = lead {
            if words
                .get(at)
                .is_some_and(|w| agents.contains(&fold(&w.lower)))
            {
                lead = skip_lead_ins(at + 1);
            }
        }
        if let Some(at) = lead {
            if !owned_by_someone_else(turn, at) {
                if let Some(parts) = read_name(turn, at, Context::Answer) {
                    let c = candidate(turn, parts, Strength::Strong, part, at);
                    if best.as_ref().is_none_or(|b| c.words.len() > b.words.len()) {
                        best = Some(c);
                    }
                }
            }
        }
        start += len;
    }
    best
}

/// A name the agent reads out, confirmed by the caller's next turn.
fn confirmed_read_back(call: &Call<'_>, position: usize) -> Option<Candidate> {
    let agent = call.turns.get(position)?;
    let reply = call
        .turns
        .get(position + 1)
        .filter(|t| t.role == Role::Caller)?;
    let confirms = reply
        .utterance
        .words
        .first()
        .is_some_and(|w| CONFIRMATIONS.contains(&w.form.as_str()));
    if agent.role != Role::Agent || !confirms {
        return None;
    }
    let words = &agent.utterance.words;
    (0..words.len()).find_map(|i| {
        AGENT_READ_BACKS
            .iter()
            .filter(|cue| matches_at(agent, i, cue))
            .find_map(|cue| {
                let start = i + cue.len();
                // "Mr. Gomez", "Ms. Rachel Feingold".
                let start = start
                    + usize::from(words.get(start).is_some_and(|w| {
                        matches!(w.form.as_str(), "mr" | "mrs" | "ms" | "miss" | "mister")
                    }));
                let parts = read_name(agent, start, Context::Weak)?;
                Some(candidate(
                    agent,
                    parts,
                    Strength::Confirmed,
                    Part::Whole,
                    start,
                ))
            })
    })
}

/// Spelling hints in a turn ("jon, no h"; "katherine with a k") applied to the name: a hint
/// right after a word of the name, or any hint when the agent just asked about the name or
/// its spelling.
fn apply_hints(turn: &TurnReading<'_>, candidate: &mut Candidate, asked: bool) {
    let words: Vec<String> = turn
        .utterance
        .words
        .iter()
        .map(|w| w.form.clone())
        .collect();
    for i in 0..words.len() {
        let rest: Vec<&str> = words
            .get(i..)
            .unwrap_or_default()
            .iter()
            .map(String::as_str)
            .collect();
        let Some((hint, _)) = spelling_hint(&rest) else {
            continue;
        };
        let before = i.checked_sub(1).and_then(|p| words.get(p));
        let target = candidate
            .words
            .iter()
            .position(|w| Some(&fold(w)) == before)
            .or_else(|| asked.then_some(0));
        if let Some(word) = target.and_then(|t| candidate.words.get_mut(t)) {
            if let Some(respelled) = respell(word, hint) {
                *word = respelled;
            }
        }
    }
}

/// Spelled runs in a turn confirm or correct a word of the name: the word said just before
/// the spelling ("Doyle, D O Y L E"), else the word the spelling resembles ("K A T H E R I
/// N E" for "Catherine"). With `any` (the agent asked for a spelling), a spelling that
/// resembles no word replaces a one-word name's only word.
fn apply_spellings(turn: &TurnReading<'_>, candidate: &mut Candidate) {
    let emails = &turn.emails;
    // "c boyd, C B O Y D, seventy-one at gmail": an email's spelling is not the name's.
    let in_email = |start: usize, end: usize| emails.iter().any(|e| start < e.end && e.start < end);
    for run in turn
        .utterance
        .spelled
        .iter()
        .filter(|r| !in_email(r.start, r.end))
    {
        let said = run
            .start
            .checked_sub(1)
            .and_then(|p| turn.utterance.words.get(p))
            .map(|w| fold(&w.lower));
        let target = candidate
            .words
            .iter()
            .position(|w| Some(fold(w)) == said && same_person(w, &run.letters))
            .or_else(|| {
                candidate
                    .words
                    .iter()
                    .position(|w| same_person(w, &run.letters))
            });
        if let Some(word) = target.and_then(|t| candidate.words.get_mut(t)) {
            let folded = fold(word);
            // "t becker" → "tbecker": an email handle built on the name, not its spelling.
            let handle = folded != run.letters
                && (run.letters.ends_with(&folded) || run.letters.starts_with(&folded));
            // "o'brien" spelled "o apostrophe b r i e n" reads as "brien": a spelling of part
            // of the word (after O', Mc, D') is no correction of it, unless the caller said
            // that shorter word just before spelling it ("not joanne, joan, j o a n").
            let part_of_it = folded != run.letters
                && said.as_deref() != Some(run.letters.as_str())
                && (folded.ends_with(&run.letters) || folded.starts_with(&run.letters));
            if folded != run.letters && !handle && !part_of_it {
                *word = run.letters.clone();
            }
        }
    }
}

/// True when two name words are one person's, said or spelled differently ("Jon"/"John",
/// "Catherine"/"Katherine", "Steven"/"Stephen").
fn same_person(a: &str, b: &str) -> bool {
    let (a, b) = (sound(a), sound(b));
    a == b || strsim::jaro_winkler(&a, &b) >= 0.8
}

/// A name as it sounds, for comparing spellings of one name: no accents, "c" and "k", "ph"
/// and "f", "y" and "i", "z" and "s" alike, doubled letters single ("Catherine", "Kathryn").
fn sound(name: &str) -> String {
    let folded = fold(name).replace("ph", "f");
    let mut out = String::with_capacity(folded.len());
    for c in folded.chars() {
        let c = match c {
            'c' => 'k',
            'y' => 'i',
            'z' => 's',
            other => other,
        };
        if !out.ends_with(c) {
            out.push(c);
        }
    }
    out
}

/// The caller's name across the call.
pub(crate) fn caller_name(call: &Call<'_>) -> Option<NameFound> {
    let agents = agent_names(call);
    let mut best: Option<Candidate> = None;
    for (position, turn) in call.turns.iter().enumerate() {
        let found: Vec<Candidate> = if turn.role == Role::Caller {
            candidates_in(call, position, turn, best.as_ref(), &agents)
        } else {
            confirmed_read_back(call, position).into_iter().collect()
        };
        for mut candidate in found {
            if turn.role == Role::Caller {
                apply_spellings(turn, &mut candidate);
                apply_hints(turn, &mut candidate, true);
            }
            let first = candidate.words.first().map(|w| fold(w)).unwrap_or_default();
            // The agent's own name, said back by the caller ("hi Maya").
            if agents.contains(&first) && candidate.strength < Strength::Strong {
                continue;
            }
            best = Some(merge(best, candidate));
        }
        // Spellings and hints in a later turn keep fixing the name found so far.
        if turn.role == Role::Caller {
            if let Some(b) = best.as_mut() {
                if b.turn != turn.index {
                    let before = b.words.clone();
                    let asked = call
                        .agent_before(position)
                        .is_some_and(|a| a.asks.name || a.asks.spelling || a.asks.question);
                    apply_spellings(turn, b);
                    apply_hints(turn, b, asked);
                    if b.words != before {
                        b.turn = turn.index;
                    }
                }
            }
        }
    }
    if let Some(b) = best.as_mut() {
        add_surname_the_agent_uses(call, b);
        // Merging a name with a later part of it can say a word twice ("rios" + "rios").
        b.words
            .dedup_by(|later, earlier| fold(earlier) == fold(later));
    }
    best.map(|b| NameFound {
        name: title_case(&b.words.join(" ")),
        turn: b.turn,
    })
}

/// Words an agent says right before the name of the person they speak to ("thanks tamsin",
/// "i see you rob", "you're welcome callum").
const ADDRESS_BEFORE: &[&str] = &[
    "thanks",
    "thank",
    "you",
    "hi",
    "hello",
    "hey",
    "okay",
    "ok",
    "sorry",
    "great",
    "perfect",
    "welcome",
    "bye",
    "morning",
    "afternoon",
    "evening",
    "night",
    "gracias",
    "hola",
    "bien",
    "bueno",
    "claro",
    "absolutely",
    "alright",
    "right",
    "sure",
    "well",
    "got",
    "yes",
];

/// True when the agent's turn calls the caller by `first`: after a word one says before a
/// person's name, or on its own (not followed by the `second` word the caller said after it:
/// an agent repeating "willow creek" or "delta dental ppo" names a place or a plan). Never
/// inside an address the agent reads out.
fn addresses_by(reply: &TurnReading<'_>, first: &str, second: &str) -> bool {
    let words = &reply.utterance.words;
    let in_email = |k: usize| reply.emails.iter().any(|e| e.start <= k && k < e.end);
    let second = fold(second);
    words.iter().enumerate().any(|(k, w)| {
        let after_address_word = k
            .checked_sub(1)
            .and_then(|p| words.get(p))
            .is_some_and(|p| ADDRESS_BEFORE.contains(&p.form.as_str()));
        let alone = words.get(k + 1).is_none_or(|n| n.form != second);
        w.form == first && !in_email(k) && (after_address_word || alone)
    })
}

/// Honorifics an agent puts before a caller's surname.
const HONORIFICS: &[&str] = &[
    "mr", "mrs", "ms", "miss", "mister", "missus", "senor", "senora", "senorita", "don", "dona",
];

/// "this is wendell price" … "mister price": a first name found alone gets the word the
/// caller said right after it when the agent calls them by that word with an honorific (a
/// surname that is also an ordinary word, which the name reader leaves out).
fn add_surname_the_agent_uses(call: &Call<'_>, name: &mut Candidate) {
    let [first] = name.words.as_slice() else {
        return;
    };
    let first = fold(first);
    let Some(turn) = call.turns.iter().find(|t| t.index == name.turn) else {
        return;
    };
    let words = &turn.utterance.words;
    let Some(next) = words
        .windows(2)
        .find(|pair| fold(&pair[0].lower) == first && !pair[0].clause_end)
        .map(|pair| &pair[1])
    else {
        return;
    };
    let called_so = call
        .turns
        .iter()
        .filter(|t| t.role == Role::Agent)
        .any(|t| {
            t.utterance.words.windows(2).any(|pair| {
                HONORIFICS.contains(&pair[0].form.as_str()) && pair[1].form == next.form
            })
        });
    if called_so && name_shaped(next) && !is_function_word(&next.form) {
        name.words.push(next.lower.clone());
    }
}

/// The name so far and a new candidate: parts are joined ("Tyler" + surname "Brooks"), the
/// surer reading wins, a later one of equal strength wins (a correction), and a first name
/// said again keeps the surname already known.
fn merge(best: Option<Candidate>, new: Candidate) -> Candidate {
    let Some(old) = best else {
        return new;
    };
    match (old.part, new.part) {
        // "first name is Tyler, last name is Brooks", "Maria." … "and your last name?"
        (Part::First | Part::Whole, Part::Surname) if old.words.len() == 1 => {
            let mut merged = old;
            merged.words.extend(new.words);
            merged.part = Part::Whole;
            merged.turn = new.turn;
            return merged;
        }
        (Part::Whole, Part::Surname) => {
            let mut merged = old;
            if let (Some(last), [surname]) = (merged.words.last_mut(), new.words.as_slice()) {
                last.clone_from(surname);
            }
            merged.turn = new.turn;
            return merged;
        }
        // "last name?" "smith" … "and first?" "jordan".
        (Part::Surname, Part::First | Part::Whole) if new.words.len() == 1 => {
            let mut merged = new;
            merged.words.extend(old.words);
            merged.part = Part::Whole;
            return merged;
        }
        _ => {}
    }
    let resembles = match (new.words.first(), old.words.first()) {
        (Some(a), Some(b)) => same_person(a, b),
        _ => false,
    };
    // "no, it's Hartwell Mutual" after the caller's name: a correction of something else.
    let new = Candidate {
        correction: new.correction && (resembles || old.strength < Strength::Strong),
        ..new
    };
    if new.strength < old.strength && !new.correction {
        // A weaker reading can still add the surname the stronger one lacked.
        let adds_surname = old.words.len() == 1
            && new.words.len() > 1
            && new
                .words
                .first()
                .is_some_and(|f| same_person(f, &old.words[0]));
        if adds_surname {
            let mut merged = old;
            merged.words = new.words;
            return merged;
        }
        return old;
    }
    let same_first = match (new.words.first(), old.words.first()) {
        (Some(a), Some(b)) => same_person(a, b),
        _ => false,
    };
    let mut merged = new;
    // "Jon Petersen" … "sorry, it's Jon, no h": the surname stays.
    if same_first && merged.words.len() < old.words.len() {
        merged
            .words
            .extend(old.words.iter().skip(merged.words.len()).cloned());
    }
    // A different name said later without a correction is someone else's (a spouse, a new
    // user, a colleague), once the caller gave their own as surely.
    if !same_first && !merged.correction && merged.strength <= old.strength {
        return old;
    }
    merged
}

#[cfg(test)]
mod tests;
