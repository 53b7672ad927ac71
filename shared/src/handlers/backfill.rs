//! The backfill: re-enqueues calls that have no analytics (or, with `reanalyze`, stale ones),
//! keyset-paged, within the invocation's time, never looping on a poison call.

use std::time::Duration;

use chrono::{DateTime, Utc};
use lambda_runtime::{Diagnostic, LambdaEvent};
use tokio::time::Instant;
use tracing::{info, warn};

use crate::{
    adapters::{
        postgres::{BackfillCandidate, BackfillCursor, BackfillQuery, PgStore, StoreError},
        secrets::SecretsStore,
        sqs::{fifo_key, FifoIds, OutgoingMessage, SendBatch, SqsQueue},
    },
    backoff::{backoff_delay, jitter_unit},
    config::{BackfillConfig, ConfigError},
    domain::{CallCompleted, CallId},
    error::{Classified, ErrorClass},
    metrics::MetricsLine,
};

/// SQS's `SendMessageBatch` limit.
const SQS_BATCH: usize = 10;
/// Sends of one batch at most (entries SQS failed, or the whole call).
const SEND_ATTEMPTS: u32 = 3;
/// Calls a dry run lists.
const SAMPLE_SIZE: usize = 20;
/// Failed call ids a report lists.
const FAILED_LISTED: usize = 100;

/// A run's parameters: the manual payload, or empty for the schedule. camelCase on the wire.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BackfillRequest {
    /// Calls that ended after this (at most `BACKFILL_LOOKBACK` ago unless given).
    pub since: Option<DateTime<Utc>>,
    /// Calls that ended before this (at most now minus `BACKFILL_GRACE`).
    pub until: Option<DateTime<Utc>>,
    /// Calls to select in this run at most.
    pub limit: Option<usize>,
    /// Only this agent's calls.
    pub agent_id: Option<String>,
    /// Also calls analyzed by another analyzer or prompt version, and given-up calls.
    #[serde(default)]
    pub reanalyze: bool,
    /// Count and list a sample; send nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// Continue after a previous run's `nextCursor`.
    pub cursor: Option<String>,
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BackfillReport {
    /// Calls selected.
    pub selected: usize,
    /// Calls the analyzer queue accepted.
    pub enqueued: usize,
    /// Calls without analytics left alone after `BACKFILL_MAX_ATTEMPTS` enqueues.
    pub skipped: u64,
    /// Calls SQS did not accept, even after retries (the next run selects them again).
    pub failed: usize,
    /// Where to continue when `done` is false.
    pub next_cursor: Option<String>,
    /// True when every matching call was handled.
    pub done: bool,
    /// True for a dry run.
    pub dry_run: bool,
    /// A dry run's first calls.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sample: Vec<String>,
    /// Calls that failed to enqueue (the first 100).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failed_call_ids: Vec<String>,
}

