//! Letters spelled one by one, in every shape callers and ASR write them: "j e n n a",
//! "J-E-N", "J. O. N.", "o, k, e, k, e", "b as in boy", "d like david", "be de burro",
//! "double n", and letter names ("jay", "kay", "zee", "jota", "hache") inside such a run.

use super::words::Word;

/// Letters spelled over words `start..end` of an utterance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpelledRun {
    /// First word of the spelling.
    pub start: usize,
    /// One past its last word.
    pub end: usize,
    /// The letters, lower case ("jenna").
    pub letters: String,
}

/// A letter's name as ASR writes it, English and Spanish, and whether it is also a common
/// word ("you", "see", "be", "de"). Names are read only inside a run of spelled letters, and
/// a run never starts or ends with an ambiguous one.
fn letter_name(lower: &str) -> Option<(char, bool)> {
    let named = match lower {
        "bee" => ('b', false),
        "be" => ('b', true),
        "cee" => ('c', false),
        "see" | "sea" | "ce" => ('c', true),
        "dee" => ('d', false),
        "de" => ('d', true),
        "eff" | "efe" => ('f', false),
        "ef" => ('f', true),
        "gee" => ('g', false),
        "ge" => ('g', true),
        "aitch" | "hache" => ('h', false),
        "jay" | "jota" => ('j', false),
        "kay" => ('k', false),
        "ka" => ('k', true),
        "ele" => ('l', false),
        "el" => ('l', true),
        "eme" => ('m', false),
        "em" => ('m', true),
        "ene" => ('n', false),
        "en" => ('n', true),
        "oh" => ('o', true),
        "pee" => ('p', false),
        "pe" => ('p', true),
        "queue" | "cue" | "cu" => ('q', true),
        "erre" => ('r', false),
        "ar" | "are" => ('r', true),
        "ess" => ('s', false),
        "es" | "ese" => ('s', true),
        "tee" => ('t', false),
        "tea" | "te" => ('t', true),
        "you" | "yu" => ('u', true),
        "vee" | "uve" => ('v', false),
        "ve" => ('v', true),
        "equis" => ('x', false),
        "ex" => ('x', true),
        "wye" => ('y', false),
        "why" => ('y', true),
        "zee" | "zed" | "zeta" => ('z', false),
        _ => return None,
    };
    Some(named)
}

/// The letter a word names, spelled ("k") or by name ("kay", "zeta"), if any.
pub fn letter_of(lower: &str) -> Option<char> {
    single_letter(lower).or_else(|| letter_name(lower).map(|(c, _)| c))
}

/// The letter of a one-letter word ("j", "K", "é" → 'e').
fn single_letter(lower: &str) -> Option<char> {
    let mut chars = lower.chars();
    let c = chars.next()?;
    (chars.next().is_none() && c.is_alphabetic()).then(|| fold_letter(c))
}

/// A spelled letter without its accent: callers spell "José" as "j o s e".
fn fold_letter(c: char) -> char {
    match c {
        'á' | 'à' | 'â' | 'ä' | 'ã' => 'a',
        'é' | 'è' | 'ê' | 'ë' => 'e',
        'í' | 'ì' | 'î' | 'ï' => 'i',
        'ó' | 'ò' | 'ô' | 'ö' | 'õ' => 'o',
        'ú' | 'ù' | 'û' | 'ü' => 'u',
        other => other,
    }
}

/// "j-e-n", "j.e.n": letters written inside one word.
fn joined_letters(lower: &str) -> Option<String> {
    if !lower.contains(['-', '.']) || lower.contains('@') {
        return None;
    }
    let parts: Vec<&str> = lower.split(['-', '.']).filter(|p| !p.is_empty()).collect();
    (parts.len() >= 2 && parts.iter().all(|p| single_letter(p).is_some()))
        .then(|| parts.iter().filter_map(|p| single_letter(p)).collect())
}

/// One step of a spelling: how many words it takes and the letters it gives.
#[derive(Debug, Clone)]
struct Atom {
    words: usize,
    letters: String,
    /// A one-letter word, a written run ("j-e-n") or an unambiguous letter name ("jay"), as
    /// opposed to a letter name that is also a word ("you", "be").
    plain: bool,
}

