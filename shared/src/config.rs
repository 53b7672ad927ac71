//! Typed configuration, read once at cold start.
//!
//! Every function reads its settings through [`AnalyzerConfig::from_env`] (a thin wrapper over
//! `from_lookup`, which tests call with a map). A missing or malformed value stops the function
//! at init with an error naming the variable: Lambda reports it, and no message is deleted.
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `DATABASE_URL` | Postgres URL (`postgres://user@host:5432/db`); local runs use trust auth | one of this or the next is required |
//! | `DATABASE_SECRET_ARN` | Secrets Manager secret in the RDS format (`{"host","port","username","password","dbname"}`) | — |
//! | `DATABASE_TLS` | `disable`, `require` (encrypt, do not verify) or `verify-full` | `disable` for a loopback host, else `verify-full` |
//! | `DATABASE_CA_BUNDLE` | what `verify-full` trusts: `aws-rds` (the Amazon RDS/Aurora CAs and RDS Proxy's Amazon roots, shipped with postcall), `public` (Mozilla's roots), `aws-rds,public`, or the path of a PEM file | `aws-rds,public` |
//! | `DATABASE_CONNECT_TIMEOUT_MS` | connect timeout | 5000 |
//! | `DATABASE_QUERY_TIMEOUT_MS` | timeout of one query | 10000 |
//! | `AUTO_MIGRATE` | apply `migrations/` at cold start | `false` |
//! | `ANALYZER` | `llm` or `rules` (the offline analyzer) | `llm` when an LLM key is configured, else `rules` |
//! | `ANALYZER_FALLBACK` | `rules`: on a permanent LLM failure, store a `rules` analysis instead of parking the call; `none` | `none` |
//! | `LLM_BASE_URL` | OpenAI-compatible API base (OpenAI, an Azure deployment URL, vLLM, Ollama, LiteLLM); https, or http to 127.0.0.1/localhost only | `https://api.openai.com/v1` |
//! | `LLM_MODEL` | model name | `gpt-4o-mini` |
//! | `LLM_API_KEY_SECRET_ARN` | Secrets Manager secret holding the API key (plain, or JSON with `api_key`) | — |
//! | `LLM_API_KEY` | the API key itself (local use) | — |
//! | `LLM_API_STYLE` | `openai` (`Authorization: Bearer`) or `azure` (`api-key` header, `api-version` query) | `openai` |
//! | `LLM_API_VERSION` | Azure's `api-version` | — (required with `azure`) |
//! | `LLM_RESPONSE_FORMAT` | `json_schema` (strict) or `json_object` | `json_schema` |
//! | `PROMPT_VERSION` | label stored in `"promptVersion"`; change it to re-analyze everything | the built-in prompt's version |
//! | `LLM_TIMEOUT_MS` | longest single request | 20000 |
//! | `LLM_CONNECT_TIMEOUT_MS` | connect timeout | 3000 |
//! | `LLM_MAX_ATTEMPTS` | requests per call at most | 4 |
//! | `LLM_MAX_OUTPUT_TOKENS` | `max_completion_tokens` of every request (a longer reply is cut, retried once, then failed as `LlmLength`) | 1000 |
//! | `LLM_BACKOFF_BASE_MS` / `LLM_BACKOFF_CAP_MS` | full-jitter backoff: first ceiling / largest wait | 250 / 8000 |
//! | `LLM_DEADLINE_MARGIN_MS` | time kept before the invocation deadline | 3000 |
//! | `LLM_PRICE_INPUT_USD_PER_MTOK` / `LLM_PRICE_OUTPUT_USD_PER_MTOK` | prices for `"costUsd"` | 0.15 / 0.60 (gpt-4o-mini) |
//! | `ANALYZER_CONCURRENCY` | records of one batch analyzed at once | 10 |
//! | `MAX_MISSING_RETRIES` | deliveries of a call that is unknown or has no turns before it is parked | 3 |
//! | `TRANSCRIPT_MAX_CHARS` | characters of transcript analyzed (head and tail kept) | 12000 |
//! | `HOT_LEAD_MIN_SCORE` | lowest lead score of a hot lead, 0..100 | 80 |
//! | `HOT_LEAD_INTENTS` | comma-separated intents of a hot lead | `sales` |
//! | `HOT_LEADS_TOPIC_ARN` | SNS topic for hot leads; unset: hot leads are only logged | — |
//! | `DEAD_LETTER_QUEUE_URL` | SQS queue for permanent failures; unset: they are reported as batch item failures and the queue's redrive policy moves them | — |

mod dashboard;

pub use dashboard::{
    DashboardAuth, DashboardConfig, TokenSource, DASHBOARD_TOKEN_MIN_CHARS,
    DEFAULT_SESSION_TTL_SECS,
};

use std::{path::PathBuf, str::FromStr, time::Duration};

use crate::{
    adapters::{
        llm::{ApiKeySource, ApiStyle},
        nats::{NatsAuth, NatsSettings},
        slack::WebhookSource,
    },
    analysis::llm::{LlmSettings, Prices, ResponseFormat, PROMPT_VERSION},
    domain::{HotLeadPolicy, Intent, LeadScore},
    secret::Secret,
};

/// A setting is missing or malformed. The message names the variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A required variable is not set.
    #[error("{0} is not set")]
    Missing(&'static str),
    /// A variable is set to something unusable.
    #[error("{name} is invalid: {reason}")]
    Invalid {
        /// The variable.
        name: &'static str,
        /// What is wrong, never the value itself (it may be a secret).
        reason: String,
    },
}

/// Reads variables by name; `std::env::var` in production, a map in tests.
pub trait Lookup: Fn(&str) -> Option<String> {}
impl<F: Fn(&str) -> Option<String>> Lookup for F {}

fn get(lookup: &impl Lookup, name: &str) -> Option<String> {
    lookup(name)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

fn parse_or<T: FromStr>(
    lookup: &impl Lookup,
    name: &'static str,
    default: T,
) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    match get(lookup, name) {
        None => Ok(default),
        Some(raw) => raw.parse().map_err(|e: T::Err| ConfigError::Invalid {
            name,
            reason: e.to_string(),
        }),
    }
}

fn positive(lookup: &impl Lookup, name: &'static str, default: u64) -> Result<u64, ConfigError> {
    let value = parse_or(lookup, name, default)?;
    if value == 0 {
        return Err(ConfigError::Invalid {
            name,
            reason: "must be greater than 0".into(),
        });
    }
    Ok(value)
}

fn flag(lookup: &impl Lookup, name: &'static str) -> Result<bool, ConfigError> {
    match get(lookup, name).map(|v| v.to_ascii_lowercase()).as_deref() {
        None | Some("false" | "0" | "no") => Ok(false),
        Some("true" | "1" | "yes") => Ok(true),
        Some(_) => Err(ConfigError::Invalid {
            name,
            reason: "expected true or false".into(),
        }),
    }
}

