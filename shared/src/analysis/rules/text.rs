//! Text preparation shared by the rule families.
//!
//! Every caller turn is prepared once per call into two views: a lowercased, clause-marked
//! string for cue matching (`norm`) and case-preserving word slices for entity extraction
//! (`words`). Both only ever cut text at positions returned by `char_indices` or by searches
//! for ASCII characters, so multi-byte characters are never split.

use super::sentiment::emoji_valence;
use crate::domain::{CappedTranscript, Role};

/// Stands for a clause break (`.`, `,`, `!`…) in `norm`; it can never be part of a word.
pub(super) const BOUNDARY: &str = "|";

/// Bracketed ASR annotations longer than this are treated as text, not noise, so that a
/// stray `[` cannot swallow the rest of a turn.
const MAX_NOISE_BYTES: usize = 40;

/// A caller turn in the forms the rules read.
pub(super) struct PreparedTurn<'a> {
    /// Lowercased words and emoji separated by single spaces, with a leading and a trailing
    /// space so that `" word "` searches respect word boundaries; clause punctuation becomes
    /// [`BOUNDARY`].
    pub(super) norm: String,
    /// The words as spoken, original case kept.
    pub(super) words: Vec<RawWord<'a>>,
    /// The agent had just asked for the caller's name, so a bare "Kevin Brown" is one.
    pub(super) answers_name_question: bool,
    /// What the agent said just before and just after this turn about email addresses.
    pub(super) agent: AgentEmailContext,
}

/// The agent's words around a caller turn that bear on the caller's email: agents ask for
/// it, read it back in written form ("so that's kate.doyle88@outlook.com?") and read out
/// addresses on file for the caller to confirm. Nothing else of the agent's is kept.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct AgentEmailContext {
    /// The agent turn before asked for the caller's email.
    pub(super) asked_for_email: bool,
    /// Addresses in the agent turn before.
    pub(super) emails_before: Vec<String>,
    /// The agent turn before was a question ("is that still …?").
    pub(super) asked_to_confirm: bool,
    /// Addresses in the agent turn after (a read-back).
    pub(super) emails_after: Vec<String>,
}

/// Agent phrases that ask for the caller's email.
const EMAIL_QUESTIONS: [&str; 15] = [
    "your email",
    "what email",
    "which email",
    "email should",
    "your e-mail",
    "email address",
    "an email",
    "best email",
    "good email",
    "email for",
    "the email",
    "su correo",
    "tu correo",
    "un correo",
    "correo electr",
];

fn contains_ignore_ascii_case(text: &str, needle: &str) -> bool {
    text.as_bytes()
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

fn agent_emails(text: &str) -> Vec<String> {
    if super::email::may_hold_email(text) {
        super::email::all_emails(&raw_words(text))
    } else {
        Vec::new()
    }
}

impl<'a> PreparedTurn<'a> {
    /// Prepares one turn's text.
    pub(super) fn new(text: &'a str, answers_name_question: bool) -> Self {
        Self {
            norm: normalize(text),
            words: raw_words(text),
            answers_name_question,
            agent: AgentEmailContext::default(),
        }
    }
}

/// Agent phrases that ask for the caller's name.
const NAME_QUESTIONS: [&str; 27] = [
    "name and address",
    "name and email",
    "name and number",
    "name and phone",
    "your name",
    "your full name",
    "your first name",
    "your last name",
    "the name or",
    "name on the",
    "name for the",
    "a name for",
    "name please",
    "name?",
    "spell that",
    "who am i speaking",
    "who i'm speaking",
    "who is calling",
    "who's calling",
    "address it to",
    "under what name",
    "whose name",
    "is this",
    "su nombre",
    "tu nombre",
    "se llama",
    "nombre de",
];

/// True when an agent turn asks for the caller's name. Compares ASCII bytes in place, so
/// agent text is never lowercased into a new string.
fn asks_for_name(agent_text: &str) -> bool {
    NAME_QUESTIONS.iter().any(|q| {
        agent_text
            .as_bytes()
            .windows(q.len())
            .any(|w| w.eq_ignore_ascii_case(q.as_bytes()))
    })
}

/// Everything the caller said, prepared once per call.
pub(super) struct CallerSpeech<'a> {
    /// The caller's turns that hold at least one word or emoji, in call order.
    pub(super) turns: Vec<PreparedTurn<'a>>,
    /// Every turn's `norm`, joined with a clause break so that no phrase or negation window
    /// spans two turns. Cue phrases are searched here once per call rather than once per
    /// turn, which keeps 200-turn calls cheap.
    pub(super) norm: String,
    /// Byte offset in `norm` where each turn starts, ascending: maps a cue found in `norm`
    /// back to its turn.
    pub(super) turn_starts: Vec<usize>,
}

