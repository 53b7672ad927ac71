//! The bridge Lambda: on a schedule, drains `call.completed` from NATS JetStream into SQS.

use lambda_runtime::{service_fn, Error};
use postcall::{
    config::{aws_sdk_config, BridgeConfig},
    handlers::bridge::{bridge, BridgeDeps},
};

#[tokio::main]
async fn main() -> Result<(), Error> {
    postcall::logging::init();
    let config = BridgeConfig::from_env()?;
    let aws = aws_sdk_config().await;
    let deps = BridgeDeps::new(config, &aws);
    let deps = &deps;
    lambda_runtime::run(service_fn(
        move |event| async move { bridge(deps, event).await },
    ))
    .await
}
