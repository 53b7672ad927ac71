//! [`DashboardConfig`]: the dashboard function's settings (and `postcall dashboard`'s).

use super::{get, ConfigError, DatabaseConfig, Lookup};
use crate::secret::Secret;

/// Shortest bearer token accepted: anything shorter can be guessed over a Function URL.
pub const DASHBOARD_TOKEN_MIN_CHARS: usize = 16;

/// How requests to the dashboard are authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DashboardAuth {
    /// Every request carries `Authorization: Bearer <token>` or the session cookie that the
    /// token was exchanged for; the token comes from here.
    Bearer(TokenSource),
    /// The Function URL's `AWS_IAM` auth type: AWS checks a SigV4 signature before the function
    /// runs, so the function checks nothing itself. Only ever chosen explicitly.
    Iam,
}

/// Where the dashboard's bearer token comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    /// The token itself (`DASHBOARD_TOKEN`, local use).
    Token(Secret<String>),
    /// A Secrets Manager secret holding it, plain or as JSON `{"token": "..."}`.
    SecretArn(String),
}

/// Everything the dashboard needs.
///
/// | variable | meaning | default |
/// |---|---|---|
/// | `DATABASE_URL`, `DATABASE_SECRET_ARN`, `DATABASE_TLS`, `DATABASE_*_TIMEOUT_MS` | as for the analyzer (a read-only role is enough) | |
/// | `DASHBOARD_AUTH` | `bearer` (every request needs the token) or `iam` (the Function URL's `AWS_IAM` auth checked it) | `bearer` |
/// | `DASHBOARD_TOKEN_SECRET_ARN` | Secrets Manager secret with the bearer token (plain, or JSON with `token`), at least 16 characters | one of this or the next is required with `bearer` |
/// | `DASHBOARD_TOKEN` | the token itself (local use) | — |
/// | `DASHBOARD_SESSION_TTL_SECS` | how long the session cookie a token is exchanged for lasts (60 to 86400) | 3600 |
/// | `DASHBOARD_TOKEN_REFETCH_SECS` | a credential that does not match fetches the token secret again (a rotation) at most this often (0 to 3600) | 300 |
#[derive(Debug, Clone, PartialEq)]
pub struct DashboardConfig {
    /// Postgres.
    pub database: DatabaseConfig,
    /// How requests are authenticated.
    pub auth: DashboardAuth,
    /// Lifetime of a session cookie, in seconds.
    pub session_ttl_secs: u64,
    /// Least time between two fetches of the token secret caused by credentials that did not
    /// match, in seconds.
    pub token_refetch_after_secs: u64,
}

/// Default lifetime of a session cookie: an hour.
pub const DEFAULT_SESSION_TTL_SECS: u64 = 3600;

impl DashboardConfig {
    /// Reads the process environment.
    ///
    /// # Errors
    /// [`ConfigError`] naming the variable that is missing or malformed; with `bearer` auth, no
    /// token configured is an error, so the dashboard never starts open.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(&|k: &str| std::env::var(k).ok())
    }

    /// Reads settings through `lookup`.
    ///
    /// # Errors
    /// [`ConfigError`] naming the variable that is missing or malformed.
    pub fn from_lookup(lookup: &impl Lookup) -> Result<Self, ConfigError> {
        let auth = match get(lookup, "DASHBOARD_AUTH")
            .map(|v| v.to_ascii_lowercase())
            .as_deref()
        {
            None | Some("bearer") => DashboardAuth::Bearer(token_source(lookup)?),
            Some("iam") => DashboardAuth::Iam,
            Some(_) => {
                return Err(ConfigError::Invalid {
                    name: "DASHBOARD_AUTH",
                    reason: "expected bearer or iam".into(),
                })
            }
        };
        let session_ttl_secs = super::parse_or(
            lookup,
            "DASHBOARD_SESSION_TTL_SECS",
            DEFAULT_SESSION_TTL_SECS,
        )?;
        if !(60..=86_400).contains(&session_ttl_secs) {
            return Err(ConfigError::Invalid {
                name: "DASHBOARD_SESSION_TTL_SECS",
                reason: "expected 60 to 86400 seconds".into(),
            });
        }
        let token_refetch_after_secs =
            super::parse_or(lookup, "DASHBOARD_TOKEN_REFETCH_SECS", 300)?;
        if token_refetch_after_secs > 3_600 {
            return Err(ConfigError::Invalid {
                name: "DASHBOARD_TOKEN_REFETCH_SECS",
                reason: "expected 0 to 3600 seconds".into(),
            });
        }
        Ok(Self {
            database: DatabaseConfig::from_lookup(lookup)?,
            auth,
            session_ttl_secs,
            token_refetch_after_secs,
        })
    }
}

