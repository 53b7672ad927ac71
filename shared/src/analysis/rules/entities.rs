//! The caller's own name and email, and the call's topic. Names come from caller turns only,
//! so an agent's "this is Max from Acme" never becomes the caller's name. An email is always
//! one the caller gave or confirmed: the agent's words count only as the written form of what
//! the caller just said (a read-back) or as an address on file the caller says yes to, never
//! as an address the agent alone mentioned.

use super::email::last_email;
use super::sentiment::word_valence;
use super::text::{in_list, word_is, words_match, CallerSpeech, PreparedTurn, RawWord};
use crate::domain::{Entities, Intent};

/// Longest topic, in words.
const MAX_TOPIC_WORDS: usize = 6;
/// Longest name, in words ("Mary Ann Smith").
const MAX_NAME_WORDS: usize = 3;
/// Longest spelled-out name, in letters.
const MAX_SPELLED_LETTERS: usize = 24;

/// Phrases after which the caller says their own name even in lowercase ASR output.
const STRONG_NAME_CUES: &[&[&str]] = &[
    &["my", "name", "is"],
    &["my", "name's"],
    &["me", "llamo"],
    &["mi", "nombre", "es"],
];

/// Phrases that introduce a name only when a capitalised word follows ("this is Dana", not
/// "this is ridiculous").
const WEAK_NAME_CUES: &[&[&str]] = &[
    &["name", "is"],
    &["name's"],
    &["this", "is"],
    &["it's"],
    &["it", "is"],
    &["i'm"],
    &["im"],
    &["i", "am"],
    &["call", "me"],
    &["soy"],
];

/// Words before a cue that mark a correction of an earlier name.
const CORRECTION_WORDS: &str = "actually sorry correction mean no oops wait rather";

const COMMON_WORDS: &str =
    "calling looking interested not just here there trying wondering having getting going \
    hoping thinking still also actually really very so too back ready done sure afraid sorry \
    fine okay ok good well new a an the my your our his her their this that what who about \
    in on at from with for to hi hello hey yes yeah no thanks please um uh like dr doctor mr \
    mrs ms miss sir madam monday tuesday wednesday thursday friday saturday sunday today \
    tomorrow i it we you he she they available free busy home outside driving curious \
    confused pretty kind sort currently planning needing wanting asking phoning ringing \
    reaching following returning correct right true possible urgent important regarding \
    concerning because over under all one someone nobody everyone gonna wanna en de la el \
    muy bien nuevo nueva cliente yo esto january february march july september october \
    november december alright right account number";

/// Capitalised words that follow "I'm"/"this is" without being a name, and titles that mark
/// someone else ("Dr. Patel").
fn is_common_word(lower: &str) -> bool {
    in_list(COMMON_WORDS, lower)
}

/// The lowercase form when `word` can be (part of) a name.
fn name_word(word: &str, require_capital: bool) -> Option<String> {
    let mut chars = word.chars();
    let first = chars.next()?;
    let count = word.chars().count();
    let shaped = first.is_alphabetic()
        && (2..=30).contains(&count)
        && word
            .chars()
            .all(|c| c.is_alphabetic() || matches!(c, '-' | '\'' | '’'))
        && !word.ends_with("'s")
        && !word.ends_with("’s");
    if !shaped || (require_capital && !first.is_uppercase()) {
        return None;
    }
    let lower = word.to_lowercase();
    (!is_common_word(&lower) && word_valence(&lower).is_none()).then_some(lower)
}

fn is_single_letter(word: &str) -> bool {
    let mut chars = word.chars();
    chars.next().is_some_and(char::is_alphabetic) && chars.next().is_none()
}

fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
}

/// Letters spelled one by one from `start` ("J O N"), as a capitalised word, when there are
/// at least two.
fn spelled_from(words: &[RawWord<'_>], start: usize) -> Option<String> {
    let rest = words.get(start..)?;
    let mut count = 0;
    for w in rest.iter().take(MAX_SPELLED_LETTERS) {
        if !is_single_letter(w.text) {
            break;
        }
        count += 1;
        // "D E V O N, A K E R S" spells two words.
        if w.clause_end {
            break;
        }
    }
    // "W O 8 8 1 2" is a reference number, not a name.
    let followed_by_digit = rest
        .get(count)
        .is_some_and(|w| w.text.chars().next().is_some_and(|c| c.is_ascii_digit()));
    let letters: String = rest
        .get(..count)?
        .iter()
        .flat_map(|w| w.text.chars().flat_map(char::to_lowercase))
        .collect();
    (count >= 2 && !followed_by_digit && letters.chars().all(char::is_alphabetic))
        .then(|| capitalise(&letters))
}

/// Levenshtein distance of two short words, by chars.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row.first().copied().unwrap_or(0);
        if let Some(first) = row.first_mut() {
            *first = i + 1;
        }
        for (j, cb) in b.iter().enumerate() {
            let above = row.get(j + 1).copied().unwrap_or(0);
            let left = row.get(j).copied().unwrap_or(0);
            let value = (diagonal + usize::from(ca != *cb))
                .min(above + 1)
                .min(left + 1);
            diagonal = above;
            if let Some(cell) = row.get_mut(j + 1) {
                *cell = value;
            }
        }
    }
    row.last().copied().unwrap_or(0)
}

