//! Just enough HTTP/1.1 for a test server: `Content-Length` bodies, and persistent connections
//! as HTTP/1.1 defines them (a connection serves requests one after another until the client
//! sends `Connection: close`, speaks HTTP/1.0, or stays idle too long). Clients in tests speak
//! plain HTTP/1.1, so chunked uploads and pipelining are deliberately out of scope.
//!
//! Keeping connections open matters to the benchmark: a pooled client (reqwest, httpx) then
//! sends a batch's requests on connections it already has, as it does against a real
//! provider, instead of opening one per request because the server closed the last one.

use std::{future::Future, io, sync::Arc, time::Duration};

use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

/// Bounds that keep a misbehaving client from holding memory or a task forever.
const MAX_HEAD_BYTES: usize = 64 * 1024;
const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;
const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a kept-alive connection may wait for its next request. Longer than the pooled
/// clients' idle timeouts (reqwest's 90 s default is the longest in use), so a client never
/// sends on a connection this server has just closed.
const IDLE_TIMEOUT: Duration = Duration::from_secs(300);

/// One parsed request.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub method: String,
    /// The request target as sent, query string included.
    pub target: String,
    /// Names lowercased, in arrival order.
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// HTTP/1.1 and no `Connection: close`: the client may send another request after this one.
    pub keep_alive: bool,
}

impl Request {
    /// The target without its query string.
    pub fn path(&self) -> &str {
        self.target
            .split_once('?')
            .map_or(self.target.as_str(), |(path, _)| path)
    }
}

/// One response; `Content-Length` and `Connection` are added when written.
#[derive(Debug, Clone)]
pub(crate) struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn json(status: u16, body: impl Into<String>) -> Self {
        Self {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.into(),
        }
    }

    pub fn text(status: u16, body: impl Into<String>) -> Self {
        Self {
            status,
            headers: vec![("Content-Type".into(), "text/plain; charset=utf-8".into())],
            body: body.into(),
        }
    }

    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }
}

/// Accepts forever, serving each connection in its own task so a slow answer (or a client that
/// never sends anything) cannot hold up the others. The connections' tasks belong to this
/// future: when it is dropped (the server's handle aborts it), kept-alive connections close
/// with it, so a client holding one sees the server gone as it would after a restart.
pub(crate) async fn serve<H, F>(listener: TcpListener, handler: Arc<H>)
where
    H: Fn(Request) -> F + Send + Sync + 'static,
    F: Future<Output = Response> + Send + 'static,
{
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    let handler = Arc::clone(&handler);
                    // A failed connection concerns only its client; the loop goes on.
                    connections.spawn(async move {
                        let _ = serve_connection(stream, handler).await;
                    });
                }
                // Transient (e.g. out of file descriptors): back off instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
            // Reaps finished connections so the set does not grow with every one served.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

async fn serve_connection<H, F>(mut stream: TcpStream, handler: Arc<H>) -> io::Result<()>
where
    H: Fn(Request) -> F,
    F: Future<Output = Response>,
{
    let mut wait = READ_TIMEOUT;
    loop {
        let request = match tokio::time::timeout(wait, read_request(&mut stream)).await {
            Err(_) | Ok(Ok(None)) => return Ok(()),
            Ok(Ok(Some(request))) => request,
            Ok(Err(e)) if e.kind() == io::ErrorKind::InvalidData => {
                let body = error_body(&e.to_string(), "invalid_request_error", None);
                return write_response(&mut stream, &Response::json(400, body), false).await;
            }
            Ok(Err(e)) => return Err(e),
        };
        let keep_alive = request.keep_alive;
        let response = handler(request).await;
        write_response(&mut stream, &response, keep_alive).await?;
        if !keep_alive {
            return Ok(());
        }
        wait = IDLE_TIMEOUT;
    }
}

/// Reads one request; `Ok(None)` when the client closed without sending anything.
pub(crate) async fn read_request<S: AsyncRead + Unpin>(
    stream: &mut S,
) -> io::Result<Option<Request>> {
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(pos) = find(&buf, b"\r\n\r\n") {
            break pos;
        }
        if buf.len() > MAX_HEAD_BYTES {
            return Err(invalid("request head too large"));
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return if buf.is_empty() {
                Ok(None)
            } else {
                Err(io::ErrorKind::UnexpectedEof.into())
            };
        }
        buf.extend_from_slice(&chunk[..n]);
    };

    let mut body = buf.split_off(head_end + 4);
    let head =
        std::str::from_utf8(&buf[..head_end]).map_err(|_| invalid("request head is not UTF-8"))?;
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split_whitespace();
    let (Some(method), Some(target)) = (request_line.next(), request_line.next()) else {
        return Err(invalid("malformed request line"));
    };
    let http_1_1 = request_line.next() == Some("HTTP/1.1");
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    let length = match headers.iter().find(|(name, _)| name == "content-length") {
        None => 0,
        Some((_, value)) => value
            .parse::<usize>()
            .map_err(|_| invalid("bad content-length"))?,
    };
    if length > MAX_BODY_BYTES {
        return Err(invalid("request body too large"));
    }

    if body.len() < length {
        let have = body.len();
        body.resize(length, 0);
        stream.read_exact(&mut body[have..]).await?;
    }
    body.truncate(length);
    let close_asked = headers.iter().any(|(name, value)| {
        name == "connection"
            && value
                .split(',')
                .any(|option| option.trim().eq_ignore_ascii_case("close"))
    });
    Ok(Some(Request {
        keep_alive: http_1_1 && !close_asked,
        method: method.to_owned(),
        target: target.to_owned(),
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }))
}

