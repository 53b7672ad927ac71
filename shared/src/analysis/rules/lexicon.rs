//! Cue classes: words and phrases grouped by what they mean in a call (a purchase in view, a
//! grievance, a request about an existing account…), in English and Spanish, in cue form
//! (lower case, no accents, no apostrophes; `dialogue::cue_form`). Every entry is a class of
//! meaning that many calls share, never a phrase one labelled call needed: the learned model
//! weighs the classes (`model.rs`), and n-grams cover what a class misses.
//!
//! All phrases of all classes are matched in one Aho-Corasick pass per turn.

use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

/// What a cue says about the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Cue {
    /// Buying something new is in view: a price, a quote, a plan, signing up.
    Purchase,
    /// The caller commits: "let's do it", "send the contract", a deposit.
    Commitment,
    /// When they want it: "asap", "this week", "by Friday".
    Timeline,
    /// Money in place: a budget, financing, paying cash.
    Budget,
    /// Backing away: "just looking", "too expensive", "I'll think about it".
    BrushOff,
    /// Turning an offer down: "not interested", "take me off your list".
    Refusal,
    /// Something already went wrong and should be put right.
    Grievance,
    /// Anger, threats and escalation ("lawyer", "manager", "unacceptable").
    Escalation,
    /// Help with something the caller already has: an account, a login, a change.
    Account,
    /// Something does not work.
    Fault,
    /// An appointment or a reservation.
    Scheduling,
    /// Calling one off.
    Cancel,
    /// A question without a commitment: hours, location, what is offered.
    Inquiry,
    /// Dialled the wrong number.
    WrongNumber,
    /// A voicemail greeting or message.
    Voicemail,
    /// Gratitude.
    Thanks,
    /// The agent apologises (agent turns).
    Apology,
    /// The agent offers, books, prices (agent turns): a sales or booking script.
    Offer,
}

impl Cue {
    /// The name used in feature names and `--explain`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Cue::Purchase => "purchase",
            Cue::Commitment => "commitment",
            Cue::Timeline => "timeline",
            Cue::Budget => "budget",
            Cue::BrushOff => "brush_off",
            Cue::Refusal => "refusal",
            Cue::Grievance => "grievance",
            Cue::Escalation => "escalation",
            Cue::Account => "account",
            Cue::Fault => "fault",
            Cue::Scheduling => "scheduling",
            Cue::Cancel => "cancel",
            Cue::Inquiry => "inquiry",
            Cue::WrongNumber => "wrong_number",
            Cue::Voicemail => "voicemail",
            Cue::Thanks => "thanks",
            Cue::Apology => "apology",
            Cue::Offer => "offer",
        }
    }
}

