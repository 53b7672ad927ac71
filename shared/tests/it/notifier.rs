//! The notifier against real Postgres, the emulator's SNS/SQS/Secrets Manager and a local Slack
//! webhook that answers the way Slack does.

use std::time::Duration;

use aws_lambda_events::sns::SnsEvent;
use lambda_runtime::{Context, LambdaEvent};
use postcall::{
    config::NotifierConfig,
    domain::{CallId, Entities, HotLead, Intent, LeadScore, Sentiment, Summary},
    handlers::notify::{notify, NotifierDeps, NotifyError, NotifyReport},
};
use postcall_testkit::{MockSlack, SlackReply};

use crate::helpers::*;

struct NotifierEnv {
    schema: TestSchema,
    db: tokio_postgres::Client,
    slack: MockSlack,
    sqs: aws_sdk_sqs::Client,
    dlq_url: String,
    deps: NotifierDeps,
}

impl NotifierEnv {
    async fn spawn() -> Self {
        let slack = MockSlack::start().await.unwrap();
        let url = slack.webhook_url();
        Self::spawn_with(slack, &[("SLACK_WEBHOOK_URL", url)]).await
    }

    async fn spawn_with(slack: MockSlack, extra: &[(&str, String)]) -> Self {
        let schema = TestSchema::create().await;
        let aws = aws_config().await;
        let sqs = aws_sdk_sqs::Client::new(&aws);
        let dlq_url = create_queue(&sqs, &format!("postcall-notifier-dlq-{}", short_id())).await;
        let mut vars = std::collections::HashMap::from([
            ("DATABASE_URL".to_string(), schema.url.clone()),
            ("AUTO_MIGRATE".to_string(), "true".to_string()),
            (
                "DASHBOARD_URL".to_string(),
                "https://dash.example.com".to_string(),
            ),
            ("DEAD_LETTER_QUEUE_URL".to_string(), dlq_url.clone()),
        ]);
        for (k, v) in extra {
            vars.insert(k.to_string(), v.clone());
        }
        let config = NotifierConfig::from_lookup(&|k: &str| vars.get(k).cloned()).unwrap();
        let deps = NotifierDeps::new(config, &aws).await.unwrap();
        let db = schema.client().await;
        Self {
            schema,
            db,
            slack,
            sqs,
            dlq_url,
            deps,
        }
    }

    async fn deliver(&self, message: &str) -> Result<NotifyReport, NotifyError> {
        notify(
            &self.deps,
            LambdaEvent::new(sns_event(message), Context::default()),
        )
        .await
    }

    async fn notification(&self, call_id: &str) -> (String, i32, Option<String>) {
        let row = self
            .db
            .query_one(
                r#"SELECT status, attempts, "lastError" FROM "Notification" WHERE "callId" = $1"#,
                &[&call_id],
            )
            .await
            .unwrap();
        (row.get(0), row.get(1), row.get(2))
    }
}

/// What Lambda delivers for one SNS message.
fn sns_event(message: &str) -> SnsEvent {
    serde_json::from_value(serde_json::json!({"Records": [{
        "EventSource": "aws:sns", "EventVersion": "1.0",
        "EventSubscriptionArn": format!("arn:aws:sns:us-east-1:{ACCOUNT}:postcall-hot-leads:sub"),
        "Sns": {
            "Type": "Notification", "MessageId": uuid::Uuid::new_v4().to_string(),
            "TopicArn": format!("arn:aws:sns:us-east-1:{ACCOUNT}:postcall-hot-leads"), "Subject": null,
            "Message": message, "Timestamp": "2026-11-25T14:03:13.210Z", "SignatureVersion": "1",
            "Signature": "EXAMPLE", "SigningCertUrl": "https://sns.example/cert.pem",
            "UnsubscribeUrl": "https://sns.example/unsubscribe", "MessageAttributes": {}
        }
    }]}))
    .unwrap()
}

fn lead(call_id: &str) -> HotLead {
    HotLead {
        call_id: CallId::parse(call_id).unwrap(),
        lead_score: LeadScore::clamped(91),
        intent: Intent::Sales,
        sentiment: Sentiment::clamped(0.7),
        entities: Entities {
            name: Some("Dana Whitfield".into()),
            email: Some("dana@example.com".into()),
            topic: Some("solar".into()),
        },
        summary: Summary::new("Dana wants rooftop solar this month; budget $20k."),
        next_action: "Call back within 1 hour with a quote".into(),
        from_number: Some("+14155550123".into()),
        agent_id: Some("agent-maya".into()),
        ended_at: None,
    }
}

