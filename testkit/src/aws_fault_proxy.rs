//! A proxy in front of the AWS emulator that makes SQS and SNS fail the way the real services
//! sometimes do, where the emulator itself never fails:
//!
//! - **SQS `SendMessageBatch` partial failure**: every Nth batch, its last entry is not
//!   forwarded and the answer lists it under `Failed` (`InternalError`, `SenderFault: false`),
//!   as SQS does when one entry of a batch could not be stored.
//! - **SNS `Publish` failure**: for every Nth distinct call (by the message's `callId`), the
//!   first `attempts` `Publish` requests are answered `500 InternalError`, so with `attempts` at
//!   the SDK's retry budget the publish fails as a whole, once, and a later one succeeds.
//!
//! Everything else is forwarded untouched. Point a client at it with the SDK config's
//! `endpoint_url` (the emulator does not check signatures, so a rewritten body is accepted).

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
};

use tokio::net::TcpListener;

use crate::http::{serve, Request, Response};

/// Which faults, how often.
#[derive(Debug, Clone, Copy, Default)]
pub struct AwsFaults {
    /// Every Nth `SendMessageBatch` (1-based) has its last entry failed; `None`: never.
    pub fail_batch_entry_every: Option<usize>,
    /// Every Nth distinct call published to SNS has its first `attempts` publishes refused.
    pub fail_publish_every: Option<usize>,
    /// Publishes refused per selected call.
    pub fail_publish_attempts: u32,
}

#[derive(Default)]
struct State {
    batches: usize,
    publish_calls: HashMap<String, u32>,
    /// Publishes passed on to the emulator, per call.
    forwarded: HashMap<String, usize>,
}

/// What the proxy has done so far.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct AwsFaultCounts {
    /// `SendMessageBatch` entries reported failed.
    pub batch_entries_failed: usize,
    /// `Publish` requests refused.
    pub publishes_refused: usize,
    /// Distinct calls whose publishes were refused.
    pub calls_with_refused_publishes: usize,
    /// Distinct calls published (passed on to the emulator).
    pub calls_published: usize,
    /// Calls published more than once, with how often.
    pub calls_published_more_than_once: Vec<(String, usize)>,
}

/// A running proxy on 127.0.0.1; it stops when dropped.
pub struct AwsFaultProxy {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    entries_failed: Arc<AtomicUsize>,
    publishes_refused: Arc<AtomicUsize>,
    faults: AwsFaults,
    task: tokio::task::JoinHandle<()>,
}

impl AwsFaultProxy {
    /// Starts forwarding to `upstream` (e.g. `http://127.0.0.1:5000`).
    ///
    /// # Errors
    /// When no port can be bound or the HTTP client cannot be built.
    pub async fn start(upstream: &str, faults: AwsFaults) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(std::io::Error::other)?;
        let state: Arc<Mutex<State>> = Arc::default();
        let entries_failed = Arc::new(AtomicUsize::new(0));
        let publishes_refused = Arc::new(AtomicUsize::new(0));
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_owned(),
            http,
            faults,
            state: Arc::clone(&state),
            entries_failed: Arc::clone(&entries_failed),
            publishes_refused: Arc::clone(&publishes_refused),
        });
        let handler = Arc::new(move |request: Request| {
            let shared = Arc::clone(&shared);
            async move { shared.handle(request).await }
        });
        let task = tokio::spawn(serve(listener, handler));
        Ok(Self {
            addr,
            state,
            entries_failed,
            publishes_refused,
            faults,
            task,
        })
    }

    /// `http://127.0.0.1:<port>`, for the SDK config's `endpoint_url`.
    pub fn endpoint_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The faults it was started with.
    pub fn faults(&self) -> AwsFaults {
        self.faults
    }

    /// What it has injected so far.
    pub fn counts(&self) -> AwsFaultCounts {
        let state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        AwsFaultCounts {
            batch_entries_failed: self.entries_failed.load(Ordering::SeqCst),
            publishes_refused: self.publishes_refused.load(Ordering::SeqCst),
            // Calls not selected are marked u32::MAX; selected ones count their refusals.
            calls_with_refused_publishes: state
                .publish_calls
                .values()
                .filter(|n| **n > 0 && **n != u32::MAX)
                .count(),
            calls_published: state.forwarded.len(),
            calls_published_more_than_once: state
                .forwarded
                .iter()
                .filter(|(_, n)| **n > 1)
                .map(|(call, n)| (call.clone(), *n))
                .collect(),
        }
    }
}

impl Drop for AwsFaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct Shared {
    upstream: String,
    http: reqwest::Client,
    faults: AwsFaults,
    state: Arc<Mutex<State>>,
    entries_failed: Arc<AtomicUsize>,
    publishes_refused: Arc<AtomicUsize>,
}

