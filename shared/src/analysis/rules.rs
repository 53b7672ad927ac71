//! The offline analyzer (placeholder until the real one lands).
use crate::domain::{Analysis, CappedTranscript, Entities, Intent, LeadScore, Sentiment, Summary};

/// Name and version.
pub const RULES_ANALYZER_VERSION: &str = "rules-v1";

/// Analyzes a transcript.
pub fn analyze(_transcript: &CappedTranscript) -> Analysis {
    Analysis {
        sentiment: Sentiment::NEUTRAL,
        lead_score: LeadScore::clamped(0),
        intent: Intent::Info,
        entities: Entities::default(),
        summary: Summary::new(""),
        next_action: String::new(),
    }
}
