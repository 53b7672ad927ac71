//! Splitting a transcript line into [`Word`]s: the one tokenizer every later step reads.

/// Bracketed or angled ASR annotations (`[inaudible]`, `<unk>`, `(laughs)`) longer than this
/// are read as text, so that a stray `[` cannot swallow the rest of a turn.
const MAX_ANNOTATION_BYTES: usize = 40;

/// One word (or emoji) of an utterance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word<'a> {
    /// The word as written, without surrounding punctuation ("Jon", "kate.doyle88@outlook.com",
    /// "$450,000", "j-o-n").
    pub raw: &'a str,
    /// `raw` in lower case, a typographic apostrophe written `'`.
    pub lower: String,
    /// `lower` without accents or apostrophes ("don't" → "dont", "sí" → "si"): the form cue
    /// lists and word lists are matched against, computed once per word.
    pub form: String,
    /// Clause punctuation (`.`, `,`, `?`, `!`, `;`, `:`) or an annotation follows the word.
    pub clause_end: bool,
    /// The sentence ended after this word with a `?`.
    pub question: bool,
    /// The first clause punctuation after the word, if any (`,` in "o, k, e").
    pub punct: Option<char>,
    /// Byte offset of `raw` in the utterance.
    pub start: usize,
}

impl Word<'_> {
    /// The first character of the word as written is upper case.
    pub fn is_capitalised(&self) -> bool {
        self.raw.chars().next().is_some_and(char::is_uppercase)
    }

    /// The word is an emoji or emoticon token, not letters.
    pub fn is_symbol(&self) -> bool {
        self.raw.chars().next().is_some_and(is_emoji) || self.raw.starts_with(':')
    }
}

/// True for the characters emoji live in (the pictographic blocks, dingbats, hearts).
pub fn is_emoji(c: char) -> bool {
    matches!(u32::from(c), 0x1F300..=0x1FAFF | 0x2600..=0x27BF | 0x2B50)
}

fn is_clause_punct(c: char) -> bool {
    matches!(c, '.' | ',' | ';' | ':' | '!' | '?' | '¿' | '¡' | '…')
}

/// Characters a word may hold besides letters and digits: apostrophes ("don't"), and the
/// ones written emails, amounts and spellings carry ("a.b@c.com", "$450,000", "j-o-n").
fn is_inner_word_char(c: char) -> bool {
    matches!(
        c,
        '\'' | '’' | '-' | '.' | '@' | '_' | '$' | '+' | '%' | '&' | '/'
    )
}

/// The end (exclusive, in bytes) of a short annotation opened by `open_char` at `open`.
fn annotation_end(text: &str, open: usize, open_char: char) -> Option<usize> {
    let close = match open_char {
        '[' => ']',
        '<' => '>',
        '(' => ')',
        _ => return None,
    };
    let rest = text.get(open + 1..)?;
    let at = rest.find(close)?;
    // "(512)" is an area code, not an annotation.
    let inner = rest.get(..at)?;
    (at <= MAX_ANNOTATION_BYTES && !inner.chars().any(|c| c.is_ascii_digit()))
        .then_some(open + 1 + at + 1)
}

/// Splits an utterance into words: letters and digits with the inner characters above,
/// emoji and `:)`/`:(` as words of their own, annotations (`[inaudible]`, `<unk>`,
/// `(laughs)`) and everything else as separators. Clause punctuation marks the word before.
pub fn split(text: &str) -> Vec<Word<'_>> {
    let mut words: Vec<Word<'_>> = Vec::with_capacity(text.len() / 5 + 1);
    let mut start: Option<usize> = None;
    let mut skip_until = 0;
    let mut chars = text.char_indices().peekable();
    let mut prev = ' ';
    while let Some((i, c)) = chars.next() {
        if i < skip_until {
            continue;
        }
        let next = chars.peek().map_or(' ', |(_, n)| *n);
        // "$450,000" and "3.5" are one amount; "a.b@c.com" is one address.
        let inner_digit_comma = c == ',' && prev.is_ascii_digit() && next.is_ascii_digit();
        let word_char = if c.is_alphanumeric() || inner_digit_comma {
            true
        } else if is_inner_word_char(c) {
            match c {
                '$' => true,
                // Only an apostrophe inside a word ("don't"), not a quote around it.
                '\'' | '’' => start.is_some() && next.is_alphanumeric(),
                _ => start.is_some(),
            }
        } else {
            false
        };
        if word_char {
            start.get_or_insert(i);
            prev = c;
            continue;
        }
        if let Some(s) = start.take() {
            push_word(&mut words, text, s, i);
        }
        if c == ':' && matches!(next, ')' | '(') {
            let end = i + 2;
            words.push(symbol_word(text, i, end));
            skip_until = end;
        } else if is_emoji(c) {
            words.push(symbol_word(text, i, i + c.len_utf8()));
        } else if is_clause_punct(c) {
            if let Some(last) = words.last_mut() {
                last.clause_end = true;
                last.question |= c == '?';
                last.punct.get_or_insert(c);
            }
        } else if let Some(end) = annotation_end(text, i, c) {
            skip_until = end;
            if let Some(last) = words.last_mut() {
                last.clause_end = true;
            }
        }
        prev = c;
    }
    if let Some(s) = start {
        push_word(&mut words, text, s, text.len());
    }
    words
}

