//! The Slack Block Kit message for a hot lead: pure, and safe against caller-derived text.

use serde_json::{json, Value};

use crate::domain::HotLead;

/// Slack's limit for a header's plain text.
pub const HEADER_MAX_CHARS: usize = 150;
/// Slack's limit for a section's text.
pub const SECTION_MAX_CHARS: usize = 3000;
/// Slack's limit for one field of a section.
pub const FIELD_MAX_CHARS: usize = 2000;

/// Escapes Slack's three control characters, so that caller text such as `<!channel>` or
/// `<https://evil|click>` posts as literal text. See
/// <https://api.slack.com/reference/surfaces/formatting#escaping>.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            _ => out.push(c),
        }
    }
    out
}

/// Escapes, then cuts to `max` characters without splitting an entity or a character.
fn escaped_within(text: &str, max: usize) -> String {
    let escaped = escape(text);
    if escaped.chars().count() <= max {
        return escaped;
    }
    let mut out = String::new();
    let mut count = 0;
    // Walk the raw text so that an entity is either whole or absent.
    for c in text.chars() {
        let piece = escape(c.encode_utf8(&mut [0; 4]));
        let len = piece.chars().count();
        if count + len > max.saturating_sub(1) {
            break;
        }
        out.push_str(&piece);
        count += len;
    }
    out.push('…');
    out
}

/// The Block Kit payload, with a plain `text` fallback for notifications. `dashboard_url`, when
/// set, adds a button to `{dashboard_url}/calls/{callId}`.
pub fn hot_lead_message(lead: &HotLead, dashboard_url: Option<&str>) -> Value {
    let name = lead.entities.name.as_deref().unwrap_or("unknown caller");
    let number = lead.from_number.as_deref().unwrap_or("no number");
    let field = |label: &str, value: &str| json!({"type": "mrkdwn", "text": format!("*{label}*\n{}", escaped_within(value, FIELD_MAX_CHARS - label.len() - 4))});
    let section = |label: &str, value: &str| json!({"type": "section", "text": {"type": "mrkdwn", "text": format!("*{label}*\n{}", escaped_within(value, SECTION_MAX_CHARS - label.len() - 4))}});
    let mut fields = vec![
        field("Caller", name),
        field("Number", number),
        field("Lead score", &lead.lead_score.to_string()),
        field("Intent", lead.intent.as_str()),
        field("Sentiment", &format!("{:+.2}", lead.sentiment.get())),
        field("Topic", lead.entities.topic.as_deref().unwrap_or("-")),
        field("Agent", lead.agent_id.as_deref().unwrap_or("-")),
    ];
    if let Some(email) = &lead.entities.email {
        fields.push(field("Email", email));
    }
    let mut blocks = vec![
        json!({"type": "header", "text": {"type": "plain_text", "text": escaped_within(&format!("Hot lead: {name}"), HEADER_MAX_CHARS), "emoji": true}}),
        json!({"type": "section", "fields": fields}),
        section("Summary", lead.summary.as_str()),
        section(
            "Next action",
            if lead.next_action.trim().is_empty() {
                "-"
            } else {
                &lead.next_action
            },
        ),
    ];
    if let Some(base) = dashboard_url {
        let url = format!(
            "{}/calls/{}",
            base.trim_end_matches('/'),
            percent_encode(lead.call_id.as_str())
        );
        blocks.push(json!({
            "type": "actions",
            "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Open the call"}, "url": url}]
        }));
    }
    blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": format!("call {}", escape(lead.call_id.as_str()))}]}));
    let text = escaped_within(
        &format!(
            "Hot lead: {name} ({number}) scored {} ({})",
            lead.lead_score, lead.intent
        ),
        SECTION_MAX_CHARS,
    );
    json!({"text": text, "blocks": blocks})
}

fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{CallId, Entities, Intent, LeadScore, Sentiment, Summary};

    fn lead(name: &str, summary: &str) -> HotLead {
        HotLead {
            call_id: CallId::parse("call 1/ü").unwrap(),
            lead_score: LeadScore::clamped(88),
            intent: Intent::Sales,
            sentiment: Sentiment::clamped(0.5),
            entities: Entities {
                name: Some(name.into()),
                email: Some("dana@example.com".into()),
                topic: Some("solar".into()),
            },
            summary: Summary::new(summary),
            next_action: "Call back within 1 hour".into(),
            from_number: Some("+14155550100".into()),
            agent_id: Some("agent-maya".into()),
            ended_at: None,
        }
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(
            escape("<!channel> & <https://evil|click>"),
            "&lt;!channel&gt; &amp; &lt;https://evil|click&gt;"
        );
    }

    #[test]
    fn caller_text_cannot_mention_or_link() {
        let message = hot_lead_message(
            &lead(
                "<!channel> <@U123>",
                "see <https://evil.example|click here> now",
            ),
            None,
        );
        let text = message.to_string();
        assert!(
            !text.contains("<!channel>")
                && !text.contains("<@U123>")
                && !text.contains("<https://evil"),
            "{text}"
        );
        assert!(text.contains("&lt;!channel&gt;"));
    }

    #[test]
    fn long_text_is_cut_to_slack_limits_without_breaking_entities() {
        let long = "<".repeat(5000);
        let message = hot_lead_message(&lead(&long, &long), None);
        let header = message["blocks"][0]["text"]["text"].as_str().unwrap();
        assert!(header.chars().count() <= HEADER_MAX_CHARS);
        assert!(header.trim_end_matches('…').ends_with("&lt;"), "{header}");
        for block in message["blocks"].as_array().unwrap() {
            if let Some(text) = block["text"]["text"].as_str() {
                assert!(text.chars().count() <= SECTION_MAX_CHARS);
            }
            for field in block["fields"].as_array().into_iter().flatten() {
                assert!(field["text"].as_str().unwrap().chars().count() <= FIELD_MAX_CHARS);
            }
        }
    }

    #[test]
    fn the_dashboard_link_is_added_and_encoded() {
        let message = hot_lead_message(&lead("Dana", "s"), Some("https://dash.example.com/"));
        let url = message.to_string();
        assert!(
            url.contains("https://dash.example.com/calls/call%201%2F%C3%BC"),
            "{url}"
        );
        let without = hot_lead_message(&lead("Dana", "s"), None);
        assert!(!without.to_string().contains("\"actions\""));
    }

    #[test]
    fn the_fallback_text_names_the_caller_and_score() {
        let message = hot_lead_message(&lead("Dana", "s"), None);
        assert_eq!(
            message["text"],
            "Hot lead: Dana (+14155550100) scored 88 (sales)"
        );
    }
}
