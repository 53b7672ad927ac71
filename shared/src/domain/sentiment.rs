//! [`Sentiment`]: the caller's mood, −1.0 (furious) … 1.0 (delighted).

use std::fmt;

/// A finite number in −1.0..=1.0.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, serde::Serialize)]
#[serde(transparent)]
pub struct Sentiment(f64);

/// Why a number is not a [`Sentiment`].
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum SentimentError {
    /// NaN or infinite.
    #[error("sentiment is not a finite number")]
    NotFinite,
    /// Outside −1.0..=1.0.
    #[error("sentiment {0} is outside -1.0..=1.0")]
    OutOfRange(f64),
}

impl Sentiment {
    /// Neutral mood.
    pub const NEUTRAL: Self = Self(0.0);

    /// Parses a value that must already be in range.
    ///
    /// # Errors
    /// [`SentimentError`] when the value is not finite or out of range.
    pub fn parse(value: f64) -> Result<Self, SentimentError> {
        if !value.is_finite() {
            return Err(SentimentError::NotFinite);
        }
        if !(-1.0..=1.0).contains(&value) {
            return Err(SentimentError::OutOfRange(value));
        }
        Ok(Self(value))
    }

    /// Clamps any finite value into range; NaN becomes neutral. Rounds to 3 decimals so that
    /// stored values are stable across runs and platforms.
    pub fn clamped(value: f64) -> Self {
        if value.is_nan() {
            return Self::NEUTRAL;
        }
        let clamped = value.clamp(-1.0, 1.0);
        Self((clamped * 1000.0).round() / 1000.0)
    }

    /// The value.
    pub fn get(self) -> f64 {
        self.0
    }
}

impl fmt::Display for Sentiment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.2}", self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Sentiment {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Self::parse(f64::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parse_accepts_the_closed_range_only() {
        assert_eq!(Sentiment::parse(-1.0).unwrap().get(), -1.0);
        assert_eq!(Sentiment::parse(1.0).unwrap().get(), 1.0);
        assert_eq!(
            Sentiment::parse(1.01),
            Err(SentimentError::OutOfRange(1.01))
        );
        assert_eq!(Sentiment::parse(f64::NAN), Err(SentimentError::NotFinite));
    }

    #[test]
    fn clamped_maps_nan_to_neutral_and_infinities_to_bounds() {
        assert_eq!(Sentiment::clamped(f64::NAN), Sentiment::NEUTRAL);
        assert_eq!(Sentiment::clamped(f64::INFINITY).get(), 1.0);
        assert_eq!(Sentiment::clamped(-7.0).get(), -1.0);
        assert_eq!(Sentiment::clamped(0.12345).get(), 0.123);
    }

    proptest! {
        #[test]
        fn clamped_is_always_in_range(value in proptest::num::f64::ANY) {
            let s = Sentiment::clamped(value).get();
            prop_assert!((-1.0..=1.0).contains(&s));
        }
    }
}
