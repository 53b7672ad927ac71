//! The dashboard Lambda: a Function URL in, a page or a JSON answer out (see
//! `postcall::handlers::dashboard`).

use lambda_http::{service_fn, Body, Error, Request};
use postcall::{
    config::{aws_sdk_config, DashboardConfig},
    handlers::dashboard::{dashboard, DashboardDeps},
};

#[tokio::main]
async fn main() -> Result<(), Error> {
    postcall::logging::init();
    let config = DashboardConfig::from_env()?;
    let aws = aws_sdk_config().await;
    let deps = DashboardDeps::new(config, &aws);
    let deps = &deps;
    lambda_http::run(service_fn(move |request: Request| async move {
        Ok::<_, Error>(dashboard(deps, &request).await.map(Body::from))
    }))
    .await
}
