//! [`Intent`]: why the caller called.

use std::{fmt, str::FromStr};

/// One of the five intents the dashboard knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Intent {
    /// Wants information (hours, prices, availability) with no commitment.
    Info,
    /// Wants to book, reschedule or cancel an appointment.
    Booking,
    /// Is unhappy with something that already happened.
    Complaint,
    /// Wants to buy, or is weighing a purchase.
    Sales,
    /// Needs help with something they already have.
    Support,
}

/// The text is not one of the five intents.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown intent {0:?}: expected info, booking, complaint, sales or support")]
pub struct IntentError(pub String);

impl Intent {
    /// All intents, in a fixed order.
    pub const ALL: [Intent; 5] = [
        Intent::Info,
        Intent::Booking,
        Intent::Complaint,
        Intent::Sales,
        Intent::Support,
    ];

    /// The wire and database name.
    pub fn as_str(self) -> &'static str {
        match self {
            Intent::Info => "info",
            Intent::Booking => "booking",
            Intent::Complaint => "complaint",
            Intent::Sales => "sales",
            Intent::Support => "support",
        }
    }
}

impl FromStr for Intent {
    type Err = IntentError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let lowered = raw.trim().to_ascii_lowercase();
        Intent::ALL
            .into_iter()
            .find(|intent| intent.as_str() == lowered)
            .ok_or_else(|| IntentError(raw.to_owned()))
    }
}

impl fmt::Display for Intent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_case_insensitively_and_round_trips() {
        for intent in Intent::ALL {
            assert_eq!(intent.as_str().parse::<Intent>().unwrap(), intent);
            assert_eq!(
                intent.as_str().to_uppercase().parse::<Intent>().unwrap(),
                intent
            );
        }
        assert_eq!(" Sales ".parse::<Intent>().unwrap(), Intent::Sales);
    }

    #[test]
    fn rejects_unknown_intents() {
        assert!("purchase".parse::<Intent>().is_err());
        assert!("".parse::<Intent>().is_err());
    }
}
