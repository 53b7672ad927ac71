//! Calls and their analytics: the analyzer's batch load and write, the hot-lead claim, and
//! writing calls as a voice bridge would.

use std::{str::FromStr, sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use tracing::warn;

use super::{PgStore, StoreError};
use crate::{
    analysis::AnalysisOutcome,
    domain::{
        Analysis, CallId, CallMetrics, Entities, Intent, LeadScore, Role, Sentiment, Summary, Turn,
    },
};

/// A call as stored: its facts, its turns in order and its current analytics row, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredCall {
    /// The caller's number.
    pub from_number: Option<String>,
    /// The agent.
    pub agent_id: Option<String>,
    /// When the call ended.
    pub ended_at: Option<DateTime<Utc>>,
    /// Turns ordered by start time, then id.
    pub turns: Vec<Turn>,
    /// The analytics row, when the call was analyzed before.
    pub analytics: Option<StoredAnalytics>,
}

/// The parts of an `"Analytics"` row that decide whether to analyze again and to publish.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredAnalytics {
    /// Hash of the transcript that was analyzed.
    pub transcript_hash: Option<String>,
    /// Analyzer that produced the row.
    pub analyzer: String,
    /// Its prompt version.
    pub prompt_version: Option<String>,
    /// When the hot-lead message was published.
    pub hot_published_at: Option<DateTime<Utc>>,
    /// The stored analysis; `None` when a value no longer parses (a row from an older writer).
    pub analysis: Option<Analysis>,
}

/// One `"Analytics"` row, as [`PgStore::upsert_analysis`] and [`PgStore::upsert_analyses`]
/// write it. Owned, so that the records of a batch can queue their rows for one shared write
/// ([`crate::round_trip_group`]).
#[derive(Debug, Clone)]
pub struct AnalyticsRecord {
    /// The call.
    pub call_id: CallId,
    /// The analysis and how it was made.
    pub outcome: AnalysisOutcome,
    /// Hash of the full transcript.
    pub transcript_hash: String,
    /// Characters of the full transcript.
    pub transcript_chars: usize,
    /// Whether only the capped form was analyzed.
    pub truncated: bool,
    /// Deterministic call metrics.
    pub metrics: CallMetrics,
    /// Time the analyzer took.
    pub latency_ms: u64,
    /// The call's agent and end time as loaded: the rollup bucket its row's triggers update.
    /// A group write takes its rows in bucket order, so two containers writing overlapping
    /// buckets lock them in the same order and cannot deadlock.
    pub bucket: (Option<String>, Option<DateTime<Utc>>),
}

/// Result of trying to take the right to publish a call's hot-lead message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HotClaim {
    /// This invocation holds the lease: publish, then [`PgStore::mark_hot_published`].
    Claimed,
    /// The message was published before.
    AlreadyPublished,
    /// Another invocation holds an unexpired lease.
    HeldElsewhere,
}

/// A call to write with [`PgStore::upsert_call`].
#[derive(Debug, Clone)]
pub struct NewCall {
    /// The call's id.
    pub id: String,
    /// The caller's number.
    pub from_number: Option<String>,
    /// The agent.
    pub agent_id: Option<String>,
    /// When the call started.
    pub started_at: Option<DateTime<Utc>>,
    /// When it ended.
    pub ended_at: Option<DateTime<Utc>>,
    /// Its turns.
    pub turns: Vec<NewTurn>,
}

/// One turn of a [`NewCall`].
#[derive(Debug, Clone)]
pub struct NewTurn {
    /// The turn's id.
    pub id: String,
    /// The role as the bridge spells it.
    pub role: String,
    /// What was said.
    pub text: String,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it ended.
    pub ended_at: Option<DateTime<Utc>>,
}

impl PgStore {
    /// Loads a call, its turns in order and its analytics row in one query. `Ok(None)` when
    /// no `"Call"` row has this id.
    ///
    /// # Errors
    /// [`StoreError`] on any database fault.
    pub async fn fetch_call(&self, call_id: &CallId) -> Result<Option<StoredCall>, StoreError> {
        let mut calls = self.fetch_calls(std::slice::from_ref(call_id)).await?;
        Ok(calls.pop().flatten())
    }

