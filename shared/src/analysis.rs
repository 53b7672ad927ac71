//! Turning a transcript into an [`Analysis`]: the offline [`rules`] analyzer (and, later, the LLM).

pub mod rules;

use crate::domain::{Analysis, CappedTranscript};

/// What an analyzer produced, with the facts the `"Analytics"` row records about how.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalysisOutcome {
    /// The analysis.
    pub analysis: Analysis,
    /// Which analyzer and version produced it, e.g. `rules-v1` or `openai:gpt-4o-mini`.
    pub analyzer: String,
    /// Version of the prompt (LLM analyzers only).
    pub prompt_version: Option<String>,
    /// Tokens and cost, for analyzers that bill.
    pub usage: Option<Usage>,
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
}

/// The analyzer a function runs, picked by config.
///
/// An enum rather than a `dyn` trait: analyzers are async (the LLM one will be) and async trait
/// methods are not object-safe; an enum keeps dispatch static and the set closed.
#[derive(Debug, Clone)]
pub enum Analyzer {
    /// The deterministic offline analyzer.
    Rules,
}

/// Why an analysis failed.
#[derive(Debug, thiserror::Error)]
pub enum AnalyzeError {}

impl crate::error::Classified for AnalyzeError {
    fn class(&self) -> crate::error::ErrorClass {
        match *self {}
    }

    fn code(&self) -> &'static str {
        match *self {}
    }
}

impl Analyzer {
    /// Name and version recorded in `"Analytics".analyzer`.
    pub fn name(&self) -> &str {
        match self {
            Analyzer::Rules => rules::RULES_ANALYZER_VERSION,
        }
    }

    /// Prompt version recorded in `"Analytics"."promptVersion"` (none for `rules`).
    pub fn prompt_version(&self) -> Option<&str> {
        match self {
            Analyzer::Rules => None,
        }
    }

    /// Analyzes a capped transcript.
    ///
    /// # Errors
    /// [`AnalyzeError`] when the analyzer could not produce an analysis.
    pub async fn analyze(
        &self,
        transcript: &CappedTranscript,
    ) -> Result<AnalysisOutcome, AnalyzeError> {
        match self {
            Analyzer::Rules => Ok(AnalysisOutcome {
                analysis: rules::analyze(transcript),
                analyzer: self.name().to_owned(),
                prompt_version: None,
                usage: None,
            }),
        }
    }
}
