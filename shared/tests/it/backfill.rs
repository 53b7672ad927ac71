//! The backfill against real Postgres and the emulator's SQS.

use std::{
    collections::{HashMap, HashSet},
    sync::Mutex,
    time::Duration,
};

use chrono::Utc;
use postcall::{
    adapters::{
        postgres::{PgStore, BACKFILL_PAGE_SQL},
        sqs::{EntryFailure, OutgoingMessage, QueueError, SendBatch, SqsQueue},
    },
    config::{BackfillConfig, DatabaseConfig},
    handlers::backfill::{run_backfill, BackfillReport, BackfillRequest},
};

use crate::helpers::*;

struct BackfillEnv {
    schema: TestSchema,
    db: tokio_postgres::Client,
    sqs: aws_sdk_sqs::Client,
    queue: SqsQueue,
    store: PgStore,
    config: BackfillConfig,
}

impl BackfillEnv {
    async fn spawn(extra: &[(&str, &str)]) -> Self {
        Self::spawn_on(&format!("postcall-calls-bf-{}", short_id()), extra).await
    }

    async fn spawn_on(queue_name: &str, extra: &[(&str, &str)]) -> Self {
        let schema = TestSchema::create().await;
        let store = PgStore::new(DatabaseConfig::from_url(&schema.url), None);
        store.migrate().await.unwrap();
        let aws = aws_config().await;
        let sqs = aws_sdk_sqs::Client::new(&aws);
        let mut create = sqs.create_queue().queue_name(queue_name);
        if queue_name.ends_with(".fifo") {
            create = create.attributes(aws_sdk_sqs::types::QueueAttributeName::FifoQueue, "true");
        }
        let queue_url = create
            .send()
            .await
            .unwrap()
            .queue_url()
            .unwrap()
            .to_string();
        let mut vars: HashMap<String, String> = HashMap::from([
            ("DATABASE_URL".into(), schema.url.clone()),
            ("ANALYZER_QUEUE_URL".into(), queue_url.clone()),
        ]);
        for (k, v) in extra {
            vars.insert(k.to_string(), v.to_string());
        }
        let config = BackfillConfig::from_lookup(&|k: &str| vars.get(k).cloned()).unwrap();
        let db = schema.client().await;
        Self {
            schema,
            db,
            queue: SqsQueue::new(sqs.clone(), queue_url),
            sqs,
            store,
            config,
        }
    }

