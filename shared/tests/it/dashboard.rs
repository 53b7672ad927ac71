//! The dashboard's router against real Postgres (a schema per test): the seed queries' results,
//! the call detail, access, bad input, the sample Function URL event and the token secret.

use std::collections::HashMap;

use chrono::{DateTime, Duration, DurationRound, Utc};
use http::{Request, Response, StatusCode};
use postcall::{
    adapters::postgres::{
        PgStore, SENTIMENT_TREND_FROM_BASE_SQL, SENTIMENT_TREND_SQL, TOP_LEADS_24H_SQL,
        TOP_LEADS_SQL,
    },
    config::{DashboardConfig, DatabaseConfig},
    handlers::dashboard::{dashboard, DashboardDeps},
};
use serde_json::Value;
use tokio_postgres::Client;

use crate::helpers::*;

const TOKEN: &str = "it-dashboard-token-0123456789";

struct Dashboard {
    schema: TestSchema,
    db: Client,
    deps: DashboardDeps,
}

impl Dashboard {
    async fn spawn() -> Self {
        let schema = TestSchema::create().await;
        PgStore::new(DatabaseConfig::from_url(&schema.url), None)
            .migrate()
            .await
            .unwrap();
        let vars = HashMap::from([
            ("DATABASE_URL".to_string(), schema.url.clone()),
            ("DASHBOARD_TOKEN".to_string(), TOKEN.to_string()),
        ]);
        let config = DashboardConfig::from_lookup(&|k: &str| vars.get(k).cloned()).unwrap();
        let deps = DashboardDeps::local(config).unwrap();
        let db = schema.client().await;
        Self { schema, db, deps }
    }

    async fn get(&self, uri: &str) -> Response<String> {
        dashboard(&self.deps, &authorized(uri)).await
    }

    async fn get_json(&self, uri: &str) -> Value {
        let response = self.get(uri).await;
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "{uri}: {}",
            response.body()
        );
        assert_eq!(header(&response, "content-type"), "application/json");
        serde_json::from_str(response.body()).unwrap()
    }

    /// A call with an analytics row, ended `ago` before now.
    async fn seed_analyzed(&self, call: &SeedCall<'_>) {
        let ended_at = Utc::now() - call.ago;
        seed_call(&self.db, call.id, call.turns, ended_at).await;
        self.db
            .execute(
                r#"UPDATE "Call" SET "agentId" = $2, "fromNumber" = $3 WHERE id = $1"#,
                &[&call.id, &call.agent, &call.from_number],
            )
            .await
            .unwrap();
        self.db
            .execute(
                r#"INSERT INTO "Analytics" ("callId", sentiment, "leadScore", intent, entities, summary,
                                            "nextAction", analyzer, metrics)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, 'rules-v2', $8)"#,
                &[
                    &call.id,
                    &call.sentiment,
                    &call.score,
                    &call.intent,
                    &serde_json::json!({"name": call.name, "email": null, "topic": "solar panels"}),
                    &format!("Summary of {}", call.id),
                    &"Call back today",
                    &serde_json::json!({"turns": call.turns.len(), "durationMs": 240000}),
                ],
            )
            .await
            .unwrap();
    }

    async fn cleanup(self) {
        drop(self.db);
        self.schema.drop().await;
    }
}

struct SeedCall<'a> {
    id: &'a str,
    agent: &'a str,
    from_number: &'a str,
    name: &'a str,
    score: i32,
    sentiment: f64,
    intent: &'a str,
    ago: Duration,
    turns: &'a [(&'a str, &'a str)],
}

impl Default for SeedCall<'_> {
    fn default() -> Self {
        Self {
            id: "",
            agent: "agent-a",
            from_number: "+14155550100",
            name: "Dana Whitfield",
            score: 50,
            sentiment: 0.0,
            intent: "sales",
            ago: Duration::hours(1),
            turns: &[("agent", "Hello"), ("user", "Hi there")],
        }
    }
}

fn authorized(uri: &str) -> Request<()> {
    Request::builder()
        .uri(uri)
        .header("authorization", format!("Bearer {TOKEN}"))
        .body(())
        .unwrap()
}

fn header<'a>(response: &'a Response<String>, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

fn id(prefix: &str) -> String {
    format!("{prefix}-{}", short_id())
}

