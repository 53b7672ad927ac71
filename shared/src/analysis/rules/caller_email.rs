//! The caller's email, read across the call: the address the caller gave (spoken, spelled or
//! written; the normaliser reads each), written the way the agent read it back when the agent
//! did, replaced by a later one only on a correction or a new request, or an address the
//! agent read from file that the caller confirmed. Never an address only the agent gave (the
//! business's own) or one the caller gave for someone else ("cc my wife").

use super::dialogue::{Call, TurnReading};
use crate::domain::Role;

/// Words that mark an address as someone else's.
const THIRD_PARTY: &[&str] = &[
    "cc",
    "copy",
    "his",
    "her",
    "wifes",
    "husbands",
    "partners",
    "bosss",
    "sons",
    "daughters",
    "moms",
    "dads",
    "colleague",
    "coworker",
    "assistant",
    "accountant",
    "lawyer",
    "esposa",
    "esposo",
    "hijo",
    "hija",
    "jefe",
];

/// Words that open a correction.
const CORRECTIONS: &[&str] = &[
    "actually",
    "no",
    "not",
    "instead",
    "sorry",
    "correction",
    "rather",
    "wait",
    "oops",
    "perdon",
    "mejor",
    "nope",
];

/// Replies that confirm what the agent just read out.
const CONFIRMATIONS: &[&str] = &[
    "yes", "yeah", "yep", "yup", "correct", "right", "exactly", "si", "perfect", "perfecto",
    "thats", "sure", "mhm",
];

/// The caller's email and the transcript turn it was (last) given or confirmed in.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct EmailFound {
    /// Lower case, written out.
    pub(crate) address: String,
    /// The turn's index in the transcript.
    pub(crate) turn: usize,
}

fn starts_with_any(turn: &TurnReading<'_>, list: &[&str], within: usize) -> bool {
    turn.utterance
        .words
        .iter()
        .take(within)
        .any(|w| list.contains(&w.form.as_str()))
}

/// Letters and digits of an address, separators and domain dropped.
fn alnum(address: &str) -> String {
    address
        .split('@')
        .next()
        .unwrap_or("")
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect()
}

/// True when the agent's written address is a read-back of what the caller said: the same
/// letters and digits, or the same domain and nearly the same local part.
fn is_written_read_back_of(spoken: &str, read: &str) -> bool {
    alnum(spoken) == alnum(read)
        || (domain(spoken) == domain(read)
            && strsim::jaro_winkler(&alnum(spoken), &alnum(read)) >= 0.9)
}

/// True when the agent, reading back aloud, said the caller's address without a word the
/// caller's address took in front of it ("email's fine m ferreira at…" read back as "m
/// ferreira at…"; "sí a alex punto fuentes" as "alex punto fuentes"): same domain, the
/// caller's local part ends with the agent's, which holds a letter and is no mere tail, and
/// one short word at most is left over. Any other difference between a spoken address and
/// its spoken read-back is the agent mishearing, not a correction.
fn drops_a_word_before(spoken: &str, read: &str) -> bool {
    let (said, heard) = (alnum(spoken), alnum(read));
    domain(spoken) == domain(read)
        && said.len() > heard.len()
        && said.len() - heard.len() <= 6
        && heard.len() >= 3
        && heard.chars().any(|c| c.is_ascii_alphabetic())
        && said.ends_with(&heard)
}

fn domain(address: &str) -> Option<&str> {
    address.split_once('@').map(|(_, d)| d)
}

/// True when a caller turn sounds like an address was given ("… at gmail dot com"), read or
/// not.
fn gives_an_address(turn: &TurnReading<'_>) -> bool {
    let norm = &turn.norm;
    (norm.contains(" at ") || norm.contains(" arroba ") || norm.contains('@'))
        && (norm.contains(" dot ") || norm.contains(" punto ") || norm.contains(".com"))
}

