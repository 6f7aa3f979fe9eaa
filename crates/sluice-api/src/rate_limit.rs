//! Per-caller rate limiting: each API key or service account has a bucket of `limit` requests
//! that refills at `limit` per second. A caller who empties it gets Atlas's 429 `RATE_LIMITED`,
//! with `RateLimit-Limit`, `RateLimit-Remaining` and `Retry-After`, until it refills.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use crate::error::ApiError;

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Request budgets by caller.
pub struct RateLimiter {
    /// Requests per second per caller (and the burst a full bucket allows); 0: no limit.
    limit: u32,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimiter {
    /// `limit` requests per second per caller; 0 turns limiting off.
    pub fn new(limit: u32) -> RateLimiter {
        RateLimiter { limit, buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes one request from `caller`'s budget, or refuses it with Atlas's 429.
    pub fn admit(&self, caller: &str) -> Result<(), ApiError> {
        self.admit_at(caller, Instant::now())
    }

    fn admit_at(&self, caller: &str, now: Instant) -> Result<(), ApiError> {
        if self.limit == 0 {
            return Ok(());
        }
        let limit = f64::from(self.limit);
        let Ok(mut buckets) = self.buckets.lock() else { return Ok(()) };
        let b = buckets.entry(caller.to_string()).or_insert(Bucket { tokens: limit, at: now });
        b.tokens = (b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * limit).min(limit);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            return Ok(());
        }
        // Seconds until a whole request is back, rounded up (Retry-After counts whole seconds).
        let retry_after = ((1.0 - b.tokens) / limit).ceil().max(1.0) as u64;
        Err(ApiError::rate_limited(self.limit, retry_after))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_caller_gets_its_burst_then_429_until_the_bucket_refills() {
        let r = RateLimiter::new(5);
        let t0 = Instant::now();
        for _ in 0..5 {
            assert!(r.admit_at("k1", t0).is_ok());
        }
        let e = r.admit_at("k1", t0).unwrap_err();
        assert_eq!((e.status.as_u16(), e.code), (429, "RATE_LIMITED"));
        let headers: Vec<(&str, &str)> = e.headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert!(
            headers.contains(&("RateLimit-Limit", "5")) && headers.contains(&("RateLimit-Remaining", "0")),
            "{:?}",
            headers
        );
        assert!(headers.iter().any(|(k, v)| *k == "Retry-After" && v.parse::<u64>().is_ok_and(|s| s >= 1)));
        assert!(r.admit_at("k2", t0).is_ok(), "another caller has its own budget");
        assert!(r.admit_at("k1", t0 + Duration::from_millis(250)).is_ok(), "a fifth of a second refills one request");
        assert!(RateLimiter::new(0).admit_at("k1", t0).is_ok());
    }
}
