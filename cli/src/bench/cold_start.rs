//! Cold start and peak memory of a Lambda binary, measured against a stub of the Lambda Runtime
//! API (issue #10, item 3).
//!
//! Each run starts a fresh stub on `127.0.0.1` (a random port), spawns the binary with
//! `AWS_LAMBDA_RUNTIME_API` pointing at it and times from just before the spawn to the stub
//! reading the first `GET /2018-06-01/runtime/invocation/next`: process start, the binary's own
//! initialisation (configuration, AWS SDK, database pool) and the runtime client's first request.
//! That `/next` is answered with the event; once the invocation's `POST …/response` (or
//! `…/error`) has arrived, the stub holds the following `/next` open, as Lambda does while it
//! freezes an idle environment, and `VmHWM` (the peak resident set) is read from
//! `/proc/<pid>/status` before the process is killed. Linux only.
//!
//! Like Lambda, the process sees only the environment it is given: `PATH`, the variables Lambda
//! sets (`AWS_LAMBDA_FUNCTION_NAME`, `AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256`, `AWS_REGION=us-east-1`,
//! …, each overridden by the caller's `env`) and `AWS_LAMBDA_RUNTIME_API`. Its stdout and stderr
//! go to a file in the temporary directory that is kept, and named in the error, when a run fails.
//!
//! The stub is hand-rolled HTTP/1.1 over tokio TCP, serving what `lambda_runtime`'s hyper client
//! sends: keep-alive connections, `Content-Length` or chunked request bodies (streamed responses
//! carry their error in trailers), `Expect: 100-continue`.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, Context as _};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use postcall::domain::Transcript;

use super::{seed_calls, sqs_batches, BenchDb, Sizes};
use crate::dataset;

/// What one measurement found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ColdStart {
    /// The binary measured, as given.
    pub binary: String,
    /// How many times it was started.
    pub runs: usize,
    /// Per run: from just before the spawn to the stub reading the first `GET …/invocation/next`.
    pub first_next_ms: Vec<f64>,
    /// Median of `first_next_ms`.
    pub first_next_ms_median: f64,
    /// 95th percentile of `first_next_ms`, nearest rank.
    pub first_next_ms_p95: f64,
    /// Every run's invocation got a `POST …/response` (not `…/error`, nor an error trailer).
    pub response_ok: bool,
    /// The body the last run posted (the response, or the error's diagnostic).
    pub response_body: String,
    /// The largest `VmHWM` over the runs, read once the invocation was answered.
    pub peak_rss_kib: u64,
}

/// The release analyzer if built, else the debug one (a smoke run's cold start).
fn analyzer_binary(explicit: Option<&str>) -> Option<(PathBuf, &'static str)> {
    if let Some(path) = explicit {
        return Some((PathBuf::from(path), "as given"));
    }
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".to_string());
    [("release", "release"), ("debug", "debug")]
        .into_iter()
        .map(|(dir, build)| (Path::new(&target).join(dir).join("analyzer"), build))
        .find(|(path, _)| path.is_file())
}

pub(super) async fn bench_cold_start(
    db: &BenchDb,
    samples: &[(dataset::LabelledCall, Transcript)],
    sizes: &Sizes,
    explicit: Option<&str>,
) -> anyhow::Result<ColdStart> {
    let Some((binary, build)) = analyzer_binary(explicit) else {
        bail!("no analyzer binary: run `cargo build --release -p analyzer` (or pass --binary)");
    };
    eprintln!("  cold start of {} ({build} build)", binary.display());
    let url = db.schema("bench_cold").await?;
    let ids = seed_calls(&url, samples, 10, "cold").await?;
    let event = sqs_batches(&ids)
        .into_iter()
        .next()
        .context("a batch of 10")?;
    let event_json = serde_json::to_string(&event)?;
    let env = vec![
        ("DATABASE_URL".to_string(), url),
        ("ANALYZER".to_string(), "rules".to_string()),
        ("RUST_LOG".to_string(), "warn".to_string()),
    ];
    measure(&binary, &env, &event_json, sizes.cold_start_runs).await
}

/// Starts `binary` `runs` times against a fresh Runtime API stub that hands it `event_json` as
/// its one invocation; see the module documentation. Each step of a run (the first `/next`, the
/// answer, the following `/next`) must happen within 30 s, else the run fails; the process is
/// killed either way.
pub async fn measure(
    binary: &Path,
    env: &[(String, String)],
    event_json: &str,
    runs: usize,
) -> anyhow::Result<ColdStart> {
    measure_with(binary, env, event_json, runs, STEP_TIMEOUT).await
}

/// How long each step of a run may take.
const STEP_TIMEOUT: Duration = Duration::from_secs(30);
/// The Runtime API version prefix `lambda_runtime` requests.
const API: &str = "/2018-06-01/runtime";
/// Limits on what the stub reads, so that a confused client cannot exhaust memory.
const MAX_HEAD: usize = 64 * 1024;
const MAX_BODY: usize = 16 * 1024 * 1024;

