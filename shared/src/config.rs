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
//! | `DATABASE_CA_BUNDLE` | PEM file of CA certificates for `verify-full` (e.g. the RDS bundle) | the Mozilla roots |
//! | `DATABASE_CONNECT_TIMEOUT_MS` | connect timeout | 5000 |
//! | `DATABASE_QUERY_TIMEOUT_MS` | timeout of one query | 10000 |
//! | `AUTO_MIGRATE` | apply `migrations/` at cold start | `false` |
//! | `ANALYZER` | `rules` (the offline analyzer) | `rules` |
//! | `ANALYZER_CONCURRENCY` | records of one batch analyzed at once | 10 |
//! | `MAX_MISSING_RETRIES` | deliveries of a call that is unknown or has no turns before it is parked | 3 |
//! | `TRANSCRIPT_MAX_CHARS` | characters of transcript analyzed (head and tail kept) | 12000 |
//! | `HOT_LEAD_MIN_SCORE` | lowest lead score of a hot lead, 0..100 | 80 |
//! | `HOT_LEAD_INTENTS` | comma-separated intents of a hot lead | `sales` |
//! | `HOT_LEADS_TOPIC_ARN` | SNS topic for hot leads; unset: hot leads are only logged | — |
//! | `DEAD_LETTER_QUEUE_URL` | SQS queue for permanent failures; unset: they are reported as batch item failures and the queue's redrive policy moves them | — |

use std::{path::PathBuf, str::FromStr, time::Duration};

use crate::{
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

/// Settings for the Postgres connection.
#[derive(Debug, Clone, PartialEq)]
pub struct DatabaseConfig {
    /// Where the credentials come from.
    pub source: DatabaseSource,
    /// TLS mode; `None` means: decide from the host (loopback → disable, else verify-full).
    pub tls: Option<TlsMode>,
    /// CA bundle for `verify-full`.
    pub ca_bundle: Option<PathBuf>,
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
            ca_bundle: get(lookup, "DATABASE_CA_BUNDLE").map(PathBuf::from),
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
            ca_bundle: None,
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

/// Which analyzer to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnalyzerKind {
    /// The offline rules analyzer.
    Rules,
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
        let analyzer = match get(lookup, "ANALYZER")
            .map(|v| v.to_ascii_lowercase())
            .as_deref()
        {
            None | Some("rules") => AnalyzerKind::Rules,
            Some(_) => {
                return Err(ConfigError::Invalid {
                    name: "ANALYZER",
                    reason: "expected rules".into(),
                })
            }
        };
        Ok(Self {
            database: DatabaseConfig::from_lookup(lookup)?,
            auto_migrate: flag(lookup, "AUTO_MIGRATE")?,
            analyzer,
            concurrency: usize::try_from(positive(lookup, "ANALYZER_CONCURRENCY", 10)?)
                .unwrap_or(usize::MAX),
            max_missing_retries: u32::try_from(positive(lookup, "MAX_MISSING_RETRIES", 3)?)
                .unwrap_or(u32::MAX),
            transcript_max_chars: usize::try_from(positive(
                lookup,
                "TRANSCRIPT_MAX_CHARS",
                12_000,
            )?)
            .unwrap_or(usize::MAX),
            hot_lead_policy: HotLeadPolicy::from_lookup(lookup)?,
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
