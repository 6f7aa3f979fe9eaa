//! Token buckets by key: each key (an API key, a service account, a client address) has a bucket
//! of `burst` requests that refills at `per_second`. The API uses one for each caller's requests
//! (Atlas's 429 `RATE_LIMITED`, with `RateLimit-Limit`, `RateLimit-Remaining` and `Retry-After`),
//! and others for token issue and failed logins ([`crate::limits`]).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use crate::error::ApiError;

/// The most keys tracked at once. Past it, buckets that have refilled are forgotten (they hold
/// nothing a new bucket would not); if more than half remain, all are: a flood of new keys can
/// neither grow the map without bound nor make each request scan it.
const MAX_KEYS: usize = 100_000;

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Request budgets by key.
pub struct RateLimiter {
    /// Refill rate per second; 0: no limit.
    per_second: f64,
    /// A full bucket.
    burst: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimiter {
    /// `limit` requests per second per key, and a burst of as many; 0 turns limiting off.
    pub fn new(limit: u32) -> RateLimiter {
        RateLimiter::with_burst(f64::from(limit), f64::from(limit))
    }

    /// `per_second` refill and `burst` capacity per key; `per_second` 0 turns limiting off.
    pub fn with_burst(per_second: f64, burst: f64) -> RateLimiter {
        RateLimiter { per_second, burst: burst.max(1.0), buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes one request from `key`'s budget, or refuses it with Atlas's 429.
    pub fn admit(&self, key: &str) -> Result<(), ApiError> {
        self.admit_at(key, Instant::now())
    }

    /// Whether `key` has a request left, without taking it.
    pub fn allows(&self, key: &str) -> Result<(), ApiError> {
        self.update(key, Instant::now(), false)
    }

    fn admit_at(&self, key: &str, now: Instant) -> Result<(), ApiError> {
        self.update(key, now, true)
    }

    fn update(&self, key: &str, now: Instant, take: bool) -> Result<(), ApiError> {
        if self.per_second == 0.0 {
            return Ok(());
        }
        let Ok(mut buckets) = self.buckets.lock() else { return Ok(()) };
        if buckets.len() >= MAX_KEYS && !buckets.contains_key(key) {
            let (rate, burst) = (self.per_second, self.burst);
            buckets.retain(|_, b| b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * rate < burst);
            if buckets.len() > MAX_KEYS / 2 {
                buckets.clear();
            }
        }
        let b = buckets.entry(key.to_string()).or_insert(Bucket { tokens: self.burst, at: now });
        b.tokens = (b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * self.per_second).min(self.burst);
        b.at = now;
        if b.tokens >= 1.0 {
            if take {
                b.tokens -= 1.0;
            }
            return Ok(());
        }
        // Seconds until a whole request is back, rounded up (Retry-After counts whole seconds).
        let retry_after = ((1.0 - b.tokens) / self.per_second).ceil().max(1.0) as u64;
        Err(ApiError::rate_limited(self.per_second.ceil() as u32, retry_after))
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

    #[test]
    fn a_burst_larger_than_the_rate_and_peeking_takes_nothing() {
        let r = RateLimiter::with_burst(1.0, 3.0);
        let t0 = Instant::now();
        for _ in 0..10 {
            assert!(r.update("a", t0, false).is_ok(), "peeking takes nothing");
        }
        for _ in 0..3 {
            assert!(r.admit_at("a", t0).is_ok());
        }
        assert!(r.admit_at("a", t0).is_err());
        assert!(r.update("a", t0, false).is_err());
        assert!(r.admit_at("a", t0 + Duration::from_secs(1)).is_ok(), "one a second");
    }

    #[test]
    fn a_flood_of_new_keys_keeps_the_map_bounded() {
        let r = RateLimiter::with_burst(1.0, 2.0);
        let t0 = Instant::now();
        for i in 0..(MAX_KEYS + 5_000) {
            let _ = r.admit_at(&format!("k{}", i), t0 + Duration::from_secs(5));
        }
        assert!(r.buckets.lock().unwrap().len() <= MAX_KEYS, "{}", r.buckets.lock().unwrap().len());
        // Refilled buckets are what goes first.
        let r = RateLimiter::with_burst(1.0, 2.0);
        let _ = r.admit_at("busy", t0);
        let _ = r.admit_at("busy", t0);
        for i in 0..MAX_KEYS - 1 {
            let _ = r.update(&format!("k{}", i), t0, false);
        }
        let _ = r.admit_at("new", t0);
        assert_eq!(r.buckets.lock().unwrap().len(), 2, "the full buckets were forgotten");
        assert!(r.admit_at("busy", t0).is_err(), "the empty one was kept");
    }
}
