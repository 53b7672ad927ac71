//! [`Secret`]: a value that never prints.

use std::fmt;

/// Wraps a credential so that `Debug` and `Display` print `[redacted]`. The only way to the
/// value is [`Secret::expose`], called on the one line that sends it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    /// Wraps a value.
    pub fn new(value: T) -> Self {
        Self(value)
    }

    /// The raw value: call only where it is sent.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl<T> fmt::Display for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// A URL as it may be logged: scheme, host, port and path, without the user-info
/// (`user:password@`), the query (`?password=…`, `?token=…`) or the fragment. A list of URLs
/// separated by commas (NATS seeds) keeps each one; text that is not a URL prints as
/// `[not a URL]`, never as itself. A URL whose path is the credential (a Slack webhook) is
/// never printed at all.
pub fn url_for_logs(url: &str) -> String {
    url.split(',')
        .map(|one| {
            let Some((scheme, rest)) = one.trim().split_once("://") else {
                return "[not a URL]".to_owned();
            };
            let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
            let (authority, tail) = rest.split_at(end);
            let host = authority
                .rsplit_once('@')
                .map_or(authority, |(_, host)| host);
            let path = tail.split(['?', '#']).next().unwrap_or_default();
            format!("{scheme}://{host}{path}")
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// True for an `https://` URL, or an `http://` one to this machine (a local server in tests
/// and `postcall demo`): what the LLM and Slack clients may send a key or a webhook to.
pub fn is_https_or_loopback(url: &str) -> bool {
    if url.starts_with("https://") {
        return true;
    }
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return false;
    }
    let host = if authority.starts_with('[') {
        authority.split(']').next().map(|h| format!("{h}]"))
    } else {
        authority.split(':').next().map(str::to_owned)
    };
    matches!(host.as_deref(), Some("127.0.0.1" | "localhost" | "[::1]"))
}

/// A redirect's `Location`, as it may be logged and put in an error.
pub fn location_for_logs(headers: &http::HeaderMap) -> String {
    headers
        .get(http::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map_or_else(|| "no location".to_owned(), url_for_logs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_or_this_machine_is_trusted_with_a_key() {
        for ok in [
            "https://api.openai.com/v1",
            "http://127.0.0.1:8080/v1",
            "http://localhost:3000",
            "http://[::1]:9000/x",
        ] {
            assert!(is_https_or_loopback(ok), "{ok}");
        }
        for refused in [
            "http://api.openai.com/v1",
            "http://127.0.0.1.evil.example/v1",
            "http://localhost@evil.example/",
            "http://10.0.0.5:8000",
            "ftp://127.0.0.1",
            "api.openai.com",
        ] {
            assert!(!is_https_or_loopback(refused), "{refused}");
        }
    }

    #[test]
    fn urls_print_without_credentials() {
        let cases = [
            ("nats://bridge:hunter2@nats.internal:4222", "nats://nats.internal:4222"),
            ("tls://tok3n@nats.internal", "tls://nats.internal"),
            (
                "postgres://app:hunter2@db.example.com:5432/postcall?sslmode=require&password=hunter2",
                "postgres://db.example.com:5432/postcall",
            ),
            (
                "nats://u:hunter2@a:4222, nats://u:hunter2@b:4222",
                "nats://a:4222,nats://b:4222",
            ),
            ("host=db password=hunter2", "[not a URL]"),
            ("nats://p@ss:w@rd@host:4222", "nats://host:4222"),
        ];
        for (url, want) in cases {
            assert_eq!(url_for_logs(url), want, "{url}");
        }
    }

    #[test]
    fn debug_and_display_are_redacted() {
        let s = Secret::new("hunter2".to_string());
        assert_eq!(format!("{s:?} {s}"), "[redacted] [redacted]");
        assert_eq!(s.expose(), "hunter2");
    }
}
