//! The NATS→SQS bridge: drains the JetStream consumer into the analyzer's queue, acknowledging
//! a NATS message only after SQS accepted it.

use std::time::Duration;

use async_nats::jetstream::Message;
use lambda_runtime::{Diagnostic, LambdaEvent};
use tokio::time::Instant;
use tracing::{error, info, warn};

use crate::{
    adapters::{
        nats::{ack, nak, stream_sequence, term, NatsError, NatsSource},
        secrets::SecretsStore,
        sqs::{
            fifo_key, DeadLetters, FifoIds, OutgoingMessage, ParkReason, QueueError, SendBatch,
            SqsQueue,
        },
    },
    config::BridgeConfig,
    domain::CallCompleted,
    error::{cause_chain, Classified, ErrorClass},
    metrics::MetricsLine,
};

/// Messages fetched at once: one `SendMessageBatch`.
const FETCH_SIZE: usize = 10;
/// Longest wait for a fetch when the stream is quiet.
const FETCH_WAIT: Duration = Duration::from_millis(500);

/// What one drain did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BridgeReport {
    /// Messages SQS accepted (and then acknowledged in NATS).
    pub forwarded: usize,
    /// Messages SQS did not accept: nak'ed, redelivered later.
    pub failed: usize,
    /// Payloads that are not `call.completed`: parked and terminated.
    pub invalid: usize,
    /// Messages left in the consumer when the run stopped.
    pub pending: u64,
}

/// A drain failed before it could do anything useful.
#[derive(Debug, thiserror::Error)]
pub enum BridgeError {
    /// NATS failed.
    #[error(transparent)]
    Nats(#[from] NatsError),
}

impl Classified for BridgeError {
    fn class(&self) -> ErrorClass {
        match self {
            BridgeError::Nats(e) => e.class(),
        }
    }

    fn code(&self) -> &'static str {
        match self {
            BridgeError::Nats(e) => e.code(),
        }
    }
}

impl From<BridgeError> for Diagnostic {
    fn from(error: BridgeError) -> Self {
        super::diagnostic(&error)
    }
}

/// Everything the bridge needs, built once per container.
#[derive(Debug)]
pub struct BridgeDeps {
    /// Settings.
    pub config: BridgeConfig,
    /// The JetStream consumer.
    pub source: NatsSource,
    /// The analyzer's queue.
    pub queue: SqsQueue,
    /// Where invalid payloads go.
    pub dead_letters: Option<DeadLetters>,
}

impl BridgeDeps {
    /// Builds the clients; NATS connects on first use.
    pub fn new(config: BridgeConfig, aws: &aws_config::SdkConfig) -> Self {
        info!(config = ?config, "bridge configured");
        let secrets = SecretsStore::new(aws_sdk_secretsmanager::Client::new(aws));
        let sqs = aws_sdk_sqs::Client::new(aws);
        let source = NatsSource::new(config.nats.clone(), Some(secrets));
        let queue = SqsQueue::new(sqs.clone(), config.queue_url.clone());
        let dead_letters = config
            .dead_letter_queue_url
            .clone()
            .map(|url| DeadLetters::new(sqs, url));
        Self {
            config,
            source,
            queue,
            dead_letters,
        }
    }
}

/// The Lambda handler (a schedule's event; its content is ignored).
///
/// # Errors
/// [`BridgeError`] when NATS cannot be reached: the next scheduled run tries again, and the
/// messages wait in the stream.
pub async fn bridge(
    deps: &BridgeDeps,
    event: LambdaEvent<serde_json::Value>,
) -> Result<BridgeReport, BridgeError> {
    let deadline = super::invocation_deadline(&event.context);
    // Boxed: unboxed, the drain's nested future types overflow rustc's layout query depth in
    // the binary that embeds them in the runtime's service future.
    Box::pin(drain(
        &deps.source,
        &deps.queue,
        deps.dead_letters.as_ref(),
        &deps.config,
        deadline,
    ))
    .await
}

