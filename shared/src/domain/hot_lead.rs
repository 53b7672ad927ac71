//! [`HotLeadPolicy`] and the [`HotLead`] message the analyzer publishes and the notifier reads.

use chrono::{DateTime, Utc};

use super::{Analysis, CallId, Entities, Intent, LeadScore, Sentiment, Summary};

/// Which analyses are hot leads: a score at or above `min_score` and an intent in `intents`.
#[derive(Debug, Clone, PartialEq)]
pub struct HotLeadPolicy {
    /// Lowest score that counts (default 80).
    pub min_score: LeadScore,
    /// Intents that count (default: sales).
    pub intents: Vec<Intent>,
}

impl Default for HotLeadPolicy {
    fn default() -> Self {
        Self {
            min_score: LeadScore::clamped(80),
            intents: vec![Intent::Sales],
        }
    }
}

impl HotLeadPolicy {
    /// True when the analysis is a hot lead under this policy.
    pub fn is_hot_lead(&self, analysis: &Analysis) -> bool {
        self.is_hot(analysis.lead_score, analysis.intent)
    }

    /// True when a call of this score and intent is a hot lead under this policy (also for
    /// a person's label, so `postcall eval` judges label and prediction alike).
    pub fn is_hot(&self, lead_score: LeadScore, intent: Intent) -> bool {
        lead_score >= self.min_score && self.intents.contains(&intent)
    }
}

/// The SNS message body for one hot lead. One type for publisher and subscriber, so the two
/// functions cannot drift apart.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HotLead {
    /// The call.
    pub call_id: CallId,
    /// Its lead score.
    pub lead_score: LeadScore,
    /// Its intent.
    pub intent: Intent,
    /// The caller's mood.
    pub sentiment: Sentiment,
    /// What the caller said about themselves.
    pub entities: Entities,
    /// At most 240 characters about the call.
    pub summary: Summary,
    /// What a human should do next.
    pub next_action: String,
    /// The caller's number, when the bridge stored it.
    pub from_number: Option<String>,
    /// The agent that took the call, when known.
    pub agent_id: Option<String>,
    /// When the call ended, when known.
    pub ended_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn analysis(score: i64, intent: Intent) -> Analysis {
        Analysis {
            sentiment: Sentiment::NEUTRAL,
            lead_score: LeadScore::clamped(score),
            intent,
            entities: Entities::default(),
            summary: Summary::new("s"),
            next_action: "n".into(),
        }
    }

    #[test]
    fn default_policy_is_score_80_and_sales() {
        let policy = HotLeadPolicy::default();
        assert!(policy.is_hot_lead(&analysis(80, Intent::Sales)));
        assert!(!policy.is_hot_lead(&analysis(79, Intent::Sales)));
        assert!(!policy.is_hot_lead(&analysis(95, Intent::Booking)));
    }

    #[test]
    fn policy_intents_are_configurable() {
        let policy = HotLeadPolicy {
            min_score: LeadScore::clamped(70),
            intents: vec![Intent::Sales, Intent::Booking],
        };
        assert!(policy.is_hot_lead(&analysis(70, Intent::Booking)));
    }
}