/// 24 analyzed calls of the last day with distinct scores (so the seed query's order is
/// total), spread over three agents; older calls for the longer windows; one call without
/// analytics. Returns the recent calls' ids.
async fn seed_a_week(d: &Dashboard) -> Vec<String> {
    let agents = ["agent-maya", "agent-omar", "agent-lee"];
    let mut recent = Vec::new();
    for i in 0..24 {
        let call_id = id("recent");
        d.seed_analyzed(&SeedCall {
            id: &call_id,
            agent: agents[i % 3],
            from_number: &format!("+1415555{i:04}"),
            score: 100 - 3 * i as i32,
            sentiment: (i as f64 - 12.0) / 12.5,
            intent: ["sales", "booking", "support", "info", "complaint"][i % 5],
            ago: Duration::minutes(30 + 50 * i as i64),
            ..SeedCall::default()
        })
        .await;
        recent.push(call_id);
    }
    for (days, score) in [(2, 99), (4, 98), (6, 97), (8, 96), (20, 95)] {
        let call_id = id("older");
        d.seed_analyzed(&SeedCall {
            id: &call_id,
            agent: agents[days % 3],
            score,
            sentiment: 0.5,
            ago: Duration::days(days as i64) + Duration::hours(1),
            ..SeedCall::default()
        })
        .await;
    }
    seed_call(
        &d.db,
        &id("unanalyzed"),
        &[("user", "hello?")],
        Utc::now() - Duration::hours(2),
    )
    .await;
    recent
}

/// AVG over floats depends on the order Postgres adds the rows in, which differs
/// between the seed's plan and the dashboard's (-0.4 against -0.39999999999999997
/// on one CI run); equal to nine places is equal for a sentiment.
fn to_nine_places(value: f64) -> f64 {
    (value * 1e9).round() / 1e9
}

/// A trend response's points with the average to nine places.
fn trend_points(body: &Value) -> Vec<Value> {
    body["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            serde_json::json!({
                "agentId": p["agentId"],
                "day": p["day"].as_str().unwrap().parse::<DateTime<Utc>>().unwrap(),
                "averageSentiment": to_nine_places(p["averageSentiment"].as_f64().unwrap()),
                "calls": p["calls"],
                "date": p["date"],
            })
        })
        .collect()
}

/// The trend computed from "Call" and "Analytics" directly, in [`trend_points`]' shape.
async fn trend_from_base(d: &Dashboard, days: i32, zone: &str) -> Vec<Value> {
    d.db.query(SENTIMENT_TREND_FROM_BASE_SQL, &[&days, &zone])
        .await
        .unwrap()
        .iter()
        .map(|r| {
            serde_json::json!({
                "agentId": r.get::<_, Option<String>>(0),
                "day": r.get::<_, DateTime<Utc>>(1),
                "averageSentiment": to_nine_places(r.get::<_, f64>(2)),
                "calls": r.get::<_, i64>(3),
                "date": r.get::<_, String>(4),
            })
        })
        .collect()
}

