//! `postcall demo`: the whole analyzer path on bundled sample calls and a local Postgres.

use std::{collections::HashMap, io::Write as _};

use anyhow::Context as _;
use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use chrono::{Duration, Utc};
use lambda_runtime::{Context, LambdaEvent};
use postcall::{
    adapters::postgres::PgStore,
    config::{AnalyzerConfig, DatabaseConfig},
    domain::{CallCompleted, CallId},
    handlers::analyze_batch::{analyze_batch, AnalyzerDeps},
};

use crate::{dataset, local_postgres, table};

/// Calls per SQS batch, as the event source mapping delivers them.
const BATCH_SIZE: usize = 10;

pub struct DemoOptions {
    pub analyzer: Option<String>,
    pub database_url: Option<String>,
}

pub async fn run(options: DemoOptions) -> anyhow::Result<()> {
    let database = local_postgres::resolve(
        options
            .database_url
            .or_else(|| std::env::var("DATABASE_URL").ok()),
    )
    .await?;
    println!("postcall demo: database {}", database.description);

    // The analyzer's own config, from the environment, with the demo's database.
    let mut overrides = HashMap::from([("DATABASE_URL".to_string(), database.url.clone())]);
    if let Some(analyzer) = &options.analyzer {
        overrides.insert("ANALYZER".to_string(), analyzer.clone());
    }
    // `--analyzer llm` with no endpoint configured runs against the local OpenAI-compatible
    // server, so the LLM path can be seen end to end without an account.
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let wants_llm = overrides
        .get("ANALYZER")
        .cloned()
        .or_else(|| env("ANALYZER"))
        .as_deref()
        == Some("llm");
    let has_endpoint = env("LLM_BASE_URL").is_some()
        || env("LLM_API_KEY").is_some()
        || env("LLM_API_KEY_SECRET_ARN").is_some();
    let _mock = if wants_llm && !has_endpoint {
        let mock =
            postcall_testkit::MockLlm::start(postcall_testkit::MockLlmOptions::default()).await?;
        println!(
            "llm: no LLM_BASE_URL or key set, so using the local OpenAI-compatible server at {}",
            mock.base_url()
        );
        overrides.insert("LLM_BASE_URL".to_string(), mock.base_url());
        Some(mock)
    } else {
        None
    };
    let config = AnalyzerConfig::from_lookup(&|name: &str| {
        overrides
            .get(name)
            .cloned()
            .or_else(|| std::env::var(name).ok())
    })
    .context("analyzer configuration")?;
    let policy = config.hot_lead_policy.clone();
    let topic = config.hot_leads_topic_arn.clone();

    let store = PgStore::new(DatabaseConfig::from_url(&database.url), None);
    let applied = store.migrate().await.context("migrate")?;
    println!(
        "migrations: {}",
        if applied.is_empty() {
            "up to date".to_string()
        } else {
            format!("applied {applied:?}")
        }
    );

    let calls = dataset::parse_jsonl(dataset::DEMO_CALLS)?;
    let now = Utc::now();
    let span = Duration::days(7) - Duration::hours(1);
    let mut events = Vec::with_capacity(calls.len());
    for (index, call) in calls.iter().enumerate() {
        // Spread over the last 7 days, newest first, so both dashboard windows have rows.
        let ended_at = now - Duration::minutes(7) - span * index as i32 / calls.len() as i32;
        let new_call = call.to_new_call(&call.id, ended_at);
        store
            .upsert_call(&new_call)
            .await
            .with_context(|| format!("load call {}", call.id))?;
        events.push(CallCompleted {
            call_id: CallId::parse(&call.id)?,
            ended_at: Some(ended_at),
        });
    }
    let verticals: std::collections::BTreeSet<&str> =
        calls.iter().map(|c| c.vertical.as_str()).collect();
    println!(
        "loaded {} sample calls from {} verticals into \"Call\" and \"Turn\"",
        calls.len(),
        verticals.len()
    );

    let aws = aws_config(&config).await;
    let deps = AnalyzerDeps::new(config, &aws).await?;
    println!("analyzer: {}", deps.analyzer.name());
    let mut failed = 0;
    for (batch_index, batch) in events.chunks(BATCH_SIZE).enumerate() {
        let mut event = SqsEvent::default();
        event.records = batch
            .iter()
            .enumerate()
            .map(|(i, e)| to_record(e, batch_index * BATCH_SIZE + i))
            .collect();
        match analyze_batch(&deps, LambdaEvent::new(event, Context::default())).await {
            Ok(response) => failed += response.batch_item_failures.len(),
            Err(e) => {
                eprintln!("\nbatch {} failed: {e}", batch_index + 1);
                failed += batch.len();
            }
        }
        progress(
            (batch_index * BATCH_SIZE + batch.len()).min(events.len()),
            events.len(),
        );
    }
    if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        eprintln!();
    }
    println!(
        "analyzed {} calls in SQS batches of {BATCH_SIZE}; {failed} failed",
        events.len() - failed
    );

    println!("\nTop leads in the last 24 h (the seed's query)");
    let leads = store.top_leads_24h().await?;
    let rows: Vec<Vec<String>> = leads
        .iter()
        .map(|l| {
            vec![
                l.call_id.clone(),
                l.from_number.clone().unwrap_or_default(),
                l.lead_score.to_string(),
                l.intent.clone(),
                table::clip(l.entities["name"].as_str().unwrap_or("-"), 24),
                table::clip(l.entities["topic"].as_str().unwrap_or("-"), 36),
            ]
        })
        .collect();
    print!(
        "{}",
        table::render(&["call", "from", "score", "intent", "name", "topic"], &rows)
    );

    println!(
        "\nSentiment trend per agent, 7 days (the seed's query; average caller sentiment per day)"
    );
    let trend = store.sentiment_trend_7d().await?;
    print!("{}", trend_table(&trend));

    let hot = store
        .hot_leads_since(now - Duration::days(7), &policy)
        .await?;
    println!(
        "\nHot leads of the last 7 days (score >= {}, intent {}): {}{}",
        policy.min_score,
        policy
            .intents
            .iter()
            .map(|i| i.as_str())
            .collect::<Vec<_>>()
            .join("|"),
        hot.len(),
        match &topic {
            Some(arn) => format!(", published to {arn}"),
            None => " (HOT_LEADS_TOPIC_ARN is not set: listed here, not published)".to_string(),
        }
    );
    let rows: Vec<Vec<String>> = hot
        .iter()
        .map(|l| {
            vec![
                l.call_id.clone(),
                l.from_number.clone().unwrap_or_default(),
                l.lead_score.to_string(),
                table::clip(l.entities["name"].as_str().unwrap_or("-"), 24),
                l.entities["email"].as_str().unwrap_or("-").to_string(),
            ]
        })
        .collect();
    print!(
        "{}",
        table::render(&["call", "from", "score", "name", "email"], &rows)
    );
    println!("\nDashboard: DASHBOARD_TOKEN=$(openssl rand -hex 24) postcall dashboard --port 8080 (with this demo's --database-url, if given), then open http://127.0.0.1:8080 through the link it prints");
    Ok(())
}

