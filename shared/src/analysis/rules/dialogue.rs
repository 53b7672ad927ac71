//! The first step of the rules analyzer: the call read once. Every turn goes through the
//! spoken-form normaliser; caller and agent turns keep their order and their index in the
//! transcript, and agent turns are classified by what they ask the caller (a name, an
//! email, a spelling, a confirmation). Everything after this reads these readings, never the
//! raw text again.

use crate::analysis::spoken::{self, detect_lang, Lang, SpokenEmail, Utterance};
use crate::domain::{CappedTranscript, Role};

/// How much of the caller's speech the call's language is judged on.
const LANGUAGE_SAMPLE_CHARS: usize = 2_000;

/// One turn, read.
pub(crate) struct TurnReading<'a> {
    /// Position among the transcript's turns (0-based, every role counted).
    pub(crate) index: usize,
    /// Who spoke.
    pub(crate) role: Role,
    /// The words, numbers, spellings and addresses.
    pub(crate) utterance: Utterance<'a>,
    /// The email addresses said in the turn, read once.
    pub(crate) emails: Vec<SpokenEmail>,
    /// Lower-case words without accents or apostrophes, `|` at clause breaks, a space on
    /// each side: what cue phrases are matched against (" dont call | im ").
    pub(crate) norm: String,
    /// What an agent turn asks of the caller; nothing for a caller turn.
    pub(crate) asks: Asks,
}

/// What an agent turn asks the caller.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Asks {
    /// Their name ("may I have your first and last name?").
    pub(crate) name: bool,
    /// Their email.
    pub(crate) email: bool,
    /// To spell something.
    pub(crate) spelling: bool,
    /// A question ends the turn.
    pub(crate) question: bool,
}

/// The whole call, read.
pub(crate) struct Call<'a> {
    /// Every turn with at least one word, in order.
    pub(crate) turns: Vec<TurnReading<'a>>,
    /// The call's main language.
    pub(crate) lang: Lang,
}

impl<'a> Call<'a> {
    /// Reads a transcript. The language is judged on the caller's words (the agent's script
    /// may be English for a Spanish caller), then per turn for mixed calls.
    pub(crate) fn read(transcript: &'a CappedTranscript) -> Self {
        // The caller's first words are enough to tell the language; the whole of a long
        // call would only make the trigram model slower.
        let mut caller_text = String::new();
        for turn in transcript.turns_by(Role::Caller) {
            if caller_text.len() >= LANGUAGE_SAMPLE_CHARS {
                break;
            }
            caller_text.push_str(&turn.text);
            caller_text.push(' ');
        }
        let lang = detect_lang(&caller_text, Lang::English);
        let turns = transcript
            .turns()
            .enumerate()
            .filter(|(_, t)| t.role != Role::Other)
            .filter_map(|(index, turn)| {
                let turn_lang = detect_lang(&turn.text, lang);
                let utterance = Utterance::new(&turn.text, turn_lang);
                if utterance.words.is_empty() {
                    return None;
                }
                let norm = norm_of(&utterance);
                let asks = if turn.role == Role::Agent {
                    asks_of(&norm, &utterance)
                } else {
                    Asks::default()
                };
                let emails = utterance.emails();
                Some(TurnReading {
                    index,
                    role: turn.role,
                    emails,
                    utterance,
                    norm,
                    asks,
                })
            })
            .collect();
        Self { turns, lang }
    }

    /// The caller's turns, in order.
    pub(crate) fn caller(&self) -> impl Iterator<Item = &TurnReading<'a>> {
        self.turns.iter().filter(|t| t.role == Role::Caller)
    }

    /// The agent's turns, in order.
    pub(crate) fn agent(&self) -> impl Iterator<Item = &TurnReading<'a>> {
        self.turns.iter().filter(|t| t.role == Role::Agent)
    }

    /// The agent turn right before the turn at position `at` of [`Call::turns`], if the turn
    /// before it was the agent's.
    pub(crate) fn agent_before(&self, at: usize) -> Option<&TurnReading<'a>> {
        at.checked_sub(1)
            .and_then(|p| self.turns.get(p))
            .filter(|t| t.role == Role::Agent)
    }

    /// True when the caller said nothing readable.
    pub(crate) fn caller_is_silent(&self) -> bool {
        self.caller()
            .all(|t| t.utterance.words.iter().all(|w| w.is_symbol()))
    }
}

/// A word as cues see it: lower case, accents and apostrophes gone ("don't" → "dont", "sí"
/// → "si"), so written and speech-to-text forms match alike.
pub(crate) fn cue_form(lower: &str) -> String {
    spoken::fold(lower).replace('\'', "")
}

