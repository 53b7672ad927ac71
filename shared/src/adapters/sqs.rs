//! SQS: the dead-letter queue where permanent failures are parked with their reason.

use aws_sdk_sqs::types::MessageAttributeValue;

use crate::error::{Classified, ErrorClass};

/// Longest `errorMessage` attribute we send; SQS allows 256 KiB per message in all.
const ERROR_MESSAGE_MAX_CHARS: usize = 1_000;

/// A queue that receives parked messages, with `errorCode` and `errorMessage` attributes.
#[derive(Debug, Clone)]
pub struct DeadLetters {
    client: aws_sdk_sqs::Client,
    queue_url: String,
}

/// Sending to a queue failed.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The SDK call failed.
    #[error("send message to {queue_url}")]
    Send {
        /// The queue.
        queue_url: String,
        /// The SDK's error.
        #[source]
        source: Box<aws_sdk_sqs::Error>,
    },
    /// A message attribute could not be built.
    #[error("build message attribute {0}")]
    Attribute(&'static str),
}

impl Classified for QueueError {
    fn class(&self) -> ErrorClass {
        match self {
            QueueError::Send { .. } | QueueError::Attribute(_) => ErrorClass::Transient,
        }
    }

    fn code(&self) -> &'static str {
        "Queue"
    }
}

/// Why a message was parked.
#[derive(Debug, Clone, Copy)]
pub struct ParkReason<'a> {
    /// Stable code, e.g. `MalformedBody`.
    pub code: &'a str,
    /// The error with its causes.
    pub message: &'a str,
    /// The SQS message id it came as, for tracing it back.
    pub source_message_id: Option<&'a str>,
}

impl DeadLetters {
    /// Wraps a client built once in `main` and the queue's URL.
    pub fn new(client: aws_sdk_sqs::Client, queue_url: String) -> Self {
        Self { client, queue_url }
    }

    /// The queue's URL.
    pub fn queue_url(&self) -> &str {
        &self.queue_url
    }

    /// Sends `body` unchanged with the reason as message attributes.
    ///
    /// # Errors
    /// [`QueueError`] when SQS does not accept the message.
    #[tracing::instrument(skip_all, fields(error_code = reason.code))]
    pub async fn park(&self, body: &str, reason: ParkReason<'_>) -> Result<(), QueueError> {
        let message: String = reason
            .message
            .chars()
            .take(ERROR_MESSAGE_MAX_CHARS)
            .collect();
        let mut request = self
            .client
            .send_message()
            .queue_url(&self.queue_url)
            // SQS rejects an empty body; keep something that says what arrived.
            .message_body(if body.is_empty() {
                "(empty body)"
            } else {
                body
            })
            .message_attributes("errorCode", string_attribute("errorCode", reason.code)?)
            .message_attributes("errorMessage", string_attribute("errorMessage", &message)?);
        if let Some(id) = reason.source_message_id {
            request = request
                .message_attributes("sourceMessageId", string_attribute("sourceMessageId", id)?);
        }
        if self.queue_url.ends_with(".fifo") {
            request = request
                .message_group_id("parked")
                .message_deduplication_id(dedup_id(body, reason.code));
        }
        request.send().await.map_err(|e| QueueError::Send {
            queue_url: self.queue_url.clone(),
            source: Box::new(e.into()),
        })?;
        Ok(())
    }
}

fn string_attribute(name: &'static str, value: &str) -> Result<MessageAttributeValue, QueueError> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(if value.is_empty() { "-" } else { value })
        .build()
        .map_err(|_| QueueError::Attribute(name))
}

fn dedup_id(body: &str, code: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest([body.as_bytes(), code.as_bytes()].concat());
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}
