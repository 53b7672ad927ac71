//! Postgres: the one place where postcall's SQL lives.
//!
//! One [`PgStore`] per container holds one `tokio_postgres::Client`, opened on first use and
//! reopened when the server drops it. tokio-postgres pipelines queries that are polled
//! concurrently, so every record of a batch shares that client; each write is one statement
//! (an upsert or a conditional update), so no transaction is needed on the shared connection.
//! Migrations, which do need transactions, open a connection of their own.
//!
//! The queries are split by who uses them, one `impl PgStore` block each: `calls.rs` (the
//! analyzer's loads and writes, the hot-lead claim), `notifications.rs` (the notifier's claims),
//! `backfill.rs` (the backfill's pages), `dashboard.rs` (the dashboard's and the demo's reads)
//! and `migrations.rs` (the schema). This file holds the connection they share, and re-exports
//! their types so that every item keeps its path `postcall::adapters::postgres::*`.

mod backfill;
mod calls;
mod dashboard;
mod migrations;
mod notifications;

use std::{future::Future, str::FromStr, sync::Arc};

use tokio::sync::Mutex;
use tokio_postgres::{config::Host, error::SqlState, Client, NoTls, Statement};
use tracing::{debug, warn};

pub use backfill::{BackfillCandidate, BackfillCursor, BackfillQuery, BACKFILL_PAGE_SQL};
pub use calls::{AnalyticsRecord, HotClaim, NewCall, NewTurn, StoredAnalytics, StoredCall};
pub use dashboard::{
    CallDetail, DashboardLead, DetailAnalytics, DetailTurn, SentimentPoint, TopLead, TrendPoint,
    CALL_DETAIL_MAX_TURNS, CALL_DETAIL_SQL, DASHBOARD_ROLE_SETTINGS_SQL,
    SENTIMENT_ROLLUP_FROM_BASE_SQL, SENTIMENT_ROLLUP_SQL, SENTIMENT_TREND_7D_SQL,
    SENTIMENT_TREND_FROM_BASE_SQL, SENTIMENT_TREND_SQL, TIME_ZONE_OFFSET_SQL, TOP_LEADS_24H_SQL,
    TOP_LEADS_SQL,
};
pub use migrations::{Migration, MIGRATIONS};
pub use notifications::{NotificationClaim, NotificationOutcome};

use crate::{
    adapters::secrets::{
        CachedSecret, Fetched, SecretError, SecretsStore, DEFAULT_REFETCH_INTERVAL,
    },
    config::{CaRoots, DatabaseConfig, DatabaseSource, TlsMode},
    error::{Classified, ErrorClass},
    secret::Secret,
};

/// A Postgres operation failed. Every variant is transient: a database that is down, slow or
/// misconfigured comes back, and the message is retried meanwhile.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Connecting (or preparing statements on a new connection) failed.
    #[error("connect to postgres at {target}")]
    Connect {
        /// Host and database name: never the password.
        target: String,
        /// The driver's error.
        #[source]
        source: tokio_postgres::Error,
    },
    /// A statement failed.
    #[error("{operation}")]
    Query {
        /// What was being done, with the call id.
        operation: String,
        /// The driver's error.
        #[source]
        source: tokio_postgres::Error,
    },
    /// A statement or a connect took longer than its timeout.
    #[error("{operation}: timed out after {timeout_ms} ms")]
    Timeout {
        /// What was being done.
        operation: String,
        /// The timeout.
        timeout_ms: u128,
    },
    /// The TLS configuration could not be built (bad CA bundle).
    #[error("postgres tls setup: {0}")]
    Tls(String),
    /// The credentials secret could not be fetched.
    #[error("fetch database credentials")]
    Credentials(#[from] SecretError),
    /// The credentials secret is not in the RDS format.
    #[error("database secret is not in the RDS format: {0}")]
    SecretFormat(String),
    /// A load or write shared by the records of a batch failed: each carries the one error.
    #[error("the batch's shared database round trip failed")]
    Batch(#[source] Arc<StoreError>),
}

impl Classified for StoreError {
    fn class(&self) -> ErrorClass {
        match self {
            StoreError::Connect { .. }
            | StoreError::Query { .. }
            | StoreError::Timeout { .. }
            | StoreError::Tls(_)
            | StoreError::Credentials(_)
            | StoreError::SecretFormat(_) => ErrorClass::Transient,
            StoreError::Batch(shared) => shared.class(),
        }
    }

    fn code(&self) -> &'static str {
        "Database"
    }
}

