//! The first step of the rules analyzer: the call read once. Every turn goes through the
//! spoken-form normaliser; caller and agent turns keep their order and their index in the
//! transcript, and agent turns are classified by what they ask the caller (a name, an
//! email, a spelling, a confirmation). Everything after this reads these readings, never the
//! raw text again.

use crate::analysis::spoken::{self, detect_lang, Lang, Utterance};
use crate::domain::{CappedTranscript, Role};

/// One turn, read.
pub(crate) struct TurnReading<'a> {
    /// Position among the transcript's turns (0-based, every role counted).
    pub(crate) index: usize,
    /// Who spoke.
    pub(crate) role: Role,
    /// The words, numbers, spellings and addresses.
    pub(crate) utterance: Utterance<'a>,
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
        let caller_text: String = transcript
            .turns_by(Role::Caller)
            .map(|t| t.text.as_str())
            .collect::<Vec<_>>()
            .join(" ");
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
                Some(TurnReading {
                    index,
                    role: turn.role,
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
        norm.push_str(&cue_form(&w.lower));
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

fn asks_of(norm: &str, utterance: &Utterance<'_>) -> Asks {
    let has = |list: &[&str]| list.iter().any(|q| norm.contains(q));
    let question = utterance.words.iter().any(|w| w.question);
    // "Name?", "And first?": a short question about a name.
    let short_name_question = question
        && utterance.words.len() <= 4
        && [" name", " first", " last", " nombre", " apellido"]
            .iter()
            .any(|w| norm.contains(w));
    Asks {
        name: has(NAME_QUESTIONS) || short_name_question,
        email: has(EMAIL_QUESTIONS),
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
