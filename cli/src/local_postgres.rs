//! Finding a Postgres for the demo: DATABASE_URL, the local server, or a throwaway cluster.

use std::{
    path::{Path, PathBuf},
    process::Command,
    str::FromStr,
};

use anyhow::{bail, Context as _};
use tokio_postgres::NoTls;

/// The demo's default database on the local server.
pub const DEFAULT_DEMO_URL: &str = "postgres://postgres@127.0.0.1:5432/postcall_demo";

/// A database the demo can use; a throwaway cluster is stopped and deleted on drop.
pub struct DemoDatabase {
    pub url: String,
    pub description: String,
    _cluster: Option<ThrowawayCluster>,
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
    let cluster = ThrowawayCluster::start().context(
        "no PostgreSQL answers on 127.0.0.1:5432 and no throwaway cluster could be started; \
         install PostgreSQL (Debian/Ubuntu: apt-get install postgresql) or set DATABASE_URL",
    )?;
    let url = format!(
        "postgres://postgres@127.0.0.1:{}/postcall_demo",
        cluster.port
    );
    ensure_database(&url).await?;
    Ok(DemoDatabase {
        description: format!(
            "{} (throwaway cluster in {})",
            describe(&url),
            cluster.dir.display()
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

/// A Postgres cluster in a temporary folder, on a free port, with trust auth.
struct ThrowawayCluster {
    dir: PathBuf,
    port: u16,
    pg_ctl: PathBuf,
    run_as_postgres: bool,
}

impl ThrowawayCluster {
    fn start() -> anyhow::Result<Self> {
        let bin = find_pg_bin().context("initdb and pg_ctl are not installed")?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let dir = std::env::temp_dir().join(format!("postcall-demo-pg-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        // initdb refuses to run as root; run the cluster as the postgres user then.
        let run_as_postgres = is_root();
        if run_as_postgres {
            run(
                Command::new("chown").arg("postgres:postgres").arg(&dir),
                "chown the cluster folder to postgres",
            )?;
        }
        let cluster = Self {
            dir,
            port,
            pg_ctl: bin.join("pg_ctl"),
            run_as_postgres,
        };
        eprintln!(
            "no PostgreSQL on 127.0.0.1:5432: starting a throwaway cluster in {}",
            cluster.dir.display()
        );
        let data = cluster.dir.join("data");
        run(
            cluster
                .command(&bin.join("initdb"))
                .args(["-U", "postgres", "-A", "trust", "--no-sync", "-D"])
                .arg(&data),
            "initdb",
        )?;
        let options = format!(
            "-p {port} -c listen_addresses=127.0.0.1 -k {}",
            cluster.dir.display()
        );
        run(
            cluster
                .command(&cluster.pg_ctl)
                .arg("-D")
                .arg(&data)
                .args(["-o", &options, "-w", "-l"])
                .arg(cluster.dir.join("server.log"))
                .arg("start"),
            "pg_ctl start",
        )?;
        Ok(cluster)
    }

    fn command(&self, program: &Path) -> Command {
        if self.run_as_postgres {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(program);
            command
        } else {
            Command::new(program)
        }
    }
}

impl Drop for ThrowawayCluster {
    fn drop(&mut self) {
        let _ = self
            .command(&self.pg_ctl)
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-m", "fast", "-w", "stop"])
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn run(command: &mut Command, what: &str) -> anyhow::Result<()> {
    let output = command.output().with_context(|| format!("run {what}"))?;
    if !output.status.success() {
        bail!(
            "{what} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// `initdb` on PATH, or in Debian's versioned folders.
fn find_pg_bin() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>());
    let debian = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join("bin"));
    on_path
        .chain(debian)
        .find(|dir| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file())
}