    /// `count` calls `call-1..=count`: every 10th analyzed, every 20th (i % 20 == 1) ended inside
    /// the grace period, the rest over the last 6 days.
    async fn seed(&self, count: i32) {
        self.db
            .execute(
                r#"INSERT INTO "Call" (id, "fromNumber", "agentId", "endedAt")
                   SELECT 'call-' || g, '+1555' || lpad(g::text, 7, '0'), 'agent-' || (g % 7),
                          CASE WHEN g % 20 = 1 THEN now() - interval '30 seconds'
                               ELSE now() - interval '3 minutes' - (g * interval '20 seconds') END
                   FROM generate_series(1, $1) g"#,
                &[&count],
            )
            .await
            .unwrap();
        self.db
            .execute(
                r#"INSERT INTO "Analytics" ("callId", sentiment, "leadScore", intent, analyzer)
                   SELECT 'call-' || g, 0.1, 50, 'info', 'rules-v2' FROM generate_series(10, $1, 10) g"#,
                &[&count],
            )
            .await
            .unwrap();
        self.db
            .batch_execute(r#"ANALYZE "Call"; ANALYZE "Analytics""#)
            .await
            .unwrap();
    }

    fn expected(count: i32) -> HashSet<String> {
        (1..=count)
            .filter(|i| i % 10 != 0 && i % 20 != 1)
            .map(|i| format!("call-{i}"))
            .collect()
    }

    async fn run<Q: SendBatch>(&self, queue: &Q, request: BackfillRequest) -> BackfillReport {
        run_backfill(
            &self.store,
            Some(queue),
            &self.config,
            request,
            Utc::now(),
            None,
        )
        .await
        .unwrap()
    }

    /// Every call id in the queue, with repeats (messages stay hidden, so each is read once).
    async fn queued_call_ids(&self) -> Vec<String> {
        let mut ids = Vec::new();
        let mut empty = 0;
        while empty < 2 {
            let out = self
                .sqs
                .receive_message()
                .queue_url(self.queue.queue_url())
                .max_number_of_messages(10)
                .visibility_timeout(600)
                .send()
                .await
                .unwrap();
            if out.messages().is_empty() {
                empty += 1;
                continue;
            }
            empty = 0;
            for m in out.messages() {
                let body: serde_json::Value = serde_json::from_str(m.body().unwrap()).unwrap();
                ids.push(body["callId"].as_str().unwrap().to_string());
            }
        }
        ids
    }
}

#[tokio::test]
async fn twenty_five_thousand_calls_enqueue_exactly_the_unanalyzed_ones_outside_the_grace_period_once(
) {
    let env = BackfillEnv::spawn(&[]).await;
    env.seed(25_000).await;
    let expected = BackfillEnv::expected(25_000);
    let sender = RecordingSender::default();

    // A dry run counts and sends nothing.
    let dry = env
        .run(
            &sender,
            BackfillRequest {
                dry_run: true,
                ..BackfillRequest::default()
            },
        )
        .await;
    assert_eq!(dry.selected, expected.len());
    assert_eq!(dry.enqueued, 0);
    assert_eq!(dry.sample.len(), 20);
    assert!(dry.sample.iter().all(|id| expected.contains(id)));
    assert!(
        sender.call_ids.lock().unwrap().is_empty(),
        "a dry run sends nothing"
    );

    let report = env.run(&sender, BackfillRequest::default()).await;

    assert_eq!(
        (report.selected, report.enqueued, report.failed, report.done),
        (expected.len(), expected.len(), 0, true)
    );
    assert_eq!(report.next_cursor, None);
    let sent = sender.call_ids.lock().unwrap().clone();
    let unique: HashSet<String> = sent.iter().cloned().collect();
    assert_eq!(sent.len(), unique.len(), "no call twice");
    assert_eq!(unique, expected);
    assert!(
        sender.batches.lock().unwrap().iter().all(|n| *n <= 10),
        "SendMessageBatch takes 10 at most"
    );
    let attempts: i64 = env
        .db
        .query_one(
            r#"SELECT count(*) FROM "BackfillAttempt" WHERE attempts = 1"#,
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(attempts as usize, expected.len());

    // The selection is index-driven: no sequential scan of "Analytics".
    let plan: serde_json::Value = {
        let since = Utc::now() - chrono::Duration::days(7);
        let until = Utc::now() - chrono::Duration::minutes(2);
        let none_text: Option<&str> = None;
        env.db
            .query_one(
                &format!("EXPLAIN (FORMAT JSON) {BACKFILL_PAGE_SQL}"),
                &[&since, &"", &since, &until, &none_text, &3i32, &500i64],
            )
            .await
            .unwrap()
            .get(0)
    };
    let text = plan.to_string();
    assert!(text.contains("Call_endedAt_id_idx"), "{text}");
    let mut scans = Vec::new();
    collect_scans(&plan[0]["Plan"], &mut scans);
    assert!(
        !scans
            .iter()
            .any(|(node, relation)| node == "Seq Scan" && relation == "Analytics"),
        "{scans:?}"
    );
    env.schema.drop().await;
}

#[tokio::test]
async fn a_run_that_reaches_its_deadline_returns_a_cursor_and_the_next_run_finishes_the_rest() {
    let env = BackfillEnv::spawn(&[
        ("BACKFILL_PAGE_SIZE", "20"),
        ("BACKFILL_DEADLINE_MARGIN_MS", "100"),
    ])
    .await;
    env.seed(300).await;
    let expected = BackfillEnv::expected(300);
    let slow = SlowSender(env.queue.clone(), Duration::from_millis(50));

    let deadline = tokio::time::Instant::now() + Duration::from_millis(400);
    let first = run_backfill(
        &env.store,
        Some(&slow),
        &env.config,
        BackfillRequest::default(),
        Utc::now(),
        Some(deadline),
    )
    .await
    .unwrap();

    assert!(!first.done, "{first:?}");
    assert!(
        first.enqueued > 0 && first.enqueued < expected.len(),
        "{first:?}"
    );
    let cursor = first
        .next_cursor
        .clone()
        .expect("a cursor to continue from");
    let second = env
        .run(
            &env.queue,
            BackfillRequest {
                cursor: Some(cursor),
                ..BackfillRequest::default()
            },
        )
        .await;
    assert!(second.done);
    assert_eq!(first.enqueued + second.enqueued, expected.len());
    let queued = env.queued_call_ids().await;
    let unique: HashSet<String> = queued.iter().cloned().collect();
    assert_eq!(
        queued.len(),
        unique.len(),
        "the second run starts after the cursor"
    );
    assert_eq!(unique, expected);
    env.schema.drop().await;
}

/// Fails chosen calls' entries: `flaky` for its first two sends, `broken` always, `refused` as
/// the sender's fault (never retried).
struct FlakySender<'a> {
    inner: &'a SqsQueue,
    sends: Mutex<HashMap<String, u32>>,
}

impl SendBatch for FlakySender<'_> {
    async fn send_batch(
        &self,
        entries: &[OutgoingMessage],
    ) -> Result<Vec<EntryFailure>, QueueError> {
        let mut failures = Vec::new();
        let mut pass = Vec::new();
        for entry in entries {
            let call = call_of(entry);
            let n = {
                let mut sends = self.sends.lock().unwrap();
                let n = sends.entry(call.clone()).or_insert(0);
                *n += 1;
                *n
            };
            let failure = |sender_fault| EntryFailure {
                entry_id: entry.entry_id.clone(),
                code: "InternalError".into(),
                sender_fault,
            };
            match call.as_str() {
                "call-3" if n <= 2 => failures.push(failure(false)),
                "call-5" => failures.push(failure(false)),
                "call-7" => failures.push(failure(true)),
                _ => pass.push(entry.clone()),
            }
        }
        let mut real = self.inner.send_batch(&pass).await?;
        real.extend(failures);
        Ok(real)
    }
    fn is_fifo(&self) -> bool {
        false
    }
}