async fn measure_with(
    binary: &Path,
    env: &[(String, String)],
    event_json: &str,
    runs: usize,
    step_timeout: Duration,
) -> anyhow::Result<ColdStart> {
    if runs == 0 {
        bail!("cold start needs at least one run");
    }
    serde_json::from_str::<serde_json::Value>(event_json)
        .context("the cold-start event is not JSON")?;
    let mut first_next_ms = Vec::with_capacity(runs);
    let mut response_ok = true;
    let mut response_body = String::new();
    let mut peak_rss_kib = 0;
    for run in 1..=runs {
        let found = run_once(binary, env, event_json, step_timeout)
            .await
            .with_context(|| format!("cold start of {}, run {run} of {runs}", binary.display()))?;
        first_next_ms.push(found.first_next.as_secs_f64() * 1000.0);
        response_ok &= found.response_ok;
        response_body = found.body;
        peak_rss_kib = peak_rss_kib.max(found.vm_hwm_kib);
    }
    let mut sorted = first_next_ms.clone();
    sorted.sort_by(f64::total_cmp);
    Ok(ColdStart {
        binary: binary.display().to_string(),
        runs,
        first_next_ms_median: median(&sorted),
        first_next_ms_p95: nearest_rank(&sorted, 95.0),
        first_next_ms,
        response_ok,
        response_body,
        peak_rss_kib,
    })
}

/// The median of sorted values (the mean of the middle two for an even count); NaN when empty.
fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    let mid = |i: usize| sorted.get(i).copied().unwrap_or(f64::NAN);
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => mid(n / 2),
        _ => (mid(n / 2 - 1) + mid(n / 2)) / 2.0,
    }
}

/// The `p`th percentile of sorted values by nearest rank: the smallest value with at least `p`%
/// of the values at or below it. NaN when empty.
fn nearest_rank(sorted: &[f64], p: f64) -> f64 {
    postcall::metrics::nearest_rank(sorted, p).unwrap_or(f64::NAN)
}

/// What one run found.
struct Run {
    first_next: Duration,
    response_ok: bool,
    body: String,
    vm_hwm_kib: u64,
}

async fn run_once(
    binary: &Path,
    env: &[(String, String)],
    event_json: &str,
    step_timeout: Duration,
) -> anyhow::Result<Run> {
    let given = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let function_name = given("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|| {
        binary.file_name().map_or_else(
            || "function".to_string(),
            |n| n.to_string_lossy().into_owned(),
        )
    });
    let region = given("AWS_REGION").unwrap_or_else(|| "us-east-1".to_string());
    let arn = format!("arn:aws:lambda:{region}:000000000000:function:{function_name}");
    let mut stub = Stub::start(vec![event_json.to_string()], arn).await?;

    let log_path = std::env::temp_dir().join(format!(
        "postcall-cold-start-{}-{}.log",
        std::process::id(),
        unique()
    ));
    let log = std::fs::File::create(&log_path)
        .with_context(|| format!("creating {}", log_path.display()))?;
    let mut command = tokio::process::Command::new(binary);
    command.env_clear();
    if let Some(path) = std::env::var_os("PATH") {
        command.env("PATH", path);
    }
    let defaults = [
        ("AWS_LAMBDA_FUNCTION_NAME", function_name.clone()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256".to_string()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_string()),
        (
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/{function_name}"),
        ),
        (
            "AWS_LAMBDA_LOG_STREAM_NAME",
            "2026/01/01/[$LATEST]cold-start".to_string(),
        ),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".to_string()),
        ("AWS_REGION", region.clone()),
        ("AWS_DEFAULT_REGION", region),
    ];
    command.envs(defaults);
    command.envs(env.iter().map(|(k, v)| (k, v)));
    command.env("AWS_LAMBDA_RUNTIME_API", stub.addr.to_string());
    command
        .stdin(Stdio::null())
        .stdout(log.try_clone().context("duplicating the log file")?)
        .stderr(log)
        .kill_on_drop(true);

    let (mut child, started) =
        spawn(&mut command).with_context(|| format!("starting {}", binary.display()))?;
    let outcome = match child.id() {
        Some(pid) => drive(&mut stub, &mut child, pid, started, step_timeout).await,
        None => Err(anyhow!("the process exited at once")),
    };
    // Always stop the process, whether or not the run succeeded.
    let _ = child.start_kill();
    let _ = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
    match outcome {
        Ok(run) => {
            let _ = std::fs::remove_file(&log_path);
            Ok(run)
        }
        Err(e) => Err(anyhow!(
            "{e:#}\n--- the process's output, kept in {}, ends: ---\n{}",
            log_path.display(),
            tail(&log_path, 2000).trim_end()
        )),
    }
}

