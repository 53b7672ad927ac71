//! postcall-testkit: local stand-ins for postcall's external HTTP services, for tests, the demo
//! and benchmarks.
//!
//! - [`MockLlm`]: an OpenAI-compatible Chat Completions server on 127.0.0.1 that answers from
//!   postcall's offline analyzer and injects scripted faults (rate limits, timeouts, bad JSON…).
#![warn(missing_docs)]

mod http;
pub mod mock_llm;
#[cfg(test)]
mod mock_llm_tests;

pub use mock_llm::{Fault, MockLlm, MockLlmOptions, RecordedRequest};
