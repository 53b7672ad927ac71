//! The JSON bodies of the API: camelCase, borrowed from the rows the store returned.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::{
    adapters::postgres::{CallDetail, DashboardLead, TrendPoint},
    domain::Role,
};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct TopLeadsBody<'a> {
    pub(super) hours: u32,
    pub(super) limit: u32,
    pub(super) leads: Vec<LeadBody<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct LeadBody<'a> {
    call_id: &'a str,
    from_number: Option<&'a str>,
    lead_score: i32,
    intent: &'a str,
    entities: &'a serde_json::Value,
    agent_id: Option<&'a str>,
    ended_at: Option<DateTime<Utc>>,
}

impl<'a> From<&'a DashboardLead> for LeadBody<'a> {
    fn from(row: &'a DashboardLead) -> Self {
        Self {
            call_id: &row.lead.call_id,
            from_number: row.lead.from_number.as_deref(),
            lead_score: row.lead.lead_score,
            intent: &row.lead.intent,
            entities: &row.lead.entities,
            agent_id: row.agent_id.as_deref(),
            ended_at: row.ended_at,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct TrendBody<'a> {
    pub(super) days: u32,
    pub(super) time_zone: &'a str,
    pub(super) points: Vec<PointBody<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct PointBody<'a> {
    agent_id: Option<&'a str>,
    day: DateTime<Utc>,
    date: &'a str,
    average_sentiment: f64,
    calls: i64,
}

impl<'a> From<&'a TrendPoint> for PointBody<'a> {
    fn from(row: &'a TrendPoint) -> Self {
        Self {
            agent_id: row.point.agent_id.as_deref(),
            day: row.point.day,
            date: &row.date,
            average_sentiment: row.point.average_sentiment,
            calls: row.calls,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct CallBody<'a> {
    call_id: &'a str,
    from_number: Option<&'a str>,
    agent_id: Option<&'a str>,
    started_at: Option<DateTime<Utc>>,
    ended_at: Option<DateTime<Utc>>,
    analytics: Option<AnalyticsBody<'a>>,
    turns: Vec<TurnBody<'a>>,
    turns_truncated: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct AnalyticsBody<'a> {
    sentiment: f64,
    lead_score: i32,
    intent: &'a str,
    entities: &'a serde_json::Value,
    summary: &'a str,
    next_action: &'a str,
    metrics: Option<&'a serde_json::Value>,
    analyzer: &'a str,
    computed_at: DateTime<Utc>,
    truncated: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct TurnBody<'a> {
    /// `agent`, `caller` or `other`.
    role: &'static str,
    /// The role as the bridge wrote it.
    raw_role: &'a str,
    text: &'a str,
    started_at: Option<DateTime<Utc>>,
    ended_at: Option<DateTime<Utc>>,
}

impl<'a> From<&'a CallDetail> for CallBody<'a> {
    fn from(call: &'a CallDetail) -> Self {
        Self {
            call_id: &call.call_id,
            from_number: call.from_number.as_deref(),
            agent_id: call.agent_id.as_deref(),
            started_at: call.started_at,
            ended_at: call.ended_at,
            analytics: call.analytics.as_ref().map(|a| AnalyticsBody {
                sentiment: a.sentiment,
                lead_score: a.lead_score,
                intent: &a.intent,
                entities: &a.entities,
                summary: &a.summary,
                next_action: &a.next_action,
                metrics: a.metrics.as_ref(),
                analyzer: &a.analyzer,
                computed_at: a.computed_at,
                truncated: a.truncated,
            }),
            turns: call
                .turns
                .iter()
                .map(|t| TurnBody {
                    role: Role::parse(&t.role).label(),
                    raw_role: &t.role,
                    text: &t.text,
                    started_at: t.started_at,
                    ended_at: t.ended_at,
                })
                .collect(),
            turns_truncated: call.turns_truncated,
        }
    }
}
