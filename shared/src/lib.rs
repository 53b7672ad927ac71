//! postcall: post-call analytics for voice agents, as Rust functions on AWS Lambda.
//!
//! - [`domain`]: pure types that cannot hold bad values (`CallId`, `Transcript`, `Analysis`…).
//! - [`analysis`]: the analyzers (the offline `rules` analyzer).
//! - [`handlers`]: one async fn per Lambda, `(&Deps, LambdaEvent<E>) -> Result<R, HandlerError>`.
//! - [`batch`]: the one SQS partial-batch runner.
//! - [`adapters`]: Postgres, SQS, SNS, Secrets Manager.
//! - [`config`], [`error`], [`metrics`], [`secret`]: typed settings, error classes, EMF lines,
//!   the redacting newtype.
#![warn(missing_docs)]

pub mod adapters;
pub mod analysis;
pub mod batch;
pub mod config;
pub mod domain;
pub mod error;
pub mod handlers;
pub mod metrics;
pub mod secret;
