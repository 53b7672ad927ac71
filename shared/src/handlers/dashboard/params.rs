//! The dashboard's inputs, parsed at the edge into values that are in range: query strings,
//! the call id in a path, and the session cookie.

use crate::domain::CallId;

/// Hours the top-leads view looks back, at most: 30 days.
pub const MAX_HOURS: u32 = 720;
/// Rows of the top-leads view, at most.
pub const MAX_LIMIT: u32 = 200;
/// Days of the sentiment trend, at most: the longest window the chart stays readable in, and a
/// bounded scan however many calls there are.
pub const MAX_DAYS: u32 = 90;

/// A request the dashboard refuses as malformed: a 400 with this message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadRequest(pub String);

/// `GET /api/top-leads?hours=24&limit=20`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopLeadsQuery {
    /// Calls that ended in the last this many hours (1..=720).
    pub hours: u32,
    /// At most this many rows (1..=200).
    pub limit: u32,
}

impl TopLeadsQuery {
    /// Parses the query string; absent parameters take the seed query's values (24 h, 20 rows).
    ///
    /// # Errors
    /// [`BadRequest`] for a value out of range or not a number, an unknown or repeated parameter.
    pub fn parse(query: Option<&str>) -> Result<Self, BadRequest> {
        let pairs = parse_query(query, &["hours", "limit"])?;
        Ok(Self {
            hours: bounded(&pairs, "hours", 24, MAX_HOURS)?,
            limit: bounded(&pairs, "limit", 20, MAX_LIMIT)?,
        })
    }
}

/// `GET /api/sentiment-trend?days=7&tz=UTC`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrendQuery {
    /// Today and the days before it, this many in all (1..=90).
    pub days: u32,
    /// The IANA time zone whose midnights divide the days (`Europe/Berlin`); Postgres checks
    /// that it exists.
    pub time_zone: String,
}

impl TrendQuery {
    /// Parses the query string; `days` defaults to the seed query's 7, `tz` to `UTC`.
    ///
    /// # Errors
    /// [`BadRequest`] as for [`TopLeadsQuery::parse`], and for a `tz` that cannot be a zone
    /// name.
    pub fn parse(query: Option<&str>) -> Result<Self, BadRequest> {
        let pairs = parse_query(query, &["days", "tz"])?;
        let time_zone = match pairs.iter().find(|(n, _)| n == "tz") {
            None => "UTC".to_owned(),
            Some((_, zone)) if is_zone_name(zone) => zone.clone(),
            Some(_) => {
                return Err(BadRequest(
                    "tz must be an IANA time zone name such as UTC or America/New_York".into(),
                ))
            }
        };
        Ok(Self {
            days: bounded(&pairs, "days", 7, MAX_DAYS)?,
            time_zone,
        })
    }
}

/// The shape of an IANA zone name (`UTC`, `America/Argentina/Buenos_Aires`, `Etc/GMT+5`):
/// letters, digits, `_`, `-`, `+` and `/`, at most 64 characters. POSIX strings such as
/// `EST5EDT,M3.2.0,M11.1.0` and offsets such as `+05:30` are refused, which keeps Postgres's
/// own parsing to names it looks up.
fn is_zone_name(zone: &str) -> bool {
    !zone.is_empty()
        && zone.len() <= 64
        && zone.starts_with(|c: char| c.is_ascii_alphabetic())
        && zone
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '+' | '/'))
}

/// The call id of `/api/calls/{id}` or `/calls/{id}`, percent-decoded and checked by
/// [`CallId::parse`].
///
/// # Errors
/// [`BadRequest`] when the segment does not decode to UTF-8 or is not a valid call id.
pub fn call_id_from_segment(segment: &str) -> Result<CallId, BadRequest> {
    let raw = percent_decode(segment, false)
        .ok_or_else(|| BadRequest("the call id is not valid percent-encoded UTF-8".into()))?;
    CallId::parse(&raw).map_err(|e| BadRequest(format!("invalid call id: {e}")))
}

/// The pairs of an `application/x-www-form-urlencoded` query, every name among `known` and
/// none repeated: a typo such as `limt=5` is an error, not a silent default.
fn parse_query(query: Option<&str>, known: &[&str]) -> Result<Vec<(String, String)>, BadRequest> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for part in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (name, value) = part.split_once('=').unwrap_or((part, ""));
        let bad = || BadRequest("the query string is not valid percent-encoded UTF-8".into());
        let name = percent_decode(name, true).ok_or_else(bad)?;
        let value = percent_decode(value, true).ok_or_else(bad)?;
        if !known.contains(&name.as_str()) {
            return Err(BadRequest(format!(
                "unknown parameter {}; this route takes {}",
                quoted(&name),
                known.join(", ")
            )));
        }
        if pairs.iter().any(|(n, _)| *n == name) {
            return Err(BadRequest(format!("parameter {name} is given twice")));
        }
        pairs.push((name, value));
    }
    Ok(pairs)
}