/// How the connection to Postgres is encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain TCP: only for a database on loopback or inside a trusted network.
    Disable,
    /// TLS without certificate checks (libpq's `require`).
    Require,
    /// TLS with the certificate chain and host name checked.
    VerifyFull,
}

/// Where the Postgres credentials come from.
#[derive(Debug, Clone, PartialEq)]
pub enum DatabaseSource {
    /// A URL (it may carry a password, so it is a secret).
    Url(Secret<String>),
    /// A Secrets Manager secret in the RDS format, fetched on first use.
    SecretArn(String),
}

/// The certificates a `verify-full` connection trusts (`DATABASE_CA_BUNDLE`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum CaRoots {
    /// `aws-rds`: the CAs of Amazon RDS and Aurora (every region's RSA2048, RSA4096 and ECC384
    /// roots) and the Amazon Trust Services roots that RDS Proxy's certificates chain to, shipped
    /// with postcall (`shared/certs/aws-rds-ca-bundle.pem`). The template's default.
    AwsRds,
    /// `public`: Mozilla's roots (webpki-roots), for a database outside AWS.
    Public,
    /// `aws-rds,public`: both; the default when the variable is unset.
    #[default]
    AwsRdsAndPublic,
    /// A PEM file of CA certificates (a private CA, or a bundle in a Lambda layer).
    File(PathBuf),
}

impl CaRoots {
    /// `aws-rds`, `public`, both comma-separated, or a path (it must contain a `/`).
    pub fn parse(value: &str) -> Option<Self> {
        let value = value.trim();
        if value.contains('/') {
            return Some(Self::File(PathBuf::from(value)));
        }
        let mut names: Vec<String> = value
            .split(',')
            .map(|n| n.trim().to_ascii_lowercase())
            .collect();
        names.sort();
        names.dedup();
        match names.iter().map(String::as_str).collect::<Vec<_>>()[..] {
            ["aws-rds"] => Some(Self::AwsRds),
            ["public"] => Some(Self::Public),
            ["aws-rds", "public"] => Some(Self::AwsRdsAndPublic),
            _ => None,
        }
    }
}

/// Settings for the Postgres connection.
#[derive(Debug, Clone, PartialEq)]
pub struct DatabaseConfig {
    /// Where the credentials come from.
    pub source: DatabaseSource,
    /// TLS mode; `None` means: decide from the host (loopback → disable, else verify-full).
    pub tls: Option<TlsMode>,
    /// What `verify-full` trusts.
    pub ca_bundle: CaRoots,
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// Timeout of one query.
    pub query_timeout: Duration,
}

impl DatabaseConfig {
    /// Reads `DATABASE_*`.
    ///
    /// # Errors
    /// [`ConfigError`] naming the variable that is missing or malformed.
    pub fn from_lookup(lookup: &impl Lookup) -> Result<Self, ConfigError> {
        let source = match (
            get(lookup, "DATABASE_URL"),
            get(lookup, "DATABASE_SECRET_ARN"),
        ) {
            (Some(url), _) => {
                tokio_postgres::Config::from_str(&url).map_err(|_| ConfigError::Invalid {
                    name: "DATABASE_URL",
                    reason: "not a postgres:// URL or key=value connection string".into(),
                })?;
                DatabaseSource::Url(Secret::new(url))
            }
            (None, Some(arn)) => DatabaseSource::SecretArn(arn),
            (None, None) => return Err(ConfigError::Missing("DATABASE_URL")),
        };
        let tls = match get(lookup, "DATABASE_TLS")
            .map(|v| v.to_ascii_lowercase())
            .as_deref()
        {
            None => None,
            Some("disable") => Some(TlsMode::Disable),
            Some("require") => Some(TlsMode::Require),
            Some("verify-full") => Some(TlsMode::VerifyFull),
            Some(_) => {
                return Err(ConfigError::Invalid {
                    name: "DATABASE_TLS",
                    reason: "expected disable, require or verify-full".into(),
                })
            }
        };
        Ok(Self {
            source,
            tls,
            ca_bundle: match get(lookup, "DATABASE_CA_BUNDLE") {
                None => CaRoots::default(),
                Some(value) => CaRoots::parse(&value).ok_or_else(|| ConfigError::Invalid {
                    name: "DATABASE_CA_BUNDLE",
                    reason: "expected aws-rds, public, aws-rds,public or the path of a PEM file"
                        .into(),
                })?,
            },
            connect_timeout: Duration::from_millis(positive(
                lookup,
                "DATABASE_CONNECT_TIMEOUT_MS",
                5_000,
            )?),
            query_timeout: Duration::from_millis(positive(
                lookup,
                "DATABASE_QUERY_TIMEOUT_MS",
                10_000,
            )?),
        })
    }

    /// A config for a plain URL with default timeouts (the CLI and tests).
    pub fn from_url(url: &str) -> Self {
        Self {
            source: DatabaseSource::Url(Secret::new(url.to_owned())),
            tls: None,
            ca_bundle: CaRoots::default(),
            connect_timeout: Duration::from_secs(5),
            query_timeout: Duration::from_secs(10),
        }
    }
}

impl HotLeadPolicy {
    /// Reads `HOT_LEAD_MIN_SCORE` and `HOT_LEAD_INTENTS`.
    ///
    /// # Errors
    /// [`ConfigError`] naming the variable that is malformed.
    pub fn from_lookup(lookup: &impl Lookup) -> Result<Self, ConfigError> {
        let default = HotLeadPolicy::default();
        let min_score = match get(lookup, "HOT_LEAD_MIN_SCORE") {
            None => default.min_score,
            Some(raw) => raw
                .parse::<i64>()
                .map_err(|e| e.to_string())
                .and_then(|v| LeadScore::parse(v).map_err(|e| e.to_string()))
                .map_err(|reason| ConfigError::Invalid {
                    name: "HOT_LEAD_MIN_SCORE",
                    reason,
                })?,
        };
        let intents = match get(lookup, "HOT_LEAD_INTENTS") {
            None => default.intents,
            Some(raw) => raw
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(Intent::from_str)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| ConfigError::Invalid {
                    name: "HOT_LEAD_INTENTS",
                    reason: e.to_string(),
                })?,
        };
        if intents.is_empty() {
            return Err(ConfigError::Invalid {
                name: "HOT_LEAD_INTENTS",
                reason: "names no intent".into(),
            });
        }
        Ok(Self { min_score, intents })
    }
}