    /// Loads the calls of a batch, each with its turns in order and its analytics row, in one
    /// query: one entry per id, in order, `None` where no `"Call"` row has the id.
    ///
    /// # Errors
    /// [`StoreError`] on any database fault.
    pub async fn fetch_calls(
        &self,
        call_ids: &[CallId],
    ) -> Result<Vec<Option<StoredCall>>, StoreError> {
        let operation = || match call_ids {
            [one] => format!("load call {one}"),
            _ => format!("load {} calls", call_ids.len()),
        };
        let ids: Vec<&str> = call_ids.iter().map(CallId::as_str).collect();
        let ids = &ids;
        let rows = self
            .run(operation, |c| async move {
                c.client.query(&c.statements.fetch_calls, &[ids]).await
            })
            .await?;
        let read = |e: tokio_postgres::Error| StoreError::Query {
            operation: operation(),
            source: e,
        };
        // Rows come grouped by call, turns in order within each.
        let mut loaded: std::collections::HashMap<String, StoredCall> =
            std::collections::HashMap::with_capacity(call_ids.len());
        let mut start = 0;
        while start < rows.len() {
            let id: String = rows[start].try_get("call_id").map_err(read)?;
            let mut end = start + 1;
            while end < rows.len() && rows[end].try_get::<_, String>("call_id").map_err(read)? == id
            {
                end += 1;
            }
            loaded.insert(id, stored_call(&rows[start..end]).map_err(read)?);
            start = end;
        }
        Ok(call_ids
            .iter()
            .map(|id| loaded.get(id.as_str()).cloned())
            .collect())
    }

    /// Inserts or replaces the call's analytics row (one statement). `"hotPublishedAt"` is
    /// left as it was, so a re-analysis never publishes a second hot-lead message.
    ///
    /// # Errors
    /// [`StoreError`] on any database fault.
    #[tracing::instrument(skip_all, fields(call_id = %record.call_id))]
    pub async fn upsert_analysis(&self, record: &AnalyticsRecord) -> Result<(), StoreError> {
        let columns = AnalyticsColumns::of(std::slice::from_ref(record));
        let params = columns.params();
        let params = &params;
        self.run(
            || format!("upsert analytics for call {}", record.call_id),
            |c| async move {
                c.client
                    .execute(&c.statements.upsert_analyses, params)
                    .await
            },
        )
        .await?;
        Ok(())
    }

    /// Writes a batch's analytics rows in one multi-row statement: one round trip and one
    /// commit. Returns one result per record, in order. Rows for the same call are written
    /// once (the last one wins; both records succeed). When Postgres rejects the statement for
    /// what may be one row's fault (a constraint, a data error, a trigger that raised), the
    /// statement has rolled back as a whole and every row is written again on its own, so that
    /// only the rejected record fails; a connection failure, a timeout or a server in trouble
    /// fails every record of the batch, to be retried.
    pub async fn upsert_analyses(
        &self,
        records: &[AnalyticsRecord],
    ) -> Vec<Result<(), StoreError>> {
        if records.len() <= 1 {
            let mut results = Vec::with_capacity(1);
            for record in records {
                results.push(self.upsert_analysis(record).await);
            }
            return results;
        }
        // One row per call, in rollup-bucket order (see `AnalyticsRecord::bucket`).
        let mut order: Vec<usize> = (0..records.len()).collect();
        order.sort_by(|&a, &b| {
            let key = |i: usize| (&records[i].bucket, records[i].call_id.as_str());
            key(a).cmp(&key(b))
        });
        let mut unique: Vec<AnalyticsRecord> = Vec::with_capacity(records.len());
        for &index in &order {
            let record = &records[index];
            match unique.last_mut() {
                Some(last) if last.call_id == record.call_id => *last = record.clone(),
                _ => unique.push(record.clone()),
            }
        }
        let columns = AnalyticsColumns::of(&unique);
        let params = columns.params();
        let params = &params;
        let written = self
            .run(
                || format!("upsert analytics for {} calls", unique.len()),
                |c| async move {
                    c.client
                        .execute(&c.statements.upsert_analyses, params)
                        .await
                },
            )
            .await;
        match written {
            Ok(_) => records.iter().map(|_| Ok(())).collect(),
            Err(error) if may_be_one_rows_fault(&error) => {
                warn!(error = %crate::error::cause_chain(&error), rows = unique.len(),
                    "postgres rejected a row of the batch's analytics write; writing each row on its own");
                let mut results = Vec::with_capacity(records.len());
                for record in records {
                    results.push(self.upsert_analysis(record).await);
                }
                results
            }
            Err(error) => {
                let shared = Arc::new(error);
                records
                    .iter()
                    .map(|_| Err(StoreError::Batch(Arc::clone(&shared))))
                    .collect()
            }
        }
    }

