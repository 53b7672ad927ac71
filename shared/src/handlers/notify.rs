//! The notifier: SNS hot-lead messages in, one Slack post per call out.

use std::time::Duration;

use aws_lambda_events::sns::{SnsEvent, SnsRecord};
use lambda_runtime::{Diagnostic, LambdaEvent};
use tokio::time::Instant;
use tracing::{error, field, info, info_span, warn, Instrument};

use crate::{
    adapters::{
        postgres::{NotificationClaim, NotificationOutcome, PgStore, StoreError},
        secrets::SecretsStore,
        slack::{SlackError, SlackWebhook},
        sqs::{DeadLetters, ParkReason, QueueError},
    },
    config::NotifierConfig,
    domain::{CallId, HotLead},
    error::{cause_chain, Classified, ErrorClass},
    metrics::MetricsLine,
    slack_message::hot_lead_message,
};

/// How long a claim lasts when the invocation has no deadline (the CLI, tests).
const LEASE_WITHOUT_DEADLINE: Duration = Duration::from_secs(60);
/// Time kept before the deadline for recording the outcome.
const DEADLINE_MARGIN: Duration = Duration::from_millis(1500);

/// Everything the notifier needs, built once per container.
#[derive(Debug)]
pub struct NotifierDeps {
    /// Settings.
    pub config: NotifierConfig,
    /// Postgres (the `"Notification"` claims).
    pub store: PgStore,
    /// The webhook.
    pub slack: SlackWebhook,
    /// Where malformed messages are parked.
    pub dead_letters: Option<DeadLetters>,
}

