//! The whole pipeline, each function driven the way Lambda drives it: `call.completed` events
//! on NATS JetStream → bridge → the analyzer's SQS queue (with a DLQ and a redrive policy) →
//! analyzer → `"Analytics"` rows, and hot leads on an SNS topic → an SQS queue subscribed to it
//! (SNS envelopes, what Lambda's SNS trigger carries) → notifier → a local Slack webhook.
//!
//! It runs once clean and once with a fault on three hops (a Postgres connection killed
//! mid-statement, a Slack 429, an SQS entry refused to the bridge); the end state must be the
//! same, and each fault must be seen to have happened.

use std::{
    collections::{BTreeMap, BTreeSet, HashMap, HashSet},
    sync::atomic::{AtomicUsize, Ordering},
    time::{Duration, Instant},
};

use async_nats::jetstream;
use aws_lambda_events::{
    sns::SnsEvent,
    sqs::{SqsEvent, SqsMessage},
};
use aws_sdk_sqs::types::{
    DeleteMessageBatchRequestEntry, MessageSystemAttributeName, QueueAttributeName,
};
use chrono::Utc;
use lambda_runtime::{Context, LambdaEvent};
use postcall::{
    adapters::{
        nats::NatsSource,
        sqs::{DeadLetters, EntryFailure, OutgoingMessage, QueueError, SendBatch, SqsQueue},
    },
    analysis::rules,
    config::{AnalyzerConfig, BridgeConfig, NotifierConfig},
    domain::{Role, Transcript, Turn},
    handlers::{
        analyze_batch::{analyze_batch, AnalyzerDeps},
        bridge::drain as drain_nats,
        notify::{notify, NotifierDeps},
    },
};
use postcall_testkit::{MockSlack, SlackReply};
use serde_json::{json, Value};
use tokio_postgres::Client;

use crate::helpers::*;

const NATS_URL: &str = "nats://127.0.0.1:4222";
const CALLS: usize = 100;
/// Short so that a failed record comes back within the test. Lambda's mapping wants at least
/// 6 × the function timeout; nothing here depends on the value but the wait.
const VISIBILITY_TIMEOUT_SECS: u32 = 2;
/// The redrive policy's `maxReceiveCount`, as in template.yaml.
const MAX_RECEIVE_COUNT: u32 = 5;
/// Longest any one stage may take before the test gives up.
const STAGE_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Debug, Clone, Copy, Default)]
struct Faults {
    /// Terminate the analyzer's Postgres backend while it runs a statement.
    kill_db_connection: bool,
    /// Answer the first Slack post 429 with `Retry-After: 1`.
    slack_429: bool,
    /// Refuse one entry of the bridge's first `SendMessageBatch`.
    sqs_send_failure: bool,
}

/// What a run counted along the way.
#[derive(Debug, Default)]
struct Observed {
    bridge_runs: usize,
    bridge_forwarded: usize,
    bridge_failed: usize,
    sqs_entries_refused: usize,
    analyzer_invocations: usize,
    analyzer_item_failures: usize,
    analyzer_failed_invocations: usize,
    /// Distinct SQS message ids the analyzer was invoked with.
    analyzer_messages: usize,
    max_receive_count: u32,
    killed_backend: Option<i32>,
    analyzer_backends_after: Vec<i32>,
    notifier_invocations: usize,
    notifier_errors: usize,
    slack_requests: usize,
}

#[tokio::test]
async fn one_hundred_calls_flow_from_nats_to_slack_and_every_hot_lead_is_posted_once() {
    let pipeline = Pipeline::spawn(Faults::default()).await;

    let observed = pipeline.run().await;

    pipeline.assert_end_state(&observed).await;
    assert_eq!(
        (
            observed.bridge_runs,
            observed.bridge_failed,
            observed.analyzer_item_failures,
            observed.analyzer_failed_invocations,
            observed.max_receive_count,
            observed.notifier_errors,
        ),
        (1, 0, 0, 0, 1, 0),
        "a clean run forwards, analyzes and posts everything on the first try: {observed:?}"
    );
    assert_eq!(observed.slack_requests, pipeline.hot.len());
    pipeline.cleanup().await;
}

