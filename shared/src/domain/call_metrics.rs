//! [`CallMetrics`]: deterministic numbers about a call, computed from turn timestamps without
//! any model.
//!
//! [`call_metrics`] is pure: the caller's per-utterance mood comes from a function passed in
//! (the analyzer passes `analysis::rules::utterance_sentiment`), so the numbers are the same
//! whichever analyzer wrote the row.
//!
//! # Rules
//! - Only agent and caller turns are timed; [`Role::Other`] turns count in `turns` only.
//! - A turn without `startedAt` counts in `turns` and `words` but is left out of every timing
//!   number. An end at or before the start is treated as missing.
//! - A missing end is estimated as start + words / 2.5 words per second, at least 500 ms, and
//!   never past the start of the next turn that starts later (so an estimate never creates an
//!   overlap). Such turns are counted in `estimatedEnds`.
//! - Timing uses a copy of the timed turns sorted by start (stable, so ties keep call order).
//! - Talk time per role is the length of the union of that role's intervals; silences are the
//!   holes in the union of all speech intervals between the first start and the last end.
//! - `talkRatio` is the role's talk time over the talk time of agent and caller together
//!   (the two ratios sum to 1; silence and the call's length do not dilute them).
//! - `wordsPerMinute` uses only turns with a recorded end: an estimated end is derived from
//!   the word count, so counting it would only report the assumed 150 words per minute back.
//! - Overlaps are counted per pair of overlapping agent/caller turns. The turn that starts
//!   while the other is still going is an interruption by its speaker; two turns starting at
//!   the same millisecond overlap without either interrupting. `totalMs` is the length of the
//!   intersection of the two roles' speech, so nothing is counted twice.
//! - Agent response latency is sampled at each handover: an agent turn whose previous timed
//!   turn (by start) is a caller turn gives agent start − caller end. A caller who speaks
//!   several turns in a row gives one sample, from their last turn. The sample is kept signed:
//!   a negative value means the agent started before the caller finished (that is also
//!   counted as an interruption). Percentiles are nearest-rank.
//! - The caller's sentiment per quarter: caller turns go to quarters of the call by start
//!   time when every caller turn has a start and the call has a positive duration, otherwise
//!   by their index among caller turns (in call order). Each quarter is the mean of the finite
//!   `Some` moods of its turns, `None` when there are none.

use super::turn::{Role, Turn};
use crate::metrics::nearest_rank;

/// Milliseconds per word assumed when estimating a missing end: 2.5 words per second.
const MS_PER_WORD: i64 = 400;
/// The shortest estimated turn.
const MIN_ESTIMATED_MS: i64 = 500;
/// A silence longer than this is a gap.
const GAP_MS: i64 = 2_000;

/// Deterministic numbers about a call, stored as JSON in `"Analytics".metrics`.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallMetrics {
    /// All turns, whatever their role.
    pub turns: u32,
    /// From the first timed turn's start to the last timed turn's end (estimated ends
    /// included); `None` when no agent or caller turn has a start time.
    pub duration_ms: Option<u64>,
    /// The agent's numbers.
    pub agent: RoleMetrics,
    /// The caller's numbers.
    pub caller: RoleMetrics,
    /// Time inside the call when nobody speaks; `None` without timing.
    pub total_silence_ms: Option<u64>,
    /// The longest such silence; `None` without timing.
    pub longest_silence_ms: Option<u64>,
    /// Silences longer than 2 000 ms.
    pub gaps_over_2s: u32,
    /// Agent and caller speaking at once.
    pub overlaps: Overlaps,
    /// Caller turn end → agent turn start, in milliseconds.
    pub agent_response_latency_ms: Latency,
    /// Mean caller mood (−1..=1) in each quarter of the call; `None` where no caller turn of
    /// that quarter had a mood.
    pub caller_sentiment_by_quarter: [Option<f64>; 4],
    /// Timed turns whose end was missing (or not after the start) and was estimated.
    pub estimated_ends: u32,
    /// Whether any end was estimated.
    pub ends_estimated: bool,
}