struct PreparedStatements {
    fetch_calls: Statement,
    upsert_analyses: Statement,
    claim_hot: Statement,
    hot_published: Statement,
    mark_hot_published: Statement,
    release_hot_claim: Statement,
}

struct PgConnection {
    client: Client,
    statements: PreparedStatements,
}

/// Where the connection's credentials come from.
enum Credentials {
    /// `DATABASE_URL`.
    Url(Secret<String>),
    /// An RDS-format secret, cached and fetched again when Postgres rejects its password.
    Secret(Box<CachedSecret<tokio_postgres::Config>>),
}

/// The Postgres adapter: a lazily opened, self-healing connection and postcall's queries.
pub struct PgStore {
    config: DatabaseConfig,
    credentials: Credentials,
    connection: Mutex<Option<Arc<PgConnection>>>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl PgStore {
    /// A store that connects on first use. `secrets` is needed when the config names a
    /// `DATABASE_SECRET_ARN`.
    pub fn new(config: DatabaseConfig, secrets: Option<SecretsStore>) -> Self {
        Self {
            credentials: match &config.source {
                DatabaseSource::Url(url) => Credentials::Url(url.clone()),
                DatabaseSource::SecretArn(arn) => Credentials::Secret(Box::new(CachedSecret::new(
                    arn.clone(),
                    secrets,
                    |raw| rds_secret_config(raw).map_err(|e| e.to_string()),
                    DEFAULT_REFETCH_INTERVAL,
                ))),
            },
            config,
            connection: Mutex::new(None),
        }
    }

    /// Runs `query` on the shared connection with the query timeout. When the connection turns
    /// out to be closed (the server restarted, an admin terminated it, the container was frozen
    /// past the server's idle timeout), it reconnects and runs the query once more: every
    /// statement here is idempotent, so the second run is safe.
    async fn run<T, F, Fut>(
        &self,
        operation: impl Fn() -> String,
        query: F,
    ) -> Result<T, StoreError>
    where
        F: Fn(Arc<PgConnection>) -> Fut,
        Fut: Future<Output = Result<T, tokio_postgres::Error>>,
    {
        let timeout = self.config.query_timeout;
        let connection = self.connection().await?;
        let first = tokio::time::timeout(timeout, query(connection.clone())).await;
        let source = match first {
            Ok(Ok(value)) => return Ok(value),
            Err(_) => {
                return Err(StoreError::Timeout {
                    operation: operation(),
                    timeout_ms: timeout.as_millis(),
                })
            }
            Ok(Err(source)) => source,
        };
        if !ends_connection(&source) && !connection.client.is_closed() {
            return Err(StoreError::Query {
                operation: operation(),
                source,
            });
        }
        warn!(error = %source, "postgres connection was closed; reconnecting once");
        self.forget(&connection).await;
        let connection = self.connection().await?;
        match tokio::time::timeout(timeout, query(connection)).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(source)) => Err(StoreError::Query {
                operation: operation(),
                source,
            }),
            Err(_) => Err(StoreError::Timeout {
                operation: operation(),
                timeout_ms: timeout.as_millis(),
            }),
        }
    }

    async fn connection(&self) -> Result<Arc<PgConnection>, StoreError> {
        let mut slot = self.connection.lock().await;
        if let Some(existing) = slot.as_ref().filter(|c| !c.client.is_closed()) {
            return Ok(existing.clone());
        }
        let client = self.open_client().await?;
        let statements =
            prepare_statements(&client)
                .await
                .map_err(|source| StoreError::Connect {
                    target: self.target_description(),
                    source,
                })?;
        let fresh = Arc::new(PgConnection { client, statements });
        *slot = Some(fresh.clone());
        Ok(fresh)
    }

    async fn forget(&self, broken: &Arc<PgConnection>) {
        let mut slot = self.connection.lock().await;
        if slot
            .as_ref()
            .is_some_and(|current| Arc::ptr_eq(current, broken))
        {
            *slot = None;
        }
    }

    /// Opens a new connection. On an authentication failure with credentials from Secrets
    /// Manager, tries once more with the secret fetched again (it may have been rotated; at
    /// most one refetch per interval, see [`CachedSecret`]).
    async fn open_client(&self) -> Result<Client, StoreError> {
        let credentials = match &self.credentials {
            Credentials::Url(url) => {
                let pg = tokio_postgres::Config::from_str(url.expose())
                    .map_err(|_| StoreError::SecretFormat("DATABASE_URL does not parse".into()))?;
                return self.connect(&self.with_session_settings(pg)).await;
            }
            Credentials::Secret(credentials) => credentials,
        };
        let used = credentials.get().await?;
        match self
            .connect(&self.with_session_settings(used.value.clone()))
            .await
        {
            Err(StoreError::Connect { source, target })
                if source.code() == Some(&SqlState::INVALID_PASSWORD) =>
            {
                self.retry_with_refetched_secret(
                    credentials,
                    &used,
                    StoreError::Connect { source, target },
                )
                .await
            }
            other => other,
        }
    }

    async fn retry_with_refetched_secret(
        &self,
        credentials: &CachedSecret<tokio_postgres::Config>,
        used: &Fetched<tokio_postgres::Config>,
        rejected: StoreError,
    ) -> Result<Client, StoreError> {
        match credentials.after_rejection(used).await? {
            Some(fresh) => {
                warn!("postgres rejected the password; trying the secret fetched again in case it was rotated");
                self.connect(&self.with_session_settings(fresh.value)).await
            }
            None => Err(rejected),
        }
    }

    fn with_session_settings(&self, mut pg: tokio_postgres::Config) -> tokio_postgres::Config {
        pg.connect_timeout(self.config.connect_timeout);
        if pg.get_application_name().is_none() {
            pg.application_name("postcall");
        }
        pg
    }

    async fn connect(&self, pg: &tokio_postgres::Config) -> Result<Client, StoreError> {
        let target = describe(pg);
        let connect_error = |source| StoreError::Connect {
            target: target.clone(),
            source,
        };
        let client = match self.tls_mode(pg) {
            TlsMode::Disable => {
                let (client, connection) = pg.connect(NoTls).await.map_err(connect_error)?;
                tokio::spawn(drive(connection));
                client
            }
            mode => {
                let mut pg = pg.clone();
                pg.ssl_mode(tokio_postgres::config::SslMode::Require);
                let tls = tokio_postgres_rustls::MakeRustlsConnect::new(self.tls_config(mode)?);
                let (client, connection) = pg.connect(tls).await.map_err(connect_error)?;
                tokio::spawn(drive(connection));
                client
            }
        };
        debug!(target_db = %target, "postgres connection opened");
        Ok(client)
    }

    fn tls_mode(&self, pg: &tokio_postgres::Config) -> TlsMode {
        self.config.tls.unwrap_or_else(|| {
            let is_local = pg.get_hosts().iter().all(|host| match host {
                Host::Tcp(name) => matches!(name.as_str(), "localhost" | "127.0.0.1" | "::1"),
                Host::Unix(_) => true,
            });
            if is_local {
                TlsMode::Disable
            } else {
                TlsMode::VerifyFull
            }
        })
    }

    fn tls_config(&self, mode: TlsMode) -> Result<rustls::ClientConfig, StoreError> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| StoreError::Tls(e.to_string()))?;
        let config = match mode {
            TlsMode::Require => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyCertificate { provider }))
                .with_no_client_auth(),
            TlsMode::VerifyFull | TlsMode::Disable => builder
                .with_root_certificates(root_store(&self.config.ca_bundle)?)
                .with_no_client_auth(),
        };
        Ok(config)
    }

    fn target_description(&self) -> String {
        match &self.config.source {
            DatabaseSource::Url(url) => tokio_postgres::Config::from_str(url.expose())
                .map(|pg| describe(&pg))
                .unwrap_or_default(),
            DatabaseSource::SecretArn(arn) => format!("the database in secret {arn}"),
        }
    }
}

