//! Who may read the dashboard: the bearer token, the session cookie it is exchanged for, and
//! the constant-time checks of both.
//!
//! The token is the only credential. A browser cannot send an `Authorization` header when it
//! loads a page, so `GET /?token=…` (a link `postcall dashboard` prints, or one an operator
//! builds) exchanges a valid token for a session cookie and redirects to the same page without
//! the token. The cookie is `HttpOnly` (page scripts never see it), `SameSite=Strict`, `Secure`
//! over HTTPS, and holds no token: it is `v2.<expiry>.<HMAC-SHA256(key, expiry)>`, where the key
//! is derived from the token with HKDF-SHA256 (a fixed salt and context), so the token itself
//! never keys a MAC that travels; valid for `DASHBOARD_SESSION_TTL_SECS` (an hour by default).
//! The function stays stateless (any container verifies any cookie), rotating the token ends
//! every session, and `/logout` clears the cookie in the browser.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};
use tracing::warn;

use crate::{
    adapters::secrets::{CachedSecret, SecretError, SecretsStore},
    config::{TokenSource, DASHBOARD_TOKEN_MIN_CHARS},
    error::{Classified, ErrorClass},
    secret::Secret,
};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "postcall_session";

/// The token could not be read.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// Secrets Manager failed (network, AccessDenied, not found), or the secret holds no usable
    /// token.
    #[error("read the dashboard token")]
    Secret(#[from] SecretError),
}

impl Classified for AccessError {
    fn class(&self) -> ErrorClass {
        // Fixed by a deploy or a corrected secret; the next request then succeeds.
        match self {
            AccessError::Secret(_) => ErrorClass::Transient,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            AccessError::Secret(inner) => inner.code(),
        }
    }
}

/// The dashboard's bearer token: given, or from Secrets Manager (fetched on first use, kept, and
/// fetched again when a presented credential does not match, at most once per
/// `refetch_after`, so wrong tokens cannot drive calls to Secrets Manager).
pub(crate) enum TokenStore {
    Given(Secret<String>),
    Cached(CachedSecret<Secret<String>>),
}

impl TokenStore {
    pub(crate) fn new(
        source: TokenSource,
        secrets: Option<SecretsStore>,
        refetch_after: Duration,
    ) -> Self {
        match source {
            TokenSource::Token(token) => Self::Given(token),
            TokenSource::SecretArn(arn) => Self::Cached(CachedSecret::new(
                arn,
                secrets,
                token_from_secret,
                refetch_after,
            )),
        }
    }

    /// The current token when `check` accepts it. A token from Secrets Manager that does not
    /// pass is fetched again (see [`CachedSecret::after_rejection`]) and checked once more, so
    /// a rotation is picked up without a redeploy.
    pub(crate) async fn matching_token(
        &self,
        check: impl Fn(&[u8]) -> bool,
    ) -> Result<Option<Secret<String>>, AccessError> {
        let cached = match self {
            Self::Given(token) => {
                return Ok(check(token.expose().as_bytes()).then(|| token.clone()))
            }
            Self::Cached(cached) => cached,
        };
        let used = cached.get().await?;
        if check(used.value.expose().as_bytes()) {
            return Ok(Some(used.value));
        }
        match cached.after_rejection(&used).await? {
            Some(fresh) => {
                warn!("a presented dashboard credential did not match; checking it against the token fetched again in case it was rotated");
                Ok(check(fresh.value.expose().as_bytes()).then_some(fresh.value))
            }
            None => Ok(None),
        }
    }
}

/// The token in a secret: plain text, or JSON with `token`.
fn token_from_secret(raw: &str) -> Result<Secret<String>, String> {
    let token = serde_json::from_str::<serde_json::Value>(raw)
        .ok()
        .and_then(|v| v.get("token")?.as_str().map(str::to_owned))
        .unwrap_or_else(|| raw.to_owned());
    let token = token.trim().to_owned();
    if token.chars().count() < DASHBOARD_TOKEN_MIN_CHARS {
        return Err(format!(
            "holds no dashboard token of at least {DASHBOARD_TOKEN_MIN_CHARS} characters (plain, or JSON with token)"
        ));
    }
    Ok(Secret::new(token))
}

