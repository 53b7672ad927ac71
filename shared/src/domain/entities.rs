//! [`Entities`]: what the caller said about themselves.

/// The caller's own name, email and the call's topic; `None` when not given.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Entities {
    /// The caller's name as they gave it (after any correction).
    pub name: Option<String>,
    /// The caller's email, lowercased.
    pub email: Option<String>,
    /// A short noun phrase for what the call was about.
    pub topic: Option<String>,
}

/// Longest entity value we store, in characters.
pub const ENTITY_MAX_CHARS: usize = 120;

impl Entities {
    /// Trims every field, drops empty ones, lowercases the email and bounds the lengths.
    pub fn normalized(self) -> Self {
        fn clean(value: Option<String>) -> Option<String> {
            value
                .map(|v| v.trim().chars().take(ENTITY_MAX_CHARS).collect::<String>())
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty() && !v.eq_ignore_ascii_case("null"))
        }
        Self {
            name: clean(self.name),
            email: clean(self.email)
                .map(|e| e.to_lowercase())
                .filter(|e| is_plausible_email(e)),
            topic: clean(self.topic),
        }
    }
}

/// A cheap shape check: one `@`, something before it, a dotted domain after it, no spaces.
pub fn is_plausible_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.chars().any(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalized_trims_lowercases_and_drops_junk() {
        let e = Entities {
            name: Some("  Zoë Müller ".into()),
            email: Some(" Zoe.Mueller@Example.COM ".into()),
            topic: Some("   ".into()),
        }
        .normalized();
        assert_eq!(e.name.as_deref(), Some("Zoë Müller"));
        assert_eq!(e.email.as_deref(), Some("zoe.mueller@example.com"));
        assert_eq!(e.topic, None);
    }

    #[test]
    fn implausible_emails_are_dropped() {
        for bad in [
            "john",
            "john@",
            "@x.com",
            "john@localhost",
            "a b@c.com",
            "a@b@c.com",
        ] {
            let e = Entities {
                email: Some(bad.into()),
                ..Entities::default()
            }
            .normalized();
            assert_eq!(e.email, None, "{bad}");
        }
    }
}
