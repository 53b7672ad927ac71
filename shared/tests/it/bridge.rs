//! The NATS→SQS bridge against the machine's NATS JetStream and the emulator's SQS.

use std::{collections::HashSet, time::Duration};

use async_nats::jetstream;
use postcall::{
    adapters::{
        nats::NatsSource,
        sqs::{DeadLetters, SendBatch, SqsQueue},
    },
    config::BridgeConfig,
    handlers::bridge::{drain as drain_nats, BridgeReport},
};

use crate::helpers::*;

const NATS_URL: &str = "nats://127.0.0.1:4222";

struct BridgeEnv {
    js: jetstream::Context,
    stream: String,
    subject: String,
    sqs: aws_sdk_sqs::Client,
    queue: SqsQueue,
    dead_letters: DeadLetters,
    dlq_url: String,
    config: BridgeConfig,
}

impl BridgeEnv {
    async fn spawn() -> Self {
        let id = short_id();
        let client = async_nats::connect(NATS_URL)
            .await
            .unwrap_or_else(|e| panic!("NATS JetStream does not answer at {NATS_URL}: {e}; run the tests with scripts/test"));
        let js = jetstream::new(client);
        let (stream, subject) = (format!("CALLS_{id}"), format!("call.completed.{id}"));
        js.get_or_create_stream(jetstream::stream::Config {
            name: stream.clone(),
            subjects: vec![subject.clone()],
            ..Default::default()
        })
        .await
        .unwrap();
        let aws = aws_config().await;
        let sqs = aws_sdk_sqs::Client::new(&aws);
        let queue_url = create_queue(&sqs, &format!("postcall-calls-br-{id}")).await;
        let dlq_url = create_queue(&sqs, &format!("postcall-calls-br-dlq-{id}")).await;
        let vars = std::collections::HashMap::from([
            ("NATS_URL", NATS_URL.to_string()),
            ("NATS_STREAM", stream.clone()),
            ("NATS_SUBJECT", subject.clone()),
            ("NATS_CONSUMER", format!("bridge-{id}")),
            ("BRIDGE_ENSURE_STREAM", "true".to_string()),
            ("BRIDGE_NAK_DELAY_MS", "0".to_string()),
            ("BRIDGE_DEADLINE_MARGIN_MS", "100".to_string()),
            ("ANALYZER_QUEUE_URL", queue_url.clone()),
            ("DEAD_LETTER_QUEUE_URL", dlq_url.clone()),
        ]);
        let config = BridgeConfig::from_lookup(&|k: &str| vars.get(k).cloned()).unwrap();
        Self {
            js,
            stream,
            subject,
            queue: SqsQueue::new(sqs.clone(), queue_url),
            dead_letters: DeadLetters::new(sqs.clone(), dlq_url.clone()),
            sqs,
            dlq_url,
            config,
        }
    }

    /// A fresh process's view: a new connection and consumer handle.
    fn source(&self) -> NatsSource {
        NatsSource::new(self.config.nats.clone(), None)
    }

    /// Publishes with JetStream acks, pipelined, as a voice bridge would.
    async fn publish(&self, bodies: &[String]) {
        // Pipelined 1 000 at a time: the client holds at most 5 000 acks in flight and a
        // publish waits for room, so awaiting the acks only at the end would deadlock.
        for chunk in bodies.chunks(1_000) {
            let mut acks = Vec::with_capacity(chunk.len());
            for body in chunk {
                acks.push(
                    self.js
                        .publish(self.subject.clone(), body.clone().into())
                        .await
                        .unwrap(),
                );
            }
            for ack in acks {
                ack.await.unwrap();
            }
        }
    }

    async fn run<Q: SendBatch>(
        &self,
        source: &NatsSource,
        queue: &Q,
        budget: Option<Duration>,
    ) -> BridgeReport {
        let deadline = budget.map(|b| tokio::time::Instant::now() + b);
        drain_nats(
            source,
            queue,
            Some(&self.dead_letters),
            &self.config,
            deadline,
        )
        .await
        .unwrap()
    }

    async fn queued(&self) -> Vec<String> {
        drain_call_ids(&self.sqs, self.queue.queue_url()).await
    }

    async fn cleanup(self) {
        self.js.delete_stream(&self.stream).await.unwrap();
    }
}

