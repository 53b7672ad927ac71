//! Email addresses as people say them, in English and Spanish: "kate dot doyle eighty eight at
//! outlook dot com", "j o n underscore smith at g mail", "maria punto gomez arroba hotmail
//! punto com", "all one word", "no dots", "b as in boy", "dash like a hyphen", and written
//! addresses. The local part is read backwards from "at" until a word that cannot be part of
//! it ("my email is…", "yeah it's…"); the domain forwards until its top-level domain.

use super::letters::SpelledRun;
use super::numbers::NumberSpan;
use super::words::Word;

/// An address read from an utterance, with the words it was said in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpokenEmail {
    /// The address, lower case ("kate.doyle88@outlook.com").
    pub address: String,
    /// First word of the address.
    pub start: usize,
    /// One past its last word.
    pub end: usize,
    /// Written as an address ("kate.doyle88@outlook.com"), not spoken.
    pub written: bool,
}

/// What a word (or a few) contributes to a spoken address.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    /// "at", "@", "arroba".
    At,
    /// "dot", "underscore", "dash"… as the character they stand for.
    Sep(char),
    /// Letters, digits or a word of the address.
    Chunk(String, Chunk),
    /// A written address ("kate.doyle88@outlook.com").
    Written(String),
    /// "all one word", "lowercase", "the number": says how to write it, adds nothing.
    Instruction {
        /// "no dots", "sin puntos": the local part has no dots.
        no_dots: bool,
    },
    /// A filler ("um"), passed over.
    Filler,
    /// Anything else: the address cannot run through it.
    Break,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    /// Spelled letters.
    Letters,
    /// Digits, said as number words or written.
    Digits,
    /// A word, said whole.
    Word,
}

/// A piece with the words `start..end` it came from.
#[derive(Debug, Clone)]
struct Placed {
    piece: Piece,
    start: usize,
    end: usize,
    /// Clause punctuation follows its last word.
    clause_end: bool,
    /// A sentence ends after it (`.`, `?`, `!`), not just a clause (`,`).
    sentence_end: bool,
    /// An instruction that the words before it are one ("all one word", "todo junto").
    one_word: bool,
}

/// Separator words and the character they stand for (`(words, char)`; a word list is
/// matched in order).
const SEPARATORS: &[(&[&str], char)] = &[
    (&["guion", "bajo"], '_'),
    (&["guión", "bajo"], '_'),
    (&["under", "score"], '_'),
    (&["underscore"], '_'),
    (&["underline"], '_'),
    (&["dot"], '.'),
    (&["period"], '.'),
    (&["point"], '.'),
    (&["punto"], '.'),
    (&["dash"], '-'),
    (&["hyphen"], '-'),
    (&["minus"], '-'),
    (&["guion"], '-'),
    (&["guión"], '-'),
    (&["plus"], '+'),
];

/// How-to-write-it phrases (`(words, no_dots)`).
const INSTRUCTIONS: &[(&[&str], bool)] = &[
    (&["all", "one", "word"], false),
    (&["one", "word"], false),
    (&["all", "together"], false),
    (&["no", "spaces"], false),
    (&["all", "lowercase"], false),
    (&["all", "lower", "case"], false),
    (&["lowercase"], false),
    (&["lower", "case"], false),
    (&["no", "dots"], true),
    (&["no", "dot"], true),
    (&["no", "periods"], true),
    (&["without", "dots"], true),
    (&["todo", "junto"], false),
    (&["todo", "en", "minúsculas"], false),
    (&["en", "minúsculas"], false),
    (&["minúsculas"], false),
    (&["sin", "puntos"], true),
    (&["sin", "espacios"], false),
    (&["the", "number"], false),
    (&["the", "numbers"], false),
    (&["number"], false),
    (&["numbers"], false),
    (&["no", "space"], false),
    (&["no", "apostrophe"], false),
    (&["without", "the", "apostrophe"], false),
    (&["sin", "acento"], false),
    (&["sin", "tilde"], false),
    (&["con", "acento"], false),
    (&["the", "letter"], false),
    (&["letter"], false),
    (&["el", "número"], false),
    (&["la", "letra"], false),
];

