//! The only SQS partial-batch runner.
//!
//! A handler supplies `async fn(&SqsMessage) -> Result<(), E>`; this module runs the records
//! with bounded concurrency, one span per record, catches panics per record, parks permanent
//! failures in the dead-letter queue and builds the `SqsBatchResponse`.
//! See <https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html>.

use std::panic::AssertUnwindSafe;

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsMessage};
use futures::{future::BoxFuture, FutureExt, StreamExt};
use tracing::{error, field, info_span, warn, Instrument};

use crate::{
    adapters::sqs::{DeadLetters, ParkReason},
    error::{cause_chain, Classified, ErrorClass},
    metrics::MetricsLine,
};

/// How one record ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordOutcome {
    /// Done; SQS deletes it.
    Succeeded,
    /// Will be redelivered: reported in `batchItemFailures`.
    Failed {
        /// Stable error code.
        code: String,
    },
    /// Permanent failure, sent to the dead-letter queue; SQS deletes the original.
    Parked {
        /// Stable error code.
        code: String,
    },
    /// A FIFO record after a failed one: not attempted, reported as failed to keep the order.
    NotAttempted,
}

/// The whole batch failed; Lambda retries every record after the visibility timeout.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    /// Every record failed with a transient error (a database outage, say). Returning an error
    /// instead of a full failure list makes the invocation count as failed, so the SQS poller
    /// backs off instead of hammering a dependency that is down.
    #[error("every record of the batch failed ({count}); first error code {first_code}")]
    EveryRecordFailed {
        /// Records in the batch.
        count: usize,
        /// Code of the first failure.
        first_code: String,
    },
    /// A failed record has no message id, so it cannot be reported alone; an empty
    /// `itemIdentifier` would make Lambda fail the whole batch anyway.
    #[error("a failed record has no messageId; failing the whole batch so that nothing is lost")]
    MissingMessageId,
}

impl Classified for BatchError {
    fn class(&self) -> ErrorClass {
        match self {
            BatchError::EveryRecordFailed { .. } | BatchError::MissingMessageId => {
                ErrorClass::Transient
            }
        }
    }

    fn code(&self) -> &'static str {
        match self {
            BatchError::EveryRecordFailed { .. } => "EveryRecordFailed",
            BatchError::MissingMessageId => "MissingMessageId",
        }
    }
}

/// How to run a batch.
#[derive(Debug, Clone, Copy)]
pub struct BatchOptions<'a> {
    /// Records handled at once (standard queues; FIFO queues run one at a time).
    pub concurrency: usize,
    /// Where permanent failures are parked; `None` reports them as failures instead, so the
    /// queue's redrive policy moves them after `maxReceiveCount`.
    pub dead_letters: Option<&'a DeadLetters>,
    /// The function's name, the metrics dimension.
    pub function: &'static str,
}

