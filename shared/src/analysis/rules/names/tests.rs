//! Table tests of the name finder on short exchanges, as written and as speech-to-text writes
//! them, and the independent cases of `spoken/independent-cases.jsonl`.

use super::*;
use crate::domain::{Transcript, Turn};

fn name_in(turns: &[(Role, &str)]) -> Option<String> {
    let transcript =
        Transcript::new(turns.iter().map(|(r, t)| Turn::new(*r, *t)).collect()).capped(100_000);
    let call = Call::read(&transcript);
    caller_name(&call).map(|n| n.name)
}

use Role::{Agent as A, Caller as C};

/// A short exchange and the value wanted from it.
type Case = (&'static [(Role, &'static str)], Option<&'static str>);

#[test]
fn answers_to_the_name_question() {
    let cases: &[Case] = &[
        (
            &[
                (A, "can i get your first and last name"),
                (C, "maria gomez"),
            ],
            Some("Maria Gomez"),
        ),
        (
            &[
                (A, "may i have your name please"),
                (C, "uh yeah it's robert sullivan"),
            ],
            Some("Robert Sullivan"),
        ),
        (
            &[(A, "and who am i speaking with"), (C, "this is jenna")],
            Some("Jenna"),
        ),
        (
            &[(A, "What's your name?"), (C, "Kevin Brown.")],
            Some("Kevin Brown"),
        ),
        (
            &[
                (A, "name on the account"),
                (C, "its under robert j sullivan"),
            ],
            Some("Robert J Sullivan"),
        ),
        (
            &[(A, "can i have your name"), (C, "j e n n a")],
            Some("Jenna"),
        ),
        (
            &[
                (A, "your first name"),
                (C, "priya"),
                (A, "and your last name"),
                (C, "raman r a m a n"),
            ],
            Some("Priya Raman"),
        ),
        (
            &[(A, "¿me da su nombre?"), (C, "rosa delgado")],
            Some("Rosa Delgado"),
        ),
        (
            &[(A, "¿con quién hablo?"), (C, "con carmen ruiz")],
            Some("Carmen Ruiz"),
        ),
        (
            &[
                (A, "can i get your name"),
                (C, "uh sure hold on one second"),
            ],
            None,
        ),
        (
            &[(A, "can i get your name"), (C, "i'd rather not say")],
            None,
        ),
        (
            &[
                (A, "and the name on the account"),
                (C, "it's under my wife jolene"),
            ],
            None,
        ),
        (
            &[
                (A, "who am i speaking with"),
                (C, "uh this is regarding my bill"),
            ],
            None,
        ),
    ];
    for (turns, want) in cases {
        assert_eq!(name_in(turns).as_deref(), *want, "{turns:?}");
    }
}

#[test]
fn self_introductions() {
    let cases: &[Case] = &[
        (
            &[(C, "hi my name is maria gomez and i'm calling about my bill")],
            Some("Maria Gomez"),
        ),
        (
            &[(C, "Hi, my name is Dana Scully and I need help")],
            Some("Dana Scully"),
        ),
        (
            &[(C, "hey this is tom calling about the quote")],
            Some("Tom"),
        ),
        (&[(C, "hi its jenna from apartment four")], Some("Jenna")),
        (
            &[(C, "hola me llamo lucía fernández")],
            Some("Lucía Fernández"),
        ),
        (&[(C, "buenas tardes soy carlos")], Some("Carlos")),
        (
            &[(C, "hi grace here calling back about the invoice")],
            Some("Grace"),
        ),
        (&[(C, "this is ridiculous")], None),
        (&[(C, "i'm calling about my order")], None),
        (&[(C, "im good thanks how are you")], None),
        (&[(C, "it's fine it will be fine")], None),
        (&[(C, "this is acme plumbing returning your call")], None),
        (&[(C, "my wife's name is jolene")], None),
        (&[(C, "her name is luna she's a golden retriever")], None),
        (&[(C, "soy de guadalajara")], None),
    ];
    for (turns, want) in cases {
        assert_eq!(name_in(turns).as_deref(), *want, "{turns:?}");
    }
}