fn message(lead: &HotLead) -> String {
    serde_json::to_string(lead).unwrap()
}

#[tokio::test]
async fn the_message_the_analyzer_publishes_becomes_the_expected_slack_post() {
    // Arrange: the analyzer publishes to an emulator topic; a queue subscribed to it shows
    // exactly what SNS carries.
    let analyzer = TestEnv::spawn_all_hot().await;
    let call = format!("contract-{}", short_id());
    analyzer
        .seed_call(
            &call,
            &[
                ("agent", "Hello"),
                (
                    "user",
                    "Hi, my name is Dana Whitfield. I want to buy the premium plan today.",
                ),
            ],
        )
        .await;
    analyzer
        .invoke(vec![record("m-1", &completed(&call))])
        .await
        .unwrap();
    let published = drain(&analyzer.sqs, &analyzer.hot_tap_url).await;
    assert_eq!(published.len(), 1);
    let body = published[0].body().unwrap().to_string();
    let notifier = NotifierEnv::spawn().await;

    // Act
    let report = notifier.deliver(&body).await.unwrap();

    // Assert
    assert_eq!(report.posted, 1);
    let posts = notifier.slack.posts();
    assert_eq!(posts.len(), 1);
    let post = &posts[0];
    assert_eq!(post["blocks"][0]["type"], "header");
    assert!(post["blocks"][0]["text"]["text"]
        .as_str()
        .unwrap()
        .starts_with("Hot lead: "));
    let text = post.to_string();
    let row = analyzer.analytics(&call).await.unwrap();
    assert!(
        text.contains(&format!(
            "*Lead score*\\n{}",
            row.get::<_, i32>("leadScore")
        )),
        "{text}"
    );
    assert!(
        text.contains("+14155550100") && text.contains("agent-test"),
        "{text}"
    );
    assert!(
        text.contains(&format!("https://dash.example.com/calls/{call}")),
        "{text}"
    );
    assert_eq!(notifier.notification(&call).await.0, "sent");
    // The sample event carries the same fields as a real published message.
    let sample: SnsEvent =
        serde_json::from_str(include_str!("../../../events/notifier-sns.json")).unwrap();
    let keys = |json: &str| {
        let mut k: Vec<String> = serde_json::from_str::<serde_json::Value>(json)
            .unwrap()
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        k.sort();
        k
    };
    assert_eq!(keys(&sample.records[0].sns.message), keys(&body));
    analyzer.cleanup().await;
    notifier.schema.drop().await;
}

#[tokio::test]
async fn the_sample_event_posts_once_even_when_delivered_twice() {
    let env = NotifierEnv::spawn().await;
    let sample: SnsEvent =
        serde_json::from_str(include_str!("../../../events/notifier-sns.json")).unwrap();

    let first = notify(
        &env.deps,
        LambdaEvent::new(sample.clone(), Context::default()),
    )
    .await
    .unwrap();
    let second = notify(&env.deps, LambdaEvent::new(sample, Context::default()))
        .await
        .unwrap();

    assert_eq!((first.posted, second.posted, second.duplicates), (1, 0, 1));
    assert_eq!(env.slack.requests().len(), 1);
    env.schema.drop().await;
}

#[tokio::test]
async fn two_concurrent_invocations_for_one_call_post_once() {
    let env = NotifierEnv::spawn().await;
    env.slack
        .push_replies([SlackReply::Slow(Duration::from_millis(300))]);
    let body = message(&lead("concurrent-1"));

    let (a, b) = tokio::join!(env.deliver(&body), env.deliver(&body));

    let results = [a, b];
    assert_eq!(
        results
            .iter()
            .filter(|r| matches!(r, Ok(report) if report.posted == 1))
            .count(),
        1
    );
    assert!(
        results
            .iter()
            .any(|r| matches!(r, Err(NotifyError::InProgress(_)))),
        "the other is retried later"
    );
    let retry = env.deliver(&body).await.unwrap();
    assert_eq!(retry.duplicates, 1);
    assert_eq!(env.slack.requests().len(), 1);
    env.schema.drop().await;
}

#[tokio::test]
async fn a_429_with_retry_after_then_200_posts_once() {
    let env = NotifierEnv::spawn().await;
    env.slack.push_replies([SlackReply::RateLimited {
        retry_after_secs: 1,
    }]);

    let report = env
        .deliver(&message(&lead("rate-limited-1")))
        .await
        .unwrap();

    assert_eq!(report.posted, 1);
    assert_eq!(env.slack.requests().len(), 2);
    assert_eq!(env.slack.posts().len(), 1);
    assert_eq!(env.notification("rate-limited-1").await.0, "sent");
    env.schema.drop().await;
}