/// The one AWS SDK config every client of a function shares. Endpoints come from the SDK's
/// standard variables (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_SQS`, …); this adds timeouts, so no
/// SQS, SNS or Secrets Manager call can hang for the rest of an invocation: 3 s per attempt and
/// 10 s per operation, retries included (the SDK's standard mode, 3 attempts with jittered
/// backoff).
pub async fn aws_sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(2))
                .operation_attempt_timeout(Duration::from_secs(3))
                .operation_timeout(Duration::from_secs(10))
                .build(),
        )
        .load()
        .await
}

/// Everything the notifier function needs.
///
/// | variable | meaning | default |
/// |---|---|---|
/// | `DATABASE_*`, `AUTO_MIGRATE` | as for the analyzer | |
/// | `SLACK_WEBHOOK_SECRET_ARN` | Secrets Manager secret holding the incoming-webhook URL (plain, or JSON with `webhook_url`) | one of this or the next is required |
/// | `SLACK_WEBHOOK_URL` | the webhook URL itself (local use) | — |
/// | `DASHBOARD_URL` | base URL for an "Open the call" button (`{DASHBOARD_URL}/calls/{callId}`) | — |
/// | `NOTIFY_CHANNEL` | name of the channel in `"Notification".channel` (the idempotency key with `callId`) | `slack` |
/// | `SLACK_TIMEOUT_MS` | longest single post | 5000 |
/// | `SLACK_MAX_ATTEMPTS` | posts per invocation at most (429s honoured in between) | 3 |
/// | `DEAD_LETTER_QUEUE_URL` | where a message that is not a hot lead is parked | — (logged only) |
#[derive(Debug, Clone, PartialEq)]
pub struct NotifierConfig {
    /// Postgres.
    pub database: DatabaseConfig,
    /// Apply migrations at cold start.
    pub auto_migrate: bool,
    /// Where the webhook URL comes from.
    pub webhook: WebhookSource,
    /// Dashboard base URL for the call link.
    pub dashboard_url: Option<String>,
    /// Channel name in `"Notification"`.
    pub channel: String,
    /// Longest single post.
    pub slack_timeout: Duration,
    /// Posts per invocation at most.
    pub slack_max_attempts: u32,
    /// Where malformed messages are parked.
    pub dead_letter_queue_url: Option<String>,
}

impl NotifierConfig {
    /// Reads the process environment.
    ///
    /// # Errors
    /// [`ConfigError`] naming the variable that is missing or malformed.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(&|k: &str| std::env::var(k).ok())
    }

    /// Reads settings through `lookup`.
    ///
    /// # Errors
    /// [`ConfigError`] naming the variable that is missing or malformed.
    pub fn from_lookup(lookup: &impl Lookup) -> Result<Self, ConfigError> {
        let webhook = match (
            get(lookup, "SLACK_WEBHOOK_SECRET_ARN"),
            get(lookup, "SLACK_WEBHOOK_URL"),
        ) {
            (Some(arn), _) => WebhookSource::SecretArn(arn),
            (None, Some(url)) if crate::secret::is_https_or_loopback(&url) => {
                WebhookSource::Url(Secret::new(url))
            }
            (None, Some(_)) => {
                return Err(ConfigError::Invalid {
                    name: "SLACK_WEBHOOK_URL",
                    reason: "expected an https URL (plain http only to 127.0.0.1 or localhost)"
                        .into(),
                })
            }
            (None, None) => return Err(ConfigError::Missing("SLACK_WEBHOOK_SECRET_ARN")),
        };
        let dashboard_url = get(lookup, "DASHBOARD_URL");
        if dashboard_url
            .as_deref()
            .is_some_and(|u| !(u.starts_with("https://") || u.starts_with("http://")))
        {
            return Err(ConfigError::Invalid {
                name: "DASHBOARD_URL",
                reason: "expected an http(s) URL".into(),
            });
        }
        Ok(Self {
            database: DatabaseConfig::from_lookup(lookup)?,
            auto_migrate: flag(lookup, "AUTO_MIGRATE")?,
            webhook,
            dashboard_url,
            channel: get(lookup, "NOTIFY_CHANNEL").unwrap_or_else(|| "slack".into()),
            slack_timeout: Duration::from_millis(positive(lookup, "SLACK_TIMEOUT_MS", 5_000)?),
            slack_max_attempts: u32::try_from(positive(lookup, "SLACK_MAX_ATTEMPTS", 3)?)
                .unwrap_or(u32::MAX),
            dead_letter_queue_url: get(lookup, "DEAD_LETTER_QUEUE_URL"),
        })
    }
}

/// The analyzer a deployment runs, as recorded in `"Analytics"`: what `reanalyze` compares
/// stored rows with. Read from the same variables as the analyzer's config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnalyzerIdentity {
    /// `rules-v3` or `provider:model`.
    pub name: String,
    /// The prompt version (LLM only).
    pub prompt_version: Option<String>,
}

impl AnalyzerIdentity {
    /// Reads `ANALYZER`, `LLM_API_KEY(_SECRET_ARN)`, `LLM_API_STYLE`, `LLM_MODEL`, `PROMPT_VERSION`.
    ///
    /// # Errors
    /// [`ConfigError`] when `ANALYZER` is not `llm` or `rules`.
    pub fn from_lookup(lookup: &impl Lookup) -> Result<Self, ConfigError> {
        let has_key =
            get(lookup, "LLM_API_KEY").is_some() || get(lookup, "LLM_API_KEY_SECRET_ARN").is_some();
        let is_llm = match get(lookup, "ANALYZER")
            .map(|v| v.to_ascii_lowercase())
            .as_deref()
        {
            None => has_key,
            Some("llm") => true,
            Some("rules") => false,
            Some(_) => {
                return Err(ConfigError::Invalid {
                    name: "ANALYZER",
                    reason: "expected llm or rules".into(),
                })
            }
        };
        if !is_llm {
            return Ok(Self {
                name: crate::analysis::rules::RULES_ANALYZER_VERSION.into(),
                prompt_version: None,
            });
        }
        let provider = match get(lookup, "LLM_API_STYLE")
            .map(|v| v.to_ascii_lowercase())
            .as_deref()
        {
            Some("azure") => "azure",
            _ => "openai",
        };
        let model = get(lookup, "LLM_MODEL").unwrap_or_else(|| "gpt-4o-mini".into());
        Ok(Self {
            name: format!("{provider}:{model}"),
            prompt_version: Some(
                get(lookup, "PROMPT_VERSION").unwrap_or_else(|| PROMPT_VERSION.into()),
            ),
        })
    }
}