/// A run failed.
#[derive(Debug, thiserror::Error)]
pub enum BackfillError {
    /// The payload is not a backfill request.
    #[error("invalid backfill request: {0}")]
    InvalidRequest(String),
    /// Postgres failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Sending is needed and no queue is configured.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

impl Classified for BackfillError {
    fn class(&self) -> ErrorClass {
        match self {
            BackfillError::InvalidRequest(_) => ErrorClass::Permanent,
            BackfillError::Store(e) => e.class(),
            BackfillError::Config(_) => ErrorClass::Transient,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            BackfillError::InvalidRequest(_) => "InvalidRequest",
            BackfillError::Store(e) => e.code(),
            BackfillError::Config(_) => "Config",
        }
    }
}

impl From<BackfillError> for Diagnostic {
    fn from(error: BackfillError) -> Self {
        super::diagnostic(&error)
    }
}

/// Everything the backfill needs, built once per container.
#[derive(Debug)]
pub struct BackfillDeps {
    /// Settings.
    pub config: BackfillConfig,
    /// Postgres.
    pub store: PgStore,
    /// The analyzer's queue.
    pub queue: SqsQueue,
}

impl BackfillDeps {
    /// Builds the clients, and migrates when `AUTO_MIGRATE` is on.
    ///
    /// # Errors
    /// [`BackfillError`] when `ANALYZER_QUEUE_URL` is not set or migrations fail.
    pub async fn new(
        config: BackfillConfig,
        aws: &aws_config::SdkConfig,
    ) -> Result<Self, BackfillError> {
        info!(config = ?config, "backfill configured");
        let queue_url = config
            .queue_url
            .clone()
            .ok_or(ConfigError::Missing("ANALYZER_QUEUE_URL"))?;
        let secrets = SecretsStore::new(aws_sdk_secretsmanager::Client::new(aws));
        let store = PgStore::new(config.database.clone(), Some(secrets));
        if config.auto_migrate {
            store.migrate().await?;
        }
        let queue = SqsQueue::new(aws_sdk_sqs::Client::new(aws), queue_url);
        Ok(Self {
            config,
            store,
            queue,
        })
    }
}

/// The Lambda handler: a schedule's event (EventBridge `Scheduled Event`, its `detail` read as
/// the request) or a manual payload.
///
/// # Errors
/// [`BackfillError`]: an invalid payload is permanent; database faults are transient (Lambda
/// retries, and the next scheduled run picks up anyway).
pub async fn backfill(
    deps: &BackfillDeps,
    event: LambdaEvent<serde_json::Value>,
) -> Result<BackfillReport, BackfillError> {
    let request = parse_request(event.payload)?;
    let deadline = super::invocation_deadline(&event.context);
    // Boxed: unboxed, the run's nested future types overflow rustc's layout query depth in the
    // binary that embeds them in the runtime's service future.
    Box::pin(run_backfill(
        &deps.store,
        Some(&deps.queue),
        &deps.config,
        request,
        Utc::now(),
        deadline,
    ))
    .await
}

/// Reads the payload: EventBridge's scheduled event (its `detail`, usually `{}`) or a request.
///
/// # Errors
/// [`BackfillError::InvalidRequest`] naming what is wrong.
pub fn parse_request(payload: serde_json::Value) -> Result<BackfillRequest, BackfillError> {
    let is_schedule = payload.get("detail-type").is_some()
        || payload.get("source").and_then(|s| s.as_str()) == Some("aws.events");
    let request = if is_schedule {
        payload
            .get("detail")
            .cloned()
            .unwrap_or(serde_json::Value::Null)
    } else {
        payload
    };
    match request {
        serde_json::Value::Null => Ok(BackfillRequest::default()),
        serde_json::Value::Object(map) if map.is_empty() => Ok(BackfillRequest::default()),
        other => {
            serde_json::from_value(other).map_err(|e| BackfillError::InvalidRequest(e.to_string()))
        }
    }
}

/// Runs one backfill: pages through the selection, enqueues each page in batches of 10 (failed
/// entries retried with backoff), records the attempts, and stops before `deadline`.
///
/// # Errors
/// [`BackfillError`] on a database fault or a bad cursor.
pub async fn run_backfill<Q: SendBatch>(
    store: &PgStore,
    queue: Option<&Q>,
    config: &BackfillConfig,
    request: BackfillRequest,
    now: DateTime<Utc>,
    deadline: Option<Instant>,
) -> Result<BackfillReport, BackfillError> {
    let queue = match (queue, request.dry_run) {
        (_, true) => None,
        (Some(queue), false) => Some(queue),
        (None, false) => return Err(ConfigError::Missing("ANALYZER_QUEUE_URL").into()),
    };
    let earliest = now - chrono::Duration::from_std(config.lookback).unwrap_or_default();
    let latest = now - chrono::Duration::from_std(config.grace).unwrap_or_default();
    let query = BackfillQuery {
        since: request.since.map_or(earliest, |s| s.max(earliest)),
        until: request.until.map_or(latest, |u| u.min(latest)),
        agent_id: request.agent_id.as_deref(),
        reanalyze: request.reanalyze,
        max_attempts: config.max_attempts,
        current_analyzer: &config.analyzer.name,
        current_prompt_version: config.analyzer.prompt_version.as_deref(),
        page_size: config.page_size,
    };
    let mut cursor = request.cursor.as_deref().map(parse_cursor).transpose()?;
    let limit = request.limit.unwrap_or(usize::MAX);
    let mut report = BackfillReport {
        dry_run: request.dry_run,
        ..BackfillReport::default()
    };
    loop {
        if deadline.is_some_and(|d| Instant::now() + config.deadline_margin >= d) {
            break;
        }
        let want = config.page_size.min(limit - report.selected);
        if want == 0 {
            break;
        }
        let page = store
            .backfill_page(
                &BackfillQuery {
                    page_size: want,
                    ..query.clone()
                },
                cursor.as_ref(),
            )
            .await?;
        let Some(last) = page.last() else {
            report.done = true;
            break;
        };
        cursor = Some(BackfillCursor {
            ended_at: last.ended_at,
            call_id: last.call_id.clone(),
        });
        report.selected += page.len();
        match queue {
            None => report.sample.extend(
                page.iter()
                    .take(SAMPLE_SIZE - report.sample.len().min(SAMPLE_SIZE))
                    .map(|c| c.call_id.clone()),
            ),
            Some(queue) => {
                enqueue_page(store, queue, &page, config.attempt_interval, &mut report).await?;
            }
        }
        if page.len() < want {
            report.done = true;
            break;
        }
    }
    report.sample.truncate(SAMPLE_SIZE);
    report.next_cursor = if report.done {
        None
    } else {
        cursor.as_ref().map(format_cursor)
    };
    report.skipped = if request.reanalyze {
        0
    } else {
        store.count_given_up(&query).await?
    };
    MetricsLine::new("backfill")
        .count("BackfillSelected", report.selected)
        .count("BackfillEnqueued", report.enqueued)
        .count("BackfillFailed", report.failed)
        .count(
            "BackfillSkipped",
            usize::try_from(report.skipped).unwrap_or(usize::MAX),
        )
        .emit();
    info!(
        selected = report.selected,
        enqueued = report.enqueued,
        skipped = report.skipped,
        failed = report.failed,
        done = report.done,
        dry_run = report.dry_run,
        "backfill run finished"
    );
    Ok(report)
}

async fn enqueue_page<Q: SendBatch>(
    store: &PgStore,
    queue: &Q,
    page: &[BackfillCandidate],
    attempt_interval: Duration,
    report: &mut BackfillReport,
) -> Result<(), BackfillError> {
    for chunk in page.chunks(SQS_BATCH) {
        let mut pending = Vec::with_capacity(chunk.len());
        let mut permanent: Vec<String> = Vec::new();
        for (i, call) in chunk.iter().enumerate() {
            match CallId::parse(&call.call_id) {
                Ok(call_id) => pending.push(OutgoingMessage {
                    entry_id: i.to_string(),
                    body: CallCompleted {
                        call_id,
                        ended_at: Some(call.ended_at),
                    }
                    .to_body(),
                    fifo: queue.is_fifo().then(|| FifoIds {
                        group_id: fifo_key(&call.call_id),
                        deduplication_id: fifo_key(&call.call_id),
                    }),
                }),
                // An id the analyzer would reject: reported, and counted as an attempt so that
                // it is not selected forever.
                Err(e) => {
                    warn!(error = %e, "a call id in \"Call\" is not a valid call id; not enqueued");
                    store
                        .record_backfill_attempts(&[call.call_id.as_str()], attempt_interval)
                        .await?;
                    permanent.push(i.to_string());
                }
            }
        }
        let mut attempt = 0;
        while !pending.is_empty() && attempt < SEND_ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(backoff_delay(
                    attempt - 1,
                    Duration::from_millis(100),
                    Duration::from_secs(2),
                    jitter_unit(),
                ))
                .await;
            }
            attempt += 1;
            let failures = match queue.send_batch(&pending).await {
                Ok(failures) => failures,
                Err(e) => {
                    warn!(error = %e, attempt, "SendMessageBatch failed; retrying the whole batch");
                    continue;
                }
            };
            let failed_ids: Vec<&str> = failures.iter().map(|f| f.entry_id.as_str()).collect();
            for failure in failures.iter().filter(|f| f.sender_fault) {
                warn!(entry = %failure.entry_id, code = %failure.code, "SQS refused an entry; not retried");
                permanent.push(failure.entry_id.clone());
            }
            let (failed, sent): (Vec<OutgoingMessage>, Vec<OutgoingMessage>) = pending
                .into_iter()
                .partition(|m| failed_ids.contains(&m.entry_id.as_str()));
            let sent_ids: Vec<&str> = sent
                .iter()
                .map(|m| chunk_call_id(chunk, &m.entry_id))
                .collect();
            store
                .record_backfill_attempts(&sent_ids, attempt_interval)
                .await?;
            report.enqueued += sent_ids.len();
            pending = failed
                .into_iter()
                .filter(|m| !permanent.contains(&m.entry_id))
                .collect();
            if !pending.is_empty() {
                warn!(
                    entries = pending.len(),
                    attempt, "SQS failed some entries; retrying them"
                );
            }
        }
        let given_up = pending.iter().map(|m| m.entry_id.clone()).chain(permanent);
        for entry_id in given_up {
            report.failed += 1;
            if report.failed_call_ids.len() < FAILED_LISTED {
                report
                    .failed_call_ids
                    .push(chunk_call_id(chunk, &entry_id).to_owned());
            }
        }
    }
    Ok(())
}

