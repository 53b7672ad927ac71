//! Secrets Manager: credentials by ARN, fetched on first use.

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
}

impl Classified for SecretError {
    fn class(&self) -> ErrorClass {
        // AccessDenied and not-found are fixed by a deploy, after which the retry succeeds.
        match self {
            SecretError::Fetch { .. } | SecretError::NotAString { .. } => ErrorClass::Transient,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            SecretError::Fetch { .. } => "SecretFetch",
            SecretError::NotAString { .. } => "SecretFormat",
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