impl<'a> CallerSpeech<'a> {
    /// Prepares the caller's turns of a transcript, noting which ones answer an agent's
    /// question for their name. Agent text is read for nothing else.
    pub(super) fn from_transcript(transcript: &'a CappedTranscript) -> Self {
        let mut asked = false;
        let mut before = AgentEmailContext::default();
        let mut turns: Vec<PreparedTurn<'a>> = Vec::new();
        // The caller turn the next agent turn answers (a read-back follows the address).
        let mut awaiting_agent: Option<usize> = None;
        for turn in transcript.turns() {
            match turn.role {
                Role::Agent => {
                    asked = asks_for_name(&turn.text);
                    let emails = agent_emails(&turn.text);
                    if let Some(turn) = awaiting_agent.take().and_then(|i| turns.get_mut(i)) {
                        turn.agent.emails_after.clone_from(&emails);
                    }
                    before = AgentEmailContext {
                        asked_for_email: EMAIL_QUESTIONS
                            .iter()
                            .any(|q| contains_ignore_ascii_case(&turn.text, q)),
                        asked_to_confirm: turn.text.contains('?'),
                        emails_before: emails,
                        emails_after: Vec::new(),
                    };
                }
                Role::Caller => {
                    let mut prepared = PreparedTurn::new(turn.text.as_str(), asked);
                    prepared.agent = std::mem::take(&mut before);
                    awaiting_agent = Some(turns.len());
                    turns.push(prepared);
                    asked = false;
                }
                Role::Other => {}
            }
        }
        Self::from_prepared(turns)
    }

    /// Prepares caller texts that answer no name question.
    #[cfg(test)]
    pub(super) fn new(texts: impl IntoIterator<Item = &'a str>) -> Self {
        Self::build(texts.into_iter().map(|t| (t, false)))
    }

    /// Drops turns without words (`[inaudible]`, `...`) and joins the rest.
    #[cfg(test)]
    fn build(texts: impl IntoIterator<Item = (&'a str, bool)>) -> Self {
        Self::from_prepared(
            texts
                .into_iter()
                .map(|(text, answers)| PreparedTurn::new(text, answers))
                .collect(),
        )
    }

    fn from_prepared(turns: Vec<PreparedTurn<'a>>) -> Self {
        let turns: Vec<PreparedTurn<'a>> = turns
            .into_iter()
            .filter(|t| tokens(&t.norm).any(|tok| tok != BOUNDARY))
            .collect();
        let (norm, turn_starts) = join_norms_with_starts(turns.iter().map(|t| t.norm.as_str()));
        Self {
            turns,
            norm,
            turn_starts,
        }
    }

    /// The index of the turn holding byte `at` of `norm`.
    pub(super) fn turn_at(&self, at: usize) -> usize {
        self.turn_starts
            .partition_point(|&start| start <= at)
            .saturating_sub(1)
    }

    /// True when the caller said nothing readable.
    pub(super) fn is_empty(&self) -> bool {
        self.turns.is_empty()
    }
}

/// Joins `norm` strings into one, a clause break between each.
pub(super) fn join_norms<'n>(norms: impl Iterator<Item = &'n str>) -> String {
    join_norms_with_starts(norms).0
}

