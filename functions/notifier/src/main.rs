//! The notifier Lambda: SNS hot-lead messages in, Slack posts out.

use lambda_runtime::{service_fn, Error};
use postcall::{
    config::{aws_sdk_config, NotifierConfig},
    handlers::notify::{notify, NotifierDeps},
};

#[tokio::main]
async fn main() -> Result<(), Error> {
    postcall::logging::init();
    let config = NotifierConfig::from_env()?;
    let aws = aws_sdk_config().await;
    let deps = NotifierDeps::new(config, &aws).await?;
    let deps = &deps;
    lambda_runtime::run(service_fn(
        move |event| async move { notify(deps, event).await },
    ))
    .await
}
