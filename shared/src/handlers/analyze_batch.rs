//! The analyzer: an SQS batch of `call.completed` events in, one `"Analytics"` row per call out.

use std::{
    sync::atomic::{AtomicU64, AtomicUsize, Ordering},
    time::Duration,
};

use tokio::time::Instant;

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use futures::FutureExt;
use lambda_runtime::{Diagnostic, LambdaEvent};
use tracing::{info, warn, Span};

use crate::{
    adapters::{
        llm::LlmError,
        postgres::{AnalyticsRecord, HotClaim, PgStore, StoreError, StoredCall},
        secrets::SecretsStore,
        sns::{HotLeadTopic, TopicError},
        sqs::DeadLetters,
    },
    analysis::{rules, AnalyzeError, Analyzer, Usage},
    batch::{run_sqs_batch, BatchError, BatchOptions},
    config::AnalyzerConfig,
    domain::{call_metrics, CallCompleted, CallCompletedError, CallId, HotLead, Transcript},
    error::{Classified, ErrorClass},
    metrics::MetricsLine,
    round_trip_group::{Abandoned, Member, RoundTripGroup},
};

/// How long one invocation may hold the right to publish a call's hot-lead message. Longer
/// than an SNS publish with its retries; short enough that a crashed holder's call is
/// published by the next delivery.
pub const HOT_PUBLISH_LEASE: Duration = Duration::from_secs(60);

/// Everything the analyzer needs, built once per container.
#[derive(Debug)]
pub struct AnalyzerDeps {
    /// Settings.
    pub config: AnalyzerConfig,
    /// Postgres.
    pub store: PgStore,
    /// The analyzer picked by config.
    pub analyzer: Analyzer,
    /// Where permanent failures go.
    pub dead_letters: Option<DeadLetters>,
    /// Where hot leads go.
    pub hot_leads: Option<HotLeadTopic>,
}

/// Building the dependencies failed at cold start.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// Applying migrations failed.
    #[error("apply migrations at cold start")]
    Migrate(#[from] StoreError),
    /// The LLM client could not be built.
    #[error("build the llm client")]
    Llm(#[from] LlmError),
}

impl AnalyzerDeps {
    /// Builds every client from one shared AWS config, and migrates when `AUTO_MIGRATE` is on.
    ///
    /// # Errors
    /// [`InitError`] when migrations fail.
    pub async fn new(
        config: AnalyzerConfig,
        aws: &aws_config::SdkConfig,
    ) -> Result<Self, InitError> {
        // Safe to log whole: credentials are `Secret`s and print as [redacted].
        info!(config = ?config, "analyzer configured");
        // The rules analyzer runs for every call (call metrics, the fallback, or the analysis
        // itself): build its tables (models, cue automaton, word lists; about 28 ms) during
        // init, beside the migration and client set-up, not in the first invocation.
        let warm_up = tokio::task::spawn_blocking(|| {
            let started = std::time::Instant::now();
            crate::analysis::rules::warm_up();
            started.elapsed().as_millis() as u64
        });
        let secrets = SecretsStore::new(aws_sdk_secretsmanager::Client::new(aws));
        let store = PgStore::new(config.database.clone(), Some(secrets.clone()));
        if config.auto_migrate {
            store.migrate().await?;
        }
        let sqs = aws_sdk_sqs::Client::new(aws);
        let dead_letters = config
            .dead_letter_queue_url
            .clone()
            .map(|url| DeadLetters::new(sqs.clone(), url));
        let hot_leads = config
            .hot_leads_topic_arn
            .clone()
            .map(|arn| HotLeadTopic::new(aws_sdk_sns::Client::new(aws), arn));
        let analyzer = Analyzer::from_config(&config.analyzer, Some(secrets))?;
        // Built while the init above waited on the network (see the top of this function).
        let rules_load_ms = warm_up.await.unwrap_or_default();
        info!(elapsed_ms = rules_load_ms, "rules analyzer loaded");
        Ok(Self {
            config,
            store,
            analyzer,
            dead_letters,
            hot_leads,
        })
    }
}

/// The whole invocation failed.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// The batch must be retried whole.
    #[error(transparent)]
    Batch(#[from] BatchError),
}

impl Classified for HandlerError {
    fn class(&self) -> ErrorClass {
        match self {
            HandlerError::Batch(e) => e.class(),
        }
    }

    fn code(&self) -> &'static str {
        match self {
            HandlerError::Batch(e) => e.code(),
        }
    }
}

impl From<HandlerError> for Diagnostic {
    fn from(error: HandlerError) -> Self {
        super::diagnostic(&error)
    }
}