/// Runs `handle` on every record and builds the partial-batch response.
///
/// On a standard queue `handle` is called for the first `concurrency` records before any of
/// their futures is polled (and for each later record as a slot frees), so the synchronous part
/// of `handle` can enter every record in flight into something they share before one of them
/// can act on it: the analyzer's [`crate::round_trip_group`]s rely on it.
///
/// # Errors
/// [`BatchError`] when the whole batch must be retried.
pub async fn run_sqs_batch<'r, E>(
    records: &'r [SqsMessage],
    options: BatchOptions<'_>,
    handle: impl Fn(&'r SqsMessage) -> BoxFuture<'r, Result<(), E>>,
) -> Result<SqsBatchResponse, BatchError>
where
    E: Classified,
{
    let is_fifo = records
        .first()
        .and_then(|r| r.event_source_arn.as_deref())
        .is_some_and(|arn| arn.ends_with(".fifo"));

    let outcomes: Vec<RecordOutcome> = if is_fifo {
        // FIFO order must hold: after the first failure, every later record is reported
        // failed without being attempted, so SQS redelivers them in order.
        let mut outcomes = Vec::with_capacity(records.len());
        let mut blocked = false;
        for record in records {
            if blocked {
                outcomes.push(RecordOutcome::NotAttempted);
                continue;
            }
            let outcome = run_record(record, &options, start(record, &handle)).await;
            blocked = matches!(outcome, RecordOutcome::Failed { .. });
            outcomes.push(outcome);
        }
        outcomes
    } else {
        let mut indexed: Vec<(usize, RecordOutcome)> =
            futures::stream::iter(records.iter().enumerate())
                // `buffer_unordered` takes records from this stream until `concurrency` are in
                // flight before it polls any of them, so `start` runs for all of them first.
                .map(|(index, record)| {
                    run_record(record, &options, start(record, &handle))
                        .map(move |outcome| (index, outcome))
                })
                .buffer_unordered(options.concurrency.max(1))
                .collect()
                .await;
        indexed.sort_by_key(|(index, _)| *index);
        indexed.into_iter().map(|(_, outcome)| outcome).collect()
    };

    let failed = outcomes
        .iter()
        .filter(|o| {
            matches!(
                o,
                RecordOutcome::Failed { .. } | RecordOutcome::NotAttempted
            )
        })
        .count();
    let parked = outcomes
        .iter()
        .filter(|o| matches!(o, RecordOutcome::Parked { .. }))
        .count();
    let succeeded = outcomes
        .iter()
        .filter(|o| matches!(o, RecordOutcome::Succeeded))
        .count();
    MetricsLine::new(options.function)
        .count("RecordsProcessed", succeeded)
        .count("RecordsFailed", failed)
        .count("RecordsParked", parked)
        .emit();
    tracing::info!(
        records = records.len(),
        succeeded,
        failed,
        parked,
        "batch done"
    );

    build_response(records, &outcomes)
}

/// Turns per-record outcomes into the response Lambda expects.
///
/// # Errors
/// [`BatchError`] when every record failed or a failed record has no message id.
pub fn build_response(
    records: &[SqsMessage],
    outcomes: &[RecordOutcome],
) -> Result<SqsBatchResponse, BatchError> {
    let mut failures = Vec::new();
    for (record, outcome) in records.iter().zip(outcomes) {
        if matches!(
            outcome,
            RecordOutcome::Failed { .. } | RecordOutcome::NotAttempted
        ) {
            let id = record
                .message_id
                .as_deref()
                .filter(|id| !id.is_empty())
                .ok_or(BatchError::MissingMessageId)?;
            failures.push(id.to_owned());
        }
    }
    if !records.is_empty() && failures.len() == records.len() {
        let first_code = outcomes
            .iter()
            .find_map(|o| match o {
                RecordOutcome::Failed { code } => Some(code.clone()),
                _ => None,
            })
            .unwrap_or_default();
        return Err(BatchError::EveryRecordFailed {
            count: records.len(),
            first_code,
        });
    }
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = failures
        .into_iter()
        .map(|id| {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            failure
        })
        .collect();
    Ok(response)
}

/// A record's handler future, or the panic its handler raised while making it.
type Started<'r, E> = std::thread::Result<BoxFuture<'r, Result<(), E>>>;

/// Calls `handle` for a record as it enters the in-flight set: what the handler does before its
/// future is first polled (joining a [`crate::round_trip_group`], say) is done for every record
/// in flight before any of them runs. A panic there is the record's own, as one while it runs is.
fn start<'r, E>(
    record: &'r SqsMessage,
    handle: &impl Fn(&'r SqsMessage) -> BoxFuture<'r, Result<(), E>>,
) -> Started<'r, E> {
    std::panic::catch_unwind(AssertUnwindSafe(|| handle(record)))
}

async fn run_record<'r, E: Classified>(
    record: &'r SqsMessage,
    options: &BatchOptions<'_>,
    started: Started<'r, E>,
) -> RecordOutcome {
    let message_id = record.message_id.as_deref().unwrap_or("");
    let span = info_span!("record", message_id = %message_id, call_id = field::Empty);
    async {
        let handled = match started {
            Ok(future) => AssertUnwindSafe(future).catch_unwind().await,
            Err(panic) => Err(panic),
        };
        match handled {
            Ok(Ok(())) => RecordOutcome::Succeeded,
            Ok(Err(e)) => settle_failure(record, &e, options).await,
            Err(panic) => {
                let message = panic_message(panic.as_ref());
                error!(panic = %message, error_class = "transient", "record handler panicked; the record will be retried");
                RecordOutcome::Failed { code: "Panic".into() }
            }
        }
    }
    .instrument(span)
    .await
}