#[tokio::test]
async fn failed_entries_are_retried_and_a_permanently_failing_entry_is_reported() {
    let env = BackfillEnv::spawn(&[]).await;
    env.seed(30).await;
    let expected = BackfillEnv::expected(30);
    let flaky = FlakySender {
        inner: &env.queue,
        sends: Mutex::new(HashMap::new()),
    };

    let report = env.run(&flaky, BackfillRequest::default()).await;

    let sends = flaky.sends.lock().unwrap().clone();
    assert_eq!(sends["call-3"], 3, "retried until it went through");
    assert_eq!(sends["call-5"], 3, "retried up to the limit");
    assert_eq!(sends["call-7"], 1, "a sender fault is not retried");
    assert_eq!(report.failed, 2);
    let mut failed = report.failed_call_ids.clone();
    failed.sort();
    assert_eq!(failed, vec!["call-5", "call-7"]);
    assert_eq!(report.enqueued, expected.len() - 2);
    let queued: HashSet<String> = env.queued_call_ids().await.into_iter().collect();
    assert!(queued.contains("call-3") && !queued.contains("call-5") && !queued.contains("call-7"));
    // Failed calls carry no attempt, so the next run selects them again.
    let next = env
        .run(
            &env.queue,
            BackfillRequest {
                dry_run: true,
                ..BackfillRequest::default()
            },
        )
        .await;
    assert_eq!(next.selected, expected.len());
    env.schema.drop().await;
}