fn to_record(event: &CallCompleted, index: usize) -> SqsMessage {
    let mut record = SqsMessage::default();
    record.message_id = Some(format!("demo-{index:04}"));
    record.body = Some(event.to_body());
    record.event_source_arn = Some("arn:aws:sqs:us-east-1:000000000000:postcall-calls".to_string());
    record
        .attributes
        .insert("ApproximateReceiveCount".to_string(), "1".to_string());
    record
}

/// AWS config only when an AWS target is configured: otherwise the demo needs no AWS at all,
/// and the SDK's region lookup (which may probe an instance metadata endpoint) is skipped.
pub(crate) async fn aws_config(config: &AnalyzerConfig) -> aws_config::SdkConfig {
    if config.hot_leads_topic_arn.is_some() || config.dead_letter_queue_url.is_some() {
        postcall::config::aws_sdk_config().await
    } else {
        aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .build()
    }
}

/// A progress bar on a terminal; nothing when stderr is a pipe or a file.
fn progress(done: usize, total: usize) {
    use std::io::IsTerminal as _;
    const WIDTH: usize = 30;
    if !std::io::stderr().is_terminal() {
        return;
    }
    let filled = (done * WIDTH).checked_div(total).unwrap_or(WIDTH);
    eprint!(
        "\ranalyzing [{}{}] {done}/{total}",
        "#".repeat(filled),
        ".".repeat(WIDTH - filled)
    );
    let _ = std::io::stderr().flush();
}

/// One row per agent, one column per day.
fn trend_table(points: &[postcall::adapters::postgres::SentimentPoint]) -> String {
    let days: std::collections::BTreeSet<chrono::NaiveDate> =
        points.iter().map(|p| p.day.date_naive()).collect();
    let agents: std::collections::BTreeSet<String> = points
        .iter()
        .map(|p| p.agent_id.clone().unwrap_or_default())
        .collect();
    let header: Vec<String> = std::iter::once("agent".to_string())
        .chain(days.iter().map(|d| d.format("%m-%d").to_string()))
        .collect();
    let rows: Vec<Vec<String>> = agents
        .iter()
        .map(|agent| {
            std::iter::once(agent.clone())
                .chain(days.iter().map(|day| {
                    points
                        .iter()
                        .find(|p| {
                            p.agent_id.as_deref().unwrap_or_default() == agent
                                && p.day.date_naive() == *day
                        })
                        .map_or_else(
                            || "·".to_string(),
                            |p| format!("{:+.2}", p.average_sentiment),
                        )
                }))
                .collect()
        })
        .collect();
    table::render(
        &header.iter().map(String::as_str).collect::<Vec<_>>(),
        &rows,
    )
}