/// True for errors after which the connection is gone: the socket closed, or the server sent a
/// FATAL error (an administrator's `pg_terminate_backend`, a restart, an idle timeout). The
/// connection task may not have noticed yet, so `Client::is_closed` can still be false; a write
/// to the dead socket surfaces as an I/O error instead.
fn ends_connection(error: &tokio_postgres::Error) -> bool {
    use std::error::Error as _;
    use tokio_postgres::error::Severity;
    error.is_closed()
        || error
            .source()
            .is_some_and(|cause| cause.is::<std::io::Error>())
        || error.as_db_error().is_some_and(|db| {
            matches!(
                db.parsed_severity(),
                Some(Severity::Fatal | Severity::Panic)
            )
        })
}

async fn drive<F>(connection: F)
where
    F: Future<Output = Result<(), tokio_postgres::Error>>,
{
    if let Err(error) = connection.await {
        warn!(error = %error, "postgres connection ended");
    }
}

/// `host:port/dbname`, never the user or password.
fn describe(pg: &tokio_postgres::Config) -> String {
    let host = pg
        .get_hosts()
        .first()
        .map(|h| match h {
            Host::Tcp(name) => name.clone(),
            Host::Unix(path) => path.display().to_string(),
        })
        .unwrap_or_default();
    let port = pg.get_ports().first().copied().unwrap_or(5432);
    format!("{host}:{port}/{}", pg.get_dbname().unwrap_or(""))
}