/// Folds the accents ASR and callers drop when spelling ("Søren" is spelled "S O R E N").
fn fold_accents(word: &str) -> String {
    word.chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'á' | 'à' | 'â' | 'ä' | 'ã' | 'å' | 'ā' => 'a',
            'é' | 'è' | 'ê' | 'ë' | 'ē' | 'ę' => 'e',
            'í' | 'ì' | 'î' | 'ï' => 'i',
            'ó' | 'ò' | 'ô' | 'ö' | 'õ' | 'ø' | 'ő' => 'o',
            'ú' | 'ù' | 'û' | 'ü' | 'ű' => 'u',
            'ñ' | 'ń' => 'n',
            'ç' | 'ć' | 'č' => 'c',
            'š' | 'ś' | 'ş' => 's',
            'ž' | 'ź' | 'ż' => 'z',
            'ł' => 'l',
            'ğ' => 'g',
            'ý' | 'ÿ' => 'y',
            other => other,
        })
        .collect()
}

/// A name found in a caller turn; a higher `strength` beats a lower one, equal strength goes
/// to the later one.
struct NameCandidate {
    strength: u8,
    name: String,
    /// Said right after a correction word ("sorry, it's Jon").
    correction: bool,
    /// Introduced by the caller about themselves ("I'm Monica Feld", "my name is…").
    self_introduced: bool,
}

