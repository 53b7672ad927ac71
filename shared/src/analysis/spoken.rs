//! Spoken-form normalisation: what a speech-to-text transcript says, in the written form
//! analysis needs. Number words become digits ("forty two" → 42, "five five five oh one" →
//! 55501), spelled letters become words ("j e n n a" → jenna), spoken emails become addresses
//! ("mike t forty two at yahoo dot com" → miket42@yahoo.com), and digit runs of a phone number
//! are found. English and Spanish.
//!
//! The first step of the rules analyzer (normalise → features → decisions), and what the LLM
//! analyzer's names and emails go through. Pure; the stored transcript is never altered: every
//! reading points back at the words it came from.

pub mod email;
pub mod letters;
pub mod names;
pub mod numbers;
pub mod vocabulary;
pub mod words;

pub use email::SpokenEmail;
pub use letters::SpelledRun;
pub use numbers::NumberSpan;
pub use words::Word;

/// The languages the normaliser reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// English.
    English,
    /// Spanish.
    Spanish,
}

/// Fewest words `whatlang` is asked to judge; shorter text keeps the language it is given.
const MIN_WORDS_TO_DETECT: usize = 3;

/// Words frequent in one language and rare in the other, for text `whatlang` is unsure of.
const SPANISH_MARKERS: &[&str] = &[
    "el", "la", "los", "las", "de", "del", "que", "y", "en", "es", "mi", "su", "con", "para",
    "por", "una", "uno", "dos", "tres", "mil", "gracias", "sí", "hola", "quiero", "quisiera",
    "necesito", "tengo", "muy", "pero", "arroba", "punto", "guion", "correo", "nombre", "cita",
    "bueno", "claro", "señor", "señora", "usted", "cuánto", "cuanto", "está", "esta", "estoy",
];
const ENGLISH_MARKERS: &[&str] = &[
    "the", "and", "is", "i", "you", "my", "to", "it", "that", "for", "with", "at", "dot", "of",
    "a", "can", "this", "what", "yes", "yeah", "thanks", "please", "name", "email", "number",
    "i'm", "it's", "have", "need", "want", "would", "like", "okay", "ok",
];

/// The language of `text`, English or Spanish, by `whatlang`'s trigram model, or when it is
/// unsure by which language's common words the text holds more of; `fallback` for text too
/// short or too even to tell.
pub fn detect_lang(text: &str, fallback: Lang) -> Lang {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphabetic() && c != '\'')
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    if words.len() < MIN_WORDS_TO_DETECT {
        return fallback;
    }
    let count = |markers: &[&str]| {
        words
            .iter()
            .filter(|w| markers.contains(&w.as_str()))
            .count()
    };
    let (es, en) = (count(SPANISH_MARKERS), count(ENGLISH_MARKERS));
    // Plain ASCII with English function words and not one Spanish one is English: most turns
    // of most calls, and whatlang's trigram scoring is the costliest step of reading a turn.
    if es == 0 && en >= 2 && text.is_ascii() {
        return Lang::English;
    }
    let detector =
        whatlang::Detector::with_allowlist(vec![whatlang::Lang::Eng, whatlang::Lang::Spa]);
    if let Some(info) = detector.detect(text).filter(|i| i.confidence() >= 0.5) {
        return match info.lang() {
            whatlang::Lang::Spa => Lang::Spanish,
            _ => Lang::English,
        };
    }
    match es.cmp(&en) {
        std::cmp::Ordering::Greater => Lang::Spanish,
        std::cmp::Ordering::Less => Lang::English,
        std::cmp::Ordering::Equal => fallback,
    }
}

/// One utterance, read: its words and the numbers, spellings and addresses in them.
#[derive(Debug, Clone)]
pub struct Utterance<'a> {
    /// The words, in order.
    pub words: Vec<Word<'a>>,
    /// Numbers, said or written.
    pub numbers: Vec<NumberSpan>,
    /// Letters spelled one by one.
    pub spelled: Vec<SpelledRun>,
    /// The language it was read in.
    pub lang: Lang,
}

impl<'a> Utterance<'a> {
    /// Reads `text` as spoken in `lang`.
    pub fn new(text: &'a str, lang: Lang) -> Self {
        let words = words::split(text);
        let numbers = numbers::numbers(&words, lang);
        let spelled = letters::spelled_runs(&words);
        Self {
            words,
            numbers,
            spelled,
            lang,
        }
    }

    /// The email addresses said or written in the utterance, in order.
    pub fn emails(&self) -> Vec<SpokenEmail> {
        email::emails(&self.words, &self.numbers, &self.spelled)
    }