impl Shared {
    async fn handle(&self, request: Request) -> Response {
        let target = request
            .headers
            .iter()
            .find(|(name, _)| name == "x-amz-target")
            .map(|(_, value)| value.clone())
            .unwrap_or_default();
        if target == "AmazonSQS.SendMessageBatch" {
            if let Some(every) = self.faults.fail_batch_entry_every {
                let batch = {
                    let mut state = self.lock();
                    state.batches += 1;
                    state.batches
                };
                if batch % every.max(1) == 0 {
                    return self.fail_last_entry(request).await;
                }
            }
        }
        if self.publish_to_refuse(&request.body) {
            self.publishes_refused.fetch_add(1, Ordering::SeqCst);
            return Response {
                status: 500,
                headers: vec![("Content-Type".into(), "text/xml".into())],
                body: "<ErrorResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><Error><Type>Receiver</Type><Code>InternalError</Code><Message>injected by the fault proxy</Message></Error><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>".into(),
            };
        }
        self.forward(&request).await
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// True for a `Publish` to refuse now (it counts against its call's refusals); a publish
    /// passed on is counted for its call.
    fn publish_to_refuse(&self, body: &str) -> bool {
        let form = parse_form(body);
        if form.get("Action").map(String::as_str) != Some("Publish") {
            return false;
        }
        let Some(message) = form.get("Message") else {
            return false;
        };
        let call = serde_json::from_str::<serde_json::Value>(message)
            .ok()
            .and_then(|v| v.get("callId")?.as_str().map(str::to_owned))
            .unwrap_or_else(|| message.clone());
        let mut state = self.lock();
        let Some(every) = self.faults.fail_publish_every else {
            *state.forwarded.entry(call).or_insert(0) += 1;
            return false;
        };
        let seen = state.publish_calls.len();
        let refused = match state.publish_calls.get_mut(&call) {
            Some(refused) => refused,
            None => {
                // Selected or not is decided when the call is first seen.
                let selected = (seen + 1) % every.max(1) == 0;
                state
                    .publish_calls
                    .entry(call.clone())
                    .or_insert(if selected { 0 } else { u32::MAX })
            }
        };
        if *refused < self.faults.fail_publish_attempts {
            *refused += 1;
            return true;
        }
        *state.forwarded.entry(call).or_insert(0) += 1;
        false
    }

    async fn fail_last_entry(&self, mut request: Request) -> Response {
        let Ok(mut body) = serde_json::from_str::<serde_json::Value>(&request.body) else {
            return self.forward(&request).await;
        };
        let Some(failed) = body
            .get_mut("Entries")
            .and_then(serde_json::Value::as_array_mut)
            .and_then(Vec::pop)
        else {
            return self.forward(&request).await;
        };
        let failed_id = failed.get("Id").cloned().unwrap_or_default();
        let remaining = body
            .get("Entries")
            .and_then(serde_json::Value::as_array)
            .map_or(0, Vec::len);
        let mut answer = if remaining == 0 {
            serde_json::json!({"Successful": [], "Failed": []})
        } else {
            request.body = body.to_string();
            let forwarded = self.forward(&request).await;
            if forwarded.status != 200 {
                return forwarded;
            }
            match serde_json::from_str::<serde_json::Value>(&forwarded.body) {
                Ok(answer) => answer,
                Err(_) => return forwarded,
            }
        };
        let entry = serde_json::json!({
            "Id": failed_id,
            "SenderFault": false,
            "Code": "InternalError",
            "Message": "injected by the fault proxy"
        });
        match answer
            .get_mut("Failed")
            .and_then(serde_json::Value::as_array_mut)
        {
            Some(failed) => failed.push(entry),
            None => answer["Failed"] = serde_json::json!([entry]),
        }
        self.entries_failed.fetch_add(1, Ordering::SeqCst);
        Response::json(200, answer.to_string())
            .with_header("x-amzn-RequestId", "00000000-0000-0000-0000-000000000000")
    }

    async fn forward(&self, request: &Request) -> Response {
        let method =
            reqwest::Method::from_bytes(request.method.as_bytes()).unwrap_or(reqwest::Method::POST);
        let mut outgoing = self
            .http
            .request(method, format!("{}{}", self.upstream, request.target))
            .body(request.body.clone());
        for (name, value) in &request.headers {
            if !matches!(
                name.as_str(),
                "host" | "content-length" | "connection" | "transfer-encoding"
            ) {
                outgoing = outgoing.header(name.as_str(), value.as_str());
            }
        }
        match outgoing.send().await {
            Ok(answer) => {
                let status = answer.status().as_u16();
                let headers = answer
                    .headers()
                    .iter()
                    .filter(|(name, _)| {
                        !matches!(
                            name.as_str(),
                            "content-length" | "connection" | "transfer-encoding"
                        )
                    })
                    .filter_map(|(name, value)| {
                        Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
                    })
                    .collect();
                let body = answer.text().await.unwrap_or_default();
                Response {
                    status,
                    headers,
                    body,
                }
            }
            Err(e) => Response::text(502, format!("fault proxy: upstream failed: {e}")),
        }
    }
}

/// `application/x-www-form-urlencoded` into a map (the last value of a repeated name wins).
fn parse_form(body: &str) -> HashMap<String, String> {
    body.split('&')
        .filter_map(|pair| {
            let (name, value) = pair.split_once('=')?;
            Some((decode(name), decode(value)))
        })
        .collect()
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(high), Some(low)) => {
                    out.push(high << 4 | low);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(digit: u8) -> Option<u8> {
    char::from(digit)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_decode_percent_escapes_and_plus() {
        let form = parse_form("Action=Publish&Message=%7B%22callId%22%3A%22c-1%22%7D&Subject=a+b");
        assert_eq!(form["Action"], "Publish");
        assert_eq!(form["Message"], r#"{"callId":"c-1"}"#);
        assert_eq!(form["Subject"], "a b");
        assert_eq!(decode("100%"), "100%");
        assert_eq!(decode("%zz%E2%9C%93"), "%zz\u{2713}");
    }
}