/// Phrases per class. A phrase that holds its own negation ("not interested") counts after a
/// negator too; any other is cancelled by one in the three words before it.
const PHRASES: &[(Cue, &[&str])] = &[
    (
        Cue::Purchase,
        &[
            "buy",
            "buying",
            "purchase",
            "purchasing",
            "quote",
            "quotes",
            "estimate",
            "estimates",
            "price",
            "prices",
            "pricing",
            "how much",
            "cost",
            "costs",
            "rate",
            "rates",
            "interested in",
            "sign up",
            "signing up",
            "enroll",
            "enrolling",
            "join",
            "upgrade",
            "upgrading",
            "financing",
            "finance",
            "payment plan",
            "down payment",
            "deposit",
            "package",
            "packages",
            "plans",
            "special",
            "promotion",
            "promo",
            "deal",
            "discount",
            "contract",
            "agreement",
            "lease",
            "leasing",
            "trade in",
            "test drive",
            "listing",
            "make an offer",
            "new customer",
            "switch",
            "switching",
            "get started",
            "free trial",
            "demo",
            "subscribe",
            "open an account",
            "looking to get",
            "thinking about getting",
            "considering",
            "comparing",
            "shopping around",
            "cheaper",
            "ballpark",
            "new line",
            "add a line",
            "install",
            "installation",
            "consultation",
            "for sale",
            "in stock",
            "comprar",
            "compra",
            "precio",
            "precios",
            "cotizacion",
            "presupuesto",
            "cuanto cuesta",
            "cuanto sale",
            "cuanto cobran",
            "contratar",
            "paquete",
            "oferta",
            "descuento",
            "financiamiento",
            "enganche",
            "inscribirme",
            "inscribir",
            "plan",
            "planes",
        ],
    ),
    (
        Cue::Commitment,
        &[
            "lets do it",
            "lets do this",
            "sign me up",
            "ill take it",
            "well take it",
            "ill take the",
            "well take the",
            "go ahead",
            "lets go ahead",
            "lets move forward",
            "move forward",
            "moving forward",
            "where do i sign",
            "send me the contract",
            "send the contract",
            "send the agreement",
            "send me the agreement",
            "send the paperwork",
            "send me the paperwork",
            "book it",
            "lock it in",
            "lock in",
            "count me in",
            "ready to buy",
            "ready to sign",
            "ready to go",
            "ready to move forward",
            "im ready",
            "were ready",
            "put down a deposit",
            "pay the deposit",
            "put a deposit",
            "charge my card",
            "take my card",
            "use my card",
            "lets get started",
            "im in",
            "sounds like a plan",
            "that works for me",
            "thats a deal",
            "its a deal",
            "want to buy",
            "want to purchase",
            "like to buy",
            "like to purchase",
            "want to sign up",
            "like to sign up",
            "want to go with",
            "go with the",
            "vamos a hacerlo",
            "lo quiero",
            "quiero contratar",
            "adelante",
            "trato hecho",
            "lo compro",
            "me lo llevo",
        ],
    ),
    (
        Cue::Timeline,
        &[
            "asap",
            "as soon as possible",
            "right away",
            "immediately",
            "today",
            "tonight",
            "tomorrow",
            "this week",
            "this weekend",
            "next week",
            "this month",
            "next month",
            "end of the month",
            "within a month",
            "two weeks",
            "couple of weeks",
            "couple weeks",
            "urgent",
            "urgently",
            "by monday",
            "by tuesday",
            "by wednesday",
            "by thursday",
            "by friday",
            "by saturday",
            "by the weekend",
            "first of the month",
            "lo antes posible",
            "hoy",
            "manana",
            "esta semana",
            "la proxima semana",
            "este mes",
            "el proximo mes",
            "cuanto antes",
            "urgente",
        ],
    ),
    (
        Cue::Budget,
        &[
            "budget",
            "budgeted",
            "afford",
            "pre approved",
            "preapproved",
            "approved for",
            "paying cash",
            "pay cash",
            "cash buyer",
            "in cash",
            "financing lined up",
            "my price",
            "willing to spend",
            "willing to pay",
            "up to",
            "presupuesto",
            "de contado",
            "en efectivo",
        ],
    ),
    (
        Cue::BrushOff,
        &[
            "just looking",
            "just browsing",
            "just checking",
            "just curious",
            "just asking",
            "just wondering",
            "think about it",
            "thinking about it",
            "maybe later",
            "not right now",
            "not ready",
            "too expensive",
            "too much",
            "too pricey",
            "cant afford",
            "over my budget",
            "out of my budget",
            "out of our budget",
            "check with my",
            "talk to my",
            "discuss with my",
            "run it by",
            "get back to you",
            "shop around",
            "other quotes",
            "not sure",
            "probably not",
            "ill pass",
            "pass for now",
            "lo voy a pensar",
            "lo pienso",
            "muy caro",
            "demasiado caro",
            "no estoy seguro",
            "no estoy segura",
        ],
    ),
    (
        Cue::Refusal,
        &[
            "not interested",
            "no thanks",
            "no thank you",
            "take me off",
            "stop calling",
            "do not call",
            "dont call",
            "remove me",
            "remove my number",
            "not buying",
            "no me interesa",
            "no estoy interesado",
            "no estoy interesada",
            "no gracias",
            "no vuelvan a llamar",
            "no me llamen",
        ],
    ),
    (
        Cue::Grievance,
        &[
            "refund",
            "refunded",
            "money back",
            "charged twice",
            "double charged",
            "overcharged",
            "charged me",
            "billed twice",
            "wrong charge",
            "billing error",
            "late fee",
            "complaint",
            "complain",
            "never showed",
            "no show",
            "didnt show up",
            "never came",
            "never arrived",
            "never received",
            "stood me up",
            "still waiting",
            "been waiting",
            "waited",
            "nobody called",
            "no one called",
            "nobody told me",
            "no one told me",
            "promised",
            "mistake",
            "messed up",
            "screwed up",
            "ruined",
            "damaged",
            "wrong order",
            "wrong item",
            "missing",
            "delayed",
            "reimburse",
            "reimbursement",
            "compensation",
            "make it right",
            "not fixed",
            "still not",
            "still broken",
            "third time",
            "again and again",
            "every time",
            "not what i ordered",
            "not what i paid",
            "i paid for",
            "shouldnt have to",
            "not acceptable",
            "dispute",
            "queja",
            "reembolso",
            "devolucion",
            "cobraron",
            "me cobraron",
            "cobro doble",
            "mal servicio",
            "nunca llego",
            "nunca vino",
            "todavia no",
            "pago atrasado",
            "pago tardio",
            "cargo por",
            "me cobran",
            "cobro de mas",
            "no me llego",
        ],
    ),
    (
        Cue::Escalation,
        &[
            "unacceptable",
            "terrible",
            "horrible",
            "awful",
            "ridiculous",
            "worst",
            "rude",
            "disappointed",
            "upset",
            "angry",
            "furious",
            "frustrated",
            "frustrating",
            "fed up",
            "sick of",
            "scam",
            "manager",
            "supervisor",
            "escalate",
            "lawyer",
            "attorney",
            "sue",
            "chargeback",
            "bbb",
            "better business bureau",
            "review",
            "report you",
            "cancel everything",
            "never again",
            "pesimo",
            "molesto",
            "molesta",
            "enojado",
            "enojada",
            "harto",
            "harta",
            "abogado",
            "gerente",
            "supervisor",
        ],
    ),
    (
        Cue::Account,
        &[
            "my account",
            "my policy",
            "my plan",
            "my card",
            "my bill",
            "my order",
            "my subscription",
            "my service",
            "my membership",
            "my claim",
            "my prescription",
            "my balance",
            "my payment",
            "my statement",
            "my reservation",
            "my booking",
            "my package",
            "my loan",
            "my number",
            "update",
            "change my",
            "changing my",
            "reset",
            "password",
            "pin",
            "log in",
            "login",
            "sign in",
            "locked out",
            "username",
            "app",
            "portal",
            "website",
            "online",
            "set up",
            "how do i",
            "how can i",
            "where do i",
            "is there a way",
            "help me with",
            "statement",
            "invoice",
            "receipt",
            "paperwork",
            "form",
            "forms",
            "documents",
            "records",
            "status",
            "check on",
            "follow up",
            "following up",
            "transfer",
            "new address",
            "change of address",
            "moved",
            "autopay",
            "payment method",
            "cancel my subscription",
            "cancel my membership",
            "cancel my service",
            "cancel my account",
            "cancel my policy",
            "pause",
            "freeze",
            "add a driver",
            "add someone",
            "remove",
            "replace",
            "replacement",
            "activate",
            "activation",
            "refill",
            "renew",
            "renewal",
            "balance",
            "due date",
            "existing",
            "already have",
            "im a customer",
            "im a member",
            "im a patient",
            "im a client",
            "mi cuenta",
            "contrasena",
            "actualizar",
            "cambiar mi",
            "cancelar mi",
            "factura",
            "recibo",
            "mi pedido",
            "mi poliza",
            "mi tarjeta",
            "estado de",
            "pago automatico",
            "soy cliente",
            "cambiar el",
            "pasar a",
        ],
    ),
    (
        Cue::Fault,
        &[
            "not working",
            "isnt working",
            "doesnt work",
            "stopped working",
            "wont work",
            "wont turn on",
            "wont start",
            "wont load",
            "cant log in",
            "cant get in",
            "cant access",
            "broken",
            "broke",
            "glitch",
            "bug",
            "crash",
            "crashing",
            "crashes",
            "error",
            "errors",
            "keeps",
            "frozen",
            "no connection",
            "no signal",
            "no power",
            "leaking",
            "leak",
            "outage",
            "down",
            "problem with",
            "issue with",
            "trouble with",
            "no funciona",
            "se descompuso",
            "no prende",
            "falla",
            "fallando",
        ],
    ),
    (
        Cue::Scheduling,
        &[
            "appointment",
            "appointments",
            "book",
            "booking",
            "schedule",
            "scheduling",
            "reschedule",
            "rescheduling",
            "reservation",
            "reservations",
            "reserve",
            "table for",
            "availability",
            "available",
            "opening",
            "openings",
            "slot",
            "come in",
            "come out",
            "send someone",
            "someone to come",
            "earliest",
            "next available",
            "see the doctor",
            "see someone",
            "get in",
            "time slot",
            "pick up",
            "drop off",
            "walk in",
            "move my",
            "monday",
            "tuesday",
            "wednesday",
            "thursday",
            "friday",
            "saturday",
            "sunday",
            "morning",
            "afternoon",
            "evening",
            "cita",
            "citas",
            "reservar",
            "reservacion",
            "reserva",
            "agendar",
            "turno",
            "lunes",
            "martes",
            "miercoles",
            "jueves",
            "viernes",
            "sabado",
            "domingo",
        ],
    ),
    (
        Cue::Cancel,
        &[
            "cancel",
            "cancelling",
            "canceling",
            "cancellation",
            "cancelar",
            "cancela",
            "cancelacion",
        ],
    ),
    (
        Cue::Inquiry,
        &[
            "hours",
            "are you open",
            "open on",
            "what time",
            "located",
            "location",
            "directions",
            "where are you",
            "do you accept",
            "do you take",
            "do you offer",
            "do you have",
            "do you guys",
            "do you do",
            "is there",
            "are there",
            "how does",
            "how long does",
            "whats the difference",
            "difference between",
            "wondering",
            "curious",
            "quick question",
            "question about",
            "questions about",
            "information",
            "info",
            "brochure",
            "parking",
            "policy on",
            "requirements",
            "deadline",
            "eligible",
            "what do i need",
            "do i need",
            "can i just",
            "horario",
            "aceptan",
            "donde estan",
            "pregunta",
            "informacion",
            "tienen",
            "ofrecen",
            "nada mas estoy preguntando",
            "solo pregunto",
            "nada mas pregunto",
            "queria preguntar",
            "como funciona",
            "me estoy informando",
        ],
    ),
    (
        Cue::WrongNumber,
        &[
            "wrong number",
            "numero equivocado",
            "se equivoco",
            "me equivoque",
            "who is this",
            "quien habla",
        ],
    ),
    (
        Cue::Voicemail,
        &[
            "leave a message",
            "after the tone",
            "after the beep",
            "not available",
            "voicemail",
            "call me back",
            "give me a call",
            "return my call",
            "deje su mensaje",
            "deja tu mensaje",
            "buzon",
            "llameme",
            "llamame",
        ],
    ),
    (
        Cue::Thanks,
        &[
            "thank you",
            "thanks",
            "thank you so much",
            "appreciate",
            "appreciate it",
            "youve been",
            "gracias",
            "muchas gracias",
            "muy amable",
            "se lo agradezco",
        ],
    ),
    (
        Cue::Apology,
        &[
            "sorry to hear",
            "i apologize",
            "apologize for",
            "apologies",
            "im so sorry",
            "im really sorry",
            "im sorry",
            "sorry about",
            "make this right",
            "make it right",
            "lo siento",
            "disculpe",
            "disculpa",
            "perdone",
        ],
    ),
    (
        Cue::Offer,
        &[
            "i can book",
            "book you",
            "youre booked",
            "have you down",
            "i have an opening",
            "see you on",
            "price is",
            "per month",
            "a month",
            "package",
            "financing",
            "quote",
            "get you started",
            "sign you up",
            "special",
            "promotion",
            "discount",
            "sales",
            "le agendo",
            "su cita",
            "precio",
        ],
    ),
];