#[tokio::test]
async fn a_killed_db_connection_a_slack_429_and_a_refused_sqs_send_leave_the_same_end_state() {
    let pipeline = Pipeline::spawn(Faults {
        kill_db_connection: true,
        slack_429: true,
        sqs_send_failure: true,
    })
    .await;

    let observed = pipeline.run().await;

    pipeline.assert_end_state(&observed).await;
    // Each fault happened, so the end state above was reached despite it.
    assert_eq!(observed.sqs_entries_refused, 1, "{observed:?}");
    assert_eq!(
        observed.bridge_failed, 1,
        "the bridge nak'ed the refused event and forwarded it on a later run: {observed:?}"
    );
    assert!(observed.bridge_runs >= 2, "{observed:?}");
    let killed = observed
        .killed_backend
        .expect("the analyzer's backend was terminated");
    assert!(
        !observed.analyzer_backends_after.is_empty()
            && !observed.analyzer_backends_after.contains(&killed),
        "the analyzer reconnected: killed {killed}, now {:?}",
        observed.analyzer_backends_after
    );
    assert_eq!(
        observed.slack_requests,
        pipeline.hot.len() + 1,
        "exactly one post was answered 429 and sent again"
    );
    pipeline.cleanup().await;
}

/// One call of the fixture: which kind it is decides its words, the analyzer decides the rest.
fn transcript(i: usize) -> Vec<(&'static str, String)> {
    const NAMES: &[(&str, &str)] = &[
        ("Dana Whitfield", "dana.whitfield@gmail.com"),
        ("Omar Haddad", "omar.haddad@outlook.com"),
        ("Priya Raman", "priya.raman@yahoo.com"),
        ("Lucas Moreau", "lucas.moreau@gmail.com"),
        ("Grace Okafor", "grace.okafor@icloud.com"),
    ];
    let (name, email) = NAMES[i % NAMES.len()];
    let budget = 15_000 + (i % 5) * 2_500;
    let turns: Vec<(&'static str, String)> = match i % 7 {
        // A buyer with a name, an email, a budget and this month as the timeline.
        0 => vec![
            ("agent", "Thanks for calling Brightside Solar, this is Maya. How can I help?".into()),
            ("user", format!("Hi, my name is {name}. I want to buy a solar panel system for my house.")),
            ("assistant", "Great! Do you have a budget and a timeline in mind?".into()),
            ("caller", format!("Yes, my budget is about ${budget} and I'd like it installed this month. How much to get started?")),
            ("agent", "We can send a quote today. What's the best email?".into()),
            ("customer", format!("It's {email}. Let's do it, sign me up!")),
        ],
        1 => vec![
            ("bot", "Hello, you've reached Acme support.".into()),
            ("user", "Hi, I can't log in to my account, the app shows an error since the update.".into()),
            ("bot", "Sorry about that, let me reset your password.".into()),
            ("user", "Okay thanks, that works now.".into()),
        ],
        2 => vec![
            ("agent", "Good morning, Lakeside Dental, how can I help?".into()),
            ("user", "I'd like to book an appointment for a cleaning next Tuesday afternoon.".into()),
            ("agent", "We have 3pm free on Tuesday.".into()),
            ("user", "Perfect, please schedule me for 3pm.".into()),
        ],
        3 => vec![
            ("agent", "Brightside Solar, this is Maya.".into()),
            ("user", "I'm really unhappy. Your installer damaged my roof and nobody called me back.".into()),
            ("agent", "I'm so sorry to hear that.".into()),
            ("user", "This is terrible service. I want a refund and I'm filing a complaint.".into()),
        ],
        4 => vec![
            ("agent", "Thanks for calling, how can I help?".into()),
            ("user", "What are your opening hours on Saturday, and do you serve Oakland?".into()),
            ("agent", "We're open 9 to 5 and yes, we cover Oakland.".into()),
            ("user", "Okay, good to know, bye.".into()),
        ],
        5 => vec![
            ("agent", "Brightside Solar, how can I help?".into()),
            ("user", "I'm just looking around at prices, nothing planned.".into()),
            ("agent", "Would you like a quote?".into()),
            ("user", "No thanks, it seems too expensive for me, maybe in a few years.".into()),
        ],
        _ => vec![
            ("agent", "Hello, this is Brightside Solar.".into()),
            ("user", "Sorry, wrong number.".into()),
        ],
    };
    turns
}