const AT_WORDS: &[&[&str]] = &[
    &["at", "sign"],
    &["at", "symbol"],
    // Indian English.
    &["at", "the", "rate", "of"],
    &["at", "the", "rate"],
    // "arroba" as ASR often splits it.
    &["a", "roba"],
    &["at"],
    &["@"],
    &["arroba"],
];

const FILLERS: &[&str] = &[
    "um", "uh", "umm", "uhh", "er", "erm", "hmm", "eh", "este", "then",
];

/// Words that end a local part read backwards: whoever says "my email is" or "yeah it's"
/// is about to start the address.
const LEAD_INS: &[&str] = &[
    "is",
    "it's",
    "its",
    "it",
    "email",
    "e-mail",
    "emails",
    "mail",
    "address",
    "correo",
    "electrónico",
    "electronico",
    "es",
    "my",
    "mi",
    "the",
    "me",
    "to",
    "send",
    "use",
    "under",
    "try",
    "that's",
    "thats",
    "that",
    "yeah",
    "yes",
    "yep",
    "sure",
    "ok",
    "okay",
    "so",
    "and",
    "or",
    "well",
    "like",
    "actually",
    "no",
    "sorry",
    "oh",
    "um",
    "uh",
    "sí",
    "si",
    "claro",
    "bueno",
    "pues",
    "y",
    "an",
    "be",
    "was",
    "am",
    "i",
    "i'm",
    "we",
    "you",
    "your",
    "our",
    "his",
    "her",
    "their",
    "gmail",
    "hotmail",
    "outlook",
    "yahoo",
    "at",
    "with",
    "for",
    "from",
    "on",
    "in",
    "of",
    "by",
    "please",
    "just",
    "now",
    "here",
    "there",
    "this",
    "but",
    "also",
    "okay",
    "alright",
    "right",
    "correct",
    "think",
    "thing",
    "one",
    "other",
    "new",
    "old",
    "work",
    "personal",
    "main",
    "best",
    "good",
    "reach",
    "contact",
    "send",
    "sent",
    "write",
    "says",
    "said",
    "say",
    "called",
    "spelled",
    "spell",
    "an",
    "que",
    "de",
    "la",
    "el",
    "en",
    "con",
    "para",
    "dirección",
    "direccion",
    "ese",
    "esa",
    "ok",
    "put",
    "wait",
    "mean",
    "perdon",
    "perdón",
    "electronico",
    "change",
    "instead",
    "let",
    "make",
    "uses",
    "using",
    "as",
    "have",
    "has",
    "had",
    "got",
    "were",
    "heard",
    "hear",
    "escuche",
    "aparece",
    "tengo",
    "tenemos",
    "repito",
    "list",
    "said",
    "say",
    "an",
    "still",
    "file",
    "same",
    "confirm",
    "update",
    "updated",
    "changed",
];

/// Instructions that join the words before them into one.
const ONE_WORD: &[&[&str]] = &[
    &["all", "one", "word"],
    &["one", "word"],
    &["all", "together"],
    &["no", "spaces"],
    &["no", "space"],
    &["todo", "junto"],
    &["sin", "espacios"],
];

/// Letter names that are no English word, read as the letter inside an address.
const SPOKEN_LETTERS: &[(&str, char)] = &[
    ("eme", 'm'),
    ("ene", 'n'),
    ("ele", 'l'),
    ("jota", 'j'),
    ("hache", 'h'),
    ("equis", 'x'),
    ("zeta", 'z'),
    ("erre", 'r'),
    ("efe", 'f'),
    ("uve", 'v'),
    ("aitch", 'h'),
    ("zed", 'z'),
];

/// Words that take back what was just said inside a domain ("at gmail sorry hotmail").
const DOMAIN_CORRECTIONS: &[&str] = &["sorry", "no", "perdon", "actually", "wait"];