fn bounded(
    pairs: &[(String, String)],
    name: &str,
    default: u32,
    max: u32,
) -> Result<u32, BadRequest> {
    let Some((_, raw)) = pairs.iter().find(|(n, _)| n == name) else {
        return Ok(default);
    };
    match raw.parse::<u32>() {
        Ok(value) if (1..=max).contains(&value) => Ok(value),
        _ => Err(BadRequest(format!(
            "{name} must be an integer from 1 to {max}"
        ))),
    }
}

/// A short, printable rendering of a name from the request, for an error message.
fn quoted(name: &str) -> String {
    let short: String = name.chars().take(40).filter(|c| !c.is_control()).collect();
    format!("{short:?}")
}

/// Decodes `%XX` escapes (and `+` as a space in a query). `None` for a malformed escape or a
/// result that is not UTF-8.
pub(crate) fn percent_decode(raw: &str, plus_is_space: bool) -> Option<String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'%' => {
                let hi = hex_value(*bytes.get(i + 1)?)?;
                let lo = hex_value(*bytes.get(i + 2)?)?;
                out.push((hi << 4) | lo);
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// Percent-encodes everything but unreserved characters (RFC 3986), for a query value.
pub fn percent_encode(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for b in raw.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn absent_parameters_take_the_seed_queries_values() {
        assert_eq!(
            TopLeadsQuery::parse(None),
            Ok(TopLeadsQuery {
                hours: 24,
                limit: 20
            })
        );
        assert_eq!(
            TrendQuery::parse(Some("")),
            Ok(TrendQuery {
                days: 7,
                time_zone: "UTC".into()
            })
        );
    }

    #[test]
    fn values_are_bounded() {
        for (query, ok) in [
            ("hours=1&limit=1", true),
            ("hours=720&limit=200", true),
            ("hours=0", false),
            ("hours=721", false),
            ("limit=201", false),
            ("limit=0", false),
            ("hours=-1", false),
            ("hours=1.5", false),
            ("hours=", false),
            ("hours=99999999999999999999", false),
            ("limit=%32%30", true),
        ] {
            assert_eq!(TopLeadsQuery::parse(Some(query)).is_ok(), ok, "{query}");
        }
        assert_eq!(
            TopLeadsQuery::parse(Some("hours=721")).unwrap_err().0,
            "hours must be an integer from 1 to 720"
        );
        assert!(TrendQuery::parse(Some("days=90")).is_ok());
        assert!(TrendQuery::parse(Some("days=91")).is_err());
    }

    #[test]
    fn unknown_and_repeated_parameters_are_refused() {
        let err = TopLeadsQuery::parse(Some("limt=5")).unwrap_err();
        assert_eq!(
            err.0,
            "unknown parameter \"limt\"; this route takes hours, limit"
        );
        assert!(TopLeadsQuery::parse(Some("hours=1&hours=2")).is_err());
        assert!(TrendQuery::parse(Some("days=7&token=x")).is_err());
        assert_eq!(
            TrendQuery::parse(Some("tz=America%2FArgentina%2FBuenos_Aires"))
                .unwrap()
                .time_zone,
            "America/Argentina/Buenos_Aires"
        );
        assert_eq!(
            TrendQuery::parse(Some("tz=Etc/GMT%2B5")).unwrap().time_zone,
            "Etc/GMT+5"
        );
        for bad in [
            "tz=",
            "tz=%2B05:30",
            "tz=EST5EDT,M3.2.0,M11.1.0",
            "tz=a%20b",
            "tz=../x",
        ] {
            assert!(TrendQuery::parse(Some(bad)).is_err(), "{bad}");
        }
        assert!(TrendQuery::parse(Some("days=%ZZ")).is_err());
    }

    #[test]
    fn call_ids_are_decoded_then_checked() {
        assert_eq!(
            call_id_from_segment("CA5f3e1d9c8b7a6f").unwrap().as_str(),
            "CA5f3e1d9c8b7a6f"
        );
        assert_eq!(call_id_from_segment("a%20b").unwrap().as_str(), "a b");
        // `+` is literal in a path.
        assert_eq!(call_id_from_segment("a+b").unwrap().as_str(), "a+b");
        assert!(call_id_from_segment("").is_err());
        assert!(call_id_from_segment("%20").is_err());
        assert!(call_id_from_segment("a%0Ab").is_err());
        assert!(call_id_from_segment("%FF").is_err());
        assert!(call_id_from_segment(&"x".repeat(129)).is_err());
    }

    proptest! {
        #[test]
        fn percent_encoding_round_trips(raw in ".{0,40}") {
            prop_assert_eq!(percent_decode(&percent_encode(&raw), true), Some(raw));
        }
    }
}