#[tokio::test]
async fn top_leads_and_the_trend_equal_the_seed_queries_run_directly() {
    let d = Dashboard::spawn().await;
    seed_a_week(&d).await;

    let leads = d.get_json("/api/top-leads").await;
    let trend = d.get_json("/api/sentiment-trend").await;

    let seed_leads: Vec<Value> =
        d.db.query(TOP_LEADS_24H_SQL, &[])
            .await
            .unwrap()
            .iter()
            .map(|r| {
                serde_json::json!({
                    "callId": r.get::<_, String>(0),
                    "fromNumber": r.get::<_, Option<String>>(1),
                    "leadScore": r.get::<_, i32>(2),
                    "intent": r.get::<_, String>(3),
                    "entities": r.get::<_, Value>(4),
                })
            })
            .collect();
    let api_leads: Vec<Value> = leads["leads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            serde_json::json!({
                "callId": l["callId"], "fromNumber": l["fromNumber"], "leadScore": l["leadScore"],
                "intent": l["intent"], "entities": l["entities"],
            })
        })
        .collect();
    assert_eq!(seed_leads.len(), 20);
    assert_eq!(api_leads, seed_leads);
    assert_eq!(
        (leads["hours"].as_u64(), leads["limit"].as_u64()),
        (Some(24), Some(20))
    );
    assert!(leads["leads"][0]["agentId"].is_string());
    assert!(leads["leads"][0]["endedAt"].is_string());

    // The trend reads the rollup; the same days computed from the base tables must agree, in
    // UTC, in a zone with DST and in one whose offset is not whole hours (quarter-hour columns).
    for zone in ["UTC", "America/New_York", "Asia/Kolkata"] {
        let api = d
            .get_json(&format!("/api/sentiment-trend?days=7&tz={zone}"))
            .await;
        assert_eq!(api["timeZone"], zone);
        let reference = trend_from_base(&d, 7, zone).await;
        assert_eq!(trend_points(&api), reference, "{zone}");
        // Today and the six days before it: the recent calls, and those 2, 4 and, when its
        // local day is still in the window, 6 days ago.
        let calls: i64 = reference.iter().map(|p| p["calls"].as_i64().unwrap()).sum();
        assert!(calls == 24 + 2 || calls == 24 + 3, "{zone}: {calls}");
    }
    assert_eq!(
        trend_points(&trend),
        trend_from_base(&d, 7, "UTC").await,
        "the default zone is UTC"
    );
    d.cleanup().await;
}

