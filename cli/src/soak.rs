//! `postcall soak`: calls pushed through the whole local pipeline while faults are injected at
//! every boundary, and what became of each call.
//!
//! NATS JetStream → bridge → SQS → analyzer (LLM analyzer against the local mock) → SNS → SQS
//! subscription → notifier → Slack mock, on the local Postgres, NATS and the AWS emulator (moto,
//! `AWS_ENDPOINT_URL`). The SQS event source and Lambda's async retries are played by loops here:
//! a batch's failures stay in the queue and come back after the visibility timeout; a failed
//! notifier invocation is retried twice, then its message counts as dead-lettered. Faults: LLM
//! 429 with Retry-After, 500, timeout, malformed JSON, garbage content and cut (`length`)
//! replies; the analyzer's Postgres connections killed at random; the bridge's NATS connection
//! cut; SQS `SendMessageBatch` entries failed and SNS publishes refused after the upsert (a
//! proxy in front of the emulator, postcall-testkit's AwsFaultProxy); Slack 429, 500, slow
//! answers and timeouts; duplicate NATS publishes and duplicate SNS deliveries; poison bodies; a 1 MB
//! transcript. The report: calls in, Analytics rows, rows that differ from a fault-free analysis,
//! dead-lettered messages by reason, Slack posts per hot call, LLM requests per call, and the
//! p95 latency from publish to stored row. `--quick` fails on a lost call or a hot call not
//! posted exactly once.

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{bail, Context as _};
use aws_lambda_events::{sns::SnsEvent, sqs::SqsEvent};
use aws_sdk_sqs::types::QueueAttributeName;
use chrono::Utc;
use lambda_runtime::{Context, LambdaEvent};
use postcall::{
    adapters::postgres::PgStore,
    config::{AnalyzerConfig, BridgeConfig, DatabaseConfig, NotifierConfig},
    handlers::{
        analyze_batch::{analyze_batch, AnalyzerDeps},
        bridge::{drain, BridgeDeps},
        notify::{notify, NotifierDeps},
    },
};
use postcall_testkit::{
    AwsFaultProxy, AwsFaults, Fault, MockLlm, MockLlmOptions, MockSlack, SlackReply, TcpProxy,
};
use serde::Serialize;
use tokio_postgres::NoTls;

use crate::{dataset, local_postgres};

/// `postcall soak` options.
pub struct SoakOptions {
    /// A short run for CI.
    pub quick: bool,
    /// Postgres (else DATABASE_URL, else the local `postcall_bench` database).
    pub database_url: Option<String>,
    /// Also write the report as JSON here.
    pub json: Option<String>,
}

/// What became of the calls.
#[derive(Debug, Default, Serialize)]
pub struct SoakReport {
    /// Calls seeded and published.
    pub calls: usize,
    /// Duplicate `call.completed` publishes among them.
    pub duplicate_publishes: usize,
    /// Poison bodies published as well.
    pub poison_bodies: usize,
    /// Calls with an Analytics row at the end.
    pub analytics_rows: usize,
    /// Rows whose intent or lead score differs from the fault-free analysis.
    pub rows_differing_from_fault_free: usize,
    /// Dead-lettered messages by `errorCode`.
    pub dead_lettered: HashMap<String, usize>,
    /// Calls neither analysed nor dead-lettered: lost.
    pub lost_calls: Vec<String>,
    /// Calls whose hot-lead message failed every notifier attempt, and how often each was
    /// posted all the same (by another delivery of its message).
    pub notifier_exhausted_calls: Vec<String>,
    /// Hot calls (rows marked hot).
    pub hot_calls: usize,
    /// Hot calls posted to Slack other than exactly once.
    pub hot_calls_not_posted_once: Vec<(String, usize)>,
    /// LLM requests, all told, and per call.
    pub llm_requests: usize,
    /// LLM requests per analysed call.
    pub llm_requests_per_call: f64,
    /// Postgres connections killed.
    pub connections_killed: usize,
    /// Bridge runs until the stream was drained, and those that ended in an error.
    pub bridge_runs: usize,
    /// Bridge runs that returned an error (NATS unreachable mid-run).
    pub bridge_run_errors: usize,
    /// The bridge's NATS connections cut.
    pub nats_connections_cut: usize,
    /// `SendMessageBatch` entries the proxy reported failed.
    pub sqs_batch_entries_failed: usize,
    /// SNS publishes refused (500) after the upsert, and the calls they were for.
    pub sns_publishes_refused: usize,
    /// Calls whose hot-lead publish was refused at least once.
    pub calls_with_refused_publish: usize,
    /// Calls whose hot lead reached SNS more than once, with how often (the analyzer's one
    /// duplicate window: a publish SNS took whose answer was lost).
    pub calls_published_more_than_once: Vec<(String, usize)>,
    /// Analyzer invocations, and those that failed as a whole.
    pub analyzer_invocations: usize,
    /// Analyzer invocations that returned an error.
    pub analyzer_invocation_errors: usize,
    /// p50 / p95 seconds from publish to the batch that stored the row.
    pub latency_p50_s: f64,
    /// p95 of the same.
    pub latency_p95_s: f64,
    /// Wall time of the run.
    pub wall_s: f64,
}