fn token_source(lookup: &impl Lookup) -> Result<TokenSource, ConfigError> {
    match (
        get(lookup, "DASHBOARD_TOKEN_SECRET_ARN"),
        get(lookup, "DASHBOARD_TOKEN"),
    ) {
        (Some(arn), _) => Ok(TokenSource::SecretArn(arn)),
        (None, Some(token)) if token.chars().count() < DASHBOARD_TOKEN_MIN_CHARS => {
            Err(ConfigError::Invalid {
                name: "DASHBOARD_TOKEN",
                reason: format!(
                    "shorter than {DASHBOARD_TOKEN_MIN_CHARS} characters; use a long random string (openssl rand -hex 24)"
                ),
            })
        }
        (None, Some(token)) => Ok(TokenSource::Token(Secret::new(token))),
        (None, None) => Err(ConfigError::Missing("DASHBOARD_TOKEN_SECRET_ARN")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(pairs: &[(&str, &str)]) -> Result<DashboardConfig, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        DashboardConfig::from_lookup(&|k: &str| map.get(k).cloned())
    }

    const DB: (&str, &str) = ("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/x");

    #[test]
    fn without_a_token_the_dashboard_refuses_to_start() {
        assert_eq!(
            config(&[DB]),
            Err(ConfigError::Missing("DASHBOARD_TOKEN_SECRET_ARN"))
        );
        assert_eq!(
            config(&[DB, ("DASHBOARD_AUTH", "bearer"), ("DASHBOARD_TOKEN", " ")]),
            Err(ConfigError::Missing("DASHBOARD_TOKEN_SECRET_ARN"))
        );
    }

    #[test]
    fn a_short_token_is_refused_without_echoing_it() {
        let err = config(&[DB, ("DASHBOARD_TOKEN", "hunter2")]).unwrap_err();
        assert!(
            matches!(
                err,
                ConfigError::Invalid {
                    name: "DASHBOARD_TOKEN",
                    ..
                }
            ),
            "{err}"
        );
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }

    #[test]
    fn the_token_comes_from_the_secret_before_the_environment_and_never_prints() {
        let c = config(&[
            DB,
            (
                "DASHBOARD_TOKEN_SECRET_ARN",
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:t",
            ),
            ("DASHBOARD_TOKEN", "a-local-token-of-some-length"),
        ])
        .unwrap();
        assert!(matches!(
            c.auth,
            DashboardAuth::Bearer(TokenSource::SecretArn(_))
        ));
        let c = config(&[DB, ("DASHBOARD_TOKEN", "sentinel-token-0123456789")]).unwrap();
        assert!(!format!("{c:?}").contains("sentinel-token"), "{c:?}");
    }

    #[test]
    fn sessions_last_an_hour_unless_set_within_a_minute_and_a_day() {
        let token = ("DASHBOARD_TOKEN", "a-local-token-of-some-length");
        assert_eq!(config(&[DB, token]).unwrap().session_ttl_secs, 3600);
        let set = config(&[DB, token, ("DASHBOARD_SESSION_TTL_SECS", "900")]).unwrap();
        assert_eq!(set.session_ttl_secs, 900);
        for bad in ["0", "59", "86401", "forever"] {
            assert!(
                config(&[DB, token, ("DASHBOARD_SESSION_TTL_SECS", bad)]).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn iam_auth_is_only_taken_when_asked_for_and_needs_no_token() {
        assert_eq!(
            config(&[DB, ("DASHBOARD_AUTH", "IAM")]).unwrap().auth,
            DashboardAuth::Iam
        );
        assert!(matches!(
            config(&[DB, ("DASHBOARD_AUTH", "none")]),
            Err(ConfigError::Invalid {
                name: "DASHBOARD_AUTH",
                ..
            })
        ));
        assert_eq!(
            config(&[("DASHBOARD_AUTH", "iam")]),
            Err(ConfigError::Missing("DATABASE_URL"))
        );
    }
}