/// Everything the backfill needs.
///
/// | variable | meaning | default |
/// |---|---|---|
/// | `DATABASE_*`, `AUTO_MIGRATE` | as for the analyzer | |
/// | `ANALYZER_QUEUE_URL` | the analyzer's SQS queue | required (except for a CLI dry run) |
/// | `BACKFILL_GRACE` | calls that ended more recently are left to the live path (`90s`, `2m`, `1h`) | `2m` |
/// | `BACKFILL_LOOKBACK` | how far back to look (`7d`, `48h`) | `7d` |
/// | `BACKFILL_MAX_ATTEMPTS` | enqueues of a call without a result before it is left alone | 3 |
/// | `BACKFILL_ATTEMPT_INTERVAL` | enqueues of one call closer together than this count as one attempt (a duplicate scheduled delivery, overlapping runs) | `5m` |
/// | `BACKFILL_PAGE_SIZE` | calls per keyset page | 500 |
/// | `BACKFILL_DEADLINE_MARGIN_MS` | stop this long before the invocation deadline | 5000 |
/// | `ANALYZER`, `LLM_MODEL`, `LLM_API_STYLE`, `PROMPT_VERSION` | the analyzer identity `reanalyze` compares with | as for the analyzer |
#[derive(Debug, Clone, PartialEq)]
pub struct BackfillConfig {
    /// Postgres.
    pub database: DatabaseConfig,
    /// Apply migrations at cold start.
    pub auto_migrate: bool,
    /// The analyzer's queue.
    pub queue_url: Option<String>,
    /// Calls that ended more recently are not selected.
    pub grace: Duration,
    /// How far back to look.
    pub lookback: Duration,
    /// Enqueues without a result before a call is left alone.
    pub max_attempts: u32,
    /// Enqueues of one call closer together than this count once.
    pub attempt_interval: Duration,
    /// Calls per page.
    pub page_size: usize,
    /// Stop this long before the deadline.
    pub deadline_margin: Duration,
    /// The analyzer now deployed.
    pub analyzer: AnalyzerIdentity,
}

impl BackfillConfig {
    /// Reads the process environment.
    ///
    /// # Errors
    /// [`ConfigError`] naming the variable that is missing or malformed.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(&|k: &str| std::env::var(k).ok())
    }

    /// Reads settings through `lookup`.
    ///
    /// # Errors
    /// [`ConfigError`] naming the variable that is missing or malformed.
    pub fn from_lookup(lookup: &impl Lookup) -> Result<Self, ConfigError> {
        Ok(Self {
            database: DatabaseConfig::from_lookup(lookup)?,
            auto_migrate: flag(lookup, "AUTO_MIGRATE")?,
            queue_url: get(lookup, "ANALYZER_QUEUE_URL"),
            grace: duration(lookup, "BACKFILL_GRACE", Duration::from_secs(120))?,
            lookback: duration(lookup, "BACKFILL_LOOKBACK", Duration::from_secs(7 * 86_400))?,
            max_attempts: u32::try_from(positive(lookup, "BACKFILL_MAX_ATTEMPTS", 3)?)
                .unwrap_or(u32::MAX),
            attempt_interval: duration(
                lookup,
                "BACKFILL_ATTEMPT_INTERVAL",
                Duration::from_secs(300),
            )?,
            page_size: usize::try_from(positive(lookup, "BACKFILL_PAGE_SIZE", 500)?).unwrap_or(500),
            deadline_margin: Duration::from_millis(parse_or(
                lookup,
                "BACKFILL_DEADLINE_MARGIN_MS",
                5_000,
            )?),
            analyzer: AnalyzerIdentity::from_lookup(lookup)?,
        })
    }
}

/// Parses `90s`, `2m`, `1h`, `7d` (or bare seconds).
fn duration(
    lookup: &impl Lookup,
    name: &'static str,
    default: Duration,
) -> Result<Duration, ConfigError> {
    let Some(raw) = get(lookup, name) else {
        return Ok(default);
    };
    let invalid = || ConfigError::Invalid {
        name,
        reason: "expected a duration such as 90s, 2m, 1h or 7d".into(),
    };
    let (number, unit) = raw.split_at(raw.find(|c: char| !c.is_ascii_digit()).unwrap_or(raw.len()));
    let value: u64 = number.parse().map_err(|_| invalid())?;
    let seconds = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => return Err(invalid()),
    };
    Ok(Duration::from_secs(value.saturating_mul(seconds)))
}

/// Everything the NATS→SQS bridge needs.
///
/// | variable | meaning | default |
/// |---|---|---|
/// | `NATS_URL` | `nats://host:4222` or `tls://…` | required |
/// | `NATS_CREDS_SECRET_ARN` | Secrets Manager secret: `{"user","password"}`, `{"token"}`, `{"creds"}` or a `.creds` file | — |
/// | `NATS_USER` / `NATS_PASSWORD`, `NATS_TOKEN`, `NATS_CREDS` | the same from the environment (local use) | — |
/// | `NATS_STREAM` | stream name | `CALLS` |
/// | `NATS_SUBJECT` | subject the voice bridge publishes | `call.completed` |
/// | `NATS_CONSUMER` | durable pull consumer | `postcall-bridge` |
/// | `NATS_MAX_DELIVER` | deliveries of one message at most | 20 |
/// | `NATS_ACK_WAIT_MS` | redelivery after this if neither acked nor nak'ed | 30000 |
/// | `BRIDGE_ENSURE_STREAM` | create the stream and consumer when missing | `false` |
/// | `BRIDGE_NAK_DELAY_MS` | redelivery delay after SQS refused a message | 5000 |
/// | `BRIDGE_DEADLINE_MARGIN_MS` | stop this long before the invocation deadline | 3000 |
/// | `ANALYZER_QUEUE_URL` | the analyzer's queue | required |
/// | `DEAD_LETTER_QUEUE_URL` | where invalid payloads go, with their reason | — (logged, then terminated) |
#[derive(Debug, Clone, PartialEq)]
pub struct BridgeConfig {
    /// Where and what to consume.
    pub nats: NatsSettings,
    /// The analyzer's queue.
    pub queue_url: String,
    /// Where invalid payloads go.
    pub dead_letter_queue_url: Option<String>,
    /// Redelivery delay after a failed send.
    pub nak_delay: Duration,
    /// Stop this long before the deadline.
    pub deadline_margin: Duration,
}

