//! What a lower-case word is: a known first name, a surname, an ordinary English word.
//! Speech-to-text output has no capital letters, so this is how the normaliser and the name
//! finder tell "maria gomez" from "surgery notes". Word lists built by
//! `scripts/build-word-lists` (sources and licences in `vocabulary/README.md`).

use std::collections::HashSet;
use std::sync::OnceLock;

const FIRST_NAMES: &str = include_str!("vocabulary/first-names.txt");
const SURNAMES: &str = include_str!("vocabulary/surnames.txt");
const ENGLISH_WORDS: &str = include_str!("vocabulary/english-words.txt");

fn word_set(text: &'static str) -> HashSet<&'static str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect()
}

/// True for a known first name (lower case, as written: "maria", "josé").
pub fn is_first_name(word: &str) -> bool {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| word_set(FIRST_NAMES)).contains(word)
}

/// True for one of the 20 000 most common surnames of the US Census.
pub fn is_surname(word: &str) -> bool {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| word_set(SURNAMES)).contains(word)
}

/// True for an ordinary lower-case English word ("notes", "pizza", "found").
pub fn is_english_word(word: &str) -> bool {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| word_set(ENGLISH_WORDS)).contains(word)
}

/// True for an English word that is not also a first name or a surname: what a lower-case
/// name cannot be.
pub fn is_plain_word(word: &str) -> bool {
    is_english_word(word) && !is_first_name(word) && !is_surname(word)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_words_are_told_apart() {
        assert!(is_first_name("maria") && is_first_name("priya"));
        assert!(is_surname("gomez") && is_surname("brooks"));
        assert!(is_english_word("pizza") && is_english_word("brooks"));
        assert!(is_plain_word("notes") && is_plain_word("found"));
        assert!(!is_plain_word("brooks"), "a surname too");
        assert!(!is_plain_word("okeke"), "no English word");
    }
}
