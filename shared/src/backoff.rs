//! Retry delays: exponential backoff with full jitter, shared by every retry loop.
//! See <https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/>.

use std::time::Duration;

/// Exponential backoff with full jitter: a delay drawn from [0, min(cap, base · 2^attempt)].
/// `unit` is a random number in [0, 1): passed in, so the schedule is testable.
pub fn backoff_delay(attempt: u32, base: Duration, cap: Duration, unit: f64) -> Duration {
    let ceiling = base
        .saturating_mul(2u32.saturating_pow(attempt.min(16)))
        .min(cap);
    ceiling.mul_f64(unit.clamp(0.0, 1.0))
}

/// A random number in [0, 1) for jitter: the clock's nanoseconds through a hash, so that
/// concurrent retries spread out. Not for anything that needs real randomness.
pub fn jitter_unit() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_bounded_by_its_exponential_ceiling_and_cap() {
        let base = Duration::from_millis(200);
        let cap = Duration::from_secs(5);
        assert_eq!(
            backoff_delay(0, base, cap, 0.999_999),
            Duration::from_millis(200).mul_f64(0.999_999)
        );
        assert_eq!(backoff_delay(3, base, cap, 0.5), Duration::from_millis(800));
        assert_eq!(backoff_delay(10, base, cap, 1.0), cap);
        assert_eq!(backoff_delay(2, base, cap, 0.0), Duration::ZERO);
        assert_eq!(backoff_delay(u32::MAX, base, cap, 0.5), cap / 2);
    }

    #[test]
    fn jitter_units_are_in_range() {
        for _ in 0..100 {
            let u = jitter_unit();
            assert!((0.0..1.0).contains(&u));
        }
    }
}
