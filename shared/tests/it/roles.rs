//! The three database roles README's "Database roles" documents, run for real: the writer's
//! GRANTs are enough for the analyzer, the notifier's claim and the backfill's bookkeeping,
//! and the dashboard's reader can read and nothing more.

use std::{collections::HashMap, time::Duration};

use aws_lambda_events::sqs::SqsEvent;
use chrono::Utc;
use lambda_runtime::{Context, LambdaEvent};
use postcall::{
    adapters::postgres::{NotificationOutcome, PgStore},
    config::{AnalyzerConfig, DatabaseConfig},
    domain::CallId,
    handlers::analyze_batch::{analyze_batch, AnalyzerDeps},
};

use crate::helpers::*;

#[tokio::test]
async fn the_documented_grants_are_enough_for_each_function_and_the_reader_cannot_write() {
    let schema = TestSchema::create().await;
    PgStore::new(DatabaseConfig::from_url(&schema.url), None)
        .migrate()
        .await
        .unwrap();
    let id = short_id();
    let (writer, reader) = (format!("pc_writer_{id}"), format!("pc_reader_{id}"));
    let s = &schema.name;
    // README's GRANTs, with the test's schema for `public`.
    schema
        .admin
        .batch_execute(&format!(
            r#"CREATE ROLE {writer} LOGIN;
               GRANT USAGE ON SCHEMA {s} TO {writer};
               GRANT SELECT ON {s}."Call", {s}."Turn" TO {writer};
               GRANT SELECT, INSERT, UPDATE ON {s}."Analytics", {s}."Notification", {s}."BackfillAttempt" TO {writer};
               CREATE ROLE {reader} LOGIN;
               GRANT USAGE ON SCHEMA {s} TO {reader};
               GRANT SELECT ON {s}."Call", {s}."Turn", {s}."Analytics", {s}."SentimentRollup" TO {reader};
               ALTER ROLE {reader} SET jit = off;
               ALTER ROLE {reader} SET max_parallel_workers_per_gather = 0;"#
        ))
        .await
        .unwrap();
    let as_role = |role: &str| {
        schema
            .url
            .replacen("://postgres@", &format!("://{role}@"), 1)
    };
    assert_ne!(as_role(&writer), schema.url, "the URL names the user");
    let call = format!("roles-{id}");
    seed_call(
        &connect(&schema.url).await,
        &call,
        &[
            ("agent", "Thanks for calling Northwind Realty, this is Leo."),
            (
                "user",
                "Hi, I'm Dana. I want to buy the house on Elm Street this month.",
            ),
        ],
        Utc::now() - chrono::Duration::minutes(30),
    )
    .await;

    // The analyzer, as the writer (AUTO_MIGRATE off, as deployed).
    let vars = HashMap::from([
        ("DATABASE_URL".to_string(), as_role(&writer)),
        ("ANALYZER".to_string(), "rules".to_string()),
    ]);
    let config = AnalyzerConfig::from_lookup(&|k: &str| vars.get(k).cloned()).unwrap();
    let deps = AnalyzerDeps::new(config, &aws_config().await)
        .await
        .unwrap();
    let mut event = SqsEvent::default();
    event.records = vec![record("m-1", &completed(&call))];
    let response = analyze_batch(&deps, LambdaEvent::new(event, Context::default()))
        .await
        .unwrap();
    assert!(response.batch_item_failures.is_empty(), "{response:?}");

    // The notifier's claim and the backfill's attempts, as the writer.
    let writer_store = PgStore::new(DatabaseConfig::from_url(&as_role(&writer)), None);
    let call_id = CallId::parse(&call).unwrap();
    writer_store
        .claim_notification(&call_id, "slack", Duration::from_secs(30))
        .await
        .unwrap();
    writer_store
        .finish_notification(&call_id, "slack", NotificationOutcome::Sent, None)
        .await
        .unwrap();
    writer_store
        .record_backfill_attempts(&[call.as_str()], Duration::ZERO)
        .await
        .unwrap();

    // The dashboard's reader reads the row, and may not write.
    let reader_db = connect(&as_role(&reader)).await;
    let rows = reader_db
        .query(
            r#"SELECT "leadScore" FROM "Analytics" WHERE "callId" = $1"#,
            &[&call],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    let jit: String = reader_db.query_one("SHOW jit", &[]).await.unwrap().get(0);
    assert_eq!(jit, "off", "the role's settings apply at login");
    // The writer's upsert moved the rollup (its triggers run as their owner, so the writer
    // needs no grant on it), and the reader's trend reads it.
    let reader_store = PgStore::new(DatabaseConfig::from_url(&as_role(&reader)), None);
    let trend = reader_store
        .sentiment_trend(7, "UTC")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(trend.iter().map(|p| p.calls).sum::<i64>(), 1);
    let refused = reader_db
        .execute(
            r#"UPDATE "Analytics" SET "leadScore" = 0 WHERE "callId" = $1"#,
            &[&call],
        )
        .await
        .unwrap_err();
    assert_eq!(
        refused.code(),
        Some(&tokio_postgres::error::SqlState::INSUFFICIENT_PRIVILEGE)
    );

    drop(deps);
    drop(reader_db);
    schema.drop().await;
    schema_admin_drop_roles(&[&writer, &reader]).await;
}

/// Roles are the cluster's, not the schema's: dropped once their grants went with the schema.
async fn schema_admin_drop_roles(roles: &[&str]) {
    let admin = connect(&admin_url()).await;
    for role in roles {
        // A connection of the role may still be closing: retry briefly.
        for _ in 0..20 {
            if admin
                .batch_execute(&format!("DROP ROLE IF EXISTS {role}"))
                .await
                .is_ok()
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
