//! NATS JetStream: a durable pull consumer on the `call.completed` stream. The connection and
//! the consumer are made on first use and kept for the container's life.

use std::time::Duration;

use async_nats::jetstream::{self, consumer::PullConsumer, AckKind};
use futures::StreamExt;
use tokio::sync::Mutex;
use tracing::info;

use crate::{
    adapters::secrets::{SecretError, SecretsStore},
    error::{Classified, ErrorClass},
    secret::Secret,
};

/// How the bridge authenticates to NATS.
#[derive(Debug, Clone, PartialEq)]
pub enum NatsAuth {
    /// No credentials.
    None,
    /// User and password.
    UserPassword(String, Secret<String>),
    /// A token.
    Token(Secret<String>),
    /// A `.creds` file's content (JWT and NKey seed).
    Creds(Secret<String>),
    /// A Secrets Manager secret holding one of the above: JSON `{"user","password"}` or
    /// `{"token"}` or `{"creds"}`, or a `.creds` file's content as plain text.
    SecretArn(String),
}

/// Where and what to consume. Its `Debug` prints the URL without credentials.
#[derive(Clone, PartialEq)]
pub struct NatsSettings {
    /// `nats://host:4222` (or `tls://…`, which uses rustls).
    pub url: String,
    /// Credentials.
    pub auth: NatsAuth,
    /// The stream.
    pub stream: String,
    /// The subject the voice bridge publishes.
    pub subject: String,
    /// The durable consumer's name.
    pub consumer: String,
    /// Deliveries of one message at most.
    pub max_deliver: i64,
    /// How long a fetched message stays ours before redelivery: longer than one SQS send.
    pub ack_wait: Duration,
    /// Create the stream and the consumer when they do not exist.
    pub ensure_stream: bool,
}

impl std::fmt::Debug for NatsSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsSettings")
            .field("url", &crate::secret::url_for_logs(&self.url))
            .field("auth", &self.auth)
            .field("stream", &self.stream)
            .field("subject", &self.subject)
            .field("consumer", &self.consumer)
            .field("max_deliver", &self.max_deliver)
            .field("ack_wait", &self.ack_wait)
            .field("ensure_stream", &self.ensure_stream)
            .finish()
    }
}

