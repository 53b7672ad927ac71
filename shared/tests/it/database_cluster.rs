//! What the shared local server cannot show: TLS with certificate checks, and password
//! authentication with a rotated password. Each test starts a throwaway cluster of its own
//! (postcall-testkit's PostgresCluster: initdb, pg_ctl and openssl on this machine).

use postcall::{
    adapters::{postgres::PgStore, secrets::SecretsStore},
    config::{CaRoots, DatabaseConfig, DatabaseSource, TlsMode},
    domain::CallId,
};
use postcall_testkit::{ClusterOptions, PostgresCluster};

use crate::helpers::{aws_config, new_secret, put_secret, short_id};

fn store(url: &str, tls: TlsMode, roots: CaRoots) -> PgStore {
    let mut config = DatabaseConfig::from_url(url);
    config.tls = Some(tls);
    config.ca_bundle = roots;
    PgStore::new(config, None)
}

/// Every message in an error's chain, for asserting what a failure says.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[tokio::test]
async fn verify_full_trusts_only_the_configured_roots_and_require_only_encrypts() {
    let cluster = PostgresCluster::start(&ClusterOptions {
        tls: true,
        label: "tls",
        ..ClusterOptions::default()
    })
    .unwrap();
    let url = cluster.url("postgres", None, "postgres");
    let ca = cluster.ca_certificate().unwrap();
    let call = CallId::parse("no-such-call").unwrap();
    let encrypted_sessions = || {
        cluster
            .psql("SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE s.ssl AND a.application_name = 'postcall'")
            .unwrap()
    };

    // The server's certificate chains to the cluster's own CA: verified against that file.
    let verified = store(&url, TlsMode::VerifyFull, CaRoots::File(ca));
    verified.migrate().await.unwrap();
    assert_eq!(verified.fetch_call(&call).await.unwrap(), None);
    assert_eq!(encrypted_sessions(), "1");

    // Neither the built-in RDS bundle nor Mozilla's roots know that CA: refused, and the error
    // says why.
    for roots in [CaRoots::AwsRds, CaRoots::AwsRdsAndPublic, CaRoots::Public] {
        let error = store(&url, TlsMode::VerifyFull, roots.clone())
            .migrate()
            .await
            .unwrap_err();
        let text = chain(&error);
        assert!(
            text.contains("UnknownIssuer") || text.contains("unknown issuer"),
            "{roots:?}: {text}"
        );
    }

    // require encrypts without checking the certificate, whatever the roots.
    let unchecked = store(&url, TlsMode::Require, CaRoots::AwsRds);
    assert_eq!(unchecked.fetch_call(&call).await.unwrap(), None);
    assert_eq!(encrypted_sessions(), "2");
}

fn rds_secret(port: u16, password: &str) -> String {
    serde_json::json!({
        "host": "127.0.0.1", "port": port, "username": "postgres",
        "password": password, "dbname": "postgres", "engine": "postgres"
    })
    .to_string()
}

#[tokio::test]
async fn a_rotated_database_password_is_fetched_again_at_the_first_rejection_and_not_for_every_one()
{
    let first = format!("first-pw-{}", short_id());
    let cluster = PostgresCluster::start(&ClusterOptions {
        superuser_password: Some(first.clone()),
        label: "scram",
        ..ClusterOptions::default()
    })
    .unwrap();
    let aws = aws_config().await;
    let secrets = aws_sdk_secretsmanager::Client::new(&aws);
    let (name, arn) = new_secret(
        &secrets,
        "postcall/db-rotation",
        &rds_secret(cluster.port(), &first),
    )
    .await;
    let mut config = DatabaseConfig::from_url("postgres://unused@127.0.0.1/x");
    config.source = DatabaseSource::SecretArn(arn);
    let store = PgStore::new(config, Some(SecretsStore::new(secrets.clone())));
    let drop_connections = || {
        cluster
            .psql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'postcall'")
            .unwrap()
    };
    store.migrate().await.unwrap();
    let call = CallId::parse("no-such-call").unwrap();
    assert_eq!(store.fetch_call(&call).await.unwrap(), None);

    // Rotation as Secrets Manager's rotation function does it: the password changes in the
    // database and in the secret. The open connection lives on; the next one is refused with
    // the cached password (28P01), the secret is fetched again, and the connection succeeds.
    let second = format!("second-pw-{}", short_id());
    cluster
        .psql(&format!("ALTER ROLE postgres PASSWORD '{second}'"))
        .unwrap();
    put_secret(&secrets, &name, &rds_secret(cluster.port(), &second)).await;
    assert_eq!(drop_connections(), "1");
    assert_eq!(store.fetch_call(&call).await.unwrap(), None);

    // Changed again within the refetch interval (30 s) of that refetch: refused, and the error
    // says what Postgres said (28P01) without any password.
    let third = format!("third-pw-{}", short_id());
    cluster
        .psql(&format!("ALTER ROLE postgres PASSWORD '{third}'"))
        .unwrap();
    assert_eq!(drop_connections(), "1");
    let error = store.fetch_call(&call).await.unwrap_err();
    let text = chain(&error);
    assert!(text.contains("password authentication failed"), "{text}");
    for password in [&first, &second, &third] {
        assert!(!text.contains(password.as_str()), "{text}");
    }
    // Within the interval a rejection does not fetch again: the secret, right now, is not read
    // yet, so a wrong password cannot turn every message into a Secrets Manager call (the
    // message is retried by SQS, and after the interval the secret is read again).
    put_secret(&secrets, &name, &rds_secret(cluster.port(), &third)).await;
    assert!(store.fetch_call(&call).await.is_err());
}