const APPLICATION_NAME: &str = "postcall-soak-analyzer";

pub async fn run(options: SoakOptions) -> anyhow::Result<()> {
    let started = Instant::now();
    let calls_wanted = if options.quick { 150 } else { 1_000 };
    if std::env::var("AWS_ENDPOINT_URL").is_err() {
        bail!("postcall soak runs against the AWS emulator: start moto_server and set AWS_ENDPOINT_URL (scripts/test does both)");
    }
    let base_url = options
        .database_url
        .clone()
        .or_else(|| std::env::var("DATABASE_URL").ok())
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postcall_bench".to_owned());
    local_postgres::ensure_database(&base_url).await?;
    let (admin, connection) = tokio_postgres::connect(&base_url, NoTls)
        .await
        .with_context(|| format!("connect to {}", local_postgres::describe(&base_url)))?;
    tokio::spawn(connection);
    let run_id = format!("{}_{}", std::process::id(), Utc::now().timestamp());
    let schema = format!("soak_{run_id}");
    admin
        .batch_execute(&format!("CREATE SCHEMA {schema}"))
        .await?;
    let sep = if base_url.contains('?') { '&' } else { '?' };
    let url = format!(
        "{base_url}{sep}options=-c%20search_path%3D{schema}&application_name={APPLICATION_NAME}"
    );
    let result = soak(&admin, &url, &run_id, calls_wanted).await;
    admin
        .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .await
        .ok();
    let mut report = result?;
    report.wall_s = started.elapsed().as_secs_f64();
    println!("{}", render(&report));
    if let Some(path) = &options.json {
        std::fs::write(path, serde_json::to_string_pretty(&report)?)
            .with_context(|| format!("write {path}"))?;
    }
    if !report.lost_calls.is_empty() || !report.hot_calls_not_posted_once.is_empty() {
        bail!(
            "soak failed: {} calls lost, {} hot calls not posted exactly once",
            report.lost_calls.len(),
            report.hot_calls_not_posted_once.len()
        );
    }
    // A soak whose faults never fired proves nothing.
    let idle: Vec<&str> = [
        ("Postgres connection kills", report.connections_killed),
        ("NATS connection cuts", report.nats_connections_cut),
        ("SQS batch entry failures", report.sqs_batch_entries_failed),
        ("SNS publish refusals", report.sns_publishes_refused),
    ]
    .into_iter()
    .filter(|(_, n)| *n == 0)
    .map(|(name, _)| name)
    .collect();
    if !idle.is_empty() {
        bail!(
            "soak failed: no faults were injected at: {}",
            idle.join(", ")
        );
    }
    Ok(())
}