    /// Takes a lease of `lease` on publishing the call's hot-lead message, unless it was
    /// published already or another invocation holds an unexpired lease.
    ///
    /// # Errors
    /// [`StoreError`] on any database fault.
    pub async fn claim_hot_publish(
        &self,
        call_id: &CallId,
        lease: Duration,
    ) -> Result<HotClaim, StoreError> {
        let lease_secs = lease.as_secs_f64();
        let lease_secs = &lease_secs;
        let claimed = self
            .run(
                || format!("claim hot-lead publish for call {call_id}"),
                |c| async move {
                    c.client
                        .query_opt(&c.statements.claim_hot, &[&call_id.as_str(), lease_secs])
                        .await
                },
            )
            .await?;
        if claimed.is_some() {
            return Ok(HotClaim::Claimed);
        }
        let published = self
            .run(
                || format!("read hot-lead state of call {call_id}"),
                |c| async move {
                    c.client
                        .query_opt(&c.statements.hot_published, &[&call_id.as_str()])
                        .await
                },
            )
            .await?;
        let is_published = published
            .map(|row| row.try_get::<_, bool>(0))
            .transpose()
            .map_err(|e| StoreError::Query {
                operation: format!("read hot-lead state of call {call_id}"),
                source: e,
            })?
            .unwrap_or(false);
        Ok(if is_published {
            HotClaim::AlreadyPublished
        } else {
            HotClaim::HeldElsewhere
        })
    }

    /// Records that the hot-lead message was published and drops the lease.
    ///
    /// # Errors
    /// [`StoreError`] on any database fault.
    pub async fn mark_hot_published(&self, call_id: &CallId) -> Result<(), StoreError> {
        self.run(
            || format!("mark hot lead published for call {call_id}"),
            |c| async move {
                c.client
                    .execute(&c.statements.mark_hot_published, &[&call_id.as_str()])
                    .await
            },
        )
        .await?;
        Ok(())
    }

    /// Drops the lease after a failed publish, so that the retry can publish at once.
    ///
    /// # Errors
    /// [`StoreError`] on any database fault.
    pub async fn release_hot_claim(&self, call_id: &CallId) -> Result<(), StoreError> {
        self.run(
            || format!("release hot-lead claim for call {call_id}"),
            |c| async move {
                c.client
                    .execute(&c.statements.release_hot_claim, &[&call_id.as_str()])
                    .await
            },
        )
        .await?;
        Ok(())
    }