#[test]
fn spellings_and_corrections() {
    let cases: &[Case] = &[
        (
            &[
                (A, "What's your full name?"),
                (C, "Katherine Doyle."),
                (A, "Thank you, Catherine. Is that with a C?"),
                (
                    C,
                    "No, Katherine with a K. K A T H E R I N E. Doyle, D O Y L E.",
                ),
            ],
            Some("Katherine Doyle"),
        ),
        (
            &[
                (A, "Can I get your name?"),
                (C, "Jon Petersen."),
                (A, "Thank you, John. And your date of birth?"),
                (C, "March third, 1988. Oh and sorry, it's Jon, no h. J O N."),
            ],
            Some("Jon Petersen"),
        ),
        (
            &[(A, "your name"), (C, "catherine with a k")],
            Some("Katherine"),
        ),
        (
            &[(A, "last name please"), (C, "okeke o, k, e, k, e")],
            Some("Okeke"),
        ),
        (
            &[
                (A, "your name please"),
                (C, "chidi okeke"),
                (A, "can you spell the last name"),
                (C, "o k e k e"),
            ],
            Some("Chidi Okeke"),
        ),
        (
            &[(A, "name?"), (C, "its nguyen n g u y e n thi")],
            Some("Nguyen"),
        ),
    ];
    for (turns, want) in cases {
        assert_eq!(name_in(turns).as_deref(), *want, "{turns:?}");
    }
}

#[test]
fn never_the_agent_a_third_party_or_a_read_back_nobody_confirmed() {
    let cases: &[Case] = &[
        (
            &[
                (A, "hi this is maya from harbor point realty"),
                (C, "hi maya i had a question about the listing"),
            ],
            None,
        ),
        (
            &[
                (A, "am i speaking with rachel feingold"),
                (C, "yes this is rachel"),
            ],
            Some("Rachel Feingold"),
        ),
        (
            &[
                (A, "am i speaking with rachel feingold"),
                (C, "no she's not here"),
            ],
            None,
        ),
        (&[(C, "the appointment is for my son kevin")], None),
        (&[(C, "doctor patel saw her last time")], None),
        (
            &[
                (A, "Who's the patient?"),
                (C, "My dog. Her name is Biscuit."),
            ],
            None,
        ),
    ];
    for (turns, want) in cases {
        assert_eq!(name_in(turns).as_deref(), *want, "{turns:?}");
    }
}

