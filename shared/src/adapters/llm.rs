//! An OpenAI-compatible Chat Completions endpoint (OpenAI, Azure OpenAI, vLLM, Ollama, LiteLLM…).

use std::time::Duration;

use tracing::{instrument, warn};

use crate::{
    adapters::secrets::{
        CachedSecret, Fetched, SecretError, SecretsStore, DEFAULT_REFETCH_INTERVAL,
    },
    error::{Classified, ErrorClass},
    secret::Secret,
};

/// How the API key is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiStyle {
    /// `Authorization: Bearer KEY`, `{base}/chat/completions`.
    OpenAi,
    /// `api-key: KEY`, `{base}/chat/completions?api-version=V` with `base` the deployment URL.
    Azure,
}

/// Where the API key comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiKeySource {
    /// No key (a local server).
    None,
    /// A key from the environment.
    Plain(Secret<String>),
    /// A Secrets Manager secret holding the key (plain, or JSON with an `api_key` field).
    SecretArn(String),
}

/// A Chat Completions request failed.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    /// 429: rate limited.
    #[error("llm rate limited (429{})", provider_code.as_deref().map(|c| format!(", {c}")).unwrap_or_default())]
    RateLimited {
        /// When the provider says to retry.
        retry_after: Option<Duration>,
        /// The provider's error code.
        provider_code: Option<String>,
    },
    /// 5xx, 408, 409: the provider's trouble.
    #[error("llm server error ({status})")]
    Server {
        /// HTTP status.
        status: u16,
        /// When the provider says to retry.
        retry_after: Option<Duration>,
    },
    /// 400, 401, 403, 404, 422…: this request will not succeed as it is.
    #[error("llm rejected the request ({status}{})", provider_code.as_deref().map(|c| format!(", {c}")).unwrap_or_default())]
    Rejected {
        /// HTTP status.
        status: u16,
        /// The provider's error code (`invalid_api_key`, `model_not_found`…).
        provider_code: Option<String>,
    },
    /// No answer within the request timeout.
    #[error("llm request timed out after {0:?}")]
    Timeout(Duration),
    /// Connecting or sending failed.
    #[error("llm request could not be sent")]
    Transport(#[source] reqwest::Error),
    /// The API key could not be fetched.
    #[error("fetch the llm api key")]
    Key(#[from] SecretError),
}

impl Classified for LlmError {
    fn class(&self) -> ErrorClass {
        match self {
            LlmError::RateLimited { .. }
            | LlmError::Server { .. }
            | LlmError::Timeout(_)
            | LlmError::Transport(_)
            | LlmError::Key(_) => ErrorClass::Transient,
            LlmError::Rejected { .. } => ErrorClass::Permanent,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            LlmError::RateLimited { .. } => "LlmRateLimited",
            LlmError::Server { .. } => "LlmServerError",
            LlmError::Rejected { .. } => "LlmRejected",
            LlmError::Timeout(_) => "LlmTimeout",
            LlmError::Transport(_) => "LlmTransport",
            LlmError::Key(_) => "LlmApiKey",
        }
    }
}

impl LlmError {
    /// The wait the provider asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            LlmError::RateLimited { retry_after, .. } | LlmError::Server { retry_after, .. } => {
                *retry_after
            }
            LlmError::Rejected { .. }
            | LlmError::Timeout(_)
            | LlmError::Transport(_)
            | LlmError::Key(_) => None,
        }
    }
}

/// The endpoint: one HTTP client per container, its URL and its key.
#[derive(Debug)]
pub struct ChatCompletions {
    http: reqwest::Client,
    url: String,
    style: ApiStyle,
    key: ApiKey,
}

/// The key as the client holds it: none, given, or cached from Secrets Manager.
#[derive(Debug)]
enum ApiKey {
    None,
    Plain(Secret<String>),
    Cached(CachedSecret<Secret<String>>),
}

