//! `TestEnv`: a fresh schema, fresh queues and a fresh topic per test.

use std::{collections::HashMap, future::Future, time::Duration};

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use aws_sdk_sqs::types::QueueAttributeName;
use chrono::{DateTime, Utc};
use lambda_runtime::{Context, LambdaEvent};
use postcall::{
    adapters::sqs::{EntryFailure, OutgoingMessage, QueueError},
    config::AnalyzerConfig,
    handlers::analyze_batch::{analyze_batch, AnalyzerDeps, HandlerError},
};
use tokio_postgres::{Client, NoTls};

/// The emulator's fixed account id.
pub const ACCOUNT: &str = "123456789012";

pub fn admin_url() -> String {
    std::env::var("POSTCALL_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

pub fn emulator_url() -> String {
    std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| {
        panic!("AWS_ENDPOINT_URL is not set: run the tests with scripts/test, which starts the local AWS emulator")
    })
}

pub fn short_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_string()
}

pub async fn aws_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(emulator_url())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sqs::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .load()
        .await
}

pub async fn connect(url: &str) -> Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .unwrap_or_else(|e| panic!("postgres at {url} does not answer: {e}"));
    tokio::spawn(connection);
    client
}

/// A schema of its own, migrated or not.
pub struct TestSchema {
    pub name: String,
    pub admin: Client,
    /// URL whose connections see only this schema; `application_name` identifies them.
    pub url: String,
    pub application_name: String,
}

impl TestSchema {
    pub async fn create() -> Self {
        let admin = connect(&admin_url()).await;
        let name = format!("t_{}", short_id());
        admin
            .batch_execute(&format!("CREATE SCHEMA {name}"))
            .await
            .unwrap();
        let application_name = format!("postcall-{name}");
        let sep = if admin_url().contains('?') { '&' } else { '?' };
        let url = format!(
            "{}{sep}options=-c%20search_path%3D{name}&application_name={application_name}",
            admin_url()
        );
        Self {
            name,
            admin,
            url,
            application_name,
        }
    }

    /// This schema's URL with an `application_name` of its own, and that name: a test can then
    /// find one component's backends in `pg_stat_activity` (and only its, as tests run in
    /// parallel) while another component shares the schema.
    pub fn url_for(&self, component: &str) -> (String, String) {
        let application_name = format!("{}-{component}", self.application_name);
        let url = self.url.replace(
            &format!("application_name={}", self.application_name),
            &format!("application_name={application_name}"),
        );
        (url, application_name)
    }

    /// A client whose search path is this schema.
    pub async fn client(&self) -> Client {
        let client = connect(&admin_url()).await;
        client
            .batch_execute(&format!("SET search_path TO {}", self.name))
            .await
            .unwrap();
        client
    }

    pub async fn drop(self) {
        self.admin
            .batch_execute(&format!("DROP SCHEMA {} CASCADE", self.name))
            .await
            .unwrap();
    }
}

pub struct TestEnv {
    pub schema: TestSchema,
    pub db: Client,
    pub aws: aws_config::SdkConfig,
    pub sqs: aws_sdk_sqs::Client,
    pub sns: aws_sdk_sns::Client,
    pub dlq_url: String,
    /// A queue subscribed (raw delivery) to the hot-leads topic: what the notifier would see.
    pub hot_tap_url: String,
    pub topic_arn: String,
    pub deps: AnalyzerDeps,
}

pub struct EnvOptions {
    pub extra: Vec<(&'static str, String)>,
    /// Create the topic (and its tap queue); when false the ARN names a topic that does not exist yet.
    pub create_topic: bool,
}

impl Default for EnvOptions {
    fn default() -> Self {
        Self {
            extra: Vec::new(),
            create_topic: true,
        }
    }
}

impl TestEnv {
    pub async fn spawn() -> Self {
        Self::spawn_with(EnvOptions::default()).await
    }

    /// Every call is a hot lead: idempotency tests then do not depend on the analyzer's tuning.
    pub async fn spawn_all_hot() -> Self {
        Self::spawn_with(EnvOptions {
            extra: vec![
                ("HOT_LEAD_MIN_SCORE", "0".into()),
                (
                    "HOT_LEAD_INTENTS",
                    "info,booking,complaint,sales,support".into(),
                ),
            ],
            ..EnvOptions::default()
        })
        .await
    }

