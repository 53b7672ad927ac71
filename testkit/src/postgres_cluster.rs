//! A PostgreSQL cluster of its own, in a temporary folder on a free port: for the demo when no
//! server answers on 5432, and for tests that need what the shared local server does not give
//! (password authentication, TLS with a certificate of our own CA).
//!
//! Uses the machine's `initdb` and `pg_ctl` (on PATH or in Debian's `/usr/lib/postgresql/*/bin`)
//! and, for TLS, the `openssl` command. As root the cluster runs as the `postgres` user
//! (`initdb` refuses root). Stopped and deleted on drop.

use std::{
    io,
    path::{Path, PathBuf},
    process::Command,
};

/// What the cluster is started with.
#[derive(Debug, Clone, Default)]
pub struct ClusterOptions {
    /// With a password, TCP connections authenticate with SCRAM-SHA-256 as `postgres` with it
    /// (the Unix socket stays trusted, for administration); without, everything is trusted.
    pub superuser_password: Option<String>,
    /// Serve TLS with a server certificate (for `localhost` and 127.0.0.1) signed by a CA made
    /// for this cluster; [`PostgresCluster::ca_certificate`] is that CA's PEM file.
    pub tls: bool,
    /// A word in the folder's name, to tell clusters apart in `/tmp`.
    pub label: &'static str,
}

/// A running throwaway cluster.
#[derive(Debug)]
pub struct PostgresCluster {
    dir: PathBuf,
    port: u16,
    pg_ctl: PathBuf,
    run_as_postgres: bool,
    tls: bool,
}