/// Words that cancel a cue in the three words after them (same clause).
const NEGATORS: &[&str] = &[
    "not", "never", "no", "dont", "doesnt", "didnt", "isnt", "arent", "wasnt", "werent", "wont",
    "cant", "cannot", "havent", "hasnt", "nunca", "tampoco", "ni",
];

/// One cue found in a turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Hit {
    pub(crate) cue: Cue,
    /// Byte offset of the phrase in the turn's `norm`.
    pub(crate) at: usize,
    /// Index of the phrase in its class (for `--explain`).
    pub(crate) phrase: &'static str,
}

struct Compiled {
    /// `None` only if the fixed phrases failed to build, which the unit tests rule out.
    automaton: Option<AhoCorasick>,
    /// Per pattern: class, phrase, self-negated.
    patterns: Vec<(Cue, &'static str, bool)>,
}

fn compiled() -> &'static Compiled {
    static COMPILED: OnceLock<Compiled> = OnceLock::new();
    COMPILED.get_or_init(|| {
        let mut patterns = Vec::new();
        let mut needles = Vec::new();
        for (cue, phrases) in PHRASES {
            for phrase in *phrases {
                // A phrase that holds its own negation ("not interested", "never arrived")
                // counts after another negator too: "no, it never arrived" is emphasis.
                let self_negated = phrase.split(' ').any(|w| NEGATORS.contains(&w));
                patterns.push((*cue, *phrase, self_negated));
                needles.push(format!(" {phrase} "));
            }
        }
        // The phrases are fixed at compile time and valid; a failure here is a bug that the
        // unit tests catch, and it degrades to "no cues" rather than a panic.
        let automaton = AhoCorasickBuilder::new()
            .match_kind(MatchKind::Standard)
            .build(&needles)
            .ok();
        Compiled {
            automaton,
            patterns,
        }
    })
}

