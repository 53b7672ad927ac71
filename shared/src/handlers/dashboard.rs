//! The dashboard: the seed's two dashboard queries and one call's detail as a JSON API, and a
//! small page that shows them. The same router serves the Lambda Function URL
//! (`functions/dashboard`) and `postcall dashboard` on 127.0.0.1.
//!
//! | route | answer |
//! |---|---|
//! | `GET /` (and `/calls/{id}`) | the page: static HTML without data; its script reads the API |
//! | `GET /app.js`, `GET /app.css` | the page's script and styles, served by the function (no CDN) |
//! | `GET /api/top-leads?hours=24&limit=20` | top leads of the last `hours` (1..=720), at most `limit` (1..=200) |
//! | `GET /api/sentiment-trend?days=7&tz=UTC` | average caller sentiment per agent and day: today and the days before it, `days` (1..=90) in all, days from midnight in `tz` (an IANA zone, default UTC); read from the hourly rollup |
//! | `GET /api/calls/{id}` | one call: analytics, summary, next action, metrics and the transcript in order |
//!
//! Every route needs a credential (see [`access`]); without one the answer is 401, whatever
//! the route. Bad input is a 400 with a JSON error, an unknown call a 404, a database that
//! cannot answer a 503. Every answer carries `Cache-Control: no-store`, a strict
//! Content-Security-Policy (scripts and styles from the function only, no inline code),
//! `X-Content-Type-Options: nosniff` and `Referrer-Policy: no-referrer`. The page puts every
//! value from a call into the document as text (`textContent`), never as markup.

pub mod access;
mod body;
pub mod params;
mod response;

use std::time::{Duration, Instant, SystemTime};

use http::{
    header::{HeaderValue, ALLOW, AUTHORIZATION, COOKIE, LOCATION, SET_COOKIE},
    Method, Request, Response, StatusCode,
};
use tracing::{error, info, warn};

use self::{
    access::{
        bearer_token, constant_time_eq, cookie, session_is_valid, session_value, AccessError,
        TokenStore, SESSION_COOKIE,
    },
    body::{CallBody, LeadBody, PointBody, TopLeadsBody, TrendBody},
    params::{call_id_from_segment, percent_decode, TopLeadsQuery, TrendQuery},
    response::{bad_request, json, json_error, secured, sign_in_page, text, unauthorized},
};
use crate::{
    adapters::{
        postgres::{PgStore, StoreError},
        secrets::SecretsStore,
    },
    config::{ConfigError, DashboardAuth, DashboardConfig, DatabaseSource, TokenSource},
    error::{cause_chain, Classified, ErrorClass},
};

const INDEX_HTML: &str = include_str!("dashboard/index.html");
const APP_JS: &str = include_str!("dashboard/app.js");
const APP_CSS: &str = include_str!("dashboard/app.css");

/// The policy on every answer: nothing loads but the function's own script, styles and API
/// (no inline script or style, no eval, no plugins, no framing, no form posts elsewhere).
pub const DASHBOARD_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'";

/// Everything the dashboard needs, built once per container (or once by `postcall dashboard`).
pub struct DashboardDeps {
    /// Postgres.
    pub store: PgStore,
    access: Access,
    is_https: bool,
    session_ttl_secs: u64,
}

enum Access {
    /// The Function URL's `AWS_IAM` auth checked the caller already.
    Iam,
    /// A bearer token or a session cookie made from it.
    Bearer(TokenStore),
}

impl std::fmt::Debug for DashboardDeps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DashboardDeps")
            .field("store", &self.store)
            .field(
                "auth",
                &match self.access {
                    Access::Iam => "iam",
                    Access::Bearer(_) => "bearer",
                },
            )
            .field("is_https", &self.is_https)
            .finish()
    }
}

impl DashboardDeps {
    /// The Lambda's dependencies. Function URLs are HTTPS only, so the session cookie is
    /// `Secure` and answers carry `Strict-Transport-Security`.
    pub fn new(config: DashboardConfig, aws: &aws_config::SdkConfig) -> Self {
        info!(config = ?config, "dashboard configured");
        let secrets = SecretsStore::new(aws_sdk_secretsmanager::Client::new(aws));
        Self::build(config, Some(secrets), true)
    }