/// One role's share of the call.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleMetrics {
    /// Turns spoken, timed or not.
    pub turns: u32,
    /// Words spoken, timed or not.
    pub words: u32,
    /// Milliseconds spoken (the union of the role's timed intervals, estimated ends included).
    pub talk_ms: u64,
    /// `talk_ms` over agent plus caller talk; `None` when neither spoke a timed turn.
    pub talk_ratio: Option<f64>,
    /// Words per minute over turns with a recorded end; `None` when there is no such talk.
    pub words_per_minute: Option<f64>,
}

/// Overlapping speech between agent and caller.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Overlaps {
    /// Pairs of an agent turn and a caller turn that overlap.
    pub count: u32,
    /// Milliseconds both roles spoke at once.
    pub total_ms: u64,
    /// The agent started while a caller turn was going.
    pub agent_interrupted_caller: u32,
    /// The caller started while an agent turn was going.
    pub caller_interrupted_agent: u32,
}

/// Nearest-rank percentiles of signed samples in milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Latency {
    /// Median; `None` without samples.
    pub p50: Option<i64>,
    /// 95th percentile; `None` without samples.
    pub p95: Option<i64>,
    /// How many handovers were measured.
    pub samples: u32,
}

/// An agent or caller turn with a start time, its end recorded or estimated.
#[derive(Debug, Clone, Copy)]
struct Timed {
    role: Role,
    start: i64,
    end: i64,
    words: u32,
    estimated: bool,
}

/// Computes [`CallMetrics`] from turns in call order. Pure; `utterance_sentiment` gives the
/// mood of one caller utterance in −1..=1, or `None` when it has no cue.
pub fn call_metrics(
    turns: &[Turn],
    utterance_sentiment: impl Fn(&str) -> Option<f64>,
) -> CallMetrics {
    let mut m = CallMetrics {
        turns: count(turns.len()),
        ..CallMetrics::default()
    };
    for turn in turns {
        let words = word_count(&turn.text);
        let role = match turn.role {
            Role::Agent => &mut m.agent,
            Role::Caller => &mut m.caller,
            Role::Other => continue,
        };
        role.turns = role.turns.saturating_add(1);
        role.words = role.words.saturating_add(words);
    }

    let timed = timed_turns(turns);
    m.estimated_ends = count(timed.iter().filter(|t| t.estimated).count());
    m.ends_estimated = m.estimated_ends > 0;

    let agent = union(intervals(&timed, Role::Agent, false));
    let caller = union(intervals(&timed, Role::Caller, false));
    m.agent.talk_ms = measure(&agent);
    m.caller.talk_ms = measure(&caller);
    let talk = m.agent.talk_ms.saturating_add(m.caller.talk_ms);
    if talk > 0 {
        m.agent.talk_ratio = Some(m.agent.talk_ms as f64 / talk as f64);
        m.caller.talk_ratio = Some(m.caller.talk_ms as f64 / talk as f64);
    }
    m.agent.words_per_minute = words_per_minute(&timed, Role::Agent);
    m.caller.words_per_minute = words_per_minute(&timed, Role::Caller);

    if let (Some(first), Some(last)) = (
        timed.first().map(|t| t.start),
        timed.iter().map(|t| t.end).max(),
    ) {
        m.duration_ms = Some(non_negative(last.saturating_sub(first)));
        let speech = union(agent.iter().chain(caller.iter()).copied().collect());
        let silences: Vec<i64> = speech
            .windows(2)
            .map(|w| w[1].0.saturating_sub(w[0].1))
            .filter(|gap| *gap > 0)
            .collect();
        m.total_silence_ms = Some(silences.iter().map(|s| non_negative(*s)).sum());
        m.longest_silence_ms = Some(silences.iter().copied().max().map_or(0, non_negative));
        m.gaps_over_2s = count(silences.iter().filter(|s| **s > GAP_MS).count());
    }

    m.overlaps = overlaps(&timed, &agent, &caller);
    m.agent_response_latency_ms = latency(&timed);
    let span = m
        .duration_ms
        .zip(timed.first())
        .and_then(|(duration, first)| Some((first.start, i64::try_from(duration).ok()?)));
    m.caller_sentiment_by_quarter = sentiment_by_quarter(turns, span, &utterance_sentiment);
    m
}

