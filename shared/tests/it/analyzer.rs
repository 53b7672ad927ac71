//! The analyzer handler end to end: SQS records in, rows, DLQ messages and SNS messages out.

use std::time::Duration;

use crate::helpers::*;

const SALES_CALL: &[(&str, &str)] = &[
    ("agent", "Thanks for calling Brightside Solar, this is Maya. How can I help?"),
    ("user", "Hi, my name is Dana Whitfield. I want to buy a solar panel system for my house."),
    ("assistant", "Great! Do you have a budget and a timeline in mind?"),
    ("caller", "Yes, my budget is about $20,000 and I'd like it installed this month. How much to get started?"),
    ("agent", "We can send a quote today. What's the best email?"),
    ("customer", "dana dot whitfield at gmail dot com. Let's do it, sign me up 🙂"),
];

const SUPPORT_CALL: &[(&str, &str)] = &[
    ("bot", "Hello, you've reached Acme support."),
    (
        "user",
        "Hi, I can't log in to my account, the app shows an error since the update.",
    ),
    ("bot", "Sorry about that, let me reset your password."),
    ("user", "Okay thanks, that works now."),
];

#[tokio::test]
async fn a_mixed_batch_reports_exactly_the_retryable_failures_and_parks_the_malformed_one() {
    // Arrange: two good calls, a malformed body, an unknown call, and a call whose first two
    // analytics writes fail (a trigger raises for it): the batch's shared write, then its own
    // row written alone to find which row failed.
    let env = TestEnv::spawn().await;
    let (good_a, good_b, flaky) = (
        format!("good-a-{}", short_id()),
        format!("good-b-{}", short_id()),
        format!("flaky-{}", short_id()),
    );
    env.seed_call(&good_a, SALES_CALL).await;
    env.seed_call(&good_b, SUPPORT_CALL).await;
    env.seed_call(&flaky, SUPPORT_CALL).await;
    env.db
        .batch_execute(&format!(
            r#"CREATE SEQUENCE fail_twice;
               CREATE FUNCTION fail_first_write() RETURNS trigger LANGUAGE plpgsql AS $$
               BEGIN
                 IF NEW."callId" = '{flaky}' AND nextval('fail_twice') <= 2 THEN
                   RAISE EXCEPTION 'injected write failure';
                 END IF;
                 RETURN NEW;
               END $$;
               CREATE TRIGGER fail_first_write BEFORE INSERT ON "Analytics"
                 FOR EACH ROW EXECUTE FUNCTION fail_first_write();"#
        ))
        .await
        .unwrap();
    let batch = vec![
        record("m-good-a", &completed(&good_a)),
        record("m-malformed", "{not json"),
        record("m-unknown", &completed("no-such-call")),
        record("m-good-b", &completed(&good_b)),
        record("m-flaky", &completed(&flaky)),
    ];

    // Act
    let response = env.invoke(batch.clone()).await.unwrap();

    // Assert: only the retryable failures are reported.
    assert_eq!(failure_ids(&response), vec!["m-flaky", "m-unknown"]);
    assert!(env.analytics(&good_a).await.is_some());
    assert!(env.analytics(&good_b).await.is_some());
    assert!(env.analytics(&flaky).await.is_none());
    let parked = drain(&env.sqs, &env.dlq_url).await;
    assert_eq!(parked.len(), 1, "only the malformed body is parked");
    assert_eq!(parked[0].body(), Some("{not json"));
    assert_eq!(
        attribute(&parked[0], "errorCode").as_deref(),
        Some("MalformedBody")
    );
    assert!(attribute(&parked[0], "errorMessage")
        .unwrap()
        .contains("malformed call.completed body"));
    assert_eq!(
        attribute(&parked[0], "sourceMessageId").as_deref(),
        Some("m-malformed")
    );

    // The redelivery of the flaky call succeeds (the write fails only twice).
    let retry = env
        .invoke(vec![delivery("m-flaky", &completed(&flaky), 2)])
        .await
        .unwrap();
    assert!(retry.batch_item_failures.is_empty());
    assert!(env.analytics(&flaky).await.is_some());
    env.cleanup().await;
}