    /// Writes a call and its turns as a voice bridge would (the demo, benchmarks and tests);
    /// an existing call or turn with the same id is updated, so loading twice is safe.
    ///
    /// # Errors
    /// [`StoreError`] on any database fault.
    pub async fn upsert_call(&self, call: &NewCall) -> Result<(), StoreError> {
        let ids: Vec<&str> = call.turns.iter().map(|t| t.id.as_str()).collect();
        let roles: Vec<&str> = call.turns.iter().map(|t| t.role.as_str()).collect();
        let texts: Vec<&str> = call.turns.iter().map(|t| t.text.as_str()).collect();
        let starts: Vec<DateTime<Utc>> = call.turns.iter().map(|t| t.started_at).collect();
        let ends: Vec<Option<DateTime<Utc>>> = call.turns.iter().map(|t| t.ended_at).collect();
        let (ids, roles, texts, starts, ends) = (&ids, &roles, &texts, &starts, &ends);
        self.run(
            || format!("upsert call {}", call.id),
            |c| async move {
                c.client
                    .execute(
                        r#"INSERT INTO "Call" (id, "fromNumber", "agentId", "startedAt", "endedAt")
                           VALUES ($1, $2, $3, $4, $5)
                           ON CONFLICT (id) DO UPDATE SET "fromNumber" = EXCLUDED."fromNumber",
                               "agentId" = EXCLUDED."agentId", "startedAt" = EXCLUDED."startedAt",
                               "endedAt" = EXCLUDED."endedAt""#,
                        &[
                            &call.id,
                            &call.from_number,
                            &call.agent_id,
                            &call.started_at,
                            &call.ended_at,
                        ],
                    )
                    .await
            },
        )
        .await?;
        self.run(
            || format!("upsert turns of call {}", call.id),
            |c| async move {
                c.client
                    .execute(
                        r#"INSERT INTO "Turn" (id, "callId", role, text, "startedAt", "endedAt")
                           SELECT t.id, $1, t.role, t.text, t.started, t.ended
                           FROM unnest($2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::timestamptz[])
                                AS t(id, role, text, started, ended)
                           ON CONFLICT (id) DO UPDATE SET role = EXCLUDED.role, text = EXCLUDED.text,
                               "startedAt" = EXCLUDED."startedAt", "endedAt" = EXCLUDED."endedAt""#,
                        &[&call.id, ids, roles, texts, starts, ends],
                    )
                    .await
            },
        )
        .await?;
        Ok(())
    }
}

fn stored_analysis(row: &tokio_postgres::Row) -> Result<Option<Analysis>, tokio_postgres::Error> {
    let intent: String = row.try_get("intent")?;
    let Ok(intent) = Intent::from_str(&intent) else {
        return Ok(None);
    };
    let entities: serde_json::Value = row.try_get("entities")?;
    let Ok(entities) = serde_json::from_value::<Entities>(entities) else {
        return Ok(None);
    };
    Ok(Some(Analysis {
        sentiment: Sentiment::clamped(row.try_get("sentiment")?),
        lead_score: LeadScore::clamped(i64::from(row.try_get::<_, i32>("lead_score")?)),
        intent,
        entities,
        summary: Summary::new(&row.try_get::<_, String>("summary")?),
        next_action: row.try_get("next_action")?,
    }))
}

/// One call's rows of the `fetch_calls` statement (at least one: the LEFT JOINs give a call
/// without turns one row of NULL turn columns) as a [`StoredCall`].
fn stored_call(rows: &[tokio_postgres::Row]) -> Result<StoredCall, tokio_postgres::Error> {
    let first = &rows[0];
    let analytics = match first.try_get::<_, Option<String>>("analyzer")? {
        None => None,
        Some(analyzer) => Some(StoredAnalytics {
            transcript_hash: first.try_get("transcript_hash")?,
            analyzer,
            prompt_version: first.try_get("prompt_version")?,
            hot_published_at: first.try_get("hot_published_at")?,
            analysis: stored_analysis(first)?,
        }),
    };
    let mut turns = Vec::with_capacity(rows.len());
    for row in rows {
        // A LEFT JOIN row without a turn carries NULLs in every turn column.
        let Some(role) = row.try_get::<_, Option<String>>("role")? else {
            continue;
        };
        turns.push(Turn {
            role: Role::parse(&role),
            text: row
                .try_get::<_, Option<String>>("text")?
                .unwrap_or_default(),
            started_at: row.try_get("turn_started_at")?,
            ended_at: row.try_get("turn_ended_at")?,
        });
    }
    Ok(StoredCall {
        from_number: first.try_get("from_number")?,
        agent_id: first.try_get("agent_id")?,
        ended_at: first.try_get("call_ended_at")?,
        turns,
        analytics,
    })
}

