//! The analyzer Lambda: SQS `call.completed` batches in, `"Analytics"` rows out.

use lambda_runtime::{service_fn, Error};
use postcall::{
    config::{aws_sdk_config, AnalyzerConfig},
    handlers::analyze_batch::{analyze_batch, AnalyzerDeps},
};

#[tokio::main]
async fn main() -> Result<(), Error> {
    postcall::logging::init();
    let config = AnalyzerConfig::from_env()?;
    let aws = aws_sdk_config().await;
    let deps = AnalyzerDeps::new(config, &aws).await?;
    let deps = &deps;
    lambda_runtime::run(service_fn(move |event| async move {
        analyze_batch(deps, event).await
    }))
    .await
}