    pub async fn spawn_with(options: EnvOptions) -> Self {
        let schema = TestSchema::create().await;
        let aws = aws_config().await;
        let sqs = aws_sdk_sqs::Client::new(&aws);
        let sns = aws_sdk_sns::Client::new(&aws);
        let id = short_id();
        let dlq_url = create_queue(&sqs, &format!("postcall-calls-dlq-{id}")).await;
        let topic_name = format!("postcall-hot-leads-{id}");
        let topic_arn = format!("arn:aws:sns:us-east-1:{ACCOUNT}:{topic_name}");
        let hot_tap_url = create_queue(&sqs, &format!("postcall-hot-tap-{id}")).await;
        if options.create_topic {
            create_topic_with_tap(&sns, &sqs, &topic_name, &hot_tap_url).await;
        }
        let mut vars: HashMap<String, String> = HashMap::from([
            ("DATABASE_URL".to_string(), schema.url.clone()),
            ("AUTO_MIGRATE".to_string(), "true".to_string()),
            ("DEAD_LETTER_QUEUE_URL".to_string(), dlq_url.clone()),
            ("HOT_LEADS_TOPIC_ARN".to_string(), topic_arn.clone()),
        ]);
        for (k, v) in options.extra {
            vars.insert(k.to_string(), v);
        }
        let config = AnalyzerConfig::from_lookup(&|k: &str| vars.get(k).cloned()).unwrap();
        let deps = AnalyzerDeps::new(config, &aws).await.unwrap();
        let db = schema.client().await;
        Self {
            schema,
            db,
            aws,
            sqs,
            sns,
            dlq_url,
            hot_tap_url,
            topic_arn,
            deps,
        }
    }

    pub async fn invoke(&self, records: Vec<SqsMessage>) -> Result<SqsBatchResponse, HandlerError> {
        let mut event = SqsEvent::default();
        event.records = records;
        analyze_batch(&self.deps, LambdaEvent::new(event, Context::default())).await
    }

    /// Invokes with a Lambda deadline `budget` from now, as the runtime would set it.
    pub async fn invoke_with_budget(
        &self,
        records: Vec<SqsMessage>,
        budget: Duration,
    ) -> Result<SqsBatchResponse, HandlerError> {
        let mut event = SqsEvent::default();
        event.records = records;
        let mut context = Context::default();
        let deadline = std::time::SystemTime::now() + budget;
        context.deadline = deadline
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        analyze_batch(&self.deps, LambdaEvent::new(event, context)).await
    }

    /// Inserts a call and its turns (roles as the bridge writes them).
    pub async fn seed_call(&self, call_id: &str, turns: &[(&str, &str)]) {
        seed_call(&self.db, call_id, turns, Utc::now()).await;
    }

    pub async fn analytics(&self, call_id: &str) -> Option<tokio_postgres::Row> {
        self.db
            .query_opt(
                r#"SELECT * FROM "Analytics" WHERE "callId" = $1"#,
                &[&call_id],
            )
            .await
            .unwrap()
    }

