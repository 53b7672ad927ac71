//! The sentiment rollup (migrations 0007 and 0009: hourly buckets with their quarter-hour
//! parts) stays equal to what the base tables say, whatever the order of inserts, re-analyses,
//! deletes and calls that move between agents, hours and minutes, and the trend served from it
//! equals the trend from the base tables in whole-, half- and quarter-hour zones: a property
//! test over random sequences, on the local Postgres.

use chrono::{DateTime, Duration, Utc};
use postcall::{
    adapters::postgres::{PgStore, TrendPoint, SENTIMENT_TREND_FROM_BASE_SQL},
    config::DatabaseConfig,
};
use proptest::prelude::*;
use tokio_postgres::Client;

use crate::helpers::TestSchema;

/// One write, as the voice bridge (to "Call") or postcall (to "Analytics") would make it.
#[derive(Debug, Clone)]
enum Op {
    /// Insert a call, or update its agent and end time if it exists (a move between buckets).
    UpsertCall {
        call: u8,
        agent: Option<u8>,
        ended_hours_ago: Option<i16>,
        /// Minutes past that hour (0 to 59): a quarter-hour boundary now and then, exactly.
        minute: u8,
    },
    /// Analyse a call (insert its row, or re-analyse it with a new sentiment).
    Analyse {
        call: u8,
        sentiment: f64,
    },
    /// Several calls analysed by one statement, as the analyzer writes a batch (the rollup's
    /// triggers run once per statement and net the rows out together).
    AnalyseBatch {
        calls: Vec<(u8, f64)>,
    },
    /// Re-analysis that leaves the sentiment as it was.
    Touch {
        call: u8,
    },
    DeleteAnalytics {
        call: u8,
    },
    DeleteCall {
        call: u8,
    },
    /// One statement deleting the analyses of several calls.
    DeleteAnalyticsOf {
        calls: Vec<u8>,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let call = 0u8..8;
    prop_oneof![
        3 => (call.clone(), proptest::option::of(0u8..3), proptest::option::weighted(0.9, -24i16..400), 0u8..60)
            .prop_map(|(call, agent, ended_hours_ago, minute)| Op::UpsertCall { call, agent, ended_hours_ago, minute }),
        4 => (call.clone(), -1.0f64..=1.0).prop_map(|(call, sentiment)| Op::Analyse { call, sentiment }),
        1 => call.clone().prop_map(|call| Op::Touch { call }),
        1 => call.clone().prop_map(|call| Op::DeleteAnalytics { call }),
        1 => call.clone().prop_map(|call| Op::DeleteCall { call }),
        2 => proptest::collection::vec((call.clone(), -1.0f64..=1.0), 1..6)
            .prop_map(|calls| Op::AnalyseBatch { calls }),
        1 => proptest::collection::vec(call, 1..5).prop_map(|calls| Op::DeleteAnalyticsOf { calls }),
    ]
}

async fn apply(db: &Client, now: DateTime<Utc>, op: &Op) {
    let id = |call: &u8| format!("rollup-call-{call}");
    match op {
        Op::UpsertCall {
            call,
            agent,
            ended_hours_ago,
            minute,
        } => {
            let agent = agent.map(|a| format!("agent-{a}"));
            // `now` is a whole hour: a call ends at a whole minute of some hour, now and then
            // exactly on a quarter hour (a half-hour zone's midnight, or a bucket's split).
            let ended = ended_hours_ago.map(|h| {
                now - Duration::hours(i64::from(h)) + Duration::minutes(i64::from(*minute))
            });
            db.execute(
                r#"INSERT INTO "Call" (id, "agentId", "endedAt") VALUES ($1, $2, $3)
                   ON CONFLICT (id) DO UPDATE SET "agentId" = EXCLUDED."agentId",
                                                  "endedAt" = EXCLUDED."endedAt""#,
                &[&id(call), &agent, &ended],
            )
            .await
            .unwrap();
        }
        Op::Analyse { call, sentiment } => {
            // Only a call that exists can be analysed (the foreign key).
            db.execute(
                r#"INSERT INTO "Analytics" ("callId", sentiment, "leadScore", intent)
                   SELECT id, $2, 50, 'info' FROM "Call" WHERE id = $1
                   ON CONFLICT ("callId") DO UPDATE SET sentiment = EXCLUDED.sentiment,
                                                        "computedAt" = now()"#,
                &[&id(call), sentiment],
            )
            .await
            .unwrap();
        }
        Op::AnalyseBatch { calls } => {
            // A statement may not upsert one row twice: the last sentiment per call wins, as in
            // the analyzer's batch write.
            let mut last: std::collections::BTreeMap<u8, f64> = std::collections::BTreeMap::new();
            for (call, sentiment) in calls {
                last.insert(*call, *sentiment);
            }
            let ids: Vec<String> = last.keys().map(id).collect();
            let sentiments: Vec<f64> = last.values().copied().collect();
            db.execute(
                r#"INSERT INTO "Analytics" ("callId", sentiment, "leadScore", intent)
                   SELECT c.id, r.sentiment, 50, 'info'
                   FROM unnest($1::text[], $2::float8[]) AS r(call_id, sentiment)
                   JOIN "Call" c ON c.id = r.call_id
                   ON CONFLICT ("callId") DO UPDATE SET sentiment = EXCLUDED.sentiment,
                                                        "computedAt" = now()"#,
                &[&ids, &sentiments],
            )
            .await
            .unwrap();
        }
        Op::DeleteAnalyticsOf { calls } => {
            let ids: Vec<String> = calls.iter().map(id).collect();
            db.execute(
                r#"DELETE FROM "Analytics" WHERE "callId" = ANY($1::text[])"#,
                &[&ids],
            )
            .await
            .unwrap();
        }
        Op::Touch { call } => {
            db.execute(
                r#"UPDATE "Analytics" SET sentiment = sentiment, "leadScore" = "leadScore" + 0
                   WHERE "callId" = $1"#,
                &[&id(call)],
            )
            .await
            .unwrap();
        }
        Op::DeleteAnalytics { call } => {
            db.execute(
                r#"DELETE FROM "Analytics" WHERE "callId" = $1"#,
                &[&id(call)],
            )
            .await
            .unwrap();
        }
        Op::DeleteCall { call } => {
            // The cascade deletes its Analytics row.
            db.execute(r#"DELETE FROM "Call" WHERE id = $1"#, &[&id(call)])
                .await
                .unwrap();
        }
    }
}

type TrendRow = (Option<String>, DateTime<Utc>, i64, i64, String);

/// The trend from the base tables, with the average to nine places (float sums depend on
/// order).
async fn trend_from_base(db: &Client, zone: &str) -> Vec<TrendRow> {
    db.query(SENTIMENT_TREND_FROM_BASE_SQL, &[&30i32, &zone])
        .await
        .unwrap()
        .iter()
        .map(|r| {
            (
                r.get(0),
                r.get(1),
                (r.get::<_, f64>(2) * 1e9).round() as i64,
                r.get(3),
                r.get(4),
            )
        })
        .collect()
}

/// The trend as the dashboard gets it (from the rollup, in every zone here), in the same shape.
async fn trend_served(store: &PgStore, zone: &str) -> Vec<TrendRow> {
    store
        .sentiment_trend(30, zone)
        .await
        .unwrap()
        .unwrap()
        .into_iter()
        .map(|p: TrendPoint| {
            (
                p.point.agent_id,
                p.point.day,
                (p.point.average_sentiment * 1e9).round() as i64,
                p.calls,
                p.date,
            )
        })
        .collect()
}

#[test]
fn the_rollup_equals_the_base_tables_after_any_sequence_of_writes() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (schema, db, store) = runtime.block_on(async {
        let schema = TestSchema::create().await;
        let store = PgStore::new(DatabaseConfig::from_url(&schema.url), None);
        store.migrate().await.unwrap();
        let db = schema.client().await;
        (schema, db, store)
    });
    // The start of this hour (see `apply`).
    let now = DateTime::from_timestamp(Utc::now().timestamp() / 3600 * 3600, 0).unwrap();
    let config = ProptestConfig {
        cases: 48,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    let mut runner = proptest::test_runner::TestRunner::new(config);
    let result = runner.run(&proptest::collection::vec(op(), 1..40), |ops| {
        runtime.block_on(async {
            for op in &ops {
                apply(&db, now, op).await;
            }
            let differences = store.sentiment_rollup_differences().await.unwrap();
            prop_assert!(differences.is_empty(), "{differences:?} after {ops:?}");
            // Whole-hour zones, half-hour ones either side of UTC (one with DST) and a
            // quarter-hour one: every one of them is served from the rollup.
            for zone in [
                "UTC",
                "Europe/Berlin",
                "America/St_Johns",
                "Asia/Kolkata",
                "Asia/Kathmandu",
            ] {
                prop_assert_eq!(
                    trend_served(&store, zone).await,
                    trend_from_base(&db, zone).await,
                    "{} after {:?}",
                    zone,
                    ops
                );
            }
            // Every analytics row carries its call's end time (migration 0008), however the
            // call moved.
            let stale: i64 = db
                .query_one(
                    r#"SELECT count(*) FROM "Analytics" a JOIN "Call" c ON c.id = a."callId"
                       WHERE a."callEndedAt" IS DISTINCT FROM c."endedAt""#,
                    &[],
                )
                .await
                .unwrap()
                .get(0);
            prop_assert_eq!(stale, 0, "stale callEndedAt after {:?}", ops);
            // Deleting every call (each delete takes its contribution out) leaves it empty;
            // the next case starts from nothing.
            db.batch_execute(r#"DELETE FROM "Call""#).await.unwrap();
            let left: i64 = db
                .query_one(r#"SELECT count(*) FROM "SentimentRollup""#, &[])
                .await
                .unwrap()
                .get(0);
            prop_assert_eq!(left, 0);
            Ok(())
        })
    });
    runtime.block_on(async {
        // A rebuild from scratch gives what the triggers kept: one bucket, two calls in
        // different quarters of its hour.
        for (call, minute, sentiment) in [(1, 40, 0.25), (2, 10, -0.5)] {
            let upsert = Op::UpsertCall {
                call,
                agent: Some(1),
                ended_hours_ago: Some(3),
                minute,
            };
            apply(&db, now, &upsert).await;
            apply(&db, now, &Op::Analyse { call, sentiment }).await;
        }
        db.batch_execute(r#"DELETE FROM "SentimentRollup""#)
            .await
            .unwrap();
        assert_eq!(store.sentiment_rollup_differences().await.unwrap().len(), 1);
        assert_eq!(store.rebuild_sentiment_rollup().await.unwrap(), 1);
        assert!(store
            .sentiment_rollup_differences()
            .await
            .unwrap()
            .is_empty());
        schema.drop().await;
    });
    result.unwrap();
}

/// The store's one other path: a zone whose offset is not a whole number of quarter hours gets
/// its days from the base tables, not from the rollup (which cannot split an hour at minute 20).
#[tokio::test]
async fn a_zone_off_the_quarter_hours_is_computed_from_the_base_tables() {
    let schema = TestSchema::create().await;
    let store = PgStore::new(DatabaseConfig::from_url(&schema.url), None);
    store.migrate().await.unwrap();
    let db = schema.client().await;
    let now = DateTime::from_timestamp(Utc::now().timestamp() / 3600 * 3600, 0).unwrap();
    let upsert = Op::UpsertCall {
        call: 1,
        agent: Some(1),
        ended_hours_ago: Some(3),
        minute: 10,
    };
    apply(&db, now, &upsert).await;
    apply(
        &db,
        now,
        &Op::Analyse {
            call: 1,
            sentiment: 0.5,
        },
    )
    .await;
    // Empty the rollup behind the triggers' back: what reads it now sees no calls.
    db.batch_execute(r#"DELETE FROM "SentimentRollup""#)
        .await
        .unwrap();
    assert!(trend_served(&store, "Asia/Kolkata").await.is_empty());
    // POSIX: 5 h 20 min east of UTC.
    let off_quarter = "XYZ-05:20";
    let served = trend_served(&store, off_quarter).await;
    assert_eq!(served.len(), 1, "{served:?}");
    assert_eq!(served[0].3, 1);
    assert_eq!(served, trend_from_base(&db, off_quarter).await);
    schema.drop().await;
}
