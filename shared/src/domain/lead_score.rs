//! [`LeadScore`]: how likely the caller is to buy, 0…100.

use std::fmt;

/// An integer in 0..=100.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct LeadScore(u8);

/// Why a number is not a [`LeadScore`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("lead score {0} is outside 0..=100")]
pub struct LeadScoreError(pub i64);

impl LeadScore {
    /// Parses a value that must already be in range.
    ///
    /// # Errors
    /// [`LeadScoreError`] when the value is below 0 or above 100.
    pub fn parse(value: i64) -> Result<Self, LeadScoreError> {
        u8::try_from(value)
            .ok()
            .filter(|v| *v <= 100)
            .map(Self)
            .ok_or(LeadScoreError(value))
    }

    /// Clamps any value into range.
    pub fn clamped(value: i64) -> Self {
        // The clamp makes the cast lossless.
        Self(value.clamp(0, 100) as u8)
    }

    /// The value.
    pub fn get(self) -> u8 {
        self.0
    }
}

impl fmt::Display for LeadScore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl<'de> serde::Deserialize<'de> for LeadScore {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Self::parse(i64::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parse_accepts_0_to_100_only() {
        assert_eq!(LeadScore::parse(0).unwrap().get(), 0);
        assert_eq!(LeadScore::parse(100).unwrap().get(), 100);
        assert_eq!(LeadScore::parse(101), Err(LeadScoreError(101)));
        assert_eq!(LeadScore::parse(-1), Err(LeadScoreError(-1)));
        assert_eq!(LeadScore::parse(356), Err(LeadScoreError(356)));
    }

    proptest! {
        #[test]
        fn clamped_is_always_in_range(value in any::<i64>()) {
            prop_assert!(LeadScore::clamped(value).get() <= 100);
        }
    }
}