/// Building the dependencies failed at cold start.
#[derive(Debug, thiserror::Error)]
pub enum NotifierInitError {
    /// Applying migrations failed.
    #[error("apply migrations at cold start")]
    Migrate(#[from] StoreError),
    /// The HTTP client could not be built.
    #[error("build the slack client")]
    Slack(#[from] SlackError),
}

impl NotifierDeps {
    /// Builds every client from one shared AWS config, and migrates when `AUTO_MIGRATE` is on.
    ///
    /// # Errors
    /// [`NotifierInitError`] when migrations fail or the HTTP client cannot be built.
    pub async fn new(
        config: NotifierConfig,
        aws: &aws_config::SdkConfig,
    ) -> Result<Self, NotifierInitError> {
        // Safe to log whole: the webhook URL and passwords are `Secret`s.
        info!(config = ?config, "notifier configured");
        let secrets = SecretsStore::new(aws_sdk_secretsmanager::Client::new(aws));
        let store = PgStore::new(config.database.clone(), Some(secrets.clone()));
        if config.auto_migrate {
            store.migrate().await?;
        }
        let slack = SlackWebhook::new(
            config.webhook.clone(),
            Some(secrets),
            Duration::from_secs(3),
        )?;
        let dead_letters = config
            .dead_letter_queue_url
            .clone()
            .map(|url| DeadLetters::new(aws_sdk_sqs::Client::new(aws), url));
        Ok(Self {
            config,
            store,
            slack,
            dead_letters,
        })
    }
}

/// What one invocation did.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NotifyReport {
    /// Posts Slack accepted.
    pub posted: usize,
    /// Deliveries for calls already posted (or refused) before: nothing posted.
    pub duplicates: usize,
    /// Posts Slack refused permanently (recorded on the row).
    pub refused: usize,
    /// Messages that are not hot leads (parked or logged).
    pub malformed: usize,
}

/// The invocation must be retried (Lambda's async retry, then the on-failure destination).
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// Postgres failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Slack failed transiently.
    #[error(transparent)]
    Slack(#[from] SlackError),
    /// Another invocation is posting this call right now.
    #[error("notification of call {0} is in progress elsewhere")]
    InProgress(CallId),
    /// The message is not a hot lead and there is no dead-letter queue to park it in.
    #[error("{0}; no dead-letter queue configured")]
    Malformed(String),
    /// Parking a malformed message failed.
    #[error(transparent)]
    Park(#[from] QueueError),
}

impl Classified for NotifyError {
    fn class(&self) -> ErrorClass {
        match self {
            NotifyError::Store(e) => e.class(),
            NotifyError::Slack(e) => e.class(),
            NotifyError::InProgress(_) => ErrorClass::Transient,
            NotifyError::Malformed(_) => ErrorClass::Permanent,
            NotifyError::Park(e) => e.class(),
        }
    }

    fn code(&self) -> &'static str {
        match self {
            NotifyError::Store(e) => e.code(),
            NotifyError::Slack(e) => e.code(),
            NotifyError::InProgress(_) => "NotificationInProgress",
            NotifyError::Malformed(_) => "MalformedHotLead",
            NotifyError::Park(e) => e.code(),
        }
    }
}

impl From<NotifyError> for Diagnostic {
    fn from(error: NotifyError) -> Self {
        super::diagnostic(&error)
    }
}

enum RecordOutcome {
    Posted,
    Duplicate,
    Refused,
    Malformed,
}

/// Posts each hot lead of an SNS event to Slack, at most once per call and channel.
///
/// # Errors
/// [`NotifyError`] on a transient failure (database, Slack 429 beyond the time left, 5xx,
/// timeouts, a claim held elsewhere): Lambda's async retry runs the event again, and records
/// already posted are skipped by their claim.
pub async fn notify(
    deps: &NotifierDeps,
    event: LambdaEvent<SnsEvent>,
) -> Result<NotifyReport, NotifyError> {
    let deadline = super::invocation_deadline(&event.context);
    let mut report = NotifyReport::default();
    let mut first_error = None;
    for record in &event.payload.records {
        let span =
            info_span!("record", message_id = %record.sns.message_id, call_id = field::Empty);
        match notify_record(deps, record, deadline)
            .instrument(span.clone())
            .await
        {
            Ok(RecordOutcome::Posted) => report.posted += 1,
            Ok(RecordOutcome::Duplicate) => report.duplicates += 1,
            Ok(RecordOutcome::Refused) => report.refused += 1,
            Ok(RecordOutcome::Malformed) => report.malformed += 1,
            Err(e) => {
                span.in_scope(|| {
                    warn!(error = %e, error.cause_chain = %cause_chain(&e), error_class = e.class().as_str(), error_code = e.code(), "notification failed; the invocation will be retried");
                });
                first_error.get_or_insert(e);
            }
        }
    }
    MetricsLine::new("notifier")
        .count("SlackPosts", report.posted)
        .count("SlackDuplicates", report.duplicates)
        .count("SlackRefused", report.refused)
        .count("RecordsParked", report.malformed)
        .emit();
    match first_error {
        Some(e) => Err(e),
        None => Ok(report),
    }
}

async fn notify_record(
    deps: &NotifierDeps,
    record: &SnsRecord,
    deadline: Option<Instant>,
) -> Result<RecordOutcome, NotifyError> {
    let lead: HotLead = match serde_json::from_str(&record.sns.message) {
        Ok(lead) => lead,
        Err(e) => return park_malformed(deps, record, &e).await,
    };
    let call_id = &lead.call_id;
    tracing::Span::current().record("call_id", call_id.as_str());
    let channel = deps.config.channel.as_str();
    // The claim lasts as long as this invocation can; after a crash it expires and the
    // retry may post (the one duplicate window: a crash between Slack's 200 and the mark).
    let lease = deadline.map_or(LEASE_WITHOUT_DEADLINE, |d| {
        d.saturating_duration_since(Instant::now())
            .max(Duration::from_secs(1))
    });
    match deps
        .store
        .claim_notification(call_id, channel, lease)
        .await?
    {
        NotificationClaim::AlreadySent | NotificationClaim::AlreadyFailed => {
            info!("notification already handled; nothing posted");
            return Ok(RecordOutcome::Duplicate);
        }
        NotificationClaim::InProgress => return Err(NotifyError::InProgress(call_id.clone())),
        NotificationClaim::Claimed { attempt } => info!(attempt, "notification claimed"),
    }
    let message = hot_lead_message(&lead, deps.config.dashboard_url.as_deref());
    match post_with_retries(deps, &message, deadline).await {
        Ok(()) => {
            deps.store
                .finish_notification(call_id, channel, NotificationOutcome::Sent, None)
                .await?;
            info!(
                lead_score = lead.lead_score.get(),
                "hot lead posted to slack"
            );
            Ok(RecordOutcome::Posted)
        }
        Err(e) if e.class() == ErrorClass::Permanent => {
            deps.store
                .finish_notification(
                    call_id,
                    channel,
                    NotificationOutcome::Failed,
                    Some(&e.to_string()),
                )
                .await?;
            error!(error = %e, error_class = "permanent", error_code = e.code(), "slack refused the hot lead; recorded, not retried");
            Ok(RecordOutcome::Refused)
        }
        Err(e) => {
            if let Err(store_error) = deps
                .store
                .finish_notification(
                    call_id,
                    channel,
                    NotificationOutcome::Retry,
                    Some(&e.to_string()),
                )
                .await
            {
                warn!(error = %store_error, "releasing the notification claim failed; its lease will expire instead");
            }
            Err(e.into())
        }
    }
}

/// Posts, honouring Slack's `Retry-After` while the invocation has time for it; any other
/// transient failure is returned at once so that Lambda's retry (minutes later) takes over.
async fn post_with_retries(
    deps: &NotifierDeps,
    message: &serde_json::Value,
    deadline: Option<Instant>,
) -> Result<(), SlackError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let timeout = match deadline {
            None => deps.config.slack_timeout,
            Some(d) => d
                .saturating_duration_since(Instant::now())
                .saturating_sub(DEADLINE_MARGIN)
                .min(deps.config.slack_timeout),
        };
        if timeout < Duration::from_millis(200) {
            return Err(SlackError::Timeout(timeout));
        }
        match deps.slack.post(message, timeout).await {
            Err(SlackError::RateLimited { retry_after })
                if attempt < deps.config.slack_max_attempts =>
            {
                let wait = retry_after.unwrap_or(Duration::from_secs(1));
                let fits = deadline.is_none_or(|d| {
                    Instant::now() + wait + DEADLINE_MARGIN + Duration::from_millis(500) < d
                });
                if !fits {
                    return Err(SlackError::RateLimited { retry_after });
                }
                warn!(
                    wait_ms = wait.as_millis() as u64,
                    attempt, "slack rate limited the post; waiting as asked"
                );
                tokio::time::sleep(wait).await;
            }
            other => return other,
        }
    }
}

/// Parks a message that is not a hot lead. Without a dead-letter queue, or when parking fails,
/// the invocation fails instead: Lambda's retries then hand the event to the function's
/// on-failure destination, so it is never dropped.
async fn park_malformed(
    deps: &NotifierDeps,
    record: &SnsRecord,
    parse_error: &serde_json::Error,
) -> Result<RecordOutcome, NotifyError> {
    // serde's message may quote the payload; keep only where it broke.
    let reason = format!(
        "message is not a hot lead (line {} column {})",
        parse_error.line(),
        parse_error.column()
    );
    let Some(dead_letters) = &deps.dead_letters else {
        return Err(NotifyError::Malformed(reason));
    };
    let park = ParkReason {
        code: "MalformedHotLead",
        message: &reason,
        source_message_id: Some(&record.sns.message_id),
    };
    dead_letters.park(&record.sns.message, park).await?;
    error!(error = %reason, error_class = "permanent", error_code = "MalformedHotLead", "message parked in the dead-letter queue");
    Ok(RecordOutcome::Malformed)
}