/// Email providers said as words, with their domain.
const PROVIDERS: &[(&[&str], &str)] = &[
    (&["gmail"], "gmail.com"),
    (&["g", "mail"], "gmail.com"),
    (&["gee", "mail"], "gmail.com"),
    (&["g-mail"], "gmail.com"),
    (&["google", "mail"], "gmail.com"),
    (&["hotmail"], "hotmail.com"),
    (&["hot", "mail"], "hotmail.com"),
    (&["outlook"], "outlook.com"),
    (&["out", "look"], "outlook.com"),
    (&["yahoo"], "yahoo.com"),
    (&["ya", "who"], "yahoo.com"),
    (&["icloud"], "icloud.com"),
    (&["i", "cloud"], "icloud.com"),
    (&["aol"], "aol.com"),
    (&["a", "o", "l"], "aol.com"),
    (&["protonmail"], "protonmail.com"),
    (&["proton", "mail"], "protonmail.com"),
    (&["proton"], "proton.me"),
    (&["msn"], "msn.com"),
    (&["comcast"], "comcast.net"),
    (&["verizon"], "verizon.net"),
];

/// Top-level domains (and second levels said as words) with their mis-hearings.
fn top_level(word: &str) -> Option<&'static str> {
    let tld = match word {
        "com" | "calm" | "come" | "comb" | "con" | "kom" => "com",
        "net" | "nett" => "net",
        "org" => "org",
        "edu" => "edu",
        "gov" => "gov",
        "io" => "io",
        "co" => "co",
        "us" => "us",
        "uk" => "uk",
        "ca" => "ca",
        "es" => "es",
        "mx" => "mx",
        "ar" => "ar",
        "cl" => "cl",
        "pe" => "pe",
        "me" => "me",
        "info" => "info",
        "biz" => "biz",
        "app" => "app",
        "dev" => "dev",
        "ai" => "ai",
        "it" => "it",
        "de" => "de",
        "fr" => "fr",
        "ie" => "ie",
        "au" => "au",
        "nz" => "nz",
        "in" => "in",
        "br" => "br",
        "nl" => "nl",
        "pt" => "pt",
        "ec" => "ec",
        "ve" => "ve",
        "gt" => "gt",
        "pr" => "pr",
        "cr" => "cr",
        "uy" => "uy",
        "design" => "design",
        "studio" => "studio",
        "shop" => "shop",
        "store" => "store",
        "online" => "online",
        "tech" => "tech",
        "agency" => "agency",
        "law" => "law",
        "art" => "art",
        "club" => "club",
        "life" => "life",
        "site" => "site",
        "email" => "email",
        "services" => "services",
        "consulting" => "consulting",
        "health" => "health",
        "dental" => "dental",
        "realty" => "realty",
        "homes" => "homes",
        "legal" => "legal",
        "media" => "media",
        "group" => "group",
        "solutions" => "solutions",
        "xyz" => "xyz",
        "fm" => "fm",
        "family" => "family",
        "tv" => "tv",
        "ly" => "ly",
        "us." => "us",
        _ => return None,
    };
    Some(tld)
}

