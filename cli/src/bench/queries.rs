//! The queries section: the dashboard's queries on a seeded data set, timed by the server
//! (EXPLAIN ANALYZE) and round trip included, with their plans.

use std::time::Instant;

use postcall::adapters::postgres::{
    DASHBOARD_ROLE_SETTINGS_SQL, SENTIMENT_TREND_7D_SQL, SENTIMENT_TREND_SQL, TOP_LEADS_24H_SQL,
    TOP_LEADS_SQL,
};
use serde::Serialize;

use super::{percentile, sorted, BenchDb};

/// The dashboard queries on one data set.
#[derive(Debug, Serialize, Default)]
pub struct QueryBench {
    pub calls: i32,
    /// Share of calls scored 80 or more.
    pub hot_share: f64,
    /// Buckets of the sentiment rollup, and how long `postcall rollup rebuild` took for them.
    pub rollup_buckets: i64,
    pub rollup_rebuild_s: f64,
    pub queries: Vec<QueryResult>,
}

#[derive(Debug, Serialize)]
pub struct QueryResult {
    pub name: &'static str,
    pub calls: i32,
    pub runs: usize,
    /// Server execution time (EXPLAIN ANALYZE), median and p95.
    pub median_ms: f64,
    pub p95_ms: f64,
    pub min_ms: f64,
    pub max_ms: f64,
    /// The prepared query as the dashboard runs it, round trip included.
    pub wall_p50_ms: f64,
    pub wall_p95_ms: f64,
    pub rows: u64,
    pub plan: String,
}

/// The node types and index names of a JSON plan, depth first.
fn plan_summary(plan: &serde_json::Value) -> String {
    fn walk(node: &serde_json::Value, out: &mut Vec<String>) {
        if let Some(kind) = node.get("Node Type").and_then(|v| v.as_str()) {
            let on = node
                .get("Index Name")
                .or_else(|| node.get("Relation Name"))
                .and_then(|v| v.as_str())
                .map(|n| format!(" on {n}"))
                .unwrap_or_default();
            out.push(format!("{kind}{on}"));
        }
        if let Some(children) = node.get("Plans").and_then(|v| v.as_array()) {
            for child in children {
                walk(child, out);
            }
        }
    }
    let mut out = Vec::new();
    if let Some(root) = plan.get(0).and_then(|p| p.get("Plan")) {
        walk(root, &mut out);
    }
    out.join(" > ")
}