#[tokio::test]
async fn a_batch_is_written_in_one_transaction_and_a_rejected_row_still_fails_alone() {
    let env = TestEnv::spawn().await;
    let calls: Vec<String> = (0..8)
        .map(|i| format!("group-{i}-{}", short_id()))
        .collect();
    // Support calls: no hot-lead claim updates a row after the analytics write.
    for call in &calls {
        env.seed_call(call, SUPPORT_CALL).await;
    }
    let mut batch: Vec<_> = calls
        .iter()
        .map(|c| record(&format!("m-{c}"), &completed(c)))
        .collect();
    // A producer's re-send of a call inside the same batch: one row, both records succeed.
    batch.push(record("m-resent", &completed(&calls[1])));

    let response = env.invoke(batch).await.unwrap();

    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    // Every row of the batch was written by one transaction: the same xmin and the same now().
    let written = env
        .db
        .query_one(
            r#"SELECT count(*), count(DISTINCT xmin::text), count(DISTINCT "computedAt") FROM "Analytics""#,
            &[],
        )
        .await
        .unwrap();
    let (rows, transactions, times): (i64, i64, i64) =
        (written.get(0), written.get(1), written.get(2));
    assert_eq!((rows, transactions, times), (8, 1, 1));

    // The batch's calls were loaded by one query; each record gets its own call, in order,
    // and an id with no call gets none.
    let ids: Vec<postcall::domain::CallId> = [&calls[2], "no-such-call", &calls[5], &calls[2]]
        .into_iter()
        .map(|id| postcall::domain::CallId::parse(id).unwrap())
        .collect();
    let loaded = env.deps.store.fetch_calls(&ids).await.unwrap();
    let turns: Vec<Option<usize>> = loaded
        .iter()
        .map(|c| c.as_ref().map(|c| c.turns.len()))
        .collect();
    assert_eq!(turns, vec![Some(4), None, Some(4), Some(4)]);
    assert!(loaded[0].as_ref().unwrap().analytics.is_some());

    // A row Postgres rejects (here a check a trigger enforces for one call, as a constraint
    // would) fails its record alone: the others of the batch are written.
    let rejected = &calls[3];
    env.db
        .batch_execute(&format!(
            r#"CREATE FUNCTION reject_one() RETURNS trigger LANGUAGE plpgsql AS $$
               BEGIN
                 IF NEW."callId" = '{rejected}' THEN
                   RAISE EXCEPTION 'row rejected' USING ERRCODE = 'check_violation';
                 END IF;
                 RETURN NEW;
               END $$;
               CREATE TRIGGER reject_one BEFORE INSERT OR UPDATE ON "Analytics"
                 FOR EACH ROW EXECUTE FUNCTION reject_one();
               DELETE FROM "Analytics";"#
        ))
        .await
        .unwrap();
    let batch: Vec<_> = calls
        .iter()
        .map(|c| record(&format!("m-{c}"), &completed(c)))
        .collect();
    let response = env.invoke(batch).await.unwrap();
    assert_eq!(failure_ids(&response), vec![format!("m-{rejected}")]);
    assert_eq!(env.analytics_count().await, 7);
    assert!(env.analytics(rejected).await.is_none());
    env.cleanup().await;
}