/// A batch of analytics rows as the column arrays of the `upsert_analyses` statement.
struct AnalyticsColumns<'a> {
    call_ids: Vec<&'a str>,
    sentiments: Vec<f64>,
    lead_scores: Vec<i32>,
    intents: Vec<&'a str>,
    entities: Vec<serde_json::Value>,
    summaries: Vec<&'a str>,
    next_actions: Vec<&'a str>,
    analyzers: Vec<&'a str>,
    prompt_versions: Vec<Option<&'a str>>,
    transcript_hashes: Vec<&'a str>,
    transcript_chars: Vec<i32>,
    truncated: Vec<bool>,
    metrics: Vec<serde_json::Value>,
    input_tokens: Vec<Option<i32>>,
    output_tokens: Vec<Option<i32>>,
    costs_usd: Vec<Option<f64>>,
    latencies_ms: Vec<i32>,
}

impl<'a> AnalyticsColumns<'a> {
    fn of(records: &'a [AnalyticsRecord]) -> Self {
        let saturate = |n: u64| i32::try_from(n).unwrap_or(i32::MAX);
        let usage = |r: &AnalyticsRecord| r.outcome.usage;
        Self {
            call_ids: records.iter().map(|r| r.call_id.as_str()).collect(),
            sentiments: records
                .iter()
                .map(|r| r.outcome.analysis.sentiment.get())
                .collect(),
            lead_scores: records
                .iter()
                .map(|r| i32::from(r.outcome.analysis.lead_score.get()))
                .collect(),
            intents: records
                .iter()
                .map(|r| r.outcome.analysis.intent.as_str())
                .collect(),
            entities: records
                .iter()
                .map(|r| {
                    serde_json::to_value(&r.outcome.analysis.entities)
                        .unwrap_or(serde_json::Value::Null)
                })
                .collect(),
            summaries: records
                .iter()
                .map(|r| r.outcome.analysis.summary.as_str())
                .collect(),
            next_actions: records
                .iter()
                .map(|r| r.outcome.analysis.next_action.as_str())
                .collect(),
            analyzers: records
                .iter()
                .map(|r| r.outcome.analyzer.as_str())
                .collect(),
            prompt_versions: records
                .iter()
                .map(|r| r.outcome.prompt_version.as_deref())
                .collect(),
            transcript_hashes: records.iter().map(|r| r.transcript_hash.as_str()).collect(),
            transcript_chars: records
                .iter()
                .map(|r| saturate(r.transcript_chars as u64))
                .collect(),
            truncated: records.iter().map(|r| r.truncated).collect(),
            metrics: records
                .iter()
                .map(|r| serde_json::to_value(&r.metrics).unwrap_or(serde_json::Value::Null))
                .collect(),
            input_tokens: records
                .iter()
                .map(|r| usage(r).map(|u| saturate(u64::from(u.input_tokens))))
                .collect(),
            output_tokens: records
                .iter()
                .map(|r| usage(r).map(|u| saturate(u64::from(u.output_tokens))))
                .collect(),
            costs_usd: records
                .iter()
                .map(|r| usage(r).map(|u| u.cost_usd))
                .collect(),
            latencies_ms: records.iter().map(|r| saturate(r.latency_ms)).collect(),
        }
    }

    fn params(&self) -> [&(dyn tokio_postgres::types::ToSql + Sync); 17] {
        [
            &self.call_ids,
            &self.sentiments,
            &self.lead_scores,
            &self.intents,
            &self.entities,
            &self.summaries,
            &self.next_actions,
            &self.analyzers,
            &self.prompt_versions,
            &self.transcript_hashes,
            &self.transcript_chars,
            &self.truncated,
            &self.metrics,
            &self.input_tokens,
            &self.output_tokens,
            &self.costs_usd,
            &self.latencies_ms,
        ]
    }
}

/// Whether a failed batch write may have failed because of what one row holds: Postgres
/// answered with an error (a data exception, a constraint, a trigger that raised, a deadlock),
/// rather than the connection failing, the statement timing out, or the server saying it is
/// unwell (SQLSTATE classes 08 connection, 53 insufficient resources, 57 operator intervention,
/// 58 system error). Only then is it worth writing each row on its own to find the culprit.
fn may_be_one_rows_fault(error: &StoreError) -> bool {
    let StoreError::Query { source, .. } = error else {
        return false;
    };
    source
        .as_db_error()
        .is_some_and(|db| !matches!(&db.code().code()[..2], "08" | "53" | "57" | "58"))
}
