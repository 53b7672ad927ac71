//! Numbers as people say them: "forty two", "twenty twenty four", "five five five oh one
//! four three", "double seven", "cuatro cincuenta". Number words go through `text2num`
//! (written for ASR transcripts by a call-analytics company); on top of it this module
//! reads what it leaves alone: "oh" for zero inside a digit string, "double"/"triple",
//! written digits, and runs said one group after another.

use std::borrow::Cow;

use super::words::Word;
use super::Lang;

/// A number said in words or digits, over words `start..end` of an utterance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberSpan {
    /// First word of the number.
    pub start: usize,
    /// One past its last word.
    pub end: usize,
    /// Its digits ("42", "5125550143", "2024", "3.5"); an ordinal's value ("3" for "third").
    pub digits: String,
    /// Said as an ordinal ("third", "tercero").
    pub ordinal: bool,
}

/// A word as `text2num` reads it.
struct NumberToken<'w> {
    lower: &'w str,
    /// Clause punctuation came between this word and the one before.
    after_break: bool,
}

impl text2num::Token for &NumberToken<'_> {
    fn text(&self) -> Cow<'_, str> {
        Cow::Borrowed(self.lower)
    }

    fn text_lowercase(&self) -> Cow<'_, str> {
        Cow::Borrowed(self.lower)
    }

    fn nt_separated(&self, _previous: &Self) -> bool {
        self.after_break
    }
}

fn interpreter(lang: Lang) -> text2num::Language {
    match lang {
        Lang::English => text2num::Language::english(),
        Lang::Spanish => text2num::Language::spanish(),
    }
}

/// The digits of a written number word ("42", "555-0143", "3.5", "$450"), if it is one.
fn written_digits(lower: &str) -> Option<String> {
    let body = lower.trim_start_matches(['$', '+', '#']);
    // "$450k", "1.2m": a written multiplier.
    if lower.starts_with('$') {
        for (suffix, zeros) in [('k', 3), ('m', 6)] {
            if let Some(number) = body.strip_suffix(suffix) {
                let digits = written_digits(number)?;
                let (whole, frac) = digits.split_once('.').unwrap_or((&digits, ""));
                let frac: String = frac
                    .chars()
                    .chain(std::iter::repeat('0'))
                    .take(zeros)
                    .collect();
                return Some(format!("{whole}{frac}").trim_start_matches('0').to_owned());
            }
        }
    }
    let first = body.chars().next()?;
    if !first.is_ascii_digit() {
        return None;
    }
    if !body
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '-' | ',' | '.'))
    {
        return None;
    }
    // "555-0143" and "1,200" are one number; "3.5" keeps its point.
    let digits: String = body.chars().filter(|c| *c != '-' && *c != ',').collect();
    (!digits.ends_with('.')).then_some(digits)
}

/// Number words one language has and the other does not ("dos", "forty").
fn only_in(lower: &str, lang: Lang) -> bool {
    const SPANISH: &[&str] = &[
        "cero",
        "dos",
        "tres",
        "cuatro",
        "cinco",
        "seis",
        "siete",
        "ocho",
        "nueve",
        "diez",
        "doce",
        "trece",
        "catorce",
        "quince",
        "dieciseis",
        "dieciséis",
        "diecisiete",
        "dieciocho",
        "diecinueve",
        "veinte",
        "veintiuno",
        "veintidos",
        "veintidós",
        "veintitres",
        "veintitrés",
        "veinticuatro",
        "veinticinco",
        "veintiseis",
        "veintiséis",
        "veintisiete",
        "veintiocho",
        "veintinueve",
        "treinta",
        "cuarenta",
        "cincuenta",
        "sesenta",
        "setenta",
        "ochenta",
        "noventa",
        "cien",
        "ciento",
        "doscientos",
        "trescientos",
        "cuatrocientos",
        "quinientos",
        "seiscientos",
        "setecientos",
        "ochocientos",
        "novecientos",
        "mil",
    ];
    const ENGLISH: &[&str] = &[
        "zero",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
        "twenty",
        "thirty",
        "forty",
        "fifty",
        "sixty",
        "seventy",
        "eighty",
        "ninety",
        "hundred",
        "thousand",
    ];
    match lang {
        Lang::Spanish => SPANISH.contains(&lower),
        Lang::English => ENGLISH.contains(&lower),
    }
}

/// "oh" (or "o") for zero: only next to another digit, so "oh great" stays a word.
fn is_zero_word(lower: &str, lang: Lang) -> bool {
    match lang {
        Lang::English => matches!(lower, "oh" | "o"),
        Lang::Spanish => false,
    }
}

/// "double"/"triple" before a digit repeats it.
fn repeat_count(lower: &str) -> Option<usize> {
    match lower {
        "double" | "doble" => Some(2),
        "triple" => Some(3),
        _ => None,
    }
}