fn matches_at(words: &[Word<'_>], at: usize, phrase: &[&str]) -> bool {
    phrase.iter().enumerate().all(|(k, p)| {
        words
            .get(at + k)
            .is_some_and(|w| w.lower == *p && (k + 1 == phrase.len() || !w.clause_end))
    })
}

/// ASCII letters and digits of a word, accents folded ("maría" → "maria"); `None` when the
/// word holds anything an address cannot.
fn ascii_word(lower: &str) -> Option<String> {
    let mut out = String::with_capacity(lower.len());
    for c in lower.chars() {
        let folded = match c {
            'á' | 'à' | 'â' | 'ä' | 'ã' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'í' | 'ì' | 'î' | 'ï' => 'i',
            'ó' | 'ò' | 'ô' | 'ö' | 'õ' => 'o',
            'ú' | 'ù' | 'û' | 'ü' => 'u',
            'ñ' => 'n',
            'ç' => 'c',
            c if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+') => c,
            _ => return None,
        };
        out.push(folded);
    }
    (!out.is_empty()).then_some(out)
}

/// True for a written address: one `@`, a dotted domain, address characters only.
pub fn is_written_address(lower: &str) -> bool {
    let Some((local, domain)) = lower.split_once('@') else {
        return false;
    };
    let ok = |s: &str| {
        !s.is_empty()
            && !s.starts_with('.')
            && !s.ends_with('.')
            && !s.contains("..")
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+'))
    };
    ok(local)
        && ok(domain)
        && domain.contains('.')
        && domain
            .rsplit('.')
            .next()
            .is_some_and(|tld| tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()))
}