impl PostgresCluster {
    /// Creates and starts a cluster; returns once it accepts connections.
    ///
    /// # Errors
    /// When `initdb`/`pg_ctl` (or, with TLS, `openssl`) are missing or fail; the message carries
    /// the tool's own error.
    pub fn start(options: &ClusterOptions) -> io::Result<Self> {
        let bin = find_pg_bin().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                "initdb and pg_ctl are not installed",
            )
        })?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let label = if options.label.is_empty() {
            "cluster"
        } else {
            options.label
        };
        let dir =
            std::env::temp_dir().join(format!("postcall-pg-{label}-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let run_as_postgres = is_root();
        let cluster = Self {
            dir,
            port,
            pg_ctl: bin.join("pg_ctl"),
            run_as_postgres,
            tls: options.tls,
        };
        let data = cluster.dir.join("data");
        let mut initdb = cluster.command(&bin.join("initdb"));
        initdb
            .args(["-U", "postgres", "--no-sync", "-D"])
            .arg(&data);
        if let Some(password) = &options.superuser_password {
            let pwfile = cluster.dir.join("pwfile");
            std::fs::write(&pwfile, format!("{password}\n"))?;
            initdb
                .args([
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                    "--pwfile",
                ])
                .arg(&pwfile);
        } else {
            initdb.args(["-A", "trust"]);
        }
        if options.tls {
            cluster.make_certificates()?;
        }
        if run_as_postgres {
            run(
                Command::new("chown")
                    .args(["-R", "postgres:postgres"])
                    .arg(&cluster.dir),
                "chown the cluster folder to postgres",
            )?;
        }
        run(&mut initdb, "initdb")?;
        let mut settings = format!(
            "-p {port} -c listen_addresses=127.0.0.1 -k {} -c fsync=off",
            cluster.dir.display()
        );
        if options.tls {
            settings.push_str(&format!(
                " -c ssl=on -c ssl_cert_file={} -c ssl_key_file={}",
                cluster.dir.join("server.pem").display(),
                cluster.dir.join("server.key").display()
            ));
        }
        run(
            cluster
                .command(&cluster.pg_ctl)
                .arg("-D")
                .arg(&data)
                .args(["-o", &settings, "-w", "-l"])
                .arg(cluster.dir.join("server.log"))
                .arg("start"),
            "pg_ctl start",
        )?;
        Ok(cluster)
    }

    /// The TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The cluster's folder (data, log, certificates).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The PEM file of the CA that signed the server certificate, when started with TLS.
    pub fn ca_certificate(&self) -> Option<PathBuf> {
        self.tls.then(|| self.dir.join("ca.pem"))
    }

    /// A URL for `user` (and `password`) on database `dbname`.
    pub fn url(&self, user: &str, password: Option<&str>, dbname: &str) -> String {
        let credentials = match password {
            Some(password) => format!("{user}:{password}"),
            None => user.to_owned(),
        };
        format!("postgres://{credentials}@127.0.0.1:{}/{dbname}", self.port)
    }

    /// Runs SQL as the superuser over the Unix socket (trusted whatever the TCP auth), e.g. to
    /// change a password as a rotation would.
    ///
    /// # Errors
    /// When `psql` fails; the message carries its stderr.
    pub fn psql(&self, sql: &str) -> io::Result<String> {
        let psql = self.pg_ctl.with_file_name("psql");
        let output = self
            .command(&psql)
            .args([
                "-X",
                "-q",
                "-t",
                "-A",
                "-v",
                "ON_ERROR_STOP=1",
                "-U",
                "postgres",
                "-h",
            ])
            .arg(&self.dir)
            .args(["-p", &self.port.to_string(), "-d", "postgres", "-c", sql])
            .output()?;
        if !output.status.success() {
            return Err(io::Error::other(format!(
                "psql failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            )));
        }
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    }

    /// A CA and a server certificate for `localhost` and 127.0.0.1 signed by it.
    fn make_certificates(&self) -> io::Result<()> {
        let path = |name: &str| self.dir.join(name);
        let openssl = |args: &[&str], what: &str| {
            run(
                Command::new("openssl").args(args).current_dir(&self.dir),
                what,
            )
        };
        openssl(
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=postcall throwaway test CA",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
            ],
            "openssl: make the test CA",
        )?;
        openssl(
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                "/CN=localhost",
                "-keyout",
                "server.key",
                "-out",
                "server.csr",
            ],
            "openssl: make the server key",
        )?;
        std::fs::write(
            path("server.ext"),
            "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
        )?;
        openssl(
            &[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                "server.ext",
                "-out",
                "server.pem",
            ],
            "openssl: sign the server certificate",
        )?;
        // Postgres refuses a key others can read.
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(path("server.key"), std::fs::Permissions::from_mode(0o600))?;
        // The client side reads the CA as whoever runs the test.
        std::fs::set_permissions(path("ca.pem"), std::fs::Permissions::from_mode(0o644))?;
        Ok(())
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

impl Drop for PostgresCluster {
    fn drop(&mut self) {
        let _stopped = self
            .command(&self.pg_ctl)
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-m", "immediate", "-w", "stop"])
            .output();
        let _removed = std::fs::remove_dir_all(&self.dir);
    }
}

fn run(command: &mut Command, what: &str) -> io::Result<()> {
    let output = command
        .output()
        .map_err(|e| io::Error::new(e.kind(), format!("run {what}: {e}")))?;
    if !output.status.success() {
        return Err(io::Error::other(format!(
            "{what} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )));
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

/// The folder of the server's programs: where `initdb` on PATH really lives (a symlink in
/// /usr/local/bin is followed, so `psql` is found beside it), or Debian's versioned folders.
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
        .map(|dir| {
            std::fs::canonicalize(dir.join("initdb"))
                .ok()
                .and_then(|initdb| initdb.parent().map(Path::to_path_buf))
                .filter(|real| real.join("pg_ctl").is_file())
                .unwrap_or(dir)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_cluster_with_tls_starts_and_answers_over_its_socket() {
        let cluster = PostgresCluster::start(&ClusterOptions {
            superuser_password: Some("pw-1".into()),
            tls: true,
            label: "selftest",
        })
        .unwrap();
        assert_eq!(cluster.psql("SHOW ssl").unwrap(), "on");
        assert_eq!(
            cluster.psql("SHOW password_encryption").unwrap(),
            "scram-sha-256"
        );
        let ca = std::fs::read_to_string(cluster.ca_certificate().unwrap()).unwrap();
        assert!(ca.starts_with("-----BEGIN CERTIFICATE-----"));
        let dir = cluster.dir().to_path_buf();
        drop(cluster);
        assert!(!dir.exists(), "the folder is removed on drop");
    }
}