/// True when one of the three words before byte `at` of `norm`, in the same clause, negates.
pub(crate) fn is_negated_at(norm: &str, at: usize) -> bool {
    norm.get(..at).is_some_and(|before| {
        before
            .split(' ')
            .filter(|w| !w.is_empty())
            .rev()
            .take_while(|w| *w != "|")
            .take(3)
            .any(|w| NEGATORS.contains(&w))
    })
}

/// Every cue in a turn's `norm`, in order; a negated cue ("I don't want a quote") is left out.
pub(crate) fn hits(norm: &str) -> Vec<Hit> {
    let c = compiled();
    let Some(automaton) = &c.automaton else {
        return Vec::new();
    };
    let mut out: Vec<Hit> = automaton
        .find_overlapping_iter(norm)
        .filter_map(|m| {
            let (cue, phrase, self_negated) = *c.patterns.get(m.pattern().as_usize())?;
            let at = m.start() + 1;
            (self_negated || !is_negated_at(norm, at)).then_some(Hit { cue, at, phrase })
        })
        .collect();
    out.sort_by_key(|h| h.at);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cues(norm: &str) -> Vec<(Cue, &'static str)> {
        hits(norm).into_iter().map(|h| (h.cue, h.phrase)).collect()
    }

    #[test]
    fn phrases_match_whole_words_and_overlap() {
        let found = cues(" i want a quote for a new plan | ");
        assert!(found.contains(&(Cue::Purchase, "quote")));
        assert!(found.contains(&(Cue::Purchase, "plan")));
        assert!(cues(" quoted booklet ").is_empty(), "no partial words");
        // "cancel my subscription" is also "cancel".
        let found = cues(" i need to cancel my subscription ");
        assert!(found.contains(&(Cue::Account, "cancel my subscription")));
        assert!(found.contains(&(Cue::Cancel, "cancel")));
    }

    #[test]
    fn a_negated_cue_does_not_count_but_a_self_negated_one_does() {
        assert!(!cues(" i dont need a quote ")
            .iter()
            .any(|(c, _)| *c == Cue::Purchase));
        assert!(cues(" im not interested ").contains(&(Cue::Refusal, "not interested")));
        assert!(cues(" no | i want to buy ").contains(&(Cue::Purchase, "buy")));
        // A phrase with its own negator is not cancelled by another one before it.
        assert!(cues(" no it never arrived ").contains(&(Cue::Grievance, "never arrived")));
    }

    #[test]
    fn every_phrase_is_in_cue_form_and_the_automaton_builds() {
        for (_, phrases) in PHRASES {
            for p in *phrases {
                assert_eq!(*p, crate::analysis::rules::dialogue::cue_form(p), "{p}");
                assert!(!p.contains('|') && p.trim() == *p, "{p}");
            }
        }
        assert!(compiled().automaton.is_some());
        assert!(!cues(" refund ").is_empty());
    }

    #[test]
    fn spanish_cues() {
        assert!(cues(" quisiera una cita para el martes ").contains(&(Cue::Scheduling, "cita")));
        assert!(cues(" me cobraron dos veces ").contains(&(Cue::Grievance, "me cobraron")));
        assert!(cues(" cuanto cuesta el plan ").contains(&(Cue::Purchase, "cuanto cuesta")));
    }
}