/// Spawns, retrying briefly on "text file busy": a binary (or test script) written a moment ago
/// may still be open for writing in another thread's fork.
fn spawn(
    command: &mut tokio::process::Command,
) -> std::io::Result<(tokio::process::Child, Instant)> {
    let mut attempts = 0;
    loop {
        let started = Instant::now();
        match command.spawn() {
            Ok(child) => return Ok((child, started)),
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy && attempts < 5 => {
                attempts += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => return Err(e),
        }
    }
}

/// Follows one run through the stub's events: the first `/next`, the invocation's answer, the
/// next `/next` (held open); then reads the peak RSS.
async fn drive(
    stub: &mut Stub,
    child: &mut tokio::process::Child,
    pid: u32,
    started: Instant,
    step_timeout: Duration,
) -> anyhow::Result<Run> {
    let (first_next, request_id) = match next_event(
        stub,
        child,
        step_timeout,
        "ask for an invocation (GET /next)",
    )
    .await?
    {
        StubEvent::Next {
            at,
            request_id: Some(id),
        } => (at.saturating_duration_since(started), id),
        StubEvent::InitError { error_type, body } => {
            bail!("the process reported an init error ({error_type}) instead of asking for an invocation: {body}")
        }
        other => bail!("before asking for an invocation, the process sent {other}"),
    };
    let (response_ok, body) = match next_event(stub, child, step_timeout, "answer the invocation")
        .await?
    {
        StubEvent::Response {
            request_id: id,
            body,
            error_type,
        } if id == request_id => (error_type.is_none(), body),
        StubEvent::InvocationError {
            request_id: id,
            body,
            ..
        } if id == request_id => (false, body),
        other => bail!("instead of answering invocation {request_id}, the process sent {other}"),
    };
    match next_event(stub, child, step_timeout, "ask for the next invocation").await? {
        StubEvent::Next {
            request_id: None, ..
        } => {}
        other => bail!(
            "after answering, instead of asking for the next invocation the process sent {other}"
        ),
    }
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    let vm_hwm_kib =
        vm_hwm_kib(&status).with_context(|| format!("no VmHWM in /proc/{pid}/status"))?;
    Ok(Run {
        first_next,
        response_ok,
        body,
        vm_hwm_kib,
    })
}

/// The stub's next event, or an error when the process exits or `step_timeout` passes first.
async fn next_event(
    stub: &mut Stub,
    child: &mut tokio::process::Child,
    step_timeout: Duration,
    waiting_to: &str,
) -> anyhow::Result<StubEvent> {
    tokio::select! {
        biased;
        event = stub.events.recv() => event.context("the Runtime API stub stopped"),
        status = child.wait() => {
            let status = status.context("waiting for the process")?;
            Err(anyhow!("the process exited ({status}) before it could {waiting_to}"))
        }
        () = tokio::time::sleep(step_timeout) => {
            Err(anyhow!("the process did not {waiting_to} within {} s", step_timeout.as_secs_f64()))
        }
    }
}

/// `VmHWM` in KiB from the text of `/proc/<pid>/status`.
fn vm_hwm_kib(status: &str) -> Option<u64> {
    let line = status.lines().find_map(|l| l.strip_prefix("VmHWM:"))?;
    line.trim().strip_suffix("kB")?.trim().parse().ok()
}

/// The last `max` bytes of a file, lossily decoded.
fn tail(path: &Path, max: usize) -> String {
    match std::fs::read(path) {
        Ok(bytes) => {
            String::from_utf8_lossy(&bytes[bytes.len().saturating_sub(max)..]).into_owned()
        }
        Err(e) => format!("(unreadable: {e})"),
    }
}

/// A number no other call in this process returns.
fn unique() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/* ---------------------------------- the Runtime API stub ---------------------------------- */

/// What the stub saw, in the order it saw it.
#[derive(Debug)]
enum StubEvent {
    /// `GET /invocation/next`, read at `at`; `request_id` is the invocation it was given, `None`
    /// when none was left and the request is being held open.
    Next {
        at: Instant,
        request_id: Option<String>,
    },
    /// `POST /invocation/{id}/response`; `error_type` from a streamed response's trailer.
    Response {
        request_id: String,
        body: String,
        error_type: Option<String>,
    },
    /// `POST /invocation/{id}/error`.
    InvocationError {
        request_id: String,
        error_type: String,
        body: String,
    },
    /// `POST /init/error`.
    InitError { error_type: String, body: String },
    /// Any other request (answered 404).
    Unexpected { method: String, target: String },
    /// A request that could not be read (answered 400, connection closed).
    BadRequest(String),
}

impl std::fmt::Display for StubEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Next {
                request_id: Some(id),
                ..
            } => write!(f, "GET /next (given invocation {id})"),
            Self::Next {
                request_id: None, ..
            } => write!(f, "GET /next"),
            Self::Response {
                request_id,
                body,
                error_type,
            } => {
                write!(f, "a response to invocation {request_id}")?;
                if let Some(t) = error_type {
                    write!(f, " with error trailer {t}")?;
                }
                write!(f, ": {body}")
            }
            Self::InvocationError {
                request_id,
                error_type,
                body,
            } => {
                write!(
                    f,
                    "an error ({error_type}) for invocation {request_id}: {body}"
                )
            }
            Self::InitError { error_type, body } => {
                write!(f, "an init error ({error_type}): {body}")
            }
            Self::Unexpected { method, target } => {
                write!(f, "{method} {target}, which the stub does not serve")
            }
            Self::BadRequest(e) => write!(f, "a request the stub could not read ({e})"),
        }
    }
}