#[tokio::test]
async fn a_429_longer_than_the_time_left_returns_an_error_for_lambda_to_retry() {
    let env = NotifierEnv::spawn().await;
    env.slack.push_replies([SlackReply::RateLimited {
        retry_after_secs: 30,
    }]);
    let mut context = Context::default();
    context.deadline = (std::time::SystemTime::now() + Duration::from_secs(5))
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;

    let result = notify(
        &env.deps,
        LambdaEvent::new(sns_event(&message(&lead("rate-limited-2"))), context),
    )
    .await;

    assert!(matches!(result, Err(NotifyError::Slack(_))), "{result:?}");
    assert_eq!(
        env.slack.requests().len(),
        1,
        "it did not wait past the deadline"
    );
    assert_eq!(env.notification("rate-limited-2").await.0, "retry");
    env.schema.drop().await;
}

#[tokio::test]
async fn a_500_returns_an_error_and_leaves_the_row_unsent_until_the_retry_posts() {
    let env = NotifierEnv::spawn().await;
    env.slack
        .push_replies([SlackReply::Status(500, "internal_error".into())]);
    let body = message(&lead("server-error-1"));

    let first = env.deliver(&body).await;
    let (status, attempts, last_error) = env.notification("server-error-1").await;
    let retry = env.deliver(&body).await.unwrap();

    let diagnostic: lambda_runtime::Diagnostic = first.unwrap_err().into();
    assert_eq!(diagnostic.error_type, "Transient.SlackServerError");
    assert_eq!((status.as_str(), attempts), ("retry", 1));
    assert!(last_error.unwrap().contains("500"));
    assert_eq!(retry.posted, 1);
    assert_eq!(env.notification("server-error-1").await.0, "sent");
    env.schema.drop().await;
}

#[tokio::test]
async fn a_404_no_service_is_recorded_as_permanent_and_never_retried() {
    let env = NotifierEnv::spawn().await;
    env.slack
        .push_replies([SlackReply::Status(404, "no_service".into())]);
    let body = message(&lead("gone-1"));

    let report = env.deliver(&body).await.unwrap();
    let again = env.deliver(&body).await.unwrap();

    assert_eq!((report.refused, again.duplicates), (1, 1));
    let (status, _, last_error) = env.notification("gone-1").await;
    assert_eq!(status, "failed");
    assert!(last_error.unwrap().contains("no_service"));
    assert_eq!(env.slack.requests().len(), 1);
    env.schema.drop().await;
}

#[tokio::test]
async fn injected_mentions_links_and_huge_text_are_escaped_cut_and_still_valid_block_kit() {
    let env = NotifierEnv::spawn().await;
    let mut nasty = lead("inject-1");
    nasty.entities.name = Some("<!channel> <@U123>".into());
    nasty.entities.topic = Some("<https://evil.example|click here>".into());
    nasty.next_action = format!("{} & more", "<!here> ".repeat(700));
    nasty.summary = Summary::new(&"x".repeat(5000));

    let report = env.deliver(&message(&nasty)).await.unwrap();

    assert_eq!(
        report.posted, 1,
        "Slack accepted the payload: the blocks are within limits"
    );
    let post = env.slack.posts()[0].to_string();
    for raw in ["<!channel>", "<@U123>", "<https://evil", "<!here>"] {
        assert!(!post.contains(raw), "{raw} reached Slack unescaped");
    }
    assert!(post.contains("&lt;!channel&gt;"));
    env.schema.drop().await;
}

#[tokio::test]
async fn a_message_that_is_not_a_hot_lead_is_parked() {
    let env = NotifierEnv::spawn().await;

    let report = env
        .deliver("{\"callId\": 42, \"oops\": true}")
        .await
        .unwrap();

    assert_eq!(report.malformed, 1);
    let parked = drain(&env.sqs, &env.dlq_url).await;
    assert_eq!(
        attribute(&parked[0], "errorCode").as_deref(),
        Some("MalformedHotLead")
    );
    assert!(env.slack.requests().is_empty());
    env.schema.drop().await;
}

