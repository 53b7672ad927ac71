//! `postcall eval --stt`: a written transcript as speech-to-text output writes it. Lower case,
//! punctuation dropped, numbers, amounts, times, phone numbers and emails spoken as words,
//! spellings as single letters. Deterministic, so a set scores the same every run; labels are
//! untouched (a label's email stays written, as a person would write it down).

use postcall::analysis::spoken::{detect_lang, Lang};

use crate::dataset::LabelledCall;

/// The call with every turn's text as raw ASR would write it.
pub fn transform_call(call: &LabelledCall) -> LabelledCall {
    let all_text: String = call
        .turns
        .iter()
        .map(|t| t.text.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let call_lang = detect_lang(&all_text, Lang::English);
    let mut out = call.clone();
    for turn in &mut out.turns {
        let lang = detect_lang(&turn.text, call_lang);
        turn.text = transform(&turn.text, lang);
    }
    out
}

/// One utterance as raw ASR would write it.
pub fn transform(text: &str, lang: Lang) -> String {
    let mut words: Vec<String> = Vec::new();
    for token in text.split_whitespace() {
        let spoken = spoken_token(token, lang);
        words.extend(
            spoken
                .split_whitespace()
                .map(str::to_owned)
                .filter(|w| !w.is_empty()),
        );
    }
    words.join(" ")
}

/// Characters kept inside a word: letters, digits, and an apostrophe between letters.
fn strip_punctuation(token: &str) -> String {
    let chars: Vec<char> = token.chars().collect();
    let mut out = String::with_capacity(token.len());
    for (i, c) in chars.iter().enumerate() {
        let inner_apostrophe = matches!(c, '\'' | '’')
            && i > 0
            && chars.get(i - 1).is_some_and(|p| p.is_alphanumeric())
            && chars.get(i + 1).is_some_and(|n| n.is_alphanumeric());
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if inner_apostrophe {
            out.push('\'');
        } else {
            out.push(' ');
        }
    }
    out
}

fn trim_outer(token: &str) -> &str {
    token
        .trim_start_matches(|c: char| !c.is_alphanumeric() && c != '$' && c != '+')
        .trim_end_matches(|c: char| !c.is_alphanumeric() && c != '%')
}

fn spoken_token(token: &str, lang: Lang) -> String {
    let core = trim_outer(token);
    let lower = core.to_lowercase();
    if lower.contains('@') && lower.contains('.') {
        return spoken_email(&lower, lang);
    }
    if let Some(money) = spoken_money(&lower, lang) {
        return money;
    }
    if let Some(time) = spoken_time(&lower, lang) {
        return time;
    }
    if let Some(phone) = spoken_phone(&lower, lang) {
        return phone;
    }
    if let Some(ordinal) = spoken_ordinal(&lower, lang) {
        return ordinal;
    }
    if let Some(percent) = lower.strip_suffix('%').and_then(|n| spoken_number(n, lang)) {
        let word = if lang == Lang::Spanish {
            "por ciento"
        } else {
            "percent"
        };
        return format!("{percent} {word}");
    }
    if lower.contains('.') && !lower.starts_with('.') && lower.split('.').count() == 2 {
        // A domain ("gmail.com") or a decimal ("4.5").
        if let Some((a, b)) = lower.split_once('.') {
            if a.chars().all(|c| c.is_ascii_digit()) && b.chars().all(|c| c.is_ascii_digit()) {
                let point = if lang == Lang::Spanish {
                    "punto"
                } else {
                    "point"
                };
                return format!(
                    "{} {point} {}",
                    spoken_number(a, lang).unwrap_or_default(),
                    digit_by_digit(b, lang)
                );
            }
            if is_domain_like(a, b) {
                return format!("{} {} {}", a, dot_word(lang), b);
            }
        }
    }
    // Words with digits in them ("10am", "3pm", "b12") are split into letters and numbers.
    let stripped = strip_punctuation(core);
    stripped
        .split_whitespace()
        .map(|w| spoken_word(w, lang))
        .collect::<Vec<_>>()
        .join(" ")
}

fn is_domain_like(a: &str, b: &str) -> bool {
    const TLDS: &[&str] = &[
        "com", "net", "org", "edu", "io", "co", "es", "mx", "us", "gov",
    ];
    a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') && TLDS.contains(&b)
}

fn dot_word(lang: Lang) -> &'static str {
    if lang == Lang::Spanish {
        "punto"
    } else {
        "dot"
    }
}

