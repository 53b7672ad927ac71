//! `postcall demo` as a user runs it: the real binary against the local Postgres.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

use tokio_postgres::NoTls;

fn admin_url() -> String {
    std::env::var("POSTCALL_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

async fn admin() -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(&admin_url(), NoTls)
        .await
        .expect("postgres at 127.0.0.1:5432 answers");
    tokio::spawn(connection);
    client
}

fn demo(database_url: &str) -> (String, String) {
    demo_with(database_url, &[])
}

fn demo_with(database_url: &str, extra: &[&str]) -> (String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_postcall"))
        .args(["demo", "--database-url", database_url])
        .args(extra)
        .env_remove("ANALYZER")
        .env_remove("LLM_BASE_URL")
        .env_remove("LLM_API_KEY")
        .env_remove("LLM_API_KEY_SECRET_ARN")
        .env_remove("DATABASE_URL")
        .env_remove("HOT_LEADS_TOPIC_ARN")
        .env_remove("DEAD_LETTER_QUEUE_URL")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "demo failed:\n{stdout}\n{stderr}");
    (stdout, stderr)
}

#[tokio::test]
async fn the_demo_creates_its_database_analyzes_every_sample_call_and_prints_both_dashboards() {
    let dbname = format!(
        "postcall_demo_test_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    let base = admin_url();
    let url = format!("{}/{dbname}", base.rsplit_once('/').unwrap().0);

    let (first, _) = demo(&url);
    let (second, _) = demo(&url);

    let (client, connection) = tokio_postgres::connect(&url, NoTls).await.unwrap();
    tokio::spawn(connection);
    let calls: i64 = client
        .query_one(r#"SELECT count(*) FROM "Call""#, &[])
        .await
        .unwrap()
        .get(0);
    let analyzed: i64 = client
        .query_one(r#"SELECT count(*) FROM "Analytics""#, &[])
        .await
        .unwrap()
        .get(0);
    let recent: i64 = client
        .query_one(
            r#"SELECT count(*) FROM "Call" WHERE "endedAt" > now() - interval '24 hours'"#,
            &[],
        )
        .await
        .unwrap()
        .get(0);
    drop(client);
    admin()
        .await
        .batch_execute(&format!("DROP DATABASE {dbname} WITH (FORCE)"))
        .await
        .unwrap();

    assert!(calls >= 50, "{calls} sample calls");
    assert_eq!(
        analyzed, calls,
        "every call has exactly one analytics row, after two runs"
    );
    for out in [&first, &second] {
        assert!(
            out.contains(&format!(
                "analyzed {calls} calls in SQS batches of 10; 0 failed"
            )),
            "{out}"
        );
        assert!(out.contains("Top leads in the last 24 h"), "{out}");
        assert!(out.contains("Sentiment trend per agent, 7 days"), "{out}");
        assert!(out.contains("Hot leads of the last 7 days"), "{out}");
    }
    // The top-leads table lists the calls of the last 24 h (up to the seed's LIMIT 20).
    let listed = first.lines().filter(|l| l.starts_with("demo-")).count();
    assert!(listed as i64 >= recent.min(20), "{first}");
}

#[tokio::test]
async fn the_llm_demo_runs_against_the_local_openai_compatible_server() {
    let dbname = format!(
        "postcall_demo_llm_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    let base = admin_url();
    let url = format!("{}/{dbname}", base.rsplit_once('/').unwrap().0);

    let (out, _) = demo_with(&url, &["--analyzer", "llm"]);

    let (client, connection) = tokio_postgres::connect(&url, NoTls).await.unwrap();
    tokio::spawn(connection);
    let rows = client
        .query(
            r#"SELECT analyzer, "inputTokens", "costUsd" FROM "Analytics""#,
            &[],
        )
        .await
        .unwrap();
    drop(client);
    admin()
        .await
        .batch_execute(&format!("DROP DATABASE {dbname} WITH (FORCE)"))
        .await
        .unwrap();

    assert!(
        out.contains("using the local OpenAI-compatible server"),
        "{out}"
    );
    assert!(out.contains("analyzer: openai:gpt-4o-mini"), "{out}");
    assert!(rows.len() >= 50);
    for row in &rows {
        assert_eq!(row.get::<_, String>(0), "openai:gpt-4o-mini");
        assert!(row.get::<_, Option<i32>>(1).unwrap() > 0);
        assert!(row.get::<_, Option<f64>>(2).unwrap() > 0.0);
    }
}