/// A NATS operation failed. All transient: the server comes back, messages stay in the stream.
#[derive(Debug, thiserror::Error)]
pub enum NatsError {
    /// Connecting failed.
    #[error("connect to nats")]
    Connect(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The stream or consumer could not be read or created.
    #[error("open stream {stream} consumer {consumer}")]
    Setup {
        /// The stream.
        stream: String,
        /// The consumer.
        consumer: String,
        /// The client's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Fetching, acknowledging or reading consumer info failed.
    #[error("{0}")]
    Io(
        &'static str,
        #[source] Box<dyn std::error::Error + Send + Sync>,
    ),
    /// The credentials secret could not be read.
    #[error("fetch nats credentials")]
    Secret(#[from] SecretError),
    /// The credentials are not in a known form.
    #[error("nats credentials are not user/password, token or a .creds file")]
    BadCredentials,
}

impl Classified for NatsError {
    fn class(&self) -> ErrorClass {
        match self {
            NatsError::Connect(_)
            | NatsError::Setup { .. }
            | NatsError::Io(..)
            | NatsError::Secret(_)
            | NatsError::BadCredentials => ErrorClass::Transient,
        }
    }

    fn code(&self) -> &'static str {
        "Nats"
    }
}

/// The source: settings and a lazily opened consumer.
#[derive(Debug)]
pub struct NatsSource {
    settings: NatsSettings,
    secrets: Option<SecretsStore>,
    consumer: Mutex<Option<PullConsumer>>,
}

impl NatsSource {
    /// A source that connects on first use.
    pub fn new(settings: NatsSettings, secrets: Option<SecretsStore>) -> Self {
        Self {
            settings,
            secrets,
            consumer: Mutex::new(None),
        }
    }

    /// The settings.
    pub fn settings(&self) -> &NatsSettings {
        &self.settings
    }

    /// Fetches up to `max` messages, waiting at most `expires` for them.
    ///
    /// # Errors
    /// [`NatsError`] when the server cannot be reached.
    pub async fn fetch(
        &self,
        max: usize,
        expires: Duration,
    ) -> Result<Vec<jetstream::Message>, NatsError> {
        let consumer = self.consumer().await?;
        let mut batch = match consumer
            .fetch()
            .max_messages(max)
            .expires(expires)
            .messages()
            .await
        {
            Ok(batch) => batch,
            Err(e) => {
                self.forget().await;
                return Err(NatsError::Io("fetch messages", Box::new(e)));
            }
        };
        let mut messages = Vec::with_capacity(max);
        while let Some(message) = batch.next().await {
            match message {
                Ok(message) => messages.push(message),
                Err(e) if messages.is_empty() => return Err(NatsError::Io("fetch messages", e)),
                // Messages already received stay ours until AckWait; handle those.
                Err(_) => break,
            }
        }
        Ok(messages)
    }

    /// Messages not yet delivered plus those delivered and not yet acknowledged.
    ///
    /// # Errors
    /// [`NatsError`] when the server cannot be reached.
    pub async fn pending(&self) -> Result<u64, NatsError> {
        let mut consumer = self.consumer().await?;
        let info = consumer
            .info()
            .await
            .map_err(|e| NatsError::Io("read consumer info", Box::new(e)))?;
        Ok(info.num_pending + info.num_ack_pending as u64)
    }

    async fn consumer(&self) -> Result<PullConsumer, NatsError> {
        let mut slot = self.consumer.lock().await;
        if let Some(consumer) = slot.as_ref() {
            return Ok(consumer.clone());
        }
        let client = self.connect().await?;
        let js = jetstream::new(client);
        let s = &self.settings;
        let setup = |e: Box<dyn std::error::Error + Send + Sync>| NatsError::Setup {
            stream: s.stream.clone(),
            consumer: s.consumer.clone(),
            source: e,
        };
        let stream = if s.ensure_stream {
            js.get_or_create_stream(jetstream::stream::Config {
                name: s.stream.clone(),
                subjects: vec![s.subject.clone()],
                ..Default::default()
            })
            .await
            .map_err(|e| setup(Box::new(e)))?
        } else {
            js.get_stream(&s.stream)
                .await
                .map_err(|e| setup(Box::new(e)))?
        };
        let config = jetstream::consumer::pull::Config {
            durable_name: Some(s.consumer.clone()),
            ack_policy: jetstream::consumer::AckPolicy::Explicit,
            ack_wait: s.ack_wait,
            max_deliver: s.max_deliver,
            filter_subject: s.subject.clone(),
            ..Default::default()
        };
        let consumer: PullConsumer = if s.ensure_stream {
            stream
                .get_or_create_consumer(&s.consumer, config)
                .await
                .map_err(|e| setup(Box::new(e)))?
        } else {
            stream.get_consumer(&s.consumer).await.map_err(setup)?
        };
        info!(stream = %s.stream, consumer = %s.consumer, "nats consumer ready");
        *slot = Some(consumer.clone());
        Ok(consumer)
    }

    /// Drops the cached consumer so that the next call sets it up again.
    pub async fn forget(&self) {
        *self.consumer.lock().await = None;
    }

    async fn connect(&self) -> Result<async_nats::Client, NatsError> {
        let mut options = async_nats::ConnectOptions::new()
            .name("postcall-bridge")
            .connection_timeout(Duration::from_secs(5));
        let auth = match &self.settings.auth {
            NatsAuth::SecretArn(arn) => {
                let secrets = self.secrets.as_ref().ok_or(NatsError::BadCredentials)?;
                auth_from_secret(secrets.fetch_string(arn).await?.expose())?
            }
            other => other.clone(),
        };
        options = match auth {
            NatsAuth::None | NatsAuth::SecretArn(_) => options,
            NatsAuth::UserPassword(user, password) => {
                options.user_and_password(user, password.expose().clone())
            }
            NatsAuth::Token(token) => options.token(token.expose().clone()),
            NatsAuth::Creds(creds) => options
                .credentials(creds.expose())
                .map_err(|_| NatsError::BadCredentials)?,
        };
        if self.settings.url.starts_with("tls://") {
            options = options.require_tls(true);
        }
        options
            .connect(&self.settings.url)
            .await
            .map_err(|e| NatsError::Connect(Box::new(e)))
    }
}

/// Reads NATS credentials from a secret's text.
///
/// # Errors
/// [`NatsError::BadCredentials`] when the text is none of the known forms.
pub fn auth_from_secret(raw: &str) -> Result<NatsAuth, NatsError> {
    if raw.contains("-----BEGIN NATS USER JWT-----") {
        return Ok(NatsAuth::Creds(Secret::new(raw.to_owned())));
    }
    let value: serde_json::Value =
        serde_json::from_str(raw).map_err(|_| NatsError::BadCredentials)?;
    let field = |k: &str| {
        value
            .get(k)
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
    };
    match (
        field("user"),
        field("password"),
        field("token"),
        field("creds"),
    ) {
        (_, _, _, Some(creds)) => Ok(NatsAuth::Creds(Secret::new(creds))),
        (Some(user), Some(password), _, _) => {
            Ok(NatsAuth::UserPassword(user, Secret::new(password)))
        }
        (_, _, Some(token), _) => Ok(NatsAuth::Token(Secret::new(token))),
        _ => Err(NatsError::BadCredentials),
    }
}

/// Acknowledges a message and waits for the server to confirm it.
///
/// # Errors
/// [`NatsError::Io`] when the acknowledgement is not confirmed (the message is then redelivered
/// after AckWait: a duplicate the analyzer absorbs).
pub async fn ack(message: &jetstream::Message) -> Result<(), NatsError> {
    message
        .double_ack()
        .await
        .map_err(|e| NatsError::Io("ack message", e))
}

/// Asks for redelivery after `delay`.
///
/// # Errors
/// [`NatsError::Io`] when the nak cannot be sent (the message is then redelivered after AckWait).
pub async fn nak(message: &jetstream::Message, delay: Duration) -> Result<(), NatsError> {
    message
        .ack_with(AckKind::Nak(Some(delay)))
        .await
        .map_err(|e| NatsError::Io("nak message", e))
}

/// Stops redelivery of a message that can never be handled.
///
/// # Errors
/// [`NatsError::Io`] when the term cannot be sent.
pub async fn term(message: &jetstream::Message) -> Result<(), NatsError> {
    message
        .ack_with(AckKind::Term)
        .await
        .map_err(|e| NatsError::Io("terminate message", e))
}

/// The message's stream sequence (the FIFO deduplication id), when the server sent its info.
pub fn stream_sequence(message: &jetstream::Message) -> Option<u64> {
    message.info().ok().map(|info| info.stream_sequence)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_secrets_parse_in_every_form() {
        assert!(
            matches!(auth_from_secret(r#"{"user":"u","password":"p"}"#), Ok(NatsAuth::UserPassword(u, _)) if u == "u")
        );
        assert!(matches!(
            auth_from_secret(r#"{"token":"t"}"#),
            Ok(NatsAuth::Token(_))
        ));
        assert!(matches!(
            auth_from_secret("-----BEGIN NATS USER JWT-----\nabc"),
            Ok(NatsAuth::Creds(_))
        ));
        assert!(matches!(
            auth_from_secret("hunter2"),
            Err(NatsError::BadCredentials)
        ));
    }
}