/// Reads an utterance into pieces.
fn pieces(words: &[Word<'_>], numbers: &[NumberSpan], runs: &[SpelledRun]) -> Vec<Placed> {
    let mut out = Vec::with_capacity(words.len());
    let mut i = 0;
    let place = |piece: Piece, start: usize, end: usize| Placed {
        piece,
        start,
        end,
        clause_end: words
            .get(end.saturating_sub(1))
            .is_some_and(|w| w.clause_end),
        sentence_end: words
            .get(end.saturating_sub(1))
            .is_some_and(|w| matches!(w.punct, Some('.' | '?' | '!' | '…'))),
        one_word: words.get(start..end).is_some_and(|ws| {
            let said: Vec<&str> = ws.iter().map(|w| w.lower.as_str()).collect();
            ONE_WORD.contains(&said.as_slice())
        }),
    };
    while let Some(word) = words.get(i) {
        // "all one word" before "one" is read as a number.
        if let Some((phrase, no_dots)) = INSTRUCTIONS
            .iter()
            .find(|(p, _)| p.len() > 1 && matches_at(words, i, p))
        {
            out.push(place(
                Piece::Instruction { no_dots: *no_dots },
                i,
                i + phrase.len(),
            ));
            i += phrase.len();
            // "the letter g", "la letra ge": the next word is one letter.
            let letter_next = matches!(phrase.last(), Some(&"letter") | Some(&"letra"));
            if letter_next {
                if let Some(c) = words
                    .get(i)
                    .and_then(|w| super::letters::letter_of(&w.lower))
                {
                    out.push(place(Piece::Chunk(c.to_string(), Chunk::Letters), i, i + 1));
                    i += 1;
                }
            }
            continue;
        }
        if let Some(run) = runs.iter().find(|r| r.start == i) {
            out.push(place(
                Piece::Chunk(run.letters.clone(), Chunk::Letters),
                i,
                run.end,
            ));
            i = run.end;
            continue;
        }
        if let Some(n) = numbers
            .iter()
            .find(|n| n.start == i && !n.ordinal && !n.digits.contains('.'))
        {
            out.push(place(
                Piece::Chunk(n.digits.clone(), Chunk::Digits),
                i,
                n.end,
            ));
            i = n.end;
            continue;
        }
        let lower = word.lower.as_str();
        // "@ochoabuilders.com": the at sign written onto the domain.
        if let Some(domain) = lower
            .strip_prefix('@')
            .filter(|d| d.contains('.') && !d.contains('@'))
        {
            out.push(place(Piece::At, i, i + 1));
            out.push(place(
                Piece::Chunk(domain.trim_end_matches('.').to_owned(), Chunk::Word),
                i,
                i + 1,
            ));
            i += 1;
            continue;
        }
        if lower.contains('@') {
            let address = lower.trim_end_matches('.');
            let piece = if is_written_address(address) {
                Piece::Written(address.to_owned())
            } else {
                Piece::Break
            };
            out.push(place(piece, i, i + 1));
            i += 1;
            continue;
        }
        if let Some(phrase) = AT_WORDS.iter().find(|p| matches_at(words, i, p)) {
            out.push(place(Piece::At, i, i + phrase.len()));
            i += phrase.len();
            continue;
        }
        if let Some((phrase, c)) = SEPARATORS.iter().find(|(p, _)| matches_at(words, i, p)) {
            out.push(place(Piece::Sep(*c), i, i + phrase.len()));
            i += phrase.len();
            continue;
        }
        if lower == "dotcom" {
            out.push(place(Piece::Sep('.'), i, i + 1));
            out.push(place(Piece::Chunk("com".to_owned(), Chunk::Word), i, i + 1));
            i += 1;
            continue;
        }
        // "con zeta", "with a k": a hint about a letter, not part of the address.
        let hint_letter = |k: usize| {
            words
                .get(k)
                .is_some_and(|w| super::letters::letter_of(&w.lower).is_some())
        };
        let hint_len = match lower {
            "con" | "sin" | "without" if hint_letter(i + 1) => 2,
            "with"
                if words
                    .get(i + 1)
                    .is_some_and(|w| w.lower == "a" || w.lower == "an")
                    && hint_letter(i + 2) =>
            {
                3
            }
            _ => 0,
        };
        if hint_len > 0 {
            out.push(place(
                Piece::Instruction { no_dots: false },
                i,
                i + hint_len,
            ));
            i += hint_len;
            continue;
        }
        if let Some((phrase, no_dots)) = INSTRUCTIONS.iter().find(|(p, _)| matches_at(words, i, p))
        {
            out.push(place(
                Piece::Instruction { no_dots: *no_dots },
                i,
                i + phrase.len(),
            ));
            i += phrase.len();
            continue;
        }
        // "lucía punto herrera punto eme": a letter named in Spanish (or "zed", "aitch").
        if let Some(c) = SPOKEN_LETTERS
            .iter()
            .find(|(w, _)| *w == lower)
            .map(|(_, c)| *c)
        {
            out.push(place(Piece::Chunk(c.to_string(), Chunk::Letters), i, i + 1));
            i += 1;
            continue;
        }
        let piece = if FILLERS.contains(&lower) {
            Piece::Filler
        } else if word.is_symbol() {
            Piece::Break
        } else {
            match ascii_word(lower) {
                // A written domain or local part with its own dots ("gmail.com", "kate.doyle").
                Some(w) => Piece::Chunk(w, Chunk::Word),
                None => Piece::Break,
            }
        };
        out.push(place(piece, i, i + 1));
        i += 1;
    }
    out
}

/// The most words one label of a domain is said in ("halvorsen eng", "baptiste tax
/// services").
const MAX_LABEL_WORDS: usize = 4;

/// The next piece after `k` that is not a filler or an instruction.
fn next_piece(pieces: &[Placed], k: usize) -> Option<&Piece> {
    pieces
        .get(k + 1..)?
        .iter()
        .map(|p| &p.piece)
        .find(|p| !matches!(p, Piece::Filler | Piece::Instruction { .. }))
}

/// True when the next piece continues the provider said so far into a longer one.
fn extends_provider(label: &str, next: Option<&Piece>) -> bool {
    let Some(Piece::Chunk(text, _)) = next else {
        return false;
    };
    let longer = format!("{label}{text}");
    PROVIDERS.iter().any(|(words, _)| words.concat() == longer)
}

fn provider_domain(joined: &str) -> Option<&'static str> {
    PROVIDERS
        .iter()
        .find(|(words, _)| words.concat() == joined)
        .map(|(_, domain)| *domain)
}

