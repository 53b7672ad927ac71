//! `postcall dashboard`: the dashboard function's router (`postcall::handlers::dashboard`) on
//! 127.0.0.1, over HTTP/1.1 with hyper, against the demo database or DATABASE_URL.
//!
//! It binds to loopback only (the pages show callers' names, numbers and emails) and never
//! starts without DASHBOARD_TOKEN. It prints the link to open: `/?token=…` once, which the
//! router trades for a session cookie and a redirect to a URL without the token.

use std::{convert::Infallible, io::Write as _, sync::Arc};

use anyhow::Context as _;
use bytes::Bytes;
use http_body_util::Full;
use hyper::{body::Incoming, server::conn::http1, service::service_fn, Request};
use hyper_util::rt::TokioIo;
use postcall::{
    config::DashboardConfig,
    handlers::dashboard::{dashboard, params::percent_encode, DashboardDeps},
};
use tokio::net::TcpListener;

use crate::local_postgres::DEFAULT_DEMO_URL;

/// Options of `postcall dashboard`.
pub struct DashboardOptions {
    /// Port on 127.0.0.1; 0 picks a free one (the printed URL names it).
    pub port: u16,
    /// The database; else DATABASE_URL, else the demo's.
    pub database_url: Option<String>,
}

pub async fn run(options: DashboardOptions) -> anyhow::Result<()> {
    let token = std::env::var("DASHBOARD_TOKEN")
        .ok()
        .filter(|t| !t.trim().is_empty())
        .context(
            "DASHBOARD_TOKEN is not set. The dashboard shows callers' names, numbers and emails, \
             so it never runs open: set a long random token, e.g. export DASHBOARD_TOKEN=$(openssl rand -hex 24)",
        )?;
    let database_url = options
        .database_url
        .or_else(|| std::env::var("DATABASE_URL").ok())
        .unwrap_or_else(|| DEFAULT_DEMO_URL.to_string());
    // The router's own config, from the environment with the token and database fixed here;
    // secret ARNs and `iam` auth are for the Function URL and are not read.
    let config = DashboardConfig::from_lookup(&|name: &str| match name {
        "DATABASE_URL" => Some(database_url.clone()),
        "DASHBOARD_TOKEN" => Some(token.clone()),
        "DASHBOARD_AUTH" | "DASHBOARD_TOKEN_SECRET_ARN" | "DATABASE_SECRET_ARN" => None,
        other => std::env::var(other).ok(),
    })
    .context("dashboard configuration")?;
    let deps = Arc::new(DashboardDeps::local(config).context("dashboard configuration")?);
    // Fail now, not on the first page view, when the database is missing or not migrated.
    deps.store.top_leads(1, 1).await.with_context(|| {
        format!(
            "the dashboard's database does not answer its queries ({}); \
             run `postcall demo` first, or `postcall migrate` on your own database",
            crate::local_postgres::describe(&database_url)
        )
    })?;

    let listener = TcpListener::bind(("127.0.0.1", options.port))
        .await
        .with_context(|| format!("listen on 127.0.0.1:{}", options.port))?;
    let address = listener.local_addr()?;
    println!(
        "postcall dashboard on http://{address}/ (database {}); Ctrl-C stops it",
        crate::local_postgres::describe(&database_url)
    );
    println!("open: http://{address}/?token={}", percent_encode(&token));
    std::io::stdout().flush()?;

    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Transient (e.g. out of file descriptors): back off instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let deps = Arc::clone(&deps);
        tokio::spawn(async move {
            let service = service_fn(move |request: Request<Incoming>| {
                let deps = Arc::clone(&deps);
                async move {
                    let response = dashboard(&deps, &request).await;
                    Ok::<_, Infallible>(response.map(|body| Full::new(Bytes::from(body))))
                }
            });
            if let Err(e) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(error = %e, "dashboard connection ended");
            }
        });
    }
}
