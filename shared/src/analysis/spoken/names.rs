//! Names as they are written once heard: title case for lower-case ASR output, spelled
//! letters joined, and the spelling hints callers give ("with a k", "no h", "two n's").

/// Particles that stay lower case inside a name ("María de la Cruz").
const PARTICLES: &[&str] = &[
    "de", "del", "la", "las", "los", "da", "das", "do", "dos", "di", "van", "von", "der", "den",
    "y",
];

fn capitalise(part: &str) -> String {
    let mut chars = part.chars();
    chars.next().map_or_else(String::new, |c| {
        c.to_uppercase()
            .chain(chars.flat_map(char::to_lowercase))
            .collect()
    })
}

/// One word of a name in title case: "o'connor" → "O'Connor", "garcia-lopez" →
/// "Garcia-Lopez", "mcdonald" → "McDonald".
fn title_word(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    for (i, part) in word.split_inclusive(['-', '\'']).enumerate() {
        let body = capitalise(part);
        // "O'" and "D'" keep the next part capitalised; so does a hyphen.
        if i == 0 && body.len() > 3 && body.starts_with("Mc") {
            let (mc, rest) = body.split_at(2);
            out.push_str(mc);
            out.push_str(&capitalise(rest));
        } else {
            out.push_str(&body);
        }
    }
    out
}

