//! Migrations: idempotent, safe on data that is already there, and the dashboard queries use
//! an index.

use postcall::{
    adapters::postgres::{
        PgStore, SENTIMENT_TREND_7D_SQL as SENTIMENT_TREND, TOP_LEADS_24H_SQL as TOP_LEADS,
    },
    config::DatabaseConfig,
};

use crate::helpers::*;

#[tokio::test]
async fn migrating_twice_changes_nothing() {
    let schema = TestSchema::create().await;
    let store = PgStore::new(DatabaseConfig::from_url(&schema.url), None);

    let first = store.migrate().await.unwrap();
    let second = store.migrate().await.unwrap();

    assert_eq!(
        first,
        (1..=postcall::adapters::postgres::MIGRATIONS.len() as i32).collect::<Vec<_>>()
    );
    assert!(second.is_empty());
    schema.drop().await;
}

/// Whether the old row's copy of its call's end time matches it (`None`: no copy).
async fn copied_end_time(db: &tokio_postgres::Client) -> Option<bool> {
    db.query_one(
        r#"SELECT a."callEndedAt" = c."endedAt" FROM "Analytics" a JOIN "Call" c ON c.id = a."callId" WHERE a."callId" = 'old-1'"#,
        &[],
    )
    .await
    .unwrap()
    .get(0)
}

#[tokio::test]
async fn migrating_a_database_with_seed_tables_and_rows_loses_nothing() {
    // The tutorial's schema, with data, as a team that ran the seed has it.
    let schema = TestSchema::create().await;
    let db = schema.client().await;
    db.batch_execute(
        r#"CREATE TABLE "Call" (id text PRIMARY KEY, "fromNumber" text, "agentId" text, "startedAt" timestamptz, "endedAt" timestamptz);
           CREATE TABLE "Turn" (id text PRIMARY KEY, "callId" text REFERENCES "Call"(id), role text, text text, "startedAt" timestamptz);
           CREATE TABLE "Analytics" ("callId" text PRIMARY KEY REFERENCES "Call"(id), sentiment double precision,
                                     "leadScore" int, intent text, entities jsonb, "computedAt" timestamptz);
           INSERT INTO "Call" VALUES ('old-1', '+15555550001', 'agent-a', now() - interval '1 hour', now());
           INSERT INTO "Turn" VALUES ('t-1', 'old-1', 'user', 'hello', now());
           INSERT INTO "Analytics" VALUES ('old-1', 0.4, 120, 'purchase', '{"name":"Old"}', now());"#,
    )
    .await
    .unwrap();
    let store = PgStore::new(DatabaseConfig::from_url(&schema.url), None);

    store.migrate().await.unwrap();
    store.migrate().await.unwrap();

    // The old row keeps its values, even the ones the new checks would reject (NOT VALID).
    let row = db.query_one(r#"SELECT "leadScore", intent, entities, summary, truncated FROM "Analytics" WHERE "callId" = 'old-1'"#, &[]).await.unwrap();
    assert_eq!(row.get::<_, i32>(0), 120);
    assert_eq!(row.get::<_, String>(1), "purchase");
    assert_eq!(row.get::<_, serde_json::Value>(2)["name"], "Old");
    assert_eq!(row.get::<_, String>(3), "");
    assert!(!row.get::<_, bool>(4));
    let turns: i64 = db
        .query_one(r#"SELECT count(*) FROM "Turn""#, &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(turns, 1);
    // Migration 0008 could not give the invalid old row its copy of the call's end time, so it
    // is out of the dashboard's top leads; analysed again (valid values), it gets one.
    assert_eq!(copied_end_time(&db).await, None);
    db.execute(
        r#"UPDATE "Analytics" SET "leadScore" = 90, intent = 'sales' WHERE "callId" = 'old-1'"#,
        &[],
    )
    .await
    .unwrap();
    assert_eq!(copied_end_time(&db).await, Some(true));
    // New rows are checked.
    let bad = db
        .execute(r#"INSERT INTO "Call" (id) VALUES ('new-1'); "#, &[])
        .await
        .and(db.execute(r#"INSERT INTO "Analytics" ("callId", sentiment, "leadScore", intent) VALUES ('new-1', 0.1, 101, 'sales')"#, &[]).await);
    assert!(bad.is_err(), "a lead score over 100 is rejected");
    schema.drop().await;
}

#[tokio::test]
async fn both_dashboard_queries_use_an_index_on_fifty_thousand_calls() {
    let schema = TestSchema::create().await;
    let store = PgStore::new(DatabaseConfig::from_url(&schema.url), None);
    store.migrate().await.unwrap();
    let db = schema.client().await;
    // 50 000 calls over a year, each analyzed; the dashboard windows hold a small slice.
    db.batch_execute(
        r#"INSERT INTO "Call" (id, "fromNumber", "agentId", "startedAt", "endedAt")
             SELECT 'call-' || g, '+1555' || lpad(g::text, 7, '0'), 'agent-' || (g % 12),
                    now() - (g * interval '631 seconds') - interval '5 minutes', now() - (g * interval '631 seconds')
             FROM generate_series(1, 50000) g;
           INSERT INTO "Analytics" ("callId", sentiment, "leadScore", intent, entities)
             SELECT 'call-' || g, ((g % 200) - 100) / 100.0, g % 101,
                    (ARRAY['info','booking','complaint','sales','support'])[1 + g % 5], '{}'::jsonb
             FROM generate_series(1, 50000) g;
           ANALYZE "Call"; ANALYZE "Analytics";"#,
    )
    .await
    .unwrap();

    for (name, query) in [
        ("top leads", TOP_LEADS),
        ("sentiment trend", SENTIMENT_TREND),
    ] {
        let plan: serde_json::Value = db
            .query_one(&format!("EXPLAIN (FORMAT JSON) {query}"), &[])
            .await
            .unwrap()
            .get(0);
        let text = plan.to_string();
        let mut scans = Vec::new();
        collect_scans(&plan[0]["Plan"], &mut scans);
        assert!(
            scans.contains(&("Index Scan".to_string(), "Call".to_string()))
                || scans.contains(&("Index Only Scan".to_string(), "Call".to_string()))
                || scans.contains(&("Bitmap Heap Scan".to_string(), "Call".to_string())),
            "{name} does not reach Call through an index: {scans:?}"
        );
        // Top leads may also walk "Analytics" by score (migration 0006) and probe each call by
        // its primary key; which one wins depends on how small the window is.
        let index_used = text.contains("Call_endedAt_idx")
            || (name == "top leads" && text.contains("Analytics_leadScore_"));
        assert!(index_used, "{name} uses neither index: {text}");
        // At this size the planner may hash-join a sequential scan of "Analytics" for the
        // 7-day window (cheaper than ~1000 primary-key probes); "Call" is never scanned whole.
        assert!(
            !scans.contains(&("Seq Scan".to_string(), "Call".to_string())),
            "{name} scans all calls: {scans:?}"
        );
    }
    schema.drop().await;
}

/// (node type, relation) of every scan in an EXPLAIN (FORMAT JSON) plan.
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
