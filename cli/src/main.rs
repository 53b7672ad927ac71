//! `postcall`: the operator CLI. `postcall --help` lists the commands, `postcall <command>
//! --help` each one's options, `postcall completions <shell>` prints a completion script.

mod backfill;
mod bench;
mod dashboard;
mod dataset;
mod demo;
mod eval;
mod local_postgres;
mod soak;
mod stt;
mod table;
mod train;

use anyhow::Context as _;
use clap::{CommandFactory as _, Parser, Subcommand};
use postcall::{adapters::postgres::PgStore, config::DatabaseConfig};

/// Post-call analytics for voice agents: the operator's commands.
#[derive(Debug, Parser)]
#[command(name = "postcall", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum RollupAction {
    /// Recompute it from "Analytics" and "Call" (after a TRUNCATE, or a bulk load with triggers
    /// disabled); writers wait meanwhile.
    Rebuild,
    /// List the buckets that differ from the base tables; exits 1 when any does.
    Check,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Load the bundled sample calls into Postgres, analyze them through the analyzer handler in
    /// SQS batches of 10 and print the dashboard queries.
    ///
    /// Default database: DATABASE_URL, else postgres://postgres@127.0.0.1:5432/postcall_demo
    /// (created if missing; a throwaway cluster is started when no server answers and initdb is
    /// installed). --analyzer llm without LLM_BASE_URL or a key uses a local OpenAI-compatible
    /// server.
    Demo {
        /// rules (offline) or llm.
        #[arg(long, value_name = "rules|llm")]
        analyzer: Option<String>,
        /// Postgres URL (else DATABASE_URL, else the local demo database).
        #[arg(long, value_name = "URL")]
        database_url: Option<String>,
    },
    /// Score the analyzer against labelled calls (docs/labelling.md).
    ///
    /// Prints sentiment and lead-score MAE, intent accuracy with a confusion matrix, hot-lead
    /// precision/recall/F1 (label and prediction under one policy), name and email
    /// precision/recall/F1 with the false-positive rate, topic F1, call metrics and the worst
    /// calls per metric.
    Eval {
        /// The labelled calls.
        #[arg(long, value_name = "FILE.jsonl")]
        data: String,
        /// rules (offline) or llm.
        #[arg(long, value_name = "rules|llm")]
        analyzer: Option<String>,
        /// Turn every call into raw speech-to-text output first (lower case, no punctuation,
        /// numbers, emails and spellings spoken).
        #[arg(long)]
        stt: bool,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
        /// Fail when a threshold is missed (the set's gate in quality-gates.json beside it, else
        /// issue #16's targets).
        #[arg(long)]
        check: bool,
        /// How many worst calls to list per metric.
        #[arg(long, value_name = "N", default_value_t = eval::DEFAULT_WORST)]
        worst: usize,
        /// Print why one call got its numbers.
        #[arg(long, value_name = "ID")]
        explain: Option<String>,
        /// Write each call's prediction beside its label.
        #[arg(long, value_name = "OUT.jsonl")]
        predictions: Option<String>,
    },
    /// Fit the rules analyzer's models (intent, sentiment, lead band, hot lead) on labelled calls.
    ///
    /// Each call is also taken through the speech-to-text transform unless --no-stt;
    /// cross-validated with whole verticals held out; prints the held-out figures and writes the
    /// model the analyzer compiles in. Build with --release. Never pass the blind set.
    Train {
        /// Labelled calls; repeat for more sets.
        #[arg(long, value_name = "FILE.jsonl", required = true)]
        data: Vec<String>,
        /// Where the model goes.
        #[arg(
            long,
            value_name = "PATH",
            default_value = "shared/src/analysis/rules/model.tsv"
        )]
        out: String,
        /// Cross-validation folds (whole verticals each).
        #[arg(long, value_name = "N", default_value_t = 5)]
        folds: usize,
        /// Do not add the speech-to-text copy of each call.
        #[arg(long)]
        no_stt: bool,
        /// A small grid, for a smoke run.
        #[arg(long, hide = true)]
        quick: bool,
        /// Write each call's held-out prediction beside its label.
        #[arg(long, value_name = "OUT.jsonl")]
        predictions: Option<String>,
    },
    /// Apply migrations/ to the database.
    Migrate {
        /// Postgres URL (else DATABASE_URL).
        #[arg(long, value_name = "URL")]
        database_url: Option<String>,
    },
    /// The sentiment rollup the dashboard's trend reads (migration 0007).
    Rollup {
        #[command(subcommand)]
        action: RollupAction,
        /// Postgres URL (else DATABASE_URL).
        #[arg(long, value_name = "URL", global = true)]
        database_url: Option<String>,
    },
    /// Serve the dashboard on 127.0.0.1 (DASHBOARD_TOKEN, 16+ characters, is required).
    ///
    /// Top leads, sentiment trend per agent and each call's transcript, from DATABASE_URL, else
    /// the demo database. Prints the link to open, which trades the token for a session cookie.
    Dashboard {
        /// Port on 127.0.0.1.
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// Postgres URL (else DATABASE_URL, else the demo database).
        #[arg(long, value_name = "URL")]
        database_url: Option<String>,
    },
    /// Enqueue calls without analytics to ANALYZER_QUEUE_URL, as the scheduled function does.
    ///
    /// Selects calls older than BACKFILL_GRACE and newer than BACKFILL_LOOKBACK.
    Backfill {
        /// Only count and list what would be enqueued.
        #[arg(long)]
        dry_run: bool,
        /// Calls that ended at or after this RFC 3339 time.
        #[arg(long, value_name = "TIME", value_parser = rfc3339)]
        since: Option<chrono::DateTime<chrono::Utc>>,
        /// Calls that ended before this RFC 3339 time.
        #[arg(long, value_name = "TIME", value_parser = rfc3339)]
        until: Option<chrono::DateTime<chrono::Utc>>,
        /// At most this many calls.
        #[arg(long, value_name = "N")]
        limit: Option<usize>,
        /// One agent's calls only.
        #[arg(long, value_name = "ID")]
        agent_id: Option<String>,
        /// Also calls whose row another analyzer or prompt version made.
        #[arg(long)]
        reanalyze: bool,
        /// Go on from a previous run's next_cursor.
        #[arg(long, value_name = "CURSOR")]
        cursor: Option<String>,
        /// Postgres URL (else DATABASE_URL).
        #[arg(long, value_name = "URL")]
        database_url: Option<String>,
    },
    /// Drain call.completed from NATS JetStream (NATS_URL, NATS_STREAM, …) into
    /// ANALYZER_QUEUE_URL once.
    Bridge {
        /// Keep draining (for a container).
        #[arg(long)]
        serve: bool,
    },
    /// Measure speed, memory, queries and cost (docs/benchmarks.md); nothing is asserted.
    ///
    /// The rules analyzer, the analyzer handler (1 000 calls, simulated LLM latency 0 and 300
    /// ms, concurrency 10 and 50), cold start and peak RSS, backfill and bridge throughput and
    /// the dashboard queries at 1 M calls, on the local Postgres (database postcall_bench), NATS
    /// and OpenAI-compatible server. Build with --release for real numbers.
    Bench {
        /// A small smoke run.
        #[arg(long)]
        quick: bool,
        /// Also write the figures as JSON to this file.
        #[arg(long, value_name = "FILE")]
        json: Option<String>,
        /// Postgres URL (else DATABASE_URL, else database postcall_bench on 127.0.0.1).
        #[arg(long, value_name = "URL")]
        database_url: Option<String>,
        /// The analyzer binary for the cold-start section.
        #[arg(long, value_name = "PATH")]
        binary: Option<String>,
        /// Run one section only.
        #[arg(long, value_name = "SECTION")]
        only: Option<String>,
        /// Calls in the dashboard-queries data set (default 1 000 000; 20 000 with --quick),
        /// e.g. 10000000 for the 10 M figures.
        #[arg(long, value_name = "N")]
        dashboard_calls: Option<i32>,
    },
    /// Push calls through the whole local pipeline while injecting faults at every boundary,
    /// and report what became of each (docs/reliability.md).
    ///
    /// NATS JetStream → bridge → SQS → analyzer (LLM against the local mock) → SNS → notifier →
    /// Slack mock, on the local Postgres, NATS and the AWS emulator (AWS_ENDPOINT_URL). Fails
    /// on a lost call or a hot call not posted to Slack exactly once.
    Soak {
        /// 150 calls instead of 1 000 (CI).
        #[arg(long)]
        quick: bool,
        /// Postgres URL (else DATABASE_URL, else database postcall_bench on 127.0.0.1).
        #[arg(long, value_name = "URL")]
        database_url: Option<String>,
        /// Also write the report as JSON to this file.
        #[arg(long, value_name = "FILE")]
        json: Option<String>,
    },
    /// Serve OpenAI Chat Completions on 127.0.0.1 with answers from the offline analyzer.
    ///
    /// The faults repeat in order: ok, 429:SECS, 500, timeout, slow:MS, malformed, garbage,
    /// out-of-range, unknown-intent, refusal, length, 401, 400. Point LLM_BASE_URL at the URL it
    /// prints.
    MockLlm {
        /// Port on 127.0.0.1.
        #[arg(long, default_value_t = 8089)]
        port: u16,
        /// Added to every answer.
        #[arg(long, value_name = "MS", default_value_t = 0)]
        latency_ms: u64,
        /// Comma-separated faults, repeated in order.
        #[arg(long, value_name = "LIST", default_value = "")]
        faults: String,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

fn rfc3339(value: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    chrono::DateTime::parse_from_rfc3339(value)
        .map(|d| d.with_timezone(&chrono::Utc))
        .map_err(|_| "expected an RFC 3339 time, e.g. 2026-11-20T00:00:00Z".to_owned())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Logs go to stderr (warnings and up unless RUST_LOG says otherwise): stdout is for results.
    // The bench times the analyzer's `record` spans whatever the log level, so the level
    // filters the log output only.
    use lambda_runtime::tracing::subscriber::{
        filter::filter_fn, layer::SubscriberExt as _, util::SubscriberInitExt as _, EnvFilter,
        Layer as _,
    };
    lambda_runtime::tracing::subscriber::registry()
        .with(
            lambda_runtime::tracing::subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_target(false)
                .with_filter(
                    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")),
                ),
        )
        .with(
            bench::RecordTimer
                .with_filter(filter_fn(|meta| meta.is_span() && meta.name() == "record")),
        )
        .init();
    match Cli::parse().command {
        Command::Demo {
            analyzer,
            database_url,
        } => {
            demo::run(demo::DemoOptions {
                analyzer,
                database_url,
            })
            .await
        }
        Command::Eval {
            data,
            analyzer,
            stt,
            json,
            check,
            worst,
            explain,
            predictions,
        } => {
            eval::run(eval::EvalOptions {
                data,
                analyzer,
                json,
                check,
                worst,
                explain,
                stt,
                predictions,
            })
            .await
        }
        Command::Train {
            data,
            out,
            folds,
            no_stt,
            quick,
            predictions,
        } => train::run(train::TrainOptions {
            data,
            out,
            predictions,
            folds,
            stt: !no_stt,
            quick,
        }),
        Command::Migrate { database_url } => {
            let url = database_url
                .or_else(|| std::env::var("DATABASE_URL").ok())
                .context("DATABASE_URL is not set (or pass --database-url)")?;
            let applied = PgStore::new(DatabaseConfig::from_url(&url), None)
                .migrate()
                .await?;
            if applied.is_empty() {
                println!("migrations: up to date");
            } else {
                println!("migrations: applied {applied:?}");
            }
            Ok(())
        }
        Command::Rollup {
            action,
            database_url,
        } => {
            let url = database_url
                .or_else(|| std::env::var("DATABASE_URL").ok())
                .context("DATABASE_URL is not set (or pass --database-url)")?;
            let store = PgStore::new(DatabaseConfig::from_url(&url), None);
            match action {
                RollupAction::Rebuild => {
                    let started = std::time::Instant::now();
                    let buckets = store.rebuild_sentiment_rollup().await?;
                    println!(
                        "sentiment rollup: rebuilt, {buckets} buckets, {:.1} s",
                        started.elapsed().as_secs_f64()
                    );
                }
                RollupAction::Check => {
                    let differences = store.sentiment_rollup_differences().await?;
                    for (agent, hour, stored, base) in &differences {
                        println!("{agent:?} {hour}: stored {stored}, from the base tables {base}");
                    }
                    if !differences.is_empty() {
                        anyhow::bail!(
                            "sentiment rollup: {} buckets differ from the base tables; run `postcall rollup rebuild`",
                            differences.len()
                        );
                    }
                    println!("sentiment rollup: equal to the base tables");
                }
            }
            Ok(())
        }
        Command::Dashboard { port, database_url } => {
            dashboard::run(dashboard::DashboardOptions { port, database_url }).await
        }
        Command::Backfill {
            dry_run,
            since,
            until,
            limit,
            agent_id,
            reanalyze,
            cursor,
            database_url,
        } => {
            let request = postcall::handlers::backfill::BackfillRequest {
                since,
                until,
                limit,
                agent_id,
                reanalyze,
                dry_run,
                cursor,
            };
            backfill::run(database_url, request).await
        }
        Command::Bridge { serve } => {
            let config =
                postcall::config::BridgeConfig::from_env().context("bridge configuration")?;
            let aws = postcall::config::aws_sdk_config().await;
            let deps = postcall::handlers::bridge::BridgeDeps::new(config, &aws);
            loop {
                let report = postcall::handlers::bridge::drain(
                    &deps.source,
                    &deps.queue,
                    deps.dead_letters.as_ref(),
                    &deps.config,
                    None,
                )
                .await;
                match &report {
                    Ok(report) => println!("{}", serde_json::to_string(report)?),
                    Err(e) => eprintln!("bridge run failed: {e}"),
                }
                if !serve {
                    return report.map(|_| ()).map_err(Into::into);
                }
                // A drain returns when the stream is empty or SQS fails: pause, then go on.
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
        }
        Command::Bench {
            quick,
            json,
            database_url,
            binary,
            only,
            dashboard_calls,
        } => {
            bench::run(bench::BenchOptions {
                quick,
                json,
                database_url,
                binary,
                only,
                dashboard_calls,
            })
            .await
        }
        Command::Soak {
            quick,
            database_url,
            json,
        } => {
            soak::run(soak::SoakOptions {
                quick,
                database_url,
                json,
            })
            .await
        }
        Command::MockLlm {
            port,
            latency_ms,
            faults,
        } => {
            let cycle = faults
                .split(',')
                .map(str::trim)
                .filter(|f| !f.is_empty())
                .map(|f| {
                    f.parse::<postcall_testkit::Fault>()
                        .map_err(anyhow::Error::msg)
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let options = postcall_testkit::MockLlmOptions {
                port,
                latency: std::time::Duration::from_millis(latency_ms),
                cycle,
            };
            let server = postcall_testkit::MockLlm::start(options)
                .await
                .context("start the mock llm")?;
            println!("mock llm listening: LLM_BASE_URL={}", server.base_url());
            server.wait().await;
            Ok(())
        }
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "postcall",
                &mut std::io::stdout(),
            );
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
