//! `postcall dashboard` as a user runs it: the real binary on 127.0.0.1 against a Postgres
//! schema of its own, read by Debian's Chromium (headless). scripts/test installs Chromium when
//! it is missing; without it this test fails, it never skips.
//!
//! Screenshots are kept as artifacts: target/dashboard.png (laptop), target/dashboard-phone.png
//! and target/dashboard-call.png (one call with an injected `<script>` in its transcript).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{
    io::{BufRead as _, BufReader, Read as _, Write as _},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::Duration,
};

use postcall::{adapters::postgres::PgStore, config::DatabaseConfig};
use tokio_postgres::NoTls;

const TOKEN: &str = "cli-dashboard-test-token-0123456";
const INJECTED: &str = "<script>document.title='pwned'</script>";
const INJECTED_NAME: &str = "<img src=x onerror=\"document.title='pwned-name'\">";

fn admin_url() -> String {
    std::env::var("POSTCALL_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

fn short_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_string()
}

async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .expect("postgres at 127.0.0.1:5432 answers");
    tokio::spawn(connection);
    client
}

/// A migrated schema of its own with three recent analyzed calls from two agents over three
/// days, one of them with markup in the caller's name and in the transcript.
struct Fixture {
    schema: String,
    url: String,
    injected_call: String,
}

impl Fixture {
    async fn create() -> Self {
        let schema = format!("t_{}", short_id());
        connect(&admin_url())
            .await
            .batch_execute(&format!("CREATE SCHEMA {schema}"))
            .await
            .unwrap();
        let sep = if admin_url().contains('?') { '&' } else { '?' };
        let url = format!("{}{sep}options=-c%20search_path%3D{schema}", admin_url());
        PgStore::new(DatabaseConfig::from_url(&url), None)
            .migrate()
            .await
            .unwrap();
        let db = connect(&url).await;
        let injected_call = format!("dash-xss-{}", short_id());
        let calls = [
            (
                format!("dash-a-{}", short_id()),
                "agent-maya",
                "Dana Whitfield",
                97,
                0.6,
                1,
            ),
            (
                format!("dash-b-{}", short_id()),
                "agent-omar",
                "Marcus Bell",
                72,
                -0.3,
                3,
            ),
            (
                injected_call.clone(),
                "agent-maya",
                INJECTED_NAME,
                55,
                0.1,
                5,
            ),
        ];
        for (id, agent, name, score, sentiment, hours_ago) in &calls {
            db.execute(
                r#"INSERT INTO "Call" (id, "fromNumber", "agentId", "startedAt", "endedAt")
                   VALUES ($1, '+14155550100', $2, now() - make_interval(hours => $3) - interval '3 minutes',
                           now() - make_interval(hours => $3))"#,
                &[id, agent, hours_ago],
            )
            .await
            .unwrap();
            db.execute(
                r#"INSERT INTO "Analytics" ("callId", sentiment, "leadScore", intent, entities, summary, "nextAction", analyzer)
                   VALUES ($1, $2, $3, 'sales', $4, 'Wants a quote.', 'Call back', 'rules-v2')"#,
                &[id, sentiment, score, &serde_json::json!({"name": name, "email": null, "topic": "solar"})],
            )
            .await
            .unwrap();
        }
        // Earlier days for the trend.
        for (i, days_ago) in [1, 2].iter().enumerate() {
            let id = format!("dash-old-{i}-{}", short_id());
            db.execute(
                r#"INSERT INTO "Call" (id, "agentId", "endedAt") VALUES ($1, 'agent-omar', now() - make_interval(days => $2))"#,
                &[&id, days_ago],
            )
            .await
            .unwrap();
            db.execute(
                r#"INSERT INTO "Analytics" ("callId", sentiment, "leadScore", intent) VALUES ($1, 0.4, 10, 'info')"#,
                &[&id],
            )
            .await
            .unwrap();
        }
        let turns = [
            ("agent", "Thanks for calling, how can I help?"),
            ("user", INJECTED),
            ("agent", "I can send you a quote today."),
        ];
        for (i, (role, text)) in turns.iter().enumerate() {
            db.execute(
                r#"INSERT INTO "Turn" (id, "callId", role, text, "startedAt")
                   VALUES ($1, $2, $3, $4, now() - interval '5 hours' + make_interval(secs => $5))"#,
                &[
                    &format!("{injected_call}-{i}"),
                    &injected_call,
                    role,
                    text,
                    &(i as f64 * 10.0),
                ],
            )
            .await
            .unwrap();
        }
        Self {
            schema,
            url,
            injected_call,
        }
    }

    async fn drop(self) {
        connect(&admin_url())
            .await
            .batch_execute(&format!("DROP SCHEMA {} CASCADE", self.schema))
            .await
            .unwrap();
    }
}

/// `postcall dashboard --port 0`, stopped on drop.
struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    base: String,
    /// The link it printed: `http://127.0.0.1:PORT/?token=…`.
    open: String,
}

impl Server {
    fn start(database_url: &str) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_postcall"))
            .args(["dashboard", "--port", "0", "--database-url", database_url])
            .env("DASHBOARD_TOKEN", TOKEN)
            .env_remove("DASHBOARD_AUTH")
            .env_remove("DATABASE_URL")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (lines, received) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                if lines.send(line.unwrap_or_default()).is_err() {
                    break;
                }
            }
        });
        let open = loop {
            match received.recv_timeout(Duration::from_secs(60)) {
                Ok(line) => {
                    if let Some(url) = line.strip_prefix("open: ") {
                        break url.to_string();
                    }
                }
                Err(e) => panic!("postcall dashboard printed no link: {e}"),
            }
        };
        let base = open.split("/?").next().unwrap().to_string();
        Self { child, base, open }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A plain HTTP/1.1 GET: (status, body).