/// Refuses the first `refuse` entries it is asked to send (as SQS refuses an entry of a
/// `SendMessageBatch`), sends everything else to the real queue.
struct RefusingQueue {
    queue: SqsQueue,
    refuse: AtomicUsize,
    refused: AtomicUsize,
}

impl SendBatch for RefusingQueue {
    async fn send_batch(
        &self,
        entries: &[OutgoingMessage],
    ) -> Result<Vec<EntryFailure>, QueueError> {
        let mut refused = Vec::new();
        let mut sent = Vec::with_capacity(entries.len());
        for entry in entries {
            let refuse = self
                .refuse
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok();
            if refuse {
                refused.push(EntryFailure {
                    entry_id: entry.entry_id.clone(),
                    code: "InternalError".into(),
                    sender_fault: false,
                });
            } else {
                sent.push(entry.clone());
            }
        }
        self.refused.fetch_add(refused.len(), Ordering::SeqCst);
        let mut failures = if sent.is_empty() {
            Vec::new()
        } else {
            self.queue.send_batch(&sent).await?
        };
        failures.extend(refused);
        Ok(failures)
    }

    fn is_fifo(&self) -> bool {
        false
    }
}

struct Pipeline {
    faults: Faults,
    schema: TestSchema,
    db: Client,
    sqs: aws_sdk_sqs::Client,
    sns: aws_sdk_sns::Client,
    js: jetstream::Context,
    stream: String,
    subject: String,
    bridge: BridgeConfig,
    queue: RefusingQueue,
    queue_arn: String,
    dlq_url: String,
    topic_arn: String,
    subscription_arn: String,
    /// The queue subscribed to the topic: stands in for the notifier's SNS trigger.
    notifier_inbox_url: String,
    notifier_dlq_url: String,
    analyzer: AnalyzerDeps,
    analyzer_app: String,
    notifier: NotifierDeps,
    slack: MockSlack,
    calls: Vec<String>,
    /// The calls the rules analyzer calls hot, worked out in the test from the same turns.
    hot: BTreeSet<String>,
}