/// A Runtime API on a random loopback port that hands out a fixed list of invocations.
struct Stub {
    addr: SocketAddr,
    events: mpsc::UnboundedReceiver<StubEvent>,
    accept: tokio::task::JoinHandle<()>,
}

impl Drop for Stub {
    fn drop(&mut self) {
        // Aborting the accept loop drops its JoinSet, which aborts every connection.
        self.accept.abort();
    }
}

/// State the connections share.
struct Shared {
    invocations: Mutex<VecDeque<String>>,
    function_arn: String,
    events: mpsc::UnboundedSender<StubEvent>,
}

impl Stub {
    async fn start(invocations: Vec<String>, function_arn: String) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .context("binding the Runtime API stub to 127.0.0.1")?;
        let addr = listener.local_addr()?;
        let (tx, events) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            invocations: Mutex::new(invocations.into()),
            function_arn,
            events: tx,
        });
        let accept = tokio::spawn(accept_loop(listener, shared));
        Ok(Self {
            addr,
            events,
            accept,
        })
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    connections.spawn(serve(stream, Arc::clone(&shared)));
                }
                // Out of descriptors and the like: wait rather than spin.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
            Some(_) = connections.join_next() => {}
        }
    }
}

/// Serves requests on one connection until the client closes it or asks to.
async fn serve<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, shared: Arc<Shared>) {
    let emit = |event| {
        let _ = shared.events.send(event);
    };
    let mut buf = Vec::new();
    loop {
        let request = match read_message(&mut stream, &mut buf).await {
            Ok(Some(request)) => request,
            Ok(None) => return,
            Err(e) => {
                let text = format!("{e:#}");
                let _ = write_response(&mut stream, "400 Bad Request", &[], text.as_bytes(), true)
                    .await;
                emit(StubEvent::BadRequest(text));
                return;
            }
        };
        let at = Instant::now();
        let close = request.wants_close();
        let mut parts = request.start.split(' ');
        let method = parts.next().unwrap_or_default().to_string();
        let target = parts.next().unwrap_or_default().to_string();
        let path = target.split('?').next().unwrap_or_default();
        let route = path.strip_prefix(API).unwrap_or("");
        let body = String::from_utf8_lossy(&request.body).into_owned();
        let accepted = br#"{"status":"OK"}"#;
        let written = match (method.as_str(), route) {
            ("GET", "/invocation/next") => {
                let next = shared
                    .invocations
                    .lock()
                    .ok()
                    .and_then(|mut q| q.pop_front());
                let Some(event) = next else {
                    // Nothing left: hold the request open, as Lambda does while the environment
                    // is frozen. The task ends when the stub is dropped.
                    emit(StubEvent::Next {
                        at,
                        request_id: None,
                    });
                    std::future::pending::<()>().await;
                    return;
                };
                let request_id = request_id();
                let deadline = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis())
                    + 60_000;
                let headers = [
                    ("Lambda-Runtime-Aws-Request-Id", request_id.clone()),
                    ("Lambda-Runtime-Deadline-Ms", deadline.to_string()),
                    (
                        "Lambda-Runtime-Invoked-Function-Arn",
                        shared.function_arn.clone(),
                    ),
                    ("Lambda-Runtime-Trace-Id", trace_id()),
                ];
                emit(StubEvent::Next {
                    at,
                    request_id: Some(request_id),
                });
                write_response(&mut stream, "200 OK", &headers, event.as_bytes(), close).await
            }
            ("POST", "/init/error") => {
                emit(StubEvent::InitError {
                    error_type: request.header_or_empty("lambda-runtime-function-error-type"),
                    body,
                });
                write_response(&mut stream, "202 Accepted", &[], accepted, close).await
            }
            ("POST", r) if r.starts_with("/invocation/") && r.ends_with("/response") => {
                let request_id = invocation_id(r, "/response");
                let error_type = request
                    .header("lambda-runtime-function-error-type")
                    .map(str::to_string);
                emit(StubEvent::Response {
                    request_id,
                    body,
                    error_type,
                });
                write_response(&mut stream, "202 Accepted", &[], accepted, close).await
            }
            ("POST", r) if r.starts_with("/invocation/") && r.ends_with("/error") => {
                let request_id = invocation_id(r, "/error");
                let error_type = request.header_or_empty("lambda-runtime-function-error-type");
                emit(StubEvent::InvocationError {
                    request_id,
                    error_type,
                    body,
                });
                write_response(&mut stream, "202 Accepted", &[], accepted, close).await
            }
            _ => {
                emit(StubEvent::Unexpected { method, target });
                let body = br#"{"errorMessage":"not found","errorType":"InvalidRequest"}"#;
                write_response(&mut stream, "404 Not Found", &[], body, close).await
            }
        };
        if written.is_err() || close {
            return;
        }
    }
}

/// `{id}` from `/invocation/{id}{suffix}`.
fn invocation_id(route: &str, suffix: &str) -> String {
    route
        .strip_prefix("/invocation/")
        .and_then(|r| r.strip_suffix(suffix))
        .unwrap_or_default()
        .to_string()
}

/// A request id shaped like Lambda's (a UUID).
fn request_id() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "{:08x}-{:04x}-4000-8000-{:012x}",
        std::process::id(),
        nanos & 0xffff,
        unique()
    )
}