/// A domain: the words after "at", up to and including a top-level domain, or a known
/// provider said alone ("at gmail"). Returns the domain and the index of its last piece.
fn read_domain(pieces: &[Placed], at: usize) -> Option<(String, usize)> {
    let mut labels: Vec<String> = vec![String::new()];
    let mut words_in_label = 0;
    // The chunk said last in this label, to drop its spelling (or the word after its spelling).
    let mut said_in_label: Option<(String, Chunk)> = None;
    let mut last = None;
    let mut k = at + 1;
    while let Some(p) = pieces.get(k) {
        match &p.piece {
            Piece::Filler | Piece::Instruction { .. } => {}
            Piece::Chunk(text, kind) => {
                // "corvantis c o r v a n t i s dot i o": a label and its spelling are one.
                if said_in_label
                    .as_ref()
                    .is_some_and(|(t, k)| t == text && spelled_and_said(*k, *kind))
                {
                    said_in_label = None;
                    last = Some(k);
                    k += 1;
                    continue;
                }
                said_in_label = Some((text.clone(), *kind));
                if words_in_label >= MAX_LABEL_WORDS {
                    return None;
                }
                // "at gmail sorry hotmail dot com": the provider said last is the one.
                if labels.len() == 1 && DOMAIN_CORRECTIONS.contains(&text.as_str()) {
                    if let Some(first) = labels.first_mut() {
                        first.clear();
                    }
                    words_in_label = 0;
                    k += 1;
                    continue;
                }
                let mut parts = text.split('.').filter(|s| !s.is_empty());
                if let Some(first) = parts.next() {
                    labels.last_mut()?.push_str(first);
                }
                labels.extend(parts.map(str::to_owned));
                words_in_label += 1;
                last = Some(k);
                let next = next_piece(pieces, k);
                let dotted_next = matches!(next, Some(Piece::Sep('.')));
                if labels.len() >= 2 {
                    let is_tld = labels.last().and_then(|l| top_level(l)).is_some();
                    // "co dot uk": a second level may follow a top-level domain.
                    if is_tld && !dotted_next {
                        break;
                    }
                } else {
                    let chunk_next = matches!(next, Some(Piece::Chunk(..) | Piece::Sep('-')));
                    let label = labels.first().map_or("", String::as_str);
                    // "proton" is a provider, and so is "proton mail".
                    let corrected_next = matches!(next, Some(Piece::Chunk(t, _)) if DOMAIN_CORRECTIONS.contains(&t.as_str()));
                    let provider = provider_domain(label).is_some()
                        && !extends_provider(label, next)
                        && !corrected_next;
                    if p.clause_end || !(dotted_next || chunk_next) || (provider && !dotted_next) {
                        break;
                    }
                }
            }
            Piece::Sep('.') => {
                if labels.last().is_none_or(String::is_empty) {
                    break;
                }
                labels.push(String::new());
                words_in_label = 0;
                said_in_label = None;
            }
            Piece::Sep('-') => labels.last_mut()?.push('-'),
            _ => break,
        }
        k += 1;
    }
    let last = last?;
    while labels
        .last()
        .is_some_and(|l| l.is_empty() || l.ends_with('-'))
    {
        labels.pop();
    }
    let first = labels.first()?.clone();
    if labels.len() == 1 {
        // No top-level domain said: a known provider gets its own.
        return provider_domain(&first).map(|d| (d.to_owned(), last));
    }
    // A mis-heard provider keeps its real name ("gee mail dot com").
    let first = provider_domain(&first)
        .and_then(|d| d.split('.').next())
        .map_or(first, str::to_owned);
    let tail: Vec<&str> = labels
        .iter()
        .skip(1)
        .map(|l| top_level(l).unwrap_or(l.as_str()))
        .collect();
    tail.last().and_then(|l| top_level(l))?;
    Some((format!("{first}.{}", tail.join(".")), last))
}

/// True for a word and its spelling, in either order ("sean s e a n", "c a r y n caryn").
fn spelled_and_said(a: Chunk, b: Chunk) -> bool {
    matches!(
        (a, b),
        (Chunk::Word, Chunk::Letters) | (Chunk::Letters, Chunk::Word)
    )
}

