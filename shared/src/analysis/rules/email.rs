//! The caller's email: literal addresses and the spoken forms ASR writes
//! ("j o h n dot smith at gmail dot com").

use super::text::{word_is, RawWord};
use crate::domain::entities::is_plausible_email;

/// Longest run of words an address may be spoken in; bounds the scan on garbage input.
const MAX_PARTS: usize = 40;

/// What a word contributes to a spoken address.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Part {
    /// "dot", "underscore", "dash"… as the character they stand for.
    Sep(char),
    /// One letter or digit, as in a spelled-out run.
    Letter,
    /// Only digits ("42").
    Digits,
    /// Any other run of address characters ("smith", "gmail.com").
    Word,
    /// Something that cannot be part of an address.
    Other,
}

fn separator(word: &str) -> Option<char> {
    const SEPARATORS: [(&str, char); 8] = [
        ("dot", '.'),
        ("period", '.'),
        ("point", '.'),
        ("punto", '.'),
        ("underscore", '_'),
        ("dash", '-'),
        ("hyphen", '-'),
        ("minus", '-'),
    ];
    SEPARATORS
        .iter()
        .find(|(w, _)| word_is(word, w))
        .map(|(_, c)| *c)
}

/// True for "j-o-h-n": letters spelled out with dashes in between.
fn is_dashed_spelling(word: &str) -> bool {
    word.contains('-')
        && word
            .split('-')
            .all(|p| p.chars().count() == 1 && p.chars().all(|c| c.is_ascii_alphanumeric()))
}

fn classify(word: &str) -> Part {
    if let Some(c) = separator(word) {
        return Part::Sep(c);
    }
    if is_dashed_spelling(word) {
        return Part::Word;
    }
    if !word
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+'))
    {
        return Part::Other;
    }
    if word.chars().count() == 1 {
        return Part::Letter;
    }
    if word.chars().all(|c| c.is_ascii_digit()) {
        return Part::Digits;
    }
    Part::Word
}

/// Words that end an address read backwards from "at" ("my email is john at…").
fn is_lead_in(word: &str) -> bool {
    const LEAD_INS: [&str; 12] = [
        "is", "it's", "its", "email", "e-mail", "address", "mail", "me", "my", "and", "um", "uh",
    ];
    LEAD_INS.iter().any(|w| word_is(word, w))
}

fn push_part(out: &mut String, word: &str, part: Part) {
    match part {
        Part::Sep(c) => out.push(c),
        _ if is_dashed_spelling(word) => {
            out.extend(
                word.chars()
                    .filter(|c| *c != '-')
                    .map(|c| c.to_ascii_lowercase()),
            );
        }
        _ => out.extend(word.chars().map(|c| c.to_ascii_lowercase())),
    }
}