/// Compares two secrets in time that depends on neither: both are hashed to 32 bytes first (so
/// the length leaks nothing), then every byte is compared.
pub(crate) fn constant_time_eq(presented: &[u8], expected: &[u8]) -> bool {
    let a = Sha256::digest(presented);
    let b = Sha256::digest(expected);
    let diff = a
        .iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y));
    // Keeps the optimizer from turning the fold into an early exit.
    std::hint::black_box(diff) == 0
}

/// HMAC-SHA256 (RFC 2104), a few lines over `sha2` rather than another crate.
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        for (slot, byte) in block.iter_mut().zip(Sha256::digest(key).iter()) {
            *slot = *byte;
        }
    } else {
        for (slot, byte) in block.iter_mut().zip(key) {
            *slot = *byte;
        }
    }
    let inner_pad: Vec<u8> = block.iter().map(|b| b ^ 0x36).collect();
    let outer_pad: Vec<u8> = block.iter().map(|b| b ^ 0x5c).collect();
    let inner = Sha256::new()
        .chain_update(&inner_pad)
        .chain_update(message)
        .finalize();
    let outer = Sha256::new()
        .chain_update(&outer_pad)
        .chain_update(inner)
        .finalize();
    let mut mac = [0u8; 32];
    for (slot, byte) in mac.iter_mut().zip(outer.iter()) {
        *slot = *byte;
    }
    mac
}

/// HKDF-SHA256 (RFC 5869) with one block of output: extract with `salt`, expand with `info`.
fn hkdf_sha256(salt: &[u8], input_key: &[u8], info: &[u8]) -> [u8; 32] {
    let pseudo_random_key = hmac_sha256(salt, input_key);
    let mut message = info.to_vec();
    message.push(1);
    hmac_sha256(&pseudo_random_key, &message)
}

/// The session cookies' MAC key, derived from the token.
fn session_key(token: &[u8]) -> [u8; 32] {
    hkdf_sha256(
        b"postcall-dashboard-session-salt",
        token,
        b"postcall dashboard session cookie v2",
    )
}

fn session_mac(token: &[u8], expires_at: u64) -> String {
    hmac_sha256(
        &session_key(token),
        format!("postcall-dashboard-session:v2:{expires_at}").as_bytes(),
    )
    .iter()
    .map(|b| format!("{b:02x}"))
    .collect()
}

/// A session cookie's value for `token`, valid until `now` + `ttl_secs`.
pub(crate) fn session_value(token: &[u8], now: SystemTime, ttl_secs: u64) -> String {
    let expires_at = unix_secs(now).saturating_add(ttl_secs);
    format!("v2.{expires_at}.{}", session_mac(token, expires_at))
}

/// Whether a session cookie's value was made with `token` and has not expired at `now`.
pub(crate) fn session_is_valid(value: &str, token: &[u8], now: SystemTime) -> bool {
    let mut parts = value.split('.');
    let (Some("v2"), Some(expiry), Some(mac), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let Ok(expires_at) = expiry.parse::<u64>() else {
        return false;
    };
    // The MAC is checked whatever the expiry, so the time taken says nothing about it.
    let is_authentic = constant_time_eq(mac.as_bytes(), session_mac(token, expires_at).as_bytes());
    is_authentic && expires_at > unix_secs(now)
}

fn unix_secs(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The value of cookie `name` in a `Cookie` header.
pub(crate) fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|pair| {
        let (n, v) = pair.split_once('=')?;
        (n.trim() == name).then(|| v.trim())
    })
}

