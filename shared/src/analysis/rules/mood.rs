//! The caller's mood, turn by turn: a small valence lexicon (English and Spanish, in cue
//! form) with negation, intensifiers, contrast and sarcasm read by structure: praise in a
//! short clause, or led by "oh"/"wow"/"yeah", after a grievance in the caller's last turns,
//! after talk of waiting, or right after the agent apologised, means its opposite. A turn's
//! score feeds the call's sentiment features (`features.rs`); the learned model turns them
//! into the call's sentiment.

/// Words before a lexicon word that flip it.
const NEGATION_WINDOW: usize = 3;
/// A negated word keeps most, not all, of its strength: "not happy" is milder than "unhappy".
const NEGATION_FACTOR: f64 = -0.8;
/// How much an intensifier in the two words before a lexicon word multiplies it.
const INTENSIFIER_FACTOR: f64 = 1.5;
/// Weight of a clause before "but"/"however" and after it.
const BEFORE_CONTRAST: f64 = 0.5;
const AFTER_CONTRAST: f64 = 1.5;
/// One long rant must not outweigh the rest of the call, so each turn is capped.
pub(crate) const MAX_TURN_SCORE: f64 = 5.0;
/// Valence of sarcastic praise.
const SARCASM: f64 = -2.0;
/// Squashing constant of `x / sqrt(x² + k)`.
const SQUASH: f64 = 12.0;

/// Valence of an emoji the lexicon knows.
fn emoji_valence(c: char) -> Option<f64> {
    match c {
        '🙂' | '😀' | '😃' | '😄' | '😊' | '😁' | '👍' | '😍' | '🥰' | '❤' | '🙏' | '🎉' => {
            Some(2.0)
        }
        '😡' | '😠' | '👎' | '🤬' | '😤' | '😞' | '😢' | '😭' | '🙁' | '☹' => {
            Some(-2.0)
        }
        _ => None,
    }
}

/// Valence of a word in cue form (or an emoji or emoticon), if the lexicon knows it.
pub(crate) fn word_valence(word: &str) -> Option<f64> {
    let v = match word {
        "excellent" | "excelente" | "fantastic" | "wonderful" | "amazing" | "awesome"
        | "outstanding" | "delighted" | "love" | "loved" | "genial" | "incredible" | "thrilled"
        | "yay" | "woohoo" | "maravilloso" | "encantada" | "encantado" | "fabuloso" => 2.5,
        "great" | "happy" | "helpful" | "pleased" | "satisfied" | "best" | "brilliant"
        | "lovely" | "glad" | "fabulous" | "superb" | "impressed" | "excited" | "grateful"
        | "relieved" | "perfect" | "perfecto" | "perfecta" | "feliz" | "contento" | "contenta"
        | "agradecido" | "agradecida" => 2.0,
        "good" | "nice" | "appreciate" | "appreciated" | "resolved" | "easy" | "bien" | "bueno"
        | "buena" | "cool" | "sweet" | "recommend" | "quick" | "smooth" | "fixed" | "solved"
        | "friendly" | "pleasure" | "enjoy" | "enjoyed" | "relief" | "painless" | "fun"
        | "beautiful" | "gorgeous" | "kind" | "amable" | "rapido" | "facil" | ":)" => 1.5,
        "thanks" | "thank" | "gracias" | "works" | "worked" | "clear" | "reasonable" | "fair"
        | "helps" | "phew" | "sure" | "alright" | "vale" => 0.6,
        "fine" | "working" | "okay" | "ok" => 0.2,
        "terrible" | "horrible" | "awful" | "worst" | "hate" | "hated" | "unacceptable"
        | "furious" | "disgusting" | "scam" | "pathetic" | "outrageous" | "unbelievable"
        | "sue" | "suing" | "chargeback" | "livid" | "pesimo" | "pesima" | "furioso"
        | "furiosa" | "horrible!" => -3.0,
        "angry" | "ridiculous" | "useless" | "rude" | "incompetent" | "molesto" | "molesta"
        | "nightmare" | "lied" | "ripped" | "insane" | "absurd" | "disgusted" | "lawyer"
        | "lawyers" | "attorney" | "bbb" | "enojado" | "enojada" | "harto" | "harta"
        | "ridiculo" | "abogado" => -2.5,
        "upset" | "frustrated" | "frustrating" | "annoyed" | "annoying" | "disappointed"
        | "disappointing" | "unhappy" | "mad" | "mal" | "malo" | "mala" | "poor" | "sucks"
        | "garbage" | "waste" | "unfair" | "scared" | "whatever" | "dispute" | "disputing"
        | "ruined" | "ruins" | "decepcionado" | "decepcionada" | "frustrado" | "frustrada"
        | "triste" | ":(" => -2.0,
        "bad" | "wrong" | "broken" | "failed" | "fails" | "confusing" | "confused" | "slow"
        | "late" | "worse" | "complaint" | "ignored" | "overcharged" | "expensive" | "hurts"
        | "painful" | "mistake" | "leaking" | "cracked" | "damaged" | "stressed" | "stressing"
        | "worried" | "anxious" | "refund" | "joke" | "fault" | "lost" | "missing" | "nervous"
        | "ugh" | "preocupado" | "preocupada" | "caro" | "error" | "problema" => -1.5,
        "problem" | "issue" | "waiting" | "waited" | "hold" | "forever" | "unfortunately"
        | "hesitant" | "confusion" | "concerned" | "esperando" => -0.7,
        "sorry" => -0.3,
        _ => {
            let mut chars = word.chars();
            return match (chars.next(), chars.next()) {
                (Some(c), None) => emoji_valence(c),
                _ => None,
            };
        }
    };
    Some(v)
}