/// An X-Ray trace header shaped like Lambda's.
fn trace_id() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    format!(
        "Root=1-{:08x}-{:024x};Parent={:016x};Sampled=0",
        now.as_secs(),
        now.subsec_nanos(),
        unique()
    )
}

/// One HTTP/1.1 message: the start line, headers (names lowercased; a chunked body's trailers
/// appended) and the decoded body.
#[derive(Debug)]
struct Message {
    start: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Message {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn header_or_empty(&self, name: &str) -> String {
        self.header(name).unwrap_or_default().to_string()
    }

    /// `Connection: close`, or HTTP/1.0 without `Connection: keep-alive`.
    fn wants_close(&self) -> bool {
        let connection = self
            .header("connection")
            .unwrap_or_default()
            .to_ascii_lowercase();
        let tokens = || connection.split(',').map(str::trim);
        tokens().any(|t| t == "close")
            || (self.start.ends_with("HTTP/1.0") && !tokens().any(|t| t == "keep-alive"))
    }
}

/// Reads one message from `stream`, keeping any bytes past it in `buf` for the next call
/// (pipelining). `Ok(None)` when the peer closed the connection between messages.
async fn read_message<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    buf: &mut Vec<u8>,
) -> anyhow::Result<Option<Message>> {
    let head_end = loop {
        // Empty lines before a request line are to be ignored (RFC 9112 §2.2).
        while buf.starts_with(b"\r\n") {
            buf.drain(..2);
        }
        if let Some(i) = find(buf, b"\r\n\r\n") {
            break i;
        }
        if buf.len() > MAX_HEAD {
            bail!("request head longer than {MAX_HEAD} bytes");
        }
        if read_more(stream, buf).await? == 0 {
            if buf.is_empty() {
                return Ok(None);
            }
            bail!("connection closed in the middle of a request head");
        }
    };
    let head = String::from_utf8(buf.drain(..head_end + 4).collect())
        .context("request head is not UTF-8")?;
    let mut lines = head.trim_end_matches("\r\n").split("\r\n");
    let start = lines.next().unwrap_or_default().to_string();
    if start.split(' ').count() < 3 {
        bail!("malformed start line {start:?}");
    }
    let mut headers = Vec::new();
    for line in lines {
        headers.push(header_line(line)?);
    }
    let mut message = Message {
        start,
        headers,
        body: Vec::new(),
    };

    let chunked = match message.header("transfer-encoding") {
        None => false,
        Some(te)
            if te
                .rsplit(',')
                .next()
                .is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked")) =>
        {
            true
        }
        Some(te) => bail!("unsupported transfer-encoding {te:?}"),
    };
    let length = match (chunked, message.header("content-length")) {
        (false, Some(n)) => n
            .trim()
            .parse::<usize>()
            .with_context(|| format!("bad content-length {n:?}"))?,
        _ => 0,
    };
    if length > MAX_BODY {
        bail!("body of {length} bytes is over the stub's {MAX_BODY}");
    }
    let expects_body = chunked || length > 0;
    if expects_body
        && buf.is_empty()
        && message
            .header("expect")
            .is_some_and(|e| e.eq_ignore_ascii_case("100-continue"))
    {
        stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await?;
    }
    if chunked {
        message.body = read_chunked(stream, buf, &mut message.headers).await?;
    } else {
        fill(stream, buf, length).await?;
        message.body = buf.drain(..length).collect();
    }
    Ok(Some(message))
}

/// A chunked body, decoded; trailer fields are appended to `headers`.
async fn read_chunked<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut Vec<u8>,
    headers: &mut Vec<(String, String)>,
) -> anyhow::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line = read_line(stream, buf).await?;
        let size = line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size, 16)
            .with_context(|| format!("bad chunk size line {line:?}"))?;
        if size == 0 {
            loop {
                let trailer = read_line(stream, buf).await?;
                if trailer.is_empty() {
                    return Ok(body);
                }
                headers.push(header_line(&trailer)?);
            }
        }
        if body.len() + size > MAX_BODY {
            bail!("chunked body over the stub's {MAX_BODY} bytes");
        }
        fill(stream, buf, size + 2).await?;
        body.extend(buf.drain(..size));
        if !buf.starts_with(b"\r\n") {
            bail!("chunk of {size} bytes not followed by CRLF");
        }
        buf.drain(..2);
    }
}

/// `name: value`, the name lowercased and the value trimmed.
fn header_line(line: &str) -> anyhow::Result<(String, String)> {
    match line.split_once(':') {
        Some((name, value)) if !name.is_empty() && !name.contains([' ', '\t']) => {
            Ok((name.to_ascii_lowercase(), value.trim().to_string()))
        }
        _ => bail!("malformed header line {line:?}"),
    }
}