async fn soak(
    admin: &tokio_postgres::Client,
    url: &str,
    run_id: &str,
    calls_wanted: usize,
) -> anyhow::Result<SoakReport> {
    let mut report = SoakReport::default();
    let store = PgStore::new(DatabaseConfig::from_url(url), None);
    store.migrate().await.context("migrate the soak schema")?;

    // --- calls -------------------------------------------------------------------------------
    let samples = dataset::parse_jsonl(dataset::DEMO_CALLS)?;
    let now = Utc::now();
    let mut ids = Vec::with_capacity(calls_wanted);
    // What a fault-free run stores: the mock LLM answers with the offline analysis of the
    // transcript it is sent.
    let mut expected: HashMap<String, (String, i32)> = HashMap::new();
    for (i, call) in samples.iter().cycle().take(calls_wanted).enumerate() {
        let id = format!("soak-{run_id}-{i:05}");
        let mut new_call = call.to_new_call(&id, now - chrono::Duration::minutes(10));
        if i == 7 {
            // One transcript of a megabyte: the analyzer caps what it reads and sends.
            if let Some(turn) = new_call.turns.last_mut() {
                turn.text = "so um basically ".repeat(65_536);
            }
        } else {
            let analysis = postcall::analysis::rules::analyze(
                &crate::eval::transcript_of(call).capped(usize::MAX),
            );
            expected.insert(
                id.clone(),
                (
                    analysis.intent.to_string(),
                    i32::from(analysis.lead_score.get()),
                ),
            );
        }
        store.upsert_call(&new_call).await.context("seed a call")?;
        ids.push(id);
    }
    report.calls = ids.len();

    // --- the emulator's queues and topic -----------------------------------------------------
    let aws = postcall::config::aws_sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&aws);
    let sns = aws_sdk_sns::Client::new(&aws);
    let make_queue = |name: String, attributes: Vec<(QueueAttributeName, String)>| {
        let sqs = sqs.clone();
        async move {
            let mut request = sqs.create_queue().queue_name(name);
            for (k, v) in attributes {
                request = request.attributes(k, v);
            }
            let url = request
                .send()
                .await?
                .queue_url()
                .unwrap_or_default()
                .to_owned();
            anyhow::Ok(url)
        }
    };
    let calls_dlq = make_queue(format!("soak-calls-dlq-{run_id}"), vec![]).await?;
    let calls_dlq_arn = queue_arn(&sqs, &calls_dlq).await?;
    let calls_queue = make_queue(
        format!("soak-calls-{run_id}"),
        vec![
            (QueueAttributeName::VisibilityTimeout, "2".into()),
            (
                QueueAttributeName::RedrivePolicy,
                serde_json::json!({"deadLetterTargetArn": calls_dlq_arn, "maxReceiveCount": "5"})
                    .to_string(),
            ),
        ],
    )
    .await?;
    let leads_queue = make_queue(
        format!("soak-leads-{run_id}"),
        vec![(QueueAttributeName::VisibilityTimeout, "1".into())],
    )
    .await?;
    let notifier_dlq = make_queue(format!("soak-notifier-dlq-{run_id}"), vec![]).await?;
    let topic = sns
        .create_topic()
        .name(format!("soak-hot-leads-{run_id}"))
        .send()
        .await?
        .topic_arn()
        .unwrap_or_default()
        .to_owned();
    sns.subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint(queue_arn(&sqs, &leads_queue).await?)
        .send()
        .await?;

    // --- the external services, with their faults --------------------------------------------
    let mut cycle = vec![Fault::Ok; 12];
    cycle.extend([
        Fault::RateLimited {
            retry_after_secs: 1,
        },
        Fault::ServerError,
        Fault::Timeout,
        Fault::MalformedBody,
        Fault::GarbageContent,
        Fault::Length,
    ]);
    let llm = MockLlm::start(MockLlmOptions {
        port: 0,
        latency: Duration::from_millis(5),
        cycle,
    })
    .await?;
    let slack = MockSlack::start().await?;
    // SQS and SNS as the bridge and the analyzer see them: every fourth SendMessageBatch loses
    // its last entry, and every eighth call's first three publishes (the SDK's whole retry
    // budget) are refused, so its first delivery fails after the upsert.
    let endpoint = std::env::var("AWS_ENDPOINT_URL").context("AWS_ENDPOINT_URL")?;
    let aws_faults = AwsFaultProxy::start(
        &endpoint,
        AwsFaults {
            fail_batch_entry_every: Some(4),
            fail_publish_every: Some(8),
            fail_publish_attempts: 3,
        },
    )
    .await?;
    // Loaded rather than copied from `aws`: an endpoint set on a copied SdkConfig loses to
    // AWS_ENDPOINT_URL in the environment, one given to the loader wins.
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(aws_faults.endpoint_url());
    if let Some(timeouts) = aws.timeout_config() {
        loader = loader.timeout_config(timeouts.clone());
    }
    let faulty_aws = loader.load().await;

    // --- NATS → bridge → SQS, the bridge's connection cut now and then -------------------------
    let nats_url = std::env::var("NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
    let nats_addr = nats_url
        .rsplit("://")
        .next()
        .and_then(|hostport| {
            std::net::ToSocketAddrs::to_socket_addrs(hostport)
                .ok()?
                .next()
        })
        .with_context(|| format!("NATS_URL {nats_url} is not host:port"))?;
    let nats_proxy = Arc::new(TcpProxy::start(nats_addr).await?);
    let stream = format!("SOAK_{run_id}");
    let subject = format!("soak.call.completed.{run_id}");
    let bridge_vars = HashMap::from([
        ("NATS_URL", format!("nats://{}", nats_proxy.addr())),
        // A message whose ack was lost with a cut connection comes back soon.
        ("NATS_ACK_WAIT_MS", "1500".into()),
        ("BRIDGE_NAK_DELAY_MS", "200".into()),
        ("NATS_STREAM", stream.clone()),
        ("NATS_SUBJECT", subject.clone()),
        ("NATS_CONSUMER", format!("soak-{run_id}")),
        ("BRIDGE_ENSURE_STREAM", "true".into()),
        ("ANALYZER_QUEUE_URL", calls_queue.clone()),
        ("DEAD_LETTER_QUEUE_URL", calls_dlq.clone()),
    ]);
    let bridge_config = BridgeConfig::from_lookup(&|k: &str| bridge_vars.get(k).cloned())
        .context("bridge config")?;
    let bridge = BridgeDeps::new(bridge_config, &faulty_aws);
    // The first drain creates the stream and the consumer.
    drain(
        &bridge.source,
        &bridge.queue,
        bridge.dead_letters.as_ref(),
        &bridge.config,
        None,
    )
    .await?;
    let nats = async_nats::connect(&nats_url).await?;
    let jetstream = async_nats::jetstream::new(nats);
    let mut published_at: HashMap<String, Instant> = HashMap::new();
    for (i, id) in ids.iter().enumerate() {
        let body =
            serde_json::json!({"callId": id, "endedAt": Utc::now().to_rfc3339()}).to_string();
        let copies = if i % 10 == 3 { 2 } else { 1 };
        report.duplicate_publishes += copies - 1;
        for _ in 0..copies {
            jetstream
                .publish(subject.clone(), body.clone().into())
                .await?
                .await?;
        }
        published_at.insert(id.clone(), Instant::now());
        if i % 50 == 25 {
            jetstream
                .publish(subject.clone(), "{not json".into())
                .await?
                .await?;
            report.poison_bodies += 1;
        }
    }
    // The bridge runs as its schedule would run it, again and again until nothing is pending,
    // while its connection is cut every 2 s (a run stops at a failed SendMessageBatch entry,
    // whose message comes back after the nak delay).
    let cuts = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let cutter = {
        let (proxy, cuts) = (Arc::clone(&nats_proxy), Arc::clone(&cuts));
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(2_000)).await;
                cuts.fetch_add(proxy.cut_all(), std::sync::atomic::Ordering::SeqCst);
            }
        })
    };
    let bridge_until =
        Instant::now() + Duration::from_secs(if calls_wanted <= 200 { 60 } else { 300 });
    loop {
        report.bridge_runs += 1;
        match drain(
            &bridge.source,
            &bridge.queue,
            bridge.dead_letters.as_ref(),
            &bridge.config,
            None,
        )
        .await
        {
            Ok(run) if run.pending == 0 && run.forwarded + run.failed + run.invalid == 0 => break,
            Ok(_) => {}
            Err(e) => {
                report.bridge_run_errors += 1;
                tracing::info!(error = %e, "bridge run failed; the next run goes on");
            }
        }
        if Instant::now() > bridge_until {
            tracing::warn!("the bridge did not drain the stream in time");
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    cutter.abort();
    report.nats_connections_cut = cuts.load(std::sync::atomic::Ordering::SeqCst);
    let _ = jetstream.delete_stream(&stream).await;

    // --- the analyzer, with its connections killed now and then ------------------------------
    let analyzer_vars = HashMap::from([
        ("DATABASE_URL", url.to_owned()),
        ("ANALYZER", "llm".into()),
        ("LLM_BASE_URL", llm.base_url()),
        ("LLM_API_KEY", "sk-soak".into()),
        ("LLM_TIMEOUT_MS", "400".into()),
        ("LLM_BACKOFF_BASE_MS", "20".into()),
        ("LLM_BACKOFF_CAP_MS", "200".into()),
        ("HOT_LEADS_TOPIC_ARN", topic.clone()),
        ("DEAD_LETTER_QUEUE_URL", calls_dlq.clone()),
    ]);
    let analyzer_config = AnalyzerConfig::from_lookup(&|k: &str| analyzer_vars.get(k).cloned())
        .context("analyzer config")?;
    let analyzer = AnalyzerDeps::new(analyzer_config, &faulty_aws).await?;
    let killer = {
        let (client, connection) = tokio_postgres::connect(url, NoTls).await?;
        tokio::spawn(connection);
        let killed = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = Arc::clone(&killed);
        let task = tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(1_500)).await;
                if let Ok(rows) = client
                    .query(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                         WHERE application_name = $1 AND pid <> pg_backend_pid()",
                        &[&APPLICATION_NAME],
                    )
                    .await
                {
                    count.fetch_add(rows.len(), std::sync::atomic::Ordering::SeqCst);
                }
            }
        });
        (task, killed)
    };
    let mut latencies = Vec::new();
    let mut idle_polls = 0;
    // A run that does not settle is a failure to report, not a hang: what is left is lost.
    let give_up_at =
        Instant::now() + Duration::from_secs(if calls_wanted <= 200 { 300 } else { 1_200 });
    while idle_polls < 4 && Instant::now() < give_up_at {
        let (messages, idle) = poll(&sqs, &calls_queue).await?;
        if messages.is_empty() {
            idle_polls += usize::from(idle);
            continue;
        }
        idle_polls = 0;
        let event = sqs_event(&messages);
        report.analyzer_invocations += 1;
        let failed: HashSet<String> =
            match analyze_batch(&analyzer, LambdaEvent::new(event, Context::default())).await {
                Ok(response) => response
                    .batch_item_failures
                    .into_iter()
                    .map(|f| f.item_identifier)
                    .collect(),
                Err(_) => {
                    report.analyzer_invocation_errors += 1;
                    messages
                        .iter()
                        .filter_map(|m| m.message_id.clone())
                        .collect()
                }
            };
        for message in &messages {
            if failed.contains(message.message_id().unwrap_or_default()) {
                continue;
            }
            if let Some(id) = call_id_of(message.body().unwrap_or_default()) {
                if let Some(at) = published_at.remove(&id) {
                    latencies.push(at.elapsed().as_secs_f64());
                }
            }
            sqs.delete_message()
                .queue_url(&calls_queue)
                .receipt_handle(message.receipt_handle().unwrap_or_default())
                .send()
                .await?;
        }
    }
    killer.0.abort();
    report.connections_killed = killer.1.load(std::sync::atomic::Ordering::SeqCst);

    // --- SNS → notifier → Slack ---------------------------------------------------------------
    let notifier_vars = HashMap::from([
        ("DATABASE_URL", url.to_owned()),
        ("SLACK_WEBHOOK_URL", slack.webhook_url()),
        ("SLACK_TIMEOUT_MS", "500".into()),
        ("DEAD_LETTER_QUEUE_URL", notifier_dlq.clone()),
    ]);
    let notifier_config = NotifierConfig::from_lookup(&|k: &str| notifier_vars.get(k).cloned())
        .context("notifier config")?;
    let notifier = NotifierDeps::new(notifier_config, &aws).await?;
    let mut slack_faults = Vec::new();
    for i in 0..60 {
        slack_faults.push(match i % 6 {
            1 => SlackReply::RateLimited {
                retry_after_secs: 0,
            },
            3 => SlackReply::Status(500, "internal_error".into()),
            // Longer than SLACK_TIMEOUT_MS: the notifier times out, nothing was posted.
            4 => SlackReply::Stall(Duration::from_millis(1_500)),
            5 => SlackReply::Slow(Duration::from_millis(50)),
            _ => SlackReply::Ok,
        });
    }
    slack.push_replies(slack_faults);
    let mut attempts: HashMap<String, u32> = HashMap::new();
    let mut notifier_dead = 0usize;
    let mut idle_polls = 0;
    while idle_polls < 3 && Instant::now() < give_up_at {
        let (messages, idle) = poll(&sqs, &leads_queue).await?;
        if messages.is_empty() {
            idle_polls += usize::from(idle);
            continue;
        }
        idle_polls = 0;
        for (k, message) in messages.iter().enumerate() {
            let body = message.body().unwrap_or_default();
            // Every fifth message is delivered twice (SNS delivers at least once).
            let deliveries = if k % 5 == 0 { 2 } else { 1 };
            // The two deliveries of a duplicated message are two invocations, each with its own
            // retries; once either has posted, the other's next retry finds the call sent. So
            // the message is done when either succeeded (requiring both would dead-letter a
            // message whose call was posted).
            let mut ok = false;
            for _ in 0..deliveries {
                let event = sns_event(body)?;
                ok |= notify(&notifier, LambdaEvent::new(event, Context::default()))
                    .await
                    .is_ok();
            }
            let key = message.message_id().unwrap_or_default().to_owned();
            let tries = attempts.entry(key).or_insert(0);
            *tries += 1;
            // Lambda's async invoke: two retries, then the OnFailure destination.
            if ok || *tries >= 3 {
                notifier_dead += usize::from(!ok);
                if !ok {
                    if let Some(call) = serde_json::from_str::<serde_json::Value>(body)
                        .ok()
                        .and_then(|sns| call_id_of(sns["Message"].as_str()?))
                    {
                        report.notifier_exhausted_calls.push(call);
                    }
                }
                sqs.delete_message()
                    .queue_url(&leads_queue)
                    .receipt_handle(message.receipt_handle().unwrap_or_default())
                    .send()
                    .await?;
            }
        }
    }
    if notifier_dead > 0 {
        report
            .dead_lettered
            .insert("NotifierRetriesExhausted".into(), notifier_dead);
    }

    // --- what became of each call ---------------------------------------------------------------
    let rows = admin
        .query(
            &format!(
                r#"SELECT a."callId", a.intent, a."leadScore", a."hotPublishedAt" IS NOT NULL
                   FROM soak_{run_id}."Analytics" a"#
            ),
            &[],
        )
        .await
        .context("read the Analytics rows")?;
    let mut analysed = HashSet::new();
    let mut hot = Vec::new();
    for row in &rows {
        let id: String = row.get(0);
        let intent: String = row.get(1);
        let score: i32 = row.get(2);
        let is_hot: bool = row.get(3);
        if expected.get(&id).is_some_and(|e| *e != (intent, score)) {
            report.rows_differing_from_fault_free += 1;
        }
        if is_hot {
            hot.push(id.clone());
        }
        analysed.insert(id);
    }
    report.analytics_rows = analysed.len();
    let mut parked_calls = HashSet::new();
    for queue in [&calls_dlq, &notifier_dlq] {
        loop {
            let received = sqs
                .receive_message()
                .queue_url(queue.as_str())
                .max_number_of_messages(10)
                .message_attribute_names("All")
                .send()
                .await?;
            let messages = received.messages();
            if messages.is_empty() {
                break;
            }
            for message in messages {
                let code = message
                    .message_attributes()
                    .and_then(|a| a.get("errorCode"))
                    .and_then(|v| v.string_value())
                    .unwrap_or("RedriveAfterMaxReceives")
                    .to_owned();
                *report.dead_lettered.entry(code).or_insert(0) += 1;
                if let Some(id) = call_id_of(message.body().unwrap_or_default()) {
                    parked_calls.insert(id);
                }
                sqs.delete_message()
                    .queue_url(queue.as_str())
                    .receipt_handle(message.receipt_handle().unwrap_or_default())
                    .send()
                    .await?;
            }
        }
    }
    report.lost_calls = ids
        .iter()
        .filter(|id| !analysed.contains(*id) && !parked_calls.contains(*id))
        .cloned()
        .collect();
    let mut posts_per_call: HashMap<String, usize> = HashMap::new();
    for post in slack.posts() {
        let text = post.to_string();
        if let Some(id) = ids.iter().find(|id| text.contains(id.as_str())) {
            *posts_per_call.entry(id.clone()).or_insert(0) += 1;
        }
    }
    report.hot_calls = hot.len();
    report.hot_calls_not_posted_once = hot
        .iter()
        .map(|id| (id.clone(), posts_per_call.get(id).copied().unwrap_or(0)))
        .filter(|(_, n)| *n != 1)
        .collect();
    report.llm_requests = llm.request_count();
    let injected = aws_faults.counts();
    report.sqs_batch_entries_failed = injected.batch_entries_failed;
    report.sns_publishes_refused = injected.publishes_refused;
    report.calls_with_refused_publish = injected.calls_with_refused_publishes;
    report.calls_published_more_than_once = injected.calls_published_more_than_once;
    report.llm_requests_per_call = report.llm_requests as f64 / report.calls.max(1) as f64;
    latencies.sort_by(f64::total_cmp);
    let at = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p).ceil() as usize).saturating_sub(1))
            .copied()
            .unwrap_or(0.0)
    };
    report.latency_p50_s = at(0.50);
    report.latency_p95_s = at(0.95);
    for queue in [&calls_queue, &calls_dlq, &leads_queue, &notifier_dlq] {
        let _ = sqs.delete_queue().queue_url(queue.as_str()).send().await;
    }
    let _ = sns.delete_topic().topic_arn(&topic).send().await;
    Ok(report)
}