/// Why one record failed.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The body is not a `call.completed` event.
    #[error("malformed call.completed body")]
    MalformedBody(#[from] CallCompletedError),
    /// No `"Call"` row has this id (yet).
    #[error("call {call_id} not found (delivery {delivery} of {limit})")]
    CallNotFound {
        /// The call.
        call_id: CallId,
        /// `ApproximateReceiveCount` of this delivery.
        delivery: u32,
        /// `MAX_MISSING_RETRIES`.
        limit: u32,
    },
    /// The call has no turns (yet).
    #[error("call {call_id} has no turns (delivery {delivery} of {limit})")]
    NoTurns {
        /// The call.
        call_id: CallId,
        /// `ApproximateReceiveCount` of this delivery.
        delivery: u32,
        /// `MAX_MISSING_RETRIES`.
        limit: u32,
    },
    /// Postgres failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The analyzer failed.
    #[error(transparent)]
    Analyze(#[from] AnalyzeError),
    /// Publishing the hot lead failed.
    #[error(transparent)]
    Publish(#[from] TopicError),
    /// The batch's shared analytics write was abandoned before it reported on this row.
    #[error(transparent)]
    WriteAbandoned(#[from] Abandoned),
    /// Another invocation is publishing this call's hot lead right now.
    #[error("hot-lead publish for call {0} is in progress elsewhere")]
    HotPublishInProgress(CallId),
}

impl Classified for RecordError {
    fn class(&self) -> ErrorClass {
        match self {
            RecordError::MalformedBody(_) => ErrorClass::Permanent,
            // The bridge may still be writing the call: retry until the delivery limit.
            RecordError::CallNotFound {
                delivery, limit, ..
            }
            | RecordError::NoTurns {
                delivery, limit, ..
            } => {
                if delivery >= limit {
                    ErrorClass::Permanent
                } else {
                    ErrorClass::Transient
                }
            }
            RecordError::Store(e) => e.class(),
            RecordError::Analyze(e) => e.class(),
            RecordError::Publish(e) => e.class(),
            RecordError::HotPublishInProgress(_) | RecordError::WriteAbandoned(_) => {
                ErrorClass::Transient
            }
        }
    }

    fn code(&self) -> &'static str {
        match self {
            RecordError::MalformedBody(_) => "MalformedBody",
            RecordError::CallNotFound { .. } => "CallNotFound",
            RecordError::NoTurns { .. } => "NoTurns",
            RecordError::Store(e) => e.code(),
            RecordError::Analyze(e) => e.code(),
            RecordError::Publish(e) => e.code(),
            RecordError::HotPublishInProgress(_) => "HotPublishInProgress",
            RecordError::WriteAbandoned(_) => "WriteAbandoned",
        }
    }
}

/// Analyzes every record of an SQS batch and reports the retryable failures.
///
/// # Errors
/// [`HandlerError`] when the whole batch must come back (every record failed, or a failed
/// record cannot be identified).
pub async fn analyze_batch(
    deps: &AnalyzerDeps,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, HandlerError> {
    let options = BatchOptions {
        concurrency: deps.config.concurrency,
        dead_letters: deps.dead_letters.as_ref(),
        function: "analyzer",
    };
    let deadline = super::invocation_deadline(&event.context);
    let tally = LlmTally::default();
    let shared = SharedRoundTrips::default();
    let records = &event.payload.records;
    let result = run_sqs_batch(records, options, |record| {
        // Joined here, not in `analyze_record`: the batch runner calls this for every record in
        // flight before it polls any, so no record's load can start before all have joined.
        let slots = RecordSlots {
            load: shared.loads.join(),
            write: shared.writes.join(),
        };
        analyze_record(deps, record, deadline, &tally, slots).boxed()
    })
    .await;
    if matches!(deps.analyzer, Analyzer::Llm { .. }) {
        tally.emit();
    }
    Ok(result?)
}

/// The round trips an invocation's records share (see [`crate::round_trip_group`]): the
/// records in flight at once load their calls with one query and write their rows with one
/// statement and one commit.
#[derive(Default)]
struct SharedRoundTrips {
    loads: RoundTripGroup<CallId, Result<Option<StoredCall>, StoreError>>,
    writes: RoundTripGroup<AnalyticsRecord, Result<(), StoreError>>,
}

/// One record's places in its batch's [`SharedRoundTrips`]: until the record sends its request
/// or drops its place, the group's load or write waits for it.
struct RecordSlots<'g> {
    load: Member<'g, CallId, Result<Option<StoredCall>, StoreError>>,
    write: Member<'g, AnalyticsRecord, Result<(), StoreError>>,
}

/// Loads a group's calls; a failed query fails each of its records with the one error.
async fn load_calls(
    store: &PgStore,
    ids: Vec<CallId>,
) -> Vec<Result<Option<StoredCall>, StoreError>> {
    match store.fetch_calls(&ids).await {
        Ok(calls) => calls.into_iter().map(Ok).collect(),
        Err(error) => {
            let shared = std::sync::Arc::new(error);
            ids.iter()
                .map(|_| Err(StoreError::Batch(std::sync::Arc::clone(&shared))))
                .collect()
        }
    }
}

/// Tokens and cost of one invocation's LLM requests, for its EMF line.
#[derive(Debug, Default)]
struct LlmTally {
    analyses: AtomicUsize,
    input_tokens: AtomicU64,
    output_tokens: AtomicU64,
    cost_micro_usd: AtomicU64,
    latency_ms: AtomicU64,
}

impl LlmTally {
    fn add(&self, usage: &Usage, latency_ms: u64) {
        self.analyses.fetch_add(1, Ordering::Relaxed);
        self.input_tokens
            .fetch_add(u64::from(usage.input_tokens), Ordering::Relaxed);
        self.output_tokens
            .fetch_add(u64::from(usage.output_tokens), Ordering::Relaxed);
        // Micro-dollars keep the sum an integer; one call costs ~1e-4 USD.
        self.cost_micro_usd
            .fetch_add((usage.cost_usd * 1e6).round() as u64, Ordering::Relaxed);
        self.latency_ms.fetch_add(latency_ms, Ordering::Relaxed);
    }

    fn emit(&self) {
        let analyses = self.analyses.load(Ordering::Relaxed);
        let input = self.input_tokens.load(Ordering::Relaxed);
        let output = self.output_tokens.load(Ordering::Relaxed);
        let mean_latency_ms =
            self.latency_ms.load(Ordering::Relaxed) as f64 / analyses.max(1) as f64;
        MetricsLine::new("analyzer")
            .count("LlmAnalyses", analyses)
            .count("LlmTokens", (input + output) as usize)
            .count("LlmInputTokens", input as usize)
            .count("LlmOutputTokens", output as usize)
            .none(
                "LlmCostUsd",
                self.cost_micro_usd.load(Ordering::Relaxed) as f64 / 1e6,
            )
            .milliseconds("LlmLatencyMs", mean_latency_ms)
            .emit();
    }
}

/// Analyzes one `call.completed` message.
///
/// # Errors
/// [`RecordError`], classified for the batch runner.
async fn analyze_record(
    deps: &AnalyzerDeps,
    record: &SqsMessage,
    deadline: Option<Instant>,
    tally: &LlmTally,
    slots: RecordSlots<'_>,
) -> Result<(), RecordError> {
    let RecordSlots {
        load: load_slot,
        write: write_slot,
    } = slots;
    let event = CallCompleted::parse(record.body.as_deref().unwrap_or(""))?;
    let call_id = event.call_id;
    Span::current().record("call_id", call_id.as_str());
    let delivery = receive_count(record);
    let limit = deps.config.max_missing_retries;

    let call = load_slot
        .send(call_id.clone(), |ids| load_calls(&deps.store, ids))
        .await??
        .ok_or_else(|| RecordError::CallNotFound {
            call_id: call_id.clone(),
            delivery,
            limit,
        })?;
    if call.turns.is_empty() {
        return Err(RecordError::NoTurns {
            call_id,
            delivery,
            limit,
        });
    }

    let transcript = Transcript::new(call.turns);
    let transcript_hash = transcript.content_hash();
    let reusable = call.analytics.as_ref().filter(|stored| {
        stored.transcript_hash.as_deref() == Some(transcript_hash.as_str())
            && deps
                .analyzer
                .accepts_stored(&stored.analyzer, stored.prompt_version.as_deref())
    });
    let hot_published = call
        .analytics
        .as_ref()
        .is_some_and(|a| a.hot_published_at.is_some());

    let analysis = match reusable.and_then(|stored| stored.analysis.clone()) {
        Some(analysis) => {
            // Nothing to write: the batch's shared write need not wait for this record.
            drop(write_slot);
            info!(lead_score = analysis.lead_score.get(), intent = %analysis.intent, "transcript unchanged; stored analysis reused");
            analysis
        }
        None => {
            let started = Instant::now();
            let analysis =
                deps.analyzer
                    .analyze(&transcript, deps.config.transcript_max_chars, deadline);
            // The call metrics depend on the transcript alone: computed while the LLM request is
            // in flight, not after the answer, where they would lengthen the batch. They wait for
            // one turn of the batch's task first, so every record of the batch (they share the
            // task) has sent its request before any computes metrics; on the task itself, not
            // the blocking pool, whose hand-off cost a thread wake-up per record.
            let metrics = async {
                tokio::task::yield_now().await;
                call_metrics(transcript.turns(), rules::utterance_sentiment)
            };
            let (outcome, metrics) = tokio::join!(analysis, metrics);
            let outcome = outcome?;
            let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            if let Some(usage) = &outcome.usage {
                tally.add(usage, latency_ms);
            }
            let analysis = outcome.analysis.clone();
            let (analyzer, usage, truncated) =
                (outcome.analyzer.clone(), outcome.usage, outcome.truncated);
            let record = AnalyticsRecord {
                call_id: call_id.clone(),
                outcome,
                transcript_hash,
                transcript_chars: transcript.chars(),
                truncated,
                metrics,
                latency_ms,
                bucket: (call.agent_id.clone(), call.ended_at),
            };
            write_slot
                .send(record, |rows| async move {
                    deps.store.upsert_analyses(&rows).await
                })
                .await??;
            info!(
                lead_score = analysis.lead_score.get(),
                intent = %analysis.intent,
                sentiment = analysis.sentiment.get(),
                analyzer = %analyzer,
                transcript_chars = transcript.chars(),
                truncated,
                input_tokens = usage.map(|u| u.input_tokens),
                output_tokens = usage.map(|u| u.output_tokens),
                // The provider sent no usage block: tokens and cost are postcall's own count.
                tokens_counted_locally = usage.map(|u| u.counted_locally),
                latency_ms,
                "analysis stored"
            );
            analysis
        }
    };

    if deps.config.hot_lead_policy.is_hot_lead(&analysis) && !hot_published {
        let lead = HotLead {
            call_id: call_id.clone(),
            lead_score: analysis.lead_score,
            intent: analysis.intent,
            sentiment: analysis.sentiment,
            entities: analysis.entities.clone(),
            summary: analysis.summary.clone(),
            next_action: analysis.next_action.clone(),
            from_number: call.from_number,
            agent_id: call.agent_id,
            ended_at: call.ended_at.or(event.ended_at),
        };
        publish_hot_lead(deps, &lead).await?;
    }
    Ok(())
}

/// Publishes a hot lead at most once per call: a lease in the row lets one invocation publish;
/// the mark afterwards stops every later delivery. A crash between publish and mark is the one
/// window left: the lease expires and the next delivery publishes again.
async fn publish_hot_lead(deps: &AnalyzerDeps, lead: &HotLead) -> Result<(), RecordError> {
    let Some(topic) = deps.hot_leads.as_ref() else {
        info!(lead_score = lead.lead_score.get(), intent = %lead.intent, "hot lead (no topic configured, so only logged)");
        return Ok(());
    };
    match deps
        .store
        .claim_hot_publish(&lead.call_id, HOT_PUBLISH_LEASE)
        .await?
    {
        HotClaim::AlreadyPublished => Ok(()),
        HotClaim::HeldElsewhere => Err(RecordError::HotPublishInProgress(lead.call_id.clone())),
        HotClaim::Claimed => match topic.publish(lead).await {
            Ok(message_id) => {
                deps.store.mark_hot_published(&lead.call_id).await?;
                info!(lead_score = lead.lead_score.get(), sns_message_id = %message_id, "hot lead published");
                Ok(())
            }
            Err(publish_error) => {
                if let Err(release_error) = deps.store.release_hot_claim(&lead.call_id).await {
                    warn!(error = %release_error, "releasing the hot-lead claim failed; the lease will expire instead");
                }
                Err(publish_error.into())
            }
        },
    }
}

/// `ApproximateReceiveCount` of a record: 1 on the first delivery.
fn receive_count(record: &SqsMessage) -> u32 {
    record
        .attributes
        .get("ApproximateReceiveCount")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call_id() -> CallId {
        CallId::parse("c-1").unwrap()
    }

    #[test]
    fn missing_calls_are_retried_until_the_delivery_limit() {
        let early = RecordError::CallNotFound {
            call_id: call_id(),
            delivery: 2,
            limit: 3,
        };
        let last = RecordError::CallNotFound {
            call_id: call_id(),
            delivery: 3,
            limit: 3,
        };
        assert_eq!(early.class(), ErrorClass::Transient);
        assert_eq!(last.class(), ErrorClass::Permanent);
        let no_turns = RecordError::NoTurns {
            call_id: call_id(),
            delivery: 5,
            limit: 3,
        };
        assert_eq!(no_turns.class(), ErrorClass::Permanent);
    }

    #[test]
    fn malformed_bodies_are_permanent() {
        let e = RecordError::from(CallCompleted::parse("{").unwrap_err());
        assert_eq!(
            (e.class(), e.code()),
            (ErrorClass::Permanent, "MalformedBody")
        );
    }

    #[test]
    fn receive_count_defaults_to_the_first_delivery() {
        let mut record = SqsMessage::default();
        assert_eq!(receive_count(&record), 1);
        record
            .attributes
            .insert("ApproximateReceiveCount".into(), "4".into());
        assert_eq!(receive_count(&record), 4);
    }
}
