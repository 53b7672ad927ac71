//! The domain core: types that cannot hold bad values, parsed once at the edge.
//!
//! Nothing in here does I/O, reads the environment, looks at the clock or rolls dice.

pub mod analysis;
pub mod call_completed;
pub mod call_id;
pub mod call_metrics;
pub mod entities;
pub mod hot_lead;
pub mod intent;
pub mod lead_score;
pub mod sentiment;
pub mod summary;
pub mod transcript;
pub mod turn;

pub use analysis::Analysis;
pub use call_completed::{CallCompleted, CallCompletedError};
pub use call_id::{CallId, CallIdError};
pub use call_metrics::{call_metrics, CallMetrics, Latency, Overlaps, RoleMetrics};
pub use entities::Entities;
pub use hot_lead::{HotLead, HotLeadPolicy};
pub use intent::{Intent, IntentError};
pub use lead_score::{LeadScore, LeadScoreError};
pub use sentiment::{Sentiment, SentimentError};
pub use summary::Summary;
pub use transcript::{CappedTranscript, Transcript};
pub use turn::{Role, Turn};
