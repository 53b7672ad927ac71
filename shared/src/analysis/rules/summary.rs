//! The one-or-two-sentence summary and the next action for a human.

use super::signals::Signals;
use crate::domain::{Entities, Intent, LeadScore, Sentiment, Summary};

/// What the summary says when the caller said nothing.
pub(crate) const NO_CALLER_SPEECH: &str = "No caller speech captured.";
/// What a human should do when the caller said nothing.
pub(crate) const NO_CALLER_SPEECH_ACTION: &str =
    "Review the recording: no caller speech was captured";
/// A sales lead at or above this score gets the fastest callback; it matches the default
/// hot-lead policy so the notification and the action agree.
const HOT_SCORE: u8 = 80;
/// A sales lead at or above this score is worth a same-day follow-up.
const WARM_SCORE: u8 = 50;
/// Beyond this caller mood (either way) the summary mentions it.
const NOTABLE_MOOD: f64 = 0.5;
/// Details after the main clause; more would crowd out the 240 characters.
const MAX_DETAILS: usize = 3;

/// The facts the summary and next action are built from.
pub(crate) struct Findings<'a> {
    pub(crate) intent: Intent,
    pub(crate) entities: &'a Entities,
    pub(crate) signals: &'a Signals,
    pub(crate) sentiment: Sentiment,
    pub(crate) lead_score: LeadScore,
}

/// The topic in the third person: the caller's "my router" is "their router" in a summary,
/// and "your plan" (the business's) is "the plan".
fn third_person(topic: &str) -> String {
    let (first, rest) = topic.split_once(' ').unwrap_or((topic, ""));
    let swapped = match first.to_lowercase().as_str() {
        "my" | "our" => "their",
        "your" => "the",
        _ => return topic.to_owned(),
    };
    if rest.is_empty() {
        topic.to_owned()
    } else {
        format!("{swapped} {rest}")
    }
}

fn main_clause(intent: Intent, topic: Option<&str>) -> String {
    let topic = topic.map(third_person);
    match (intent, topic.as_deref()) {
        (Intent::Sales, Some(t)) => format!("showed buying interest in {t}"),
        (Intent::Sales, None) => "showed buying interest".to_owned(),
        (Intent::Booking, Some(t)) => format!("made a booking request about {t}"),
        (Intent::Booking, None) => "made a booking request".to_owned(),
        (Intent::Complaint, Some(t)) => format!("complained about {t}"),
        (Intent::Complaint, None) => "made a complaint".to_owned(),
        (Intent::Support, Some(t)) => format!("needs help with {t}"),
        (Intent::Support, None) => "needs support".to_owned(),
        (Intent::Info, Some(t)) => format!("asked about {t}"),
        (Intent::Info, None) => "asked for information".to_owned(),
    }
}

fn details(f: &Findings<'_>) -> Vec<String> {
    let s = f.signals;
    let mut out = Vec::with_capacity(5);
    match (&s.amount, s.budget) {
        (Some(amount), _) => out.push(format!("budget {amount}")),
        (None, true) => out.push("mentioned a budget".to_owned()),
        (None, false) if s.price_question => out.push("asked about price".to_owned()),
        (None, false) => {}
    }
    if let Some(timeline) = s.timeline {
        out.push(format!("timeline {timeline}"));
    }
    if s.commitment {
        out.push("ready to commit".to_owned());
    }
    if s.do_not_call {
        out.push("asked not to be called".to_owned());
    }
    if f.entities.email.is_some() {
        out.push("left an email".to_owned());
    }
    out.truncate(MAX_DETAILS);
    out
}

/// "Caller Dana showed buying interest in a 3-bedroom house; budget $450k, timeline within a
/// month." plus the caller's mood when it stood out.
pub(crate) fn summarize(f: &Findings<'_>) -> Summary {
    let who = f
        .entities
        .name
        .as_deref()
        .map_or_else(|| "Caller".to_owned(), |n| format!("Caller {n}"));
    let mut text = format!(
        "{who} {}",
        main_clause(f.intent, f.entities.topic.as_deref())
    );
    let details = details(f);
    if !details.is_empty() {
        text.push_str("; ");
        text.push_str(&details.join(", "));
    }
    text.push('.');
    let mood = f.sentiment.get();
    if mood <= -NOTABLE_MOOD {
        text.push_str(" The caller sounded upset.");
    } else if mood >= NOTABLE_MOOD {
        text.push_str(" The caller sounded pleased.");
    }
    Summary::new(&text)
}