fn word_count(text: &str) -> u32 {
    count(text.split_whitespace().count())
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn non_negative(ms: i64) -> u64 {
    u64::try_from(ms).unwrap_or(0)
}

/// Agent and caller turns with a start, sorted by start, each with an end.
fn timed_turns(turns: &[Turn]) -> Vec<Timed> {
    let mut timed: Vec<(Timed, Option<i64>)> = turns
        .iter()
        .filter(|t| matches!(t.role, Role::Agent | Role::Caller))
        .filter_map(|t| {
            let start = t.started_at?.timestamp_millis();
            let end = t
                .ended_at
                .map(|e| e.timestamp_millis())
                .filter(|e| *e > start);
            let timed = Timed {
                role: t.role,
                start,
                end: start,
                words: word_count(&t.text),
                estimated: end.is_none(),
            };
            Some((timed, end))
        })
        .collect();
    timed.sort_by_key(|(t, _)| t.start);
    let starts: Vec<i64> = timed.iter().map(|(t, _)| t.start).collect();
    timed
        .into_iter()
        .enumerate()
        .map(|(i, (mut t, end))| {
            t.end = end.unwrap_or_else(|| {
                let spoken = i64::from(t.words)
                    .saturating_mul(MS_PER_WORD)
                    .max(MIN_ESTIMATED_MS);
                let estimate = t.start.saturating_add(spoken);
                match starts.iter().skip(i + 1).find(|s| **s > t.start) {
                    Some(next) => estimate.min(*next),
                    None => estimate,
                }
            });
            t
        })
        .collect()
}

/// One role's intervals; with `recorded_only`, only turns whose end was recorded.
fn intervals(timed: &[Timed], role: Role, recorded_only: bool) -> Vec<(i64, i64)> {
    timed
        .iter()
        .filter(|t| t.role == role && !(recorded_only && t.estimated))
        .map(|t| (t.start, t.end))
        .collect()
}

/// Sorted, disjoint intervals covering the same time (touching intervals merge).
fn union(mut intervals: Vec<(i64, i64)>) -> Vec<(i64, i64)> {
    intervals.sort_unstable();
    let mut merged: Vec<(i64, i64)> = Vec::with_capacity(intervals.len());
    for (start, end) in intervals {
        match merged.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    merged
}

fn measure(intervals: &[(i64, i64)]) -> u64 {
    intervals
        .iter()
        .map(|(s, e)| non_negative(e.saturating_sub(*s)))
        .sum()
}

fn words_per_minute(timed: &[Timed], role: Role) -> Option<f64> {
    let talk_ms = measure(&union(intervals(timed, role, true)));
    if talk_ms == 0 {
        return None;
    }
    let words: u64 = timed
        .iter()
        .filter(|t| t.role == role && !t.estimated)
        .map(|t| u64::from(t.words))
        .sum();
    Some(words as f64 * 60_000.0 / talk_ms as f64)
}

fn overlaps(timed: &[Timed], agent: &[(i64, i64)], caller: &[(i64, i64)]) -> Overlaps {
    let mut o = Overlaps::default();
    for (i, first) in timed.iter().enumerate() {
        // `timed` is sorted by start: every later turn starts at or after `first`.
        for second in timed[i + 1..]
            .iter()
            .take_while(|t| t.start < first.end)
            .filter(|t| t.role != first.role)
        {
            o.count = o.count.saturating_add(1);
            if second.start > first.start {
                match second.role {
                    Role::Agent => {
                        o.agent_interrupted_caller = o.agent_interrupted_caller.saturating_add(1);
                    }
                    Role::Caller => {
                        o.caller_interrupted_agent = o.caller_interrupted_agent.saturating_add(1);
                    }
                    Role::Other => {}
                }
            }
        }
    }
    o.total_ms = intersection_ms(agent, caller);
    o
}

/// Length of the intersection of two sorted, disjoint interval lists.
fn intersection_ms(a: &[(i64, i64)], b: &[(i64, i64)]) -> u64 {
    let (mut i, mut j, mut total) = (0, 0, 0u64);
    while let (Some(x), Some(y)) = (a.get(i), b.get(j)) {
        let overlap = x.1.min(y.1).saturating_sub(x.0.max(y.0));
        total = total.saturating_add(non_negative(overlap));
        if x.1 < y.1 {
            i += 1;
        } else {
            j += 1;
        }
    }
    total
}

fn latency(timed: &[Timed]) -> Latency {
    let mut samples: Vec<i64> = timed
        .windows(2)
        .filter(|w| w[0].role == Role::Caller && w[1].role == Role::Agent)
        .map(|w| w[1].start.saturating_sub(w[0].end))
        .collect();
    samples.sort_unstable();
    Latency {
        p50: nearest_rank(&samples, 50.0),
        p95: nearest_rank(&samples, 95.0),
        samples: count(samples.len()),
    }
}

/// `span` is the timed call's `(first start, duration)` in milliseconds.
fn sentiment_by_quarter(
    turns: &[Turn],
    span: Option<(i64, i64)>,
    utterance_sentiment: &impl Fn(&str) -> Option<f64>,
) -> [Option<f64>; 4] {
    let callers: Vec<&Turn> = turns.iter().filter(|t| t.role == Role::Caller).collect();
    let by_time = span
        .filter(|(_, duration)| *duration > 0)
        .filter(|_| callers.iter().all(|t| t.started_at.is_some()));
    let n = callers.len();
    let mut sums = [(0.0_f64, 0_u32); 4];
    for (index, turn) in callers.iter().enumerate() {
        let quarter = match (by_time, turn.started_at) {
            (Some((first, duration)), Some(start)) => {
                let offset = start.timestamp_millis().saturating_sub(first).max(0);
                quarter_of(i128::from(offset), i128::from(duration))
            }
            _ => quarter_of(index as i128, n as i128),
        };
        if let Some(mood) = utterance_sentiment(&turn.text).filter(|v| v.is_finite()) {
            let slot = &mut sums[quarter];
            slot.0 += mood;
            slot.1 += 1;
        }
    }
    sums.map(|(sum, n)| (n > 0).then(|| sum / f64::from(n)))
}

/// Which quarter `position` of `total` falls in (the last quarter includes the end).
fn quarter_of(position: i128, total: i128) -> usize {
    if total <= 0 {
        return 0;
    }
    usize::try_from((position * 4 / total).clamp(0, 3)).unwrap_or(3)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, TimeZone, Utc};

    const T0: i64 = 1_700_000_000_000;

    fn at(ms: i64) -> Option<DateTime<Utc>> {
        Some(Utc.timestamp_millis_opt(T0 + ms).unwrap())
    }

    fn turn(role: Role, text: &str, start: i64, end: Option<i64>) -> Turn {
        Turn {
            role,
            text: text.into(),
            started_at: at(start),
            ended_at: end.and_then(at),
        }
    }

    fn agent(text: &str, start: i64, end: i64) -> Turn {
        turn(Role::Agent, text, start, Some(end))
    }

    fn caller(text: &str, start: i64, end: i64) -> Turn {
        turn(Role::Caller, text, start, Some(end))
    }

    fn no_mood(_: &str) -> Option<f64> {
        None
    }

    /// Agent 0–3 s, caller 3.5–8 s, agent 11–13 s (a 3 s gap), caller 12–15 s (interrupts the
    /// agent), agent 14–16 s (interrupts the caller), caller 17–18 s.
    fn timeline() -> Vec<Turn> {
        vec![
            agent("hello how can I help", 0, 3_000),
            caller("I need a quote for my house please", 3_500, 8_000),
            agent("sure what is the address", 11_000, 13_000),
            caller("twelve main street and also", 12_000, 15_000),
            agent("got it thanks", 14_000, 16_000),
            caller("bye", 17_000, 18_000),
        ]
    }

    #[test]
    fn call_metrics_counts_turns_words_and_duration() {
        let mut turns = timeline();
        turns.push(Turn::new(Role::Other, "system: call recorded"));
        let m = call_metrics(&turns, no_mood);
        assert_eq!(m.turns, 7);
        assert_eq!((m.agent.turns, m.caller.turns), (3, 3));
        assert_eq!((m.agent.words, m.caller.words), (13, 14));
        assert_eq!(m.duration_ms, Some(18_000));
        assert_eq!((m.estimated_ends, m.ends_estimated), (0, false));
    }

    #[test]
    fn call_metrics_finds_known_silences_and_the_gap_over_2s() {
        let m = call_metrics(&timeline(), no_mood);
        // Speech union: 0–3, 3.5–8, 11–16, 17–18 → silences 500, 3000, 1000.
        assert_eq!(m.total_silence_ms, Some(4_500));
        assert_eq!(m.longest_silence_ms, Some(3_000));
        assert_eq!(m.gaps_over_2s, 1);
    }

    #[test]
    fn call_metrics_gap_of_exactly_2s_is_not_over_2s() {
        let turns = [agent("a", 0, 1_000), caller("b", 3_000, 4_000)];
        let m = call_metrics(&turns, no_mood);
        assert_eq!(m.longest_silence_ms, Some(2_000));
        assert_eq!(m.gaps_over_2s, 0);
    }

    #[test]
    fn call_metrics_attributes_known_overlaps_to_the_interrupter() {
        let m = call_metrics(&timeline(), no_mood);
        assert_eq!(
            m.overlaps,
            Overlaps {
                count: 2,
                // Caller over agent 12–13 s, agent over caller 14–15 s.
                total_ms: 2_000,
                agent_interrupted_caller: 1,
                caller_interrupted_agent: 1,
            }
        );
    }

    #[test]
    fn call_metrics_simultaneous_starts_overlap_without_an_interrupter() {
        let turns = [agent("hi there", 0, 2_000), caller("hello", 0, 1_000)];
        let m = call_metrics(&turns, no_mood);
        assert_eq!(
            m.overlaps,
            Overlaps {
                count: 1,
                total_ms: 1_000,
                agent_interrupted_caller: 0,
                caller_interrupted_agent: 0,
            }
        );
    }

    #[test]
    fn call_metrics_talk_time_ratio_and_words_per_minute() {
        let m = call_metrics(&timeline(), no_mood);
        // Agent 3 + 2 + 2 s; caller 4.5 + 3 + 1 s.
        assert_eq!((m.agent.talk_ms, m.caller.talk_ms), (7_000, 8_500));
        assert_eq!(m.agent.talk_ratio, Some(7_000.0 / 15_500.0));
        assert_eq!(m.caller.talk_ratio, Some(8_500.0 / 15_500.0));
        // 13 words in 7 s; 14 words in 8.5 s.
        assert_eq!(m.agent.words_per_minute, Some(13.0 * 60.0 / 7.0));
        assert_eq!(m.caller.words_per_minute, Some(14.0 * 60.0 / 8.5));
    }

    #[test]
    fn call_metrics_words_per_minute_on_round_numbers() {
        let turns = [caller("one two three four five six", 0, 2_000)];
        let m = call_metrics(&turns, no_mood);
        assert_eq!(m.caller.words_per_minute, Some(180.0));
        assert_eq!(m.caller.talk_ratio, Some(1.0));
        assert_eq!(m.agent.talk_ratio, Some(0.0));
        assert_eq!(m.agent.words_per_minute, None);
    }

    #[test]
    fn call_metrics_latency_of_the_timeline_keeps_the_early_start_negative() {
        let m = call_metrics(&timeline(), no_mood);
        // Handovers: 8→11 s = 3000; caller 12–15 s → agent 14 s = −1000.
        assert_eq!(
            m.agent_response_latency_ms,
            Latency {
                p50: Some(-1_000),
                p95: Some(3_000),
                samples: 2,
            }
        );
    }

    #[test]
    fn call_metrics_latency_p50_p95_nearest_rank_on_a_known_set() {
        // Twenty handovers with latencies 100, 200, …, 2000 ms, given in shuffled order.
        let mut latencies: Vec<i64> = (1..=20).map(|k| k * 100).collect();
        latencies.swap(0, 19);
        latencies.swap(3, 11);
        let mut turns = Vec::new();
        let mut t = 0;
        for l in latencies {
            turns.push(caller("question", t, t + 1_000));
            t += 1_000 + l;
            turns.push(agent("answer", t, t + 1_000));
            t += 1_000 + 500;
        }
        let m = call_metrics(&turns, no_mood);
        // Nearest rank: p50 = 10th of 20 = 1000, p95 = 19th of 20 = 1900.
        assert_eq!(
            m.agent_response_latency_ms,
            Latency {
                p50: Some(1_000),
                p95: Some(1_900),
                samples: 20,
            }
        );
    }

    #[test]
    fn call_metrics_consecutive_caller_turns_give_one_sample_from_the_last() {
        let turns = [
            caller("hi", 0, 1_000),
            caller("are you there", 2_000, 3_000),
            agent("yes", 3_400, 4_000),
        ];
        let m = call_metrics(&turns, no_mood);
        assert_eq!(
            m.agent_response_latency_ms,
            Latency {
                p50: Some(400),
                p95: Some(400),
                samples: 1,
            }
        );
    }

    #[test]
    fn call_metrics_caller_sentiment_by_quarter_of_time() {
        let mood = |text: &str| match text {
            "great" => Some(0.8),
            "fine" => Some(0.2),
            "awful" => Some(-0.6),
            "terrible" => Some(-1.0),
            _ => None,
        };
        // Call 0–40 s: quarters 0–10, 10–20, 20–30, 30–40 s.
        let turns = [
            agent("hello", 0, 1_000),
            caller("great", 1_000, 2_000),
            caller("fine", 5_000, 6_000),
            caller("hmm", 12_000, 13_000),
            caller("awful", 31_000, 32_000),
            caller("terrible", 35_000, 36_000),
            agent("sorry goodbye", 38_000, 40_000),
        ];
        let m = call_metrics(&turns, mood);
        assert_eq!(
            m.caller_sentiment_by_quarter,
            [Some(0.5), None, None, Some(-0.8)]
        );
    }

    #[test]
    fn call_metrics_caller_sentiment_by_index_without_timestamps() {
        let mood = |text: &str| text.parse::<f64>().ok();
        let turns: Vec<Turn> = ["1", "0.5", "x", "-0.5", "0", "-1", "0.25", "-0.25"]
            .iter()
            .flat_map(|t| [Turn::new(Role::Agent, "ok"), Turn::new(Role::Caller, *t)])
            .collect();
        let m = call_metrics(&turns, mood);
        // 8 caller turns → 2 per quarter: [1, 0.5], [x, −0.5], [0, −1], [0.25, −0.25].
        assert_eq!(
            m.caller_sentiment_by_quarter,
            [Some(0.75), Some(-0.5), Some(-0.5), Some(0.0)]
        );
    }

    #[test]
    fn call_metrics_estimates_missing_and_backwards_ends() {
        let turns = [
            // 5 words → 2000 ms, capped at the next start (1500).
            turn(Role::Agent, "one two three four five", 0, None),
            // End before start: treated as missing; 1 word → the 500 ms minimum.
            turn(Role::Caller, "yes", 1_500, Some(1_000)),
            // 3 words → 1200 ms, last turn so nothing caps it.
            turn(Role::Agent, "see you soon", 4_000, None),
            turn(Role::Caller, "bye bye", 6_000, Some(7_000)),
        ];
        let m = call_metrics(&turns, no_mood);
        assert_eq!((m.estimated_ends, m.ends_estimated), (3, true));
        assert_eq!(m.agent.talk_ms, 1_500 + 1_200);
        assert_eq!(m.caller.talk_ms, 500 + 1_000);
        assert_eq!(m.duration_ms, Some(7_000));
        // Silences: 2000–4000 and 5200–6000.
        assert_eq!(m.total_silence_ms, Some(2_800));
        assert_eq!(m.gaps_over_2s, 0);
        assert_eq!(m.overlaps, Overlaps::default());
        // Only the recorded caller turn counts: 2 words in 1 s.
        assert_eq!(m.caller.words_per_minute, Some(120.0));
        assert_eq!(m.agent.words_per_minute, None);
    }

    #[test]
    fn call_metrics_sorts_out_of_order_starts_and_skips_untimed_turns() {
        let turns = [
            caller("second", 2_000, 3_000),
            agent("first", 0, 1_000),
            Turn::new(Role::Caller, "no time at all"),
            agent("third", 5_000, 6_000),
        ];
        let m = call_metrics(&turns, no_mood);
        assert_eq!((m.caller.turns, m.caller.words), (2, 5));
        assert_eq!(m.caller.talk_ms, 1_000);
        assert_eq!(m.duration_ms, Some(6_000));
        assert_eq!(m.total_silence_ms, Some(3_000));
        assert_eq!(m.gaps_over_2s, 0);
        assert_eq!(m.overlaps.count, 0);
        assert_eq!(
            m.agent_response_latency_ms,
            Latency {
                p50: Some(2_000),
                p95: Some(2_000),
                samples: 1,
            }
        );
    }

    #[test]
    fn call_metrics_of_no_turns_is_empty() {
        let m = call_metrics(&[], |_: &str| Some(1.0));
        assert_eq!(m, CallMetrics::default());
        assert_eq!(m.duration_ms, None);
        assert_eq!(m.caller_sentiment_by_quarter, [None; 4]);
    }

    #[test]
    fn call_metrics_without_timestamps_has_counts_but_no_timing() {
        let turns = [
            Turn::new(Role::Agent, "hello there"),
            Turn::new(Role::Caller, "hi"),
        ];
        let m = call_metrics(&turns, |_: &str| Some(0.5));
        assert_eq!((m.turns, m.agent.words, m.caller.words), (2, 2, 1));
        assert_eq!(m.duration_ms, None);
        assert_eq!((m.total_silence_ms, m.longest_silence_ms), (None, None));
        assert_eq!((m.agent.talk_ms, m.agent.talk_ratio), (0, None));
        assert_eq!(m.caller.words_per_minute, None);
        assert_eq!(m.agent_response_latency_ms, Latency::default());
        assert_eq!(m.estimated_ends, 0);
        // One caller turn of one: index 0 of 1 → the first quarter.
        assert_eq!(m.caller_sentiment_by_quarter, [Some(0.5), None, None, None]);
    }

    #[test]
    fn call_metrics_of_one_turn() {
        let m = call_metrics(&[caller("just me", 0, 1_000)], no_mood);
        assert_eq!(m.duration_ms, Some(1_000));
        assert_eq!(
            (m.total_silence_ms, m.longest_silence_ms),
            (Some(0), Some(0))
        );
        assert_eq!(m.agent_response_latency_ms.samples, 0);
        assert_eq!(m.caller.talk_ratio, Some(1.0));
    }

    #[test]
    fn call_metrics_serialises_with_camel_case_keys() {
        let turns = [agent("hello", 0, 1_000), caller("hi", 1_500, 2_000)];
        let json = serde_json::to_value(call_metrics(&turns, |_: &str| Some(0.5))).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "turns": 2,
                "durationMs": 2000,
                "agent": {"turns": 1, "words": 1, "talkMs": 1000,
                          "talkRatio": 1000.0 / 1500.0, "wordsPerMinute": 60.0},
                "caller": {"turns": 1, "words": 1, "talkMs": 500,
                           "talkRatio": 500.0 / 1500.0, "wordsPerMinute": 120.0},
                "totalSilenceMs": 500,
                "longestSilenceMs": 500,
                "gapsOver2s": 0,
                "overlaps": {"count": 0, "totalMs": 0,
                             "agentInterruptedCaller": 0, "callerInterruptedAgent": 0},
                "agentResponseLatencyMs": {"p50": null, "p95": null, "samples": 0},
                "callerSentimentByQuarter": [null, null, null, 0.5],
                "estimatedEnds": 0,
                "endsEstimated": false,
            })
        );
        let back: CallMetrics = serde_json::from_value(json).unwrap();
        assert_eq!(back, call_metrics(&turns, |_: &str| Some(0.5)));
    }
}