#[tokio::test]
async fn a_poison_call_stops_being_enqueued_after_the_max_attempts_until_reanalyze() {
    // Every run counts here (no minimum interval between counted attempts), as runs a
    // schedule apart do.
    let env = BackfillEnv::spawn(&[
        ("BACKFILL_MAX_ATTEMPTS", "3"),
        ("BACKFILL_ATTEMPT_INTERVAL", "0"),
    ])
    .await;
    env.seed(2).await; // call-2 is the only candidate: call-1 is inside the grace period.

    let runs: Vec<BackfillReport> = {
        let mut runs = Vec::new();
        for _ in 0..4 {
            runs.push(env.run(&env.queue, BackfillRequest::default()).await);
        }
        runs
    };

    let enqueued: Vec<usize> = runs.iter().map(|r| r.enqueued).collect();
    assert_eq!(enqueued, vec![1, 1, 1, 0]);
    assert_eq!(runs[3].skipped, 1, "reported as left alone");
    let again = env
        .run(
            &env.queue,
            BackfillRequest {
                reanalyze: true,
                ..BackfillRequest::default()
            },
        )
        .await;
    assert_eq!(again.enqueued, 1, "reanalyze asks for it again");
    env.schema.drop().await;
}

#[tokio::test]
async fn a_duplicate_scheduled_delivery_or_an_overlapping_run_does_not_use_up_attempts() {
    let env = BackfillEnv::spawn(&[("BACKFILL_MAX_ATTEMPTS", "2")]).await;
    env.seed(2).await; // call-2 is the only candidate.

    // Four runs within seconds (EventBridge delivers at least once; a slow run overlaps the
    // next): each enqueues the call, the analyzer is idempotent, and one attempt is counted.
    let mut enqueued = Vec::new();
    for _ in 0..4 {
        enqueued.push(
            env.run(&env.queue, BackfillRequest::default())
                .await
                .enqueued,
        );
    }

    assert_eq!(enqueued, vec![1, 1, 1, 1], "never given up by a burst");
    let attempts: i32 = env
        .db
        .query_one(
            r#"SELECT attempts FROM "BackfillAttempt" WHERE "callId" = 'call-2'"#,
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(attempts, 1);
    env.schema.drop().await;
}

#[tokio::test]
async fn reanalyze_selects_rows_of_another_prompt_version_and_agent_filters_apply() {
    let env = BackfillEnv::spawn(&[
        ("ANALYZER", "llm"),
        ("LLM_BASE_URL", "http://127.0.0.1:9/v1"),
        ("PROMPT_VERSION", "v2"),
    ])
    .await;
    env.seed(40).await;
    // Analyzed rows: call-10 and call-30 by the current model and prompt, call-20 and call-40 by an old prompt.
    env.db
        .batch_execute(
            r#"UPDATE "Analytics" SET analyzer = 'openai:gpt-4o-mini', "promptVersion" = 'v2' WHERE "callId" IN ('call-10', 'call-30');
               UPDATE "Analytics" SET analyzer = 'openai:gpt-4o-mini', "promptVersion" = 'v1' WHERE "callId" IN ('call-20', 'call-40');"#,
        )
        .await
        .unwrap();
    let missing = BackfillEnv::expected(40).len();

    let plain = env
        .run(
            &env.queue,
            BackfillRequest {
                dry_run: true,
                ..BackfillRequest::default()
            },
        )
        .await;
    let reanalyze = env
        .run(
            &env.queue,
            BackfillRequest {
                dry_run: true,
                reanalyze: true,
                limit: Some(1_000),
                ..BackfillRequest::default()
            },
        )
        .await;
    let agent = env
        .run(
            &env.queue,
            BackfillRequest {
                dry_run: true,
                agent_id: Some("agent-3".into()),
                ..BackfillRequest::default()
            },
        )
        .await;

    assert_eq!(plain.selected, missing);
    assert_eq!(reanalyze.selected, missing + 2);
    assert!(reanalyze.sample.len() <= 20);
    let agent_expected = (1..=40)
        .filter(|i| i % 10 != 0 && i % 20 != 1 && i % 7 == 3)
        .count();
    assert_eq!(agent.selected, agent_expected);
    env.schema.drop().await;
}

#[tokio::test]
async fn fifo_queues_get_a_group_and_deduplication_id_per_call() {
    let env = BackfillEnv::spawn_on(&format!("postcall-calls-bf-{}.fifo", short_id()), &[]).await;
    env.seed(12).await;

    let report = env.run(&env.queue, BackfillRequest::default()).await;

    assert_eq!(report.enqueued, BackfillEnv::expected(12).len());
    let out = env
        .sqs
        .receive_message()
        .queue_url(env.queue.queue_url())
        .max_number_of_messages(10)
        .message_system_attribute_names(
            aws_sdk_sqs::types::MessageSystemAttributeName::MessageGroupId,
        )
        .send()
        .await
        .unwrap();
    let message = &out.messages()[0];
    let call: serde_json::Value = serde_json::from_str(message.body().unwrap()).unwrap();
    let group = message
        .attributes()
        .unwrap()
        .get(&aws_sdk_sqs::types::MessageSystemAttributeName::MessageGroupId)
        .unwrap();
    assert_eq!(
        group,
        &postcall::adapters::sqs::fifo_key(call["callId"].as_str().unwrap())
    );
    env.schema.drop().await;
}

#[tokio::test]
async fn the_sample_events_drive_the_handler_as_a_schedule_and_a_dry_run() {
    let env = BackfillEnv::spawn(&[]).await;
    env.seed(40).await;
    let expected = BackfillEnv::expected(40);
    let deps =
        postcall::handlers::backfill::BackfillDeps::new(env.config.clone(), &aws_config().await)
            .await
            .unwrap();
    let invoke = |json: &'static str| {
        let event: serde_json::Value = serde_json::from_str(json).unwrap();
        postcall::handlers::backfill::backfill(
            &deps,
            lambda_runtime::LambdaEvent::new(event, lambda_runtime::Context::default()),
        )
    };

    // The manual sample is a dry run: it counts and sends nothing.
    let manual = invoke(include_str!("../../../events/backfill-manual.json"))
        .await
        .unwrap();
    let scheduled = invoke(include_str!("../../../events/backfill-scheduled.json"))
        .await
        .unwrap();

    assert!(manual.dry_run);
    assert_eq!((manual.selected, manual.enqueued), (expected.len(), 0));
    assert!(!scheduled.dry_run);
    assert_eq!((scheduled.enqueued, scheduled.done), (expected.len(), true));
    let queued: HashSet<String> = env.queued_call_ids().await.into_iter().collect();
    assert_eq!(queued, expected);
    let bad = postcall::handlers::backfill::backfill(
        &deps,
        lambda_runtime::LambdaEvent::new(
            serde_json::json!({"dryrun": true}),
            lambda_runtime::Context::default(),
        ),
    )
    .await;
    let diagnostic: lambda_runtime::Diagnostic = bad.unwrap_err().into();
    assert_eq!(diagnostic.error_type, "Permanent.InvalidRequest");
    env.schema.drop().await;
}

fn collect_scans(node: &serde_json::Value, out: &mut Vec<(String, String)>) {
    if let Some(relation) = node["Relation Name"].as_str() {
        out.push((
            node["Node Type"].as_str().unwrap_or("").to_string(),
            relation.to_string(),
        ));
    }
    for child in node["Plans"].as_array().into_iter().flatten() {
        collect_scans(child, out);
    }
}