fn norm_of(utterance: &Utterance<'_>) -> String {
    let mut norm = String::with_capacity(utterance.words.len() * 6 + 2);
    norm.push(' ');
    for w in &utterance.words {
        norm.push_str(&w.form);
        norm.push(' ');
        if w.clause_end {
            norm.push_str("| ");
        }
    }
    norm
}

/// Agent phrases that ask for the caller's name (in cue form).
const NAME_QUESTIONS: &[&str] = &[
    " your name",
    " your full name",
    " your first name",
    " your last name",
    " first and last name",
    " last name",
    " first name",
    " name on the account",
    " name on the",
    " name for the",
    " name please",
    " who am i speaking",
    " who im speaking",
    " who i am speaking",
    " whos calling",
    " who is calling",
    " whom am i",
    " under what name",
    " whose name",
    " get a name",
    " have a name",
    " su nombre",
    " tu nombre",
    " como se llama",
    " como te llamas",
    " con quien hablo",
    " con quien tengo el gusto",
    " a nombre de quien",
    " nombre completo",
    " and you are",
    " who do i have",
    " pleasure of speaking",
    " who am i talking",
    " whos this",
    " who is this",
    " ask who",
    " your name again",
    " name of the",
    " policy holder",
    " account holder",
    " the name on",
    " name on your",
    " name on file",
    " contact name",
    " main contact",
    " and first",
    " and the first",
    " and last",
    " and the last",
    " su apellido",
];

const EMAIL_QUESTIONS: &[&str] = &[" email", " e-mail", " e mail", " correo", " mail address"];

const SPELLING_QUESTIONS: &[&str] = &[
    " spell",
    " spelled",
    " spelling",
    " deletrear",
    " deletrea",
    " letra por letra",
    " como se escribe",
];

/// Phrases that make a turn a request even without a question mark (speech-to-text output
/// has none): "can i get your name", "please spell the last name".
const REQUESTS: &[&str] = &[
    " can i get",
    " can i have",
    " could i get",
    " could i have",
    " may i have",
    " may i get",
    " can you give",
    " could you give",
    " can you tell",
    " could you tell",
    " can you spell",
    " could you spell",
    " can you confirm",
    " please",
    " whats",
    " what is",
    " who am i",
    " who is",
    " whos",
    " and your",
    " go ahead",
    " i need your",
    " i need the",
    " let me get",
    " let me have",
    " me da",
    " me puede",
    " me podria",
    " cual es",
    " como se",
    " con quien",
    " a nombre",
    " su nombre",
    " tu nombre",
    " and you are",
    " is your name",
    " is your",
    " what name",
    " can i",
    " could i",
    " may i",
    " can you",
    " could you",
    " would you",
    " start with",
    " lets start",
    " lets get",
    " i just need",
];

/// Words that make a name question about someone else ("what name should I give the new
/// user", "y su esposo cómo se llama").
const SOMEONE_ELSE: &[&str] = &[
    " his name",
    " her name",
    " their name",
    " his first",
    " her first",
    " his last",
    " her last",
    " his full",
    " her full",
    " his email",
    " her email",
    " new user",
    " the other",
    " someone else",
    " the driver",
    " the patient",
    " the child",
    " your wife",
    " your husband",
    " your son",
    " your daughter",
    " the owner",
    " the tenant",
    " the student",
    " the guest",
    " esposo",
    " esposa",
    " hijo",
    " hija",
    " el paciente",
    " la paciente",
    " should i give",
    " should i put",
];

