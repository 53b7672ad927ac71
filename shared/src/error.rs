//! Error classification shared by every handler: retry, or never.

/// Whether an error can succeed on a retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Database and network faults, throttling, data not there yet, misconfiguration a deploy
    /// fixes: retrying may succeed.
    Transient,
    /// This input can never succeed (a malformed body, an invalid id): retrying only repeats
    /// the failure, so the record is parked in the dead-letter queue instead.
    Permanent,
}

impl ErrorClass {
    /// Lowercase name for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::Transient => "transient",
            ErrorClass::Permanent => "permanent",
        }
    }
}

/// An error that knows its class and a stable code for dead-letter attributes and metrics.
pub trait Classified: std::error::Error {
    /// Retry or not.
    fn class(&self) -> ErrorClass;
    /// A stable CamelCase code, e.g. `MalformedBody` or `Database`.
    fn code(&self) -> &'static str;
}

/// Renders an error and its sources as `outer: inner: innermost`, for log fields.
pub fn cause_chain(error: &dyn std::error::Error) -> String {
    let mut out = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !out.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = cause.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn cause_chain_joins_every_source() {
        let e = Outer(std::io::Error::other("inner"));
        assert_eq!(cause_chain(&e), "outer: inner");
    }
}