/// Words that flip a lexicon word a few words later.
const NEGATORS: &[&str] = &[
    "not", "never", "no", "nobody", "nothing", "hardly", "neither", "nor", "dont", "doesnt",
    "didnt", "isnt", "wasnt", "arent", "werent", "wont", "cant", "cannot", "couldnt", "wouldnt",
    "shouldnt", "havent", "hasnt", "hadnt", "aint", "nunca", "tampoco", "nada",
];

/// Words that strengthen the lexicon word right after them.
const INTENSIFIERS: &[&str] = &[
    "very",
    "really",
    "so",
    "extremely",
    "super",
    "totally",
    "absolutely",
    "incredibly",
    "truly",
    "completely",
    "utterly",
    "too",
    "muy",
    "bastante",
    "tan",
    "super",
];

/// Words that make praise in the same turn read as sarcasm ("love waiting forty minutes").
const WAITING_WORDS: &[&str] = &[
    "hold",
    "waiting",
    "waited",
    "wait",
    "minutes",
    "hour",
    "hours",
    "forever",
    "transferred",
    "queue",
    "busy",
    "again",
    "esperando",
    "horas",
];

/// Praise that reads as sarcasm when the caller is aggrieved.
const SARCASTIC_PRAISE: &[&str] = &[
    "great",
    "wonderful",
    "perfect",
    "fantastic",
    "awesome",
    "lovely",
    "brilliant",
    "terrific",
    "helpful",
    "love",
    "stars",
    "genial",
    "perfecto",
    "maravilloso",
    "thanks",
    "thank",
];

/// Words before praise that mark sarcasm when the caller is aggrieved.
const SARCASM_LEADS: &[&str] = &[
    "oh", "just", "wow", "yeah", "real", "super", "so", "sure", "ah",
];

/// Multi-word cues with their own valence, already holding any negation: threats,
/// brush-offs, the idioms of a let-down caller, and the warm ones of a keen one. General
/// idioms only: nothing here is a line from one labelled call.
const PHRASES: &[(&str, f64)] = &[
    ("not okay", -2.0),
    ("not ok", -2.0),
    ("not acceptable", -2.5),
    ("not paying", -2.0),
    ("money back", -1.5),
    ("expected better", -2.0),
    ("expected more", -1.5),
    ("you people", -2.0),
    ("do not call", -2.0),
    ("stop calling", -2.0),
    ("take me off", -1.5),
    ("third time", -1.5),
    ("fourth time", -1.5),
    ("again and again", -1.5),
    ("yeah right", -2.0),
    ("sure you will", -2.0),
    ("for nothing", -2.5),
    ("fed up", -2.5),
    ("sick of", -2.0),
    ("no one", -0.5),
    ("nobody", -0.5),
    ("cant wait", 2.5),
    ("cannot wait", 2.5),
    ("made my day", 3.0),
    ("no complaints", 1.0),
    ("no problem", 0.8),
    ("no worries", 0.8),
    ("not bad", 0.8),
    ("not unhappy", 0.6),
    // The "wrong" of a caller who dialled the wrong number carries no mood.
    ("wrong number", 1.5),
    ("thanks a lot", -0.5),
    ("muchas gracias", 1.0),
    ("muy amable", 1.5),
    ("que bueno", 1.5),
];