impl BridgeConfig {
    /// Reads the process environment.
    ///
    /// # Errors
    /// [`ConfigError`] naming the variable that is missing or malformed.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(&|k: &str| std::env::var(k).ok())
    }

    /// Reads settings through `lookup`.
    ///
    /// # Errors
    /// [`ConfigError`] naming the variable that is missing or malformed.
    pub fn from_lookup(lookup: &impl Lookup) -> Result<Self, ConfigError> {
        let url = get(lookup, "NATS_URL").ok_or(ConfigError::Missing("NATS_URL"))?;
        if !["nats://", "tls://"]
            .iter()
            .any(|scheme| url.starts_with(scheme))
        {
            return Err(ConfigError::Invalid {
                name: "NATS_URL",
                reason: "expected nats:// or tls://".into(),
            });
        }
        let auth = match (
            get(lookup, "NATS_CREDS_SECRET_ARN"),
            get(lookup, "NATS_CREDS"),
            get(lookup, "NATS_TOKEN"),
            get(lookup, "NATS_USER"),
        ) {
            (Some(arn), ..) => NatsAuth::SecretArn(arn),
            (None, Some(creds), ..) => NatsAuth::Creds(Secret::new(creds)),
            (None, None, Some(token), _) => NatsAuth::Token(Secret::new(token)),
            (None, None, None, Some(user)) => {
                let password =
                    get(lookup, "NATS_PASSWORD").ok_or(ConfigError::Missing("NATS_PASSWORD"))?;
                NatsAuth::UserPassword(user, Secret::new(password))
            }
            (None, None, None, None) => NatsAuth::None,
        };
        let max_deliver =
            i64::try_from(positive(lookup, "NATS_MAX_DELIVER", 20)?).map_err(|_| {
                ConfigError::Invalid {
                    name: "NATS_MAX_DELIVER",
                    reason: "too large".into(),
                }
            })?;
        Ok(Self {
            nats: NatsSettings {
                url,
                auth,
                stream: get(lookup, "NATS_STREAM").unwrap_or_else(|| "CALLS".into()),
                subject: get(lookup, "NATS_SUBJECT").unwrap_or_else(|| "call.completed".into()),
                consumer: get(lookup, "NATS_CONSUMER").unwrap_or_else(|| "postcall-bridge".into()),
                max_deliver,
                ack_wait: Duration::from_millis(positive(lookup, "NATS_ACK_WAIT_MS", 30_000)?),
                ensure_stream: flag(lookup, "BRIDGE_ENSURE_STREAM")?,
            },
            queue_url: get(lookup, "ANALYZER_QUEUE_URL")
                .ok_or(ConfigError::Missing("ANALYZER_QUEUE_URL"))?,
            dead_letter_queue_url: get(lookup, "DEAD_LETTER_QUEUE_URL"),
            nak_delay: Duration::from_millis(parse_or(lookup, "BRIDGE_NAK_DELAY_MS", 5_000)?),
            deadline_margin: Duration::from_millis(parse_or(
                lookup,
                "BRIDGE_DEADLINE_MARGIN_MS",
                3_000,
            )?),
        })
    }
}

/// Which analyzer to run.
#[derive(Debug, Clone, PartialEq)]
pub enum AnalyzerKind {
    /// The offline rules analyzer.
    Rules,
    /// An OpenAI-compatible model.
    Llm(Box<LlmConfig>),
}

/// Settings of the LLM analyzer.
#[derive(Debug, Clone, PartialEq)]
pub struct LlmConfig {
    /// API base URL.
    pub base_url: String,
    /// Key header and URL shape.
    pub style: ApiStyle,
    /// Azure's `api-version`.
    pub api_version: Option<String>,
    /// Where the key comes from.
    pub key: ApiKeySource,
    /// Model, format, prompt version, retries, timeouts, prices.
    pub settings: LlmSettings,
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// Use `rules` on a permanent LLM failure.
    pub fallback_to_rules: bool,
}

impl LlmConfig {
    /// `provider:model`, stored in `"Analytics".analyzer`.
    pub fn analyzer_name(&self) -> String {
        let provider = match self.style {
            ApiStyle::OpenAi => "openai",
            ApiStyle::Azure => "azure",
        };
        format!("{provider}:{}", self.settings.model)
    }

    /// Reads `LLM_*`, `PROMPT_VERSION` and `ANALYZER_FALLBACK`.
    ///
    /// # Errors
    /// [`ConfigError`] naming the variable that is missing or malformed.
    pub fn from_lookup(lookup: &impl Lookup) -> Result<Self, ConfigError> {
        let style = match get(lookup, "LLM_API_STYLE")
            .map(|v| v.to_ascii_lowercase())
            .as_deref()
        {
            None | Some("openai") => ApiStyle::OpenAi,
            Some("azure") => ApiStyle::Azure,
            Some(_) => {
                return Err(ConfigError::Invalid {
                    name: "LLM_API_STYLE",
                    reason: "expected openai or azure".into(),
                })
            }
        };
        let base_url =
            get(lookup, "LLM_BASE_URL").unwrap_or_else(|| "https://api.openai.com/v1".into());
        if !crate::secret::is_https_or_loopback(&base_url) {
            return Err(ConfigError::Invalid {
                name: "LLM_BASE_URL",
                reason: "expected an https URL (plain http only to 127.0.0.1 or localhost)".into(),
            });
        }
        let api_version = get(lookup, "LLM_API_VERSION");
        if style == ApiStyle::Azure && api_version.is_none() {
            return Err(ConfigError::Missing("LLM_API_VERSION"));
        }
        let key = match (
            get(lookup, "LLM_API_KEY_SECRET_ARN"),
            get(lookup, "LLM_API_KEY"),
        ) {
            (Some(arn), _) => ApiKeySource::SecretArn(arn),
            (None, Some(key)) => ApiKeySource::Plain(Secret::new(key)),
            (None, None) if get(lookup, "LLM_BASE_URL").is_some() => ApiKeySource::None,
            (None, None) => return Err(ConfigError::Missing("LLM_API_KEY_SECRET_ARN")),
        };
        let response_format = match get(lookup, "LLM_RESPONSE_FORMAT")
            .map(|v| v.to_ascii_lowercase())
            .as_deref()
        {
            None | Some("json_schema") => ResponseFormat::JsonSchema,
            Some("json_object") => ResponseFormat::JsonObject,
            Some(_) => {
                return Err(ConfigError::Invalid {
                    name: "LLM_RESPONSE_FORMAT",
                    reason: "expected json_schema or json_object".into(),
                })
            }
        };
        let fallback_to_rules = match get(lookup, "ANALYZER_FALLBACK")
            .map(|v| v.to_ascii_lowercase())
            .as_deref()
        {
            None | Some("none") => false,
            Some("rules") => true,
            Some(_) => {
                return Err(ConfigError::Invalid {
                    name: "ANALYZER_FALLBACK",
                    reason: "expected rules or none".into(),
                })
            }
        };
        let price = |name: &'static str, default: f64| -> Result<f64, ConfigError> {
            let value: f64 = parse_or(lookup, name, default)?;
            if !value.is_finite() || value < 0.0 {
                return Err(ConfigError::Invalid {
                    name,
                    reason: "must be a non-negative number".into(),
                });
            }
            Ok(value)
        };
        let millis = |name: &'static str, default: u64| {
            positive(lookup, name, default).map(Duration::from_millis)
        };
        let max_attempts =
            u32::try_from(positive(lookup, "LLM_MAX_ATTEMPTS", 4)?).map_err(|_| {
                ConfigError::Invalid {
                    name: "LLM_MAX_ATTEMPTS",
                    reason: "too large".into(),
                }
            })?;
        // The analysis object is about 250 tokens (a 240-character summary at most); 1 000
        // leaves room for a verbose model and caps what a runaway reply can bill.
        let max_output_tokens = u32::try_from(positive(lookup, "LLM_MAX_OUTPUT_TOKENS", 1_000)?)
            .map_err(|_| ConfigError::Invalid {
                name: "LLM_MAX_OUTPUT_TOKENS",
                reason: "too large".into(),
            })?;
        Ok(Self {
            base_url,
            style,
            api_version,
            key,
            settings: LlmSettings {
                model: get(lookup, "LLM_MODEL").unwrap_or_else(|| "gpt-4o-mini".into()),
                response_format,
                prompt_version: get(lookup, "PROMPT_VERSION")
                    .unwrap_or_else(|| PROMPT_VERSION.into()),
                max_attempts,
                backoff_base: millis("LLM_BACKOFF_BASE_MS", 250)?,
                backoff_cap: millis("LLM_BACKOFF_CAP_MS", 8_000)?,
                request_timeout: millis("LLM_TIMEOUT_MS", 20_000)?,
                max_output_tokens,
                deadline_margin: Duration::from_millis(parse_or(
                    lookup,
                    "LLM_DEADLINE_MARGIN_MS",
                    3_000,
                )?),
                prices: Prices {
                    input_per_million_usd: price(
                        "LLM_PRICE_INPUT_USD_PER_MTOK",
                        Prices::GPT_4O_MINI.input_per_million_usd,
                    )?,
                    output_per_million_usd: price(
                        "LLM_PRICE_OUTPUT_USD_PER_MTOK",
                        Prices::GPT_4O_MINI.output_per_million_usd,
                    )?,
                },
            },
            connect_timeout: millis("LLM_CONNECT_TIMEOUT_MS", 3_000)?,
            fallback_to_rules,
        })
    }
}