fn spoken_word(word: &str, lang: Lang) -> String {
    if word.chars().all(|c| c.is_ascii_digit()) {
        return spoken_integer_token(word, lang);
    }
    // "10am" → "ten a m"; "b12" → "b twelve".
    let mut parts: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut digits = false;
    for c in word.chars() {
        let is_digit = c.is_ascii_digit();
        if !current.is_empty() && is_digit != digits {
            parts.push(std::mem::take(&mut current));
        }
        digits = is_digit;
        current.push(c);
    }
    if !current.is_empty() {
        parts.push(current);
    }
    if parts.len() == 1 {
        return word.to_owned();
    }
    parts
        .iter()
        .map(|p| {
            if p.chars().all(|c| c.is_ascii_digit()) {
                spoken_integer_token(p, lang)
            } else if matches!(p.as_str(), "am" | "pm") {
                p.chars().map(String::from).collect::<Vec<_>>().join(" ")
            } else {
                p.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A bare integer: a year as a year, a long id digit by digit, anything else as a cardinal.
fn spoken_integer_token(digits: &str, lang: Lang) -> String {
    let Ok(value) = digits.parse::<u64>() else {
        return digit_by_digit(digits, lang);
    };
    if digits.len() == 4 && (1900..=2099).contains(&value) && lang == Lang::English {
        return spoken_year(value);
    }
    if digits.len() >= 5 || (digits.starts_with('0') && digits.len() > 1) {
        return digit_by_digit(digits, lang);
    }
    cardinal(value, lang)
}

fn spoken_year(year: u64) -> String {
    let (hi, lo) = (year / 100, year % 100);
    if lo == 0 {
        return if year == 2000 {
            "two thousand".to_owned()
        } else {
            format!("{} hundred", cardinal(hi, Lang::English))
        };
    }
    if (2000..2010).contains(&year) {
        return format!("two thousand {}", cardinal(lo, Lang::English));
    }
    let lo_words = if lo < 10 {
        format!("oh {}", cardinal(lo, Lang::English))
    } else {
        cardinal(lo, Lang::English)
    };
    format!("{} {lo_words}", cardinal(hi, Lang::English))
}

fn digit_by_digit(digits: &str, lang: Lang) -> String {
    digits
        .chars()
        .filter_map(|c| c.to_digit(10))
        .map(|d| {
            if d == 0 && lang == Lang::English {
                "oh".to_owned()
            } else {
                cardinal(u64::from(d), lang)
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn spoken_number(text: &str, lang: Lang) -> Option<String> {
    let digits: String = text.chars().filter(|c| *c != ',').collect();
    let value: u64 = digits.parse().ok()?;
    Some(cardinal(value, lang))
}

/// "$450,000", "$450k", "$49.99", "$1.2m".
fn spoken_money(lower: &str, lang: Lang) -> Option<String> {
    let body = lower.strip_prefix('$')?;
    let (body, scale) = match body.chars().last()? {
        'k' => (body.get(..body.len() - 1)?, Some("thousand")),
        'm' => (body.get(..body.len() - 1)?, Some("million")),
        _ => (body, None),
    };
    let body = body.replace(',', "");
    let (whole, cents) = match body.split_once('.') {
        Some((w, c)) => (w.to_owned(), Some(c.to_owned())),
        None => (body, None),
    };
    let mut words = spoken_number(&whole, lang)?;
    let (thousand, million, dollars, and_cents) = match lang {
        Lang::English => ("thousand", "million", "dollars", "cents"),
        Lang::Spanish => ("mil", "millones", "dólares", "centavos"),
    };
    match scale {
        Some("thousand") => words = format!("{words} {thousand}"),
        Some(_) => words = format!("{words} {million}"),
        None => {}
    }
    words = format!("{words} {dollars}");
    if let Some(c) = cents.filter(|c| c.chars().any(|d| d != '0')) {
        if scale.is_some() {
            // "$1.2m": one point two million.
            return None;
        }
        let cents = spoken_number(&c, lang)?;
        words = format!("{words} {cents} {and_cents}");
    }
    Some(words)
}

/// "3:30" → "three thirty", "10:00" → "ten", "3:05" → "three oh five".
fn spoken_time(lower: &str, lang: Lang) -> Option<String> {
    let (h, rest) = lower.split_once(':')?;
    let (m, suffix) = rest.split_at(
        rest.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len()),
    );
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return None;
    }
    let hour: u64 = h.parse().ok()?;
    let minute: u64 = m.parse().ok()?;
    let mut words = cardinal(hour, lang);
    if minute > 0 {
        if minute < 10 && lang == Lang::English {
            words = format!("{words} oh {}", cardinal(minute, lang));
        } else {
            words = format!("{words} {}", cardinal(minute, lang));
        }
    }
    if matches!(suffix, "am" | "pm") {
        words = format!(
            "{words} {}",
            suffix
                .chars()
                .map(String::from)
                .collect::<Vec<_>>()
                .join(" ")
        );
    }
    Some(words)
}

/// "512-555-0143", "555-0143", "+1-512-555-0143", "(512)": digit by digit.
fn spoken_phone(lower: &str, lang: Lang) -> Option<String> {
    let body = lower.trim_start_matches('+');
    let groups: Vec<&str> = body.split(['-', '.']).collect();
    let phone_shaped = groups.len() >= 2
        && groups
            .iter()
            .all(|g| !g.is_empty() && g.chars().all(|c| c.is_ascii_digit()))
        && groups.iter().map(|g| g.len()).sum::<usize>() >= 7;
    phone_shaped.then(|| {
        groups
            .iter()
            .map(|g| digit_by_digit(g, lang))
            .collect::<Vec<_>>()
            .join(" ")
    })
}

/// "3rd" → "third", "21st" → "twenty first" (English); "3º" stays a cardinal in Spanish.
fn spoken_ordinal(lower: &str, lang: Lang) -> Option<String> {
    let digits: String = lower.chars().take_while(char::is_ascii_digit).collect();
    let suffix = lower.get(digits.len()..)?;
    if digits.is_empty() || !matches!(suffix, "st" | "nd" | "rd" | "th") || lang != Lang::English {
        return None;
    }
    let value: u64 = digits.parse().ok()?;
    Some(ordinal_english(value))
}

fn ordinal_english(value: u64) -> String {
    let words = cardinal(value, Lang::English);
    let (head, last) = match words.rsplit_once(' ') {
        Some((h, l)) => (format!("{h} "), l.to_owned()),
        None => (String::new(), words),
    };
    let last = match last.as_str() {
        "one" => "first".to_owned(),
        "two" => "second".to_owned(),
        "three" => "third".to_owned(),
        "five" => "fifth".to_owned(),
        "eight" => "eighth".to_owned(),
        "nine" => "ninth".to_owned(),
        "twelve" => "twelfth".to_owned(),
        w if w.ends_with('y') => format!("{}ieth", w.trim_end_matches('y')),
        w => format!("{w}th"),
    };
    format!("{head}{last}")
}

/// "kate.doyle88@outlook.com" → "kate dot doyle eighty eight at outlook dot com".
fn spoken_email(address: &str, lang: Lang) -> String {
    let (at, dot) = match lang {
        Lang::English => ("at", "dot"),
        Lang::Spanish => ("arroba", "punto"),
    };
    let Some((local, domain)) = address.split_once('@') else {
        return address.to_owned();
    };
    let mut words: Vec<String> = Vec::new();
    let mut run = String::new();
    let flush = |run: &mut String, words: &mut Vec<String>| {
        if run.is_empty() {
            return;
        }
        if run.chars().all(|c| c.is_ascii_digit()) {
            let spoken = if run.len() <= 2 && !(run.starts_with('0') && run.len() > 1) {
                run.parse().map(|v| cardinal(v, lang)).unwrap_or_default()
            } else {
                spoken_integer_token(run, lang)
            };
            words.push(spoken);
        } else {
            words.push(run.clone());
        }
        run.clear();
    };
    let mut last_digit: Option<bool> = None;
    for c in local.chars() {
        let sep = match c {
            '.' => Some(dot),
            '_' => Some(if lang == Lang::Spanish {
                "guion bajo"
            } else {
                "underscore"
            }),
            '-' => Some(if lang == Lang::Spanish {
                "guion"
            } else {
                "dash"
            }),
            '+' => Some("plus"),
            _ => None,
        };
        if let Some(sep) = sep {
            flush(&mut run, &mut words);
            words.push(sep.to_owned());
            last_digit = None;
            continue;
        }
        let is_digit = c.is_ascii_digit();
        if last_digit.is_some_and(|d| d != is_digit) {
            flush(&mut run, &mut words);
        }
        last_digit = Some(is_digit);
        run.push(c);
    }
    flush(&mut run, &mut words);
    words.push(at.to_owned());
    let labels: Vec<String> = domain
        .split('.')
        .map(|l| {
            l.replace(
                '-',
                &format!(
                    " {} ",
                    if lang == Lang::Spanish {
                        "guion"
                    } else {
                        "dash"
                    }
                ),
            )
        })
        .collect();
    words.push(labels.join(&format!(" {dot} ")));
    words.join(" ")
}

/// A cardinal number in words.
pub fn cardinal(value: u64, lang: Lang) -> String {
    match lang {
        Lang::English => cardinal_english(value),
        Lang::Spanish => cardinal_spanish(value),
    }
}

fn cardinal_english(n: u64) -> String {
    const ONES: [&str; 20] = [
        "zero",
        "one",
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
    ];
    const TENS: [&str; 10] = [
        "", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
    ];
    let below_thousand = |n: u64| -> String {
        let mut parts: Vec<String> = Vec::new();
        let (h, rest) = (n / 100, n % 100);
        if h > 0 {
            parts.push(format!(
                "{} hundred",
                ONES.get(h as usize).copied().unwrap_or("")
            ));
        }
        if rest > 0 || h == 0 {
            if rest < 20 {
                parts.push(ONES.get(rest as usize).copied().unwrap_or("").to_owned());
            } else {
                let t = TENS.get((rest / 10) as usize).copied().unwrap_or("");
                if rest % 10 == 0 {
                    parts.push(t.to_owned());
                } else {
                    parts.push(format!(
                        "{t} {}",
                        ONES.get((rest % 10) as usize).copied().unwrap_or("")
                    ));
                }
            }
        }
        parts.join(" ")
    };
    if n < 1000 {
        return below_thousand(n);
    }
    let mut parts: Vec<String> = Vec::new();
    for (scale, name) in [
        (1_000_000_000, "billion"),
        (1_000_000, "million"),
        (1_000, "thousand"),
    ] {
        let q = (n / scale) % 1000;
        if q > 0 {
            parts.push(format!("{} {name}", below_thousand(q)));
        }
    }
    let rest = n % 1000;
    if rest > 0 {
        parts.push(below_thousand(rest));
    }
    parts.join(" ")
}

fn cardinal_spanish(n: u64) -> String {
    const UNITS: [&str; 30] = [
        "cero",
        "uno",
        "dos",
        "tres",
        "cuatro",
        "cinco",
        "seis",
        "siete",
        "ocho",
        "nueve",
        "diez",
        "once",
        "doce",
        "trece",
        "catorce",
        "quince",
        "dieciséis",
        "diecisiete",
        "dieciocho",
        "diecinueve",
        "veinte",
        "veintiuno",
        "veintidós",
        "veintitrés",
        "veinticuatro",
        "veinticinco",
        "veintiséis",
        "veintisiete",
        "veintiocho",
        "veintinueve",
    ];
    const TENS: [&str; 10] = [
        "",
        "",
        "",
        "treinta",
        "cuarenta",
        "cincuenta",
        "sesenta",
        "setenta",
        "ochenta",
        "noventa",
    ];
    const HUNDREDS: [&str; 10] = [
        "",
        "ciento",
        "doscientos",
        "trescientos",
        "cuatrocientos",
        "quinientos",
        "seiscientos",
        "setecientos",
        "ochocientos",
        "novecientos",
    ];
    let below_hundred = |n: u64| -> String {
        if n < 30 {
            UNITS.get(n as usize).copied().unwrap_or("").to_owned()
        } else {
            let t = TENS.get((n / 10) as usize).copied().unwrap_or("");
            if n % 10 == 0 {
                t.to_owned()
            } else {
                format!(
                    "{t} y {}",
                    UNITS.get((n % 10) as usize).copied().unwrap_or("")
                )
            }
        }
    };
    let below_thousand = |n: u64| -> String {
        if n == 100 {
            return "cien".to_owned();
        }
        let (h, rest) = (n / 100, n % 100);
        let mut parts: Vec<String> = Vec::new();
        if h > 0 {
            parts.push(HUNDREDS.get(h as usize).copied().unwrap_or("").to_owned());
        }
        if rest > 0 || h == 0 {
            parts.push(below_hundred(rest));
        }
        parts.join(" ")
    };
    if n < 1000 {
        return below_thousand(n);
    }
    let mut parts: Vec<String> = Vec::new();
    let millions = n / 1_000_000;
    if millions > 0 {
        parts.push(if millions == 1 {
            "un millón".to_owned()
        } else {
            format!("{} millones", below_thousand(millions % 1000))
        });
    }
    let thousands = (n / 1000) % 1000;
    if thousands > 0 {
        parts.push(if thousands == 1 {
            "mil".to_owned()
        } else {
            format!("{} mil", below_thousand(thousands))
        });
    }
    let rest = n % 1000;
    if rest > 0 {
        parts.push(below_thousand(rest));
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_text_becomes_raw_asr() {
        let cases = [
            ("Hi! My name's Dana, I'm calling about a quote.", "hi my name's dana i'm calling about a quote"),
            ("So that's kate.doyle88@outlook.com?", "so that's kate dot doyle eighty eight at outlook dot com"),
            ("Budget is $450k, maybe $450,000.", "budget is four hundred fifty thousand dollars maybe four hundred fifty thousand dollars"),
            ("It's $49.99 a month", "it's forty nine dollars ninety nine cents a month"),
            ("Call me at 512-555-0143.", "call me at five one two five five five oh one four three"),
            ("Tuesday at 3:30 or 10am?", "tuesday at three thirty or ten a m"),
            ("March 3rd, 2024", "march third twenty twenty four"),
            ("K A T H E R I N E, Doyle.", "k a t h e r i n e doyle"),
            ("J-O-N", "j o n"),
            ("about 50% off", "about fifty percent off"),
            ("account 5518302", "account five five one eight three oh two"),
            ("We have 3 rooms", "we have three rooms"),
            ("a 3-bedroom house", "a three bedroom house"),
            ("jon.smith_2@gmail.com", "jon dot smith underscore two at gmail dot com"),
            ("go to acme.com", "go to acme dot com"),
            ("the 21st", "the twenty first"),
        ];
        for (written, want) in cases {
            assert_eq!(transform(written, Lang::English), want, "{written}");
        }
    }

    #[test]
    fn spanish_text_becomes_raw_asr() {
        let cases = [
            (
                "Es rosa.delgado@hotmail.com, gracias.",
                "es rosa punto delgado arroba hotmail punto com gracias",
            ),
            (
                "Cuesta $450 al mes.",
                "cuesta cuatrocientos cincuenta dólares al mes",
            ),
            ("Tengo 35 años", "tengo treinta y cinco años"),
            ("el 2024", "el dos mil veinticuatro"),
        ];
        for (written, want) in cases {
            assert_eq!(transform(written, Lang::Spanish), want, "{written}");
        }
    }

    #[test]
    fn the_transform_reads_back_through_the_normaliser() {
        use postcall::analysis::spoken::Utterance;
        for (address, lang) in [
            ("kate.doyle88@outlook.com", Lang::English),
            ("jon.smith_2@gmail.com", Lang::English),
            ("rosa.delgado@hotmail.com", Lang::Spanish),
            ("maria1985@yahoo.com", Lang::English),
            ("a-b@acme.co.uk", Lang::English),
        ] {
            let spoken = transform(&format!("it's {address}"), lang);
            let read: Vec<String> = Utterance::new(&spoken, lang)
                .emails()
                .into_iter()
                .map(|e| e.address)
                .collect();
            assert_eq!(read, [address], "{spoken}");
        }
    }

    #[test]
    fn cardinals() {
        assert_eq!(cardinal(0, Lang::English), "zero");
        assert_eq!(cardinal(88, Lang::English), "eighty eight");
        assert_eq!(cardinal(1_500, Lang::English), "one thousand five hundred");
        assert_eq!(
            cardinal(450_000, Lang::English),
            "four hundred fifty thousand"
        );
        assert_eq!(cardinal(100, Lang::Spanish), "cien");
        assert_eq!(cardinal(135, Lang::Spanish), "ciento treinta y cinco");
        assert_eq!(cardinal(2_024, Lang::Spanish), "dos mil veinticuatro");
        assert_eq!(cardinal(1_000_000, Lang::Spanish), "un millón");
    }
}
