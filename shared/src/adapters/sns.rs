//! SNS: the hot-leads topic.

use aws_sdk_sns::types::MessageAttributeValue;

use crate::{
    domain::HotLead,
    error::{Classified, ErrorClass},
};

/// The topic hot leads are published to.
#[derive(Debug, Clone)]
pub struct HotLeadTopic {
    client: aws_sdk_sns::Client,
    topic_arn: String,
}

/// Publishing failed.
#[derive(Debug, thiserror::Error)]
pub enum TopicError {
    /// The SDK call failed.
    #[error("publish hot lead for call {call_id} to {topic_arn}")]
    Publish {
        /// The call.
        call_id: String,
        /// The topic.
        topic_arn: String,
        /// The SDK's error.
        #[source]
        source: Box<aws_sdk_sns::Error>,
    },
    /// The message could not be built.
    #[error("build hot-lead message for call {0}")]
    Build(String),
}

impl Classified for TopicError {
    fn class(&self) -> ErrorClass {
        match self {
            TopicError::Publish { .. } | TopicError::Build(_) => ErrorClass::Transient,
        }
    }

    fn code(&self) -> &'static str {
        "Topic"
    }
}

impl HotLeadTopic {
    /// Wraps a client built once in `main` and the topic's ARN.
    pub fn new(client: aws_sdk_sns::Client, topic_arn: String) -> Self {
        Self { client, topic_arn }
    }

    /// Publishes one hot lead as JSON, with `intent` and `leadScore` message attributes so that
    /// subscriptions can filter without parsing the body.
    ///
    /// # Errors
    /// [`TopicError`] when SNS does not accept the message.
    #[tracing::instrument(skip_all, fields(call_id = %lead.call_id))]
    pub async fn publish(&self, lead: &HotLead) -> Result<String, TopicError> {
        let call_id = lead.call_id.to_string();
        let body = serde_json::to_string(lead).map_err(|_| TopicError::Build(call_id.clone()))?;
        let attribute = |data_type: &str, value: String| {
            MessageAttributeValue::builder()
                .data_type(data_type)
                .string_value(value)
                .build()
                .map_err(|_| TopicError::Build(call_id.clone()))
        };
        let mut request = self
            .client
            .publish()
            .topic_arn(&self.topic_arn)
            .message(body)
            .message_attributes("intent", attribute("String", lead.intent.to_string())?)
            .message_attributes(
                "leadScore",
                attribute("Number", lead.lead_score.to_string())?,
            );
        if self.topic_arn.ends_with(".fifo") {
            request = request
                .message_group_id(&call_id)
                .message_deduplication_id(&call_id);
        }
        let output = request.send().await.map_err(|e| TopicError::Publish {
            call_id: call_id.clone(),
            topic_arn: self.topic_arn.clone(),
            source: Box::new(e.into()),
        })?;
        Ok(output.message_id().unwrap_or_default().to_owned())
    }
}