#[tokio::test]
async fn the_same_batch_delivered_twice_gives_one_row_and_one_hot_lead_message_per_call() {
    let env = TestEnv::spawn_all_hot().await;
    let (a, b) = (
        format!("dup-a-{}", short_id()),
        format!("dup-b-{}", short_id()),
    );
    env.seed_call(&a, SALES_CALL).await;
    env.seed_call(&b, SUPPORT_CALL).await;
    // The same call twice in one batch, as a producer's re-send would do.
    let batch = vec![
        record("m-a", &completed(&a)),
        record("m-b", &completed(&b)),
        record("m-a-again", &completed(&a)),
    ];

    // Deliver the batch twice, then redeliver whatever was reported failed until nothing is.
    let mut pending = batch.clone();
    for _ in 0..2 {
        env.invoke(batch.clone()).await.unwrap();
    }
    for _ in 0..5 {
        let response = env.invoke(pending.clone()).await.unwrap();
        let failed = failure_ids(&response);
        pending.retain(|r| failed.contains(r.message_id.as_ref().unwrap()));
        if pending.is_empty() {
            break;
        }
    }

    assert!(pending.is_empty(), "every record eventually succeeds");
    assert_eq!(env.analytics_count().await, 2);
    let published = drain(&env.sqs, &env.hot_tap_url).await;
    let mut published_ids: Vec<String> = published
        .iter()
        .map(|m| {
            serde_json::from_str::<serde_json::Value>(m.body().unwrap()).unwrap()["callId"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    published_ids.sort();
    let mut expected = vec![a.clone(), b.clone()];
    expected.sort();
    assert_eq!(
        published_ids, expected,
        "exactly one hot-lead message per call"
    );
    for call in [&a, &b] {
        let row = env.analytics(call).await.unwrap();
        assert!(row
            .get::<_, Option<chrono::DateTime<chrono::Utc>>>("hotPublishedAt")
            .is_some());
    }
    env.cleanup().await;
}

#[tokio::test]
async fn a_hot_lead_message_carries_the_call_and_its_filter_attributes() {
    let env = TestEnv::spawn_all_hot().await;
    let call = format!("hot-{}", short_id());
    env.seed_call(&call, SALES_CALL).await;

    let response = env
        .invoke(vec![record("m-1", &completed(&call))])
        .await
        .unwrap();

    assert!(response.batch_item_failures.is_empty());
    let published = drain(&env.sqs, &env.hot_tap_url).await;
    assert_eq!(published.len(), 1);
    let lead: postcall::domain::HotLead =
        serde_json::from_str(published[0].body().unwrap()).unwrap();
    let row = env.analytics(&call).await.unwrap();
    assert_eq!(lead.call_id.as_str(), call);
    assert_eq!(
        i32::from(lead.lead_score.get()),
        row.get::<_, i32>("leadScore")
    );
    assert_eq!(lead.intent.as_str(), row.get::<_, String>("intent"));
    assert_eq!(lead.from_number.as_deref(), Some("+14155550100"));
    assert_eq!(lead.agent_id.as_deref(), Some("agent-test"));
    assert!(lead.ended_at.is_some());
    env.cleanup().await;
}

#[tokio::test]
async fn a_publish_that_fails_after_the_upsert_is_repaired_by_the_redelivery_exactly_once() {
    // The topic does not exist yet, so the first publish fails after the row is written.
    let env = TestEnv::spawn_with(EnvOptions {
        extra: vec![
            ("HOT_LEAD_MIN_SCORE", "0".into()),
            (
                "HOT_LEAD_INTENTS",
                "info,booking,complaint,sales,support".into(),
            ),
        ],
        create_topic: false,
    })
    .await;
    let call = format!("crash-{}", short_id());
    env.seed_call(&call, SALES_CALL).await;
    let message = record("m-1", &completed(&call));

    let first = env.invoke(vec![message.clone()]).await;
    assert!(
        first.is_err(),
        "the only record failed transiently, so the whole batch is an error"
    );
    let row = env
        .analytics(&call)
        .await
        .expect("the analysis was stored before the publish failed");
    assert!(row
        .get::<_, Option<chrono::DateTime<chrono::Utc>>>("hotPublishedAt")
        .is_none());
    let computed_at: chrono::DateTime<chrono::Utc> = row.get("computedAt");

    // The topic comes back; the redelivery publishes once, without analyzing again.
    let topic_name = env.topic_arn.rsplit(':').next().unwrap().to_string();
    create_topic_with_tap(&env.sns, &env.sqs, &topic_name, &env.hot_tap_url).await;
    let second = env
        .invoke(vec![delivery("m-1", message.body.as_deref().unwrap(), 2)])
        .await
        .unwrap();
    assert!(second.batch_item_failures.is_empty());
    let third = env
        .invoke(vec![delivery("m-1", message.body.as_deref().unwrap(), 3)])
        .await
        .unwrap();
    assert!(third.batch_item_failures.is_empty());

    assert_eq!(drain(&env.sqs, &env.hot_tap_url).await.len(), 1);
    let row = env.analytics(&call).await.unwrap();
    assert!(row
        .get::<_, Option<chrono::DateTime<chrono::Utc>>>("hotPublishedAt")
        .is_some());
    assert_eq!(
        row.get::<_, chrono::DateTime<chrono::Utc>>("computedAt"),
        computed_at,
        "not analyzed again"
    );
    env.cleanup().await;
}

#[tokio::test]
async fn a_terminated_connection_between_invocations_is_reopened() {
    let env = TestEnv::spawn().await;
    let (a, b) = (
        format!("conn-a-{}", short_id()),
        format!("conn-b-{}", short_id()),
    );
    env.seed_call(&a, SUPPORT_CALL).await;
    env.seed_call(&b, SUPPORT_CALL).await;
    assert!(env
        .invoke(vec![record("m-a", &completed(&a))])
        .await
        .unwrap()
        .batch_item_failures
        .is_empty());

    let terminated: i64 = env
        .schema
        .admin
        .query_one(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1",
            &[&env.schema.application_name],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(terminated, 1, "the analyzer holds exactly one connection");

    let response = env
        .invoke(vec![record("m-b", &completed(&b))])
        .await
        .unwrap();
    assert!(response.batch_item_failures.is_empty());
    assert!(env.analytics(&b).await.is_some());
    env.cleanup().await;
}

#[tokio::test]
async fn a_database_outage_fails_the_whole_batch() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let env = TestEnv::spawn().await;
    let vars = std::collections::HashMap::from([
        (
            "DATABASE_URL",
            format!("postgres://postgres@127.0.0.1:{port}/postgres"),
        ),
        ("DATABASE_CONNECT_TIMEOUT_MS", "500".to_string()),
        ("DEAD_LETTER_QUEUE_URL", env.dlq_url.clone()),
    ]);
    let config =
        postcall::config::AnalyzerConfig::from_lookup(&|k: &str| vars.get(k).cloned()).unwrap();
    let deps = postcall::handlers::analyze_batch::AnalyzerDeps::new(config, &env.aws)
        .await
        .unwrap();
    let mut event = aws_lambda_events::sqs::SqsEvent::default();
    event.records = vec![
        record("m-1", &completed("a")),
        record("m-2", &completed("b")),
    ];

    let result = postcall::handlers::analyze_batch::analyze_batch(
        &deps,
        lambda_runtime::LambdaEvent::new(event, lambda_runtime::Context::default()),
    )
    .await;

    let err = result.unwrap_err();
    assert!(
        err.to_string()
            .contains("every record of the batch failed (2)"),
        "{err}"
    );
    let diagnostic: lambda_runtime::Diagnostic = err.into();
    assert_eq!(diagnostic.error_type, "Transient.EveryRecordFailed");
    assert!(
        drain(&env.sqs, &env.dlq_url).await.is_empty(),
        "a transient failure is never parked"
    );
    env.cleanup().await;
}

#[tokio::test]
async fn an_unknown_call_is_retried_then_parked_at_the_delivery_limit() {
    let env = TestEnv::spawn().await;
    let known = format!("known-{}", short_id());
    env.seed_call(&known, SUPPORT_CALL).await;
    let ghost = format!("ghost-{}", short_id());
    let empty = format!("empty-{}", short_id());
    env.seed_call(&empty, &[]).await;

    let early = env
        .invoke(vec![
            record("m-ok", &completed(&known)),
            delivery("m-ghost", &completed(&ghost), 1),
            delivery("m-empty", &completed(&empty), 2),
        ])
        .await
        .unwrap();
    assert_eq!(failure_ids(&early), vec!["m-empty", "m-ghost"]);
    assert!(drain(&env.sqs, &env.dlq_url).await.is_empty());

    let last = env
        .invoke(vec![
            record("m-ok", &completed(&known)),
            delivery("m-ghost", &completed(&ghost), 3),
            delivery("m-empty", &completed(&empty), 3),
        ])
        .await
        .unwrap();
    assert!(last.batch_item_failures.is_empty(), "parked, not retried");
    let mut codes: Vec<String> = drain(&env.sqs, &env.dlq_url)
        .await
        .iter()
        .map(|m| attribute(m, "errorCode").unwrap())
        .collect();
    codes.sort();
    assert_eq!(codes, vec!["CallNotFound", "NoTurns"]);
    env.cleanup().await;
}

#[tokio::test]
async fn a_one_megabyte_transcript_is_analyzed_from_its_capped_form() {
    let env = TestEnv::spawn().await;
    let call = format!("huge-{}", short_id());
    let chunk =
        "I really want to know more about the premium plan, ¿cuánto cuesta? 😀 ".repeat(200);
    let turns: Vec<(&str, &str)> = (0..75)
        .map(|i| (if i % 2 == 0 { "user" } else { "agent" }, chunk.as_str()))
        .collect();
    env.seed_call(&call, &turns).await;
    let total_chars: i32 = (chunk.chars().count() * 75) as i32;
    assert!(chunk.len() * 75 > 1_000_000);

    let response = env
        .invoke(vec![record("m-1", &completed(&call))])
        .await
        .unwrap();

    assert!(response.batch_item_failures.is_empty());
    let row = env.analytics(&call).await.unwrap();
    assert!(row.get::<_, bool>("truncated"));
    assert_eq!(row.get::<_, i32>("transcriptChars"), total_chars);
    assert!(row.get::<_, String>("summary").chars().count() <= 240);
    env.cleanup().await;
}

#[tokio::test]
async fn an_unchanged_transcript_is_not_analyzed_again_but_late_turns_are() {
    let env = TestEnv::spawn().await;
    let call = format!("late-{}", short_id());
    env.seed_call(&call, SUPPORT_CALL).await;
    let body = completed(&call);
    env.invoke(vec![record("m-1", &body)]).await.unwrap();
    let first = env.analytics(&call).await.unwrap();

    env.invoke(vec![record("m-2", &body)]).await.unwrap();
    let again = env.analytics(&call).await.unwrap();
    assert_eq!(
        first.get::<_, chrono::DateTime<chrono::Utc>>("computedAt"),
        again.get::<_, chrono::DateTime<chrono::Utc>>("computedAt")
    );

    // The bridge writes a last turn after call.completed; the next delivery picks it up.
    env.db
        .execute(
            r#"INSERT INTO "Turn" (id, "callId", role, text, "startedAt") VALUES ($1, $2, 'user', 'Actually, this is terrible, I want a refund.', now())"#,
            &[&format!("{call}-late"), &call],
        )
        .await
        .unwrap();
    env.invoke(vec![record("m-3", &body)]).await.unwrap();
    let late = env.analytics(&call).await.unwrap();
    assert_ne!(
        first.get::<_, String>("transcriptHash"),
        late.get::<_, String>("transcriptHash")
    );
    assert!(
        late.get::<_, chrono::DateTime<chrono::Utc>>("computedAt")
            > first.get::<_, chrono::DateTime<chrono::Utc>>("computedAt")
    );
    env.cleanup().await;
}

#[tokio::test]
async fn bridge_owned_tables_with_integer_ids_enum_roles_and_naive_timestamps_are_read() {
    // The bridge created its tables first, in its own way; migrations must leave them alone.
    let schema = TestSchema::create().await;
    let db = schema.client().await;
    db.batch_execute(
        r#"CREATE TYPE speaker AS ENUM ('assistant', 'customer');
           CREATE TABLE "Call" (id text PRIMARY KEY, "fromNumber" text, "agentId" text,
                                "startedAt" timestamp, "endedAt" timestamp);
           CREATE TABLE "Turn" (id bigserial PRIMARY KEY, "callId" text REFERENCES "Call"(id),
                                role speaker NOT NULL, text text, "startedAt" timestamp);
           INSERT INTO "Call" VALUES ('c-int', '+4930555000', 'agent-x', now(), now());
           INSERT INTO "Turn" ("callId", role, text, "startedAt") VALUES
             ('c-int', 'assistant', 'Guten Tag, wie kann ich helfen?', now() - interval '3 minutes'),
             ('c-int', 'customer', 'Ich möchte einen Termin buchen, please book an appointment for Tuesday 🙏', now() - interval '2 minutes'),
             ('c-int', 'customer', NULL, now() - interval '1 minute');"#,
    )
    .await
    .unwrap();
    let vars = std::collections::HashMap::from([
        ("DATABASE_URL", schema.url.clone()),
        ("AUTO_MIGRATE", "true".to_string()),
    ]);
    let config =
        postcall::config::AnalyzerConfig::from_lookup(&|k: &str| vars.get(k).cloned()).unwrap();
    let deps = postcall::handlers::analyze_batch::AnalyzerDeps::new(config, &aws_config().await)
        .await
        .unwrap();
    let mut event = aws_lambda_events::sqs::SqsEvent::default();
    event.records = vec![record("m-1", r#"{"callId":"c-int"}"#)];

    let response = postcall::handlers::analyze_batch::analyze_batch(
        &deps,
        lambda_runtime::LambdaEvent::new(event, lambda_runtime::Context::default()),
    )
    .await
    .unwrap();

    assert!(response.batch_item_failures.is_empty());
    let row = db
        .query_one(
            r#"SELECT "transcriptChars", metrics FROM "Analytics" WHERE "callId" = 'c-int'"#,
            &[],
        )
        .await
        .unwrap();
    assert!(row.get::<_, i32>("transcriptChars") > 40);
    let metrics: serde_json::Value = row.get("metrics");
    assert_eq!(metrics["agent"]["turns"], 1);
    assert_eq!(metrics["caller"]["turns"], 2);
    // No turn has an end: each is estimated (6 words → 2.4 s, 12 → 4.8 s, none → 0.5 s),
    // and the turns start a minute apart, so the call runs 2 min + 0.5 s.
    assert_eq!(metrics["estimatedEnds"], 3);
    assert_eq!(metrics["endsEstimated"], true);
    assert_eq!(metrics["durationMs"], 120_500);
    let id_type: String = db
        .query_one("SELECT data_type FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'Turn' AND column_name = 'id'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(id_type, "bigint", "the bridge's column was not retyped");
    schema.drop().await;
}

#[tokio::test]
async fn the_sample_event_runs_through_the_handler() {
    let env = TestEnv::spawn().await;
    let event: aws_lambda_events::sqs::SqsEvent =
        serde_json::from_str(include_str!("../../../events/analyzer-batch.json")).unwrap();
    for record in &event.records {
        if let Ok(parsed) =
            postcall::domain::CallCompleted::parse(record.body.as_deref().unwrap_or(""))
        {
            env.seed_call(parsed.call_id.as_str(), SALES_CALL).await;
        }
    }

    let response = postcall::handlers::analyze_batch::analyze_batch(
        &env.deps,
        lambda_runtime::LambdaEvent::new(event.clone(), lambda_runtime::Context::default()),
    )
    .await
    .unwrap();

    assert!(
        response.batch_item_failures.is_empty(),
        "good records succeed and the malformed one is parked"
    );
    assert_eq!(
        env.analytics_count().await as usize,
        event.records.len() - 1
    );
    let parked = eventually(Duration::from_secs(5), || async {
        let messages = drain(&env.sqs, &env.dlq_url).await;
        if messages.len() == 1 {
            Ok(messages)
        } else {
            Err(format!("{} parked", messages.len()))
        }
    })
    .await;
    assert_eq!(
        attribute(&parked[0], "errorCode").as_deref(),
        Some("MalformedBody")
    );
    env.cleanup().await;
}

#[tokio::test]
async fn a_permanent_failure_whose_parking_fails_is_retried_instead_of_dropped() {
    let env = TestEnv::spawn_with(EnvOptions {
        extra: vec![(
            "DEAD_LETTER_QUEUE_URL",
            format!("{}/{ACCOUNT}/no-such-dlq-{}", emulator_url(), short_id()),
        )],
        create_topic: true,
    })
    .await;
    let good = format!("good-{}", short_id());
    env.seed_call(&good, SUPPORT_CALL).await;

    let response = env
        .invoke(vec![
            record("m-good", &completed(&good)),
            record("m-bad", "{oops"),
        ])
        .await
        .unwrap();

    assert_eq!(
        failure_ids(&response),
        vec!["m-bad"],
        "not parked, so SQS keeps it"
    );
    assert!(env.analytics(&good).await.is_some());
    env.cleanup().await;
}
