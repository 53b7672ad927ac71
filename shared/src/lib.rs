//! postcall: post-call analytics for voice agents, as Rust functions on AWS Lambda.
//!
//! - [`domain`]: pure types that cannot hold bad values (`CallId`, `Transcript`, `Analysis`…).
//! - [`analysis`]: the analyzers (the offline `rules` analyzer and the LLM).
//! - [`handlers`]: one async fn per Lambda, `(&Deps, LambdaEvent<E>) -> Result<R, HandlerError>`;
//!   the dashboard's is `(&Deps, &http::Request) -> http::Response`, for its Function URL and the
//!   CLI's local server.
//! - [`batch`]: the one SQS partial-batch runner; [`round_trip_group`]: its records' shared
//!   database round trips.
//! - [`adapters`]: Postgres, SQS, SNS, Secrets Manager, the LLM endpoint, the Slack webhook.
//! - [`slack_message`]: the hot-lead Block Kit message, escaped and cut to Slack's limits.
//! - [`config`], [`error`], [`metrics`], [`secret`]: typed settings, error classes, EMF lines,
//!   the redacting newtype.
#![warn(missing_docs)]

pub mod adapters;
pub mod analysis;
pub mod backoff;
pub mod batch;
pub mod config;
pub mod domain;
pub mod error;
pub mod handlers;
pub mod logging;
pub mod metrics;
pub mod round_trip_group;
pub mod secret;
pub mod slack_message;