/// True when the pieces just before `k` run back to an "at" through address pieces only: the
/// words before `k` are the domain of an address said before ("…at comcast dot net p
/// lindqvist at…"), not a local part of their own ("n whitman dot art at gmail"). (A domain
/// ending that opens the utterance, "dot co j o l e n e at…", finishes the turn before.)
fn follows_an_at(pieces: &[Placed], k: usize) -> bool {
    pieces[..k.min(pieces.len())]
        .iter()
        .rev()
        .take(2 * MAX_LABEL_WORDS + 2)
        .map(|p| &p.piece)
        .find(|p| !matches!(p, Piece::Chunk(..) | Piece::Sep(_) | Piece::Filler))
        .is_some_and(|p| *p == Piece::At)
}

/// The most plain words a local part is read back over without a separator between them.
const MAX_LOCAL_WORDS: usize = 3;

/// The local part: the pieces before "at", read backwards.
fn read_local(pieces: &[Placed], at: usize) -> Option<(String, usize, bool)> {
    let mut parts: Vec<&Placed> = Vec::new();
    let mut words = 0;
    let mut no_dots = false;
    let mut separated_once = false;
    let mut one_word = false;
    let mut k = at;
    while k > 0 {
        k -= 1;
        let Some(p) = pieces.get(k) else { break };
        let last_taken = parts.last().map(|l| &l.piece);
        match &p.piece {
            Piece::Filler => continue,
            Piece::Instruction { no_dots: nd } => {
                no_dots |= *nd;
                // "all one word", "todo junto": the words before it are one word.
                one_word |= pieces.get(k).is_some_and(|i| i.one_word);
                continue;
            }
            Piece::Sep(_) => {
                if matches!(last_taken, None | Some(Piece::Sep(_))) {
                    break;
                }
                separated_once = true;
            }
            Piece::Chunk(text, kind) => {
                let separated = matches!(last_taken, Some(Piece::Sep(_)));
                // "g hendricks, h e n d r i c k s, at…": the word before its spelling is the
                // same part, said once; read on past it.
                let spells = |l: &str| {
                    l == text || super::letters::letter_of(text).is_some_and(|c| l == c.to_string())
                };
                if *kind == Chunk::Word
                    && matches!(last_taken, Some(Piece::Chunk(l, Chunk::Letters)) if spells(l))
                {
                    continue;
                }
                if *kind == Chunk::Word {
                    if LEAD_INS.contains(&text.as_str()) && !separated {
                        break;
                    }
                    // "…at comcast dot net p lindqvist at…": the end of the address before.
                    let previous_domain = top_level(text).is_some()
                        && k > 0
                        && matches!(pieces.get(k - 1).map(|p| &p.piece), Some(Piece::Sep('.')))
                        && (k == 1 || follows_an_at(pieces, k - 1));
                    if previous_domain && !separated {
                        break;
                    }
                    if !separated && !parts.is_empty() {
                        // An ordinary word is not part of an address unless it stands right
                        // before "at" ("info at…"; "surgery notes jenna dot cho" is
                        // jenna.cho).
                        // Before a part joined by separators only a name or an initial runs
                        // on ("maria elena underscore castillo", "t jenkins dot 411"; not
                        // "itemized bill annette dot park").
                        let joined = no_dots || one_word;
                        let english = super::vocabulary::is_english_word(text);
                        let stop = if separated_once {
                            english && text.chars().count() > 1
                        } else {
                            super::vocabulary::is_plain_word(text)
                        };
                        if !joined && stop {
                            break;
                        }
                    }
                    if !separated {
                        words += 1;
                        if words > MAX_LOCAL_WORDS {
                            break;
                        }
                    }
                }
                // A clause break ends the address unless a separator bridges it, or it is a
                // comma between spelled letters or digits ("c b o y d, seventy-one at").
                let spelled_or_digits = *kind != Chunk::Word
                    && matches!(
                        last_taken,
                        Some(Piece::Chunk(_, Chunk::Letters | Chunk::Digits))
                    );
                let bridged = separated || (!p.sentence_end && spelled_or_digits);
                if p.clause_end && !parts.is_empty() && !bridged {
                    break;
                }
            }
            _ => break,
        }
        parts.push(p);
    }
    while parts
        .last()
        .is_some_and(|p| matches!(p.piece, Piece::Sep(_)))
    {
        parts.pop();
    }
    let start = parts.last()?.start;
    // Chunks said just before their own spelling ("c boyd c b o y d") are said once.
    let forward: Vec<&Placed> = parts.iter().rev().copied().collect();
    let mut skip = vec![false; forward.len()];
    for (i, p) in forward.iter().enumerate() {
        let Piece::Chunk(letters, Chunk::Letters) = &p.piece else {
            continue;
        };
        let mut joined = String::new();
        for j in (0..i).rev() {
            let Some(Piece::Chunk(text, Chunk::Word | Chunk::Letters)) =
                forward.get(j).map(|p| &p.piece)
            else {
                break;
            };
            joined.insert_str(0, text);
            if &joined == letters {
                for flag in skip.iter_mut().take(i).skip(j) {
                    *flag = true;
                }
                break;
            }
            if joined.len() >= letters.len() {
                break;
            }
        }
    }
    let parts: Vec<&Placed> = forward
        .into_iter()
        .zip(skip)
        .filter(|(_, s)| !s)
        .map(|(p, _)| p)
        .rev()
        .collect();
    let mut local = String::new();
    let mut previous_word: Option<(&str, Chunk)> = None;
    for p in parts.iter().rev() {
        match &p.piece {
            Piece::Sep(c) => {
                local.push(*c);
                previous_word = None;
            }
            // "sean s e a n" or "c a r y n caryn": a spelling and the word it spells, said
            // one after the other, are one part; keep one.
            Piece::Chunk(text, kind)
                if previous_word.is_some_and(|(w, k)| w == text && spelled_and_said(k, *kind)) =>
            {
                previous_word = None;
            }
            Piece::Chunk(text, kind) => {
                local.push_str(text);
                previous_word = Some((text.as_str(), *kind));
            }
            _ => {}
        }
    }
    if no_dots {
        local.retain(|c| c != '.');
    }
    // "p raman eight seven p r a m a n eight seven": said twice, once spelled.
    let half = local.len() / 2;
    if local.len() >= 6 && local.len() % 2 == 0 && local.get(..half) == local.get(half..) {
        local.truncate(half);
    }
    Some((local, start, no_dots))
}

