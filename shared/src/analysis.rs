//! Turning a transcript into an [`Analysis`]: the offline [`rules`] analyzer and the [`llm`] one.

pub mod llm;
pub mod rules;
pub mod spoken;
pub mod tokens;

use tokio::time::Instant;
use tracing::warn;

use crate::{
    adapters::{
        llm::{ChatCompletions, LlmError},
        secrets::SecretsStore,
    },
    config::AnalyzerKind,
    domain::{Analysis, Transcript},
    error::{Classified, ErrorClass},
};

/// What an analyzer produced, with the facts the `"Analytics"` row records about how.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalysisOutcome {
    /// The analysis.
    pub analysis: Analysis,
    /// Which analyzer and version produced it, e.g. `rules-v3` or `openai:gpt-4o-mini`.
    pub analyzer: String,
    /// Version of the prompt (LLM analyzers, and rules when it stood in for the LLM).
    pub prompt_version: Option<String>,
    /// Tokens and cost, for analyzers that bill.
    pub usage: Option<Usage>,
    /// Whether the transcript analyzed was cut to its head and tail.
    pub truncated: bool,
}

/// Tokens and cost of one billed analysis.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Usage {
    /// Prompt tokens.
    pub input_tokens: u32,
    /// Completion tokens.
    pub output_tokens: u32,
    /// What the call cost, in US dollars.
    pub cost_usd: f64,
    /// The provider did not report these tokens: postcall counted them with the tokenizer, so
    /// they and the cost are estimates.
    pub counted_locally: bool,
}

/// The analyzer a function runs, picked by config.
///
/// An enum rather than a `dyn` trait: analyzers are async and async trait methods are not
/// object-safe; an enum keeps dispatch static and the set closed.
#[derive(Debug)]
pub enum Analyzer {
    /// The deterministic offline analyzer.
    Rules,
    /// An OpenAI-compatible model.
    Llm {
        /// The client and settings.
        llm: Box<llm::LlmAnalyzer>,
        /// `provider:model`, stored in `"Analytics".analyzer`.
        name: String,
        /// On a permanent LLM failure, analyze with `rules` instead (`ANALYZER_FALLBACK=rules`).
        fallback_to_rules: bool,
    },
}

/// Why an analysis failed.
#[derive(Debug, thiserror::Error)]
pub enum AnalyzeError {
    /// The LLM analyzer gave up.
    #[error(transparent)]
    Llm(#[from] llm::LlmAnalyzeError),
}

impl Classified for AnalyzeError {
    fn class(&self) -> ErrorClass {
        match self {
            AnalyzeError::Llm(e) => e.class(),
        }
    }

    fn code(&self) -> &'static str {
        match self {
            AnalyzeError::Llm(e) => e.code(),
        }
    }
}

impl Analyzer {
    /// The analyzer `ANALYZER` (and the `LLM_*` settings) pick; `secrets` fetches the LLM key
    /// when it is given by ARN.
    ///
    /// # Errors
    /// [`LlmError`] when the HTTP client cannot be built.
    pub fn from_config(
        kind: &AnalyzerKind,
        secrets: Option<SecretsStore>,
    ) -> Result<Self, LlmError> {
        Ok(match kind {
            AnalyzerKind::Rules => Analyzer::Rules,
            AnalyzerKind::Llm(config) => {
                let client = ChatCompletions::new(
                    &config.base_url,
                    config.style,
                    config.api_version.as_deref(),
                    config.key.clone(),
                    secrets,
                    config.connect_timeout,
                )?;
                Analyzer::Llm {
                    llm: Box::new(llm::LlmAnalyzer::new(client, config.settings.clone())),
                    name: config.analyzer_name(),
                    fallback_to_rules: config.fallback_to_rules,
                }
            }
        })
    }

    /// Name and version recorded in `"Analytics".analyzer`.
    pub fn name(&self) -> &str {
        match self {
            Analyzer::Rules => rules::RULES_ANALYZER_VERSION,
            Analyzer::Llm { name, .. } => name,
        }
    }

    /// Prompt version recorded in `"Analytics"."promptVersion"` (none for `rules`).
    pub fn prompt_version(&self) -> Option<&str> {
        match self {
            Analyzer::Rules => None,
            Analyzer::Llm { llm, .. } => Some(&llm.settings().prompt_version),
        }
    }

    /// Whether a stored analysis of the same transcript, made by `analyzer` with
    /// `prompt_version`, is what this analyzer would produce now: then it is reused, and
    /// nothing is analyzed (or billed) again. A `rules` row that stood in for the current LLM
    /// and prompt counts too: redelivering it would bill the same failure again.
    pub fn accepts_stored(&self, analyzer: &str, prompt_version: Option<&str>) -> bool {
        match self {
            Analyzer::Rules => analyzer == rules::RULES_ANALYZER_VERSION,
            Analyzer::Llm {
                name,
                fallback_to_rules,
                ..
            } => {
                prompt_version == self.prompt_version()
                    && (analyzer == name
                        || (*fallback_to_rules && analyzer == rules::RULES_ANALYZER_VERSION))
            }
        }
    }

    /// Analyzes a transcript, capped at `max_chars` characters (head and tail kept).
    /// `deadline` bounds retries; `None` means no invocation deadline (CLI, tests).
    ///
    /// # Errors
    /// [`AnalyzeError`] when the analyzer could not produce an analysis.
    pub async fn analyze(
        &self,
        transcript: &Transcript,
        max_chars: usize,
        deadline: Option<Instant>,
    ) -> Result<AnalysisOutcome, AnalyzeError> {
        match self {
            Analyzer::Rules => Ok(analyze_with_rules(transcript, max_chars, None, None)),
            Analyzer::Llm {
                llm,
                name,
                fallback_to_rules,
            } => match llm.analyze(transcript, max_chars, deadline).await {
                Ok(result) => Ok(AnalysisOutcome {
                    analysis: result.analysis,
                    analyzer: name.clone(),
                    prompt_version: Some(llm.settings().prompt_version.clone()),
                    usage: Some(usage(llm.settings().prices, result.usage)),
                    truncated: result.truncated,
                }),
                Err(error) if *fallback_to_rules && error.class() == ErrorClass::Permanent => {
                    warn!(error = %error, error_code = error.code(), "llm analysis failed permanently; using the rules analyzer instead");
                    let billed = match &error {
                        llm::LlmAnalyzeError::Reply { usage: billed, .. } => {
                            Some(usage(llm.settings().prices, *billed))
                        }
                        llm::LlmAnalyzeError::Request(_)
                        | llm::LlmAnalyzeError::Deadline { .. } => None,
                    };
                    Ok(analyze_with_rules(
                        transcript,
                        max_chars,
                        Some(llm.settings().prompt_version.clone()),
                        billed,
                    ))
                }
                Err(error) => Err(error.into()),
            },
        }
    }
}

fn analyze_with_rules(
    transcript: &Transcript,
    max_chars: usize,
    prompt_version: Option<String>,
    usage: Option<Usage>,
) -> AnalysisOutcome {
    let capped = transcript.capped(max_chars);
    AnalysisOutcome {
        analysis: rules::analyze(&capped),
        analyzer: rules::RULES_ANALYZER_VERSION.to_owned(),
        prompt_version,
        usage,
        truncated: capped.is_truncated(),
    }
}

fn usage(prices: llm::Prices, tokens: llm::TokenUsage) -> Usage {
    Usage {
        input_tokens: tokens.input_tokens,
        output_tokens: tokens.output_tokens,
        cost_usd: prices.cost_usd(tokens),
        counted_locally: tokens.counted_locally,
    }
}
