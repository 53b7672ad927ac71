//! Finding a Postgres for the demo: DATABASE_URL, the local server, or a throwaway cluster.

use std::str::FromStr;

use anyhow::Context as _;
use postcall_testkit::postgres_cluster::{ClusterOptions, PostgresCluster};
use tokio_postgres::NoTls;

/// The demo's default database on the local server.
pub const DEFAULT_DEMO_URL: &str = "postgres://postgres@127.0.0.1:5432/postcall_demo";

/// A database the demo can use; a throwaway cluster is stopped and deleted on drop.
pub struct DemoDatabase {
    pub url: String,
    pub description: String,
    _cluster: Option<PostgresCluster>,
}

/// Resolves the demo database: an explicit URL is used as given (its database created if
/// missing); with none, the local server at 127.0.0.1:5432, or a throwaway cluster when no
/// server answers there and `initdb` is installed.
pub async fn resolve(explicit: Option<String>) -> anyhow::Result<DemoDatabase> {
    if let Some(url) = explicit {
        ensure_database(&url).await?;
        return Ok(DemoDatabase {
            description: describe(&url),
            url,
            _cluster: None,
        });
    }
    if tokio::net::TcpStream::connect("127.0.0.1:5432")
        .await
        .is_ok()
    {
        ensure_database(DEFAULT_DEMO_URL).await?;
        return Ok(DemoDatabase {
            url: DEFAULT_DEMO_URL.to_string(),
            description: describe(DEFAULT_DEMO_URL),
            _cluster: None,
        });
    }
    eprintln!("no PostgreSQL on 127.0.0.1:5432: starting a throwaway cluster");
    let cluster = PostgresCluster::start(&ClusterOptions {
        label: "demo",
        ..ClusterOptions::default()
    })
    .context(
        "no PostgreSQL answers on 127.0.0.1:5432 and no throwaway cluster could be started; \
         install PostgreSQL (Debian/Ubuntu: apt-get install postgresql) or set DATABASE_URL",
    )?;
    let url = format!(
        "postgres://postgres@127.0.0.1:{}/postcall_demo",
        cluster.port()
    );
    ensure_database(&url).await?;
    Ok(DemoDatabase {
        description: format!(
            "{} (throwaway cluster in {})",
            describe(&url),
            cluster.dir().display()
        ),
        url,
        _cluster: Some(cluster),
    })
}

/// `host:port/dbname`, without credentials.
pub fn describe(url: &str) -> String {
    let Ok(config) = tokio_postgres::Config::from_str(url) else {
        return "the configured database".to_string();
    };
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        Some(tokio_postgres::config::Host::Unix(p)) => p.display().to_string(),
        None => "localhost".to_string(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!(
        "{host}:{port}/{}",
        config.get_dbname().unwrap_or("postgres")
    )
}

/// Creates the URL's database when the server says it does not exist.
pub async fn ensure_database(url: &str) -> anyhow::Result<()> {
    let config = tokio_postgres::Config::from_str(url).context("DATABASE_URL does not parse")?;
    match config.connect(NoTls).await {
        Ok(_) => Ok(()),
        Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::INVALID_CATALOG_NAME) => {
            let dbname = config.get_dbname().unwrap_or("postcall_demo").to_string();
            let mut admin = config.clone();
            admin.dbname("postgres");
            let (client, connection) = admin
                .connect(NoTls)
                .await
                .with_context(|| format!("connect to {} to create {dbname}", describe(url)))?;
            tokio::spawn(connection);
            let quoted = format!("\"{}\"", dbname.replace('"', "\"\""));
            match client
                .batch_execute(&format!("CREATE DATABASE {quoted}"))
                .await
            {
                Ok(()) => Ok(()),
                // Another demo created it meanwhile.
                Err(e)
                    if e.code() == Some(&tokio_postgres::error::SqlState::DUPLICATE_DATABASE) =>
                {
                    Ok(())
                }
                Err(e) => Err(e).with_context(|| format!("create database {dbname}")),
            }
        }
        Err(e) => Err(e).with_context(|| format!("connect to {}", describe(url))),
    }
}
