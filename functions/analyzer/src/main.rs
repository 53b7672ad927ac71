//! The analyzer Lambda: SQS `call.completed` batches in, `"Analytics"` rows out.

use lambda_runtime::{service_fn, Error};
use postcall::{
    config::{aws_sdk_config, AnalyzerConfig},
    handlers::analyze_batch::{analyze_batch, AnalyzerDeps},
};

// One thread: a container gets a fraction of a vCPU at the default 256 MB (a whole one only at
// 1 769 MB) and handles one batch at a time, whose work is waiting on Postgres and the LLM. On
// a multi-threaded runtime every reply crossed threads (the HTTP and Postgres connections' tasks
// on workers, the batch on the main thread) and paid a wake-up each time; docs/benchmarks.md,
// section 1, has the figures. The analysis and the call metrics run on the batch's one task
// either way.
#[tokio::main(flavor = "current_thread")]
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