/// The local part spoken before the "at" at `at`, read backwards.
fn local_part(words: &[RawWord<'_>], at: usize) -> Option<String> {
    let mut parts: Vec<(&str, Part)> = Vec::new();
    for word in words.get(..at)?.iter().rev().take(MAX_PARTS) {
        let part = classify(word.text);
        let take = match (parts.last().map(|(_, p)| *p), part) {
            (_, Part::Other) => false,
            (None, Part::Sep(_)) | (Some(Part::Sep(_)), Part::Sep(_)) => false,
            (None, _) => !is_lead_in(word.text),
            (Some(Part::Sep(_)), _) => true,
            (Some(_), Part::Sep(_)) => true,
            (Some(Part::Letter), Part::Letter) => true,
            // "john 42" was said as "john42".
            (Some(Part::Digits), Part::Word) => !is_lead_in(word.text),
            (Some(Part::Digits), Part::Letter) => true,
            _ => false,
        };
        if !take {
            break;
        }
        parts.push((word.text, part));
    }
    // A trailing separator ("… dot at") would give an invalid local part.
    while matches!(parts.last(), Some((_, Part::Sep(_)))) {
        parts.pop();
    }
    if parts.is_empty() {
        return None;
    }
    let mut local = String::new();
    for (word, part) in parts.iter().rev() {
        push_part(&mut local, word, *part);
    }
    Some(local)
}

/// The domain spoken from `start` on ("gmail dot com", "gmail.com"). With `continuing`,
/// the words extend a domain already begun (".com" after a literal "john@gmail").
fn domain_part(words: &[RawWord<'_>], start: usize, continuing: bool) -> Option<String> {
    let mut domain = String::new();
    let mut last: Option<Part> = continuing.then_some(Part::Word);
    let mut pending_sep: Option<char> = None;
    for word in words.get(start..)?.iter().take(MAX_PARTS) {
        let part = classify(word.text);
        match (last, part) {
            (_, Part::Other) => break,
            (None, Part::Sep(_)) => break,
            (Some(Part::Sep(_)), Part::Sep(_)) => break,
            (Some(_), Part::Sep(c)) => pending_sep = Some(c),
            (None, _) | (Some(Part::Sep(_)), _) | (Some(Part::Letter), Part::Letter) => {
                domain.extend(pending_sep.take());
                push_part(&mut domain, word.text, part);
            }
            _ => break,
        }
        last = Some(part);
        // "… gmail dot com. Dash, like a hyphen": a sentence end closes a dotted domain.
        if word.clause_end && domain.contains('.') && !matches!(part, Part::Sep(_)) {
            break;
        }
    }
    (!domain.is_empty()).then_some(domain)
}

/// [`is_plausible_email`] plus what a spoken address needs: ASCII, no empty labels, an
/// alphabetic top-level domain.
pub(super) fn is_strict_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    let tld = domain.rsplit('.').next().unwrap_or("");
    is_plausible_email(email)
        && email.is_ascii()
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !email.contains("..")
        && (2..=24).contains(&tld.len())
        && tld.chars().all(|c| c.is_ascii_alphabetic())
}

/// The last address in the caller's words: later ones are corrections.
pub(super) fn last_email(words: &[RawWord<'_>]) -> Option<String> {
    all_emails(words).pop()
}

/// Every address in `words`, literal or spoken, in order.
pub(super) fn all_emails(words: &[RawWord<'_>]) -> Vec<String> {
    let mut found = Vec::new();
    for (i, word) in words.iter().enumerate() {
        let candidate =
            if word_is(word.text, "at") || word.text == "@" || word_is(word.text, "arroba") {
                local_part(words, i)
                    .zip(domain_part(words, i + 1, false))
                    .map(|(l, d)| format!("{l}@{d}"))
            } else if let Some((local, rest)) = word.text.split_once('@') {
                // "john@gmail" followed by "dot com".
                let mut domain = rest.to_owned();
                if !rest.contains('.') {
                    domain.extend(domain_part(words, i + 1, true));
                }
                Some(format!("{local}@{domain}"))
            } else {
                None
            };
        if let Some(email) = candidate
            .map(|e| e.to_lowercase())
            .filter(|e| is_strict_email(e))
        {
            found.push(email);
        }
    }
    found
}

/// True when a text may hold an address: cheap, so agent turns without one are not parsed.
pub(super) fn may_hold_email(text: &str) -> bool {
    text.contains('@') || text.contains(" at ") || text.contains("arroba")
}

#[cfg(test)]
mod tests {
    use super::super::text::raw_words;
    use super::*;

    fn email(text: &str) -> Option<String> {
        last_email(&raw_words(text))
    }

    #[test]
    fn literal_addresses_are_lowercased() {
        assert_eq!(
            email("it's John.Smith@Gmail.com, thanks").as_deref(),
            Some("john.smith@gmail.com")
        );
        assert_eq!(
            email("mail me at dana+leads@example.co.uk.").as_deref(),
            Some("dana+leads@example.co.uk")
        );
    }

    #[test]
    fn spelled_letters_and_dot_words_are_joined() {
        assert_eq!(
            email("my email is j o h n dot smith at gmail dot com").as_deref(),
            Some("john.smith@gmail.com")
        );
        assert_eq!(
            email("J-O-H-N at gmail dot com").as_deref(),
            Some("john@gmail.com")
        );
    }

    #[test]
    fn underscore_dash_and_hyphen_are_spoken_separators() {
        assert_eq!(
            email("maria underscore lopez at yahoo dot com").as_deref(),
            Some("maria_lopez@yahoo.com")
        );
        assert_eq!(
            email("it's ana dash ruiz at mail hyphen box dot org").as_deref(),
            Some("ana-ruiz@mail-box.org")
        );
    }

    #[test]
    fn digits_after_a_name_join_it() {
        assert_eq!(
            email("email is john 42 at outlook dot com").as_deref(),
            Some("john42@outlook.com")
        );
        assert_eq!(
            email("j o e 4 2 at aol dot com").as_deref(),
            Some("joe42@aol.com")
        );
    }

    #[test]
    fn a_literal_local_part_with_a_spoken_domain_is_joined() {
        assert_eq!(
            email("dana@gmail dot com").as_deref(),
            Some("dana@gmail.com")
        );
    }

    #[test]
    fn a_later_correction_wins() {
        assert_eq!(
            email("it's jon at gmail dot com. no, it's j o n n at gmail dot com").as_deref(),
            Some("jonn@gmail.com")
        );
    }

    #[test]
    fn at_without_an_address_is_not_an_email() {
        assert_eq!(email("I'm at home at 5 pm"), None);
        assert_eq!(email("meet at the office dot"), None);
        assert_eq!(email("my email is at gmail dot com"), None);
        assert_eq!(email("jose at café dot com"), None);
        assert_eq!(email("@ @ at at dot dot"), None);
    }

    #[test]
    fn strict_check_wants_an_alphabetic_tld_and_no_empty_labels() {
        assert!(is_strict_email("a@b.io"));
        assert!(!is_strict_email("a@b.c"));
        assert!(!is_strict_email("a@b..com"));
        assert!(!is_strict_email("a.@b.com"));
        assert!(!is_strict_email("a@b.123"));
    }
}