/// [`join_norms`], with the byte offset where each part starts.
pub(super) fn join_norms_with_starts<'n>(
    norms: impl Iterator<Item = &'n str>,
) -> (String, Vec<usize>) {
    let mut joined = String::from(" ");
    let mut starts = Vec::new();
    for norm in norms {
        // The space before the part's first word belongs to it: phrase positions point there.
        starts.push(joined.len() - 1);
        joined.push_str(norm.trim_start());
        joined.push_str(BOUNDARY);
        joined.push(' ');
    }
    (joined, starts)
}

/// A word as it appears in the transcript.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct RawWord<'a> {
    /// The word, with leading and trailing `.`, `-`, `'` trimmed.
    pub(super) text: &'a str,
    /// Clause punctuation (`,`, `.`, `?`…) follows the word.
    pub(super) clause_end: bool,
}

/// The end (exclusive, in bytes) of a short `[noise]` annotation starting at `open`.
fn noise_end(text: &str, open: usize) -> Option<usize> {
    // `[` is one byte, so `open + 1` is a char boundary; `]` is ASCII, so is its position.
    let rest = text.get(open + 1..)?;
    let close = rest.find(']')?;
    (close <= MAX_NOISE_BYTES).then_some(open + 1 + close + 1)
}

fn is_clause_punct(c: char) -> bool {
    matches!(c, '.' | ',' | ';' | ':' | '!' | '?' | '¿' | '¡' | '…')
}

fn push_break(out: &mut String) {
    // A dangling apostrophe ("callers' ") is quoting, not a contraction.
    while out.ends_with('\'') {
        out.pop();
    }
    if !out.ends_with(' ') {
        out.push(' ');
    }
}

fn push_token(out: &mut String, token: &str) {
    push_break(out);
    if token == BOUNDARY && out.ends_with("| ") {
        return;
    }
    out.push_str(token);
    out.push(' ');
}

/// Lowercases `text` into the `norm` form described on [`PreparedTurn::norm`].
pub(super) fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    out.push(' ');
    let mut skip_until = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if i < skip_until {
            continue;
        }
        if c == '[' {
            if let Some(end) = noise_end(text, i) {
                skip_until = end;
                push_break(&mut out);
                continue;
            }
        }
        if c.is_alphanumeric() || c == '$' {
            out.extend(c.to_lowercase());
        } else if matches!(c, '\'' | '’' | '‘') {
            if out.chars().next_back().is_some_and(char::is_alphanumeric) {
                out.push('\'');
            } else {
                push_break(&mut out);
            }
        } else if c == ':' && matches!(chars.peek(), Some((_, ')' | '('))) {
            // ASCII emoticons survive as tokens the sentiment lexicon knows.
            let face = if matches!(chars.next(), Some((_, ')'))) {
                ":)"
            } else {
                ":("
            };
            push_token(&mut out, face);
        } else if is_clause_punct(c) {
            push_token(&mut out, BOUNDARY);
        } else if emoji_valence(c).is_some() {
            let mut buf = [0u8; 4];
            push_token(&mut out, c.encode_utf8(&mut buf));
        } else {
            push_break(&mut out);
        }
    }
    push_break(&mut out);
    out
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '\'' | '’' | '-' | '.' | '@' | '_' | '$' | '+')
}

fn trim_word(word: &str) -> &str {
    word.trim_matches(|c| matches!(c, '.' | '-' | '\'' | '’' | '_'))
}

/// Splits `text` into [`RawWord`]s, skipping `[noise]` annotations.
pub(super) fn raw_words(text: &str) -> Vec<RawWord<'_>> {
    let mut words: Vec<RawWord<'_>> = Vec::with_capacity(text.len() / 5 + 1);
    let mut start: Option<usize> = None;
    let mut skip_until = 0;
    let mut prev = ' ';
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if i < skip_until {
            continue;
        }
        let next = chars.peek().map_or(' ', |(_, n)| *n);
        // "$450,000" is one amount, not two words.
        let digit_comma = c == ',' && prev.is_ascii_digit() && next.is_ascii_digit();
        if is_word_char(c) || digit_comma {
            start.get_or_insert(i);
        } else {
            if let Some(s) = start.take() {
                push_word(&mut words, text.get(s..i).unwrap_or(""));
            }
            if is_clause_punct(c) {
                if let Some(last) = words.last_mut() {
                    last.clause_end = true;
                }
            }
            if c == '[' {
                if let Some(end) = noise_end(text, i) {
                    skip_until = end;
                }
            }
        }
        prev = c;
    }
    if let Some(s) = start {
        push_word(&mut words, text.get(s..).unwrap_or(""));
    }
    words
}

