//! The backfill section: one scheduled run over calls, some analyzed, some in the grace period,
//! enqueueing into a counting sender.

use std::time::Instant;

use chrono::Utc;
use postcall::{
    adapters::postgres::PgStore,
    analysis::rules,
    config::BackfillConfig,
    handlers::backfill::{run_backfill, BackfillRequest},
};

use super::{BenchDb, CountingSender, Sizes, ThroughputResult};

pub(super) async fn bench_backfill(
    db: &BenchDb,
    sizes: &Sizes,
) -> anyhow::Result<ThroughputResult> {
    let url = db.schema("bench_backfill").await?;
    let client = db.client_in(&url).await?;
    // As in the 25 000-call test: 10 % analyzed, 5 % inside the grace period.
    client
        .execute(
            r#"INSERT INTO "Call" (id, "fromNumber", "agentId", "endedAt")
               SELECT 'call-' || g, '+1555' || lpad(g::text, 7, '0'), 'agent-' || (g % 7),
                      CASE WHEN g % 20 = 1 THEN now() - interval '30 seconds'
                           ELSE now() - interval '3 minutes' - (g * interval '20 seconds') END
               FROM generate_series(1, $1) g"#,
            &[&sizes.backfill_calls],
        )
        .await?;
    client
        .execute(
            r#"INSERT INTO "Analytics" ("callId", sentiment, "leadScore", intent, analyzer)
               SELECT 'call-' || g, 0.1, 50, 'info', $2 FROM generate_series(10, $1, 10) g"#,
            &[&sizes.backfill_calls, &rules::RULES_ANALYZER_VERSION],
        )
        .await?;
    client
        .batch_execute(r#"ANALYZE "Call"; ANALYZE "Analytics""#)
        .await?;
    let vars = std::collections::HashMap::from([
        ("DATABASE_URL", url.clone()),
        (
            "ANALYZER_QUEUE_URL",
            "http://bench.invalid/queue".to_string(),
        ),
    ]);
    let config = BackfillConfig::from_lookup(&|k: &str| vars.get(k).cloned())?;
    let store = PgStore::new(config.database.clone(), None);
    let sender = CountingSender::default();
    let started = Instant::now();
    let report = run_backfill(
        &store,
        Some(&sender),
        &config,
        BackfillRequest::default(),
        Utc::now(),
        None,
    )
    .await?;
    let wall = started.elapsed().as_secs_f64();
    Ok(ThroughputResult {
        items: report.enqueued,
        wall_s: wall,
        per_s: report.enqueued as f64 / wall,
        note: format!(
            "{} calls, {} selected and enqueued in batches of 10 with attempts recorded; counting sender, no SQS",
            sizes.backfill_calls, report.selected
        ),
    })
}