/// Phrases of sincere thanks or of a fix: praise next to them is meant.
const SINCERE: &[&str] = &[
    "thank you so much",
    "thanks so much",
    "thank you very much",
    "appreciate",
    "fixed",
    "solved",
    "resolved",
    "that helps",
    "makes sense",
    "muchas gracias",
];

/// Longest clause, in tokens, that a sarcastic "Fantastic." stands in.
const SHORT_CLAUSE: usize = 3;

/// Words after which the clause weighs more ("nice, but slow").
fn is_contrast(word: &str) -> bool {
    matches!(
        word,
        "but" | "however" | "though" | "although" | "pero" | "aunque"
    )
}

fn tokens(norm: &str) -> impl DoubleEndedIterator<Item = &str> {
    norm.split(' ').filter(|w| !w.is_empty())
}

fn has_phrase(norm: &str, phrase: &str) -> bool {
    norm.contains(&format!(" {phrase} "))
}

/// True when `norm` mentions waiting or being on hold.
pub(crate) fn mentions_waiting(norm: &str) -> bool {
    tokens(norm).any(|w| WAITING_WORDS.contains(&w))
}

/// The negative part of a turn's plain reading (no sarcasm): how aggrieved it sounds.
pub(crate) fn grievance(norm: &str) -> f64 {
    let words: f64 = tokens(norm)
        .filter_map(word_valence)
        .filter(|v| *v < 0.0)
        .sum();
    let phrases: f64 = PHRASES
        .iter()
        .filter(|(p, v)| *v < 0.0 && has_phrase(norm, p))
        .map(|(_, v)| v)
        .sum();
    words + phrases
}

/// A caller this aggrieved in the turns before is being sarcastic when they praise in a short
/// clause.
pub(crate) const AGGRIEVED: f64 = -1.4;

/// One turn's mood.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct TurnMood {
    /// Lexicon score, capped at ±[`MAX_TURN_SCORE`]; 0 when the turn has no cue.
    pub(crate) score: f64,
    /// Praise read as sarcasm.
    pub(crate) sarcasm: bool,
    /// Any lexicon word or phrase at all.
    pub(crate) has_cue: bool,
}

/// Scores one turn (in cue form). `aggrieved` says the caller sounded aggrieved in the turns
/// just before or the agent just apologised, which, like negativity earlier in this turn or
/// talk of waiting, turns short or "oh"-led praise into sarcasm unless the turn also holds
/// sincere thanks or a fix.
pub(crate) fn turn_mood(norm: &str, aggrieved: bool) -> TurnMood {
    let toks: Vec<&str> = tokens(norm).collect();
    let sincere = SINCERE.iter().any(|p| has_phrase(norm, p));
    let mut aggrieved = (aggrieved || mentions_waiting(norm)) && !sincere;
    let mut negativity_so_far = 0.0;
    let phrase_hits: Vec<f64> = PHRASES
        .iter()
        .filter(|(p, _)| has_phrase(norm, p))
        .map(|(_, v)| *v)
        .collect();
    let mut has_cue = !phrase_hits.is_empty();
    let mut score: f64 = phrase_hits.iter().sum();
    let mut sarcasm = false;
    let mut clause_weight = 1.0;
    let mut clause_start = 0;
    for (i, tok) in toks.iter().copied().enumerate() {
        if tok == "|" {
            clause_start = i + 1;
            continue;
        }
        if is_contrast(tok) {
            score *= BEFORE_CONTRAST;
            clause_weight = AFTER_CONTRAST;
            continue;
        }
        let Some(base) = word_valence(tok) else {
            continue;
        };
        has_cue = true;
        if base < 0.0 {
            negativity_so_far += base;
            aggrieved |= negativity_so_far <= AGGRIEVED && !sincere;
        }
        let prev = i.checked_sub(1).and_then(|p| toks.get(p)).copied();
        if base > 0.0 && aggrieved && SARCASTIC_PRAISE.contains(&tok) {
            let clause_len = toks
                .get(clause_start..)
                .unwrap_or_default()
                .iter()
                .take_while(|w| **w != "|")
                .count();
            let next = toks.get(i + 1).copied();
            let led = prev.is_some_and(|p| SARCASM_LEADS.contains(&p))
                || (tok == "love" && matches!(next, Some("that" | "it" | "how" | "being")));
            if clause_len <= SHORT_CLAUSE || led {
                score += SARCASM * clause_weight;
                sarcasm = true;
                continue;
            }
        }
        // Only the current clause: "no, this is great" is not negated.
        let before = toks
            .get(..i)
            .unwrap_or_default()
            .iter()
            .rev()
            .take_while(|w| **w != "|" && !is_contrast(w))
            .take(NEGATION_WINDOW);
        let mut value = base;
        let mut negated = false;
        let mut intensified = false;
        for (distance, w) in before.enumerate() {
            negated |= NEGATORS.contains(w);
            intensified |= distance < 2 && INTENSIFIERS.contains(w);
        }
        if intensified {
            value *= INTENSIFIER_FACTOR;
        }
        if negated {
            value *= NEGATION_FACTOR;
        }
        score += value * clause_weight;
    }
    TurnMood {
        score: score.clamp(-MAX_TURN_SCORE, MAX_TURN_SCORE),
        sarcasm,
        has_cue,
    }
}