/// Everything the analyzer function needs.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalyzerConfig {
    /// Postgres.
    pub database: DatabaseConfig,
    /// Apply migrations at cold start.
    pub auto_migrate: bool,
    /// Which analyzer.
    pub analyzer: AnalyzerKind,
    /// Records analyzed at once.
    pub concurrency: usize,
    /// Deliveries of an unknown or empty call before it is parked.
    pub max_missing_retries: u32,
    /// Characters of transcript analyzed.
    pub transcript_max_chars: usize,
    /// Which analyses are hot leads.
    pub hot_lead_policy: HotLeadPolicy,
    /// SNS topic for hot leads.
    pub hot_leads_topic_arn: Option<String>,
    /// SQS queue for permanent failures.
    pub dead_letter_queue_url: Option<String>,
}

/// Characters of transcript analyzed unless `TRANSCRIPT_MAX_CHARS` says otherwise (head and
/// tail kept). The one default: the analyzer, eval, train and the benchmark all use it.
pub const DEFAULT_TRANSCRIPT_MAX_CHARS: usize = 12_000;

/// What decides an analysis, apart from where it is stored: the analyzer, how much of the
/// transcript it reads, and which analyses are hot leads. [`AnalyzerConfig`] reads these, and
/// so does `postcall eval`, so that an evaluation measures what the function would do.
#[derive(Debug, Clone)]
pub struct AnalysisSettings {
    /// Which analyzer: `ANALYZER` (`rules` or `llm`); unset, the LLM when a key is configured.
    pub analyzer: AnalyzerKind,
    /// `TRANSCRIPT_MAX_CHARS`.
    pub transcript_max_chars: usize,
    /// `HOT_LEAD_MIN_SCORE`, `HOT_LEAD_INTENTS`.
    pub hot_lead_policy: HotLeadPolicy,
}

impl AnalysisSettings {
    /// Reads settings through `lookup`.
    ///
    /// # Errors
    /// [`ConfigError`] naming the variable that is missing or malformed.
    pub fn from_lookup(lookup: &impl Lookup) -> Result<Self, ConfigError> {
        let has_key =
            get(lookup, "LLM_API_KEY").is_some() || get(lookup, "LLM_API_KEY_SECRET_ARN").is_some();
        let analyzer = match get(lookup, "ANALYZER")
            .map(|v| v.to_ascii_lowercase())
            .as_deref()
        {
            None if has_key => AnalyzerKind::Llm(Box::new(LlmConfig::from_lookup(lookup)?)),
            None | Some("rules") => AnalyzerKind::Rules,
            Some("llm") => AnalyzerKind::Llm(Box::new(LlmConfig::from_lookup(lookup)?)),
            Some(_) => {
                return Err(ConfigError::Invalid {
                    name: "ANALYZER",
                    reason: "expected llm or rules".into(),
                })
            }
        };
        Ok(Self {
            analyzer,
            transcript_max_chars: usize::try_from(positive(
                lookup,
                "TRANSCRIPT_MAX_CHARS",
                DEFAULT_TRANSCRIPT_MAX_CHARS as u64,
            )?)
            .unwrap_or(usize::MAX),
            hot_lead_policy: HotLeadPolicy::from_lookup(lookup)?,
        })
    }
}

