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
            "email_f1",
            "email_false_positive_rate",
            "email_precision",
            "email_recall",
            "hot_f1",
            "hot_precision",
            "hot_recall",
            "intent_accuracy",
            "lead_score_mae",
            "n",
            "name_exact",
            "name_f1",
            "name_false_positive_rate",
            "name_precision",
            "name_recall",
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
        "name               precision",
        "email              precision",
        "name / email exact",
        "topic token F1",
        "call metrics",
        "mean agentResponseLatencyMs.p50",
        "mean callerSentimentByQuarter[3]",
    ] {
        assert!(report.contains(section), "missing {section}:\n{report}");
    }
}

/// A scratch folder of this test's own.
fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("postcall-eval-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn check_fails_and_names_the_metric_when_the_sets_gate_is_missed() {
    // The dev set beside a gates file no analyzer can meet.
    let dir = scratch("gate");
    let data = dir.join("dev-calls.jsonl");
    std::fs::copy(DEV_SET, &data).unwrap();
    let strict = serde_json::json!({"gates": [{"data": "dev-calls.jsonl", "stt": false, "note": "impossible", "thresholds": {
        "sentiment_mae_max": 0.0, "intent_accuracy_min": 0.0, "lead_score_mae_max": 100.0, "hot_f1_min": 0.0,
        "name_f1_min": 0.0, "email_f1_min": 0.0, "name_false_positive_rate_max": 1.0, "email_false_positive_rate_max": 1.0}}]});
    std::fs::write(dir.join("quality-gates.json"), strict.to_string()).unwrap();
    let out = eval(
        &["--data", data.to_str().unwrap(), "--json", "--check"],
        &[],
    );
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("sentiment_mae") && err.contains("gate for dev-calls.jsonl"),
        "{err}"
    );
    assert!(
        !err.contains("intent_accuracy"),
        "only the missed metric is named: {err}"
    );
    assert!(
        !err.contains("targets not met yet"),
        "every target is met, only the impossible gate fails: {err}"
    );
}

#[test]
fn label_and_prediction_are_judged_hot_under_one_policy() {
    // Under a policy nothing reaches, neither side has a hot lead: nothing missed, nothing
    // invented (before, the label kept its own fixed policy and every hot label was a miss).
    let out = eval(
        &["--data", DEV_SET, "--json"],
        &[("HOT_LEAD_MIN_SCORE", "100")],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_str(text(&out.stdout).trim()).unwrap();
    // No dev label scores 100, so a hot label under this policy would be the fixed policy's.
    assert_eq!(report["hot_recall"].as_f64(), Some(1.0), "{report}");
}

#[test]
fn predictions_are_written_beside_their_labels_also_under_the_stt_transform() {
    let dir = scratch("predictions");
    for stt in [false, true] {
        let file = dir.join(format!("predictions-{stt}.jsonl"));
        let mut args = vec![
            "--data",
            DEV_SET,
            "--json",
            "--predictions",
            file.to_str().unwrap(),
        ];
        if stt {
            args.push("--stt");
        }
        let out = eval(&args, &[]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let report: serde_json::Value = serde_json::from_str(text(&out.stdout).trim()).unwrap();
        let lines: Vec<serde_json::Value> = std::fs::read_to_string(&file)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len() as u64, report["n"].as_u64().unwrap());
        let first = &lines[0];
        assert_eq!(first["id"], "dev-001");
        assert_eq!(first["stt"], stt);
        for side in ["label", "prediction"] {
            for field in [
                "sentiment",
                "lead_score",
                "intent",
                "hot",
                "name",
                "email",
                "topic",
            ] {
                assert!(
                    first[side].get(field).is_some(),
                    "{side}.{field} in {first}"
                );
            }
        }
        assert_eq!(first["label"]["name"], "Katherine Doyle");
    }
}

#[test]
fn the_stt_transform_changes_what_the_analyzer_reads_not_the_labels() {
    let written = eval(&["--data", DEV_SET, "--json"], &[]);
    let spoken = eval(&["--data", DEV_SET, "--json", "--stt"], &[]);
    assert!(written.status.success() && spoken.status.success());
    let (w, s): (serde_json::Value, serde_json::Value) = (
        serde_json::from_str(text(&written.stdout).trim()).unwrap(),
        serde_json::from_str(text(&spoken.stdout).trim()).unwrap(),
    );
    assert_eq!(w["n"], s["n"]);
    assert_ne!(
        w, s,
        "the same numbers both ways would mean the transform did nothing"
    );
}

#[test]
fn a_malformed_line_is_a_clear_error_naming_the_line() {
    let file = scratch("broken").join("broken.jsonl");
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

#[test]
fn help_after_a_command_prints_the_usage() {
    // Once "--help needs a value" with a backtrace: --help was read as a flag wanting a value.
    let out = eval(&["--help"], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let usage = text(&out.stdout);
    for option in [
        "--data <FILE.jsonl>",
        "--stt",
        "--check",
        "--predictions",
        "--explain",
    ] {
        assert!(usage.contains(option), "{option} missing from:\n{usage}");
    }
    let top = Command::new(env!("CARGO_BIN_EXE_postcall"))
        .arg("--help")
        .output()
        .unwrap();
    let commands = text(&top.stdout);
    for command in [
        "demo",
        "eval",
        "train",
        "migrate",
        "dashboard",
        "backfill",
        "bridge",
        "bench",
        "mock-llm",
        "completions",
    ] {
        assert!(
            commands.contains(command),
            "{command} missing from:\n{commands}"
        );
    }
}

#[test]
fn a_wrong_option_or_value_is_a_clear_error_naming_it() {
    let unknown = eval(&["--data", "x.jsonl", "--nope"], &[]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        text(&unknown.stderr).contains("--nope"),
        "{}",
        text(&unknown.stderr)
    );
    let not_a_number = eval(&["--data", "x.jsonl", "--worst", "many"], &[]);
    assert_eq!(not_a_number.status.code(), Some(2));
    assert!(
        text(&not_a_number.stderr).contains("--worst"),
        "{}",
        text(&not_a_number.stderr)
    );
    let missing = eval(&[], &[]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        text(&missing.stderr).contains("--data"),
        "{}",
        text(&missing.stderr)
    );
}

#[test]
fn completions_are_printed_for_a_shell() {
    let out = Command::new(env!("CARGO_BIN_EXE_postcall"))
        .args(["completions", "bash"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let script = text(&out.stdout);
    assert!(
        script.contains("postcall") && script.contains("--database-url"),
        "{script}"
    );
}