/// Every address in an utterance, in order: written ones as they are, spoken ones read from
/// the words around "at". A second "at" with no local part of its own ("no sorry, at outlook
/// dot com") takes the one before it.
pub fn emails(words: &[Word<'_>], numbers: &[NumberSpan], runs: &[SpelledRun]) -> Vec<SpokenEmail> {
    let pieces = pieces(words, numbers, runs);
    let mut found: Vec<SpokenEmail> = Vec::new();
    let mut last_local: Option<String> = None;
    for (k, p) in pieces.iter().enumerate() {
        match &p.piece {
            Piece::Written(address) => {
                last_local = address.split_once('@').map(|(l, _)| l.to_owned());
                found.push(SpokenEmail {
                    address: address.clone(),
                    start: p.start,
                    end: p.end,
                    written: true,
                });
            }
            Piece::At => {
                let Some((domain, domain_end)) = read_domain(&pieces, k) else {
                    continue;
                };
                let end = pieces.get(domain_end).map_or(p.end, |d| d.end);
                let (local, start) = match read_local(&pieces, k) {
                    Some((local, start, _)) => (local, start),
                    None => match &last_local {
                        Some(local) => (local.clone(), p.start),
                        None => continue,
                    },
                };
                let address = format!("{local}@{domain}");
                if is_written_address(&address) {
                    last_local = Some(local);
                    found.push(SpokenEmail {
                        address,
                        start,
                        end,
                        written: false,
                    });
                }
            }
            _ => {}
        }
    }
    found
}