    /// Phone numbers: digit runs of 7 to 15 digits ("five one two five five five oh one four
    /// three", "512-555-0143"), also said in groups with pauses between them ("three one zero,
    /// five five five, two eight one nine", "two oh six... uh five five five"), as digits.
    pub fn phone_numbers(&self) -> Vec<String> {
        const FILLERS: &[&str] = &["um", "uh", "umm", "uhh", "er", "erm", "eh", "este", "el"];
        const MAX_GROUP_DIGITS: usize = 5;
        let mut phones = Vec::new();
        let mut group: Vec<&NumberSpan> = Vec::new();
        let flush = |group: &mut Vec<&NumberSpan>, phones: &mut Vec<String>| {
            let digits: String = group.iter().map(|n| n.digits.as_str()).collect();
            if (7..=15).contains(&digits.len()) {
                phones.push(digits);
            }
            group.clear();
        };
        for n in &self.numbers {
            let digits_only = !n.ordinal && n.digits.chars().all(|c| c.is_ascii_digit());
            if !digits_only {
                flush(&mut group, &mut phones);
                continue;
            }
            let joins = group.last().is_some_and(|last| {
                let short =
                    last.digits.len() <= MAX_GROUP_DIGITS && n.digits.len() <= MAX_GROUP_DIGITS;
                let only_fillers = self.words.get(last.end..n.start).is_some_and(|between| {
                    between.iter().all(|w| FILLERS.contains(&w.lower.as_str()))
                });
                short && only_fillers
            });
            if !joins {
                flush(&mut group, &mut phones);
            }
            group.push(n);
        }
        flush(&mut group, &mut phones);
        phones
    }

    /// The spelled run starting at word `at`, if one does.
    pub fn spelled_at(&self, at: usize) -> Option<&SpelledRun> {
        self.spelled.iter().find(|r| r.start == at)
    }

    /// The number starting at word `at`, if one does.
    pub fn number_at(&self, at: usize) -> Option<&NumberSpan> {
        self.numbers.iter().find(|n| n.start == at)
    }
}

/// An email address in written form from any way of writing it: written ("Kate.Doyle88@
/// Outlook.com"), spoken ("kate dot doyle eighty eight at outlook dot com") or spelled.
/// `None` when no address can be read. For what an LLM returns: models copy the spoken form.
pub fn normalize_email(text: &str) -> Option<String> {
    let trimmed = text
        .trim()
        .trim_matches(|c: char| matches!(c, '<' | '>' | '"' | '\''));
    let lower = trimmed.to_lowercase();
    if email::is_written_address(&lower) {
        return Some(lower);
    }
    let lang = detect_lang(trimmed, Lang::English);
    let utterance = Utterance::new(trimmed, lang);
    utterance.emails().into_iter().last().map(|e| e.address)
}

/// A person's name in written form from any way of saying it: "maria gomez" → "Maria Gomez",
/// "J E N N A" → "Jenna", "jenna j e n n a" → "Jenna", "DOYLE, Katherine" kept as words.
/// `None` for text with no letters. For what an LLM returns and for the rules' name finder.
pub fn normalize_name(text: &str) -> Option<String> {
    let words = words::split(text);
    let runs = letters::spelled_runs(&words);
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while let Some(word) = words.get(i) {
        if let Some(run) = runs.iter().find(|r| r.start == i) {
            // A spelling right after the same word spoken ("jenna j e n n a") confirms it.
            let repeats_last = parts.last().is_some_and(|p| fold(p) == run.letters);
            if repeats_last {
                if let Some(last) = parts.last_mut() {
                    *last = run.letters.clone();
                }
            } else {
                parts.push(run.letters.clone());
            }
            i = run.end;
            continue;
        }
        if word
            .lower
            .chars()
            .all(|c| c.is_alphabetic() || matches!(c, '-' | '\''))
        {
            parts.push(word.lower.clone());
        }
        i += 1;
    }
    let joined = parts.join(" ");
    (!joined.is_empty()).then(|| names::title_case(&joined))
}

/// Lower case without accents or ligatures, for comparing a spoken word with its spelling
/// ("Petrović" and "P E T R O V I C", "Kjær" and "K J A E R").
pub fn fold(word: &str) -> String {
    use unicode_normalization::{char::is_combining_mark, UnicodeNormalization as _};
    // Most words are ASCII: nothing to decompose (the analyzer folds every word it reads).
    if word.is_ascii() {
        return word.to_ascii_lowercase();
    }
    let mut out = String::with_capacity(word.len());
    for c in word
        .nfd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
    {
        match c {
            'ø' => out.push('o'),
            'æ' => out.push_str("ae"),
            'œ' => out.push_str("oe"),
            'ß' => out.push_str("ss"),
            'ł' => out.push('l'),
            'đ' => out.push('d'),
            'ı' => out.push('i'),
            'þ' => out.push_str("th"),
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests;