    /// For a server on 127.0.0.1 over plain HTTP (`postcall dashboard`, tests): no AWS, so the
    /// token and the database come from the environment, and `iam` auth (which only a Function
    /// URL can enforce) is refused.
    ///
    /// # Errors
    /// [`ConfigError`] for `DASHBOARD_AUTH=iam` or a secret ARN where a value is needed.
    pub fn local(config: DashboardConfig) -> Result<Self, ConfigError> {
        match &config.auth {
            DashboardAuth::Iam => {
                return Err(ConfigError::Invalid {
                    name: "DASHBOARD_AUTH",
                    reason: "iam relies on the Function URL's AWS_IAM auth; a local server needs DASHBOARD_TOKEN".into(),
                })
            }
            DashboardAuth::Bearer(TokenSource::SecretArn(_)) => {
                return Err(ConfigError::Missing("DASHBOARD_TOKEN"))
            }
            DashboardAuth::Bearer(TokenSource::Token(_)) => {}
        }
        if let DatabaseSource::SecretArn(_) = config.database.source {
            return Err(ConfigError::Missing("DATABASE_URL"));
        }
        Ok(Self::build(config, None, false))
    }

    fn build(config: DashboardConfig, secrets: Option<SecretsStore>, is_https: bool) -> Self {
        let access = match config.auth {
            DashboardAuth::Iam => Access::Iam,
            DashboardAuth::Bearer(source) => Access::Bearer(TokenStore::new(
                source,
                secrets.clone(),
                Duration::from_secs(config.token_refetch_after_secs),
            )),
        };
        Self {
            store: PgStore::new(config.database, secrets),
            access,
            is_https,
            session_ttl_secs: config.session_ttl_secs,
        }
    }

    /// Whether the request carries a valid bearer token or session cookie (always, with `iam`).
    /// A bearer header decides alone when present.
    async fn is_authorized<B>(
        &self,
        request: &Request<B>,
        now: SystemTime,
    ) -> Result<bool, AccessError> {
        let store = match &self.access {
            Access::Iam => return Ok(true),
            Access::Bearer(store) => store,
        };
        let bearer = request
            .headers()
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(bearer_token);
        if let Some(presented) = bearer {
            let matched = store
                .matching_token(|token| constant_time_eq(presented.as_bytes(), token))
                .await?;
            return Ok(matched.is_some());
        }
        let session = request
            .headers()
            .get_all(COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|header| cookie(header, SESSION_COOKIE));
        match session {
            Some(value) => Ok(store
                .matching_token(|token| session_is_valid(value, token, now))
                .await?
                .is_some()),
            None => Ok(false),
        }
    }
}

/// A request the dashboard could not answer for want of its data: a 503, logged.
#[derive(Debug, thiserror::Error)]
pub enum DashboardError {
    /// The database failed.
    #[error("dashboard query")]
    Store(#[from] StoreError),
    /// The token could not be read.
    #[error("dashboard access check")]
    Access(#[from] AccessError),
}

impl Classified for DashboardError {
    fn class(&self) -> ErrorClass {
        match self {
            DashboardError::Store(e) => e.class(),
            DashboardError::Access(e) => e.class(),
        }
    }

    fn code(&self) -> &'static str {
        match self {
            DashboardError::Store(e) => e.code(),
            DashboardError::Access(e) => e.code(),
        }
    }
}

/// The routes, from the request path alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route<'a> {
    Page,
    CallPage(&'a str),
    Script,
    Styles,
    TopLeads,
    Trend,
    Call(&'a str),
    Logout,
    NotFound,
}

impl<'a> Route<'a> {
    fn of(path: &'a str) -> Self {
        match path {
            "/" | "/index.html" => Route::Page,
            "/app.js" => Route::Script,
            "/app.css" => Route::Styles,
            "/api/top-leads" => Route::TopLeads,
            "/api/sentiment-trend" => Route::Trend,
            "/logout" => Route::Logout,
            _ => match (
                path.strip_prefix("/api/calls/"),
                path.strip_prefix("/calls/"),
            ) {
                (Some(id), _) if !id.contains('/') => Route::Call(id),
                // The notifier's "Open the call" link: `{DASHBOARD_URL}/calls/{callId}`.
                (_, Some(id)) if !id.is_empty() && !id.contains('/') => Route::CallPage(id),
                _ => Route::NotFound,
            },
        }
    }

    fn name(self) -> &'static str {
        match self {
            Route::Page => "page",
            Route::CallPage(_) => "call-page",
            Route::Script => "script",
            Route::Styles => "styles",
            Route::TopLeads => "top-leads",
            Route::Trend => "sentiment-trend",
            Route::Call(_) => "call",
            Route::Logout => "logout",
            Route::NotFound => "not-found",
        }
    }

    fn is_page(self) -> bool {
        matches!(self, Route::Page | Route::CallPage(_))
    }
}

/// The handler, for the Lambda and the local server alike: every outcome is an HTTP answer
/// (4xx for the client's mistakes, 503 when the data cannot be read), with the security
/// headers. The request body is never read.
pub async fn dashboard<B>(deps: &DashboardDeps, request: &Request<B>) -> Response<String> {
    let started = Instant::now();
    let route = Route::of(request.uri().path());
    let response = match respond(deps, request, route, SystemTime::now()).await {
        Ok(response) => response,
        Err(e) => {
            // The request's URL is never logged: a page URL may carry the token.
            error!(
                route = route.name(),
                error = %e,
                error.cause_chain = cause_chain(&e),
                error_class = e.class().as_str(),
                "dashboard request failed"
            );
            json_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the dashboard cannot read its data right now; try again shortly",
            )
        }
    };
    let response = secured(response, deps.is_https);
    if response.status() == StatusCode::UNAUTHORIZED {
        // Who was refused, for the 4xx alarm's follow-up; never what they presented.
        warn!(
            route = route.name(),
            source_ip = source_ip(request).unwrap_or("unknown"),
            "dashboard request refused: no valid credential"
        );
    }
    info!(
        method = %request.method(),
        route = route.name(),
        status = response.status().as_u16(),
        latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        "dashboard request"
    );
    response
}

