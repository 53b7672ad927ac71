//! Lambda handlers: a typed event in, a typed outcome out. `main.rs` of each function only
//! builds the dependencies and hands one of these to the runtime.

pub mod analyze_batch;
pub mod backfill;
pub mod bridge;
pub mod dashboard;
pub mod notify;

use lambda_runtime::Diagnostic;

use crate::error::{cause_chain, Classified};

/// Renders a handler error for Lambda: `error_type` carries the class and code
/// (`Transient.EveryRecordFailed`), so async destinations and the console show them.
pub fn diagnostic<E: Classified>(error: &E) -> Diagnostic {
    let class = match error.class() {
        crate::error::ErrorClass::Transient => "Transient",
        crate::error::ErrorClass::Permanent => "Permanent",
    };
    Diagnostic {
        error_type: format!("{class}.{}", error.code()),
        error_message: cause_chain(error),
    }
}

/// The invocation's deadline as an `Instant`, from the runtime's epoch milliseconds. `None`
/// when the context carries none (a test's or the CLI's `Context::default()`), and when it has
/// already passed as the invocation starts: Lambda never hands out such an invocation, but
/// `cargo lambda watch` sends a fixed `600000` (ten minutes after the Unix epoch), which taken
/// at its word leaves every handler no time at all.
pub fn invocation_deadline(context: &lambda_runtime::Context) -> Option<tokio::time::Instant> {
    if context.deadline == 0 {
        return None;
    }
    match context
        .deadline()
        .duration_since(std::time::SystemTime::now())
    {
        Ok(left) => Some(tokio::time::Instant::now() + left),
        Err(_) => {
            tracing::warn!(
                deadline_ms = context.deadline,
                "the invocation's deadline has already passed as it starts (a local emulator?): running without a time budget"
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::invocation_deadline;
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    fn context(deadline_ms: u64) -> lambda_runtime::Context {
        let mut context = lambda_runtime::Context::default();
        context.deadline = deadline_ms;
        context
    }

    fn epoch_ms(at: SystemTime) -> u64 {
        u64::try_from(at.duration_since(UNIX_EPOCH).unwrap().as_millis()).unwrap()
    }

    #[test]
    fn a_future_deadline_is_the_budget_and_none_or_a_past_one_is_no_budget() {
        let in_a_minute = epoch_ms(SystemTime::now() + Duration::from_secs(60));
        let left = invocation_deadline(&context(in_a_minute))
            .map(|d| d.saturating_duration_since(tokio::time::Instant::now()));
        assert!(left.is_some_and(|l| l > Duration::from_secs(55) && l <= Duration::from_secs(60)));
        assert!(invocation_deadline(&context(0)).is_none());
        // What `cargo lambda watch` sends.
        assert!(invocation_deadline(&context(600_000)).is_none());
        let a_second_ago = epoch_ms(SystemTime::now() - Duration::from_secs(1));
        assert!(invocation_deadline(&context(a_second_ago)).is_none());
    }
}