#[test]
fn names_the_agent_calls_the_caller_by() {
    let cases: &[Case] = &[
        // Said in passing, then the agent calls the caller by the first name.
        (
            &[
                (A, "are you a current patient"),
                (C, "yes uh rob szymanski s z y m a n s k i"),
                (A, "i see you rob any swelling"),
            ],
            Some("Rob Szymanski"),
        ),
        (
            &[
                (A, "what can i do for you"),
                (
                    C,
                    "yeah it's about the roof uh dmitri volkov we spoke last week",
                ),
                (
                    A,
                    "right let me pull up your file dmitri is it the flashing",
                ),
            ],
            Some("Dmitri Volkov"),
        ),
        // An agent repeating the words names a place or a plan, not the caller.
        (
            &[
                (A, "how can i help"),
                (C, "yeah hi i'm calling for the willow creek hoa"),
                (A, "oh awesome willow creek yes the one with the ponds"),
            ],
            None,
        ),
        // A surname that is also a word, kept when the agent says it with an honorific.
        (
            &[
                (A, "how can i help you"),
                (
                    C,
                    "yes good morning this is wendell price i'm looking at my statement",
                ),
                (A, "okay let me take a look mister price"),
            ],
            Some("Wendell Price"),
        ),
        (
            &[
                (A, "how can i help you"),
                (
                    C,
                    "yes good morning this is wendell price i'm looking at my statement",
                ),
                (A, "okay let me take a look"),
            ],
            Some("Wendell"),
        ),
        // A name question at the end of a turn without a question mark.
        (
            &[
                (A, "no problem the name on the appointment"),
                (C, "terrence pike"),
            ],
            Some("Terrence Pike"),
        ),
        // A name said again after an email built on it keeps each word once.
        (
            &[
                (A, "y un correo"),
                (C, "carmen rios ochenta y ocho arroba gmail punto com"),
                (A, "carmen rios ocho ocho arroba gmail punto com todo junto"),
                (
                    C,
                    "no con guion bajo entre carmen y rios carmen underscore rios",
                ),
                (
                    A,
                    "ah ok carmen guion bajo rios ocho ocho arroba gmail punto com",
                ),
                (A, "y tu nombre completo para la cotizacion"),
                (C, "carmen rios"),
                (A, "ok carmen"),
            ],
            Some("Carmen Rios"),
        ),
        // Particles, one after another, inside a name.
        (
            &[
                (A, "claro que si a nombre de quien esta la cuenta"),
                (C, "maria de los angeles cruz"),
            ],
            Some("Maria de los Angeles Cruz"),
        ),
        (
            &[(A, "can i get your name"), (C, "anna van der berg")],
            Some("Anna van der Berg"),
        ),
        // A surname said and spelled is said once.
        (
            &[
                (A, "can i get your name please"),
                (C, "walter kowalczyk"),
                (A, "can you spell that last name for me"),
                (C, "its k o w a l c z y k kowalczyk"),
            ],
            Some("Walter Kowalczyk"),
        ),
    ];
    for (turns, want) in cases {
        assert_eq!(name_in(turns).as_deref(), *want, "{turns:?}");
    }
}

#[test]
fn voicemail_greetings_and_messages() {
    let cases: &[Case] = &[
        (
            &[(
                C,
                "hi you've reached maria gomez please leave a message after the tone",
            )],
            Some("Maria Gomez"),
        ),
        (
            &[(C, "hey it's dave call me back when you get this")],
            Some("Dave"),
        ),
        (
            &[(C, "has llamado a elena torres deja tu mensaje")],
            Some("Elena Torres"),
        ),
    ];
    for (turns, want) in cases {
        assert_eq!(name_in(turns).as_deref(), *want, "{turns:?}");
    }
}

/// Independent name cases the finder does not read yet, and why.
const KNOWN_GAPS: &[(&str, &str)] = &[];

fn normalized(name: &str) -> String {
    name.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn independent_name_cases() {
    let cases = include_str!("../../spoken/independent-cases.jsonl");
    let mut misses = Vec::new();
    let mut checked = 0;
    for line in cases.lines().filter(|l| !l.trim().is_empty()) {
        let case: serde_json::Value = serde_json::from_str(line).unwrap_or_default();
        if case["kind"] != "name" {
            continue;
        }
        let turns: Vec<(Role, String)> = case["turns"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| {
                let role = Role::parse(t.get(0)?.as_str()?);
                Some((role, t.get(1)?.as_str()?.to_owned()))
            })
            .collect();
        let key = turns.last().map(|(_, t)| t.clone()).unwrap_or_default();
        if KNOWN_GAPS.iter().any(|(gap, _)| *gap == key) {
            continue;
        }
        let borrowed: Vec<(Role, &str)> = turns.iter().map(|(r, t)| (*r, t.as_str())).collect();
        let got = name_in(&borrowed).map(|n| normalized(&n));
        let want = case["want"].as_str().map(normalized);
        checked += 1;
        if got != want {
            misses.push(format!("{turns:?}\n    want {want:?}, got {got:?}"));
        }
    }
    assert!(checked >= 80, "{checked}");
    assert!(
        misses.is_empty(),
        "{} of {checked} missed:\n{}",
        misses.len(),
        misses.join("\n")
    );
}
