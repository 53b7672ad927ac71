//! postcall-testkit: local stand-ins for postcall's external HTTP services, for tests, the demo
//! and benchmarks.
//!
//! - [`MockLlm`]: an OpenAI-compatible Chat Completions server on 127.0.0.1 that answers from
//!   postcall's offline analyzer and injects scripted faults (rate limits, timeouts, bad JSON…).
//! - [`MockSlack`]: a Slack incoming-webhook endpoint with Slack's answers and Block Kit limits.
//! - [`RedirectServer`]: answers everything with a 307 to one location.
//! - [`PostgresCluster`]: a throwaway PostgreSQL cluster (password auth, TLS) of its own.
//! - [`AwsFaultProxy`]: SQS batch-entry failures and SNS publish failures in front of the AWS
//!   emulator; [`TcpProxy`]: connections cut on demand (NATS).
#![warn(missing_docs)]

pub mod aws_fault_proxy;
mod http;
pub mod mock_llm;
#[cfg(test)]
mod mock_llm_tests;
pub mod mock_slack;
pub mod postgres_cluster;
pub mod redirect;
pub mod tcp_proxy;

pub use aws_fault_proxy::{AwsFaultCounts, AwsFaultProxy, AwsFaults};
pub use mock_llm::{Fault, MockLlm, MockLlmOptions, RecordedRequest};
pub use mock_slack::{MockSlack, SlackReply};
pub use postgres_cluster::{ClusterOptions, PostgresCluster};
pub use redirect::RedirectServer;
pub use tcp_proxy::TcpProxy;