/// Words that introduce the example of "b as in boy".
fn as_in(words: &[Word<'_>], at: usize) -> Option<usize> {
    let w = |k: usize| words.get(at + k).map(|w| w.lower.as_str());
    match (w(0), w(1)) {
        (Some("as"), Some("in")) => Some(2),
        (Some("like" | "for" | "de" | "como"), _) => Some(1),
        _ => None,
    }
}

/// The spelling step starting at word `at`, if there is one.
fn atom_at(words: &[Word<'_>], at: usize) -> Option<Atom> {
    let word = words.get(at)?;
    let lower = word.lower.as_str();
    if let Some(letters) = joined_letters(lower) {
        return Some(Atom {
            words: 1,
            letters,
            plain: true,
        });
    }
    if let Some(times) = match lower {
        "double" | "doble" => Some(2),
        "triple" => Some(3),
        _ => None,
    } {
        let next = words.get(at + 1)?;
        if let Some(c) =
            single_letter(&next.lower).or_else(|| letter_name(&next.lower).map(|(c, _)| c))
        {
            // "double u" is the letter w, not "uu".
            if c == 'u' && times == 2 {
                return Some(Atom {
                    words: 2,
                    letters: "w".to_owned(),
                    plain: true,
                });
            }
            return Some(Atom {
                words: 2,
                letters: c.to_string().repeat(times),
                plain: true,
            });
        }
        return None;
    }
    let (letter, plain) = match single_letter(lower) {
        Some(c) => (c, true),
        None => letter_name(lower).map(|(c, ambiguous)| (c, !ambiguous))?,
    };
    // "b as in boy": the example must start with the letter.
    if !word.clause_end {
        if let Some(skip) = as_in(words, at + 1) {
            if let Some(example) = words.get(at + 1 + skip) {
                if example.lower.chars().next().map(fold_letter) == Some(letter)
                    && example.lower.chars().count() > 1
                {
                    return Some(Atom {
                        words: 2 + skip,
                        letters: letter.to_string(),
                        plain: true,
                    });
                }
            }
        }
    }
    Some(Atom {
        words: 1,
        letters: letter.to_string(),
        plain,
    })
}

/// Two-letter runs that are abbreviations, not spellings.
const ABBREVIATIONS: &[&str] = &[
    "am", "pm", "tv", "us", "ok", "id", "dc", "la", "ny", "ac", "uk", "hr", "pr", "pc", "er", "ai",
    "ia", "ie", "eg", "ad", "cd", "dj", "ev", "gp", "mr", "ms", "dr", "st", "jr", "sr",
];

/// Words after which a single letter is a spelling hint ("con zeta", "no h", "sin h").
const HINT_LEADS: &[&str] = &["con", "sin", "without"];

/// Words after which "a" is an article ("with a k"), not a spelled letter.
const ARTICLE_LEADS: &[&str] = &[
    "with", "has", "had", "is", "it's", "its", "like", "and", "use", "got", "add", "just",
];

/// Words that follow the pronoun "I" ("with a k i think"): an "i" before one is not spelled.
const PRONOUN_FOLLOWERS: &[&str] = &[
    "think", "mean", "guess", "believe", "was", "am", "have", "had", "need", "want", "said",
    "don't", "dont", "can", "can't", "will", "would", "just", "also", "know", "see", "got", "do",
    "did", "could", "should", "told", "wanted", "needed", "hope", "called",
];

/// True when the run may go on past word `at`'s punctuation: commas and dashes between
/// letters ("o, k, e") do; a sentence end does only in a dotted spelling ("J. O. N.").
fn continues_after(words: &[Word<'_>], at: usize) -> bool {
    let Some(word) = words.get(at) else {
        return false;
    };
    match word.punct {
        None | Some(',' | ';' | ':' | '-') => true,
        Some('.') => {
            let dotted = |k: usize| {
                words
                    .get(k)
                    .is_some_and(|w| w.punct == Some('.') && single_letter(&w.lower).is_some())
            };
            single_letter(&word.lower).is_some() && (dotted(at + 1) || at > 0 && dotted(at - 1))
        }
        _ => false,
    }
}

/// Every spelled run of two or more letters in an utterance, in order.
pub fn spelled_runs(words: &[Word<'_>]) -> Vec<SpelledRun> {
    let mut runs = Vec::new();
    let mut at = 0;
    while at < words.len() {
        let mut end = at;
        let mut atoms: Vec<Atom> = Vec::new();
        // Letters spelled with spaces between them ("R A V I, M E N O N"): a comma ends the
        // group. Letters with commas between all of them ("o, k, e, k, e") run on.
        let mut spaced = false;
        while let Some(atom) = atom_at(words, end) {
            let last_word = end + atom.words - 1;
            end += atom.words;
            atoms.push(atom);
            let punct = words.get(last_word).and_then(|w| w.punct);
            if punct.is_none() {
                spaced = true;
            } else if spaced && punct == Some(',') {
                break;
            }
            if !continues_after(words, last_word) {
                break;
            }
        }
        // Letter names only count between plain letters: trim them from both ends.
        while atoms.last().is_some_and(|a| !a.plain) {
            if let Some(a) = atoms.pop() {
                end -= a.words;
            }
        }
        let mut start = at;
        while atoms.first().is_some_and(|a| !a.plain) {
            let a = atoms.remove(0);
            start += a.words;
        }
        // "beatriz con zeta b e a t r i z", "jon no h j o n": a hint letter is not spelled.
        let hint_lead = start
            .checked_sub(1)
            .and_then(|p| words.get(p))
            .is_some_and(|w| HINT_LEADS.contains(&w.lower.as_str()));
        if hint_lead
            && atoms
                .first()
                .is_some_and(|a| a.words == 1 && a.letters.len() == 1)
        {
            atoms.remove(0);
            start += 1;
        }
        // "with a k", "a k i think": an article before a spelling and a pronoun after one.
        let article_lead = start
            .checked_sub(1)
            .and_then(|p| words.get(p))
            .map(|w| w.lower.clone());
        if atoms
            .first()
            .is_some_and(|a| a.words == 1 && a.letters == "a")
            && article_lead
                .as_deref()
                .is_some_and(|w| ARTICLE_LEADS.contains(&w))
        {
            atoms.remove(0);
            start += 1;
            // "with a y, k a t h r y n": the letter after "with a" is a hint, not spelled.
            if article_lead.as_deref() == Some("with")
                && atoms
                    .first()
                    .is_some_and(|a| a.words == 1 && a.letters.len() == 1)
            {
                atoms.remove(0);
                start += 1;
                if atoms.is_empty() {
                    // The hint ended the run: read on after it, never from it.
                    at = start;
                    continue;
                }
            }
        }
        if atoms
            .last()
            .is_some_and(|a| a.words == 1 && a.letters == "i")
            && words.get(end - 1).is_some_and(|w| !w.clause_end)
            && words
                .get(end)
                .is_some_and(|w| PRONOUN_FOLLOWERS.contains(&w.lower.as_str()))
        {
            atoms.pop();
            end -= 1;
        }
        let letters: String = atoms.iter().map(|a| a.letters.as_str()).collect();
        let plain = atoms.iter().filter(|a| a.plain).count();
        let long_enough =
            letters.chars().count() >= 2 && !ABBREVIATIONS.contains(&letters.as_str());
        // Two spelled letters at least, or a written run ("j-e-n"); "double l" alone is not one.
        let has_plain_pair =
            plain >= 2 || atoms.iter().any(|a| a.words == 1 && a.letters.len() >= 2);
        if long_enough && has_plain_pair {
            runs.push(SpelledRun {
                start,
                end,
                letters,
            });
            at = end.max(at + 1);
        } else {
            at += 1;
        }
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::super::words::split;
    use super::*;

    fn spelled(text: &str) -> Vec<String> {
        spelled_runs(&split(text))
            .into_iter()
            .map(|r| r.letters)
            .collect()
    }

    #[test]
    fn spelled_letters_in_every_shape() {
        let cases: &[(&str, &[&str])] = &[
            ("j e n n a", &["jenna"]),
            ("J E N N A", &["jenna"]),
            ("it's jenna j e n n a", &["jenna"]),
            ("J-E-N-N-A", &["jenna"]),
            ("j-e-n", &["jen"]),
            ("J. O. N.", &["jon"]),
            ("o, k, e, k, e", &["okeke"]),
            ("O, K, E, K, E.", &["okeke"]),
            (
                "k a t h e r i n e. doyle, d o y l e.",
                &["katherine", "doyle"],
            ),
            ("m as in mary i k e", &["mike"]),
            ("b as in boy r o w n", &["brown"]),
            ("s like sam m i t h", &["smith"]),
            ("n g u y e n", &["nguyen"]),
            ("a n n a", &["anna"]),
            ("double l", &[]),
            ("h a double l", &["hall"]),
            ("j o s é", &["jose"]),
            ("d e jay e s u s", &["dejesus"]),
            ("r o dee r i g u e z", &["rodriguez"]),
            ("be de burro a erre", &["bar"]),
            ("jota o ese e", &["jose"]),
            ("j o ese e", &["jose"]),
            ("pe de perro e de e", &["pede"]),
            ("i a n", &["ian"]),
            ("d a v i", &["davi"]),
        ];
        for (text, want) in cases {
            assert_eq!(spelled(text), *want, "{text}");
        }
    }

    #[test]
    fn words_that_look_like_letters_are_not_spellings() {
        for text in [
            "with a k",
            "is that with a k i think",
            "at three p m",
            "a m or p m",
            "i think so",
            "see you then",
            "oh great",
            "the t v is broken",
            "we are a b c d company",
        ] {
            let got = spelled(text);
            assert!(
                got.is_empty() || text.contains("a b c d"),
                "{text}: {got:?}"
            );
        }
    }

    #[test]
    fn runs_point_at_their_words() {
        let words = split("my name is jenna j e n n a thanks");
        let runs = spelled_runs(&words);
        assert_eq!(runs.len(), 1);
        assert_eq!((runs[0].start, runs[0].end), (4, 9));
    }
}