async fn queue_arn(sqs: &aws_sdk_sqs::Client, url: &str) -> anyhow::Result<String> {
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await?;
    attributes
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn))
        .cloned()
        .context("the queue has no ARN")
}

/// Up to ten messages (with their receive counts), waiting a second for them; when there are
/// none, whether the queue is idle: nothing visible and nothing in flight either.
async fn poll(
    sqs: &aws_sdk_sqs::Client,
    url: &str,
) -> anyhow::Result<(Vec<aws_sdk_sqs::types::Message>, bool)> {
    let received = sqs
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .wait_time_seconds(1)
        .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
        .send()
        .await?;
    let messages = received.messages().to_vec();
    let idle = messages.is_empty() && in_flight(sqs, url).await? == 0;
    Ok((messages, idle))
}

/// Messages still in flight (received, not yet visible again).
async fn in_flight(sqs: &aws_sdk_sqs::Client, url: &str) -> anyhow::Result<usize> {
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .send()
        .await?;
    let count = |name: QueueAttributeName| {
        attributes
            .attributes()
            .and_then(|a| a.get(&name))
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(0)
    };
    Ok(
        count(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            + count(QueueAttributeName::ApproximateNumberOfMessages),
    )
}

/// The event Lambda's SQS event source builds from received messages.
fn sqs_event(messages: &[aws_sdk_sqs::types::Message]) -> SqsEvent {
    let records: Vec<serde_json::Value> = messages
        .iter()
        .map(|m| {
            let receives = m
                .attributes()
                .and_then(|a| {
                    a.get(&aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateReceiveCount)
                })
                .cloned()
                .unwrap_or_else(|| "1".into());
            serde_json::json!({
                "messageId": m.message_id(),
                "receiptHandle": m.receipt_handle(),
                "body": m.body(),
                "attributes": {"ApproximateReceiveCount": receives},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:soak-calls",
                "awsRegion": "us-east-1"
            })
        })
        .collect();
    serde_json::from_value(serde_json::json!({ "Records": records })).unwrap_or_default()
}

/// The event Lambda gives the notifier for an SNS envelope delivered to an SQS queue.
fn sns_event(envelope: &str) -> anyhow::Result<SnsEvent> {
    let sns: serde_json::Value = serde_json::from_str(envelope).context("an SNS envelope")?;
    let event = serde_json::json!({"Records": [{
        "EventSource": "aws:sns", "EventVersion": "1.0",
        "EventSubscriptionArn": format!("{}:soak", sns["TopicArn"].as_str().unwrap_or_default()),
        "Sns": {
            "Type": "Notification",
            "MessageId": sns["MessageId"],
            "TopicArn": sns["TopicArn"],
            "Subject": null,
            "Message": sns["Message"],
            "Timestamp": sns["Timestamp"],
            "SignatureVersion": "1", "Signature": "EXAMPLE",
            "SigningCertUrl": "https://sns.example/cert.pem",
            "UnsubscribeUrl": "https://sns.example/unsubscribe",
            "MessageAttributes": {}
        }
    }]});
    serde_json::from_value(event).context("build the SNS event")
}

fn call_id_of(body: &str) -> Option<String> {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()?
        .get("callId")?
        .as_str()
        .map(str::to_owned)
}

fn render(r: &SoakReport) -> String {
    let mut parked: Vec<String> = r
        .dead_lettered
        .iter()
        .map(|(code, n)| format!("{code} {n}"))
        .collect();
    parked.sort();
    format!(
        "postcall soak\n\
         calls in                       {calls} (+{dup} duplicate publishes, {poison} poison bodies)\n\
         Analytics rows                 {rows}\n\
         rows differing from fault-free {differ}\n\
         dead-lettered                  {parked}\n\
         lost calls                     {lost}\n\
         hot calls                      {hot}; not posted exactly once: {not_once}\n\
         LLM requests                   {llm} ({per:.2} per call)\n\
         analyzer invocations           {inv} ({inv_err} failed as a whole)\n\
         Postgres connections killed    {killed}\n\
         NATS connections cut           {cut} ({runs} bridge runs, {run_err} ended in an error)\n\
         SQS batch entries failed       {entries}\n\
         SNS publishes refused          {refused} ({refused_calls} calls); hot leads published more than once: {published_twice}\n\
         publish → row latency          p50 {p50:.2} s, p95 {p95:.2} s\n\
         wall time                      {wall:.1} s",
        calls = r.calls,
        dup = r.duplicate_publishes,
        poison = r.poison_bodies,
        rows = r.analytics_rows,
        differ = r.rows_differing_from_fault_free,
        parked = if parked.is_empty() { "none".into() } else { parked.join(", ") },
        lost = r.lost_calls.len(),
        hot = r.hot_calls,
        not_once = r.hot_calls_not_posted_once.len(),
        llm = r.llm_requests,
        per = r.llm_requests_per_call,
        inv = r.analyzer_invocations,
        inv_err = r.analyzer_invocation_errors,
        killed = r.connections_killed,
        cut = r.nats_connections_cut,
        runs = r.bridge_runs,
        run_err = r.bridge_run_errors,
        entries = r.sqs_batch_entries_failed,
        refused = r.sns_publishes_refused,
        refused_calls = r.calls_with_refused_publish,
        published_twice = r.calls_published_more_than_once.len(),
        p50 = r.latency_p50_s,
        p95 = r.latency_p95_s,
        wall = r.wall_s,
    )
}