/// A name in title case, particles after the first word kept lower case.
pub fn title_case(name: &str) -> String {
    name.split_whitespace()
        .enumerate()
        .map(|(i, w)| {
            let lower = w.to_lowercase();
            if i > 0 && PARTICLES.contains(&lower.as_str()) {
                lower
            } else {
                title_word(w)
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Letters that callers name to tell one spelling from another, with the letters they
/// replace ("Katherine with a K", "Jon with no h").
const ALTERNATES: &[(char, &[&str])] = &[
    ('k', &["c", "ch", "q"]),
    ('c', &["k"]),
    ('y', &["i", "ie", "ey", "ee"]),
    ('i', &["y"]),
    ('z', &["s"]),
    ('s', &["z"]),
    ('f', &["ph"]),
    ('e', &["a"]),
    ('a', &["e"]),
    ('j', &["g"]),
    ('g', &["j"]),
];

/// A spelling hint a caller gives about a word of their name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpellingHint {
    /// "with a k": the letter is in the name, in place of a look-alike.
    WithLetter(char),
    /// "no h", "without the h": the letter is not in the name.
    WithoutLetter(char),
    /// "two n's", "double l": the letter is doubled.
    Doubled(char),
    /// "one n", "one l": the letter is single.
    Single(char),
}

/// Applies a hint to a lower-case word; `None` when the hint does not fit the word.
pub fn respell(word: &str, hint: SpellingHint) -> Option<String> {
    match hint {
        SpellingHint::WithLetter(letter) => {
            if word.contains(letter) {
                return Some(word.to_owned());
            }
            let (_, look_alikes) = ALTERNATES.iter().find(|(l, _)| *l == letter)?;
            // The earliest look-alike in the word is the one meant ("catherine" → "katherine").
            let (at, from) = look_alikes
                .iter()
                .filter_map(|from| word.find(from).map(|at| (at, *from)))
                .min_by_key(|(at, _)| *at)?;
            let mut out = String::with_capacity(word.len());
            out.push_str(word.get(..at)?);
            out.push(letter);
            out.push_str(word.get(at + from.len()..)?);
            Some(out)
        }
        SpellingHint::WithoutLetter(letter) => {
            word.contains(letter).then(|| word.replacen(letter, "", 1))
        }
        SpellingHint::Doubled(letter) => {
            let double: String = [letter, letter].iter().collect();
            if word.contains(&double) {
                return Some(word.to_owned());
            }
            let at = word.find(letter)?;
            let mut out = word.to_owned();
            out.insert(at, letter);
            Some(out)
        }
        SpellingHint::Single(letter) => {
            let double: String = [letter, letter].iter().collect();
            word.contains(&double)
                .then(|| word.replacen(&double, &letter.to_string(), 1))
        }
    }
}

/// Reads a spelling hint from the lower-case words after a name ("with a k", "no h", "two
/// n's", "con ka"); returns it and how many words it took.
pub fn spelling_hint(words: &[&str]) -> Option<(SpellingHint, usize)> {
    let letter = |w: Option<&&str>| {
        let w = w?.trim_end_matches("'s").trim_end_matches('s');
        let mut chars = w.chars();
        let c = chars.next()?;
        (chars.next().is_none() && c.is_ascii_alphabetic()).then_some(c)
    };
    let first = *words.first()?;
    let second = words.get(1).copied();
    match (first, second) {
        ("with" | "con", Some("a" | "an" | "una")) => {
            letter(words.get(2)).map(|c| (SpellingHint::WithLetter(c), 3))
        }
        ("with" | "con", _) => letter(words.get(1)).map(|c| (SpellingHint::WithLetter(c), 2)),
        // "no h", "no e": not "no i" or "no a" ("no, I don't"; "no, a friend"), and not the
        // start of a spelling ("no, l e a h").
        ("no" | "sin", Some("h" | "e" | "y" | "s"))
            if words.get(2).is_none_or(|w| w.chars().count() != 1) =>
        {
            letter(words.get(1)).map(|c| (SpellingHint::WithoutLetter(c), 2))
        }
        ("without", _) => {
            let skip =
                usize::from(second == Some("the") || second == Some("an") || second == Some("a"));
            letter(words.get(1 + skip)).map(|c| (SpellingHint::WithoutLetter(c), 2 + skip))
        }
        ("two" | "double" | "doble" | "dos", _) => {
            letter(words.get(1)).map(|c| (SpellingHint::Doubled(c), 2))
        }
        ("one" | "single" | "una", _) => letter(words.get(1)).map(|c| (SpellingHint::Single(c), 2)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn title_case_of_lower_case_names() {
        let cases = [
            ("maria gomez", "Maria Gomez"),
            ("MARIA GOMEZ", "Maria Gomez"),
            ("o'connor", "O'Connor"),
            ("garcia-lopez", "Garcia-Lopez"),
            ("mcdonald", "McDonald"),
            ("maría de la cruz", "María de la Cruz"),
            ("de la cruz", "De la Cruz"),
            ("zoë", "Zoë"),
            ("nguyen", "Nguyen"),
            ("ana  ruiz", "Ana Ruiz"),
        ];
        for (raw, want) in cases {
            assert_eq!(title_case(raw), want, "{raw}");
        }
    }

    #[test]
    fn spelling_hints_respell_the_name() {
        let cases: &[(&str, &[&str], Option<&str>)] = &[
            ("catherine", &["with", "a", "k"], Some("katherine")),
            ("kathrin", &["with", "a", "y"], Some("kathryn")),
            ("john", &["no", "h"], Some("jon")),
            ("john", &["without", "the", "h"], Some("jon")),
            ("jon", &["with", "an", "h"], None),
            ("ana", &["two", "n's"], Some("anna")),
            ("ana", &["double", "n"], Some("anna")),
            ("anna", &["one", "n"], Some("ana")),
            ("phillip", &["one", "l"], Some("philip")),
            ("stephen", &["with", "a", "v"], None),
            ("jeffrey", &["with", "a", "g"], Some("geffrey")),
            ("karla", &["con", "k"], Some("karla")),
            ("isabel", &["with", "a", "z"], Some("izabel")),
            ("eric", &["with", "a", "k"], Some("erik")),
        ];
        for (word, hint_words, want) in cases {
            let got = spelling_hint(hint_words).and_then(|(hint, _)| respell(word, hint));
            assert_eq!(got.as_deref(), *want, "{word} {hint_words:?}");
        }
    }

    #[test]
    fn hints_that_do_not_fit_are_none() {
        assert_eq!(spelling_hint(&["with", "my", "wife"]), None);
        assert_eq!(spelling_hint(&["no", "thanks"]), None);
        assert_eq!(respell("tom", SpellingHint::WithoutLetter('h')), None);
        assert_eq!(respell("tom", SpellingHint::WithLetter('x')), None);
    }
}