/// Phrases that make an agent turn a question even without a question mark ("is it still k
/// lowe at yahoo dot com").
const CONFIRM_QUESTIONS: &[&str] = &[
    " is that",
    " is it",
    " is this",
    " still correct",
    " still good",
    " still the best",
    " still right",
    " correct ",
    " right ",
    " es correcto",
    " sigue siendo",
    " todavia",
    " ok ",
    " okay ",
    " i have ",
    " we have ",
    " on file",
    " i see ",
    " shows ",
    " tengo ",
    " tenemos ",
    " aparece ",
];

fn is_question(turn: &TurnReading<'_>) -> bool {
    turn.asks.question || CONFIRM_QUESTIONS.iter().any(|q| turn.norm.contains(q))
}

/// The caller's email across the call.
pub(crate) fn caller_email(call: &Call<'_>) -> Option<EmailFound> {
    let mut current: Option<EmailFound> = None;
    // Addresses the agent gave without asking about them: the business's own.
    let mut offered: Vec<String> = Vec::new();
    for (position, turn) in call.turns.iter().enumerate() {
        if turn.role != Role::Caller {
            if !is_question(turn) && !turn.asks.email {
                offered.extend(turn.emails.iter().map(|e| e.address.clone()));
            }
            continue;
        }
        let before = call.agent_before(position);
        let after = call
            .turns
            .get(position + 1)
            .filter(|t| t.role == Role::Agent);
        let asked = before.is_some_and(|t| t.asks.email);
        let words = &turn.utterance.words;
        // The address said last, a written one before a spoken one of the same turn.
        let given = turn
            .emails
            .iter()
            .rev()
            .find(|e| e.written)
            .or_else(|| turn.emails.last());
        let upto = given.map_or(words.len(), |e| e.start);
        let correction = words
            .iter()
            .take(upto.max(3))
            .any(|w| CORRECTIONS.contains(&w.form.as_str()));
        let confirms = starts_with_any(turn, CONFIRMATIONS, 2) && !correction;

        let Some(given) = given else {
            // "Yes, that's it" to an address the agent read from file.
            if confirms && current.is_none() {
                if let Some(on_file) = before
                    .filter(|t| is_question(t))
                    .and_then(|t| t.emails.last())
                {
                    current = Some(EmailFound {
                        address: on_file.address.clone(),
                        turn: turn.index,
                    });
                }
            }
            // An address we could not read, or "no, two t's" to the address found or to the
            // one on file: the agent's next read-back is it.
            let on_file = before.is_some_and(|t| !t.emails.is_empty());
            if gives_an_address(turn) || (correction && (current.is_some() || on_file)) {
                if let Some(read) = after.and_then(|t| t.emails.last()) {
                    current = Some(EmailFound {
                        address: read.address.clone(),
                        turn: turn.index,
                    });
                }
            }
            continue;
        };
        let spoken = given.address.clone();
        // The business's address said back ("frontdesk at ironpeak fit dot com, got it").
        if offered.contains(&spoken) && !asked && !correction {
            continue;
        }
        let third_party = words.iter().any(|w| THIRD_PARTY.contains(&w.form.as_str()));
        if third_party && current.is_some() {
            continue;
        }
        if current.is_some() && !correction && !asked {
            continue;
        }
        // The agent's read-back writes a spoken address: written, it is how the address is
        // spelled; said aloud, it stands only for a word it dropped that the caller let go
        // (no correction next).
        let corrected_next = call
            .turns
            .get(position + 2)
            .filter(|t| t.role == Role::Caller)
            .is_some_and(|t| starts_with_any(t, CORRECTIONS, 3));
        let read_back = after.and_then(|t| {
            t.emails.iter().rev().find(|read| {
                !given.written
                    && if read.written {
                        is_written_read_back_of(&spoken, &read.address)
                    } else {
                        !corrected_next && drops_a_word_before(&spoken, &read.address)
                    }
            })
        });
        current = Some(EmailFound {
            address: read_back.map_or(spoken, |r| r.address.clone()),
            turn: turn.index,
        });
    }
    current
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Transcript, Turn};
    use Role::{Agent as A, Caller as C};

    /// A short exchange and the value wanted from it.
    type Case = (&'static [(Role, &'static str)], Option<&'static str>);

    fn email(turns: &[(Role, &str)]) -> Option<String> {
        let t =
            Transcript::new(turns.iter().map(|(r, x)| Turn::new(*r, *x)).collect()).capped(100_000);
        caller_email(&Call::read(&t)).map(|e| e.address)
    }

    #[test]
    fn the_address_the_caller_gives_in_any_form() {
        let cases: &[Case] = &[
            (
                &[
                    (A, "whats a good email"),
                    (C, "mike t forty two at yahoo dot com"),
                ],
                Some("miket42@yahoo.com"),
            ),
            (
                &[(A, "email?"), (C, "j o n dot s m i t h at gmail dot com")],
                Some("jon.smith@gmail.com"),
            ),
            (
                &[
                    (A, "¿un correo?"),
                    (C, "sí es rosa punto delgado arroba hotmail punto com"),
                ],
                Some("rosa.delgado@hotmail.com"),
            ),
            (
                &[
                    (A, "And your email?"),
                    (C, "It's dana.whitfield@gmail.com."),
                ],
                Some("dana.whitfield@gmail.com"),
            ),
        ];
        for (turns, want) in cases {
            assert_eq!(email(turns).as_deref(), *want, "{turns:?}");
        }
    }

    #[test]
    fn a_read_back_writes_it_and_a_correction_replaces_it() {
        assert_eq!(
            email(&[
                (A, "And your email for the agreement?"),
                (C, "kate dot doyle eighty-eight at outlook dot com"),
                (A, "So that's kate.doyle88@outlook.com?"),
                (C, "Yes."),
            ])
            .as_deref(),
            Some("kate.doyle88@outlook.com")
        );
        assert_eq!(
            email(&[
                (A, "And your email?"),
                (C, "graham dot prescott at gmail dot com."),
                (A, "Got it, graham.prescott@gmail.com."),
                (
                    C,
                    "Actually, use my work one. It's g prescott at halvorsen eng dot com."
                ),
                (A, "gprescott@halvorseneng.com."),
                (
                    C,
                    "Yep. Can you cc my wife? It's claire dot b dot moss at gmail dot com."
                ),
            ])
            .as_deref(),
            Some("gprescott@halvorseneng.com")
        );
    }

    #[test]
    fn a_spoken_read_back_stands_only_for_a_word_the_caller_said_before_the_address() {
        // "fine" is the caller's answer, not the address: the agent read it back without.
        assert_eq!(
            email(&[
                (A, "would you like a confirmation by email as well"),
                (C, "email's fine m ferreira at protonmail dot com"),
                (A, "so that's m ferreira at protonmail dot com"),
                (C, "yep"),
            ])
            .as_deref(),
            Some("mferreira@protonmail.com")
        );
        // An agent who drops a letter mishears; the caller's address stands.
        assert_eq!(
            email(&[
                (A, "whats your email"),
                (C, "its megan dot fairbanks at gmail dot com"),
                (A, "megan dot fairbank at gmail dot com"),
                (C, "fairbanks with an s"),
            ])
            .as_deref(),
            Some("megan.fairbanks@gmail.com")
        );
        // Nor does a read-back the caller corrects.
        assert_eq!(
            email(&[
                (A, "whats your email"),
                (C, "sure t reed ninety at gmail dot com"),
                (A, "reed ninety at gmail dot com"),
                (C, "no t reed ninety"),
            ])
            .as_deref(),
            Some("treed90@gmail.com")
        );
    }

    #[test]
    fn an_address_on_file_counts_once_confirmed_and_the_businesss_never() {
        assert_eq!(
            email(&[
                (
                    A,
                    "i have your email as pat dot lee at gmail dot com is that still good?"
                ),
                (C, "yeah thats still it"),
            ])
            .as_deref(),
            Some("pat.lee@gmail.com")
        );
        assert_eq!(
            email(&[
                (A, "you can send the photos to claims at acme dot com"),
                (C, "ok claims at acme dot com got it"),
            ]),
            None
        );
        assert_eq!(
            email(&[
                (A, "Can I get an email?"),
                (C, "No, I'd rather not give my email.")
            ]),
            None
        );
    }
}
