//! `postcall eval` as a user runs it: the real binary on the bundled development set.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Command, Output};

const DEV_SET: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/dev-calls.jsonl");

fn eval(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_postcall"));
    command
        .arg("eval")
        .args(args)
        .env_remove("ANALYZER")
        .env_remove("LLM_BASE_URL")
        .env_remove("LLM_API_KEY")
        .env_remove("LLM_API_KEY_SECRET_ARN")
        .env_remove("HOT_LEAD_MIN_SCORE")
        .env_remove("HOT_LEAD_INTENTS");
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn json_output_has_exactly_the_specified_keys_and_the_dev_set_meets_the_thresholds() {
    let out = eval(&["--data", DEV_SET, "--json", "--check"], &[]);
    assert!(
        out.status.success(),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_str(text(&out.stdout).trim()).unwrap();
    let mut keys: Vec<&str> = report
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "email_exact",
            "hot_f1",
            "hot_precision",
            "hot_recall",
            "intent_accuracy",
            "lead_score_mae",
            "n",
            "name_exact",
            "sentiment_mae",
            "topic_f1"
        ]
    );
    assert!(report["n"].as_u64().unwrap() >= 100);
}

#[test]
fn the_text_report_shows_every_section() {
    let out = eval(&["--data", DEV_SET, "--worst", "3"], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report = text(&out.stdout);
    for section in [
        "sentiment MAE",
        "intent confusion",
        "hot leads          precision",
        "name exact",
        "topic token F1",
        "call metrics",
        "mean agentResponseLatencyMs.p50",
        "mean callerSentimentByQuarter[3]",
    ] {
        assert!(report.contains(section), "missing {section}:\n{report}");
    }
}

#[test]
fn check_fails_and_names_the_metric_when_a_threshold_is_missed() {
    // A hot-lead policy nobody can meet: every hot label becomes a miss.
    let out = eval(
        &["--data", DEV_SET, "--json", "--check"],
        &[("HOT_LEAD_MIN_SCORE", "100")],
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("hot_f1"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_malformed_line_is_a_clear_error_naming_the_line() {
    let dir = std::env::temp_dir().join(format!("postcall-eval-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("broken.jsonl");
    let good = std::fs::read_to_string(DEV_SET)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_string();
    std::fs::write(&file, format!("{good}\n{{\"id\": \"x\", \"turns\": [\n")).unwrap();
    let out = eval(&["--data", file.to_str().unwrap()], &[]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("line 2"),
        "{}",
        text(&out.stderr)
    );
}

#[tokio::test]
async fn the_llm_analyzer_is_evaluated_through_an_openai_compatible_endpoint() {
    // The local server answers with the offline analyzer's reading, so the numbers match
    // rules; what this shows is the llm path end to end (request, schema, parsing).
    let server = postcall_testkit::MockLlm::start(postcall_testkit::MockLlmOptions::default())
        .await
        .unwrap();
    let base_url = server.base_url();
    let out = tokio::task::spawn_blocking(move || {
        eval(
            &["--data", DEV_SET, "--analyzer", "llm", "--json"],
            &[("LLM_BASE_URL", &base_url), ("LLM_API_KEY", "test-key")],
        )
    })
    .await
    .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_str(text(&out.stdout).trim()).unwrap();
    assert!(report["n"].as_u64().unwrap() >= 100);
    assert!(
        server.request_count() >= 100,
        "{} requests",
        server.request_count()
    );
}