impl Pipeline {
    async fn spawn(faults: Faults) -> Self {
        let id = short_id();
        let schema = TestSchema::create().await;
        let aws = aws_config().await;
        let sqs = aws_sdk_sqs::Client::new(&aws);
        let sns = aws_sdk_sns::Client::new(&aws);

        // Queues as template.yaml declares them: a DLQ, and a redrive policy into it.
        let dlq_url = create_queue(&sqs, &format!("postcall-calls-dlq-{id}")).await;
        let dlq_arn = queue_arn(&sqs, &dlq_url).await;
        let redrive = json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVE_COUNT.to_string()});
        let queue_url = sqs
            .create_queue()
            .queue_name(format!("postcall-calls-{id}"))
            .attributes(
                QueueAttributeName::VisibilityTimeout,
                VISIBILITY_TIMEOUT_SECS.to_string(),
            )
            .attributes(QueueAttributeName::RedrivePolicy, redrive.to_string())
            .send()
            .await
            .unwrap()
            .queue_url()
            .unwrap()
            .to_string();
        let analyzer_queue_arn = queue_arn(&sqs, &queue_url).await;

        // The hot-lead topic, and a queue subscribed to it without raw delivery: its bodies
        // are the SNS envelopes Lambda's SNS trigger is built from.
        let topic_arn = sns
            .create_topic()
            .name(format!("postcall-hot-leads-{id}"))
            .send()
            .await
            .unwrap()
            .topic_arn()
            .unwrap()
            .to_string();
        let notifier_inbox_url = create_queue(&sqs, &format!("postcall-notifier-inbox-{id}")).await;
        let subscription_arn = sns
            .subscribe()
            .topic_arn(&topic_arn)
            .protocol("sqs")
            .endpoint(queue_arn(&sqs, &notifier_inbox_url).await)
            .send()
            .await
            .unwrap()
            .subscription_arn()
            .unwrap()
            .to_string();
        let notifier_dlq_url = create_queue(&sqs, &format!("postcall-notifier-dlq-{id}")).await;

        // The analyzer migrates the schema; its connections carry their own application_name
        // so that the fault below kills exactly its backend.
        let (analyzer_url, analyzer_app) = schema.url_for("analyzer");
        let analyzer_vars = HashMap::from([
            ("DATABASE_URL", analyzer_url),
            ("AUTO_MIGRATE", "true".to_string()),
            ("ANALYZER", "rules".to_string()),
            ("DEAD_LETTER_QUEUE_URL", dlq_url.clone()),
            ("HOT_LEADS_TOPIC_ARN", topic_arn.clone()),
        ]);
        let config = AnalyzerConfig::from_lookup(&|k: &str| analyzer_vars.get(k).cloned()).unwrap();
        let analyzer = AnalyzerDeps::new(config, &aws).await.unwrap();

        let slack = MockSlack::start().await.unwrap();
        if faults.slack_429 {
            slack.push_replies([SlackReply::RateLimited {
                retry_after_secs: 1,
            }]);
        }
        let (notifier_url, _) = schema.url_for("notifier");
        let notifier_vars = HashMap::from([
            ("DATABASE_URL", notifier_url),
            ("SLACK_WEBHOOK_URL", slack.webhook_url()),
            ("DASHBOARD_URL", "https://dash.example.com".to_string()),
            ("DEAD_LETTER_QUEUE_URL", notifier_dlq_url.clone()),
        ]);
        let config = NotifierConfig::from_lookup(&|k: &str| notifier_vars.get(k).cloned()).unwrap();
        let notifier = NotifierDeps::new(config, &aws).await.unwrap();

        let client = async_nats::connect(NATS_URL)
            .await
            .unwrap_or_else(|e| panic!("NATS JetStream does not answer at {NATS_URL}: {e}; run the tests with scripts/test"));
        let js = jetstream::new(client);
        let (stream, subject) = (
            format!("CALLS_PIPE_{id}"),
            format!("call.completed.pipe.{id}"),
        );
        js.get_or_create_stream(jetstream::stream::Config {
            name: stream.clone(),
            subjects: vec![subject.clone()],
            ..Default::default()
        })
        .await
        .unwrap();
        let bridge_vars = HashMap::from([
            ("NATS_URL", NATS_URL.to_string()),
            ("NATS_STREAM", stream.clone()),
            ("NATS_SUBJECT", subject.clone()),
            ("NATS_CONSUMER", format!("bridge-{id}")),
            ("BRIDGE_ENSURE_STREAM", "true".to_string()),
            ("BRIDGE_NAK_DELAY_MS", "0".to_string()),
            ("ANALYZER_QUEUE_URL", queue_url.clone()),
            ("DEAD_LETTER_QUEUE_URL", dlq_url.clone()),
        ]);
        let bridge = BridgeConfig::from_lookup(&|k: &str| bridge_vars.get(k).cloned()).unwrap();
        let queue = RefusingQueue {
            queue: SqsQueue::new(sqs.clone(), queue_url),
            refuse: AtomicUsize::new(usize::from(faults.sqs_send_failure)),
            refused: AtomicUsize::new(0),
        };

        // 100 calls with their turns; the analyzer's own rules say which are hot.
        let db = schema.client().await;
        let mut calls = Vec::with_capacity(CALLS);
        let mut hot = BTreeSet::new();
        let config = &analyzer.config;
        for i in 0..CALLS {
            let call = format!("pipe-{id}-{i:03}");
            let turns = transcript(i);
            let refs: Vec<(&str, &str)> = turns.iter().map(|(r, t)| (*r, t.as_str())).collect();
            seed_call(&db, &call, &refs, Utc::now()).await;
            let transcript = Transcript::new(
                turns
                    .iter()
                    .map(|(role, text)| Turn::new(Role::parse(role), text.as_str()))
                    .collect(),
            );
            let analysis = rules::analyze(&transcript.capped(config.transcript_max_chars));
            if config.hot_lead_policy.is_hot_lead(&analysis) {
                hot.insert(call.clone());
            }
            calls.push(call);
        }
        assert!(
            (10..=20).contains(&hot.len()),
            "the fixture means about 15 clearly hot leads among {CALLS} calls; the rules analyzer finds {}",
            hot.len()
        );

        Self {
            faults,
            schema,
            db,
            sqs,
            sns,
            js,
            stream,
            subject,
            bridge,
            queue,
            queue_arn: analyzer_queue_arn,
            dlq_url,
            topic_arn,
            subscription_arn,
            notifier_inbox_url,
            notifier_dlq_url,
            analyzer,
            analyzer_app,
            notifier,
            slack,
            calls,
            hot,
        }
    }

    /// Publishes every event, then runs each stage until its input is empty.
    async fn run(&self) -> Observed {
        let mut observed = Observed::default();
        let started = Instant::now();
        self.publish().await;
        self.run_bridge(&mut observed).await;
        let bridged = started.elapsed();
        if self.faults.kill_db_connection {
            self.stall_first_write_of(self.hot.first().unwrap()).await;
            let ((), killed) = tokio::join!(
                self.run_analyzer(&mut observed),
                self.kill_stalled_backend()
            );
            observed.killed_backend = Some(killed);
        } else {
            self.run_analyzer(&mut observed).await;
        }
        observed.analyzer_backends_after = self.backends(&self.analyzer_app).await;
        let analyzed = started.elapsed();
        self.run_notifier(&mut observed).await;
        observed.slack_requests = self.slack.requests().len();
        eprintln!(
            "pipeline ({:?}): bridge {:?}, analyzer {:?}, notifier {:?}; {observed:?}",
            self.faults,
            bridged,
            analyzed - bridged,
            started.elapsed() - analyzed,
        );
        observed
    }

    async fn publish(&self) {
        let mut acks = Vec::with_capacity(CALLS);
        for call in &self.calls {
            let body = json!({"callId": call, "endedAt": Utc::now().to_rfc3339()}).to_string();
            acks.push(
                self.js
                    .publish(self.subject.clone(), body.into())
                    .await
                    .unwrap(),
            );
        }
        for ack in acks {
            ack.await.unwrap();
        }
    }

    /// Scheduled bridge runs, each a fresh process, until the consumer holds nothing.
    async fn run_bridge(&self, observed: &mut Observed) {
        let dead_letters = DeadLetters::new(self.sqs.clone(), self.dlq_url.clone());
        let deadline = tokio::time::Instant::now() + STAGE_TIMEOUT;
        loop {
            let source = NatsSource::new(self.bridge.nats.clone(), None);
            let report = drain_nats(
                &source,
                &self.queue,
                Some(&dead_letters),
                &self.bridge,
                None,
            )
            .await
            .unwrap();
            observed.bridge_runs += 1;
            observed.bridge_forwarded += report.forwarded;
            observed.bridge_failed += report.failed;
            assert_eq!(report.invalid, 0);
            if report.pending == 0 {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the bridge did not drain the stream: {observed:?}"
            );
        }
        observed.sqs_entries_refused = self.queue.refused.load(Ordering::SeqCst);
    }

    /// What Lambda's SQS event source mapping does: receive up to 10, invoke with them, delete
    /// the ones not reported in `batchItemFailures` (none when the invocation fails), repeat.
    async fn run_analyzer(&self, observed: &mut Observed) {
        let url = self.queue.queue.queue_url();
        let deadline = tokio::time::Instant::now() + STAGE_TIMEOUT;
        let mut seen = HashSet::new();
        loop {
            observed.analyzer_messages = seen.len();
            assert!(
                tokio::time::Instant::now() < deadline,
                "the analyzer queue did not empty: {observed:?}"
            );
            let received = self
                .sqs
                .receive_message()
                .queue_url(url)
                .max_number_of_messages(10)
                .message_system_attribute_names(MessageSystemAttributeName::All)
                .message_attribute_names("All")
                .wait_time_seconds(1)
                .send()
                .await
                .unwrap();
            let messages = received.messages();
            if messages.is_empty() {
                if depth(&self.sqs, url).await == 0 {
                    return;
                }
                continue;
            }
            let mut event = SqsEvent::default();
            event.records = messages
                .iter()
                .map(|m| lambda_sqs_record(m, &self.queue_arn))
                .collect();
            for record in &event.records {
                seen.insert(record.message_id.clone().unwrap());
                let count: u32 = record.attributes["ApproximateReceiveCount"]
                    .parse()
                    .unwrap();
                observed.max_receive_count = observed.max_receive_count.max(count);
            }
            observed.analyzer_invocations += 1;
            let failed: HashSet<String> =
                match analyze_batch(&self.analyzer, LambdaEvent::new(event, Context::default()))
                    .await
                {
                    Ok(response) => {
                        observed.analyzer_item_failures += response.batch_item_failures.len();
                        response
                            .batch_item_failures
                            .into_iter()
                            .map(|f| f.item_identifier)
                            .collect()
                    }
                    Err(_) => {
                        observed.analyzer_failed_invocations += 1;
                        messages
                            .iter()
                            .map(|m| m.message_id().unwrap().to_string())
                            .collect()
                    }
                };
            let done: Vec<DeleteMessageBatchRequestEntry> = messages
                .iter()
                .filter(|m| !failed.contains(m.message_id().unwrap()))
                .enumerate()
                .map(|(i, m)| {
                    DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(m.receipt_handle().unwrap())
                        .build()
                        .unwrap()
                })
                .collect();
            if !done.is_empty() {
                let deleted = self
                    .sqs
                    .delete_message_batch()
                    .queue_url(url)
                    .set_entries(Some(done))
                    .send()
                    .await
                    .unwrap();
                assert!(deleted.failed().is_empty(), "{:?}", deleted.failed());
            }
        }
    }

    /// Makes the analyzer's first write of `call` hang in `pg_sleep`, so that the fault hits
    /// a statement in flight rather than an idle connection.
    async fn stall_first_write_of(&self, call: &str) {
        self.db
            .batch_execute(&format!(
                r#"CREATE SEQUENCE stall_once;
                   CREATE FUNCTION stall_first_write() RETURNS trigger LANGUAGE plpgsql AS $$
                   BEGIN
                     IF NEW."callId" = '{call}' THEN
                       IF nextval('stall_once') = 1 THEN PERFORM pg_sleep(8); END IF;
                     END IF;
                     RETURN NEW;
                   END $$;
                   CREATE TRIGGER stall_first_write BEFORE INSERT ON "Analytics"
                     FOR EACH ROW EXECUTE FUNCTION stall_first_write();"#
            ))
            .await
            .unwrap();
    }

    /// Waits until the analyzer's backend sleeps in the trigger, then terminates it from
    /// another connection. Only this test's analyzer carries that `application_name`.
    async fn kill_stalled_backend(&self) -> i32 {
        let admin = &self.schema.admin;
        let app = self.analyzer_app.as_str();
        let pid: i32 = eventually(STAGE_TIMEOUT, || async move {
            admin
                .query_opt(
                    "SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND wait_event = 'PgSleep'",
                    &[&app],
                )
                .await
                .unwrap()
                .map(|row| row.get(0))
                .ok_or_else(|| "the analyzer has not reached the stalled write".to_string())
        })
        .await;
        let terminated: bool = admin
            .query_one("SELECT pg_terminate_backend($1)", &[&pid])
            .await
            .unwrap()
            .get(0);
        assert!(terminated, "backend {pid} was not terminated");
        pid
    }

    async fn backends(&self, application_name: &str) -> Vec<i32> {
        self.schema
            .admin
            .query(
                "SELECT pid FROM pg_stat_activity WHERE application_name = $1",
                &[&application_name],
            )
            .await
            .unwrap()
            .iter()
            .map(|row| row.get(0))
            .collect()
    }

    /// What Lambda's SNS trigger does: one invocation per message, retried twice on an error
    /// (Lambda's async retries).
    async fn run_notifier(&self, observed: &mut Observed) {
        let url = &self.notifier_inbox_url;
        let deadline = tokio::time::Instant::now() + STAGE_TIMEOUT;
        loop {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the notifier's subscription did not empty: {observed:?}"
            );
            let received = self
                .sqs
                .receive_message()
                .queue_url(url)
                .max_number_of_messages(10)
                .wait_time_seconds(0)
                .send()
                .await
                .unwrap();
            let messages = received.messages();
            if messages.is_empty() {
                if depth(&self.sqs, url).await == 0 {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
            for message in messages {
                let envelope: Value = serde_json::from_str(message.body().unwrap()).unwrap();
                assert_eq!(
                    (envelope["Type"].as_str(), envelope["TopicArn"].as_str()),
                    (Some("Notification"), Some(self.topic_arn.as_str())),
                    "raw delivery is off: the body is SNS's envelope"
                );
                let event = lambda_sns_event(&envelope, &self.subscription_arn);
                let mut result = None;
                for _ in 0..3 {
                    observed.notifier_invocations += 1;
                    match notify(
                        &self.notifier,
                        LambdaEvent::new(event.clone(), Context::default()),
                    )
                    .await
                    {
                        Ok(report) => {
                            result = Some(report);
                            break;
                        }
                        Err(_) => observed.notifier_errors += 1,
                    }
                }
                assert!(result.is_some(), "three invocations failed: {observed:?}");
                self.sqs
                    .delete_message()
                    .queue_url(url)
                    .receipt_handle(message.receipt_handle().unwrap())
                    .send()
                    .await
                    .unwrap();
            }
        }
    }

    async fn assert_end_state(&self, observed: &Observed) {
        // Every event reached the analyzer's queue once.
        assert_eq!(observed.bridge_forwarded, CALLS, "{observed:?}");
        assert_eq!(observed.analyzer_messages, CALLS, "{observed:?}");

        // One row per call; the rows marked published are exactly the hot calls.
        let rows: i64 = self
            .db
            .query_one(r#"SELECT count(*) FROM "Analytics""#, &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(rows, CALLS as i64);
        let published: BTreeSet<String> = self
            .db
            .query(
                r#"SELECT "callId" FROM "Analytics" WHERE "hotPublishedAt" IS NOT NULL"#,
                &[],
            )
            .await
            .unwrap()
            .iter()
            .map(|row| row.get(0))
            .collect();
        assert_eq!(published, self.hot);

        // Slack accepted one post per hot call, and none for a cold one.
        let mut posts: BTreeMap<String, usize> = BTreeMap::new();
        for post in self.slack.posts() {
            *posts.entry(posted_call(&post)).or_default() += 1;
        }
        let repeated: Vec<_> = posts.iter().filter(|(_, n)| **n != 1).collect();
        assert!(repeated.is_empty(), "posted more than once: {repeated:?}");
        assert_eq!(posts.into_keys().collect::<BTreeSet<_>>(), self.hot);
        let requested: BTreeSet<String> = self
            .slack
            .requests()
            .iter()
            .map(|r| posted_call(&serde_json::from_str(&r.body).unwrap()))
            .collect();
        assert_eq!(requested, self.hot, "no request was about a cold call");

        // Nothing left anywhere.
        for (name, url) in [
            ("analyzer queue", self.queue.queue.queue_url()),
            ("analyzer DLQ", self.dlq_url.as_str()),
            ("notifier subscription", self.notifier_inbox_url.as_str()),
            ("notifier DLQ", self.notifier_dlq_url.as_str()),
        ] {
            assert_eq!(depth(&self.sqs, url).await, 0, "{name} is not empty");
        }
        let consumer = self
            .js
            .get_stream(&self.stream)
            .await
            .unwrap()
            .consumer_info(&self.bridge.nats.consumer)
            .await
            .unwrap();
        assert_eq!(
            (consumer.num_pending, consumer.num_ack_pending),
            (0, 0),
            "nothing left pending in NATS"
        );
    }

    async fn cleanup(self) {
        self.js.delete_stream(&self.stream).await.unwrap();
        for url in [
            self.queue.queue.queue_url(),
            &self.dlq_url,
            &self.notifier_inbox_url,
            &self.notifier_dlq_url,
        ] {
            self.sqs.delete_queue().queue_url(url).send().await.unwrap();
        }
        self.sns
            .delete_topic()
            .topic_arn(&self.topic_arn)
            .send()
            .await
            .unwrap();
        self.schema.drop().await;
    }
}

/// Messages visible, in flight and delayed.
async fn depth(sqs: &aws_sdk_sqs::Client, url: &str) -> usize {
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesDelayed)
        .send()
        .await
        .unwrap();
    attributes
        .attributes()
        .unwrap()
        .values()
        .map(|n| n.parse::<usize>().unwrap())
        .sum()
}