async fn drain_call_ids(sqs: &aws_sdk_sqs::Client, url: &str) -> Vec<String> {
    drain(sqs, url)
        .await
        .iter()
        .map(|m| {
            serde_json::from_str::<serde_json::Value>(m.body().unwrap()).unwrap()["callId"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

fn events(prefix: &str, n: usize) -> (Vec<String>, HashSet<String>) {
    let ids: Vec<String> = (0..n).map(|i| format!("{prefix}-{i}")).collect();
    let bodies = ids
        .iter()
        .map(|id| serde_json::json!({"callId": id, "endedAt": "2026-11-25T10:00:00Z"}).to_string())
        .collect();
    (bodies, ids.into_iter().collect())
}

/// Events in the volume test.
const EVENTS: usize = 10_000;

#[tokio::test]
async fn ten_thousand_events_all_reach_the_queue_and_nothing_stays_pending() {
    let env = BridgeEnv::spawn().await;
    let (bodies, expected) = events("ten-k", EVENTS);
    let source = env.source();
    let sender = RecordingSender::default();
    // The consumer exists before the events (as BRIDGE_ENSURE_STREAM makes it in production).
    assert_eq!(env.run(&source, &sender, None).await.forwarded, 0);
    env.publish(&bodies).await;

    let started = std::time::Instant::now();
    let report = env.run(&source, &sender, None).await;
    eprintln!("bridge: {EVENTS} events drained in {:?}", started.elapsed());

    assert_eq!(
        (
            report.forwarded,
            report.failed,
            report.invalid,
            report.pending
        ),
        (EVENTS, 0, 0, 0)
    );
    let sent = sender.call_ids.lock().unwrap().clone();
    assert_eq!(sent.len(), EVENTS, "each event sent once");
    assert_eq!(sent.into_iter().collect::<HashSet<_>>(), expected);
    env.cleanup().await;
}

#[tokio::test]
async fn when_sqs_fails_nothing_unsent_is_acked_and_the_next_run_forwards_everything() {
    let env = BridgeEnv::spawn().await;
    let (bodies, expected) = events("sqs-down", 50);
    let source = env.source();
    env.run(&source, &env.queue, None).await;
    env.publish(&bodies).await;
    let missing = SqsQueue::new(
        env.sqs.clone(),
        format!("{}-missing", env.queue.queue_url()),
    );

    let down = env.run(&source, &missing, None).await;

    assert_eq!(down.forwarded, 0);
    assert!(down.failed > 0);
    assert_eq!(
        down.pending, 50,
        "nothing was acked: every event is still in the consumer"
    );
    let up = env.run(&source, &env.queue, None).await;
    assert_eq!((up.forwarded, up.pending), (50, 0));
    let queued = env.queued().await;
    assert_eq!(queued.len(), 50);
    assert_eq!(queued.into_iter().collect::<HashSet<_>>(), expected);
    env.cleanup().await;
}

#[tokio::test]
async fn invalid_payloads_are_parked_with_their_reason_and_terminated() {
    let env = BridgeEnv::spawn().await;
    let source = env.source();
    env.run(&source, &env.queue, None).await;
    let mut bodies = vec![
        "not json".to_string(),
        r#"{"endedAt":"2026-11-25T10:00:00Z"}"#.to_string(),
        r#"{"callId":""}"#.to_string(),
    ];
    bodies.extend(events("valid", 2).0);
    env.publish(&bodies).await;

    let first = env.run(&source, &env.queue, None).await;
    let second = env.run(&source, &env.queue, None).await;

    assert_eq!((first.forwarded, first.invalid, first.pending), (2, 3, 0));
    assert_eq!(
        (second.forwarded, second.invalid),
        (0, 0),
        "terminated messages are not redelivered"
    );
    let parked = drain(&env.sqs, &env.dlq_url).await;
    assert_eq!(parked.len(), 3);
    assert!(parked
        .iter()
        .all(|m| attribute(m, "errorCode").as_deref() == Some("MalformedBody")));
    assert!(
        parked.iter().any(|m| m.body() == Some("not json")),
        "the raw body is kept"
    );
    assert!(parked
        .iter()
        .all(|m| !attribute(m, "errorMessage").unwrap().is_empty()));
    env.cleanup().await;
}

#[tokio::test]
async fn a_short_budget_stops_with_pending_and_a_restarted_bridge_resumes_the_durable_consumer() {
    let env = BridgeEnv::spawn().await;
    let (bodies, expected) = events("budget", 300);
    let slow = SlowSender(RecordingSender::default(), Duration::from_millis(50));
    env.run(&env.source(), &slow, None).await;
    env.publish(&bodies).await;

    // 30 batches of at least 50 ms against a 400 ms budget.
    let first = env
        .run(&env.source(), &slow, Some(Duration::from_millis(400)))
        .await;
    // A new process: a new connection to the same durable consumer.
    let second = env.run(&env.source(), &slow, None).await;

    assert!(first.forwarded > 0 && first.pending > 0, "{first:?}");
    assert_eq!(second.pending, 0);
    assert_eq!(first.forwarded + second.forwarded, 300);
    let sent = slow.0.call_ids.lock().unwrap().clone();
    assert_eq!(sent.len(), 300, "nothing sent twice");
    assert_eq!(sent.into_iter().collect::<HashSet<_>>(), expected);
    env.cleanup().await;
}

#[tokio::test]
async fn the_sample_scheduled_event_drives_the_handler() {
    let env = BridgeEnv::spawn().await;
    let (bodies, expected) = events("scheduled", 5);
    let deps = postcall::handlers::bridge::BridgeDeps::new(env.config.clone(), &aws_config().await);
    let event: serde_json::Value =
        serde_json::from_str(include_str!("../../../events/bridge-scheduled.json")).unwrap();
    postcall::handlers::bridge::bridge(
        &deps,
        lambda_runtime::LambdaEvent::new(event.clone(), lambda_runtime::Context::default()),
    )
    .await
    .unwrap();
    env.publish(&bodies).await;

    let report = postcall::handlers::bridge::bridge(
        &deps,
        lambda_runtime::LambdaEvent::new(event, lambda_runtime::Context::default()),
    )
    .await
    .unwrap();

    assert_eq!((report.forwarded, report.pending), (5, 0));
    assert_eq!(
        env.queued().await.into_iter().collect::<HashSet<_>>(),
        expected
    );
    env.cleanup().await;
}