/// Reads the name after a cue ending just before `start`.
fn name_at(
    words: &[RawWord<'_>],
    start: usize,
    strong: bool,
    corrected: bool,
) -> Option<NameCandidate> {
    let first = words.get(start)?;
    let weak_strength = if corrected { 2 } else { 1 };
    if is_single_letter(first.text) && first.text.chars().all(char::is_uppercase) {
        return spelled_from(words, start).map(|name| NameCandidate {
            strength: 2,
            name,
            correction: corrected,
            self_introduced: false,
        });
    }
    let first_lower = name_word(first.text, !strong)?;
    let capitalised = first.text.chars().next().is_some_and(char::is_uppercase);
    let mut parts = vec![if capitalised {
        first.text.to_owned()
    } else {
        capitalise(&first_lower)
    }];
    let mut end = start;
    // Surnames only when capitalised: "my name is dana and…" must not take "and".
    while capitalised && parts.len() < MAX_NAME_WORDS {
        let Some(prev) = words.get(end) else { break };
        if prev.clause_end {
            break;
        }
        match words.get(end + 1) {
            Some(next) if name_word(next.text, true).is_some() => {
                parts.push(next.text.to_owned());
                end += 1;
            }
            _ => break,
        }
    }
    let mut strength = if strong { 2 } else { weak_strength };
    // "Jon, J O N": a spelling that starts like the name confirms (or corrects) it.
    if let Some(spelled) = spelled_from(words, end + 1) {
        let same_initial = spelled
            .chars()
            .next()
            .map(|c| c.to_lowercase().eq(first_lower.chars().take(1)));
        if same_initial == Some(true) {
            if let Some(first_part) = parts.first_mut() {
                if fold_accents(first_part) != spelled.to_lowercase() {
                    *first_part = spelled;
                }
            }
            strength = 2;
        }
    }
    Some(NameCandidate {
        strength,
        name: parts.join(" "),
        correction: corrected,
        self_introduced: false,
    })
}

fn names_in<'w>(words: &'w [RawWord<'_>]) -> impl Iterator<Item = NameCandidate> + 'w {
    (0..words.len()).flat_map(move |i| {
        let cues = STRONG_NAME_CUES
            .iter()
            .map(|c| (c, true))
            .chain(WEAK_NAME_CUES.iter().map(|c| (c, false)));
        cues.filter_map(move |(cue, strong)| {
            if !words_match(words, i, cue)
                || words.get(i + cue.len() - 1).is_some_and(|w| w.clause_end)
            {
                return None;
            }
            // "Her name is Luna": a bare "name is" is the caller's only at a clause start.
            let bare_name_cue = cue.first().is_some_and(|w| w.starts_with("name"));
            let owned_by_other = i
                .checked_sub(1)
                .and_then(|p| words.get(p))
                .is_some_and(|w| {
                    !w.clause_end && !in_list(ANSWER_LEAD_INS, &w.text.to_lowercase())
                });
            if bare_name_cue && owned_by_other {
                return None;
            }
            let corrected = words.get(i.saturating_sub(3)..i).is_some_and(|before| {
                before.iter().any(|w| {
                    CORRECTION_WORDS
                        .split_ascii_whitespace()
                        .any(|c| word_is(w.text, c))
                })
            });
            name_at(words, i + cue.len(), strong, corrected).map(|mut c| {
                c.self_introduced = true;
                c
            })
        })
        .next()
    })
}

/// Words that may precede a bare name given on request ("Sure, Kevin").
const ANSWER_LEAD_INS: &str =
    "sure yes yeah yep ok okay um uh oh hi hello it's its name's i'm im this is sí si soy";

/// Lead-ins by which a caller introduces themselves, not someone else.
const SELF_LEAD_INS: &str = "i'm im name's soy";

/// People other than the caller whose names callers give ("under my wife, Jolene").
const RELATIONS: &str = "wife husband partner son daughter mom mother dad father boss kid \
    child brother sister grandson granddaughter fiancée fiancé fiance girlfriend boyfriend \
    esposa esposo hijo hija";

/// Longest clause, in words, still read as a bare name given on request.
const MAX_NAME_ANSWER_WORDS: usize = 5;
/// Clauses of a reply searched for a bare name ("Dwayne. Dwayne Ellis. It was…").
const NAME_ANSWER_CLAUSES: usize = 5;

/// A capitalised name given as a short clause in reply to the agent's "may I have your
/// name?" ("Gail Hoffman.", "Sure, it's Kevin Brown. K E V I N."). It counts like an explicit
/// "my name is"; the longest such clause among the first few wins, so "Dwayne. Dwayne Ellis."
/// gives the full name.
fn name_answer(words: &[RawWord<'_>]) -> Option<NameCandidate> {
    let mut best: Option<NameCandidate> = None;
    let mut start = 0;
    for _ in 0..NAME_ANSWER_CLAUSES {
        let Some(rest) = words.get(start..).filter(|r| !r.is_empty()) else {
            break;
        };
        let len = rest
            .iter()
            .position(|w| w.clause_end)
            .map_or(rest.len(), |i| i + 1);
        let clause = rest.get(..len).unwrap_or_default();
        let lead = clause
            .iter()
            .position(|w| !in_list(ANSWER_LEAD_INS, &w.text.to_lowercase()));
        // "It's under my wife, Jolene Carraway": the name after a relation is theirs.
        let after_relation = start
            .checked_sub(1)
            .and_then(|last| words.get(last))
            .is_some_and(|w| in_list(RELATIONS, &w.text.to_lowercase()));
        if let Some(lead) = lead.filter(|_| !after_relation) {
            let body = clause.get(lead..).unwrap_or_default();
            let all_name_words = body.len() <= MAX_NAME_ANSWER_WORDS
                && body
                    .iter()
                    .all(|w| name_word(w.text, true).is_some() || is_single_letter(w.text));
            if all_name_words {
                let self_introduced = clause
                    .get(..lead)
                    .unwrap_or_default()
                    .iter()
                    .any(|w| in_list(SELF_LEAD_INS, &w.text.to_lowercase()));
                if let Some(mut candidate) = name_at(words, start + lead, false, true) {
                    candidate.correction = false;
                    candidate.self_introduced = self_introduced;
                    // "Greg Tanaka. I'm Amy Tanaka.": a self-introduction beats a bare name,
                    // then the fuller name wins.
                    let rank =
                        |c: &NameCandidate| (c.self_introduced, c.name.split_whitespace().count());
                    if best.as_ref().is_none_or(|b| rank(&candidate) > rank(b)) {
                        best = Some(candidate);
                    }
                }
            }
        }
        start += len;
    }
    best
}

/// The caller's name: the strongest cue wins, and among equals the latest (a correction).
fn caller_name(caller: &[PreparedTurn<'_>]) -> Option<String> {
    let mut best: Option<NameCandidate> = None;
    let candidates = caller.iter().flat_map(|t| {
        let answer = t
            .answers_name_question
            .then(|| name_answer(&t.words))
            .flatten();
        answer.into_iter().chain(names_in(&t.words))
    });
    for mut candidate in candidates {
        let words = |n: &str| n.split_whitespace().count();
        if let Some(b) = &best {
            // "Jon Petersen" then "sorry, it's Jon, no h" or "Katherine with a K": the same
            // person, so the surname stays and the first name takes the later spelling.
            let first = |n: &str| n.split_whitespace().next().map(fold_accents);
            let similar = match (first(&b.name), first(&candidate.name)) {
                (Some(a), Some(c)) => edit_distance(&a, &c) <= 2,
                _ => false,
            };
            let same_folded = first(&b.name) == first(&candidate.name);
            if same_folded && words(&candidate.name) <= words(&b.name) {
                // "Søren Kjær" spelled "S O R E N": keep the name as written.
                candidate.name.clone_from(&b.name);
            } else if similar && words(&candidate.name) == 1 && words(&b.name) > 1 {
                let surname: Vec<&str> = b.name.split_whitespace().skip(1).collect();
                candidate.name = format!("{} {}", candidate.name, surname.join(" "));
            }
            // A different, shorter name said later without a correction is more likely a
            // word in a sentence ("Wallet, withdrawal methods") than a new name.
            let different = !similar && words(&candidate.name) < words(&b.name);
            if different && !candidate.correction && candidate.strength <= b.strength {
                continue;
            }
        }
        if best
            .as_ref()
            .is_none_or(|b| candidate.strength >= b.strength)
        {
            best = Some(candidate);
        }
    }
    best.map(|b| b.name)
}

/// Words that mark an address as someone else's ("can you cc Claire? it's …").
const THIRD_PARTY_EMAIL_CUES: &str = "cc copy his her wife's husband's partner's boss's \
    colleague's colleague coworker assistant's son's daughter's mom's dad's";

/// Words that mark a correction of an address given before.
const EMAIL_CORRECTION_CUES: &str = "actually no not instead sorry correction rather wait oops";

/// Replies that confirm what the agent just read out.
const CONFIRMATIONS: &str = "yes yeah yep yup correct right exactly sí si perfecto";

fn starts_with_any(words: &[RawWord<'_>], list: &str, within: usize) -> bool {
    words
        .iter()
        .take(within)
        .any(|w| in_list(list, &w.text.to_lowercase()))
}

/// Letters and digits of an address's local part, for comparing a spoken form with a
/// written one ("kate.doyle-eighty-eight" and "kate.doyle88" share "katedoyle").
fn local_letters(email: &str) -> String {
    email
        .split('@')
        .next()
        .unwrap_or("")
        .chars()
        .filter(char::is_ascii_alphabetic)
        .collect()
}

/// True when the agent's written address is a read-back of what the caller said: the same
/// domain, or local parts that share their letters.
fn is_read_back_of(spoken: Option<&str>, written: &str) -> bool {
    let Some(spoken) = spoken else {
        // The caller clearly gave an address we could not parse: the agent's form is it.
        return true;
    };
    let domain = |e: &str| e.split_once('@').map(|(_, d)| d.to_owned());
    let (a, b) = (local_letters(spoken), local_letters(written));
    domain(spoken) == domain(written)
        || (!a.is_empty() && !b.is_empty() && (a.contains(&b) || b.contains(&a)))
}

/// True when a caller turn sounds like an address was given ("… at gmail dot com"), parsed
/// or not.
fn gives_an_address(turn: &PreparedTurn<'_>) -> bool {
    let is_at = |w: &RawWord<'_>| {
        word_is(w.text, "at") || word_is(w.text, "arroba") || w.text.contains('@')
    };
    (0..turn.words.len())
        .filter(|&i| turn.words.get(i).is_some_and(is_at))
        .any(|at| {
            turn.words.iter().skip(at).take(8).any(|w| {
                w.text.contains('@')
                    || word_is(w.text, "dot")
                    || word_is(w.text, "punto")
                    || w.text.contains('.')
            })
        })
}

/// The caller's email, read across the call: the address given when asked (or first),
/// replaced only by a correction ("actually, use my work one"), written the way the agent
/// read it back when the agent did; someone else's address ("cc my wife") and the business's
/// own address repeated back are not the caller's. An address the agent read from file
/// counts once the caller confirms it.
fn caller_email(caller: &[PreparedTurn<'_>]) -> Option<String> {
    let mut current: Option<String> = None;
    for turn in caller {
        let spoken = last_email(&turn.words);
        let correction = starts_with_any(&turn.words, EMAIL_CORRECTION_CUES, 3);
        if spoken.is_none() && !gives_an_address(turn) {
            let confirms = starts_with_any(&turn.words, CONFIRMATIONS, 2) && !correction;
            if confirms && turn.agent.asked_to_confirm {
                if let Some(on_file) = turn.agent.emails_before.last() {
                    if current.is_none() {
                        current = Some(on_file.clone());
                    }
                }
            }
            // "No, two t's": the agent's next read-back is the corrected address.
            if correction && current.is_some() {
                if let Some(fixed) = turn.agent.emails_after.last() {
                    current = Some(fixed.clone());
                }
            }
            continue;
        }
        let confirms = starts_with_any(&turn.words, CONFIRMATIONS, 2) && !correction;
        // The business's own address, repeated back; not a confirmation of one on file.
        let repeats_agent = spoken
            .as_ref()
            .is_some_and(|s| turn.agent.emails_before.contains(s))
            && !turn.agent.asked_for_email
            && !(confirms && turn.agent.asked_to_confirm);
        let third_party = turn
            .words
            .iter()
            .any(|w| in_list(THIRD_PARTY_EMAIL_CUES, &w.text.to_lowercase()));
        if repeats_agent || (third_party && current.is_some()) {
            continue;
        }
        if current.is_some() && !correction && !turn.agent.asked_for_email {
            continue;
        }
        let read_back = turn
            .agent
            .emails_after
            .iter()
            .rev()
            .find(|w| is_read_back_of(spoken.as_deref(), w));
        if let Some(email) = read_back.cloned().or(spoken) {
            current = Some(email);
        }
    }
    current
}

/// Phrases after which the caller names what the call is about.
const TOPIC_CUES: &[&[&str]] = &[
    &["calling", "about"],
    &["calling", "regarding"],
    &["call", "about"],
    &["interested", "in"],
    &["looking", "for"],
    &["question", "about"],
    &["questions", "about"],
    &["asking", "about"],
    &["inquiring", "about"],
    &["enquiring", "about"],
    &["information", "about"],
    &["information", "on"],
    &["info", "on"],
    &["info", "about"],
    &["problem", "with"],
    &["problems", "with"],
    &["issue", "with"],
    &["issues", "with"],
    &["trouble", "with"],
    &["help", "with"],
    &["complaint", "about"],
    &["quote", "for"],
    &["quote", "on"],
    &["price", "of"],
    &["pricing", "for"],
    &["pricing", "on"],
    &["to", "book"],
    &["to", "schedule"],
    &["to", "reschedule"],
    &["to", "buy"],
    &["to", "purchase"],
    &["cancel"],
];

/// Phrases after which the thing the caller needs help with was named just before
/// ("my router is not working").
const TRAILING_TOPIC_CUES: &[&[&str]] = &[
    &["is", "not", "working"],
    &["isn't", "working"],
    &["stopped", "working"],
    &["doesn't", "work"],
    &["won't", "work"],
    &["won't", "turn", "on"],
    &["keeps", "crashing"],
    &["is", "broken"],
];

/// Longest subject before a trailing cue, in words.
const MAX_SUBJECT_WORDS: usize = 4;

const TOPIC_STOP_WORDS: &str =
    "and but because so since if when please which who that i i'm i'd i'll im we you he she \
    they it it's is are was were do does did can could would will should to for at on in \
    from with by today tomorrow tonight asap now right thanks thank okay ok yes yeah no hi \
    hello or than then as just also too really there here next this before after until where \
    how what why";

/// Words that end a topic phrase: the request is over once the caller moves on.
fn ends_topic(lower: &str) -> bool {
    in_list(TOPIC_STOP_WORDS, lower)
}

/// Hesitations skipped inside a topic.
const FILLERS: &str = "um uh er erm uhm hmm like";

/// Words that may not end a topic ("a quote for the").
const DANGLING: &str = "a an the my your our some of about any new";

fn topic_at(words: &[RawWord<'_>], start: usize) -> Option<String> {
    let mut parts: Vec<&str> = Vec::with_capacity(MAX_TOPIC_WORDS);
    for word in words.get(start..)?.iter() {
        let lower = word.text.to_lowercase();
        if parts.len() == MAX_TOPIC_WORDS || ends_topic(&lower) || word.text.contains('@') {
            break;
        }
        if !in_list(FILLERS, &lower) {
            parts.push(word.text);
        }
        if word.clause_end {
            break;
        }
    }
    while parts
        .last()
        .is_some_and(|w| in_list(DANGLING, &w.to_lowercase()))
    {
        parts.pop();
    }
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// The topic after the cue at `at`, unless the cue ends a clause ("interested in, uh").
fn topic_after_cue(words: &[RawWord<'_>], at: usize) -> Option<String> {
    TOPIC_CUES
        .iter()
        .filter(|cue| words_match(words, at, cue))
        .find_map(|cue| {
            let start = at + cue.len();
            let cue_closes_clause = start
                .checked_sub(1)
                .and_then(|last| words.get(last))
                .is_none_or(|w| w.clause_end);
            if cue_closes_clause {
                None
            } else {
                topic_at(words, start)
            }
        })
}

/// The subject of a trailing cue at `at` ("my internet" in "so my internet is not
/// working"), read back to the start of the clause.
fn topic_before_cue(words: &[RawWord<'_>], at: usize) -> Option<String> {
    if !TRAILING_TOPIC_CUES
        .iter()
        .any(|cue| words_match(words, at, cue))
    {
        return None;
    }
    let mut parts: Vec<&str> = Vec::with_capacity(MAX_SUBJECT_WORDS);
    for word in words.get(..at)?.iter().rev() {
        let lower = word.text.to_lowercase();
        let is_subject_word = !word.clause_end && !ends_topic(&lower) && !in_list(FILLERS, &lower);
        if !is_subject_word || parts.len() == MAX_SUBJECT_WORDS {
            break;
        }
        parts.push(word.text);
    }
    parts.reverse();
    let all_dangling = parts.iter().all(|w| in_list(DANGLING, &w.to_lowercase()));
    (!all_dangling).then(|| parts.join(" "))
}

/// The topic of the caller's first request that names one.
fn first_topic(caller: &[PreparedTurn<'_>]) -> Option<String> {
    caller.iter().find_map(|turn| {
        (0..turn.words.len()).find_map(|at| {
            topic_after_cue(&turn.words, at).or_else(|| topic_before_cue(&turn.words, at))
        })
    })
}

/// Words that introduce the thing a caller talks about ("the listing", "my router").
const DETERMINERS: &str = "the a an my our your this that his her their";

/// Heads that say nothing about the call ("a question", "the morning", "my wife").
const VAGUE_HEADS: &str = "question questions thing things bit lot way time times morning \
    afternoon evening night week weeks month months year years day days call moment minute \
    minutes second reason wife husband son daughter kid kids guy guys people one ones front \
    phone number name email other same first last next little few couple whole kind sort \
    part end problem issue help";

/// Words that end a noun phrase in the opening statement.
const PHRASE_BREAKS: &str = "and or but because so since if when is are was were do does did \
    can could would will should to for at on in from with by of about that which who i we you \
    he she they it just really like um uh";

/// The noun each intent adds to a topic taken from the opening statement.
fn intent_noun(intent: Intent) -> &'static str {
    match intent {
        Intent::Sales => "purchase",
        Intent::Booking => "appointment",
        Intent::Complaint => "complaint",
        Intent::Support => "support",
        Intent::Info => "inquiry",
    }
}

/// A topic when no cue phrase named one: the first concrete noun phrase of the caller's
/// opening turns ("my delivery", "the solar panels") with the intent's noun ("delivery
/// complaint").
pub(super) fn fallback_topic(caller: &[PreparedTurn<'_>], intent: Intent) -> Option<String> {
    let phrase = caller
        .iter()
        .filter(|t| t.words.len() >= 4)
        .take(2)
        .find_map(|turn| {
            let words = &turn.words;
            (0..words.len()).find_map(|i| {
                let det = words.get(i)?;
                if det.clause_end || !in_list(DETERMINERS, &det.text.to_lowercase()) {
                    return None;
                }
                let mut parts: Vec<String> = Vec::new();
                for w in words.get(i + 1..)?.iter().take(3) {
                    let lower = w.text.to_lowercase();
                    let wordlike = lower.chars().all(|c| c.is_alphanumeric() || c == '-')
                        && lower.chars().any(char::is_alphabetic);
                    if !wordlike || in_list(PHRASE_BREAKS, &lower) || in_list(FILLERS, &lower) {
                        break;
                    }
                    parts.push(lower);
                    if w.clause_end {
                        break;
                    }
                }
                let head = parts.last()?;
                (!in_list(VAGUE_HEADS, head) && !in_list(DETERMINERS, head))
                    .then(|| parts.join(" "))
            })
        })?;
    let noun = intent_noun(intent);
    Some(if phrase.split_whitespace().any(|w| w == noun) {
        phrase
    } else {
        format!("{phrase} {noun}")
    })
}

/// The caller's name, email and the topic, normalized.
pub(super) fn extract(speech: &CallerSpeech<'_>) -> Entities {
    let caller = &speech.turns;
    Entities {
        name: caller_name(caller),
        email: caller_email(caller),
        topic: first_topic(caller),
    }
    .normalized()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entities(caller: &[&str]) -> Entities {
        extract(&CallerSpeech::new(caller.iter().copied()))
    }

    fn name(caller: &[&str]) -> Option<String> {
        entities(caller).name
    }

    #[test]
    fn names_follow_self_introductions() {
        assert_eq!(
            name(&["Hi, my name is Dana Scully and I need help"]).as_deref(),
            Some("Dana Scully")
        );
        assert_eq!(
            name(&["Hey, this is Marco from Denver."]).as_deref(),
            Some("Marco")
        );
        assert_eq!(name(&["It's Priya."]).as_deref(), Some("Priya"));
        assert_eq!(name(&["I'm José Müller"]).as_deref(), Some("José Müller"));
        assert_eq!(name(&["hola, me llamo Zoë"]).as_deref(), Some("Zoë"));
    }

    #[test]
    fn lowercase_asr_names_are_taken_only_after_my_name_is() {
        assert_eq!(
            name(&["hi my name is dana and i want a quote"]).as_deref(),
            Some("Dana")
        );
        assert_eq!(name(&["hi this is dana"]), None);
    }

    #[test]
    fn common_words_after_a_cue_are_not_names() {
        for text in [
            "I'm Calling about my bill",
            "I'm Looking for a plumber",
            "I'm Interested in solar",
            "I'm Not sure",
            "This is Ridiculous",
            "It's Tuesday",
            "my name is not important",
        ] {
            assert_eq!(name(&[text]), None, "{text}");
        }
    }

    #[test]
    fn third_parties_are_not_the_caller() {
        for text in [
            "my wife Sarah called yesterday",
            "I'm Dr. Patel's patient",
            "this is my wife Sarah",
            "it's Sarah's car",
        ] {
            assert_eq!(name(&[text]), None, "{text}");
        }
    }

    #[test]
    fn a_corrected_first_name_keeps_the_surname_and_accents_survive_spelling() {
        assert_eq!(
            name(&[
                "My name is Jon Petersen.",
                "Oh and sorry, it's Jon, no h. J O N."
            ])
            .as_deref(),
            Some("Jon Petersen")
        );
        assert_eq!(
            name(&[
                "My name is Catherine Ellis.",
                "Oh, actually, it's Katherine with a K."
            ])
            .as_deref(),
            Some("Katherine Ellis")
        );
        assert_eq!(
            name(&["My name is Søren Kjær.", "It's S O R E N."]).as_deref(),
            Some("Søren Kjær")
        );
        // Someone else's name after "her name is" is not the caller's.
        assert_eq!(
            name(&["I need to book a spay for my cat. Her name is Luna."]),
            None
        );
        // A later single word without a correction does not replace a full name.
        assert_eq!(
            name(&[
                "My name is Yusuf Demir.",
                "Okay, it's Wallet, withdrawal methods."
            ])
            .as_deref(),
            Some("Yusuf Demir")
        );
    }

    #[test]
    fn agent_turns_are_never_read() {
        // `extract` only ever receives caller turns; an agent's introduction is simply absent.
        assert_eq!(name(&["yes that's right"]), None);
    }

    #[test]
    fn a_short_reply_to_a_name_question_is_a_name() {
        let answer = |text: &'static str| {
            let speech = CallerSpeech {
                turns: vec![PreparedTurn::new(text, true)],
                norm: String::new(),
                turn_starts: vec![0],
            };
            extract(&speech).name
        };
        assert_eq!(answer("Kevin Brown").as_deref(), Some("Kevin Brown"));
        assert_eq!(answer("Sure, it's Kevin.").as_deref(), Some("Kevin"));
        assert_eq!(answer("yeah Ana, A N A").as_deref(), Some("Ana"));
        assert_eq!(answer("Yes."), None);
        // The longest name-only clause of the first few: "Dwayne. Dwayne Ellis."
        assert_eq!(
            answer("Dwayne. Dwayne Ellis. It was like, forty minutes ago.").as_deref(),
            Some("Dwayne Ellis")
        );
        assert_eq!(
            answer("Greg Tomczyk. T O M C Z Y K.").as_deref(),
            Some("Greg Tomczyk")
        );
        assert_eq!(answer("kevin"), None, "lowercase replies are too ambiguous");
        assert_eq!(answer("Tuesday at 3 works"), None);
        assert_eq!(
            answer("Why do you need it, I just want a price for the Model X"),
            None
        );
        // A self-introduction beats a bare name in the same reply; a relation's name is theirs.
        assert_eq!(
            answer("His, but I handle the bills. Greg Tanaka. I'm Amy Tanaka.").as_deref(),
            Some("Amy Tanaka")
        );
        assert_eq!(answer("It's under my wife, Jolene Carraway."), None);
        assert_eq!(
            answer("Sure, I'm Monica Feld. F E L D.").as_deref(),
            Some("Monica Feld")
        );
        // A spelled reference number is not a spelled name.
        assert_eq!(answer("Yes, it's W O 8 8 1 2."), None);
        // Without the question the same reply is not a name.
        assert_eq!(name(&["Kevin Brown"]), None);
    }

    #[test]
    fn a_later_correction_wins() {
        assert_eq!(
            name(&["my name is John", "actually it's Jon, J O N"]).as_deref(),
            Some("Jon")
        );
        assert_eq!(
            name(&["This is Dana", "sorry, my name is Diana"]).as_deref(),
            Some("Diana")
        );
        assert_eq!(
            name(&["my name is Dana", "I'm Happy to help"]).as_deref(),
            Some("Dana")
        );
        assert_eq!(
            name(&["my name is Dana", "it's Tom"]).as_deref(),
            Some("Dana"),
            "a weak cue does not override"
        );
        assert_eq!(name(&["it's J O N"]).as_deref(), Some("Jon"));
    }

    #[test]
    fn emails_come_from_caller_speech_and_later_ones_win() {
        let e = entities(&[
            "it's dana at gmail dot com",
            "no, it's d a n a dot k at gmail dot com",
        ]);
        assert_eq!(e.email.as_deref(), Some("dana.k@gmail.com"));
    }

    #[test]
    fn topic_is_a_short_phrase_from_the_first_request() {
        let e = entities(&[
            "hi",
            "I'm calling about a 3-bedroom house viewing on Saturday",
            "also interested in a loan",
        ]);
        assert_eq!(e.topic.as_deref(), Some("a 3-bedroom house viewing"));
        assert_eq!(
            entities(&["I have a question about the hours of your downtown store today"])
                .topic
                .as_deref(),
            Some("the hours of your downtown store")
        );
        assert_eq!(
            entities(&["problem with my um internet connection."])
                .topic
                .as_deref(),
            Some("my internet connection")
        );
    }

    #[test]
    fn a_broken_thing_named_before_the_cue_is_the_topic() {
        for (text, topic) in [
            ("Hi, my internet is not working", Some("my internet")),
            ("so the app keeps crashing", Some("the app")),
            ("it is not working", None),
            ("the is not working", None),
            (
                "I want to cancel my membership, this is the worst",
                Some("my membership"),
            ),
        ] {
            assert_eq!(entities(&[text]).topic.as_deref(), topic, "{text}");
        }
    }

    #[test]
    fn topic_is_capped_at_six_words_and_skips_empty_phrases() {
        let e = entities(&["looking for one two three four five six seven eight"]);
        assert_eq!(e.topic.as_deref(), Some("one two three four five six"));
        let e = entities(&["well my brand new kitchen smart fridge is not working"]);
        assert_eq!(e.topic.as_deref(), Some("new kitchen smart fridge"));
        assert_eq!(
            entities(&["I'm interested in, uh", "calling about the roof"])
                .topic
                .as_deref(),
            Some("the roof")
        );
        assert_eq!(entities(&["hello there"]).topic, None);
    }

    #[test]
    fn odd_text_does_not_panic() {
        for text in [
            "",
            "my name is",
            "it's",
            "😀 my name is 😀",
            "[inaudible] I'm",
            "ÉÉÉ at ÉÉ dot ÉÉ",
            "looking for",
        ] {
            let _ = entities(&[text]);
        }
    }
}