/// The Amazon RDS / Aurora CAs and RDS Proxy's Amazon Trust Services roots, built by
/// `scripts/update-rds-ca-bundle` (its header names the source and each certificate).
pub const AWS_RDS_CA_BUNDLE: &str = include_str!("../../certs/aws-rds-ca-bundle.pem");

/// The trust store of a `verify-full` connection.
///
/// # Errors
/// [`StoreError::Tls`] when a PEM file cannot be read or holds no usable certificate.
pub fn root_store(roots: &CaRoots) -> Result<rustls::RootCertStore, StoreError> {
    use rustls_pki_types::{pem::PemObject, CertificateDer};
    let mut store = rustls::RootCertStore::empty();
    let mut add_pem = |certs: Vec<Result<CertificateDer<'static>, _>>, from: &str| {
        for cert in certs {
            let cert = cert.map_err(|e: rustls_pki_types::pem::Error| {
                StoreError::Tls(format!("parse CA bundle {from}: {e}"))
            })?;
            store
                .add(cert)
                .map_err(|e| StoreError::Tls(format!("add CA from {from}: {e}")))?;
        }
        Ok::<_, StoreError>(())
    };
    if matches!(roots, CaRoots::AwsRds | CaRoots::AwsRdsAndPublic) {
        add_pem(
            CertificateDer::pem_slice_iter(AWS_RDS_CA_BUNDLE.as_bytes()).collect(),
            "aws-rds (built in)",
        )?;
    }
    if let CaRoots::File(path) = roots {
        let from = path.display().to_string();
        let certs = CertificateDer::pem_file_iter(path)
            .map_err(|e| StoreError::Tls(format!("read CA bundle {from}: {e}")))?
            .collect();
        add_pem(certs, &from)?;
        if store.is_empty() {
            return Err(StoreError::Tls(format!(
                "CA bundle {from} holds no certificate"
            )));
        }
    }
    if matches!(roots, CaRoots::Public | CaRoots::AwsRdsAndPublic) {
        store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    Ok(store)
}

/// libpq's `sslmode=require`: encrypt, but accept any certificate. Signatures are still checked
/// so the handshake itself is sound.
#[derive(Debug)]
struct AnyCertificate {
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl rustls::client::danger::ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls_pki_types::CertificateDer<'_>,
        _intermediates: &[rustls_pki_types::CertificateDer<'_>],
        _server_name: &rustls_pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls_pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls_pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls_pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Builds a connection config from an RDS-format secret.
fn rds_secret_config(secret: &str) -> Result<tokio_postgres::Config, StoreError> {
    #[derive(serde::Deserialize)]
    struct RdsSecret {
        host: String,
        port: Option<serde_json::Value>,
        username: String,
        password: String,
        dbname: Option<String>,
    }
    let parsed: RdsSecret = serde_json::from_str(secret).map_err(|e| {
        StoreError::SecretFormat(format!(
            "expected JSON with host, username, password: {}",
            e.classify_name()
        ))
    })?;
    let port = match parsed.port {
        None => 5432,
        Some(serde_json::Value::Number(n)) => n
            .as_u64()
            .and_then(|p| u16::try_from(p).ok())
            .unwrap_or(5432),
        Some(serde_json::Value::String(s)) => s
            .parse()
            .map_err(|_| StoreError::SecretFormat("port is not a number".into()))?,
        Some(_) => return Err(StoreError::SecretFormat("port is not a number".into())),
    };
    let mut pg = tokio_postgres::Config::new();
    pg.host(&parsed.host)
        .port(port)
        .user(&parsed.username)
        .password(parsed.password.as_bytes());
    pg.dbname(parsed.dbname.as_deref().unwrap_or("postgres"));
    Ok(pg)
}

trait ClassifyName {
    fn classify_name(&self) -> &'static str;
}

impl ClassifyName for serde_json::Error {
    // serde_json's Display may quote parts of the input, which here is a password.
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "io error",
            serde_json::error::Category::Syntax => "syntax error",
            serde_json::error::Category::Data => "missing or mistyped field",
            serde_json::error::Category::Eof => "unexpected end",
        }
    }
}