fn http_get(base: &str, path: &str, authorization: Option<&str>) -> (u16, String) {
    let address = base.strip_prefix("http://").unwrap();
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let auth = authorization
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\n{auth}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

fn target_dir() -> PathBuf {
    // CARGO_TARGET_TMPDIR is <target>/tmp.
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Runs headless Chromium on `url` with a fresh profile: `--dump-dom` (returned) or a
/// screenshot. The virtual time budget lets the page's fetches and rendering finish first.
fn chromium(url: &str, window: (u32, u32), screenshot: Option<&Path>) -> String {
    let profile = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("chromium-{}", short_id()));
    let mut command = Command::new("timeout");
    command.args(["90", "chromium"]).args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        "--virtual-time-budget=10000",
    ]);
    command
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--window-size={},{}", window.0, window.1));
    match screenshot {
        Some(path) => command.arg(format!("--screenshot={}", path.display())),
        None => command.arg("--dump-dom"),
    };
    let output = command.arg(url).output().unwrap_or_else(|e| {
        panic!("cannot run chromium ({e}); scripts/test installs Debian's chromium")
    });
    let _ = std::fs::remove_dir_all(&profile);
    assert!(
        output.status.success(),
        "chromium failed ({}); is Debian's chromium installed (scripts/test: apt-get install chromium)?\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test]
async fn chromium_shows_the_leads_the_trend_chart_and_a_call_whose_injected_script_stays_text() {
    let fixture = Fixture::create().await;
    let server = Server::start(&fixture.url);
    let target = target_dir();
    let call_url = format!("{}#/calls/{}", server.open, fixture.injected_call);

    let overview = chromium(&server.open, (1280, 1000), None);
    let call = chromium(&call_url, (1280, 1000), None);
    // The notifier's "Open the call" link: {DASHBOARD_URL}/calls/{id}.
    let linked = chromium(
        &format!(
            "{}/calls/{}?token={TOKEN}",
            server.base, fixture.injected_call
        ),
        (1280, 1000),
        None,
    );
    for (file, url, window) in [
        ("dashboard.png", &server.open, (1280, 1100)),
        ("dashboard-phone.png", &server.open, (390, 1400)),
        ("dashboard-call.png", &call_url, (1280, 900)),
    ] {
        let path = target.join(file);
        let _ = std::fs::remove_file(&path);
        chromium(url, window, Some(&path));
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        assert!(size > 10_000, "{} is {size} bytes", path.display());
    }

    // The overview: one row per lead of the last 24 h, highest score first, and a chart per agent.
    assert_eq!(
        overview.matches("class=\"lead-row\"").count(),
        3,
        "{overview}"
    );
    let dana = overview.find("Dana Whitfield").expect("Dana's row");
    let marcus = overview.find("Marcus Bell").expect("Marcus's row");
    assert!(dana < marcus);
    assert_eq!(
        overview.matches("class=\"trend-chart\"").count(),
        2,
        "{overview}"
    );
    assert!(overview.contains("data-agent=\"agent-omar\""));
    assert!(overview.contains("<polyline"), "{overview}");
    // The caller's "name" is shown as text, never made an element.
    assert!(overview.contains("&lt;img src=x onerror="), "{overview}");
    assert!(!overview.contains("<img"), "{overview}");
    assert!(overview.contains("<title>postcall dashboard</title>"));

    // The call: its transcript in order, the injected script as text, and it never ran.
    let escaped = "&lt;script&gt;document.title='pwned'&lt;/script&gt;";
    assert!(call.contains(escaped), "{call}");
    assert!(!call.contains(INJECTED), "{call}");
    assert!(call.contains("<title>postcall dashboard</title>"), "{call}");
    assert!(!call.contains("pwned</title>"));
    let first = call.find("Thanks for calling").unwrap();
    let second = call.find(escaped).unwrap();
    let third = call.find("I can send you a quote today.").unwrap();
    assert!(first < second && second < third);
    assert!(call.contains("Wants a quote."));
    assert!(linked.contains(escaped), "{linked}");
    assert!(linked.contains("Thanks for calling"));

    // Without the token nothing is served.
    assert_eq!(http_get(&server.base, "/", None).0, 401);
    assert_eq!(http_get(&server.base, "/api/top-leads", None).0, 401);
    let wrong = http_get(
        &server.base,
        "/api/top-leads",
        Some("Bearer not-the-token-000000"),
    );
    assert_eq!(wrong.0, 401);
    let (status, body) = http_get(
        &server.base,
        "/api/top-leads?hours=24&limit=20",
        Some(&format!("Bearer {TOKEN}")),
    );
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Dana Whitfield"));

    drop(server);
    fixture.drop().await;
}

#[test]
fn the_dashboard_refuses_to_start_without_a_token() {
    let output = Command::new(env!("CARGO_BIN_EXE_postcall"))
        .args(["dashboard", "--port", "0"])
        .env_remove("DASHBOARD_TOKEN")
        .output()
        .unwrap();
    let short = Command::new(env!("CARGO_BIN_EXE_postcall"))
        .args(["dashboard", "--port", "0"])
        .env("DASHBOARD_TOKEN", "short")
        .output()
        .unwrap();

    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("DASHBOARD_TOKEN is not set"));
    assert!(!short.status.success());
    let stderr = String::from_utf8_lossy(&short.stderr);
    assert!(stderr.contains("shorter than 16 characters"), "{stderr}");
    assert!(!stderr.contains("short\n"), "{stderr}");
}
