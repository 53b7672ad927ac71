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

/// One message of a [`SendBatch::send_batch`] call.
#[derive(Debug, Clone, PartialEq)]
pub struct OutgoingMessage {
    /// Entry id, unique within the batch.
    pub entry_id: String,
    /// The body.
    pub body: String,
    /// For FIFO queues: the message group and deduplication ids.
    pub fifo: Option<FifoIds>,
}

/// A FIFO message's group and deduplication ids (SQS: at most 128 ASCII characters each).
#[derive(Debug, Clone, PartialEq)]
pub struct FifoIds {
    /// Messages of one group are delivered in order.
    pub group_id: String,
    /// A second message with the same id within 5 minutes is dropped by SQS.
    pub deduplication_id: String,
}

/// One entry SQS did not accept.
#[derive(Debug, Clone, PartialEq)]
pub struct EntryFailure {
    /// The entry id.
    pub entry_id: String,
    /// SQS's code, e.g. `InternalError` or `InvalidParameterValue`.
    pub code: String,
    /// True when the request itself is at fault: sending it again will not help.
    pub sender_fault: bool,
}

/// Sends up to 10 messages at once. [`SqsQueue`] is the real one; the backfill tests wrap it to
/// fail chosen entries, which the emulator cannot do.
pub trait SendBatch: Sync {
    /// Sends the entries; `Ok` lists the entries that failed, `Err` means the call failed.
    fn send_batch(
        &self,
        entries: &[OutgoingMessage],
    ) -> impl std::future::Future<Output = Result<Vec<EntryFailure>, QueueError>> + Send;

    /// True for a FIFO queue (messages need a group and deduplication id).
    fn is_fifo(&self) -> bool;
}

/// An SQS queue to send to.
#[derive(Debug, Clone)]
pub struct SqsQueue {
    client: aws_sdk_sqs::Client,
    queue_url: String,
}

impl SqsQueue {
    /// Wraps a client built once and the queue's URL.
    pub fn new(client: aws_sdk_sqs::Client, queue_url: String) -> Self {
        Self { client, queue_url }
    }

    /// The queue's URL.
    pub fn queue_url(&self) -> &str {
        &self.queue_url
    }
}

impl SendBatch for SqsQueue {
    async fn send_batch(
        &self,
        entries: &[OutgoingMessage],
    ) -> Result<Vec<EntryFailure>, QueueError> {
        let mut request = self.client.send_message_batch().queue_url(&self.queue_url);
        for entry in entries {
            let mut builder = aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder()
                .id(&entry.entry_id)
                .message_body(&entry.body);
            if let Some(fifo) = &entry.fifo {
                builder = builder
                    .message_group_id(&fifo.group_id)
                    .message_deduplication_id(&fifo.deduplication_id);
            }
            request = request.entries(
                builder
                    .build()
                    .map_err(|_| QueueError::Attribute("SendMessageBatchRequestEntry"))?,
            );
        }
        let output = request.send().await.map_err(|e| QueueError::Send {
            queue_url: self.queue_url.clone(),
            source: Box::new(e.into()),
        })?;
        Ok(output
            .failed()
            .iter()
            .map(|f| EntryFailure {
                entry_id: f.id().to_owned(),
                code: f.code().to_owned(),
                sender_fault: f.sender_fault(),
            })
            .collect())
    }

    fn is_fifo(&self) -> bool {
        self.queue_url.ends_with(".fifo")
    }
}

/// A FIFO group and deduplication id from a business key: SQS allows only 128 ASCII
/// characters there, so the key is hashed.
pub fn fifo_key(business_key: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(business_key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