/// One CRLF-terminated line (without the CRLF).
async fn read_line<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut Vec<u8>,
) -> anyhow::Result<String> {
    loop {
        if let Some(i) = find(buf, b"\r\n") {
            let line: Vec<u8> = buf.drain(..i + 2).take(i).collect();
            return String::from_utf8(line).context("line is not UTF-8");
        }
        if buf.len() > MAX_HEAD {
            bail!("line longer than {MAX_HEAD} bytes");
        }
        if read_more(stream, buf).await? == 0 {
            bail!("connection closed in the middle of a chunked body");
        }
    }
}

/// Reads until `buf` holds at least `n` bytes.
async fn fill<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut Vec<u8>,
    n: usize,
) -> anyhow::Result<()> {
    while buf.len() < n {
        if read_more(stream, buf).await? == 0 {
            bail!("connection closed {} bytes short of a body", n - buf.len());
        }
    }
    Ok(())
}

async fn read_more<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut Vec<u8>,
) -> std::io::Result<usize> {
    let mut chunk = [0u8; 8192];
    let n = stream.read(&mut chunk).await?;
    buf.extend_from_slice(&chunk[..n]);
    Ok(n)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

async fn write_response<S: AsyncWrite + Unpin>(
    stream: &mut S,
    status: &str,
    headers: &[(&str, String)],
    body: &[u8],
    close: bool,
) -> std::io::Result<()> {
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    if close {
        out.push_str("Connection: close\r\n");
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    stream.write_all(&bytes).await?;
    stream.flush().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpStream;

    const NEXT: &[u8] =
        b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n";
    const EVENT: &str = r#"{"Records":[{"messageId":"m-1","body":"{\"callId\":\"bench-x\"}"}]}"#;

    async fn response(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Message {
        tokio::time::timeout(Duration::from_secs(2), read_message(stream, buf))
            .await
            .expect("the stub answers within 2 s")
            .expect("a well-formed response")
            .expect("a response, not a closed connection")
    }

    async fn event(stub: &mut Stub) -> StubEvent {
        tokio::time::timeout(Duration::from_secs(2), stub.events.recv())
            .await
            .expect("an event within 2 s")
            .expect("the stub is running")
    }

    #[tokio::test]
    async fn stub_speaks_the_runtime_api_on_one_keep_alive_connection() {
        let arn = "arn:aws:lambda:us-east-1:000000000000:function:analyzer".to_string();
        let mut stub = Stub::start(vec![EVENT.to_string()], arn.clone())
            .await
            .unwrap();
        let mut stream = TcpStream::connect(stub.addr).await.unwrap();
        let mut buf = Vec::new();

        // The invocation, with every header the runtime client reads.
        stream.write_all(NEXT).await.unwrap();
        let next = response(&mut stream, &mut buf).await;
        assert_eq!(next.start, "HTTP/1.1 200 OK");
        assert_eq!(String::from_utf8(next.body.clone()).unwrap(), EVENT);
        assert_eq!(next.header("content-type"), Some("application/json"));
        assert_eq!(
            next.header("lambda-runtime-invoked-function-arn"),
            Some(arn.as_str())
        );
        assert!(next
            .header("lambda-runtime-trace-id")
            .unwrap()
            .starts_with("Root=1-"));
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis();
        let deadline: u128 = next
            .header("lambda-runtime-deadline-ms")
            .unwrap()
            .parse()
            .unwrap();
        assert!(
            (now_ms + 55_000..now_ms + 65_000).contains(&deadline),
            "deadline {deadline}, now {now_ms}"
        );
        let id = next
            .header("lambda-runtime-aws-request-id")
            .unwrap()
            .to_string();
        assert_eq!(id.len(), 36, "{id}");
        match event(&mut stub).await {
            StubEvent::Next {
                request_id: Some(seen),
                ..
            } => assert_eq!(seen, id),
            other => panic!("{other:?}"),
        }

        // Its response with a Content-Length body, on the same connection.
        let body = r#"{"batchItemFailures":[]}"#;
        let post = format!(
            "POST /2018-06-01/runtime/invocation/{id}/response HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(post.as_bytes()).await.unwrap();
        let accepted = response(&mut stream, &mut buf).await;
        assert_eq!(accepted.start, "HTTP/1.1 202 Accepted");
        assert_eq!(accepted.body, br#"{"status":"OK"}"#);
        match event(&mut stub).await {
            StubEvent::Response {
                request_id,
                body: seen,
                error_type: None,
            } => {
                assert_eq!(request_id, id);
                assert_eq!(seen, body);
            }
            other => panic!("{other:?}"),
        }

        // Two requests in one write: an error with a chunked body (an extension, a trailer) and an
        // init error; then a path the API does not have.
        let pipelined = format!(
            "POST /2018-06-01/runtime/invocation/{id}/error HTTP/1.1\r\nHost: x\r\n\
             Lambda-Runtime-Function-Error-Type: unhandled\r\nTransfer-Encoding: chunked\r\n\r\n\
             7;ext=1\r\n{{\"a\":1,\r\n8\r\n\"b\":[2]}}\r\n0\r\nX-Trailer: t\r\n\r\n\
             POST /2018-06-01/runtime/init/error HTTP/1.1\r\nHost: x\r\n\
             Lambda-Runtime-Function-Error-Type: Runtime.InitError\r\nContent-Length: 2\r\n\r\n{{}}\
             GET /2018-06-01/runtime/restore/next HTTP/1.1\r\nHost: x\r\n\r\n"
        );
        stream.write_all(pipelined.as_bytes()).await.unwrap();
        assert_eq!(
            response(&mut stream, &mut buf).await.start,
            "HTTP/1.1 202 Accepted"
        );
        assert_eq!(
            response(&mut stream, &mut buf).await.start,
            "HTTP/1.1 202 Accepted"
        );
        assert_eq!(
            response(&mut stream, &mut buf).await.start,
            "HTTP/1.1 404 Not Found"
        );
        match event(&mut stub).await {
            StubEvent::InvocationError {
                request_id,
                error_type,
                body,
            } => {
                assert_eq!(
                    (request_id.as_str(), error_type.as_str()),
                    (id.as_str(), "unhandled")
                );
                assert_eq!(body, r#"{"a":1,"b":[2]}"#);
            }
            other => panic!("{other:?}"),
        }
        match event(&mut stub).await {
            StubEvent::InitError { error_type, body } => assert_eq!(
                (error_type.as_str(), body.as_str()),
                ("Runtime.InitError", "{}")
            ),
            other => panic!("{other:?}"),
        }
        match event(&mut stub).await {
            StubEvent::Unexpected { method, target } => assert_eq!(
                (method.as_str(), target.as_str()),
                ("GET", "/2018-06-01/runtime/restore/next")
            ),
            other => panic!("{other:?}"),
        }

        // No invocation left: the next /next is seen and held open.
        stream.write_all(NEXT).await.unwrap();
        match event(&mut stub).await {
            StubEvent::Next {
                request_id: None, ..
            } => {}
            other => panic!("{other:?}"),
        }
        let held = tokio::time::timeout(
            Duration::from_millis(200),
            read_message(&mut stream, &mut buf),
        )
        .await;
        assert!(held.is_err(), "the held /next was answered: {held:?}");
    }

    #[tokio::test]
    async fn stub_closes_when_asked_and_serves_a_new_connection() {
        let mut stub = Stub::start(vec!["{}".to_string(), "[1]".to_string()], "arn".to_string())
            .await
            .unwrap();
        let mut buf = Vec::new();
        let mut first = TcpStream::connect(stub.addr).await.unwrap();
        first
            .write_all(
                b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nConnection: close\r\n\r\n",
            )
            .await
            .unwrap();
        let next = response(&mut first, &mut buf).await;
        assert_eq!(
            (next.body.as_slice(), next.header("connection")),
            (&b"{}"[..], Some("close"))
        );
        let after =
            tokio::time::timeout(Duration::from_secs(2), read_message(&mut first, &mut buf))
                .await
                .unwrap();
        assert!(
            matches!(after, Ok(None)),
            "the connection stays open: {after:?}"
        );

        let mut second = TcpStream::connect(stub.addr).await.unwrap();
        second.write_all(NEXT).await.unwrap();
        assert_eq!(response(&mut second, &mut buf).await.body, b"[1]");
        // A malformed request is answered 400 and reported.
        second
            .write_all(b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
            .await
            .unwrap();
        assert_eq!(
            response(&mut second, &mut buf).await.start,
            "HTTP/1.1 400 Bad Request"
        );
        let mut kinds = Vec::new();
        for _ in 0..3 {
            kinds.push(match event(&mut stub).await {
                StubEvent::Next {
                    request_id: Some(_),
                    ..
                } => "next",
                StubEvent::BadRequest(e) => {
                    assert!(e.contains("chunk size"), "{e}");
                    "bad"
                }
                other => panic!("{other:?}"),
            });
        }
        assert_eq!(kinds, ["next", "next", "bad"]);
    }

    #[tokio::test]
    async fn requests_arriving_a_byte_at_a_time_and_expecting_100_continue() {
        let (mut client, server) = tokio::io::duplex(64);
        let (tx, mut events) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            invocations: Mutex::new(VecDeque::new()),
            function_arn: String::new(),
            events: tx,
        });
        let server = tokio::spawn(serve(server, shared));
        let request = b"POST /2018-06-01/runtime/invocation/abc/response HTTP/1.1\r\n\
                        Expect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n";
        for byte in request {
            client.write_all(&[*byte]).await.unwrap();
        }
        let mut buf = Vec::new();
        let continued =
            tokio::time::timeout(Duration::from_secs(2), read_line(&mut client, &mut buf))
                .await
                .unwrap()
                .unwrap();
        assert_eq!(continued, "HTTP/1.1 100 Continue");
        for byte in b"3\r\n[1]\r\n0\r\nLambda-Runtime-Function-Error-Type: Stream.Error\r\n\r\n" {
            client.write_all(&[*byte]).await.unwrap();
        }
        buf.clear();
        let accepted =
            tokio::time::timeout(Duration::from_secs(2), read_message(&mut client, &mut buf))
                .await
                .unwrap()
                .unwrap()
                .unwrap();
        assert_eq!(accepted.start, "HTTP/1.1 202 Accepted");
        match events.recv().await.unwrap() {
            StubEvent::Response {
                request_id,
                body,
                error_type,
            } => {
                assert_eq!((request_id.as_str(), body.as_str()), ("abc", "[1]"));
                assert_eq!(error_type.as_deref(), Some("Stream.Error"));
            }
            other => panic!("{other:?}"),
        }
        drop(client);
        tokio::time::timeout(Duration::from_secs(2), server)
            .await
            .unwrap()
            .unwrap();
    }

    #[test]
    fn percentiles_and_vm_hwm() {
        let values: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(nearest_rank(&values, 95.0), 19.0);
        assert_eq!(nearest_rank(&values, 100.0), 20.0);
        assert_eq!(nearest_rank(&[7.0], 95.0), 7.0);
        assert_eq!(median(&values), 10.5);
        assert_eq!(median(&[1.0, 2.0, 9.0]), 2.0);
        assert!(median(&[]).is_nan() && nearest_rank(&[], 95.0).is_nan());

        let status = "Name:\tanalyzer\nVmPeak:\t  900 kB\nVmHWM:\t   23456 kB\nVmRSS:\t 20000 kB\n";
        assert_eq!(vm_hwm_kib(status), Some(23456));
        assert_eq!(vm_hwm_kib("VmRSS:\t 1 kB\n"), None);
        let own = std::fs::read_to_string("/proc/self/status").unwrap();
        assert!(vm_hwm_kib(&own).unwrap() > 0);
    }

    /// A shell script standing in for a Lambda binary: `bash` speaking the Runtime API over
    /// `/dev/tcp`, so `measure` is exercised end to end without building anything.
    const FAKE_RUNTIME: &str = r#"#!/bin/bash
set -eu
exec 3<>"/dev/tcp/${AWS_LAMBDA_RUNTIME_API%:*}/${AWS_LAMBDA_RUNTIME_API#*:}"
read_response() {
  id=; len=0
  while IFS= read -r line <&3; do
    line=${line%$'\r'}
    [ -z "$line" ] && break
    case "${line,,}" in
      lambda-runtime-aws-request-id:*) id=${line#*: } ;;
      content-length:*) len=${line#*: } ;;
    esac
  done
  body=
  [ "$len" -gt 0 ] && IFS= read -r -N "$len" body <&3
  return 0
}
[ "$AWS_LAMBDA_FUNCTION_MEMORY_SIZE" = 256 ] && [ "$AWS_REGION" = eu-west-1 ] && [ -z "${HOME:-}" ]
printf 'GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n' >&3
read_response
answer="{\"echo\":$body,\"function\":\"$AWS_LAMBDA_FUNCTION_NAME\"}"
printf 'POST /2018-06-01/runtime/invocation/%s/%s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s' \
  "$id" "$OUTCOME" "${#answer}" "$answer" >&3
read_response
printf 'GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n' >&3
read -r line <&3 || true
"#;

    #[tokio::test]
    async fn measure_follows_a_process_through_one_invocation() {
        let dir =
            std::env::temp_dir().join(format!("postcall-cold-start-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let script = |name: &str, text: &str| {
            use std::os::unix::fs::PermissionsExt as _;
            let path = dir.join(name);
            std::fs::write(&path, text).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
            path
        };
        let fake = script("fake-runtime", FAKE_RUNTIME);
        let env = |outcome: &str| {
            vec![
                ("OUTCOME".to_string(), outcome.to_string()),
                ("AWS_REGION".to_string(), "eu-west-1".to_string()),
            ]
        };

        let found = measure(&fake, &env("response"), EVENT, 3).await.unwrap();
        assert_eq!((found.runs, found.first_next_ms.len()), (3, 3));
        assert!(
            found
                .first_next_ms
                .iter()
                .all(|ms| *ms > 0.0 && *ms < 2000.0),
            "{found:?}"
        );
        assert!(found.first_next_ms_median <= found.first_next_ms_p95);
        assert!(found.response_ok);
        let body: serde_json::Value = serde_json::from_str(&found.response_body).unwrap();
        assert_eq!(
            body["echo"],
            serde_json::from_str::<serde_json::Value>(EVENT).unwrap()
        );
        assert_eq!(body["function"], "fake-runtime");
        assert!(found.peak_rss_kib > 0);

        let failed = measure(&fake, &env("error"), EVENT, 1).await.unwrap();
        assert!(!failed.response_ok);

        // A process that exits, or never asks, fails the measurement with its output.
        let exits = script(
            "exits",
            "#!/bin/sh\necho 'missing DATABASE_URL' >&2\nexit 3\n",
        );
        let err = format!("{:#}", measure(&exits, &[], EVENT, 1).await.unwrap_err());
        assert!(
            err.contains("exited") && err.contains("missing DATABASE_URL"),
            "{err}"
        );
        let silent = script("silent", "#!/bin/sh\nexec sleep 30\n");
        let started = Instant::now();
        let err = format!(
            "{:#}",
            measure_with(&silent, &[], EVENT, 1, Duration::from_millis(300))
                .await
                .unwrap_err()
        );
        assert!(err.contains("did not ask for an invocation"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(measure(&fake, &[], "not json", 1).await.is_err());
        assert!(measure(&fake, &[], EVENT, 0).await.is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