fn asks_of(norm: &str, utterance: &Utterance<'_>) -> Asks {
    let has = |list: &[&str]| list.iter().any(|q| norm.contains(q));
    let question = utterance.words.iter().any(|w| w.question);
    // "Name?", "And first?": a short question about a name.
    let short_name_question = utterance.words.len() <= 4
        && [" name", " first", " last", " nombre", " apellido"]
            .iter()
            .any(|w| norm.contains(w));
    // A name question is a question ("a statement showing your name" is not one) about the
    // caller, not about someone else.
    let terse = utterance.words.len() <= 5;
    // "and the name on the account", "now your email": an agent's next prompt.
    let prompt = norm
        .split(' ')
        .find(|w| !w.is_empty())
        .is_some_and(|w| matches!(w, "and" | "now" | "next" | "then" | "also" | "y"));
    // "no problem name on the appointment": speech-to-text output has no question mark, but
    // a turn that ends on a name question (a word after it at most) hands the caller the
    // floor with it; "…showing your name and the iban" does not end on one.
    let tail = {
        let words: Vec<&str> = norm
            .split(" ")
            .filter(|w| !w.is_empty() && *w != "|")
            .collect();
        let from = words.len().saturating_sub(5);
        format!(" {} ", words[from..].join(" "))
    };
    let ends_on_name_question = NAME_QUESTIONS.iter().any(|q| {
        tail.rfind(q)
            .is_some_and(|at| tail[at + q.len()..].split_whitespace().count() <= 1)
    });
    let asks_for_name = ((has(NAME_QUESTIONS) && (question || terse || prompt || has(REQUESTS)))
        || ends_on_name_question)
        && !has(SOMEONE_ELSE)
        || short_name_question;
    // "You can email it to frontdesk at…" offers the business's address; it asks nothing.
    let offers_address = has(&[
        " email it to",
        " email us",
        " send it to us",
        " send them to",
        " you can email",
        " email them to",
        " reach us at",
        " mandelo a",
        " envielo a",
    ]);
    // "Invite your team… who's first?", "and his email?": someone else's address.
    let someone_elses = has(SOMEONE_ELSE)
        || has(&[
            " your team",
            " invite",
            " for him",
            " for her",
            " the new ",
            " their email",
        ]);
    let asks_for_email = has(EMAIL_QUESTIONS)
        && (question || terse || prompt || has(REQUESTS))
        && !offers_address
        && !someone_elses;
    Asks {
        name: asks_for_name,
        email: asks_for_email,
        spelling: has(SPELLING_QUESTIONS),
        question,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Transcript, Turn};

    fn read(turns: &[(Role, &str)]) -> CappedTranscript {
        Transcript::new(turns.iter().map(|(r, t)| Turn::new(*r, *t)).collect()).capped(10_000)
    }

    #[test]
    fn turns_keep_their_transcript_index_and_agent_questions_are_classified() {
        let transcript = read(&[
            (
                Role::Agent,
                "Thanks for calling! May I have your first and last name?",
            ),
            (Role::Other, "[system] recording started"),
            (Role::Caller, "maria gomez"),
            (Role::Agent, "and can you spell the last name for me"),
            (Role::Caller, "g o m e z"),
            (Role::Agent, "whats a good email"),
        ]);
        let call = Call::read(&transcript);
        let indices: Vec<usize> = call.turns.iter().map(|t| t.index).collect();
        assert_eq!(indices, [0, 2, 3, 4, 5]);
        let first = &call.turns[0].asks;
        assert!(first.name && first.question && !first.email);
        let asks = |text: &str| {
            let t = read(&[(Role::Agent, text)]);
            Call::read(&t).turns[0].asks.name
        };
        assert!(
            asks("can i get the name on your account"),
            "a request without a question mark"
        );
        assert!(
            !asks("upload a statement showing your name and the IBAN"),
            "not a question"
        );
        assert!(
            asks("no problem the sixty thousand service covers it name on the appointment"),
            "a turn that ends on a name question, no question mark"
        );
        assert!(
            !asks("what name should i give the new user?"),
            "someone else's name"
        );
        assert!(!asks("y su esposo cómo se llama?"), "someone else's name");
        let asks_email = |text: &str| {
            let t = read(&[(Role::Agent, text)]);
            Call::read(&t).turns[0].asks.email
        };
        assert!(asks_email("and whats the best email for you"));
        assert!(!asks_email(
            "you can email it to frontdesk at ironpeak fit dot com"
        ));
        assert!(call.turns[2].asks.spelling && call.turns[2].asks.name);
        assert!(call.turns[4].asks.email);
        assert_eq!(
            call.turns[1].asks,
            Asks::default(),
            "caller turns ask nothing"
        );
        assert!(call.agent_before(1).is_some_and(|t| t.asks.name));
    }

    #[test]
    fn the_cue_form_drops_case_accents_and_apostrophes() {
        let transcript = read(&[(Role::Caller, "I DON'T want it, sí señor. It’s fine")]);
        let call = Call::read(&transcript);
        assert_eq!(call.turns[0].norm, " i dont want it | si senor | its fine ");
    }

    #[test]
    fn a_spanish_caller_is_read_in_spanish_even_after_an_english_greeting() {
        let transcript = read(&[
            (Role::Agent, "Thank you for calling, how can I help you today?"),
            (Role::Caller, "hola quisiera una cita para el martes por favor mi número es cinco cinco cinco uno dos tres cuatro"),
        ]);
        let call = Call::read(&transcript);
        assert_eq!(call.lang, Lang::Spanish);
        assert_eq!(call.turns[1].utterance.phone_numbers(), ["5551234"]);
    }

    #[test]
    fn a_caller_with_only_noise_is_silent() {
        let call_silent = read(&[(Role::Agent, "hello?"), (Role::Caller, "[inaudible]")]);
        assert!(Call::read(&call_silent).caller_is_silent());
        let call_speaking = read(&[(Role::Caller, "hi")]);
        assert!(!Call::read(&call_speaking).caller_is_silent());
    }
}
