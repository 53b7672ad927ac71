//! The functions' log subscriber: Lambda's advanced logging controls (JSON format, level from
//! `AWS_LAMBDA_LOG_LEVEL`, else `RUST_LOG`) like `lambda_runtime`'s default subscriber, with
//! one difference: nothing below DEBUG is ever written. At TRACE `lambda_runtime` logs each
//! raw event, which carries the dashboard's bearer token and session cookie and the hot-lead
//! message's name, email and summary; so a TRACE setting is read as DEBUG, and `RUST_LOG`'s
//! per-target directives (which could switch one crate to TRACE) are not read at all.

use std::str::FromStr;

use lambda_runtime::tracing::subscriber::{
    self,
    filter::{EnvFilter, LevelFilter},
    fmt::MakeWriter,
};

/// The most verbose level a function logs at.
pub const MOST_VERBOSE: LevelFilter = LevelFilter::DEBUG;

/// The level a function logs at: `AWS_LAMBDA_LOG_LEVEL`, else `RUST_LOG` read as one level,
/// else INFO; never more verbose than [`MOST_VERBOSE`].
pub fn level(aws_lambda_log_level: Option<&str>, rust_log: Option<&str>) -> LevelFilter {
    let asked = aws_lambda_log_level
        .or(rust_log)
        .and_then(|v| match v.trim() {
            // Lambda's FATAL has no tracing level: ERROR is the nearest.
            f if f.eq_ignore_ascii_case("fatal") => Some(LevelFilter::ERROR),
            v => LevelFilter::from_str(v).ok(),
        })
        .unwrap_or(LevelFilter::INFO);
    asked.min(MOST_VERBOSE)
}

/// Installs the subscriber, writing to stdout (Lambda's log stream).
pub fn init() {
    init_with_writer(std::io::stdout);
}

/// Installs the subscriber with `writer`.
fn init_with_writer<W>(writer: W)
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let builder = subscriber::fmt()
        .with_target(false)
        .without_time()
        .with_env_filter(filter_from_env())
        .with_writer(writer);
    // A second call (tests) keeps the first subscriber.
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

fn filter_from_env() -> EnvFilter {
    let aws = std::env::var("AWS_LAMBDA_LOG_LEVEL").ok();
    let rust = std::env::var("RUST_LOG").ok();
    filter(level(aws.as_deref(), rust.as_deref()))
}

/// A filter of one level for every target.
pub fn filter(level: LevelFilter) -> EnvFilter {
    EnvFilter::default().add_directive(level.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[test]
    fn trace_is_read_as_debug_and_the_rest_as_asked() {
        let cases = [
            (Some("TRACE"), None, LevelFilter::DEBUG),
            (None, Some("trace"), LevelFilter::DEBUG),
            (Some("DEBUG"), None, LevelFilter::DEBUG),
            (Some("INFO"), Some("trace"), LevelFilter::INFO),
            (Some("WARN"), None, LevelFilter::WARN),
            (Some("ERROR"), None, LevelFilter::ERROR),
            (Some("FATAL"), None, LevelFilter::ERROR),
            (None, Some("lambda_runtime=trace"), LevelFilter::INFO),
            (None, None, LevelFilter::INFO),
        ];
        for (aws, rust, want) in cases {
            assert_eq!(level(aws, rust), want, "{aws:?} {rust:?}");
        }
    }

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn asked_for_trace_the_subscriber_writes_debug_but_never_trace() {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = subscriber::fmt()
            .with_env_filter(filter(level(Some("TRACE"), None)))
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::debug!("debug-line");
            tracing::trace!(target: "lambda_runtime", "raw event with sentinel-bearer-token");
        });
        let written = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        assert!(written.contains("debug-line"), "{written}");
        assert!(!written.contains("sentinel-bearer-token"), "{written}");
    }
}
