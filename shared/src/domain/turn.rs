//! [`Turn`] and [`Role`]: one utterance of the call, as the voice bridge stored it.

use chrono::{DateTime, Utc};

/// Who spoke. Voice bridges write many spellings; [`Role::parse`] folds them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The voice agent (`agent`, `assistant`, `bot`, `ai`, …).
    Agent,
    /// The person who called (`user`, `caller`, `customer`, `human`, …).
    Caller,
    /// Anything else (`system`, `tool`, an unknown word): kept in the transcript, never scored.
    Other,
}

impl Role {
    /// Folds the spellings real bridges use; unknown words become [`Role::Other`].
    pub fn parse(raw: &str) -> Self {
        match raw.trim().to_ascii_lowercase().as_str() {
            "agent" | "assistant" | "bot" | "ai" | "voice_agent" | "voiceagent" | "model" => {
                Role::Agent
            }
            "user" | "caller" | "customer" | "human" | "client" | "lead" | "prospect"
            | "patient" => Role::Caller,
            _ => Role::Other,
        }
    }

    /// The label used when rendering a transcript.
    pub fn label(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Caller => "caller",
            Role::Other => "other",
        }
    }
}

/// One utterance.
#[derive(Debug, Clone, PartialEq)]
pub struct Turn {
    /// Who spoke.
    pub role: Role,
    /// What was said, as transcribed.
    pub text: String,
    /// When the utterance started, if the bridge recorded it.
    pub started_at: Option<DateTime<Utc>>,
    /// When it ended, if the bridge recorded it.
    pub ended_at: Option<DateTime<Utc>>,
}

impl Turn {
    /// A turn without timestamps (tests, the offline analyzer's callers).
    pub fn new(role: Role, text: impl Into<String>) -> Self {
        Self {
            role,
            text: text.into(),
            started_at: None,
            ended_at: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_the_spellings_bridges_write() {
        for raw in ["agent", "Assistant", "BOT", " ai "] {
            assert_eq!(Role::parse(raw), Role::Agent, "{raw}");
        }
        for raw in ["user", "Caller", "CUSTOMER", "human"] {
            assert_eq!(Role::parse(raw), Role::Caller, "{raw}");
        }
        for raw in ["system", "tool", ""] {
            assert_eq!(Role::parse(raw), Role::Other, "{raw}");
        }
    }
}
