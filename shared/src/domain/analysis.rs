//! [`Analysis`]: what postcall concludes about one call.

use super::{Entities, Intent, LeadScore, Sentiment, Summary};

/// The analysis of one call, whichever analyzer produced it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Analysis {
    /// The caller's mood.
    pub sentiment: Sentiment,
    /// How likely the caller is to buy.
    pub lead_score: LeadScore,
    /// Why they called.
    pub intent: Intent,
    /// What they said about themselves.
    pub entities: Entities,
    /// At most 240 characters about the call.
    pub summary: Summary,
    /// What a human should do next.
    pub next_action: String,
}