/// The record Lambda's event source mapping builds from a received message.
fn lambda_sqs_record(message: &aws_sdk_sqs::types::Message, queue_arn: &str) -> SqsMessage {
    let mut record = SqsMessage::default();
    record.message_id = message.message_id().map(str::to_string);
    record.receipt_handle = message.receipt_handle().map(str::to_string);
    record.body = message.body().map(str::to_string);
    record.md5_of_body = message.md5_of_body().map(str::to_string);
    record.attributes = message
        .attributes()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.as_str().to_string(), v.clone()))
        .collect();
    record.event_source = Some("aws:sqs".into());
    record.event_source_arn = Some(queue_arn.to_string());
    record.aws_region = Some("us-east-1".into());
    record
}

/// The event Lambda's SNS trigger delivers for one envelope (Lambda spells two keys
/// differently: `SigningCertUrl`, `UnsubscribeUrl`).
fn lambda_sns_event(envelope: &Value, subscription_arn: &str) -> SnsEvent {
    let field = |name: &str| envelope.get(name).cloned().unwrap_or(Value::Null);
    serde_json::from_value(json!({"Records": [{
        "EventSource": "aws:sns",
        "EventVersion": "1.0",
        "EventSubscriptionArn": subscription_arn,
        "Sns": {
            "Type": field("Type"),
            "MessageId": field("MessageId"),
            "TopicArn": field("TopicArn"),
            "Subject": field("Subject"),
            "Message": field("Message"),
            "Timestamp": field("Timestamp"),
            "SignatureVersion": field("SignatureVersion"),
            "Signature": field("Signature"),
            "SigningCertUrl": field("SigningCertURL"),
            "UnsubscribeUrl": field("UnsubscribeURL"),
            "MessageAttributes": envelope.get("MessageAttributes").cloned().unwrap_or_else(|| json!({})),
        }
    }]}))
    .unwrap()
}

/// The call a Slack post is about, from its `call <id>` context line.
fn posted_call(post: &Value) -> String {
    post["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|block| block["type"] == "context")
        .and_then(|block| block["elements"][0]["text"].as_str())
        .and_then(|text| text.strip_prefix("call "))
        .unwrap_or_else(|| panic!("no call id in {post}"))
        .to_string()
}
