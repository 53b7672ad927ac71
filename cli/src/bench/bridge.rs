//! The bridge section: events published to NATS JetStream, drained into a counting sender.

use std::time::Instant;

use anyhow::Context as _;
use postcall::{config::BridgeConfig, handlers::bridge::drain};

use super::{CountingSender, Sizes, ThroughputResult};

const NATS_URL: &str = "nats://127.0.0.1:4222";

pub(super) async fn bench_bridge(sizes: &Sizes) -> anyhow::Result<ThroughputResult> {
    let url = std::env::var("NATS_URL").unwrap_or_else(|_| NATS_URL.to_string());
    let client = async_nats::connect(&url).await.with_context(|| {
        format!(
            "NATS JetStream does not answer at {}",
            postcall::secret::url_for_logs(&url)
        )
    })?;
    let js = async_nats::jetstream::new(client);
    let id = format!("{}", std::process::id());
    let (stream, subject) = (format!("BENCH_{id}"), format!("bench.call.completed.{id}"));
    let _ = js.delete_stream(&stream).await;
    js.get_or_create_stream(async_nats::jetstream::stream::Config {
        name: stream.clone(),
        subjects: vec![subject.clone()],
        ..Default::default()
    })
    .await
    .context("create the bench stream")?;
    // Publish with acks, pipelined in chunks (the client holds at most 5 000 in flight).
    for chunk in (0..sizes.bridge_events).collect::<Vec<_>>().chunks(1_000) {
        let mut acks = Vec::with_capacity(chunk.len());
        for i in chunk {
            let body = format!(r#"{{"callId":"bench-{i:06}","endedAt":"2026-11-20T10:00:00Z"}}"#);
            acks.push(js.publish(subject.clone(), body.into()).await?);
        }
        for ack in acks {
            ack.await?;
        }
    }
    let vars = std::collections::HashMap::from([
        ("NATS_URL", url.clone()),
        ("NATS_STREAM", stream.clone()),
        ("NATS_SUBJECT", subject.clone()),
        ("NATS_CONSUMER", format!("bench-{id}")),
        ("BRIDGE_ENSURE_STREAM", "true".to_string()),
        ("BRIDGE_NAK_DELAY_MS", "0".to_string()),
        (
            "ANALYZER_QUEUE_URL",
            "http://bench.invalid/queue".to_string(),
        ),
    ]);
    let config = BridgeConfig::from_lookup(&|k: &str| vars.get(k).cloned())?;
    let source = postcall::adapters::nats::NatsSource::new(config.nats.clone(), None);
    let sender = CountingSender::default();
    let started = Instant::now();
    let mut forwarded = 0;
    // A drain stops when the stream is empty; a second pass catches stragglers.
    for _ in 0..3 {
        let report = drain(&source, &sender, None, &config, None).await?;
        forwarded += report.forwarded;
        if forwarded >= sizes.bridge_events {
            break;
        }
    }
    let wall = started.elapsed().as_secs_f64();
    let _ = js.delete_stream(&stream).await;
    Ok(ThroughputResult {
        items: forwarded,
        wall_s: wall,
        per_s: forwarded as f64 / wall,
        note: "JetStream durable pull consumer -> validate -> counting sender -> double ack"
            .to_string(),
    })
}