fn push_word<'a>(words: &mut Vec<RawWord<'a>>, token: &'a str) {
    let trimmed = trim_word(token);
    // A trailing period is a sentence end ("…my name is Jon."), not part of the word.
    let clause_end = token.trim_end_matches(['-', '\'', '’', '_']).ends_with('.');
    if trimmed.is_empty() {
        if clause_end {
            if let Some(last) = words.last_mut() {
                last.clause_end = true;
            }
        }
        return;
    }
    words.push(RawWord {
        text: trimmed,
        clause_end,
    });
}

/// Splits `norm` into its tokens (words, emoji and [`BOUNDARY`] markers).
pub(super) fn tokens(norm: &str) -> impl DoubleEndedIterator<Item = &str> {
    norm.split(' ').filter(|w| !w.is_empty())
}

/// Byte offsets where `phrase` (lowercase words separated by single spaces) occurs in `norm`
/// as whole words.
pub(super) fn phrase_positions<'a>(
    norm: &'a str,
    phrase: &'a str,
) -> impl Iterator<Item = usize> + 'a {
    let bytes = norm.as_bytes();
    norm.match_indices(phrase)
        .map(|(i, _)| i)
        .filter(move |&i| {
            !phrase.is_empty()
                && i > 0
                && bytes.get(i - 1) == Some(&b' ')
                && bytes.get(i + phrase.len()) == Some(&b' ')
        })
}

/// True when `phrase` occurs in `norm` as whole words.
pub(super) fn has_phrase(norm: &str, phrase: &str) -> bool {
    phrase_positions(norm, phrase).next().is_some()
}

/// Words that cancel a cue a few words later ("not interested in buying"). Narrower than
/// the sentiment negators: "can't" is part of cues like "can't log in".
const CUE_NEGATORS: &str =
    "not never no don't dont doesn't doesnt didn't didnt isn't isnt aren't wasn't won't wont";

/// True when `word` is one of the space-separated words of `list`. Word lists are kept as
/// strings so that they read as prose and stay compact.
pub(super) fn in_list(list: &str, word: &str) -> bool {
    list.split_ascii_whitespace().any(|w| w == word)
}

/// True when one of the three words before byte `at` of `norm`, in the same clause, negates.
pub(super) fn is_negated_at(norm: &str, at: usize) -> bool {
    norm.get(..at).is_some_and(|before| {
        tokens(before)
            .rev()
            .take_while(|w| *w != BOUNDARY)
            .take(3)
            .any(|w| in_list(CUE_NEGATORS, w))
    })
}

/// Occurrences of `phrase` in `norm` that are not negated.
pub(super) fn count_unnegated(norm: &str, phrase: &str) -> usize {
    phrase_positions(norm, phrase)
        .filter(|&i| !is_negated_at(norm, i))
        .count()
}

/// Compares a transcript word with a lowercase ASCII target, ignoring ASCII case and
/// treating a typographic apostrophe as `'`.
pub(super) fn word_is(word: &str, target: &str) -> bool {
    word.len() >= target.len()
        && word
            .chars()
            .map(|c| {
                if c == '’' {
                    '\''
                } else {
                    c.to_ascii_lowercase()
                }
            })
            .eq(target.chars())
}

