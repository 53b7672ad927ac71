//! [`CallMetrics`]: deterministic numbers about a call, computed without any model.

use super::turn::{Role, Turn};

/// Counts and talk times of a call, stored in `metrics` beside the analysis.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallMetrics {
    /// All turns.
    pub turns: u32,
    /// Turns spoken by the agent.
    pub agent_turns: u32,
    /// Turns spoken by the caller.
    pub caller_turns: u32,
    /// Words spoken by the agent.
    pub agent_words: u32,
    /// Words spoken by the caller.
    pub caller_words: u32,
    /// Milliseconds the agent spoke (turns with both timestamps only).
    pub agent_talk_ms: u64,
    /// Milliseconds the caller spoke (turns with both timestamps only).
    pub caller_talk_ms: u64,
    /// From the first turn's start to the last turn's end, when known.
    pub duration_ms: Option<u64>,
}

/// Computes [`CallMetrics`] from turns in call order.
pub fn turn_metrics(turns: &[Turn]) -> CallMetrics {
    let mut m = CallMetrics::default();
    for turn in turns {
        let words = u32::try_from(turn.text.split_whitespace().count()).unwrap_or(u32::MAX);
        let talk_ms = match (turn.started_at, turn.ended_at) {
            (Some(start), Some(end)) if end > start => {
                u64::try_from((end - start).num_milliseconds()).unwrap_or(0)
            }
            _ => 0,
        };
        m.turns += 1;
        match turn.role {
            Role::Agent => {
                m.agent_turns += 1;
                m.agent_words = m.agent_words.saturating_add(words);
                m.agent_talk_ms += talk_ms;
            }
            Role::Caller => {
                m.caller_turns += 1;
                m.caller_words = m.caller_words.saturating_add(words);
                m.caller_talk_ms += talk_ms;
            }
            Role::Other => {}
        }
    }
    let first = turns.iter().filter_map(|t| t.started_at).min();
    let last = turns
        .iter()
        .filter_map(|t| t.ended_at.or(t.started_at))
        .max();
    if let (Some(first), Some(last)) = (first, last) {
        m.duration_ms = u64::try_from((last - first).num_milliseconds()).ok();
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    #[test]
    fn counts_turns_words_and_talk_time_per_role() {
        let at = |s: i64| Some(Utc.timestamp_opt(1_700_000_000 + s, 0).unwrap());
        let turns = vec![
            Turn {
                role: Role::Agent,
                text: "hello how can I help".into(),
                started_at: at(0),
                ended_at: at(2),
            },
            Turn {
                role: Role::Caller,
                text: "I want a quote".into(),
                started_at: at(3),
                ended_at: at(6),
            },
            Turn {
                role: Role::Caller,
                text: "please".into(),
                started_at: at(7),
                ended_at: None,
            },
        ];
        let m = turn_metrics(&turns);
        assert_eq!((m.turns, m.agent_turns, m.caller_turns), (3, 1, 2));
        assert_eq!((m.agent_words, m.caller_words), (5, 5));
        assert_eq!((m.agent_talk_ms, m.caller_talk_ms), (2000, 3000));
        assert_eq!(m.duration_ms, Some(7000));
    }

    #[test]
    fn no_timestamps_means_no_duration() {
        assert_eq!(
            turn_metrics(&[Turn::new(Role::Caller, "hi")]).duration_ms,
            None
        );
    }
}