/// A digit-only cardinal over `start..end`, before runs are joined.
#[derive(Debug, Clone)]
struct Piece {
    start: usize,
    end: usize,
    digits: String,
    ordinal: bool,
}

/// The numbers of an utterance, in order. Cardinals said one right after another in the same
/// clause are one number ("five one two" → 512, "twenty twenty four" → 2024, "four fifty" →
/// 450): that is how people say phone numbers, years, prices and the digits of an address.
pub fn numbers(words: &[Word<'_>], lang: Lang) -> Vec<NumberSpan> {
    let tokens: Vec<NumberToken<'_>> = words
        .iter()
        .enumerate()
        .map(|(i, w)| NumberToken {
            lower: w.lower.as_str(),
            after_break: i
                .checked_sub(1)
                .and_then(|p| words.get(p))
                .is_some_and(|p| p.clause_end),
        })
        .collect();
    let mut found = text2num::find_numbers(tokens.iter(), &interpreter(lang), 0.0);
    // Mixed calls: numbers in the other language, where they start with a word only it has
    // ("sesenta y dos" in an English turn, "forty two" in a Spanish one).
    let other = match lang {
        Lang::English => Lang::Spanish,
        Lang::Spanish => Lang::English,
    };
    let taken = |o: &text2num::Occurence, found: &[text2num::Occurence]| {
        found.iter().any(|f| o.start < f.end && f.start < o.end)
    };
    let extra: Vec<text2num::Occurence> =
        text2num::find_numbers(tokens.iter(), &interpreter(other), 0.0)
            .into_iter()
            .filter(|o| {
                words.get(o.start).is_some_and(|w| only_in(&w.lower, other)) && !taken(o, &found)
            })
            .collect();
    found.extend(extra);
    found.sort_by_key(|o| o.start);

    // Every word that is part of a number, in order: text2num's, written digits, zeros and
    // repeats.
    let mut pieces: Vec<Piece> = Vec::new();
    let mut occurrences = found.into_iter().peekable();
    let mut i = 0;
    while let Some(word) = words.get(i) {
        if let Some(o) = occurrences.next_if(|o| o.start == i) {
            let end = o.end.max(i + 1);
            let ordinal = o.is_ordinal;
            let digits = if ordinal {
                o.text.trim_end_matches(char::is_alphabetic).to_owned()
            } else {
                o.text
            };
            pieces.push(Piece {
                start: i,
                end,
                digits,
                ordinal,
            });
            i = end;
            continue;
        }
        // Skip occurrences text2num found inside a word we already consumed.
        while occurrences.next_if(|o| o.start < i).is_some() {}
        if let Some(digits) = written_digits(&word.lower) {
            pieces.push(Piece {
                start: i,
                end: i + 1,
                digits,
                ordinal: false,
            });
        } else if let Some(times) = repeat_count(&word.lower) {
            // "double five": the next word must be a single digit, spoken or written.
            let next = words.get(i + 1).filter(|_| !word.clause_end);
            let digit = next.and_then(|n| single_digit(&n.lower, lang));
            if let Some(d) = digit {
                // text2num may have read the digit with what follows ("o seven" → 07).
                let (rest, end) = match occurrences.next_if(|o| o.start == i + 1) {
                    Some(o) if !o.is_ordinal && o.text.starts_with(d) => {
                        (o.text.get(1..).unwrap_or("").to_owned(), o.end)
                    }
                    _ => (String::new(), i + 2),
                };
                pieces.push(Piece {
                    start: i,
                    end,
                    digits: d.to_string().repeat(times) + &rest,
                    ordinal: false,
                });
                while occurrences.next_if(|o| o.start < end).is_some() {}
                i = end;
                continue;
            }
        } else if is_zero_word(&word.lower, lang) {
            pieces.push(Piece {
                start: i,
                end: i + 1,
                digits: "0".to_owned(),
                ordinal: false,
            });
        }
        i += 1;
    }
    join_runs(words, lang, pieces)
}

/// The digit a single spoken or written digit word stands for.
fn single_digit(lower: &str, lang: Lang) -> Option<char> {
    if lower.len() == 1 && lower.chars().all(|c| c.is_ascii_digit()) {
        return lower.chars().next();
    }
    let digit = match lang {
        Lang::English => match lower {
            "zero" | "oh" | "o" => '0',
            "one" => '1',
            "two" => '2',
            "three" => '3',
            "four" => '4',
            "five" => '5',
            "six" => '6',
            "seven" => '7',
            "eight" => '8',
            "nine" => '9',
            _ => return None,
        },
        Lang::Spanish => match lower {
            "cero" => '0',
            "uno" | "un" | "una" => '1',
            "dos" => '2',
            "tres" => '3',
            "cuatro" => '4',
            "cinco" => '5',
            "seis" => '6',
            "siete" => '7',
            "ocho" => '8',
            "nueve" => '9',
            _ => return None,
        },
    };
    Some(digit)
}

/// Joins adjacent cardinals of one clause into one number; a zero word only counts when a
/// real digit is beside it in the run.
fn join_runs(words: &[Word<'_>], lang: Lang, pieces: Vec<Piece>) -> Vec<NumberSpan> {
    let mut out: Vec<NumberSpan> = Vec::new();
    let mut run: Vec<Piece> = Vec::new();
    let flush = |run: &mut Vec<Piece>, out: &mut Vec<NumberSpan>| {
        let real = run
            .iter()
            .filter(|p| {
                !words
                    .get(p.start)
                    .is_some_and(|w| is_zero_word(&w.lower, lang))
            })
            .count();
        if real == 0 {
            run.clear();
            return;
        }
        // A zero word at either end of the run with nothing real beside it would be "oh".
        while run.first().is_some_and(|p| {
            words
                .get(p.start)
                .is_some_and(|w| is_zero_word(&w.lower, lang) && w.lower == "o")
        }) {
            run.remove(0);
        }
        if let (Some(first), Some(last)) = (run.first(), run.last()) {
            out.push(NumberSpan {
                start: first.start,
                end: last.end,
                digits: run.iter().map(|p| p.digits.as_str()).collect(),
                ordinal: false,
            });
        }
        run.clear();
    };
    for piece in pieces {
        if piece.ordinal {
            flush(&mut run, &mut out);
            out.push(NumberSpan {
                start: piece.start,
                end: piece.end,
                digits: piece.digits,
                ordinal: true,
            });
            continue;
        }
        let joins = run.last().is_some_and(|last| {
            last.end == piece.start
                && !words
                    .get(last.end.saturating_sub(1))
                    .is_some_and(|w| w.clause_end)
                && !last.digits.contains('.')
                && !piece.digits.contains('.')
        });
        if !joins {
            flush(&mut run, &mut out);
        }
        run.push(piece);
    }
    flush(&mut run, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::super::words::split;
    use super::*;

    fn digits(text: &str, lang: Lang) -> Vec<String> {
        numbers(&split(text), lang)
            .into_iter()
            .map(|n| {
                if n.ordinal {
                    format!("{}th", n.digits)
                } else {
                    n.digits
                }
            })
            .collect()
    }

    #[test]
    fn english_numbers() {
        let cases: &[(&str, &[&str])] = &[
            ("mike t forty two at yahoo", &["42"]),
            ("eighty one", &["81"]),
            ("kate dot doyle eighty-eight", &["88"]),
            ("twenty twenty four", &["2024"]),
            ("nineteen ninety nine", &["1999"]),
            (
                "five one two five five five oh one four three",
                &["5125550143"],
            ),
            (
                "five one two, five five five, oh one four three",
                &["512", "555", "0143"],
            ),
            ("oh five five", &["055"]),
            ("double five", &["55"]),
            ("triple seven two", &["7772"]),
            ("double 7", &["77"]),
            ("four hundred and fifty thousand dollars", &["450000"]),
            ("fifteen hundred bucks", &["1500"]),
            ("it's four fifty a month", &["450"]),
            ("512-555-0143", &["5125550143"]),
            ("$450,000", &["450000"]),
            ("$450k", &["450000"]),
            ("$1.2m", &["1200000"]),
            ("three point five", &["3.5"]),
            ("march third", &["3th"]),
            ("oh great another hour", &[]),
            ("o k e k e", &[]),
            ("no numbers here", &[]),
            ("zero", &["0"]),
            ("e salgado sesenta y dos at gmail", &["62"]),
            ("once a month i pay", &[]),
        ];
        for (text, want) in cases {
            assert_eq!(digits(text, Lang::English), *want, "{text}");
        }
    }

    #[test]
    fn spanish_numbers() {
        let cases: &[(&str, &[&str])] = &[
            ("treinta y cinco", &["35"]),
            ("cuatro cincuenta", &["450"]),
            ("dos mil veinticuatro", &["2024"]),
            ("maria ochenta y cinco arroba gmail", &["85"]),
            ("cinco cinco cinco uno dos tres cuatro", &["5551234"]),
            ("doble cinco", &["55"]),
            ("mil quinientos dólares", &["1500"]),
            ("es sixty two arroba gmail", &["62"]),
        ];
        for (text, want) in cases {
            assert_eq!(digits(text, Lang::Spanish), *want, "{text}");
        }
    }

    #[test]
    fn spans_point_at_the_words_of_the_number() {
        let words = split("call me at five one two oh one please");
        let spans = numbers(&words, Lang::English);
        assert_eq!(spans.len(), 1);
        let span = &spans[0];
        assert_eq!((span.start, span.end), (3, 8));
        assert_eq!(span.digits, "51201");
    }
}