impl ChatCompletions {
    /// Builds the client (rustls, connect timeout) for `{base_url}/chat/completions`.
    ///
    /// # Errors
    /// [`LlmError::Transport`] when the HTTP client cannot be built.
    pub fn new(
        base_url: &str,
        style: ApiStyle,
        api_version: Option<&str>,
        key_source: ApiKeySource,
        secrets: Option<SecretsStore>,
        connect_timeout: Duration,
    ) -> Result<Self, LlmError> {
        // No redirects: reqwest would carry Azure's api-key header and the transcript to the
        // new host.
        let http = reqwest::Client::builder()
            .connect_timeout(connect_timeout)
            .pool_idle_timeout(Duration::from_secs(50))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| LlmError::Transport(e.without_url()))?;
        let mut url = format!("{}/chat/completions", base_url.trim_end_matches('/'));
        if let Some(version) = api_version {
            url.push_str("?api-version=");
            url.push_str(version);
        }
        let key = match key_source {
            ApiKeySource::None => ApiKey::None,
            ApiKeySource::Plain(key) => ApiKey::Plain(key),
            ApiKeySource::SecretArn(arn) => ApiKey::Cached(CachedSecret::new(
                arn,
                secrets,
                key_from_secret,
                DEFAULT_REFETCH_INTERVAL,
            )),
        };
        Ok(Self {
            http,
            url,
            style,
            key,
        })
    }

    /// Posts one request and returns the 200 body. A 401 with a key from Secrets Manager
    /// fetches the key once more (it may have been rotated) and tries again.
    ///
    /// # Errors
    /// [`LlmError`], classified: 429/5xx/timeouts/transport transient, other 4xx permanent.
    #[instrument(skip_all, fields(request_bytes = tracing::field::Empty))]
    pub async fn complete(
        &self,
        body: &serde_json::Value,
        timeout: Duration,
    ) -> Result<String, LlmError> {
        let payload = body.to_string();
        tracing::Span::current().record("request_bytes", payload.len());
        match &self.key {
            ApiKey::None => self.post(&payload, timeout, None).await,
            ApiKey::Plain(key) => self.post(&payload, timeout, Some(key)).await,
            ApiKey::Cached(cached) => {
                let used = cached.get().await?;
                match self.post(&payload, timeout, Some(&used.value)).await {
                    Err(rejected @ LlmError::Rejected { status: 401, .. }) => {
                        self.retry_with_refetched_key(cached, &used, &payload, timeout, rejected)
                            .await
                    }
                    other => other,
                }
            }
        }
    }

    /// A 401 with a key from Secrets Manager: the key may have been rotated. Tries once more with
    /// a key fetched again (or fetched since by another request); without one, the 401 stands.
    async fn retry_with_refetched_key(
        &self,
        cached: &CachedSecret<Secret<String>>,
        used: &Fetched<Secret<String>>,
        payload: &str,
        timeout: Duration,
        rejected: LlmError,
    ) -> Result<String, LlmError> {
        match cached.after_rejection(used).await? {
            Some(fresh) => {
                warn!(
                    "llm rejected the api key; trying a key fetched again in case it was rotated"
                );
                self.post(payload, timeout, Some(&fresh.value)).await
            }
            None => Err(rejected),
        }
    }

    async fn post(
        &self,
        payload: &str,
        timeout: Duration,
        key: Option<&Secret<String>>,
    ) -> Result<String, LlmError> {
        let mut request = self
            .http
            .post(&self.url)
            .timeout(timeout)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(payload.to_owned());
        if let Some(key) = key {
            request = match self.style {
                ApiStyle::OpenAi => request.bearer_auth(key.expose()),
                ApiStyle::Azure => request.header("api-key", key.expose()),
            };
        }
        let response = request.send().await.map_err(|e| transport(e, timeout))?;
        let status = response.status().as_u16();
        let retry_after = retry_after(response.headers());
        let location = crate::secret::location_for_logs(response.headers());
        let text = response.text().await.map_err(|e| transport(e, timeout))?;
        match status {
            200..=299 => Ok(text),
            300..=399 => Err(LlmError::Rejected {
                status,
                provider_code: Some(format!("redirect to {location}, not followed")),
            }),
            429 => Err(LlmError::RateLimited {
                retry_after,
                provider_code: provider_code(&text),
            }),
            408 | 409 | 500..=599 => Err(LlmError::Server {
                status,
                retry_after,
            }),
            _ => {
                let provider_code = provider_code(&text);
                Err(LlmError::Rejected {
                    status,
                    provider_code,
                })
            }
        }
    }
}

/// A secret holds the key as plain text or as JSON with `api_key` (or `apiKey`, `key`).
fn key_from_secret(raw: &str) -> Result<Secret<String>, String> {
    let key = serde_json::from_str::<serde_json::Value>(raw)
        .ok()
        .and_then(|v| {
            ["api_key", "apiKey", "key"]
                .iter()
                .find_map(|k| v.get(*k)?.as_str().map(str::to_owned))
        })
        .unwrap_or_else(|| raw.trim().to_owned());
    let key = key.trim().to_owned();
    if key.is_empty() {
        return Err("holds no API key (plain text, or JSON with api_key)".into());
    }
    Ok(Secret::new(key))
}