pub(super) async fn bench_queries(
    db: &BenchDb,
    calls: i32,
    runs: usize,
) -> anyhow::Result<QueryBench> {
    let url = db.schema("bench_queries").await?;
    let client = db.client_in(&url).await?;
    eprintln!("  seeding {calls} calls with analytics over 30 days, skewed as real traffic is");
    // Skewed as real traffic is: most calls recent (the end time is 30 days times the square of
    // a uniform draw, so half of them fall in the last 7.5 days), 50 agents, every call
    // analysed, lead scores mostly low (3 % at 80 and above, the rest squared towards 0).
    // The draws are hashes of the row number: the same data on every run.
    client
        .execute(
            r#"INSERT INTO "Call" (id, "fromNumber", "agentId", "endedAt")
               SELECT 'call-' || g, '+1555' || lpad((g % 10000000)::text, 7, '0'),
                      'agent-' || ((g::bigint * 40503) % 50),
                      now() - interval '30 days' * power(((g::bigint * 7919) % 1000003) / 1000003.0, 2)
               FROM generate_series(1, $1) g"#,
            &[&calls],
        )
        .await?;
    // The rollup's trigger is switched off for the bulk load and the rollup rebuilt after it,
    // as the README says to do for a bulk load; the rebuild is timed.
    client
        .batch_execute(r#"ALTER TABLE "Analytics" DISABLE TRIGGER postcall_rollup_insert"#)
        .await?;
    client
        .execute(
            r#"INSERT INTO "Analytics" ("callId", sentiment, "leadScore", intent, entities, analyzer)
               SELECT 'call-' || g, (((g::bigint * 17) % 200) - 100) / 100.0,
                      CASE WHEN (g::bigint * 104729) % 1000 < 30 THEN 80 + (g % 21)
                           ELSE floor(79 * power(((g::bigint * 31) % 1000) / 1000.0, 2))::int END,
                      (ARRAY['info','booking','complaint','sales','support'])[1 + g % 5],
                      '{"name": null, "email": null, "topic": "bench"}'::jsonb, 'bench'
               FROM generate_series(1, $1) g"#,
            &[&calls],
        )
        .await?;
    client
        .batch_execute(r#"ALTER TABLE "Analytics" ENABLE TRIGGER postcall_rollup_insert"#)
        .await?;
    let started = Instant::now();
    let buckets: i64 = client
        .query_one("SELECT postcall_rollup_rebuild()", &[])
        .await?
        .get(0);
    let rebuild_s = started.elapsed().as_secs_f64();
    // One statement at a time: a multi-statement string runs as one transaction, and VACUUM
    // refuses to run in one.
    for table in ["Call", "Analytics", "SentimentRollup"] {
        client
            .batch_execute(&format!(r#"VACUUM ANALYZE "{table}""#))
            .await?;
    }
    let hot_share: f64 = client
        .query_one(
            r#"SELECT avg(("leadScore" >= 80)::int)::float8 FROM "Analytics""#,
            &[],
        )
        .await?
        .get(0);
    type Params = Vec<Box<dyn tokio_postgres::types::ToSql + Sync + Send>>;
    // The seed's two queries verbatim in a session with the server's defaults, then the
    // dashboard's own SQL with its own parameters in a session with the settings the README
    // gives the dashboard's role (`ALTER ROLE … SET jit = off, max_parallel_workers_per_gather
    // = 0`: on a 2-core machine starting parallel workers or JIT-compiling costs more than
    // these queries).
    let dashboard = db.client_in(&url).await?;
    dashboard.batch_execute(DASHBOARD_ROLE_SETTINGS_SQL).await?;
    let queries: Vec<(&'static str, &'static str, Params)> = vec![
        ("seed: top leads, last 24 h", TOP_LEADS_24H_SQL, vec![]),
        (
            "seed: sentiment trend per agent, 7 days",
            SENTIMENT_TREND_7D_SQL,
            vec![],
        ),
        (
            "dashboard: top leads (24 h, 20 rows)",
            TOP_LEADS_SQL,
            vec![Box::new(24i32), Box::new(20i64)],
        ),
        (
            "dashboard: trend (7 days, UTC)",
            SENTIMENT_TREND_SQL,
            vec![Box::new(7i32), Box::new("UTC")],
        ),
        (
            "dashboard: trend (30 days, America/New_York)",
            SENTIMENT_TREND_SQL,
            vec![Box::new(30i32), Box::new("America/New_York")],
        ),
        (
            "dashboard: trend (90 days, Europe/Berlin)",
            SENTIMENT_TREND_SQL,
            vec![Box::new(90i32), Box::new("Europe/Berlin")],
        ),
        (
            "dashboard: trend (7 days, Asia/Kolkata)",
            SENTIMENT_TREND_SQL,
            vec![Box::new(7i32), Box::new("Asia/Kolkata")],
        ),
        (
            "dashboard: trend (30 days, Asia/Kathmandu)",
            SENTIMENT_TREND_SQL,
            vec![Box::new(30i32), Box::new("Asia/Kathmandu")],
        ),
    ];
    let mut results = Vec::new();
    for (name, sql, params) in &queries {
        let client = if name.starts_with("seed") {
            &client
        } else {
            &dashboard
        };
        let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = params
            .iter()
            .map(|p| p.as_ref() as &(dyn tokio_postgres::types::ToSql + Sync))
            .collect();
        let statement = client.prepare(sql).await?;
        let explain = client
            .prepare(&format!("EXPLAIN (ANALYZE, FORMAT JSON) {sql}"))
            .await?;
        // One warm-up run, as a dashboard's second viewer sees it.
        client.query(&statement, &params).await?;
        let (mut server, mut wall) = (Vec::with_capacity(runs), Vec::with_capacity(runs));
        let mut plan_text = String::new();
        let mut rows = 0u64;
        for _ in 0..runs {
            // What the dashboard waits for: the prepared query, round trip included.
            let started = Instant::now();
            rows = client.query(&statement, &params).await?.len() as u64;
            wall.push(started.elapsed().as_secs_f64() * 1e3);
            let plan: serde_json::Value = client.query_one(&explain, &params).await?.get(0);
            server.push(
                plan.get(0)
                    .and_then(|p| p.get("Execution Time"))
                    .and_then(serde_json::Value::as_f64)
                    .unwrap_or(f64::NAN),
            );
            plan_text = plan_summary(&plan);
        }
        let (server, wall) = (sorted(server), sorted(wall));
        results.push(QueryResult {
            name,
            calls,
            runs,
            median_ms: percentile(&server, 50.0),
            p95_ms: percentile(&server, 95.0),
            min_ms: server.first().copied().unwrap_or(0.0),
            max_ms: server.last().copied().unwrap_or(0.0),
            wall_p50_ms: percentile(&wall, 50.0),
            wall_p95_ms: percentile(&wall, 95.0),
            rows,
            plan: plan_text,
        });
    }
    Ok(QueryBench {
        calls,
        hot_share,
        rollup_buckets: buckets,
        rollup_rebuild_s: rebuild_s,
        queries: results,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_are_summarised_with_their_indexes() {
        let plan = serde_json::json!([{"Plan": {"Node Type": "Limit", "Plans": [
            {"Node Type": "Index Scan", "Index Name": "Call_endedAt_idx"},
            {"Node Type": "Seq Scan", "Relation Name": "Analytics"}]}}]);
        assert_eq!(
            plan_summary(&plan),
            "Limit > Index Scan on Call_endedAt_idx > Seq Scan on Analytics"
        );
    }
}