/// What a human should do next, by intent and (for sales) score.
pub(crate) fn next_action(f: &Findings<'_>) -> String {
    let score = f.lead_score.get();
    let action = match f.intent {
        Intent::Complaint if f.signals.do_not_call => {
            "Escalate to a manager and reply in writing within 24 hours; the caller asked not to be called"
        }
        Intent::Complaint => "Escalate to a manager and follow up within 24 hours",
        _ if f.signals.do_not_call => "Do not call back: the caller asked not to be contacted",
        Intent::Sales if score >= HOT_SCORE => "Call back within 1 hour with a quote",
        Intent::Sales if score >= WARM_SCORE => "Follow up within 24 hours with pricing",
        Intent::Sales => "Add to the nurture list and check in next week",
        Intent::Booking => "Confirm the appointment by SMS",
        Intent::Support => "Open a support ticket and follow up within 1 business day",
        Intent::Info if f.entities.email.is_some() => "Send the requested information by email",
        Intent::Info => "Call back with the requested information",
    };
    action.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn findings<'a>(
        intent: Intent,
        entities: &'a Entities,
        signals: &'a Signals,
        score: i64,
    ) -> Findings<'a> {
        Findings {
            intent,
            entities,
            signals,
            sentiment: Sentiment::NEUTRAL,
            lead_score: LeadScore::clamped(score),
        }
    }

    #[test]
    fn the_summary_names_caller_topic_and_key_signals() {
        let entities = Entities {
            name: Some("Dana".into()),
            email: None,
            topic: Some("a 3-bedroom house".into()),
        };
        let signals = Signals {
            amount: Some("$450k".into()),
            budget: true,
            timeline: Some("within a month"),
            ..Signals::default()
        };
        let summary = summarize(&findings(Intent::Sales, &entities, &signals, 90));
        assert_eq!(
            summary.as_str(),
            "Caller Dana showed buying interest in a 3-bedroom house; budget $450k, timeline within a month."
        );
    }

    #[test]
    fn the_topic_is_told_in_the_third_person() {
        assert_eq!(third_person("my internet"), "their internet");
        assert_eq!(third_person("Our roof"), "their roof");
        assert_eq!(third_person("your premium plan"), "the premium plan");
        assert_eq!(third_person("a quote"), "a quote");
        assert_eq!(third_person("my"), "my");
        assert_eq!(third_person("myriad options"), "myriad options");
    }

    #[test]
    fn the_summary_without_details_is_one_plain_sentence() {
        let entities = Entities::default();
        let signals = Signals::default();
        assert_eq!(
            summarize(&findings(Intent::Info, &entities, &signals, 25)).as_str(),
            "Caller asked for information."
        );
    }

    #[test]
    fn a_notable_mood_adds_a_second_sentence() {
        let entities = Entities::default();
        let signals = Signals::default();
        let mut f = findings(Intent::Complaint, &entities, &signals, 5);
        f.sentiment = Sentiment::clamped(-0.8);
        assert_eq!(
            summarize(&f).as_str(),
            "Caller made a complaint. The caller sounded upset."
        );
    }

    #[test]
    fn the_summary_stays_within_240_characters() {
        let long = "x".repeat(500);
        let entities = Entities {
            name: Some(long.clone()),
            email: None,
            topic: Some(long),
        };
        let signals = Signals::default();
        assert!(
            summarize(&findings(Intent::Sales, &entities, &signals, 0))
                .as_str()
                .chars()
                .count()
                <= 240
        );
    }

    #[test]
    fn next_action_follows_intent_and_score() {
        let none = Entities::default();
        let with_email = Entities {
            email: Some("a@b.com".into()),
            ..Entities::default()
        };
        let quiet = Signals::default();
        let action =
            |intent, entities, score| next_action(&findings(intent, entities, &quiet, score));
        assert_eq!(
            action(Intent::Sales, &none, 85),
            "Call back within 1 hour with a quote"
        );
        assert_eq!(
            action(Intent::Sales, &none, 60),
            "Follow up within 24 hours with pricing"
        );
        assert_eq!(
            action(Intent::Sales, &none, 20),
            "Add to the nurture list and check in next week"
        );
        assert_eq!(
            action(Intent::Complaint, &none, 0),
            "Escalate to a manager and follow up within 24 hours"
        );
        assert_eq!(
            action(Intent::Booking, &none, 40),
            "Confirm the appointment by SMS"
        );
        assert!(action(Intent::Support, &none, 15).starts_with("Open a support ticket"));
        assert_eq!(
            action(Intent::Info, &with_email, 25),
            "Send the requested information by email"
        );
        assert_eq!(
            action(Intent::Info, &none, 25),
            "Call back with the requested information"
        );
    }

    #[test]
    fn a_do_not_call_request_overrides_the_callback() {
        let none = Entities::default();
        let signals = Signals {
            do_not_call: true,
            ..Signals::default()
        };
        assert!(next_action(&findings(Intent::Sales, &none, &signals, 90))
            .starts_with("Do not call back"));
        assert!(
            next_action(&findings(Intent::Complaint, &none, &signals, 0)).contains("in writing")
        );
    }
}
