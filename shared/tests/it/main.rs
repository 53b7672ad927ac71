//! Integration tests against real services: Postgres on 127.0.0.1:5432 and the local AWS
//! emulator (moto) for SQS, SNS and Secrets Manager through the real SDK. Run them with
//! `scripts/test`, which starts what they need; a missing service fails, never skips.

// Test code: a failed setup step should stop the test loudly, which is what these do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod analyzer;
mod backfill;
mod bridge;
mod dashboard;
mod database_cluster;
mod helpers;
mod llm;
mod migrations;
mod notifier;
mod pipeline;
mod roles;
mod rollup;
mod secrets;
