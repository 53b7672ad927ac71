//! Credentials from Secrets Manager, and secrets that never reach a log line or an error.

use std::sync::{Arc, Mutex};

use postcall::{
    adapters::{
        postgres::PgStore,
        secrets::{CachedSecret, SecretsStore},
    },
    config::{DatabaseConfig, DatabaseSource},
    domain::CallId,
    error::{cause_chain, Classified as _},
};

use crate::helpers::*;

const SENTINEL: &str = "sentinel-Pa55w0rd-7f3a";

#[derive(Clone, Default)]
pub struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl CapturedLogs {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

pub fn capture() -> (CapturedLogs, tracing::subscriber::DefaultGuard) {
    let logs = CapturedLogs::default();
    let writer = logs.clone();
    let subscriber = lambda_runtime::tracing::subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let guard = tracing::subscriber::set_default(subscriber);
    // A callsite another test thread registered while only the no-op dispatcher existed can
    // keep a cached "never" interest; recompute it with this thread's subscriber in.
    tracing::callsite::rebuild_interest_cache();
    (logs, guard)
}

async fn create_secret(value: &str) -> String {
    let client = aws_sdk_secretsmanager::Client::new(&aws_config().await);
    new_secret(&client, "postcall/db", value).await.1
}

fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn quick(source: DatabaseSource) -> DatabaseConfig {
    let mut config = DatabaseConfig::from_url("postgres://unused@127.0.0.1/unused");
    config.source = source;
    config.connect_timeout = std::time::Duration::from_millis(500);
    config
}

#[tokio::test]
async fn database_credentials_come_from_an_rds_format_secret() {
    let admin = connect(&admin_url()).await;
    let dbname = format!("postcall_secret_{}", short_id());
    admin
        .batch_execute(&format!("CREATE DATABASE {dbname}"))
        .await
        .unwrap();
    let arn = create_secret(
        &serde_json::json!({"engine": "postgres", "host": "127.0.0.1", "port": 5432, "username": "postgres", "password": "unused-with-trust-auth", "dbname": dbname})
            .to_string(),
    )
    .await;
    let secrets = SecretsStore::new(aws_sdk_secretsmanager::Client::new(&aws_config().await));
    let store = PgStore::new(quick(DatabaseSource::SecretArn(arn)), Some(secrets));

    store.migrate().await.unwrap();
    let missing = store
        .fetch_call(&CallId::parse("nope").unwrap())
        .await
        .unwrap();

    assert!(missing.is_none());
    drop(store);
    admin
        .batch_execute(&format!("DROP DATABASE {dbname} WITH (FORCE)"))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_database_password_never_reaches_logs_or_errors() {
    let (logs, _guard) = capture();
    let arn = create_secret(
        &serde_json::json!({"host": "127.0.0.1", "port": closed_port(), "username": "app", "password": SENTINEL, "dbname": "calls"}).to_string(),
    )
    .await;
    let secrets = SecretsStore::new(aws_sdk_secretsmanager::Client::new(&aws_config().await));
    let from_secret = PgStore::new(quick(DatabaseSource::SecretArn(arn)), Some(secrets));
    let from_url = PgStore::new(
        quick(DatabaseSource::Url(postcall::secret::Secret::new(format!(
            "postgres://app:{SENTINEL}@127.0.0.1:{}/calls",
            closed_port()
        )))),
        None,
    );
    let call = CallId::parse("c-1").unwrap();

    let errors = [
        from_secret.fetch_call(&call).await.unwrap_err(),
        from_url.fetch_call(&call).await.unwrap_err(),
    ];

    for error in &errors {
        tracing::warn!(error = %error, error.cause_chain = %cause_chain(error), "record failed; it will be retried");
        let rendered = format!("{error} {error:?} {}", cause_chain(error));
        assert!(
            !rendered.contains(SENTINEL),
            "error shows the password: {rendered}"
        );
        assert!(
            rendered.contains("127.0.0.1"),
            "error still says where: {rendered}"
        );
    }
    assert!(!format!("{from_url:?} {from_secret:?}").contains(SENTINEL));
    let logs = logs.text();
    assert!(logs.contains("record failed"), "logs were captured: {logs}");
    assert!(!logs.contains(SENTINEL), "logs show the password: {logs}");
}

fn plain(raw: &str) -> Result<String, String> {
    let value = raw.trim();
    if value.is_empty() {
        Err("empty".into())
    } else {
        Ok(value.to_owned())
    }
}

#[tokio::test]
async fn a_cached_secret_refetches_once_per_interval_and_shares_a_newer_value() {
    let client = aws_sdk_secretsmanager::Client::new(&aws_config().await);
    let (name, arn) = new_secret(&client, "postcall/cached", "v1").await;
    let put = |value: &'static str| {
        let (client, name) = (client.clone(), name.clone());
        async move { put_secret(&client, &name, value).await }
    };
    let cached = CachedSecret::new(
        arn.clone(),
        Some(SecretsStore::new(client.clone())),
        plain,
        std::time::Duration::from_secs(300),
    );
    let first = cached.get().await.unwrap();
    assert_eq!(first.value, "v1");
    put("v2").await;
    // Kept: no rejection, no fetch.
    assert_eq!(cached.get().await.unwrap().value, "v1");
    // The first rejection fetches again at once, whatever the interval.
    let second = cached.after_rejection(&first).await.unwrap().unwrap();
    assert_eq!(second.value, "v2");
    // A request that still held v1 when it was rejected gets v2 without another fetch.
    put("v3").await;
    assert_eq!(
        cached.after_rejection(&first).await.unwrap().unwrap().value,
        "v2"
    );
    // v2 rejected within the interval: held off, the caller reports its rejection.
    assert!(cached.after_rejection(&second).await.unwrap().is_none());
    assert_eq!(cached.get().await.unwrap().value, "v2");

    // With no interval every rejection fetches.
    let eager = CachedSecret::new(
        arn,
        Some(SecretsStore::new(client.clone())),
        plain,
        std::time::Duration::ZERO,
    );
    let v3 = eager.get().await.unwrap();
    put("v4").await;
    let v4 = eager.after_rejection(&v3).await.unwrap().unwrap();
    put("v5").await;
    assert_eq!(
        eager.after_rejection(&v4).await.unwrap().unwrap().value,
        "v5"
    );
}

#[tokio::test]
async fn an_unusable_secret_is_an_error_that_names_it_and_quotes_none_of_it() {
    let client = aws_sdk_secretsmanager::Client::new(&aws_config().await);
    let (_, arn) = new_secret(&client, "postcall/unusable", "   ").await;
    let cached = CachedSecret::new(
        arn.clone(),
        Some(SecretsStore::new(client)),
        |_raw: &str| Err::<String, _>(format!("not {}", "what was expected")),
        std::time::Duration::ZERO,
    );
    let error = cached.get().await.unwrap_err();
    assert_eq!(error.code(), "SecretFormat");
    assert!(error.to_string().contains(&arn), "{error}");
    let without_client = CachedSecret::new(arn, None, plain, std::time::Duration::ZERO);
    assert_eq!(
        without_client.get().await.unwrap_err().code(),
        "SecretFetch"
    );
}