/// `x / sqrt(x² + k)`: a score squashed into −1..=1.
pub(crate) fn squash(score: f64) -> f64 {
    (score / (score * score + SQUASH).sqrt()).clamp(-1.0, 1.0)
}

/// The mood of one utterance in −1..=1, or `None` when it carries no sentiment cue at all.
pub(crate) fn utterance_mood(text: &str) -> Option<f64> {
    let words = crate::analysis::spoken::words::split(text);
    let mut norm = String::from(" ");
    for w in &words {
        norm.push_str(&w.form);
        norm.push(' ');
        if w.clause_end {
            norm.push_str("| ");
        }
    }
    let mood = turn_mood(&norm, false);
    (mood.score != 0.0).then(|| squash(mood.score))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(text: &str) -> String {
        let words = crate::analysis::spoken::words::split(text);
        let mut out = String::from(" ");
        for w in &words {
            out.push_str(&w.form);
            out.push(' ');
            if w.clause_end {
                out.push_str("| ");
            }
        }
        out
    }

    fn score(text: &str) -> f64 {
        turn_mood(&norm(text), false).score
    }

    fn after_grievance(text: &str) -> TurnMood {
        turn_mood(&norm(text), true)
    }

    #[test]
    fn praise_is_positive_and_anger_negative() {
        assert!(score("That was really helpful, thank you!") > 1.0);
        assert!(score("This is terrible and unacceptable.") < -3.0);
        assert_eq!(score("I need the invoice for March."), 0.0);
    }

    #[test]
    fn negation_flips_within_a_short_window_of_the_same_clause() {
        assert!(score("I'm not happy with this") < 0.0);
        assert!(score("im not happy at all") < 0.0);
        assert!(score("Honestly I'm not unhappy with it") > 0.0);
        assert!(score("No, that's great") > 0.0);
        assert!(score("it's not bad actually") > 0.0);
    }

    #[test]
    fn the_clause_after_but_weighs_more() {
        assert!(score("The staff were nice but the wait was terrible") < 0.0);
        assert!(score("The wait was terrible, however the staff were wonderful") > 0.0);
    }

    #[test]
    fn sarcasm_is_read_by_structure_in_lower_case_too() {
        assert!(score("oh great another hour on hold love that") < 0.0);
        assert!(score("Oh great, I've been transferred again.") < 0.0);
        assert!(score("wow thanks so much for nothing") < 0.0);
        assert!(after_grievance("fantastic five stars").score < 0.0);
        assert!(after_grievance("fantastic five stars").sarcasm);
        assert!(after_grievance("yeah super helpful thanks").score < 0.0);
        // The same words without a grievance before are praise.
        assert!(score("fantastic five stars") > 0.0);
        assert!(score("I love that color") > 0.0);
        // Sincere thanks with a fix is meant even after a grievance.
        assert!(after_grievance("perfect thank you so much that fixed it").score > 0.0);
    }

    #[test]
    fn emoji_spanish_and_saturation() {
        assert!(score("ok 👍") > 0.0);
        assert!(score("😡😡") < 0.0);
        assert!(score("Perfecto, muchas gracias") > 1.0);
        assert!(score("estoy muy molesto el servicio es pésimo") < -3.0);
        let rant = "terrible ".repeat(500);
        assert_eq!(score(&rant), -MAX_TURN_SCORE);
    }

    #[test]
    fn utterance_mood_is_none_without_a_cue() {
        assert_eq!(utterance_mood("my account number is 5518302"), None);
        assert!(utterance_mood("thank you so much").is_some_and(|m| m > 0.0));
        assert!(utterance_mood("this is ridiculous").is_some_and(|m| m < 0.0));
    }
}