#[tokio::test]
async fn the_webhook_secret_is_fetched_once_and_neither_its_url_nor_the_leads_pii_is_logged() {
    let (logs, _guard) = crate::secrets::capture();
    let slack = MockSlack::start().await.unwrap();
    let secrets = aws_sdk_secretsmanager::Client::new(&aws_config().await);
    let (name, arn) = new_secret(
        &secrets,
        "postcall/slack",
        &serde_json::json!({"webhook_url": slack.webhook_url()}).to_string(),
    )
    .await;
    let env = NotifierEnv::spawn_with(slack, &[("SLACK_WEBHOOK_SECRET_ARN", arn)]).await;
    env.slack
        .push_replies([SlackReply::Status(500, "internal_error".into())]);

    assert!(
        env.deliver(&message(&lead("secret-1"))).await.is_err(),
        "a Slack 500 fails the invocation, so Lambda retries it"
    );
    // Were the secret read again, every later post would go nowhere.
    put_secret(&secrets, &name, "https://127.0.0.1:9/never").await;
    for i in 2..6 {
        env.deliver(&message(&lead(&format!("secret-{i}"))))
            .await
            .unwrap();
    }
    env.deliver(&message(&lead("secret-1"))).await.unwrap();

    assert_eq!(env.slack.posts().len(), 5);
    let logs = logs.text();
    assert!(logs.contains("hot lead posted to slack"), "{logs}");
    assert!(
        logs.contains("slack server error"),
        "the failure was logged: {logs}"
    );
    assert!(
        !logs.contains("mock-webhook-secret") && !logs.contains("/services/"),
        "the webhook URL leaked: {logs}"
    );
    assert!(!format!("{:?}", env.deps).contains("mock-webhook-secret"));
    // The hot lead's personal data stays out of the logs at every level (captured at TRACE).
    for pii in [
        "Dana Whitfield",
        "dana@example.com",
        "rooftop solar",
        "+14155550123",
    ] {
        assert!(!logs.contains(pii), "{pii} in the logs: {logs}");
    }
    env.schema.drop().await;
}

#[tokio::test]
async fn a_403_after_the_webhook_was_rotated_fetches_the_secret_again_and_posts_once() {
    let slack = MockSlack::start().await.unwrap();
    let secrets = aws_sdk_secretsmanager::Client::new(&aws_config().await);
    let old_url = slack
        .webhook_url()
        .replace("mock-webhook-secret", "revoked-hook");
    let (name, arn) = new_secret(
        &secrets,
        "postcall/slack-rotated",
        &serde_json::json!({ "webhook_url": old_url }).to_string(),
    )
    .await;
    let env = NotifierEnv::spawn_with(slack, &[("SLACK_WEBHOOK_SECRET_ARN", arn)]).await;
    // The notifier reads the secret at its first post and keeps the URL.
    env.deliver(&message(&lead("rotated-1"))).await.unwrap();
    // The webhook is rotated: the secret holds the new URL, and Slack refuses the old one.
    put_secret(
        &secrets,
        &name,
        &serde_json::json!({ "webhook_url": env.slack.webhook_url() }).to_string(),
    )
    .await;
    env.slack
        .push_replies([SlackReply::Status(403, "invalid_token".into())]);

    env.deliver(&message(&lead("rotated-2"))).await.unwrap();

    let paths: Vec<String> = env
        .slack
        .requests()
        .iter()
        .map(|r| r.path.clone())
        .collect();
    assert_eq!(paths.len(), 3, "{paths:?}");
    assert!(
        paths[0].ends_with("/revoked-hook") && paths[1].ends_with("/revoked-hook"),
        "{paths:?}"
    );
    assert!(
        paths[2].ends_with("/mock-webhook-secret"),
        "the secret was read again: {paths:?}"
    );
    assert_eq!(env.slack.posts().len(), 2, "each lead posted exactly once");
    env.schema.drop().await;
}

#[tokio::test]
async fn without_a_dead_letter_queue_a_malformed_message_fails_the_invocation_instead_of_vanishing()
{
    let slack = MockSlack::start().await.unwrap();
    let url = slack.webhook_url();
    let env = NotifierEnv::spawn_with(
        slack,
        &[
            ("SLACK_WEBHOOK_URL", url),
            ("DEAD_LETTER_QUEUE_URL", String::new()),
        ],
    )
    .await;

    let result = env.deliver("not a hot lead").await;

    let diagnostic: lambda_runtime::Diagnostic = result.unwrap_err().into();
    assert_eq!(diagnostic.error_type, "Permanent.MalformedHotLead");
    assert!(env.slack.requests().is_empty());
    env.schema.drop().await;
}
