//! The backfill Lambda: on a schedule (or invoked by hand), re-enqueues calls without analytics.

use lambda_runtime::{service_fn, Error};
use postcall::{
    config::{aws_sdk_config, BackfillConfig},
    handlers::backfill::{backfill, BackfillDeps},
};

#[tokio::main]
async fn main() -> Result<(), Error> {
    postcall::logging::init();
    let config = BackfillConfig::from_env()?;
    let aws = aws_sdk_config().await;
    let deps = BackfillDeps::new(config, &aws).await?;
    let deps = &deps;
    lambda_runtime::run(service_fn(move |event| async move {
        backfill(deps, event).await
    }))
    .await
}
