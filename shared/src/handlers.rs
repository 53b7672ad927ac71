//! Lambda handlers: a typed event in, a typed outcome out. `main.rs` of each function only
//! builds the dependencies and hands one of these to the runtime.

pub mod analyze_batch;
pub mod backfill;
pub mod bridge;
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
/// when the context carries none (a test's or the CLI's `Context::default()`).
pub fn invocation_deadline(context: &lambda_runtime::Context) -> Option<tokio::time::Instant> {
    if context.deadline == 0 {
        return None;
    }
    let left = context
        .deadline()
        .duration_since(std::time::SystemTime::now())
        .unwrap_or_default();
    Some(tokio::time::Instant::now() + left)
}