fn symbol_word(text: &str, start: usize, end: usize) -> Word<'_> {
    let raw = text.get(start..end).unwrap_or("");
    Word {
        raw,
        lower: raw.to_owned(),
        form: form_of(raw),
        clause_end: false,
        question: false,
        punct: None,
        start,
    }
}

/// `lower` folded (no accents) and without apostrophes.
fn form_of(lower: &str) -> String {
    let mut form = super::fold(lower);
    if form.contains('\'') {
        form.retain(|c| c != '\'');
    }
    form
}

/// Pushes `text[start..end]` as a word, trimming the punctuation that surrounds words but is
/// not part of them (a trailing period ends the clause; "callers'" loses its quote).
fn push_word<'a>(words: &mut Vec<Word<'a>>, text: &'a str, start: usize, end: usize) {
    let token = text.get(start..end).unwrap_or("");
    let lead = token.len()
        - token
            .trim_start_matches(['.', '-', '\'', '’', '_', '/', '&', '+'])
            .len();
    let body = token.get(lead..).unwrap_or("");
    let trimmed = body.trim_end_matches(['.', '-', '\'', '’', '_', '/', '&', '+', '@']);
    let clause_end = body.trim_end_matches(['-', '\'', '’', '_']).ends_with('.');
    if trimmed.is_empty() {
        if clause_end {
            if let Some(last) = words.last_mut() {
                last.clause_end = true;
                last.punct.get_or_insert('.');
            }
        }
        return;
    }
    let lower = trimmed.to_lowercase().replace('’', "'");
    words.push(Word {
        raw: trimmed,
        form: form_of(&lower),
        lower,
        clause_end,
        question: false,
        punct: clause_end.then_some('.'),
        start: start + lead,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lowers(text: &str) -> Vec<String> {
        split(text).into_iter().map(|w| w.lower).collect()
    }

    #[test]
    fn words_keep_emails_amounts_and_contractions_whole() {
        assert_eq!(
            lowers("My email's Kate.Doyle88@Outlook.com, budget $450,000 — don’t worry."),
            [
                "my",
                "email's",
                "kate.doyle88@outlook.com",
                "budget",
                "$450,000",
                "don't",
                "worry"
            ]
        );
    }

    #[test]
    fn clause_ends_and_questions_are_marked_on_the_word_before() {
        let words = split("Hi, is that you? Yes.");
        let marks: Vec<(bool, bool)> = words.iter().map(|w| (w.clause_end, w.question)).collect();
        assert_eq!(
            marks,
            [
                (true, false),
                (false, false),
                (false, false),
                (true, true),
                (true, false)
            ]
        );
    }

    #[test]
    fn annotations_are_dropped_and_end_a_clause_but_a_stray_bracket_is_not() {
        assert_eq!(
            lowers("I want [inaudible] a quote <unk> now"),
            ["i", "want", "a", "quote", "now"]
        );
        assert!(split("I want [noise] it")[1].clause_end);
        assert_eq!(lowers("a [ b"), ["a", "b"]);
    }

    #[test]
    fn emoji_and_emoticons_are_words_of_their_own() {
        assert_eq!(
            lowers("ok👍thanks :) 🦀"),
            ["ok", "👍", "thanks", ":)", "🦀"]
        );
        assert!(split("👍")[0].is_symbol());
    }

    #[test]
    fn offsets_point_at_the_word_in_the_utterance() {
        let text = "  «José» said: j-o-n.";
        for w in split(text) {
            assert_eq!(text.get(w.start..w.start + w.raw.len()), Some(w.raw));
        }
        assert_eq!(lowers(text), ["josé", "said", "j-o-n"]);
    }

    #[test]
    fn a_quote_around_a_word_is_not_part_of_it() {
        assert_eq!(
            lowers("'quoted' callers' rock'n'roll"),
            ["quoted", "callers", "rock'n'roll"]
        );
    }
}
