//! Slack: an incoming webhook. Its URL is the credential, so it never appears in a log or an
//! error (reqwest's errors carry the URL; every one here is stripped with `without_url`).

use std::time::Duration;

use tracing::warn;

use crate::{
    adapters::secrets::{CachedSecret, SecretError, SecretsStore, DEFAULT_REFETCH_INTERVAL},
    error::{Classified, ErrorClass},
    secret::Secret,
};

/// Where the webhook URL comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum WebhookSource {
    /// The URL itself (local use).
    Url(Secret<String>),
    /// A Secrets Manager secret holding the URL (plain, or JSON with `webhook_url` or `url`).
    SecretArn(String),
}

/// Posting failed.
#[derive(Debug, thiserror::Error)]
pub enum SlackError {
    /// 429.
    #[error("slack rate limited the webhook (429)")]
    RateLimited {
        /// Slack's `Retry-After`.
        retry_after: Option<Duration>,
    },
    /// 5xx.
    #[error("slack server error ({status})")]
    Server {
        /// HTTP status.
        status: u16,
    },
    /// Slack refused the payload or the webhook (400 `invalid_payload`, 403 `action_prohibited`,
    /// 404 `no_service`, 410 `channel_is_archived`…): posting again will not help.
    #[error("slack refused the post ({status} {error})")]
    Rejected {
        /// HTTP status.
        status: u16,
        /// Slack's error string.
        error: String,
    },
    /// No answer in time.
    #[error("slack webhook timed out after {0:?}")]
    Timeout(Duration),
    /// Connecting or sending failed.
    #[error("slack webhook could not be reached")]
    Transport(#[source] reqwest::Error),
    /// The webhook URL could not be fetched, or the secret holds no usable URL.
    #[error("fetch the slack webhook url")]
    Secret(#[from] SecretError),
}

impl Classified for SlackError {
    fn class(&self) -> ErrorClass {
        match self {
            SlackError::RateLimited { .. }
            | SlackError::Server { .. }
            | SlackError::Timeout(_)
            | SlackError::Transport(_)
            | SlackError::Secret(_) => ErrorClass::Transient,
            SlackError::Rejected { .. } => ErrorClass::Permanent,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            SlackError::RateLimited { .. } => "SlackRateLimited",
            SlackError::Server { .. } => "SlackServerError",
            SlackError::Rejected { .. } => "SlackRejected",
            SlackError::Timeout(_) => "SlackTimeout",
            SlackError::Transport(_) => "SlackTransport",
            SlackError::Secret(_) => "SlackWebhookSecret",
        }
    }
}

/// The webhook: one HTTP client per container, the URL fetched on first use.
#[derive(Debug)]
pub struct SlackWebhook {
    http: reqwest::Client,
    url: WebhookUrl,
}

/// The URL as the client holds it: given, or cached from Secrets Manager.
#[derive(Debug)]
enum WebhookUrl {
    Plain(Secret<String>),
    Cached(CachedSecret<Secret<String>>),
}

impl SlackWebhook {
    /// Builds the client.
    ///
    /// # Errors
    /// [`SlackError::Transport`] when the HTTP client cannot be built.
    pub fn new(
        source: WebhookSource,
        secrets: Option<SecretsStore>,
        connect_timeout: Duration,
    ) -> Result<Self, SlackError> {
        // No redirects: one would carry the post (and its PII) to a host nobody configured.
        let http = reqwest::Client::builder()
            .connect_timeout(connect_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| SlackError::Transport(e.without_url()))?;
        let url = match source {
            WebhookSource::Url(url) => WebhookUrl::Plain(url),
            WebhookSource::SecretArn(arn) => WebhookUrl::Cached(CachedSecret::new(
                arn,
                secrets,
                url_from_secret,
                DEFAULT_REFETCH_INTERVAL,
            )),
        };
        Ok(Self { http, url })
    }

    /// Posts one payload. A 403/404 with the URL from Secrets Manager fetches it once more (it
    /// may have been rotated) and tries again.
    ///
    /// # Errors
    /// [`SlackError`], classified: 429, 5xx, timeouts and transport transient; other refusals
    /// permanent.
    pub async fn post(
        &self,
        payload: &serde_json::Value,
        timeout: Duration,
    ) -> Result<(), SlackError> {
        let body = payload.to_string();
        match &self.url {
            WebhookUrl::Plain(url) => self.post_once(url, &body, timeout).await,
            WebhookUrl::Cached(cached) => {
                let used = cached.get().await?;
                match self.post_once(&used.value, &body, timeout).await {
                    Err(
                        refused @ SlackError::Rejected {
                            status: 403 | 404, ..
                        },
                    ) => match cached.after_rejection(&used).await? {
                        Some(fresh) => {
                            warn!("slack refused the webhook; trying its url fetched again in case it was rotated");
                            self.post_once(&fresh.value, &body, timeout).await
                        }
                        None => Err(refused),
                    },
                    other => other,
                }
            }
        }
    }

    async fn post_once(
        &self,
        url: &Secret<String>,
        body: &str,
        timeout: Duration,
    ) -> Result<(), SlackError> {
        let response = self
            .http
            .post(url.expose())
            .timeout(timeout)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_owned())
            .send()
            .await
            .map_err(|e| transport(e, timeout))?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(|s| Duration::from_secs(s.min(3600)));
        let location = crate::secret::location_for_logs(response.headers());
        let text = response.text().await.map_err(|e| transport(e, timeout))?;
        match status {
            200..=299 => Ok(()),
            429 => Err(SlackError::RateLimited { retry_after }),
            500..=599 => Err(SlackError::Server { status }),
            300..=399 => Err(SlackError::Rejected {
                status,
                error: format!("redirect to {location}, not followed"),
            }),
            _ => Err(SlackError::Rejected {
                status,
                error: text.trim().chars().take(100).collect(),
            }),
        }
    }
}

fn url_from_secret(raw: &str) -> Result<Secret<String>, String> {
    let url = serde_json::from_str::<serde_json::Value>(raw)
        .ok()
        .and_then(|v| {
            ["webhook_url", "webhookUrl", "url"]
                .iter()
                .find_map(|k| v.get(*k)?.as_str().map(str::to_owned))
        })
        .unwrap_or_else(|| raw.trim().to_owned());
    if crate::secret::is_https_or_loopback(&url) {
        Ok(Secret::new(url))
    } else {
        Err("holds no https webhook URL (plain, or JSON with webhook_url)".into())
    }
}

fn transport(error: reqwest::Error, timeout: Duration) -> SlackError {
    if error.is_timeout() {
        SlackError::Timeout(timeout)
    } else {
        SlackError::Transport(error.without_url())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_redirect_is_not_followed_and_names_where_it_pointed() {
        let slack = postcall_testkit::MockSlack::start().await.unwrap();
        let redirect = postcall_testkit::RedirectServer::start(slack.webhook_url())
            .await
            .unwrap();
        let webhook = SlackWebhook::new(
            WebhookSource::Url(Secret::new(format!(
                "{}/services/T/B/X",
                redirect.base_url()
            ))),
            None,
            Duration::from_secs(2),
        )
        .unwrap();

        let error = webhook
            .post(
                &serde_json::json!({"text": "Dana Whitfield"}),
                Duration::from_secs(5),
            )
            .await
            .unwrap_err();

        assert_eq!(error.class(), ErrorClass::Permanent, "{error}");
        assert!(error.to_string().contains("307"), "{error}");
        assert!(
            error.to_string().contains("redirect to http://127.0.0.1"),
            "{error}"
        );
        assert_eq!(redirect.hits(), 1);
        assert!(slack.posts().is_empty(), "the post went nowhere else");
    }

    fn url(raw: &str) -> Option<String> {
        url_from_secret(raw).ok().map(|url| url.expose().clone())
    }

    #[test]
    fn a_secret_with_a_plain_http_url_to_another_host_is_refused() {
        assert_eq!(url("http://hooks.slack.com/services/T/B/X"), None);
        assert!(url("http://127.0.0.1:9000/services/T/B/X").is_some());
    }

    #[test]
    fn webhook_urls_are_read_from_plain_or_json_secrets() {
        assert_eq!(
            url("https://hooks.slack.com/services/T/B/X\n").as_deref(),
            Some("https://hooks.slack.com/services/T/B/X")
        );
        assert_eq!(
            url(r#"{"webhook_url":"https://hooks.slack.com/x"}"#).as_deref(),
            Some("https://hooks.slack.com/x")
        );
        assert_eq!(url("not a url"), None);
        let refused = url_from_secret("http://hooks.example.com/secret-path").unwrap_err();
        assert!(
            !refused.contains("secret-path"),
            "the reason quotes none of the value"
        );
    }

    #[test]
    fn refusals_are_permanent_and_the_rest_transient() {
        assert_eq!(
            SlackError::Rejected {
                status: 404,
                error: "no_service".into()
            }
            .class(),
            ErrorClass::Permanent
        );
        assert_eq!(
            SlackError::RateLimited { retry_after: None }.class(),
            ErrorClass::Transient
        );
        assert_eq!(
            SlackError::Server { status: 503 }.class(),
            ErrorClass::Transient
        );
    }
}
