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

#[cfg(test)]
mod tests {
    use super::*;

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
