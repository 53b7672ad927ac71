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
//! The stub serves HTTP/1.1 with hyper's server over tokio TCP, so it reads what `lambda_runtime`'s
//! hyper client sends as hyper reads it: keep-alive connections, `Content-Length` or chunked
//! request bodies (streamed responses carry their error in trailers), `Expect: 100-continue`.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, Context as _};
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::{Body as _, Incoming};
use hyper::header::{HeaderMap, HeaderName, HeaderValue, CONNECTION, CONTENT_TYPE};
use hyper::{server::conn::http1, service::service_fn, Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
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
    let ids = seed_calls(db, &url, samples, 10, "cold").await?;
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
/// Limits on what the stub reads, so that a confused client cannot exhaust memory: a request's
/// head (and a chunked body's trailers), and its body.
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
    /// A request that could not be read (answered 400, or 431 for an oversized head; the
    /// connection closed), or a connection that broke off in the middle of a request.
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

impl Shared {
    fn emit(&self, event: StubEvent) {
        let _ = self.events.send(event);
    }
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

/// Serves requests on one connection with hyper until the client closes it or asks to. A request
/// hyper cannot parse is answered by hyper itself (400, or 431 for a head over `MAX_HEAD`) and
/// reported; so is a connection that breaks off in the middle of a request.
async fn serve(stream: TcpStream, shared: Arc<Shared>) {
    let service = {
        let shared = Arc::clone(&shared);
        service_fn(move |request: Request<Incoming>| {
            let shared = Arc::clone(&shared);
            async move { Ok::<_, Infallible>(answer(&shared, request).await) }
        })
    };
    let served = http1::Builder::new()
        .max_header_size(MAX_HEAD)
        .serve_connection(TokioIo::new(stream), service)
        .await;
    if let Err(e) = served {
        shared.emit(StubEvent::BadRequest(error_chain(&e)));
    }
}

/// Answers one request, reporting it to the measuring code.
async fn answer(shared: &Shared, request: Request<Incoming>) -> Response<Full<Bytes>> {
    // The instant the request's head was read: for the first `/next`, the end of the cold start.
    let at = Instant::now();
    let (head, body) = request.into_parts();
    let (body, trailers) = match read_body(body).await {
        Ok(read) => read,
        Err(e) => {
            shared.emit(StubEvent::BadRequest(e.clone()));
            let mut response = respond(StatusCode::BAD_REQUEST, Bytes::from(e));
            // The rest of the body cannot be found: end the connection, as hyper would.
            response
                .headers_mut()
                .insert(CONNECTION, HeaderValue::from_static("close"));
            return response;
        }
    };
    // A header field, else (a streamed response's error) the trailer field of that name.
    let field = |name: &str| {
        head.headers
            .get(name)
            .or_else(|| trailers.as_ref().and_then(|t| t.get(name)))
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    };
    let error_type = || field("lambda-runtime-function-error-type");
    let body = String::from_utf8_lossy(&body).into_owned();
    let accepted = || {
        respond(
            StatusCode::ACCEPTED,
            Bytes::from_static(br#"{"status":"OK"}"#),
        )
    };
    let route = head.uri.path().strip_prefix(API).unwrap_or("");
    match (&head.method, route) {
        (&Method::GET, "/invocation/next") => {
            let next = shared
                .invocations
                .lock()
                .ok()
                .and_then(|mut q| q.pop_front());
            let Some(event) = next else {
                // Nothing left: hold the request open, as Lambda does while the environment is
                // frozen. The connection's task ends when the stub is dropped.
                shared.emit(StubEvent::Next {
                    at,
                    request_id: None,
                });
                return std::future::pending().await;
            };
            let request_id = request_id();
            let deadline = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis())
                + 60_000;
            let mut response = respond(StatusCode::OK, Bytes::from(event));
            let headers = [
                ("lambda-runtime-aws-request-id", request_id.clone()),
                ("lambda-runtime-deadline-ms", deadline.to_string()),
                (
                    "lambda-runtime-invoked-function-arn",
                    shared.function_arn.clone(),
                ),
                ("lambda-runtime-trace-id", trace_id()),
            ];
            for (name, value) in headers {
                // A value hyper refuses (a caller's function name with control characters) is left out.
                if let Ok(value) = HeaderValue::try_from(value) {
                    response
                        .headers_mut()
                        .insert(HeaderName::from_static(name), value);
                }
            }
            shared.emit(StubEvent::Next {
                at,
                request_id: Some(request_id),
            });
            response
        }
        (&Method::POST, "/init/error") => {
            shared.emit(StubEvent::InitError {
                error_type: error_type().unwrap_or_default(),
                body,
            });
            accepted()
        }
        (&Method::POST, r) if r.starts_with("/invocation/") && r.ends_with("/response") => {
            shared.emit(StubEvent::Response {
                request_id: invocation_id(r, "/response"),
                body,
                error_type: error_type(),
            });
            accepted()
        }
        (&Method::POST, r) if r.starts_with("/invocation/") && r.ends_with("/error") => {
            shared.emit(StubEvent::InvocationError {
                request_id: invocation_id(r, "/error"),
                error_type: error_type().unwrap_or_default(),
                body,
            });
            accepted()
        }
        _ => {
            shared.emit(StubEvent::Unexpected {
                method: head.method.to_string(),
                target: head.uri.to_string(),
            });
            respond(
                StatusCode::NOT_FOUND,
                Bytes::from_static(br#"{"errorMessage":"not found","errorType":"InvalidRequest"}"#),
            )
        }
    }
}

/// The whole body (hyper decodes `Content-Length` and chunked bodies) and its trailers, or what
/// went wrong reading it. Over `MAX_BODY` is an error, found before reading when the length is
/// declared.
async fn read_body(body: Incoming) -> Result<(Bytes, Option<HeaderMap>), String> {
    let declared = body.size_hint().lower();
    if declared > MAX_BODY as u64 {
        return Err(format!(
            "body of {declared} bytes is over the stub's {MAX_BODY}"
        ));
    }
    let collected = Limited::new(body, MAX_BODY)
        .collect()
        .await
        .map_err(|e| error_chain(&*e))?;
    let trailers = collected.trailers().cloned();
    Ok((collected.to_bytes(), trailers))
}

/// A JSON response (hyper adds `Content-Length`, and `Connection: close` when the request asked
/// to close).
fn respond(status: StatusCode, body: Bytes) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// An error and its sources, `: `-separated.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
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

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    const NEXT: &[u8] =
        b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n";
    const EVENT: &str = r#"{"Records":[{"messageId":"m-1","body":"{\"callId\":\"bench-x\"}"}]}"#;

    /// A response as it came over the wire: the status line, the headers (names lowercased) and
    /// the body of `Content-Length` bytes.
    #[derive(Debug)]
    struct Reply {
        status: String,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    }

    impl Reply {
        fn header(&self, name: &str) -> Option<&str> {
            self.headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        }
    }

    /// Reads from `stream` into `buf`; false at the end of the stream.
    async fn read_more(stream: &mut TcpStream, buf: &mut Vec<u8>) -> bool {
        let mut chunk = [0u8; 8192];
        let n = stream.read(&mut chunk).await.unwrap();
        buf.extend_from_slice(&chunk[..n]);
        n > 0
    }

    /// One response (a `100 Continue` too), keeping the bytes past it in `buf`; `None` when the
    /// stub closed the connection before sending another.
    async fn read_reply(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<Reply> {
        let end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i;
            }
            if !read_more(stream, buf).await {
                assert!(buf.is_empty(), "closed in a response head: {buf:?}");
                return None;
            }
        };
        let head = String::from_utf8(buf.drain(..end + 4).collect()).unwrap();
        let mut lines = head.trim_end().split("\r\n");
        let status = lines.next().unwrap().to_string();
        let headers: Vec<(String, String)> = lines
            .map(|line| {
                let (name, value) = line.split_once(':').unwrap();
                (name.to_ascii_lowercase(), value.trim().to_string())
            })
            .collect();
        let length = headers
            .iter()
            .find(|(k, _)| k == "content-length")
            .map_or(0, |(_, v)| v.parse::<usize>().unwrap());
        while buf.len() < length {
            assert!(read_more(stream, buf).await, "closed in a response body");
        }
        let body = buf.drain(..length).collect();
        Some(Reply {
            status,
            headers,
            body,
        })
    }

    async fn response(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Reply {
        tokio::time::timeout(Duration::from_secs(2), read_reply(stream, buf))
            .await
            .expect("the stub answers within 2 s")
            .expect("a response, not a closed connection")
    }

    /// Asserts that the stub closes the connection (after any response already read).
    async fn closed(stream: &mut TcpStream, buf: &mut Vec<u8>) {
        let after = tokio::time::timeout(Duration::from_secs(2), read_reply(stream, buf))
            .await
            .expect("the stub closes the connection within 2 s");
        assert!(after.is_none(), "the connection stays open: {after:?}");
    }

    async fn event(stub: &mut Stub) -> StubEvent {
        tokio::time::timeout(Duration::from_secs(2), stub.events.recv())
            .await
            .expect("an event within 2 s")
            .expect("the stub is running")
    }

    /// Asserts that the stub reports nothing more for a while.
    async fn no_event(stub: &mut Stub) {
        let more = tokio::time::timeout(Duration::from_millis(200), stub.events.recv()).await;
        assert!(more.is_err(), "an event more: {more:?}");
    }

    async fn bad_request(stub: &mut Stub) -> String {
        match event(stub).await {
            StubEvent::BadRequest(e) => e,
            other => panic!("{other:?}"),
        }
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
        let asked = Instant::now();
        stream.write_all(NEXT).await.unwrap();
        let next = response(&mut stream, &mut buf).await;
        let answered = Instant::now();
        assert_eq!(next.status, "HTTP/1.1 200 OK");
        assert_eq!(String::from_utf8(next.body.clone()).unwrap(), EVENT);
        assert_eq!(next.header("content-type"), Some("application/json"));
        assert_eq!(next.header("connection"), None);
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
                at,
                request_id: Some(seen),
            } => {
                assert_eq!(seen, id);
                // Timed when the request arrived, before it was answered.
                assert!(asked <= at && at <= answered, "{at:?}");
            }
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
        assert_eq!(accepted.status, "HTTP/1.1 202 Accepted");
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

        // Three requests in one write: an error with a chunked body (an extension, a trailer), an
        // init error, then a path the API does not have.
        let pipelined = format!(
            "POST /2018-06-01/runtime/invocation/{id}/error HTTP/1.1\r\nHost: x\r\n\
             Lambda-Runtime-Function-Error-Type: unhandled\r\nTransfer-Encoding: chunked\r\n\r\n\
             7;ext=1\r\n{{\"a\":1,\r\n8\r\n\"b\":[2]}}\r\n0\r\nX-Trailer: t\r\n\r\n\
             POST /2018-06-01/runtime/init/error HTTP/1.1\r\nHost: x\r\n\
             Lambda-Runtime-Function-Error-Type: Runtime.InitError\r\nContent-Length: 2\r\n\r\n{{}}\
             GET /2018-06-01/runtime/restore/next?x=1 HTTP/1.1\r\nHost: x\r\n\r\n"
        );
        stream.write_all(pipelined.as_bytes()).await.unwrap();
        for status in ["HTTP/1.1 202 Accepted", "HTTP/1.1 202 Accepted"] {
            assert_eq!(response(&mut stream, &mut buf).await.status, status);
        }
        let missing = response(&mut stream, &mut buf).await;
        assert_eq!(missing.status, "HTTP/1.1 404 Not Found");
        assert_eq!(
            missing.body,
            br#"{"errorMessage":"not found","errorType":"InvalidRequest"}"#
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
                ("GET", "/2018-06-01/runtime/restore/next?x=1")
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
            read_reply(&mut stream, &mut buf),
        )
        .await;
        assert!(held.is_err(), "the held /next was answered: {held:?}");
        no_event(&mut stub).await;
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
        closed(&mut first, &mut buf).await;

        // HTTP/1.0 closes unless asked to keep the connection alive.
        let mut second = TcpStream::connect(stub.addr).await.unwrap();
        second
            .write_all(b"GET /2018-06-01/runtime/invocation/next HTTP/1.0\r\n\r\n")
            .await
            .unwrap();
        let old = response(&mut second, &mut buf).await;
        assert_eq!(
            (old.status.as_str(), old.body.as_slice()),
            ("HTTP/1.0 200 OK", &b"[1]"[..])
        );
        closed(&mut second, &mut buf).await;
        for _ in 0..2 {
            assert!(matches!(
                event(&mut stub).await,
                StubEvent::Next {
                    request_id: Some(_),
                    ..
                }
            ));
        }

        // A chunked body that is not: answered 400, reported, and the connection closed.
        let mut third = TcpStream::connect(stub.addr).await.unwrap();
        third
            .write_all(b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
            .await
            .unwrap();
        let bad = response(&mut third, &mut buf).await;
        assert_eq!(bad.status, "HTTP/1.1 400 Bad Request");
        assert_eq!(bad.header("connection"), Some("close"));
        let e = bad_request(&mut stub).await;
        assert!(e.contains("chunk size"), "{e}");
        assert_eq!(bad.body, e.as_bytes());
        closed(&mut third, &mut buf).await;
        no_event(&mut stub).await;
    }

    #[tokio::test]
    async fn stub_answers_requests_it_cannot_read_and_reports_them() {
        let mut stub = Stub::start(vec![EVENT.to_string()], "arn".to_string())
            .await
            .unwrap();
        let mut buf = Vec::new();
        let addr = stub.addr;
        let connect = || TcpStream::connect(addr);

        // Not HTTP.
        let mut stream = connect().await.unwrap();
        stream.write_all(b"HELLO THERE\r\n\r\n").await.unwrap();
        assert_eq!(
            response(&mut stream, &mut buf).await.status,
            "HTTP/1.1 400 Bad Request"
        );
        closed(&mut stream, &mut buf).await;
        let e = bad_request(&mut stub).await;
        assert!(e.contains("invalid"), "{e}");

        // A head over MAX_HEAD.
        let mut stream = connect().await.unwrap();
        let long = format!(
            "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nX-Pad: {}\r\n\r\n",
            "a".repeat(MAX_HEAD)
        );
        // The stub may close before it has read everything: a failed write is part of the test.
        let _ = stream.write_all(long.as_bytes()).await;
        assert_eq!(
            response(&mut stream, &mut buf).await.status,
            "HTTP/1.1 431 Request Header Fields Too Large"
        );
        let e = bad_request(&mut stub).await;
        assert!(e.contains("too large"), "{e}");

        // A declared body over MAX_BODY is refused before it is sent: no 100 Continue.
        let mut stream = connect().await.unwrap();
        let big = format!(
            "POST /2018-06-01/runtime/invocation/abc/response HTTP/1.1\r\n\
             Expect: 100-continue\r\nContent-Length: {}\r\n\r\n",
            MAX_BODY + 1
        );
        stream.write_all(big.as_bytes()).await.unwrap();
        let refused = response(&mut stream, &mut buf).await;
        assert_eq!(refused.status, "HTTP/1.1 400 Bad Request");
        let e = bad_request(&mut stub).await;
        assert!(e.contains("over the stub's"), "{e}");
        closed(&mut stream, &mut buf).await;

        // A chunked body that grows one byte over MAX_BODY: every byte sent is read, so the stub
        // can close without resetting the connection.
        let mut stream = connect().await.unwrap();
        let mut out = b"POST /2018-06-01/runtime/invocation/abc/response HTTP/1.1\r\n\
                        Transfer-Encoding: chunked\r\n\r\n"
            .to_vec();
        let chunk = vec![b'x'; 1024 * 1024];
        for _ in 0..MAX_BODY / chunk.len() {
            out.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
            out.extend_from_slice(&chunk);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"1\r\nx");
        stream.write_all(&out).await.unwrap();
        let refused = response(&mut stream, &mut buf).await;
        assert_eq!(refused.status, "HTTP/1.1 400 Bad Request");
        let e = bad_request(&mut stub).await;
        assert!(e.contains("length limit"), "{e}");
        closed(&mut stream, &mut buf).await;

        // And the stub still serves, having reported nothing more.
        no_event(&mut stub).await;
        let mut stream = connect().await.unwrap();
        stream.write_all(NEXT).await.unwrap();
        assert_eq!(response(&mut stream, &mut buf).await.body, EVENT.as_bytes());
    }

    #[tokio::test]
    async fn requests_arriving_a_byte_at_a_time_and_expecting_100_continue() {
        let mut stub = Stub::start(Vec::new(), "arn".to_string()).await.unwrap();
        let mut client = TcpStream::connect(stub.addr).await.unwrap();
        client.set_nodelay(true).unwrap();
        let request = b"POST /2018-06-01/runtime/invocation/abc/response HTTP/1.1\r\n\
                        Expect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n";
        for byte in request {
            client.write_all(&[*byte]).await.unwrap();
        }
        let mut buf = Vec::new();
        let continued = response(&mut client, &mut buf).await;
        assert_eq!(continued.status, "HTTP/1.1 100 Continue");
        for byte in b"3\r\n[1]\r\n0\r\nLambda-Runtime-Function-Error-Type: Stream.Error\r\n\r\n" {
            client.write_all(&[*byte]).await.unwrap();
        }
        let accepted = response(&mut client, &mut buf).await;
        assert_eq!(accepted.status, "HTTP/1.1 202 Accepted");
        match event(&mut stub).await {
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
        // Closing between requests is no error.
        drop(client);
        no_event(&mut stub).await;
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