async fn prepare_statements(client: &Client) -> Result<PreparedStatements, tokio_postgres::Error> {
    // Prepared once per connection and pipelined together. Casts keep the reads independent of
    // the types a voice bridge chose for columns it owns (integer or uuid turn ids, an enum role,
    // timestamp without time zone).
    let fetch_calls = client.prepare(
        r#"SELECT c.id::text AS call_id,
                  c."fromNumber"::text AS from_number, c."agentId"::text AS agent_id,
                  c."endedAt"::timestamptz AS call_ended_at,
                  a.analyzer, a."transcriptHash" AS transcript_hash, a."promptVersion" AS prompt_version,
                  a."hotPublishedAt" AS hot_published_at, a.sentiment, a."leadScore" AS lead_score,
                  a.intent, a.entities, a.summary, a."nextAction" AS next_action,
                  t.role::text AS role, t.text::text AS text,
                  t."startedAt"::timestamptz AS turn_started_at, t."endedAt"::timestamptz AS turn_ended_at
           FROM "Call" c
           LEFT JOIN "Analytics" a ON a."callId" = c.id
           LEFT JOIN "Turn" t ON t."callId" = c.id
           WHERE c.id = ANY($1::text[])
           ORDER BY c.id, t."startedAt" NULLS LAST, t.id"#,
    );
    // Every analytics write, of one row or a batch's, is this one statement: rows come as
    // arrays, one per column, and go in in the order given.
    let upsert_analyses = client.prepare(
        r#"INSERT INTO "Analytics" ("callId", sentiment, "leadScore", intent, entities, "computedAt",
                                    summary, "nextAction", analyzer, "promptVersion", "transcriptHash",
                                    "transcriptChars", truncated, metrics, "inputTokens", "outputTokens",
                                    "costUsd", "latencyMs")
           SELECT r.call_id, r.sentiment, r.lead_score, r.intent, r.entities, now(),
                  r.summary, r.next_action, r.analyzer, r.prompt_version, r.transcript_hash,
                  r.transcript_chars, r.truncated, r.metrics, r.input_tokens, r.output_tokens,
                  r.cost_usd, r.latency_ms
           FROM unnest($1::text[], $2::float8[], $3::int4[], $4::text[], $5::jsonb[], $6::text[],
                       $7::text[], $8::text[], $9::text[], $10::text[], $11::int4[], $12::bool[],
                       $13::jsonb[], $14::int4[], $15::int4[], $16::float8[], $17::int4[])
                WITH ORDINALITY AS r(call_id, sentiment, lead_score, intent, entities, summary,
                                     next_action, analyzer, prompt_version, transcript_hash,
                                     transcript_chars, truncated, metrics, input_tokens,
                                     output_tokens, cost_usd, latency_ms, position)
           ORDER BY r.position
           ON CONFLICT ("callId") DO UPDATE SET
               sentiment = EXCLUDED.sentiment, "leadScore" = EXCLUDED."leadScore",
               intent = EXCLUDED.intent, entities = EXCLUDED.entities, "computedAt" = now(),
               summary = EXCLUDED.summary, "nextAction" = EXCLUDED."nextAction",
               analyzer = EXCLUDED.analyzer, "promptVersion" = EXCLUDED."promptVersion",
               "transcriptHash" = EXCLUDED."transcriptHash", "transcriptChars" = EXCLUDED."transcriptChars",
               truncated = EXCLUDED.truncated, metrics = EXCLUDED.metrics,
               "inputTokens" = EXCLUDED."inputTokens", "outputTokens" = EXCLUDED."outputTokens",
               "costUsd" = EXCLUDED."costUsd", "latencyMs" = EXCLUDED."latencyMs""#,
    );
    let claim_hot = client.prepare(
        r#"UPDATE "Analytics" SET "hotClaimExpiresAt" = now() + make_interval(secs => $2)
           WHERE "callId" = $1 AND "hotPublishedAt" IS NULL
             AND ("hotClaimExpiresAt" IS NULL OR "hotClaimExpiresAt" < now())
           RETURNING 1"#,
    );
    let hot_published = client
        .prepare(r#"SELECT "hotPublishedAt" IS NOT NULL FROM "Analytics" WHERE "callId" = $1"#);
    let mark_hot_published = client.prepare(
        r#"UPDATE "Analytics" SET "hotPublishedAt" = now(), "hotClaimExpiresAt" = NULL WHERE "callId" = $1"#,
    );
    let release_hot_claim = client.prepare(
        r#"UPDATE "Analytics" SET "hotClaimExpiresAt" = NULL WHERE "callId" = $1 AND "hotPublishedAt" IS NULL"#,
    );
    let (
        fetch_calls,
        upsert_analyses,
        claim_hot,
        hot_published,
        mark_hot_published,
        release_hot_claim,
    ) = tokio::try_join!(
        fetch_calls,
        upsert_analyses,
        claim_hot,
        hot_published,
        mark_hot_published,
        release_hot_claim
    )?;
    Ok(PreparedStatements {
        fetch_calls,
        upsert_analyses,
        claim_hot,
        hot_published,
        mark_hot_published,
        release_hot_claim,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_rds_bundle_holds_every_region_and_rds_proxys_amazon_roots() {
        let aws = root_store(&CaRoots::AwsRds).unwrap();
        let public = root_store(&CaRoots::Public).unwrap();
        let both = root_store(&CaRoots::AwsRdsAndPublic).unwrap();
        // 27 regions x (RSA2048, RSA4096, ECC384), the beta and preview roots, and the five
        // roots RDS Proxy chains to (scripts/update-rds-ca-bundle lists them).
        assert_eq!(aws.len(), 92);
        assert_eq!(public.len(), webpki_roots::TLS_SERVER_ROOTS.len());
        // The Amazon Trust Services roots in our bundle are byte for byte Mozilla's: the part
        // of the bundle that can be checked against a second source is.
        let in_public: Vec<_> = aws
            .roots
            .iter()
            .filter(|root| public.roots.iter().any(|p| p.subject == root.subject))
            .collect();
        assert_eq!(in_public.len(), 5);
        for root in in_public {
            let same = public
                .roots
                .iter()
                .find(|p| p.subject == root.subject)
                .unwrap();
            assert_eq!(same.subject_public_key_info, root.subject_public_key_info);
        }
        assert_eq!(both.len(), aws.len() + public.len());
    }

    #[test]
    fn a_ca_file_without_certificates_is_an_error_naming_it() {
        let path =
            std::env::temp_dir().join(format!("postcall-empty-ca-{}.pem", std::process::id()));
        std::fs::write(&path, "not a certificate\n").unwrap();
        let error = root_store(&CaRoots::File(path.clone()))
            .unwrap_err()
            .to_string();
        assert!(error.contains(&path.display().to_string()), "{error}");
        let missing = root_store(&CaRoots::File("/nonexistent/ca.pem".into()))
            .unwrap_err()
            .to_string();
        assert!(missing.contains("/nonexistent/ca.pem"), "{missing}");
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn ca_roots_parse_names_and_paths() {
        assert_eq!(CaRoots::parse("aws-rds"), Some(CaRoots::AwsRds));
        assert_eq!(CaRoots::parse(" Public "), Some(CaRoots::Public));
        assert_eq!(
            CaRoots::parse("public,aws-rds"),
            Some(CaRoots::AwsRdsAndPublic)
        );
        assert_eq!(
            CaRoots::parse("/opt/certs/ca.pem"),
            Some(CaRoots::File("/opt/certs/ca.pem".into()))
        );
        assert_eq!(CaRoots::parse("rds"), None);
        assert_eq!(CaRoots::parse("ca.pem"), None);
    }

    #[test]
    fn rds_secrets_parse_with_numeric_or_string_ports() {
        let pg = rds_secret_config(r#"{"host":"db.x","port":6543,"username":"app","password":"pw","dbname":"calls","engine":"postgres"}"#).unwrap();
        assert_eq!(describe(&pg), "db.x:6543/calls");
        let pg =
            rds_secret_config(r#"{"host":"db.x","port":"5433","username":"app","password":"pw"}"#)
                .unwrap();
        assert_eq!(describe(&pg), "db.x:5433/postgres");
    }

    #[test]
    fn a_malformed_secret_error_never_quotes_the_secret() {
        let err = rds_secret_config(r#"{"host":"db","username":"app","password":sentinel-pw}"#)
            .unwrap_err();
        assert!(!err.to_string().contains("sentinel-pw"), "{err}");
    }

    #[test]
    fn describe_never_includes_the_password() {
        let pg = tokio_postgres::Config::from_str(
            "postgres://app:sentinel-pw@db.example.com:5432/calls",
        )
        .unwrap();
        assert_eq!(describe(&pg), "db.example.com:5432/calls");
    }
}
