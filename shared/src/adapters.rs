//! Adapters at the edge: each holds a client and its target, and owns one error enum.

pub mod llm;
pub mod nats;
pub mod postgres;
pub mod secrets;
pub mod slack;
pub mod sns;
pub mod sqs;