/// Writes the response; unless the connection is kept alive, closes our side after it, so
/// clients that read to EOF finish too.
pub(crate) async fn write_response(
    stream: &mut TcpStream,
    response: &Response,
    keep_alive: bool,
) -> io::Result<()> {
    let mut out = format!(
        "HTTP/1.1 {} {}\r\n",
        response.status,
        reason(response.status)
    );
    for (name, value) in &response.headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str(&format!(
        "Content-Length: {}\r\nConnection: {}\r\n\r\n",
        response.body.len(),
        if keep_alive { "keep-alive" } else { "close" }
    ));
    out.push_str(&response.body);
    stream.write_all(out.as_bytes()).await?;
    stream.flush().await?;
    if keep_alive {
        Ok(())
    } else {
        stream.shutdown().await
    }
}

/// An OpenAI-style error body.
pub(crate) fn error_body(message: &str, kind: &str, code: Option<&str>) -> String {
    serde_json::json!({"error": {"message": message, "type": kind, "code": code}}).to_string()
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        _ => "Unknown",
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn invalid(message: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn parses_head_and_body_across_reads() {
        let raw = b"POST /v1/chat/completions?x=1 HTTP/1.1\r\nHost: a\r\nX-Thing:  v \r\nContent-Length: 5\r\n\r\nhello";
        let mut reader = tokio::io::BufReader::with_capacity(7, &raw[..]);
        let request = read_request(&mut reader).await.unwrap().unwrap();
        assert_eq!(request.method, "POST");
        assert_eq!(request.path(), "/v1/chat/completions");
        assert_eq!(request.headers[1], ("x-thing".to_owned(), "v".to_owned()));
        assert_eq!(request.body, "hello");
    }

    #[tokio::test]
    async fn empty_and_truncated_input() {
        assert!(read_request(&mut &b""[..]).await.unwrap().is_none());
        assert!(read_request(&mut &b"GET / HTTP/1.1\r\n"[..]).await.is_err());
        let short_body = b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc";
        assert!(read_request(&mut &short_body[..]).await.is_err());
        let bad_length = b"POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n";
        let err = read_request(&mut &bad_length[..]).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }

    async fn echo_server() -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let address = listener.local_addr().unwrap();
        let handler = Arc::new(|request: Request| async move {
            Response::text(200, format!("{} {}", request.method, request.body))
        });
        (address, tokio::spawn(serve(listener, handler)))
    }

    /// Reads one response with a `Content-Length` body; `None` at EOF.
    async fn read_response(stream: &mut TcpStream) -> Option<(String, String)> {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 1024];
        loop {
            if let Some(end) = find(&buf, b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..end]).into_owned();
                let length: usize = head
                    .lines()
                    .find_map(|line| line.strip_prefix("Content-Length: "))
                    .unwrap()
                    .parse()
                    .unwrap();
                while buf.len() < end + 4 + length {
                    let n = stream.read(&mut chunk).await.unwrap();
                    assert_ne!(n, 0, "connection closed inside a response");
                    buf.extend_from_slice(&chunk[..n]);
                }
                let body = String::from_utf8_lossy(&buf[end + 4..end + 4 + length]);
                return Some((head, body.into_owned()));
            }
            let n = stream.read(&mut chunk).await.unwrap();
            if n == 0 {
                assert!(buf.is_empty(), "connection closed inside a response head");
                return None;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
    }

    fn post(body: &str, extra_headers: &str, version: &str) -> Vec<u8> {
        format!(
            "POST / {version}\r\nContent-Length: {}\r\n{extra_headers}\r\n{body}",
            body.len()
        )
        .into_bytes()
    }

    #[tokio::test]
    async fn a_connection_serves_requests_until_the_client_asks_to_close() {
        let (address, _server) = echo_server().await;
        let mut stream = TcpStream::connect(address).await.unwrap();
        for body in ["one", "two"] {
            stream.write_all(&post(body, "", "HTTP/1.1")).await.unwrap();
            let (head, answer) = read_response(&mut stream).await.unwrap();
            assert!(head.contains("Connection: keep-alive"), "{head}");
            assert_eq!(answer, format!("POST {body}"));
        }
        let close = post("three", "Connection: close\r\n", "HTTP/1.1");
        stream.write_all(&close).await.unwrap();
        let (head, answer) = read_response(&mut stream).await.unwrap();
        assert!(head.contains("Connection: close"), "{head}");
        assert_eq!(answer, "POST three");
        assert!(read_response(&mut stream).await.is_none(), "still open");
    }

    #[tokio::test]
    async fn http_1_0_gets_one_answer_and_a_close() {
        let (address, _server) = echo_server().await;
        let mut stream = TcpStream::connect(address).await.unwrap();
        stream
            .write_all(&post("old", "", "HTTP/1.0"))
            .await
            .unwrap();
        let (head, answer) = read_response(&mut stream).await.unwrap();
        assert!(head.contains("Connection: close"), "{head}");
        assert_eq!(answer, "POST old");
        assert!(read_response(&mut stream).await.is_none(), "still open");
    }

    #[tokio::test]
    async fn stopping_the_server_closes_its_kept_alive_connections() {
        let (address, server) = echo_server().await;
        let mut stream = TcpStream::connect(address).await.unwrap();
        stream
            .write_all(&post("one", "", "HTTP/1.1"))
            .await
            .unwrap();
        assert!(read_response(&mut stream).await.is_some());
        server.abort();
        let _ = server.await;
        let closed = tokio::time::timeout(Duration::from_secs(5), read_response(&mut stream)).await;
        assert!(
            matches!(closed, Ok(None)),
            "the connection outlived its server"
        );
    }
}