#[tokio::test]
async fn the_windows_and_limits_follow_the_parameters() {
    let d = Dashboard::spawn().await;
    seed_a_week(&d).await;

    let three = d.get_json("/api/top-leads?hours=24&limit=3").await;
    let month = d.get_json("/api/top-leads?hours=720&limit=200").await;
    let two_days = d.get_json("/api/sentiment-trend?days=2").await;
    let ninety = d.get_json("/api/sentiment-trend?days=90").await;

    let scores = |v: &Value| -> Vec<i64> {
        v["leads"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["leadScore"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(scores(&three), vec![100, 97, 94]);
    assert_eq!(month["leads"].as_array().unwrap().len(), 24 + 5);
    assert_eq!(scores(&month)[..6], [100, 99, 98, 97, 97, 96]);
    // Equal scores: the later call first.
    let month_leads = month["leads"].as_array().unwrap();
    assert!(month_leads[3]["endedAt"].as_str() > month_leads[4]["endedAt"].as_str());
    let count = |v: &Value| -> i64 {
        v["points"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["calls"].as_i64().unwrap())
            .sum()
    };
    assert_eq!(count(&two_days), 24);
    assert_eq!(count(&ninety), 24 + 5);
    // The parameterised SQL gives what the endpoint gives.
    let direct =
        d.db.query(TOP_LEADS_SQL, &[&24i32, &3i64])
            .await
            .unwrap()
            .iter()
            .map(|r| r.get::<_, String>(0))
            .collect::<Vec<_>>();
    let api: Vec<String> = three["leads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["callId"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(api, direct);
    // Two days: today and yesterday, from UTC midnight.
    let since = (Utc::now() - Duration::days(1))
        .duration_trunc(Duration::days(1))
        .unwrap();
    let days: Vec<DateTime<Utc>> =
        d.db.query(SENTIMENT_TREND_SQL, &[&2i32, &"UTC"])
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(1))
            .collect();
    assert!(!days.is_empty() && days.iter().all(|day| *day >= since));
    d.cleanup().await;
}

#[tokio::test]
async fn the_call_detail_returns_its_analytics_and_the_transcript_in_order() {
    let d = Dashboard::spawn().await;
    let call_id = id("detail");
    d.seed_analyzed(&SeedCall {
        id: &call_id,
        score: 91,
        sentiment: 0.62,
        turns: &[
            ("agent", "Thanks for calling, this is Maya."),
            ("user", "Hi, I want rooftop solar."),
            ("assistant", "Great, what's your budget?"),
            (
                "customer",
                "About 20k. <script>document.title='pwned'</script>",
            ),
            ("system", "call transferred"),
        ],
        ..SeedCall::default()
    })
    .await;
    // Turn ids that sort the other way round: the order must come from the start times.
    d.db.execute(
        r#"UPDATE "Turn" SET id = 'z-' || (10 - right(id, 1)::int) WHERE "callId" = $1"#,
        &[&call_id],
    )
    .await
    .unwrap();

    let call = d.get_json(&format!("/api/calls/{call_id}")).await;

    let texts: Vec<&str> = call["turns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        [
            "Thanks for calling, this is Maya.",
            "Hi, I want rooftop solar.",
            "Great, what's your budget?",
            "About 20k. <script>document.title='pwned'</script>",
            "call transferred",
        ]
    );
    let roles: Vec<&str> = call["turns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["agent", "caller", "agent", "caller", "other"]);
    assert_eq!(call["turns"][4]["rawRole"], "system");
    assert_eq!(call["callId"], call_id.as_str());
    assert_eq!(call["agentId"], "agent-a");
    assert_eq!(call["analytics"]["leadScore"], 91);
    assert_eq!(call["analytics"]["sentiment"], 0.62);
    assert_eq!(call["analytics"]["entities"]["name"], "Dana Whitfield");
    assert_eq!(
        call["analytics"]["summary"],
        format!("Summary of {call_id}")
    );
    assert_eq!(call["analytics"]["nextAction"], "Call back today");
    assert_eq!(call["analytics"]["metrics"]["durationMs"], 240000);
    assert_eq!(call["turnsTruncated"], false);
    d.cleanup().await;
}

#[tokio::test]
async fn a_call_not_analyzed_yet_shows_its_transcript_and_no_analytics() {
    let d = Dashboard::spawn().await;
    let call_id = format!("CA {} / ü", short_id());
    seed_call(&d.db, &call_id, &[("user", "hello?")], Utc::now()).await;
    let empty = id("no-turns");
    seed_call(&d.db, &empty, &[], Utc::now()).await;

    let encoded = call_id
        .replace(' ', "%20")
        .replace('/', "%2F")
        .replace('ü', "%C3%BC");
    let call = d.get_json(&format!("/api/calls/{encoded}")).await;
    let bare = d.get_json(&format!("/api/calls/{empty}")).await;

    assert_eq!(call["callId"], call_id.as_str());
    assert!(call["analytics"].is_null());
    assert_eq!(call["turns"][0]["text"], "hello?");
    assert!(bare["analytics"].is_null());
    assert_eq!(bare["turns"], serde_json::json!([]));
    d.cleanup().await;
}

#[tokio::test]
async fn no_token_or_a_wrong_one_is_a_401_on_every_route_and_the_right_one_a_200() {
    let d = Dashboard::spawn().await;
    let call_id = id("auth");
    d.seed_analyzed(&SeedCall {
        id: &call_id,
        ..SeedCall::default()
    })
    .await;
    let routes = [
        "/".to_string(),
        format!("/calls/{call_id}"),
        "/app.js".to_string(),
        "/app.css".to_string(),
        "/api/top-leads?hours=24&limit=20".to_string(),
        "/api/sentiment-trend?days=7".to_string(),
        format!("/api/calls/{call_id}"),
    ];
    for route in &routes {
        let anonymous = Request::builder().uri(route.as_str()).body(()).unwrap();
        let wrong = Request::builder()
            .uri(route.as_str())
            .header("authorization", format!("Bearer {TOKEN}x"))
            .body(())
            .unwrap();
        let basic = Request::builder()
            .uri(route.as_str())
            .header("authorization", format!("Basic {TOKEN}"))
            .body(())
            .unwrap();

        let statuses = [
            dashboard(&d.deps, &anonymous).await,
            dashboard(&d.deps, &wrong).await,
            dashboard(&d.deps, &basic).await,
        ];
        let right = d.get(route).await;

        for response in &statuses {
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{route}");
            assert!(!response.body().contains("Dana"), "{route} leaks data");
        }
        assert_eq!(right.status(), StatusCode::OK, "{route}");
        for response in statuses.iter().chain([&right]) {
            assert_eq!(header(response, "cache-control"), "no-store", "{route}");
            assert!(
                header(response, "content-security-policy").starts_with("default-src 'none'"),
                "{route}"
            );
            assert_eq!(header(response, "x-content-type-options"), "nosniff");
            assert_eq!(header(response, "referrer-policy"), "no-referrer");
        }
    }
    // The session cookie the token buys works on the API; the page never sees the token again.
    let exchange = dashboard(
        &d.deps,
        &Request::builder()
            .uri(format!("/?token={TOKEN}"))
            .body(())
            .unwrap(),
    )
    .await;
    assert_eq!(exchange.status(), StatusCode::SEE_OTHER);
    let session = header(&exchange, "set-cookie").split(';').next().unwrap();
    let by_cookie = Request::builder()
        .uri(format!("/api/calls/{call_id}"))
        .header("cookie", session)
        .body(())
        .unwrap();
    assert_eq!(
        dashboard(&d.deps, &by_cookie).await.status(),
        StatusCode::OK
    );
    d.cleanup().await;
}

#[tokio::test]
async fn bad_input_is_a_400_with_a_json_error_and_an_unknown_call_a_404() {
    let d = Dashboard::spawn().await;

    for uri in [
        "/api/top-leads?hours=0",
        "/api/top-leads?hours=721",
        "/api/top-leads?limit=0",
        "/api/top-leads?limit=201",
        "/api/top-leads?limit=ten",
        "/api/top-leads?limt=5",
        "/api/top-leads?hours=1&hours=2",
        "/api/sentiment-trend?days=0",
        "/api/sentiment-trend?days=91",
        "/api/sentiment-trend?days=7;DROP%20TABLE%20%22Call%22",
        "/api/sentiment-trend?tz=Mars%2FOlympus_Mons",
        "/api/sentiment-trend?tz=UTC%27;DROP",
        "/api/calls/",
        "/api/calls/%20%20",
        "/api/calls/a%0Ab",
        "/api/calls/%FF%FE",
    ] {
        let response = d.get(uri).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{uri}");
        let body: Value = serde_json::from_str(response.body()).unwrap();
        assert_eq!(body["error"]["code"], "invalid_request", "{uri}");
        assert!(body["error"]["message"].is_string(), "{uri}");
    }
    let long = "x".repeat(129);
    assert_eq!(
        d.get(&format!("/api/calls/{long}")).await.status(),
        StatusCode::BAD_REQUEST
    );

    let unknown = d.get("/api/calls/no-such-call").await;
    let injected = d.get("/api/calls/x'%20OR%20'1'='1").await;
    let no_route = d.get("/api/nothing-here").await;

    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let body: Value = serde_json::from_str(unknown.body()).unwrap();
    assert_eq!(body["error"]["code"], "not_found");
    assert_eq!(injected.status(), StatusCode::NOT_FOUND);
    assert_eq!(no_route.status(), StatusCode::NOT_FOUND);
    let calls: i64 =
        d.db.query_one(r#"SELECT count(*) FROM "Call""#, &[])
            .await
            .unwrap()
            .get(0);
    assert_eq!(calls, 0);
    d.cleanup().await;
}

#[tokio::test]
async fn the_sample_function_url_event_is_answered_200_with_its_token_and_401_without() {
    let d = Dashboard::spawn().await;
    let call_id = id("event");
    d.seed_analyzed(&SeedCall {
        id: &call_id,
        score: 88,
        ..SeedCall::default()
    })
    .await;
    let event = include_str!("../../../events/dashboard-request.json");

    let with_token =
        lambda_http::request::from_str(&event.replace("REPLACE_WITH_DASHBOARD_TOKEN", TOKEN))
            .unwrap();
    let without = lambda_http::request::from_str(&event.replace(
        "\"authorization\": \"Bearer REPLACE_WITH_DASHBOARD_TOKEN\",",
        "",
    ))
    .unwrap();
    let placeholder = lambda_http::request::from_str(event).unwrap();

    let ok = dashboard(&d.deps, &with_token).await;
    let refused = dashboard(&d.deps, &without).await;
    let wrong = dashboard(&d.deps, &placeholder).await;

    assert_eq!(ok.status(), StatusCode::OK, "{}", ok.body());
    let body: Value = serde_json::from_str(ok.body()).unwrap();
    assert_eq!(body["leads"][0]["callId"], call_id.as_str());
    assert_eq!(body["leads"][0]["leadScore"], 88);
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    d.cleanup().await;
}

#[tokio::test]
async fn the_token_is_read_from_secrets_manager_and_never_logged() {
    let schema = TestSchema::create().await;
    PgStore::new(DatabaseConfig::from_url(&schema.url), None)
        .migrate()
        .await
        .unwrap();
    let aws = aws_config().await;
    let secrets = aws_sdk_secretsmanager::Client::new(&aws);
    let token = format!("sm-sentinel-token-{}", short_id());
    let (_, arn) = new_secret(
        &secrets,
        "postcall/dashboard",
        &serde_json::json!({ "token": token }).to_string(),
    )
    .await;
    let (_, unusable) = new_secret(&secrets, "postcall/dashboard-short", "short").await;
    let deps = |secret_arn: &str| {
        let vars = HashMap::from([
            ("DATABASE_URL".to_string(), schema.url.clone()),
            (
                "DASHBOARD_TOKEN_SECRET_ARN".to_string(),
                secret_arn.to_string(),
            ),
        ]);
        DashboardDeps::new(
            DashboardConfig::from_lookup(&|k: &str| vars.get(k).cloned()).unwrap(),
            &aws,
        )
    };
    let good = deps(&arn);
    let broken = deps(&unusable);
    let (logs, _guard) = crate::secrets::capture();
    let request = |credential: &str| {
        Request::builder()
            .uri("/api/top-leads")
            .header("authorization", format!("Bearer {credential}"))
            .body(())
            .unwrap()
    };

    let right = dashboard(&good, &request(&token)).await;
    let wrong = dashboard(&good, &request("sm-some-other-token-000000")).await;
    let exchange = dashboard(
        &good,
        &Request::builder()
            .uri(format!("/?token={token}"))
            .body(())
            .unwrap(),
    )
    .await;
    let misconfigured = dashboard(&broken, &request(&token)).await;

    assert_eq!(right.status(), StatusCode::OK, "{}", right.body());
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(exchange.status(), StatusCode::SEE_OTHER);
    assert!(header(&exchange, "set-cookie").contains("; Secure"));
    // A secret without a usable token never opens the dashboard.
    assert_eq!(misconfigured.status(), StatusCode::SERVICE_UNAVAILABLE);
    let logged = logs.text();
    assert!(logged.contains("dashboard request"), "{logged}");
    assert!(
        !logged.contains(&token),
        "the token reached the logs:\n{logged}"
    );
    drop(good);
    drop(broken);
    schema.drop().await;
}

#[tokio::test]
async fn a_rotated_token_is_picked_up_from_secrets_manager_and_the_old_one_stops_working() {
    let schema = TestSchema::create().await;
    let aws = aws_config().await;
    let secrets = aws_sdk_secretsmanager::Client::new(&aws);
    let (old, new) = (
        format!("old-dashboard-token-{}", short_id()),
        format!("new-dashboard-token-{}", short_id()),
    );
    let (name, arn) = new_secret(
        &secrets,
        "postcall/dashboard-rotated",
        &serde_json::json!({ "token": old }).to_string(),
    )
    .await;
    let deps = |refetch_secs: &str| {
        let vars = HashMap::from([
            ("DATABASE_URL".to_string(), schema.url.clone()),
            ("DASHBOARD_TOKEN_SECRET_ARN".to_string(), arn.clone()),
            (
                "DASHBOARD_TOKEN_REFETCH_SECS".to_string(),
                refetch_secs.to_string(),
            ),
        ]);
        DashboardDeps::new(
            DashboardConfig::from_lookup(&|k: &str| vars.get(k).cloned()).unwrap(),
            &aws,
        )
    };
    // The styles need the credential and no database.
    let request = |token: &str| {
        Request::builder()
            .uri("/app.css")
            .header("authorization", format!("Bearer {token}"))
            .body(())
            .unwrap()
    };
    let eager = deps("0");
    let guarded = deps("300");
    assert_eq!(
        dashboard(&eager, &request(&old)).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        dashboard(&guarded, &request(&old)).await.status(),
        StatusCode::OK
    );

    put_secret(
        &secrets,
        &name,
        &serde_json::json!({ "token": new }).to_string(),
    )
    .await;

    // Without a guard the new token is fetched at its first use; the old one then fails.
    assert_eq!(
        dashboard(&eager, &request(&new)).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        dashboard(&eager, &request(&old)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // With the default guard the first rotation is picked up at once too…
    assert_eq!(
        dashboard(&guarded, &request(&new)).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        dashboard(&guarded, &request(&old)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // …but a credential that does not match within the guard's interval after that refetch is
    // not fetched for again (so wrong tokens cannot drive calls to Secrets Manager): a second
    // rotation waits its turn, and the token fetched last keeps working meanwhile.
    let third = format!("third-dashboard-token-{}", short_id());
    put_secret(
        &secrets,
        &name,
        &serde_json::json!({ "token": third }).to_string(),
    )
    .await;
    assert_eq!(
        dashboard(&guarded, &request(&third)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        dashboard(&guarded, &request(&new)).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        dashboard(&eager, &request(&third)).await.status(),
        StatusCode::OK
    );
    schema.drop().await;
}

#[tokio::test]
async fn a_database_that_does_not_answer_is_a_503_without_details() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut database = DatabaseConfig::from_url(&format!(
        "postgres://postcall:sentinel-pw@127.0.0.1:{port}/x"
    ));
    database.connect_timeout = std::time::Duration::from_millis(500);
    let deps = DashboardDeps::local(DashboardConfig {
        database,
        auth: postcall::config::DashboardAuth::Bearer(postcall::config::TokenSource::Token(
            postcall::secret::Secret::new(TOKEN.into()),
        )),
        session_ttl_secs: postcall::config::DEFAULT_SESSION_TTL_SECS,
        token_refetch_after_secs: 300,
    })
    .unwrap();

    let response = dashboard(&deps, &authorized("/api/top-leads")).await;
    let page = dashboard(&deps, &authorized("/")).await;

    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = serde_json::from_str(response.body()).unwrap();
    assert_eq!(body["error"]["code"], "unavailable");
    assert!(!response.body().contains("sentinel-pw"));
    assert!(!response.body().contains(&port.to_string()));
    // The page itself needs no database.
    assert_eq!(page.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_parameterised_queries_reach_calls_through_an_index() {
    let d = Dashboard::spawn().await;
    d.db.batch_execute(
        r#"INSERT INTO "Call" (id, "fromNumber", "agentId", "startedAt", "endedAt")
             SELECT 'call-' || g, '+1555' || lpad(g::text, 7, '0'), 'agent-' || (g % 12),
                    now() - (g * interval '631 seconds') - interval '5 minutes', now() - (g * interval '631 seconds')
             FROM generate_series(1, 30000) g;
           INSERT INTO "Analytics" ("callId", sentiment, "leadScore", intent, entities)
             SELECT 'call-' || g, ((g % 200) - 100) / 100.0, g % 101,
                    (ARRAY['info','booking','complaint','sales','support'])[1 + g % 5], '{}'::jsonb
             FROM generate_series(1, 30000) g;
           ANALYZE "Call"; ANALYZE "Analytics"; ANALYZE "SentimentRollup";"#,
    )
    .await
    .unwrap();

    let top: Value =
        d.db.query_one(
            &format!("EXPLAIN (FORMAT JSON) {TOP_LEADS_SQL}"),
            &[&24i32, &20i64],
        )
        .await
        .unwrap()
        .get(0);
    let trend: Value =
        d.db.query_one(
            &format!("EXPLAIN (FORMAT JSON) {SENTIMENT_TREND_SQL}"),
            &[&7i32, &"UTC"],
        )
        .await
        .unwrap()
        .get(0);

    for (name, plan) in [("top leads", top), ("trend", trend)] {
        let mut scans = Vec::new();
        collect_scans(&plan[0]["Plan"], &mut scans);
        // Top leads may instead walk "Analytics" by score (migration 0006) and probe each call
        // by its primary key; which wins depends on the window and the statistics.
        // The trend reads its rollup by the hour (its primary key), once per local day.
        let text = plan.to_string();
        let index_used = match name {
            "trend" => text.contains("SentimentRollup_pkey"),
            // Top leads walks the index in its own order (migration 0008).
            _ => text.contains("Analytics_leadScore_callEndedAt_idx"),
        };
        assert!(index_used, "{name} uses neither index: {text}");
        assert!(
            !scans.contains(&("Seq Scan".to_string(), "Call".to_string())),
            "{name} scans all calls: {scans:?}"
        );
    }
    d.cleanup().await;
}

/// (node type, relation) of every scan in an EXPLAIN (FORMAT JSON) plan.
fn collect_scans(node: &Value, out: &mut Vec<(String, String)>) {
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