/// The client's address as the Function URL saw it (`requestContext.http.sourceIp`); none
/// for the local server.
fn source_ip<B>(request: &Request<B>) -> Option<&str> {
    match request
        .extensions()
        .get::<lambda_http::request::RequestContext>()?
    {
        lambda_http::request::RequestContext::ApiGatewayV2(context) => {
            context.http.source_ip.as_deref()
        }
        // The other request shapes (compiled in when another crate turns their features on).
        _ => None,
    }
}

async fn respond<B>(
    deps: &DashboardDeps,
    request: &Request<B>,
    route: Route<'_>,
    now: SystemTime,
) -> Result<Response<String>, DashboardError> {
    let query = request.uri().query();
    // Signing out needs no credential: it only clears this browser's cookie.
    if route == Route::Logout {
        return Ok(signed_out(deps.is_https));
    }
    if route.is_page() && request.method() == Method::GET {
        if let Some(presented) = query_token(query) {
            return exchange_token(deps, route, &presented, now).await;
        }
    }
    if !deps.is_authorized(request, now).await? {
        return Ok(unauthorized(request, route));
    }
    if request.method() != Method::GET {
        let mut response = json_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "the dashboard only answers GET",
        );
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET"));
        return Ok(response);
    }
    match route {
        Route::Page | Route::CallPage(_) => Ok(text(INDEX_HTML, "text/html; charset=utf-8")),
        Route::Script => Ok(text(APP_JS, "text/javascript; charset=utf-8")),
        Route::Styles => Ok(text(APP_CSS, "text/css; charset=utf-8")),
        Route::TopLeads => {
            let q = match TopLeadsQuery::parse(query) {
                Ok(q) => q,
                Err(e) => return Ok(bad_request(&e)),
            };
            let leads = deps
                .store
                .top_leads(
                    i32::try_from(q.hours).unwrap_or(i32::MAX),
                    i64::from(q.limit),
                )
                .await?;
            Ok(json(
                StatusCode::OK,
                &TopLeadsBody {
                    hours: q.hours,
                    limit: q.limit,
                    leads: leads.iter().map(LeadBody::from).collect(),
                },
            ))
        }
        Route::Trend => {
            let q = match TrendQuery::parse(query) {
                Ok(q) => q,
                Err(e) => return Ok(bad_request(&e)),
            };
            let Some(points) = deps
                .store
                .sentiment_trend(i32::try_from(q.days).unwrap_or(i32::MAX), &q.time_zone)
                .await?
            else {
                return Ok(bad_request(&params::BadRequest(format!(
                    "tz: unknown time zone {:?}",
                    q.time_zone
                ))));
            };
            Ok(json(
                StatusCode::OK,
                &TrendBody {
                    days: q.days,
                    time_zone: &q.time_zone,
                    points: points.iter().map(PointBody::from).collect(),
                },
            ))
        }
        Route::Call(segment) => {
            let call_id = match call_id_from_segment(segment) {
                Ok(id) => id,
                Err(e) => return Ok(bad_request(&e)),
            };
            match deps.store.call_detail(&call_id).await? {
                Some(detail) => Ok(json(StatusCode::OK, &CallBody::from(&detail))),
                None => Ok(json_error(
                    StatusCode::NOT_FOUND,
                    "not_found",
                    "no call has this id",
                )),
            }
        }
        Route::Logout => Ok(signed_out(deps.is_https)),
        Route::NotFound => Ok(json_error(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such route; see GET /api/top-leads, /api/sentiment-trend, /api/calls/{id}",
        )),
    }
}