/// True when `words[at..]` starts with the lowercase words of `pattern`.
pub(super) fn words_match(words: &[RawWord<'_>], at: usize, pattern: &[&str]) -> bool {
    words.get(at..at + pattern.len()).is_some_and(|slice| {
        slice.iter().zip(pattern).all(|(w, p)| word_is(w.text, p))
            && slice.iter().rev().skip(1).all(|w| !w.clause_end)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_lowercases_and_marks_clause_breaks() {
        assert_eq!(normalize("Hi, I'm NOT happy!"), " hi | i'm not happy | ");
        assert_eq!(normalize("Don’t   call"), " don't call ");
    }

    #[test]
    fn normalize_keeps_known_emoji_and_emoticons_as_tokens() {
        assert_eq!(normalize("ok👍thanks :)"), " ok 👍 thanks :) ");
        assert_eq!(normalize("meh 🦀"), " meh ");
    }

    #[test]
    fn normalize_drops_short_bracketed_noise_but_not_a_stray_bracket() {
        assert_eq!(normalize("I want [inaudible] a quote"), " i want a quote ");
        assert_eq!(normalize("a [ b"), " a b ");
    }

    #[test]
    fn normalize_survives_accents_and_multibyte_text() {
        assert_eq!(normalize("José Zoë MÜLLER 😀"), " josé zoë müller 😀 ");
        assert_eq!(normalize("'quoted' callers'"), " quoted callers ");
    }

    #[test]
    fn raw_words_keep_case_emails_amounts_and_clause_ends() {
        let words = raw_words("My name is Jon. Email jon.doe@x.com, budget $450,000 [noise] ok");
        let texts: Vec<&str> = words.iter().map(|w| w.text).collect();
        assert_eq!(
            texts,
            [
                "My",
                "name",
                "is",
                "Jon",
                "Email",
                "jon.doe@x.com",
                "budget",
                "$450,000",
                "ok"
            ]
        );
        assert!(words[3].clause_end);
        assert!(words[5].clause_end);
        assert!(!words[6].clause_end);
    }

    #[test]
    fn caller_speech_drops_wordless_turns_and_joins_the_rest_with_clause_breaks() {
        let speech = CallerSpeech::new(["not", "[inaudible]", "...", "happy 🙂"]);
        assert_eq!(speech.turns.len(), 2);
        assert_eq!(speech.norm, " not | happy 🙂 | ");
        assert!(CallerSpeech::new(["", " [noise] "]).is_empty());
    }

    #[test]
    fn caller_turns_right_after_a_name_question_are_marked() {
        use crate::domain::{Transcript, Turn};
        let transcript = Transcript::new(vec![
            Turn::new(Role::Caller, "hi"),
            Turn::new(Role::Agent, "Sure! May I have YOUR NAME please?"),
            Turn::new(Role::Other, "beep"),
            Turn::new(Role::Caller, "Kevin Brown"),
            Turn::new(Role::Caller, "and I need a quote"),
        ])
        .capped(1_000);
        let speech = CallerSpeech::from_transcript(&transcript);
        let marked: Vec<bool> = speech
            .turns
            .iter()
            .map(|t| t.answers_name_question)
            .collect();
        assert_eq!(marked, [false, true, false]);
        assert!(asks_for_name("who am I speaking with?"));
        assert!(!asks_for_name("what's your order number? 😀"));
    }

    #[test]
    fn phrases_match_whole_words_only() {
        let norm = normalize("I want to book, not a booklet");
        assert!(has_phrase(&norm, "book"));
        assert!(!has_phrase(&norm, "boo"));
        assert!(!has_phrase(&norm, "book not"));
        assert!(!has_phrase(&norm, ""));
    }

    #[test]
    fn negation_cancels_a_cue_within_three_words_of_the_same_clause() {
        assert_eq!(
            count_unnegated(&normalize("I'm not interested in buying"), "interested in"),
            0
        );
        assert_eq!(count_unnegated(&normalize("I don't want to buy"), "buy"), 0);
        assert_eq!(count_unnegated(&normalize("no, I want to buy"), "buy"), 1);
        assert_eq!(
            count_unnegated(&normalize("not sure yet if I will buy"), "buy"),
            1
        );
    }

    #[test]
    fn word_patterns_ignore_case_and_typographic_apostrophes() {
        let words = raw_words("IT’S Jon, my Name is");
        assert!(words_match(&words, 0, &["it's"]));
        assert!(words_match(&words, 2, &["my", "name", "is"]));
        assert!(!words_match(&words, 1, &["jon", "my"]));
        assert!(!words_match(&words, 4, &["is", "x"]));
    }
}