/// Moves messages from NATS to SQS until the stream is empty, SQS fails, or the time budget
/// (the deadline minus `BRIDGE_DEADLINE_MARGIN_MS`) is spent.
///
/// # Errors
/// [`BridgeError`] when NATS cannot be reached.
pub async fn drain<Q: SendBatch>(
    source: &NatsSource,
    queue: &Q,
    dead_letters: Option<&DeadLetters>,
    config: &BridgeConfig,
    deadline: Option<Instant>,
) -> Result<BridgeReport, BridgeError> {
    let mut report = BridgeReport::default();
    loop {
        let wait = match deadline {
            None => FETCH_WAIT,
            Some(d) => {
                let left = d
                    .saturating_duration_since(Instant::now())
                    .saturating_sub(config.deadline_margin);
                if left < Duration::from_millis(100) {
                    break;
                }
                left.min(FETCH_WAIT)
            }
        };
        let messages = source.fetch(FETCH_SIZE, wait).await?;
        if messages.is_empty() {
            break;
        }
        let sent_ok = forward(&messages, queue, dead_letters, config, &mut report).await;
        if !sent_ok {
            // SQS is failing: stop here; the nak'ed messages come back after the delay.
            break;
        }
    }
    report.pending = source.pending().await.unwrap_or_else(|e| {
        warn!(error = %e, "could not read the consumer's pending count");
        0
    });
    MetricsLine::new("bridge")
        .count("BridgeForwarded", report.forwarded)
        .count("BridgeFailed", report.failed)
        .count("BridgeInvalid", report.invalid)
        .count(
            "BridgePending",
            usize::try_from(report.pending).unwrap_or(usize::MAX),
        )
        .emit();
    info!(
        forwarded = report.forwarded,
        failed = report.failed,
        invalid = report.invalid,
        pending = report.pending,
        "bridge run finished"
    );
    Ok(report)
}

/// Sends one fetched batch; returns false when SQS failed (some or all entries).
async fn forward<Q: SendBatch>(
    messages: &[Message],
    queue: &Q,
    dead_letters: Option<&DeadLetters>,
    config: &BridgeConfig,
    report: &mut BridgeReport,
) -> bool {
    let mut valid: Vec<(&Message, OutgoingMessage)> = Vec::with_capacity(messages.len());
    for (index, message) in messages.iter().enumerate() {
        let body = String::from_utf8_lossy(&message.payload);
        match CallCompleted::parse(&body) {
            Ok(event) => {
                // The group keeps a call's events in order; the stream sequence identifies this
                // event, so a redelivered NATS message is deduplicated by SQS.
                let fifo = queue.is_fifo().then(|| FifoIds {
                    group_id: fifo_key(event.call_id.as_str()),
                    deduplication_id: stream_sequence(message)
                        .map_or_else(|| fifo_key(&body), |seq| seq.to_string()),
                });
                valid.push((
                    message,
                    OutgoingMessage {
                        entry_id: index.to_string(),
                        body: event.to_body(),
                        fifo,
                    },
                ));
            }
            Err(e) => {
                report.invalid += 1;
                park_invalid(message, &body, &e.to_string(), dead_letters, config).await;
            }
        }
    }
    if valid.is_empty() {
        return true;
    }
    let entries: Vec<OutgoingMessage> = valid.iter().map(|(_, m)| m.clone()).collect();
    let failed_ids: Vec<String> = match queue.send_batch(&entries).await {
        Ok(failures) => failures.into_iter().map(|f| f.entry_id).collect(),
        Err(e) => {
            warn!(error = %e, error.cause_chain = %cause_chain(&e), "SendMessageBatch failed; nak'ing the batch");
            entries.iter().map(|m| m.entry_id.clone()).collect()
        }
    };
    for (message, entry) in &valid {
        if failed_ids.contains(&entry.entry_id) {
            report.failed += 1;
            if let Err(e) = nak(message, config.nak_delay).await {
                warn!(error = %e, "nak failed; the message comes back after AckWait");
            }
        } else {
            // Acked only now that SQS holds it.
            match ack(message).await {
                Ok(()) => report.forwarded += 1,
                Err(e) => {
                    // SQS has it; NATS will redeliver it: a duplicate the analyzer absorbs.
                    warn!(error = %e, "ack failed after the send; the message will be forwarded again");
                    report.forwarded += 1;
                }
            }
        }
    }
    failed_ids.is_empty()
}

async fn park_invalid(
    message: &Message,
    body: &str,
    reason: &str,
    dead_letters: Option<&DeadLetters>,
    config: &BridgeConfig,
) {
    let sequence = stream_sequence(message).map(|s| s.to_string());
    let parked: Result<(), QueueError> = match dead_letters {
        Some(dlq) => {
            dlq.park(
                body,
                ParkReason {
                    code: "MalformedBody",
                    message: reason,
                    source_message_id: sequence.as_deref(),
                },
            )
            .await
        }
        None => Ok(()),
    };
    match parked {
        Ok(()) => {
            error!(error = %reason, error_code = "MalformedBody", stream_sequence = ?sequence, parked = dead_letters.is_some(), "invalid payload; terminated in nats");
            if let Err(e) = term(message).await {
                warn!(error = %e, "term failed; the message comes back and is parked again");
            }
        }
        Err(e) => {
            // Not parked: let it come back rather than lose it.
            warn!(error = %e, "parking an invalid payload failed; nak'ing it");
            if let Err(e) = nak(message, config.nak_delay).await {
                warn!(error = %e, "nak failed; the message comes back after AckWait");
            }
        }
    }
}