    pub async fn analytics_count(&self) -> i64 {
        self.db
            .query_one(r#"SELECT count(*) FROM "Analytics""#, &[])
            .await
            .unwrap()
            .get(0)
    }

    pub async fn cleanup(self) {
        self.schema.drop().await;
    }
}

pub async fn seed_call(
    db: &Client,
    call_id: &str,
    turns: &[(&str, &str)],
    ended_at: DateTime<Utc>,
) {
    db.execute(
        r#"INSERT INTO "Call" (id, "fromNumber", "agentId", "startedAt", "endedAt") VALUES ($1, '+14155550100', 'agent-test', $2, $3)"#,
        &[&call_id, &(ended_at - chrono::Duration::minutes(5)), &ended_at],
    )
    .await
    .unwrap();
    for (i, (role, text)) in turns.iter().enumerate() {
        let started =
            ended_at - chrono::Duration::minutes(5) + chrono::Duration::seconds(i as i64 * 5);
        db.execute(
            r#"INSERT INTO "Turn" (id, "callId", role, text, "startedAt", "endedAt") VALUES ($1, $2, $3, $4, $5, $6)"#,
            &[&format!("{call_id}-{i}"), &call_id, role, text, &started, &(started + chrono::Duration::seconds(4))],
        )
        .await
        .unwrap();
    }
}

pub fn record(message_id: &str, body: &str) -> SqsMessage {
    delivery(message_id, body, 1)
}

pub fn delivery(message_id: &str, body: &str, receive_count: u32) -> SqsMessage {
    let mut m = SqsMessage::default();
    m.message_id = Some(message_id.to_string());
    m.body = Some(body.to_string());
    m.event_source_arn = Some(format!("arn:aws:sqs:us-east-1:{ACCOUNT}:postcall-calls"));
    m.attributes
        .insert("ApproximateReceiveCount".into(), receive_count.to_string());
    m
}

pub fn completed(call_id: &str) -> String {
    serde_json::json!({"callId": call_id, "endedAt": Utc::now().to_rfc3339()}).to_string()
}

pub fn failure_ids(response: &SqsBatchResponse) -> Vec<String> {
    let mut ids: Vec<String> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect();
    ids.sort();
    ids
}

pub async fn create_queue(sqs: &aws_sdk_sqs::Client, name: &str) -> String {
    sqs.create_queue()
        .queue_name(name)
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string()
}

pub async fn queue_arn(sqs: &aws_sdk_sqs::Client, url: &str) -> String {
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap();
    attrs
        .attributes()
        .unwrap()
        .get(&QueueAttributeName::QueueArn)
        .unwrap()
        .clone()
}

pub async fn create_topic_with_tap(
    sns: &aws_sdk_sns::Client,
    sqs: &aws_sdk_sqs::Client,
    topic_name: &str,
    tap_url: &str,
) {
    let topic_arn = sns
        .create_topic()
        .name(topic_name)
        .send()
        .await
        .unwrap()
        .topic_arn()
        .unwrap()
        .to_string();
    let tap_arn = queue_arn(sqs, tap_url).await;
    sns.subscribe()
        .topic_arn(&topic_arn)
        .protocol("sqs")
        .endpoint(tap_arn)
        .attributes("RawMessageDelivery", "true")
        .send()
        .await
        .unwrap();
}

/// Every message currently in a queue (received and deleted), polling until two empty receives.
pub async fn drain(sqs: &aws_sdk_sqs::Client, url: &str) -> Vec<aws_sdk_sqs::types::Message> {
    let mut all = Vec::new();
    let mut empty = 0;
    while empty < 2 {
        let out = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .message_attribute_names("All")
            .wait_time_seconds(0)
            .send()
            .await
            .unwrap();
        let messages = out.messages().to_vec();
        if messages.is_empty() {
            empty += 1;
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        }
        for m in &messages {
            sqs.delete_message()
                .queue_url(url)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
        all.extend(messages);
    }
    all
}

/// Polls `check` about every 50 ms until it returns `Some`, or fails after `timeout` showing
/// the last value seen.
pub async fn eventually<T, F, Fut>(timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        match check().await {
            Ok(value) => return value,
            Err(last) if tokio::time::Instant::now() >= deadline => {
                panic!("condition not met in {timeout:?}; last: {last}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

pub fn attribute(message: &aws_sdk_sqs::types::Message, name: &str) -> Option<String> {
    message
        .message_attributes()?
        .get(name)?
        .string_value()
        .map(str::to_string)
}

/// Records what it is asked to send and accepts it: the local emulator's SQS slows down with
/// every message a queue holds (tens of milliseconds a batch at a few thousand), so the 10 000-
/// and 25 000-message tests would take many minutes there. The queue wire path is read back for
/// real in the smaller backfill and bridge tests.
#[derive(Default)]
pub struct RecordingSender {
    pub call_ids: std::sync::Mutex<Vec<String>>,
    pub batches: std::sync::Mutex<Vec<usize>>,
}

impl postcall::adapters::sqs::SendBatch for RecordingSender {
    async fn send_batch(
        &self,
        entries: &[OutgoingMessage],
    ) -> Result<Vec<EntryFailure>, QueueError> {
        self.batches.lock().unwrap().push(entries.len());
        self.call_ids
            .lock()
            .unwrap()
            .extend(entries.iter().map(call_of));
        Ok(Vec::new())
    }
    fn is_fifo(&self) -> bool {
        false
    }
}

/// Takes its time per batch before handing it on, so that a short deadline or budget runs
/// out mid-run (backfill and bridge).
pub struct SlowSender<Q>(pub Q, pub std::time::Duration);

impl<Q: postcall::adapters::sqs::SendBatch + Send> postcall::adapters::sqs::SendBatch
    for SlowSender<Q>
{
    async fn send_batch(
        &self,
        entries: &[OutgoingMessage],
    ) -> Result<Vec<EntryFailure>, QueueError> {
        tokio::time::sleep(self.1).await;
        self.0.send_batch(entries).await
    }
    fn is_fifo(&self) -> bool {
        self.0.is_fifo()
    }
}

pub fn call_of(entry: &OutgoingMessage) -> String {
    serde_json::from_str::<serde_json::Value>(&entry.body).unwrap()["callId"]
        .as_str()
        .unwrap()
        .to_string()
}

/// A new secret in the emulator holding `value`: its name (unique, from `prefix`) and ARN.
/// Stores a new value in a secret, as a rotation does.
pub async fn put_secret(secrets: &aws_sdk_secretsmanager::Client, name: &str, value: &str) {
    secrets
        .put_secret_value()
        .secret_id(name)
        .secret_string(value)
        .send()
        .await
        .unwrap();
}

pub async fn new_secret(
    secrets: &aws_sdk_secretsmanager::Client,
    prefix: &str,
    value: &str,
) -> (String, String) {
    let name = format!("{prefix}-{}", short_id());
    let arn = secrets
        .create_secret()
        .name(&name)
        .secret_string(value)
        .send()
        .await
        .unwrap()
        .arn()
        .unwrap()
        .to_string();
    (name, arn)
}