/// The token of an `Authorization: Bearer …` header value.
pub(crate) fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn hkdf_matches_rfc_5869() {
        // Test case 1, the first 32 bytes of its 42.
        let salt: Vec<u8> = (0x00..=0x0c).collect();
        let info: Vec<u8> = (0xf0..=0xf9).collect();
        assert_eq!(
            hex(&hkdf_sha256(&salt, &[0x0b; 22], &info)),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
        );
    }

    #[test]
    fn the_cookie_mac_is_keyed_by_the_derived_key_not_the_token() {
        let token = b"a-long-enough-dashboard-token";
        let message = b"postcall-dashboard-session:v2:100";
        let mac = session_mac(token, 100);
        assert_eq!(mac, hex(&hmac_sha256(&session_key(token), message)));
        assert_ne!(mac, hex(&hmac_sha256(token, message)));
    }

    #[test]
    fn hmac_matches_rfc_4231() {
        // Test cases 2 and 6 (a key longer than the block).
        assert_eq!(
            hex(&hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            hex(&hmac_sha256(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            )),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn constant_time_eq_compares_whole_values() {
        assert!(constant_time_eq(
            b"a-long-enough-token",
            b"a-long-enough-token"
        ));
        assert!(!constant_time_eq(
            b"a-long-enough-token",
            b"a-long-enough-tokem"
        ));
        assert!(!constant_time_eq(
            b"a-long-enough-token",
            b"a-long-enough-token-and-more"
        ));
        assert!(!constant_time_eq(b"", b"a-long-enough-token"));
    }

    #[test]
    fn sessions_expire_and_belong_to_one_token() {
        const TTL: u64 = 3600;
        let token = b"the-dashboard-token-1234";
        let issued = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let value = session_value(token, issued, TTL);
        assert!(value.starts_with("v2.1800003600."), "{value}");
        assert!(session_is_valid(&value, token, issued));
        assert!(session_is_valid(
            &value,
            token,
            issued + Duration::from_secs(TTL - 1)
        ));
        assert!(!session_is_valid(
            &value,
            token,
            issued + Duration::from_secs(TTL)
        ));
        // Rotating the token ends the session.
        assert!(!session_is_valid(
            &value,
            b"the-rotated-token-567890",
            issued
        ));
        // A later expiry cannot be written in without the token.
        let forged = value.replace("1800003600", "1900000000");
        assert!(!session_is_valid(&forged, token, issued));
        // A v1 cookie (its MAC keyed by the raw token) is no longer accepted.
        let v1_mac: String = hmac_sha256(token, b"postcall-dashboard-session:v1:1800003600")
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert!(!session_is_valid(
            &format!("v1.1800003600.{v1_mac}"),
            token,
            issued
        ));
        for junk in ["", "v2", "v2.x.y", "v1.1800043200.00", "v2.1.2.3"] {
            assert!(!session_is_valid(junk, token, issued), "{junk}");
        }
        assert!(!value.contains("the-dashboard-token"));
    }

    #[test]
    fn headers_are_read_leniently_but_exactly() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer   abc "), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer "), None);
        assert_eq!(bearer_token("Bearer"), None);
        assert_eq!(
            cookie("a=1; postcall_session=v1.2.x; b=3", SESSION_COOKIE),
            Some("v1.2.x")
        );
        assert_eq!(cookie("xpostcall_session=1", SESSION_COOKIE), None);
        assert_eq!(cookie("", SESSION_COOKIE), None);
    }

    #[test]
    fn tokens_are_read_from_plain_or_json_secrets() {
        let token = |raw: &str| token_from_secret(raw).ok().map(|t| t.expose().clone());
        assert_eq!(
            token("  0123456789abcdef0123\n").as_deref(),
            Some("0123456789abcdef0123")
        );
        assert_eq!(
            token(r#"{"token":"0123456789abcdef0123"}"#).as_deref(),
            Some("0123456789abcdef0123")
        );
        assert_eq!(token("short"), None);
        assert_eq!(token(r#"{"token":""}"#), None);
        assert!(!token_from_secret("shortsecret")
            .unwrap_err()
            .contains("shortsecret"));
    }

    #[tokio::test]
    async fn a_given_token_is_checked_without_secrets_manager() {
        let store = TokenStore::new(
            TokenSource::Token(Secret::new("the-dashboard-token-1234".into())),
            None,
            Duration::from_secs(300),
        );
        let right = store
            .matching_token(|t| constant_time_eq(b"the-dashboard-token-1234", t))
            .await
            .unwrap();
        let wrong = store
            .matching_token(|t| constant_time_eq(b"the-dashboard-token-1235", t))
            .await
            .unwrap();
        assert!(right.is_some() && wrong.is_none());
    }
}
