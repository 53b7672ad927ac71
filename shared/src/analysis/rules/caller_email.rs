//! The caller's email, read across the call: the address the caller gave (spoken, spelled or
//! written; the normaliser reads each), written the way the agent read it back when the agent
//! did, replaced by a later one only on a correction or a new request, or an address the
//! agent read from file that the caller confirmed. Never an address only the agent gave (the
//! business's own) or one the caller gave for someone else ("cc my wife").

use super::dialogue::{cue_form, Call, TurnReading};
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
        .any(|w| list.contains(&cue_form(&w.lower).as_str()))
}

fn letters(address: &str) -> String {
    address
        .split('@')
        .next()
        .unwrap_or("")
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect()
}

/// True when the agent's address is a read-back of what the caller said: the same domain
/// and similar local parts, or local parts that share their letters.
fn is_read_back_of(spoken: &str, read: &str) -> bool {
    let domain = |e: &str| e.split_once('@').map(|(_, d)| d.to_owned());
    let (a, b) = (letters(spoken), letters(read));
    (domain(spoken) == domain(read) && strsim::jaro_winkler(&a, &b) >= 0.8)
        || (!a.is_empty() && !b.is_empty() && (a.contains(&b) || b.contains(&a)))
}

/// True when a caller turn sounds like an address was given ("… at gmail dot com"), read or
/// not.
fn gives_an_address(turn: &TurnReading<'_>) -> bool {
    let norm = &turn.norm;
    (norm.contains(" at ") || norm.contains(" arroba ") || norm.contains('@'))
        && (norm.contains(" dot ") || norm.contains(" punto ") || norm.contains(".com"))
}

/// The caller's email across the call.
pub(crate) fn caller_email(call: &Call<'_>) -> Option<EmailFound> {
    let mut current: Option<EmailFound> = None;
    for (position, turn) in call.turns.iter().enumerate() {
        if turn.role != Role::Caller {
            continue;
        }
        let before = call.agent_before(position);
        let after = call
            .turns
            .get(position + 1)
            .filter(|t| t.role == Role::Agent);
        let agent_before: Vec<String> = before
            .map(|t| {
                t.utterance
                    .emails()
                    .into_iter()
                    .map(|e| e.address)
                    .collect()
            })
            .unwrap_or_default();
        let agent_after: Vec<String> = after
            .map(|t| {
                t.utterance
                    .emails()
                    .into_iter()
                    .map(|e| e.address)
                    .collect()
            })
            .unwrap_or_default();
        let asked = before.is_some_and(|t| t.asks.email);
        let correction = starts_with_any(turn, CORRECTIONS, 3);
        let confirms = starts_with_any(turn, CONFIRMATIONS, 2) && !correction;
        let spoken = turn
            .utterance
            .emails()
            .into_iter()
            .last()
            .map(|e| e.address);

        let Some(spoken) = spoken else {
            // "Yes, that's it" to an address the agent read from file.
            if confirms && before.is_some_and(|t| t.asks.question) && current.is_none() {
                if let Some(on_file) = agent_before.last() {
                    current = Some(EmailFound {
                        address: on_file.clone(),
                        turn: turn.index,
                    });
                }
            }
            // An address we could not read, or "no, two t's": the agent's read-back is it.
            if (gives_an_address(turn) || (correction && current.is_some()))
                && !agent_after.is_empty()
            {
                if let Some(read) = agent_after.last() {
                    current = Some(EmailFound {
                        address: read.clone(),
                        turn: turn.index,
                    });
                }
            }
            continue;
        };
        // The business's own address, said back; not one on file the caller confirms.
        let repeats_agent = agent_before.contains(&spoken) && !asked && !confirms;
        let third_party = turn
            .utterance
            .words
            .iter()
            .any(|w| THIRD_PARTY.contains(&cue_form(&w.lower).as_str()));
        if repeats_agent || (third_party && current.is_some()) {
            continue;
        }
        if current.is_some() && !correction && !asked {
            continue;
        }
        let read_back = agent_after
            .iter()
            .rev()
            .find(|read| is_read_back_of(&spoken, read));
        current = Some(EmailFound {
            address: read_back.cloned().unwrap_or(spoken),
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