impl AnalyzerConfig {
    /// Reads the process environment.
    ///
    /// # Errors
    /// [`ConfigError`] naming the variable that is missing or malformed.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(&|k: &str| std::env::var(k).ok())
    }

    /// Reads settings through `lookup`.
    ///
    /// # Errors
    /// [`ConfigError`] naming the variable that is missing or malformed.
    pub fn from_lookup(lookup: &impl Lookup) -> Result<Self, ConfigError> {
        let AnalysisSettings {
            analyzer,
            transcript_max_chars,
            hot_lead_policy,
        } = AnalysisSettings::from_lookup(lookup)?;
        Ok(Self {
            database: DatabaseConfig::from_lookup(lookup)?,
            auto_migrate: flag(lookup, "AUTO_MIGRATE")?,
            analyzer,
            concurrency: usize::try_from(positive(lookup, "ANALYZER_CONCURRENCY", 10)?)
                .unwrap_or(usize::MAX),
            max_missing_retries: u32::try_from(positive(lookup, "MAX_MISSING_RETRIES", 3)?)
                .unwrap_or(u32::MAX),
            transcript_max_chars,
            hot_lead_policy,
            hot_leads_topic_arn: get(lookup, "HOT_LEADS_TOPIC_ARN"),
            dead_letter_queue_url: get(lookup, "DEAD_LETTER_QUEUE_URL"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Lookup {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k: &str| map.get(k).cloned()
    }

    #[test]
    fn defaults_apply_when_only_the_database_is_set() {
        let c = AnalyzerConfig::from_lookup(&lookup(&[(
            "DATABASE_URL",
            "postgres://postgres@127.0.0.1/x",
        )]))
        .unwrap();
        assert_eq!(c.concurrency, 10);
        assert_eq!(c.max_missing_retries, 3);
        assert_eq!(c.transcript_max_chars, 12_000);
        assert_eq!(c.hot_lead_policy, HotLeadPolicy::default());
        assert!(!c.auto_migrate);
        assert_eq!(c.hot_leads_topic_arn, None);
        assert_eq!(c.database.tls, None);
    }

    #[test]
    fn errors_name_the_variable() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[], "DATABASE_URL is not set"),
            (
                &[("DATABASE_URL", "http://nope")],
                "DATABASE_URL is invalid",
            ),
            (
                &[
                    ("DATABASE_URL", "postgres://h/db"),
                    ("ANALYZER_CONCURRENCY", "0"),
                ],
                "ANALYZER_CONCURRENCY is invalid",
            ),
            (
                &[
                    ("DATABASE_URL", "postgres://h/db"),
                    ("ANALYZER_CONCURRENCY", "ten"),
                ],
                "ANALYZER_CONCURRENCY is invalid",
            ),
            (
                &[
                    ("DATABASE_URL", "postgres://h/db"),
                    ("HOT_LEAD_MIN_SCORE", "101"),
                ],
                "HOT_LEAD_MIN_SCORE is invalid",
            ),
            (
                &[
                    ("DATABASE_URL", "postgres://h/db"),
                    ("HOT_LEAD_INTENTS", "sales,purchase"),
                ],
                "HOT_LEAD_INTENTS is invalid",
            ),
            (
                &[
                    ("DATABASE_URL", "postgres://h/db"),
                    ("DATABASE_TLS", "maybe"),
                ],
                "DATABASE_TLS is invalid",
            ),
            (
                &[
                    ("DATABASE_URL", "postgres://h/db"),
                    ("AUTO_MIGRATE", "sure"),
                ],
                "AUTO_MIGRATE is invalid",
            ),
            (
                &[("DATABASE_URL", "postgres://h/db"), ("ANALYZER", "magic")],
                "ANALYZER is invalid",
            ),
        ];
        for (pairs, expected) in cases {
            let err = AnalyzerConfig::from_lookup(&lookup(pairs))
                .unwrap_err()
                .to_string();
            assert!(
                err.starts_with(expected),
                "{err} should start with {expected}"
            );
        }
    }

    #[test]
    fn secret_arn_is_accepted_in_place_of_a_url_and_settings_parse() {
        let c = AnalyzerConfig::from_lookup(&lookup(&[
            (
                "DATABASE_SECRET_ARN",
                "arn:aws:secretsmanager:us-east-1:1:secret:db",
            ),
            ("DATABASE_TLS", "verify-full"),
            ("HOT_LEAD_INTENTS", "sales, booking"),
            ("HOT_LEAD_MIN_SCORE", "70"),
            ("AUTO_MIGRATE", "true"),
        ]))
        .unwrap();
        assert_eq!(
            c.database.source,
            DatabaseSource::SecretArn("arn:aws:secretsmanager:us-east-1:1:secret:db".into())
        );
        assert_eq!(c.database.tls, Some(TlsMode::VerifyFull));
        assert_eq!(
            c.hot_lead_policy.intents,
            vec![Intent::Sales, Intent::Booking]
        );
        assert_eq!(c.hot_lead_policy.min_score.get(), 70);
        assert!(c.auto_migrate);
    }

    #[test]
    fn the_llm_is_chosen_when_a_key_is_configured() {
        let base = [("DATABASE_URL", "postgres://h/db")];
        let rules = AnalyzerConfig::from_lookup(&lookup(&base)).unwrap();
        assert_eq!(rules.analyzer, AnalyzerKind::Rules);
        let c =
            AnalyzerConfig::from_lookup(&lookup(&[base[0], ("LLM_API_KEY", "sk-sentinel-123")]))
                .unwrap();
        let AnalyzerKind::Llm(llm) = &c.analyzer else {
            panic!("expected llm")
        };
        assert_eq!(llm.analyzer_name(), "openai:gpt-4o-mini");
        assert_eq!(llm.settings.prompt_version, PROMPT_VERSION);
        assert_eq!(llm.settings.prices, Prices::GPT_4O_MINI);
        assert!(
            !format!("{c:?}").contains("sk-sentinel-123"),
            "the key is redacted"
        );
        let local = AnalyzerConfig::from_lookup(&lookup(&[
            base[0],
            ("ANALYZER", "llm"),
            ("LLM_BASE_URL", "http://127.0.0.1:9/v1"),
        ]))
        .unwrap();
        let AnalyzerKind::Llm(local) = local.analyzer else {
            panic!("expected llm")
        };
        assert_eq!(local.key, ApiKeySource::None);
    }

    #[test]
    fn llm_errors_name_the_variable() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("ANALYZER", "llm")], "LLM_API_KEY_SECRET_ARN is not set"),
            (
                &[
                    ("LLM_API_KEY", "k"),
                    ("LLM_API_STYLE", "azure"),
                    ("LLM_BASE_URL", "https://x"),
                ],
                "LLM_API_VERSION is not set",
            ),
            (
                &[("LLM_API_KEY", "k"), ("LLM_RESPONSE_FORMAT", "yaml")],
                "LLM_RESPONSE_FORMAT is invalid",
            ),
            (
                &[("LLM_API_KEY", "k"), ("LLM_BASE_URL", "ftp://x")],
                "LLM_BASE_URL is invalid",
            ),
            (
                &[
                    ("LLM_API_KEY", "k"),
                    ("LLM_BASE_URL", "http://llm.internal/v1"),
                ],
                "LLM_BASE_URL is invalid",
            ),
            (
                &[("LLM_API_KEY", "k"), ("LLM_PRICE_INPUT_USD_PER_MTOK", "-1")],
                "LLM_PRICE_INPUT_USD_PER_MTOK is invalid",
            ),
            (
                &[("LLM_API_KEY", "k"), ("ANALYZER_FALLBACK", "maybe")],
                "ANALYZER_FALLBACK is invalid",
            ),
            (
                &[("LLM_API_KEY", "k"), ("LLM_TIMEOUT_MS", "0")],
                "LLM_TIMEOUT_MS is invalid",
            ),
        ];
        for (pairs, expected) in cases {
            let mut all = vec![("DATABASE_URL", "postgres://h/db")];
            all.extend_from_slice(pairs);
            let err = AnalyzerConfig::from_lookup(&lookup(&all))
                .unwrap_err()
                .to_string();
            assert!(
                err.starts_with(expected),
                "{err} should start with {expected}"
            );
        }
    }

    #[test]
    fn the_notifier_needs_a_webhook_and_never_prints_it() {
        let err = NotifierConfig::from_lookup(&lookup(&[("DATABASE_URL", "postgres://h/db")]))
            .unwrap_err();
        assert_eq!(err, ConfigError::Missing("SLACK_WEBHOOK_SECRET_ARN"));
        let c = NotifierConfig::from_lookup(&lookup(&[
            ("DATABASE_URL", "postgres://h/db"),
            (
                "SLACK_WEBHOOK_URL",
                "https://hooks.slack.com/services/T/B/sentinel-hook",
            ),
        ]))
        .unwrap();
        assert_eq!(c.channel, "slack");
        assert!(!format!("{c:?}").contains("sentinel-hook"));
        let plain_http = NotifierConfig::from_lookup(&lookup(&[
            ("DATABASE_URL", "postgres://h/db"),
            ("SLACK_WEBHOOK_URL", "http://hooks.slack.com/services/T/B/X"),
        ]));
        assert!(plain_http.is_err(), "plain http to another host");
        let bad = NotifierConfig::from_lookup(&lookup(&[
            ("DATABASE_URL", "postgres://h/db"),
            ("SLACK_WEBHOOK_URL", "hooks"),
        ]));
        assert!(bad
            .unwrap_err()
            .to_string()
            .starts_with("SLACK_WEBHOOK_URL is invalid"));
    }

    #[test]
    fn backfill_durations_and_the_analyzer_identity_parse() {
        let c = BackfillConfig::from_lookup(&lookup(&[
            ("DATABASE_URL", "postgres://h/db"),
            ("BACKFILL_GRACE", "90s"),
            ("BACKFILL_LOOKBACK", "2d"),
            ("LLM_API_KEY", "k"),
            ("LLM_MODEL", "gpt-4.1-mini"),
        ]))
        .unwrap();
        assert_eq!(
            (c.grace, c.lookback),
            (Duration::from_secs(90), Duration::from_secs(2 * 86_400))
        );
        assert_eq!(c.analyzer.name, "openai:gpt-4.1-mini");
        assert_eq!(c.analyzer.prompt_version.as_deref(), Some(PROMPT_VERSION));
        let rules =
            BackfillConfig::from_lookup(&lookup(&[("DATABASE_URL", "postgres://h/db")])).unwrap();
        assert_eq!(
            (
                rules.grace,
                rules.lookback,
                rules.max_attempts,
                rules.page_size
            ),
            (
                Duration::from_secs(120),
                Duration::from_secs(604_800),
                3,
                500
            )
        );
        assert_eq!(
            rules.analyzer,
            AnalyzerIdentity {
                name: "rules-v3".into(),
                prompt_version: None
            }
        );
        let bad = BackfillConfig::from_lookup(&lookup(&[
            ("DATABASE_URL", "postgres://h/db"),
            ("BACKFILL_GRACE", "2 weeks"),
        ]));
        assert!(bad
            .unwrap_err()
            .to_string()
            .starts_with("BACKFILL_GRACE is invalid"));
    }

    #[test]
    fn the_backfill_identity_matches_the_analyzer_it_describes() {
        for pairs in [
            vec![("DATABASE_URL", "postgres://h/db")],
            vec![("DATABASE_URL", "postgres://h/db"), ("LLM_API_KEY", "k")],
            vec![
                ("DATABASE_URL", "postgres://h/db"),
                ("LLM_API_KEY", "k"),
                ("LLM_MODEL", "m"),
                ("PROMPT_VERSION", "p7"),
            ],
        ] {
            let identity = AnalyzerIdentity::from_lookup(&lookup(&pairs)).unwrap();
            let analyzer = AnalyzerConfig::from_lookup(&lookup(&pairs)).unwrap();
            let (name, prompt) = match &analyzer.analyzer {
                AnalyzerKind::Rules => ("rules-v3".to_string(), None),
                AnalyzerKind::Llm(llm) => (
                    llm.analyzer_name(),
                    Some(llm.settings.prompt_version.clone()),
                ),
            };
            assert_eq!(
                (identity.name, identity.prompt_version),
                (name, prompt),
                "{pairs:?}"
            );
        }
    }

    #[test]
    fn the_bridge_reads_its_defaults_and_names_missing_variables() {
        let c = BridgeConfig::from_lookup(&lookup(&[
            ("NATS_URL", "nats://127.0.0.1:4222"),
            ("ANALYZER_QUEUE_URL", "http://q"),
            ("NATS_USER", "bridge"),
            ("NATS_PASSWORD", "sentinel-nats-pw"),
        ]))
        .unwrap();
        assert_eq!(
            (
                c.nats.stream.as_str(),
                c.nats.subject.as_str(),
                c.nats.consumer.as_str()
            ),
            ("CALLS", "call.completed", "postcall-bridge")
        );
        assert!(!c.nats.ensure_stream);
        assert!(!format!("{c:?}").contains("sentinel-nats-pw"));
        let missing =
            BridgeConfig::from_lookup(&lookup(&[("ANALYZER_QUEUE_URL", "http://q")])).unwrap_err();
        assert_eq!(missing, ConfigError::Missing("NATS_URL"));
        let no_password = BridgeConfig::from_lookup(&lookup(&[
            ("NATS_URL", "nats://h"),
            ("ANALYZER_QUEUE_URL", "q"),
            ("NATS_USER", "u"),
        ]));
        assert_eq!(
            no_password.unwrap_err(),
            ConfigError::Missing("NATS_PASSWORD")
        );
    }

    #[test]
    fn a_nats_url_with_user_info_never_shows_it_in_the_logged_config() {
        let c = BridgeConfig::from_lookup(&lookup(&[
            (
                "NATS_URL",
                "nats://bridge:sentinel-url-pw@nats.internal:4222",
            ),
            ("ANALYZER_QUEUE_URL", "http://q"),
        ]))
        .unwrap();
        let printed = format!("{c:?}");
        assert!(!printed.contains("sentinel-url-pw"), "{printed}");
        assert!(printed.contains("nats://nats.internal:4222"), "{printed}");
        assert_eq!(
            c.nats.url, "nats://bridge:sentinel-url-pw@nats.internal:4222",
            "the connection still gets the whole URL"
        );
    }

    #[test]
    fn the_database_password_never_shows_in_debug_output() {
        let c = AnalyzerConfig::from_lookup(&lookup(&[(
            "DATABASE_URL",
            "postgres://app:s3cr3t-sentinel@db.example.com/x",
        )]))
        .unwrap();
        let printed = format!("{c:?}");
        assert!(!printed.contains("s3cr3t-sentinel"), "{printed}");
        assert!(printed.contains("[redacted]"));
    }
}