/// reqwest's error Display includes the URL; ours carries no secret, but `without_url` keeps
/// the rule simple: no URL of an external service in an error.
fn transport(error: reqwest::Error, timeout: Duration) -> LlmError {
    if error.is_timeout() {
        LlmError::Timeout(timeout)
    } else {
        LlmError::Transport(error.without_url())
    }
}

/// The provider's `error.code` (or `error.type`), never its message (which may echo input).
fn provider_code(body: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(body).ok()?;
    let error = value.get("error")?;
    error
        .get("code")
        .and_then(serde_json::Value::as_str)
        .or_else(|| error.get("type").and_then(serde_json::Value::as_str))
        .map(|c| c.chars().take(64).collect())
}

/// `Retry-After` (seconds) or, failing that, the longest `x-ratelimit-reset-*` (OpenAI's
/// `1s`, `6m0s`, `250ms`).
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(seconds) = header("retry-after").and_then(|v| v.trim().parse::<f64>().ok()) {
        if seconds.is_finite() && seconds >= 0.0 {
            return Some(Duration::from_secs_f64(seconds.min(3600.0)));
        }
    }
    ["x-ratelimit-reset-requests", "x-ratelimit-reset-tokens"]
        .iter()
        .filter_map(|name| header(name).and_then(parse_reset))
        .max()
}

/// Parses Go-style durations as OpenAI sends them: `1s`, `6m0s`, `1h2m3.5s`, `250ms`.
pub fn parse_reset(text: &str) -> Option<Duration> {
    let mut total = 0.0;
    let mut number = String::new();
    let mut chars = text.trim().chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            number.push(c);
            continue;
        }
        let value: f64 = number.parse().ok()?;
        number.clear();
        let unit = match (c, chars.peek()) {
            ('m', Some('s')) => {
                chars.next();
                0.001
            }
            ('h', _) => 3600.0,
            ('m', _) => 60.0,
            ('s', _) => 1.0,
            _ => return None,
        };
        total += value * unit;
        any = true;
    }
    if !number.is_empty() || !any {
        return None;
    }
    Some(Duration::from_secs_f64(total.min(3600.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_durations_parse_as_openai_writes_them() {
        assert_eq!(parse_reset("1s"), Some(Duration::from_secs(1)));
        assert_eq!(parse_reset("6m0s"), Some(Duration::from_secs(360)));
        assert_eq!(parse_reset("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_reset("2m3.5s"), Some(Duration::from_secs_f64(123.5)));
        assert_eq!(
            parse_reset("2h"),
            Some(Duration::from_secs(3600)),
            "capped at an hour"
        );
        assert_eq!(parse_reset("soon"), None);
        assert_eq!(parse_reset("12"), None);
    }

    #[test]
    fn retry_after_prefers_the_header_then_the_longest_reset() {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("x-ratelimit-reset-requests", "2s".parse().unwrap());
        headers.insert("x-ratelimit-reset-tokens", "500ms".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(2)));
        headers.insert("retry-after", "1".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(1)));
    }

    #[test]
    fn provider_codes_are_read_without_the_message() {
        assert_eq!(
            provider_code(
                r#"{"error":{"message":"Incorrect API key sk-123","code":"invalid_api_key"}}"#
            )
            .as_deref(),
            Some("invalid_api_key")
        );
        assert_eq!(
            provider_code(r#"{"error":{"message":"x","type":"server_error","code":null}}"#)
                .as_deref(),
            Some("server_error")
        );
        assert_eq!(provider_code("<html>"), None);
    }

    #[test]
    fn keys_are_read_from_plain_or_json_secrets() {
        let key = |raw: &str| key_from_secret(raw).map(|k| k.expose().clone());
        assert_eq!(key("sk-abc\n").unwrap(), "sk-abc");
        assert_eq!(key(r#"{"api_key":"sk-json"}"#).unwrap(), "sk-json");
        assert!(key(" \n").is_err());
        assert!(key(r#"{"api_key":""}"#).is_err());
    }

    #[test]
    fn errors_are_classified() {
        assert_eq!(
            LlmError::RateLimited {
                retry_after: None,
                provider_code: None
            }
            .class(),
            ErrorClass::Transient
        );
        assert_eq!(
            LlmError::Server {
                status: 503,
                retry_after: None
            }
            .class(),
            ErrorClass::Transient
        );
        assert_eq!(
            LlmError::Rejected {
                status: 401,
                provider_code: None
            }
            .class(),
            ErrorClass::Permanent
        );
        assert_eq!(
            LlmError::Timeout(Duration::from_secs(1)).class(),
            ErrorClass::Transient
        );
    }
}
