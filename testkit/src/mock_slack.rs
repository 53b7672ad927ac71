//! A local Slack incoming-webhook endpoint: `POST` a JSON payload, get `ok` or Slack's error
//! strings, with scripted replies (429 with `Retry-After`, 5xx, `no_service`…) and Block Kit
//! limits checked the way Slack rejects a payload.

use std::{
    collections::VecDeque,
    io,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use serde_json::Value;
use tokio::{net::TcpListener, task::JoinHandle};

use crate::{
    http::{self, Request, Response},
    RecordedRequest,
};

/// What the mock answers to one post.
#[derive(Debug, Clone, PartialEq)]
pub enum SlackReply {
    /// 200 `ok` (when the payload is valid; 400 `invalid_blocks`/`invalid_payload` otherwise).
    Ok,
    /// 429 `rate_limited` with `Retry-After: N`.
    RateLimited {
        /// Seconds in `Retry-After`.
        retry_after_secs: u64,
    },
    /// Any status with Slack's error string as the body (`500 internal_error`,
    /// `404 no_service`, `410 channel_is_archived`, `403 action_prohibited`…).
    Status(u16, String),
    /// Waits, then answers as [`SlackReply::Ok`].
    Slow(Duration),
    /// Holds the request this long without posting it, then answers 504 (a gateway giving up):
    /// a client with a shorter timeout sees a timeout, and nothing was posted.
    Stall(Duration),
}

#[derive(Debug, Default)]
struct Shared {
    scripted: Mutex<VecDeque<SlackReply>>,
    requests: Mutex<Vec<RecordedRequest>>,
    accepted: Mutex<Vec<Value>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The webhook server; dropping it stops it.
#[derive(Debug)]
pub struct MockSlack {
    shared: Arc<Shared>,
    port: u16,
    accept: JoinHandle<()>,
}

impl MockSlack {
    /// Binds 127.0.0.1 on a free port and serves in the background.
    pub async fn start() -> io::Result<MockSlack> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let port = listener.local_addr()?.port();
        let shared = Arc::new(Shared::default());
        let for_handler = Arc::clone(&shared);
        let handler = Arc::new(move |request| handle(Arc::clone(&for_handler), request));
        let accept = tokio::spawn(http::serve(listener, handler));
        Ok(MockSlack {
            shared,
            port,
            accept,
        })
    }

    /// The webhook URL (its path stands in for the credential a real one carries).
    pub fn webhook_url(&self) -> String {
        format!(
            "http://127.0.0.1:{}/services/T0POSTCALL/B0POSTCALL/mock-webhook-secret",
            self.port
        )
    }

    /// Queues replies, one per post, before the default [`SlackReply::Ok`].
    pub fn push_replies(&self, replies: impl IntoIterator<Item = SlackReply>) {
        lock(&self.shared.scripted).extend(replies);
    }

    /// Every request received, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.requests).clone()
    }

    /// Payloads answered `ok`: what a channel would show.
    pub fn posts(&self) -> Vec<Value> {
        lock(&self.shared.accepted).clone()
    }
}

impl Drop for MockSlack {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

async fn handle(shared: Arc<Shared>, request: Request) -> Response {
    lock(&shared.requests).push(RecordedRequest {
        method: request.method.clone(),
        path: request.target.clone(),
        headers: request.headers.clone(),
        body: request.body.clone(),
    });
    if request.method != "POST" || !request.path().starts_with("/services/") {
        return Response::text(404, "no_service");
    }
    let reply = lock(&shared.scripted).pop_front().unwrap_or(SlackReply::Ok);
    match reply {
        SlackReply::RateLimited { retry_after_secs } => Response::text(429, "rate_limited")
            .with_header("retry-after", retry_after_secs.to_string()),
        SlackReply::Status(status, body) => Response::text(status, body),
        SlackReply::Slow(delay) => {
            tokio::time::sleep(delay).await;
            accept(&shared, &request.body)
        }
        SlackReply::Stall(delay) => {
            tokio::time::sleep(delay).await;
            Response::text(504, "upstream_timeout")
        }
        SlackReply::Ok => accept(&shared, &request.body),
    }
}

fn accept(shared: &Shared, body: &str) -> Response {
    let Ok(payload) = serde_json::from_str::<Value>(body) else {
        return Response::text(400, "invalid_payload");
    };
    if let Err(problem) = check_payload(&payload) {
        return Response::text(400, problem);
    }
    lock(&shared.accepted).push(payload);
    Response::text(200, "ok")
}

/// Slack's limits: `text` or `blocks` required; at most 50 blocks; a header's plain text at most
/// 150 characters; a section's text at most 3000; at most 10 fields of at most 2000 each.
pub fn check_payload(payload: &Value) -> Result<(), &'static str> {
    let has_text = payload
        .get("text")
        .and_then(Value::as_str)
        .is_some_and(|t| !t.is_empty());
    let blocks = payload.get("blocks");
    if !has_text && blocks.is_none() {
        return Err("no_text");
    }
    let Some(blocks) = blocks else {
        return Ok(());
    };
    let blocks = blocks.as_array().ok_or("invalid_blocks")?;
    if blocks.len() > 50 {
        return Err("invalid_blocks");
    }
    let chars = |v: &Value| v.as_str().map(|s| s.chars().count());
    for block in blocks {
        match block.get("type").and_then(Value::as_str) {
            Some("header") => {
                if block["text"]["type"] != "plain_text"
                    || chars(&block["text"]["text"]).is_none_or(|n| n == 0 || n > 150)
                {
                    return Err("invalid_blocks");
                }
            }
            Some("section") => {
                let text_ok = block
                    .get("text")
                    .is_none_or(|t| chars(&t["text"]).is_some_and(|n| n > 0 && n <= 3000));
                let fields_ok = block.get("fields").is_none_or(|f| {
                    f.as_array().is_some_and(|fields| {
                        fields.len() <= 10
                            && fields
                                .iter()
                                .all(|x| chars(&x["text"]).is_some_and(|n| n > 0 && n <= 2000))
                    })
                });
                if !text_ok
                    || !fields_ok
                    || (block.get("text").is_none() && block.get("fields").is_none())
                {
                    return Err("invalid_blocks");
                }
            }
            Some("context" | "actions" | "divider") => {}
            _ => return Err("invalid_blocks"),
        }
    }
    Ok(())
}
