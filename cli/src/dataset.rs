//! Labelled calls in JSONL: the bundled demo set, and the format `postcall eval` will read.

use anyhow::Context as _;

/// One call of a JSONL dataset.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct LabelledCall {
    pub id: String,
    #[serde(default)]
    pub vertical: String,
    pub agent_id: String,
    #[serde(default)]
    pub from_number: Option<String>,
    /// `en`, `es` or `mixed`, when the set records it.
    #[serde(default)]
    pub language: Option<String>,
    /// `stt` (speech-to-text output) or `written`, when the set records it.
    #[serde(default)]
    pub style: Option<String>,
    pub turns: Vec<LabelledTurn>,
    /// What a person judged the call to be; required by `postcall eval`, unused by the demo.
    #[serde(default)]
    pub label: Option<Label>,
}

/// A person's judgement of one call (docs/labelling.md).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Label {
    pub sentiment: f64,
    pub lead_score: i64,
    pub intent: String,
    pub entities: LabelEntities,
    pub hot: bool,
}

/// The caller's name and email and the call's topic; `null` where there is none.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct LabelEntities {
    pub name: Option<String>,
    pub email: Option<String>,
    pub topic: Option<String>,
}

/// One turn, with offsets from the start of the call.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct LabelledTurn {
    pub role: String,
    pub text: String,
    pub start_ms: i64,
    pub end_ms: i64,
}

impl LabelledCall {
    /// The call as a voice bridge would have stored it, under `id`, ending at `ended_at`;
    /// turn offsets become timestamps.
    pub fn to_new_call(
        &self,
        id: &str,
        ended_at: chrono::DateTime<chrono::Utc>,
    ) -> postcall::adapters::postgres::NewCall {
        use chrono::Duration;
        let duration_ms = self.turns.iter().map(|t| t.end_ms).max().unwrap_or(0);
        let started_at = ended_at - Duration::milliseconds(duration_ms);
        postcall::adapters::postgres::NewCall {
            id: id.to_string(),
            from_number: self.from_number.clone(),
            agent_id: Some(self.agent_id.clone()),
            started_at: Some(started_at),
            ended_at: Some(ended_at),
            turns: self
                .turns
                .iter()
                .enumerate()
                .map(|(i, t)| postcall::adapters::postgres::NewTurn {
                    id: format!("{id}-{i:03}"),
                    role: t.role.clone(),
                    text: t.text.clone(),
                    started_at: started_at + Duration::milliseconds(t.start_ms),
                    ended_at: Some(started_at + Duration::milliseconds(t.end_ms)),
                })
                .collect(),
        }
    }
}

/// The demo's sample calls, compiled into the binary.
pub const DEMO_CALLS: &str = include_str!("../../data/demo-calls.jsonl");

/// Parses JSONL, one call per non-empty line; an error names the line.
pub fn parse_jsonl(text: &str) -> anyhow::Result<Vec<LabelledCall>> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(index, line)| {
            serde_json::from_str(line)
                .with_context(|| format!("line {} is not a labelled call", index + 1))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_demo_set_parses_and_is_large_enough() {
        let calls = parse_jsonl(DEMO_CALLS).unwrap();
        assert!(calls.len() >= 50, "{} calls", calls.len());
        assert!(calls.iter().all(|c| !c.turns.is_empty() || c.id.is_empty()));
        let verticals: std::collections::HashSet<_> =
            calls.iter().map(|c| c.vertical.as_str()).collect();
        assert!(verticals.len() >= 5);
    }

    #[test]
    fn a_malformed_line_is_named() {
        let err = parse_jsonl("\n{\"id\": 1}\n").unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
    }
}
