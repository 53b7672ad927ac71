//! Answers: the security headers every answer carries, the 401 page, JSON and errors.

use http::{
    header::{
        HeaderName, HeaderValue, CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE,
        REFERRER_POLICY, STRICT_TRANSPORT_SECURITY, WWW_AUTHENTICATE, X_CONTENT_TYPE_OPTIONS,
        X_FRAME_OPTIONS,
    },
    Method, Request, Response, StatusCode,
};
use serde::Serialize;

use super::{params::BadRequest, Route, DASHBOARD_CSP};

pub(super) fn unauthorized<B>(request: &Request<B>, route: Route<'_>) -> Response<String> {
    if route.is_page() {
        // A SameSite=Strict cookie is not sent when the page is opened from another site (the
        // notifier's Slack link). The page then reloads itself once: that navigation starts on
        // this origin, so the cookie goes along. The reload arrives same-origin, so it never
        // loops.
        let is_cross_site = request
            .headers()
            .get("sec-fetch-site")
            .is_some_and(|v| v.as_bytes() == b"cross-site");
        return sign_in_page(is_cross_site && request.method() == Method::GET);
    }
    let mut response = json_error(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "send Authorization: Bearer <token>, or open the dashboard with ?token=<token> once",
    );
    response.headers_mut().insert(
        WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"postcall-dashboard\""),
    );
    response
}

/// The 401 page: no data, no script, no styles.
pub(super) fn sign_in_page(reload_once: bool) -> Response<String> {
    let reload = if reload_once {
        "<meta http-equiv=\"refresh\" content=\"0\">\n"
    } else {
        ""
    };
    let body = format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n{reload}\
         <title>postcall dashboard: sign in</title>\n</head>\n<body>\n<h1>Sign in to the postcall dashboard</h1>\n\
         <p>Open the link that <code>postcall dashboard</code> printed, or this page's address with \
         <code>?token=</code> and the dashboard token added. The token is exchanged for a session \
         cookie (an hour by default; <code>/logout</code> ends it).</p>\n</body>\n</html>\n"
    );
    let mut response = text_owned(body, "text/html; charset=utf-8");
    *response.status_mut() = StatusCode::UNAUTHORIZED;
    response.headers_mut().insert(
        WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"postcall-dashboard\""),
    );
    response
}

pub(super) fn secured(mut response: Response<String>, is_https: bool) -> Response<String> {
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(DASHBOARD_CSP),
    );
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        HeaderName::from_static("cross-origin-resource-policy"),
        HeaderValue::from_static("same-origin"),
    );
    if is_https {
        headers.insert(
            STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    response
}

pub(super) fn text(body: &'static str, content_type: &'static str) -> Response<String> {
    text_owned(body.to_owned(), content_type)
}

pub(super) fn text_owned(body: String, content_type: &'static str) -> Response<String> {
    let mut response = Response::new(body);
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

pub(super) fn json(status: StatusCode, body: &impl Serialize) -> Response<String> {
    match serde_json::to_string(body) {
        Ok(body) => {
            let mut response = text_owned(body, "application/json");
            *response.status_mut() = status;
            response
        }
        // Our bodies have string keys only; this is unreachable in practice.
        Err(_) => json_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the answer could not be encoded",
        ),
    }
}

pub(super) fn json_error(status: StatusCode, code: &str, message: &str) -> Response<String> {
    let body = serde_json::json!({"error": {"code": code, "message": message}}).to_string();
    let mut response = text_owned(body, "application/json");
    *response.status_mut() = status;
    response
}

pub(super) fn bad_request(error: &BadRequest) -> Response<String> {
    json_error(StatusCode::BAD_REQUEST, "invalid_request", &error.0)
}