async fn settle_failure<E: Classified>(
    record: &SqsMessage,
    e: &E,
    options: &BatchOptions<'_>,
) -> RecordOutcome {
    let code = e.code();
    let chain = cause_chain(e);
    match (e.class(), options.dead_letters) {
        (ErrorClass::Transient, _) => {
            warn!(error = %e, error.cause_chain = %chain, error_class = "transient", error_code = code, "record failed; it will be retried");
            RecordOutcome::Failed { code: code.into() }
        }
        (ErrorClass::Permanent, None) => {
            error!(error = %e, error.cause_chain = %chain, error_class = "permanent", error_code = code,
                "record failed permanently; no dead-letter queue configured, so it is reported failed and the queue's redrive policy will move it");
            RecordOutcome::Failed { code: code.into() }
        }
        (ErrorClass::Permanent, Some(dead_letters)) => {
            let body = record.body.as_deref().unwrap_or("");
            let reason = ParkReason {
                code,
                message: &chain,
                source_message_id: record.message_id.as_deref(),
            };
            match dead_letters.park(body, reason).await {
                Ok(()) => {
                    error!(error = %e, error.cause_chain = %chain, error_class = "permanent", error_code = code,
                        dead_letter_queue = dead_letters.queue_url(), "record parked in the dead-letter queue");
                    RecordOutcome::Parked { code: code.into() }
                }
                Err(park_error) => {
                    error!(error = %e, error_code = code, park_error = %cause_chain(&park_error),
                        "parking the record failed; it will be retried instead");
                    RecordOutcome::Failed { code: code.into() }
                }
            }
        }
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("test error")]
    struct TestError(ErrorClass);

    impl Classified for TestError {
        fn class(&self) -> ErrorClass {
            self.0
        }
        fn code(&self) -> &'static str {
            "Test"
        }
    }

    fn record(id: Option<&str>, body: &str, arn: &str) -> SqsMessage {
        let mut m = SqsMessage::default();
        m.message_id = id.map(str::to_owned);
        m.body = Some(body.to_owned());
        m.event_source_arn = Some(arn.to_owned());
        m
    }

    const STANDARD: &str = "arn:aws:sqs:us-east-1:123456789012:postcall-calls";
    const FIFO: &str = "arn:aws:sqs:us-east-1:123456789012:postcall-calls.fifo";

    fn options() -> BatchOptions<'static> {
        BatchOptions {
            concurrency: 4,
            dead_letters: None,
            function: "test",
        }
    }

    /// Bodies say what the fake handler does: "ok", "transient", "permanent" or "panic".
    fn fake_handler(record: &SqsMessage) -> BoxFuture<'_, Result<(), TestError>> {
        async move {
            match record.body.as_deref() {
                Some("transient") => Err(TestError(ErrorClass::Transient)),
                Some("permanent") => Err(TestError(ErrorClass::Permanent)),
                Some("panic") => panic!("boom"),
                _ => Ok(()),
            }
        }
        .boxed()
    }

    fn failure_ids(response: &SqsBatchResponse) -> Vec<&str> {
        response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect()
    }

    #[tokio::test]
    async fn only_failed_records_are_reported_and_panics_are_contained() {
        let records = vec![
            record(Some("a"), "ok", STANDARD),
            record(Some("b"), "transient", STANDARD),
            record(Some("c"), "panic", STANDARD),
            record(Some("d"), "permanent", STANDARD),
            record(Some("e"), "ok", STANDARD),
        ];
        let response = run_sqs_batch(&records, options(), fake_handler)
            .await
            .unwrap();
        // Without a dead-letter queue a permanent failure is left to the redrive policy.
        assert_eq!(failure_ids(&response), vec!["b", "c", "d"]);
    }

    #[tokio::test]
    async fn fifo_batches_stop_at_the_first_failure_and_report_every_later_record() {
        let records = vec![
            record(Some("a"), "ok", FIFO),
            record(Some("b"), "transient", FIFO),
            record(Some("c"), "ok", FIFO),
            record(Some("d"), "ok", FIFO),
        ];
        let response = run_sqs_batch(&records, options(), fake_handler)
            .await
            .unwrap();
        assert_eq!(failure_ids(&response), vec!["b", "c", "d"]);
    }

    #[tokio::test]
    async fn fifo_batches_never_run_records_after_a_failure() {
        let ran = std::sync::Mutex::new(Vec::new());
        let records = vec![
            record(Some("a"), "transient", FIFO),
            record(Some("b"), "ok", FIFO),
        ];
        let result = run_sqs_batch(&records, options(), |r: &SqsMessage| {
            ran.lock().unwrap().push(r.message_id.clone().unwrap());
            fake_handler(r)
        })
        .await;
        assert!(matches!(
            result,
            Err(BatchError::EveryRecordFailed { count: 2, .. })
        ));
        assert_eq!(*ran.lock().unwrap(), vec!["a".to_string()]);
    }

    #[tokio::test]
    async fn every_record_in_flight_is_handed_to_the_handler_before_any_runs() {
        // What the analyzer's round-trip groups rely on: a record that joins one when its
        // future is made must find every other record in flight already in it when it runs.
        let records: Vec<_> = (0..6)
            .map(|i| record(Some(&i.to_string()), "ok", STANDARD))
            .collect();
        let started = std::sync::atomic::AtomicUsize::new(0);
        let seen_at_first_poll = std::sync::Mutex::new(Vec::new());
        let options = options(); // 4 at a time
        let response = run_sqs_batch(&records, options, |_r: &SqsMessage| {
            started.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let (started, seen) = (&started, &seen_at_first_poll);
            async move {
                seen.lock()
                    .unwrap()
                    .push(started.load(std::sync::atomic::Ordering::SeqCst));
                tokio::task::yield_now().await;
                Ok::<(), TestError>(())
            }
            .boxed()
        })
        .await
        .unwrap();
        assert!(response.batch_item_failures.is_empty());
        let seen = seen_at_first_poll.into_inner().unwrap();
        // The first four were all handed over before the first of them ran; the last two as
        // slots freed.
        assert_eq!(seen.len(), 6);
        assert!(seen[..4].iter().all(|&n| n >= 4), "{seen:?}");
    }

    #[tokio::test]
    async fn a_panic_while_the_handler_makes_its_future_is_the_records_own() {
        let records = vec![
            record(Some("a"), "ok", STANDARD),
            record(Some("b"), "panic", STANDARD),
        ];
        let response = run_sqs_batch(&records, options(), |r: &SqsMessage| {
            if r.body.as_deref() == Some("panic") {
                panic!("boom before the future");
            }
            fake_handler(r)
        })
        .await
        .unwrap();
        assert_eq!(failure_ids(&response), vec!["b"]);
    }

    #[tokio::test]
    async fn a_batch_where_every_record_failed_is_an_error() {
        let records = vec![
            record(Some("a"), "transient", STANDARD),
            record(Some("b"), "transient", STANDARD),
        ];
        let err = run_sqs_batch(&records, options(), fake_handler)
            .await
            .unwrap_err();
        assert!(
            matches!(err, BatchError::EveryRecordFailed { count: 2, ref first_code } if first_code == "Test")
        );
    }

    #[tokio::test]
    async fn a_failed_record_without_a_message_id_fails_the_whole_batch() {
        let records = vec![
            record(Some("a"), "ok", STANDARD),
            record(None, "transient", STANDARD),
        ];
        let err = run_sqs_batch(&records, options(), fake_handler)
            .await
            .unwrap_err();
        assert!(matches!(err, BatchError::MissingMessageId));
    }

    #[tokio::test]
    async fn an_empty_batch_succeeds_with_no_failures() {
        let response = run_sqs_batch(&[], options(), fake_handler).await.unwrap();
        assert!(response.batch_item_failures.is_empty());
    }

    #[test]
    fn build_response_never_emits_an_empty_identifier() {
        let records = vec![
            record(Some(""), "x", STANDARD),
            record(Some("b"), "x", STANDARD),
        ];
        let outcomes = vec![
            RecordOutcome::Failed { code: "X".into() },
            RecordOutcome::Succeeded,
        ];
        assert!(matches!(
            build_response(&records, &outcomes),
            Err(BatchError::MissingMessageId)
        ));
    }
}