fn chunk_call_id<'a>(chunk: &'a [BackfillCandidate], entry_id: &str) -> &'a str {
    entry_id
        .parse::<usize>()
        .ok()
        .and_then(|i| chunk.get(i))
        .map_or("", |c| c.call_id.as_str())
}

/// `endedAt|id`: RFC 3339 holds no `|`, so the first one splits it whatever the id holds.
pub fn format_cursor(cursor: &BackfillCursor) -> String {
    format!(
        "{}|{}",
        cursor
            .ended_at
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        cursor.call_id
    )
}

/// Reads a cursor made by [`format_cursor`].
///
/// # Errors
/// [`BackfillError::InvalidRequest`] when it is not one.
pub fn parse_cursor(text: &str) -> Result<BackfillCursor, BackfillError> {
    let invalid =
        || BackfillError::InvalidRequest("cursor is not a nextCursor of a previous run".into());
    let (ended_at, call_id) = text.split_once('|').ok_or_else(invalid)?;
    let ended_at = DateTime::parse_from_rfc3339(ended_at)
        .map_err(|_| invalid())?
        .with_timezone(&Utc);
    Ok(BackfillCursor {
        ended_at,
        call_id: call_id.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_whatever_the_id_holds() {
        let cursor = BackfillCursor {
            ended_at: Utc::now(),
            call_id: "a|b c".into(),
        };
        let parsed = parse_cursor(&format_cursor(&cursor)).unwrap();
        assert_eq!(parsed.call_id, "a|b c");
        assert_eq!(
            parsed.ended_at.timestamp_micros(),
            cursor.ended_at.timestamp_micros()
        );
        assert!(parse_cursor("nonsense").is_err());
    }

    #[test]
    fn scheduled_events_and_manual_payloads_parse() {
        let scheduled = serde_json::json!({"version": "0", "detail-type": "Scheduled Event", "source": "aws.events", "detail": {}});
        assert_eq!(
            parse_request(scheduled).unwrap(),
            BackfillRequest::default()
        );
        let manual = serde_json::json!({"since": "2026-11-20T00:00:00Z", "limit": 100, "agentId": "a", "reanalyze": true, "dryRun": true});
        let request = parse_request(manual).unwrap();
        assert_eq!(
            (
                request.limit,
                request.agent_id.as_deref(),
                request.reanalyze,
                request.dry_run
            ),
            (Some(100), Some("a"), true, true)
        );
    }

    #[test]
    fn a_misspelled_field_is_an_error_not_a_real_run() {
        let err = parse_request(serde_json::json!({"dryrun": true})).unwrap_err();
        assert_eq!(err.class(), ErrorClass::Permanent);
        assert!(err.to_string().contains("dryrun"), "{err}");
    }
}
