//! [`Summary`]: at most 240 characters about the call.

use std::fmt;

/// Longest summary, in characters (not bytes).
pub const SUMMARY_MAX_CHARS: usize = 240;

/// Text of at most [`SUMMARY_MAX_CHARS`] characters, cut at a word boundary when too long.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct Summary(String);

impl Summary {
    /// Builds a summary, collapsing white space and cutting to the limit. A cut text ends in
    /// `…` and, when a space falls in its last 40 characters, is cut at that space.
    pub fn new(text: &str) -> Self {
        let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
        Self(truncate_at_word(&collapsed, SUMMARY_MAX_CHARS))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Cuts `text` to at most `max_chars` characters (ellipsis included), preferring a word boundary.
pub fn truncate_at_word(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_owned();
    }
    let keep = max_chars.saturating_sub(1);
    let head: String = text.chars().take(keep).collect();
    let cut = match head.rfind(' ') {
        Some(space) if head[space..].chars().count() <= 40 => head[..space].trim_end().to_owned(),
        _ => head,
    };
    format!("{cut}…")
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Summary {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Self::new(&String::deserialize(deserializer)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn short_text_is_kept_with_white_space_collapsed() {
        assert_eq!(
            Summary::new("  caller   wants\na quote ").as_str(),
            "caller wants a quote"
        );
    }

    #[test]
    fn long_text_is_cut_at_a_word_with_an_ellipsis() {
        let s = Summary::new(&"word ".repeat(100));
        assert!(s.as_str().chars().count() <= SUMMARY_MAX_CHARS);
        assert!(s.as_str().ends_with("word…"));
    }

    #[test]
    fn multibyte_text_is_cut_on_a_char_boundary() {
        let s = Summary::new(&"ü😀".repeat(300));
        assert_eq!(s.as_str().chars().count(), SUMMARY_MAX_CHARS);
    }

    proptest! {
        #[test]
        fn never_longer_than_the_limit(text in "\\PC{0,600}") {
            prop_assert!(Summary::new(&text).as_str().chars().count() <= SUMMARY_MAX_CHARS);
        }
    }
}