/// `/logout`: the session cookie expired in this browser, and a page that says so. (The
/// cookie is stateless: one copied elsewhere stays valid until it expires or the token is
/// rotated.)
fn signed_out(is_https: bool) -> Response<String> {
    let mut response = text(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>postcall dashboard: signed out</title>\n</head>\n<body>\n<h1>Signed out</h1>\n<p>Open the dashboard's link with <code>?token=</code> to sign in again.</p>\n</body>\n</html>\n",
        "text/html; charset=utf-8",
    );
    let secure = if is_https { "; Secure" } else { "" };
    let cookie = format!("{SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict{secure}");
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(SET_COOKIE, value);
    }
    response
}

/// The `token` parameter of a page's query string.
fn query_token(query: Option<&str>) -> Option<String> {
    query?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(name, _)| *name == "token")
        .and_then(|(_, value)| percent_decode(value, true))
}

/// `GET /?token=…`: a valid token is exchanged for a session cookie and a redirect to the same
/// page without it (out of the address bar and history); a wrong one is a 401.
async fn exchange_token(
    deps: &DashboardDeps,
    route: Route<'_>,
    presented: &str,
    now: SystemTime,
) -> Result<Response<String>, DashboardError> {
    let location = match route {
        Route::CallPage(id) => format!("/calls/{id}"),
        _ => "/".to_string(),
    };
    let session = match &deps.access {
        Access::Iam => None,
        Access::Bearer(store) => {
            let matched = store
                .matching_token(|token| constant_time_eq(presented.as_bytes(), token))
                .await?;
            match matched {
                Some(token) => Some(session_value(
                    token.expose().as_bytes(),
                    now,
                    deps.session_ttl_secs,
                )),
                None => return Ok(sign_in_page(false)),
            }
        }
    };
    let mut response = Response::new(String::new());
    *response.status_mut() = StatusCode::SEE_OTHER;
    let headers = response.headers_mut();
    // The id segment comes from a parsed URI path, so it is visible ASCII.
    if let Ok(value) = HeaderValue::from_str(&location) {
        headers.insert(LOCATION, value);
    }
    if let Some(session) = session {
        let secure = if deps.is_https { "; Secure" } else { "" };
        let cookie = format!(
            "{SESSION_COOKIE}={session}; Path=/; Max-Age={}; HttpOnly; SameSite=Strict{secure}",
            deps.session_ttl_secs
        );
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            headers.insert(SET_COOKIE, value);
        }
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{config::DatabaseConfig, secret::Secret};

    const TOKEN: &str = "unit-test-dashboard-token";

    /// Deps whose database is never reached: every test here stops before a query.
    fn deps(auth: DashboardAuth, is_https: bool) -> DashboardDeps {
        let config = DashboardConfig {
            database: DatabaseConfig::from_url("postgres://postgres@127.0.0.1:1/none"),
            auth,
            session_ttl_secs: crate::config::DEFAULT_SESSION_TTL_SECS,
            token_refetch_after_secs: 300,
        };
        DashboardDeps::build(config, None, is_https)
    }

    fn bearer() -> DashboardAuth {
        DashboardAuth::Bearer(TokenSource::Token(Secret::new(TOKEN.into())))
    }

    fn get(uri: &str) -> Request<()> {
        Request::builder().uri(uri).body(()).unwrap()
    }

    fn header<'a>(response: &'a Response<String>, name: &str) -> &'a str {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    #[test]
    fn routes_are_read_from_the_path() {
        assert_eq!(Route::of("/"), Route::Page);
        assert_eq!(Route::of("/calls/abc"), Route::CallPage("abc"));
        assert_eq!(Route::of("/calls/"), Route::NotFound);
        assert_eq!(Route::of("/calls/a/b"), Route::NotFound);
        assert_eq!(Route::of("/api/calls/abc"), Route::Call("abc"));
        assert_eq!(Route::of("/api/calls/"), Route::Call(""));
        assert_eq!(Route::of("/api/calls/a/b"), Route::NotFound);
        assert_eq!(Route::of("/api/top-leads"), Route::TopLeads);
        assert_eq!(Route::of("/api/top-leads/"), Route::NotFound);
        assert_eq!(Route::of("//evil.example"), Route::NotFound);
    }

    #[derive(Clone, Default)]
    struct Logs(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Logs {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_refused_request_is_logged_with_its_source_ip_and_never_its_credential() {
        let deps = deps(bearer(), false);
        let mut context = aws_lambda_events::apigw::ApiGatewayV2httpRequestContext::default();
        context.http.source_ip = Some("203.0.113.7".into());
        let mut request = Request::builder()
            .uri("/api/top-leads")
            .header("authorization", "Bearer sentinel-wrong-token-0000")
            .body(())
            .unwrap();
        request
            .extensions_mut()
            .insert(lambda_http::request::RequestContext::ApiGatewayV2(context));
        let logs = Logs::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber_for_tests(move || writer.clone());
        let _guard = tracing::subscriber::set_default(subscriber);
        // A callsite another test thread registered while only the no-op dispatcher existed
        // can keep a cached "never" interest; recompute it with this thread's subscriber in.
        tracing::callsite::rebuild_interest_cache();

        let response = dashboard(&deps, &request).await;

        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let written = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
        assert!(written.contains("dashboard request refused"), "{written}");
        assert!(written.contains("203.0.113.7"), "{written}");
        assert!(!written.contains("sentinel-wrong-token"), "{written}");
    }

    fn tracing_subscriber_for_tests<W>(writer: W) -> impl tracing::Subscriber + Send + Sync
    where
        W: for<'w> lambda_runtime::tracing::subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
    {
        lambda_runtime::tracing::subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(writer)
            .finish()
    }

    #[tokio::test]
    async fn no_credential_is_a_401_on_every_route_with_the_security_headers() {
        let deps = deps(bearer(), false);
        for uri in [
            "/",
            "/calls/x",
            "/app.js",
            "/app.css",
            "/api/top-leads",
            "/api/sentiment-trend?days=7",
            "/api/calls/x",
            "/api/calls/",
            "/nope",
        ] {
            let response = dashboard(&deps, &get(uri)).await;
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{uri}");
            assert_eq!(header(&response, "cache-control"), "no-store", "{uri}");
            assert_eq!(header(&response, "content-security-policy"), DASHBOARD_CSP);
            assert_eq!(header(&response, "x-content-type-options"), "nosniff");
            assert_eq!(header(&response, "referrer-policy"), "no-referrer");
            assert!(header(&response, "www-authenticate").starts_with("Bearer"));
            assert!(!response.body().contains("<script"), "{uri}");
        }
    }

    #[tokio::test]
    async fn static_files_need_a_credential_and_are_served_with_one() {
        let deps = deps(bearer(), false);
        let request = Request::builder()
            .uri("/app.js")
            .header("authorization", format!("Bearer {TOKEN}"))
            .body(())
            .unwrap();
        let response = dashboard(&deps, &request).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            header(&response, "content-type"),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(response.body(), APP_JS);
    }

    #[tokio::test]
    async fn a_valid_token_in_the_page_url_becomes_a_session_cookie_and_leaves_the_url() {
        let deps = deps(bearer(), true);
        let response = dashboard(&deps, &get(&format!("/calls/c-1?token={TOKEN}"))).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(header(&response, "location"), "/calls/c-1");
        let cookie = header(&response, "set-cookie");
        assert!(cookie.starts_with("postcall_session=v2."), "{cookie}");
        for attribute in [
            "HttpOnly",
            "SameSite=Strict",
            "Secure",
            "Path=/",
            "Max-Age=3600",
        ] {
            assert!(cookie.contains(attribute), "{cookie} lacks {attribute}");
        }
        assert!(!cookie.contains(TOKEN));
        assert!(header(&response, "strict-transport-security").starts_with("max-age="));

        let session = cookie.split(';').next().unwrap();
        let with_cookie = Request::builder()
            .uri("/")
            .header("cookie", format!("theme=dark; {session}"))
            .body(())
            .unwrap();
        let page = dashboard(&deps, &with_cookie).await;
        assert_eq!(page.status(), StatusCode::OK);
        assert_eq!(page.body(), INDEX_HTML);
    }

    #[tokio::test]
    async fn logout_clears_the_cookie_without_needing_a_credential() {
        let deps = deps(bearer(), true);
        for method in [Method::GET, Method::POST] {
            let request = Request::builder()
                .method(method.clone())
                .uri("/logout")
                .body(())
                .unwrap();
            let response = dashboard(&deps, &request).await;
            assert_eq!(response.status(), StatusCode::OK, "{method}");
            let cookie = header(&response, "set-cookie");
            assert!(cookie.starts_with("postcall_session=;"), "{cookie}");
            for attribute in ["Max-Age=0", "Path=/", "HttpOnly", "Secure"] {
                assert!(cookie.contains(attribute), "{cookie} lacks {attribute}");
            }
            assert!(response.body().contains("Signed out"));
        }
    }

    #[tokio::test]
    async fn a_wrong_token_or_cookie_is_refused() {
        let deps = deps(bearer(), false);
        let response = dashboard(&deps, &get("/?token=not-the-dashboard-token")).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(header(&response, "set-cookie").is_empty());
        // Over plain HTTP the cookie cannot be Secure, or the browser would drop it.
        let response = dashboard(&deps, &get(&format!("/?token={TOKEN}"))).await;
        assert!(!header(&response, "set-cookie").contains("Secure"));
        let forged = Request::builder()
            .uri("/api/top-leads")
            .header("cookie", "postcall_session=v1.9999999999.00")
            .body(())
            .unwrap();
        assert_eq!(
            dashboard(&deps, &forged).await.status(),
            StatusCode::UNAUTHORIZED
        );
        // The token is for pages only; an API URL with it is still unauthenticated.
        let api = dashboard(&deps, &get(&format!("/api/top-leads?token={TOKEN}"))).await;
        assert_eq!(api.status(), StatusCode::UNAUTHORIZED);
    }

    #[tokio::test]
    async fn a_page_opened_from_another_site_reloads_once_to_send_its_strict_cookie() {
        let deps = deps(bearer(), true);
        let cross_site = Request::builder()
            .uri("/calls/c-1")
            .header("sec-fetch-site", "cross-site")
            .body(())
            .unwrap();
        let response = dashboard(&deps, &cross_site).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(response.body().contains("http-equiv=\"refresh\""));
        let same_origin = Request::builder()
            .uri("/calls/c-1")
            .header("sec-fetch-site", "same-origin")
            .body(())
            .unwrap();
        let response = dashboard(&deps, &same_origin).await;
        assert!(!response.body().contains("refresh"));
    }

    #[tokio::test]
    async fn other_methods_are_refused_after_authentication() {
        let deps = deps(bearer(), false);
        let anonymous = Request::builder()
            .method(Method::POST)
            .uri("/api/top-leads")
            .body(())
            .unwrap();
        assert_eq!(
            dashboard(&deps, &anonymous).await.status(),
            StatusCode::UNAUTHORIZED
        );
        let signed_in = Request::builder()
            .method(Method::DELETE)
            .uri("/api/calls/x")
            .header("authorization", format!("Bearer {TOKEN}"))
            .body(())
            .unwrap();
        let response = dashboard(&deps, &signed_in).await;
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(header(&response, "allow"), "GET");
    }

    #[tokio::test]
    async fn iam_auth_checks_nothing_itself_and_local_servers_refuse_it() {
        let deps = deps(DashboardAuth::Iam, true);
        let response = dashboard(&deps, &get("/app.css")).await;
        assert_eq!(response.status(), StatusCode::OK);
        let config = DashboardConfig {
            database: DatabaseConfig::from_url("postgres://postgres@127.0.0.1:1/none"),
            auth: DashboardAuth::Iam,
            session_ttl_secs: crate::config::DEFAULT_SESSION_TTL_SECS,
            token_refetch_after_secs: 300,
        };
        assert!(DashboardDeps::local(config).is_err());
    }

    #[test]
    fn the_page_renders_call_text_as_text_only() {
        for sink in [
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
            "eval(",
            "new Function",
        ] {
            assert!(!APP_JS.contains(sink), "app.js uses {sink}");
        }
        assert!(APP_JS.contains("textContent"));
        // No inline script or style, which the policy would block anyway.
        assert!(!INDEX_HTML.contains("<script>"));
        assert!(!INDEX_HTML.contains("style="));
        assert!(INDEX_HTML.contains("<script src=\"/app.js\""));
    }
}
