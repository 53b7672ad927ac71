//! Secrets Manager: credentials by ARN, fetched on first use, and fetched again when the
//! service they are for rejects them.

use std::time::Duration;

use tokio::{sync::Mutex, time::Instant};

use crate::{
    error::{Classified, ErrorClass},
    secret::Secret,
};

/// A Secrets Manager client.
#[derive(Debug, Clone)]
pub struct SecretsStore {
    client: aws_sdk_secretsmanager::Client,
}

/// Fetching a secret failed.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The service call failed (network, throttling, AccessDenied, not found).
    #[error("get secret value {arn}")]
    Fetch {
        /// The secret's ARN (not a secret itself).
        arn: String,
        /// The SDK's error.
        #[source]
        source: Box<aws_sdk_secretsmanager::Error>,
    },
    /// The secret holds binary data or nothing.
    #[error("secret {arn} has no string value")]
    NotAString {
        /// The secret's ARN.
        arn: String,
    },
    /// The secret's value is not what its user needs. `reason` never quotes the value.
    #[error("secret {arn} is not usable: {reason}")]
    Unusable {
        /// The secret's ARN.
        arn: String,
        /// What is wrong, in words that carry none of the secret.
        reason: String,
    },
    /// A secret ARN is configured but no Secrets Manager client was given (a wiring bug).
    #[error("secret {arn} is configured but there is no Secrets Manager client to read it")]
    NoClient {
        /// The secret's ARN.
        arn: String,
    },
}

impl Classified for SecretError {
    fn class(&self) -> ErrorClass {
        // AccessDenied and not-found are fixed by a deploy, after which the retry succeeds.
        match self {
            SecretError::Fetch { .. }
            | SecretError::NotAString { .. }
            | SecretError::Unusable { .. }
            | SecretError::NoClient { .. } => ErrorClass::Transient,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            SecretError::Fetch { .. } | SecretError::NoClient { .. } => "SecretFetch",
            SecretError::NotAString { .. } | SecretError::Unusable { .. } => "SecretFormat",
        }
    }
}

impl SecretsStore {
    /// Wraps a client built once in `main`.
    pub fn new(client: aws_sdk_secretsmanager::Client) -> Self {
        Self { client }
    }

    /// Fetches the current string value of a secret.
    ///
    /// # Errors
    /// [`SecretError`] when the call fails or the secret is not a string.
    #[tracing::instrument(skip_all, fields(secret_arn = %arn))]
    pub async fn fetch_string(&self, arn: &str) -> Result<Secret<String>, SecretError> {
        let output = self
            .client
            .get_secret_value()
            .secret_id(arn)
            .send()
            .await
            .map_err(|e| SecretError::Fetch {
                arn: arn.to_owned(),
                source: Box::new(e.into()),
            })?;
        output
            .secret_string()
            .map(|s| Secret::new(s.to_owned()))
            .ok_or_else(|| SecretError::NotAString {
                arn: arn.to_owned(),
            })
    }
}

/// How often a rejected credential may be fetched again by default: a rotation is picked up at
/// the first rejection, and a revoked or wrong credential costs one Secrets Manager call per
/// container per interval, not one per request.
pub const DEFAULT_REFETCH_INTERVAL: Duration = Duration::from_secs(30);

/// A credential from Secrets Manager, parsed once and kept for the container's life, and fetched
/// again when the service it is for rejects it (it may have been rotated): at most once per
/// `refetch_interval`, so a revoked credential cannot turn every request into a Secrets Manager
/// call. The first fetch does not count against the interval, so a rotation just after a cold
/// start is picked up at once. One type for the LLM key, the Slack webhook URL, the database
/// credentials and the dashboard token.
pub struct CachedSecret<T> {
    arn: String,
    store: Option<SecretsStore>,
    parse: fn(&str) -> Result<T, String>,
    refetch_interval: Duration,
    state: Mutex<CacheState<T>>,
}

struct CacheState<T> {
    current: Option<Fetched<T>>,
    last_refetch: Option<Instant>,
    generation: u64,
}

/// A value of a [`CachedSecret`], with which fetch it came from (to tell a stale rejection from
/// a fresh one).
#[derive(Clone)]
pub struct Fetched<T> {
    /// The parsed value.
    pub value: T,
    generation: u64,
}

/// Never prints the value (it is a credential).
impl<T> std::fmt::Debug for Fetched<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetched")
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

impl<T> std::fmt::Debug for CachedSecret<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedSecret")
            .field("arn", &self.arn)
            .field("refetch_interval", &self.refetch_interval)
            .finish_non_exhaustive()
    }
}

impl<T: Clone> CachedSecret<T> {
    /// A secret read with `parse` (whose error says what is wrong without quoting the value).
    pub fn new(
        arn: impl Into<String>,
        store: Option<SecretsStore>,
        parse: fn(&str) -> Result<T, String>,
        refetch_interval: Duration,
    ) -> Self {
        Self {
            arn: arn.into(),
            store,
            parse,
            refetch_interval,
            state: Mutex::new(CacheState {
                current: None,
                last_refetch: None,
                generation: 0,
            }),
        }
    }

    /// The secret's ARN.
    pub fn arn(&self) -> &str {
        &self.arn
    }

    /// The cached value, fetched on first use.
    ///
    /// # Errors
    /// [`SecretError`] when it cannot be fetched or parsed (nothing is cached then).
    pub async fn get(&self) -> Result<Fetched<T>, SecretError> {
        let mut state = self.state.lock().await;
        if let Some(current) = &state.current {
            return Ok(current.clone());
        }
        self.fetch_into(&mut state).await
    }

    /// Call after the service rejected `rejected`. Returns the value to try once more: one
    /// another task already fetched since, or a fresh fetch; `None` when the last refetch was
    /// less than the interval ago (report the rejection as it was).
    ///
    /// # Errors
    /// [`SecretError`] when the refetch fails; the cached value stays as it was.
    pub async fn after_rejection(
        &self,
        rejected: &Fetched<T>,
    ) -> Result<Option<Fetched<T>>, SecretError> {
        let mut state = self.state.lock().await;
        if let Some(current) = &state.current {
            if current.generation != rejected.generation {
                return Ok(Some(current.clone()));
            }
        }
        if state
            .last_refetch
            .is_some_and(|at| at.elapsed() < self.refetch_interval)
        {
            return Ok(None);
        }
        state.last_refetch = Some(Instant::now());
        self.fetch_into(&mut state).await.map(Some)
    }

    async fn fetch_into(&self, state: &mut CacheState<T>) -> Result<Fetched<T>, SecretError> {
        let store = self.store.as_ref().ok_or_else(|| SecretError::NoClient {
            arn: self.arn.clone(),
        })?;
        let raw = store.fetch_string(&self.arn).await?;
        let value = (self.parse)(raw.expose()).map_err(|reason| SecretError::Unusable {
            arn: self.arn.clone(),
            reason,
        })?;
        state.generation += 1;
        let fetched = Fetched {
            value,
            generation: state.generation,
        };
        state.current = Some(fetched.clone());
        Ok(fetched)
    }
}
