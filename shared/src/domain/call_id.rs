//! [`CallId`]: the voice bridge's identifier of one call.

use std::fmt;

/// Longest call id we accept, in bytes. Real bridges use UUIDs or provider ids (≤ 64 bytes);
/// anything much longer is a malformed message, not a call.
pub const CALL_ID_MAX_BYTES: usize = 128;

/// A non-empty, bounded call id without control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallId(String);

/// Why a string is not a [`CallId`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallIdError {
    /// The id is empty or only white space.
    #[error("call id is empty")]
    Empty,
    /// The id is longer than [`CALL_ID_MAX_BYTES`].
    #[error("call id is {0} bytes, more than the {CALL_ID_MAX_BYTES} allowed")]
    TooLong(usize),
    /// The id holds a control character (a newline, a NUL…).
    #[error("call id contains a control character")]
    ControlCharacter,
}

impl CallId {
    /// Parses a call id, trimming surrounding white space.
    ///
    /// # Errors
    /// [`CallIdError`] when the id is empty, too long or holds control characters.
    pub fn parse(raw: &str) -> Result<Self, CallIdError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(CallIdError::Empty);
        }
        if trimmed.len() > CALL_ID_MAX_BYTES {
            return Err(CallIdError::TooLong(trimmed.len()));
        }
        if trimmed.chars().any(char::is_control) {
            return Err(CallIdError::ControlCharacter);
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl serde::Serialize for CallId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for CallId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_uuids_and_provider_ids_and_trims() {
        for raw in [
            "3f2b8c1e-4a5d-4f6e-9a7b-1c2d3e4f5a6b",
            "CA1234567890abcdef",
            "  call-42 ",
            "42",
        ] {
            assert_eq!(CallId::parse(raw).unwrap().as_str(), raw.trim());
        }
    }

    #[test]
    fn rejects_empty_long_and_control_characters() {
        assert_eq!(CallId::parse("   "), Err(CallIdError::Empty));
        assert_eq!(
            CallId::parse(&"x".repeat(129)),
            Err(CallIdError::TooLong(129))
        );
        assert_eq!(CallId::parse("a\nb"), Err(CallIdError::ControlCharacter));
    }

    proptest! {
        #[test]
        fn parsed_ids_are_never_empty_nor_over_the_bound(raw in "\\PC{0,200}") {
            if let Ok(id) = CallId::parse(&raw) {
                prop_assert!(!id.as_str().is_empty());
                prop_assert!(id.as_str().len() <= CALL_ID_MAX_BYTES);
                prop_assert!(!id.as_str().chars().any(char::is_control));
            }
        }
    }
}
