//! `postcall backfill`: the backfill function's run, from a terminal.

use anyhow::Context as _;
use postcall::{
    adapters::{postgres::PgStore, sqs::SqsQueue},
    config::BackfillConfig,
    handlers::backfill::{run_backfill, BackfillRequest},
};

pub async fn run(database_url: Option<String>, request: BackfillRequest) -> anyhow::Result<()> {
    let config = BackfillConfig::from_lookup(&|name: &str| match (name, &database_url) {
        ("DATABASE_URL", Some(url)) => Some(url.clone()),
        _ => std::env::var(name).ok(),
    })
    .context("backfill configuration")?;
    let store = PgStore::new(config.database.clone(), None);
    let queue = match &config.queue_url {
        Some(url) if !request.dry_run => {
            let aws = postcall::config::aws_sdk_config().await;
            Some(SqsQueue::new(aws_sdk_sqs::Client::new(&aws), url.clone()))
        }
        _ => None,
    };
    let report = run_backfill(
        &store,
        queue.as_ref(),
        &config,
        request,
        chrono::Utc::now(),
        None,
    )
    .await?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}
