//! `$cachedLookup`'s query cache: answers by lookup key, each kept for the TTL, all within a
//! memory bound. Over the bound, expired answers go first, then the oldest. Time is the run's
//! clock (milliseconds since the epoch, as `$$NOW`), so that tests drive it.

use std::collections::{HashMap, VecDeque};

use sluice_mql::{Document, GroupKey};

use super::lookup_options::CacheLimits;

struct Entry {
    docs: Vec<Document>,
    /// When it was put, in the run's clock's milliseconds.
    at: i64,
    bytes: usize,
    seq: u64,
}

/// Cached lookup answers.
pub(crate) struct LookupCache {
    limits: CacheLimits,
    entries: HashMap<GroupKey, Entry>,
    /// Insertion order, oldest first; a key re-inserted since has a newer `seq` in `entries`.
    order: VecDeque<(u64, GroupKey)>,
    seq: u64,
    bytes: usize,
    /// Answers served from the cache.
    pub hits: u64,
    /// Answers the database had to give.
    pub misses: u64,
}

impl LookupCache {
    pub(crate) fn new(limits: CacheLimits) -> LookupCache {
        LookupCache { limits, entries: HashMap::new(), order: VecDeque::new(), seq: 0, bytes: 0, hits: 0, misses: 0 }
    }

    /// Bytes the cached answers take.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// The answer for `key`, if one is cached and fresh.
    pub(crate) fn get(&mut self, key: &GroupKey, now: i64) -> Option<Vec<Document>> {
        let fresh = self.entries.get(key).map(|e| !self.expired(e, now));
        match fresh {
            Some(true) => {
                self.hits += 1;
                self.entries.get(key).map(|e| e.docs.clone())
            }
            Some(false) => {
                self.remove(key);
                self.misses += 1;
                None
            }
            None => {
                self.misses += 1;
                None
            }
        }
    }

    /// Keeps `docs` as the answer for `key`; an answer larger than the whole bound is not kept.
    pub(crate) fn put(&mut self, key: GroupKey, docs: Vec<Document>, now: i64) {
        let bytes = key.0.approx_size() + docs.iter().map(Document::approx_size).sum::<usize>();
        self.remove(&key);
        if bytes > self.limits.max_bytes {
            return;
        }
        self.seq += 1;
        self.order.push_back((self.seq, key.clone()));
        self.entries.insert(key, Entry { docs, at: now, bytes, seq: self.seq });
        self.bytes += bytes;
        if self.bytes > self.limits.max_bytes {
            self.drop_expired(now);
        }
        while self.bytes > self.limits.max_bytes {
            let Some((seq, k)) = self.order.pop_front() else { break };
            if self.entries.get(&k).is_some_and(|e| e.seq == seq) {
                self.remove(&k);
            }
        }
    }

    /// Whether `e` has outlived the TTL at `now`.
    fn expired(&self, e: &Entry, now: i64) -> bool {
        i128::from(now) - i128::from(e.at) >= self.limits.ttl.as_millis() as i128
    }

    fn drop_expired(&mut self, now: i64) {
        let expired: Vec<GroupKey> =
            self.entries.iter().filter(|(_, e)| self.expired(e, now)).map(|(k, _)| k.clone()).collect();
        for k in expired {
            self.remove(&k);
        }
    }

    fn remove(&mut self, key: &GroupKey) {
        if let Some(e) = self.entries.remove(key) {
            self.bytes -= e.bytes;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_mql::json::parse_document;
    use sluice_mql::Value;
    use std::time::Duration;

    fn doc(n: i32) -> Vec<Document> {
        vec![parse_document(&format!(r#"{{"n": {}}}"#, n)).unwrap()]
    }

    fn key(n: i64) -> GroupKey {
        GroupKey(Value::Int64(n))
    }

    #[test]
    fn answers_live_for_the_ttl_and_equal_numbers_share_a_key() {
        let mut c = LookupCache::new(CacheLimits { ttl: Duration::from_secs(10), max_bytes: 1 << 20 });
        let t0 = 1_700_000_000_000;
        c.put(key(1), doc(1), t0);
        assert_eq!(c.get(&GroupKey(Value::Double(1.0)), t0 + 9_999), Some(doc(1)));
        assert_eq!(c.get(&key(1), t0 + 10_000), None, "expired");
        assert_eq!((c.hits, c.misses), (1, 1));
        assert_eq!(c.bytes(), 0, "the expired answer was dropped");
    }

    #[test]
    fn the_memory_bound_drops_the_oldest_first() {
        let one = key(0).0.approx_size() + doc(0)[0].approx_size();
        let mut c = LookupCache::new(CacheLimits { ttl: Duration::from_secs(60), max_bytes: one * 3 });
        let t0 = 0;
        for n in 0..5 {
            c.put(key(n), doc(n as i32), t0);
        }
        assert!(c.bytes() <= one * 3);
        assert_eq!(c.get(&key(0), t0), None);
        assert_eq!(c.get(&key(1), t0), None);
        assert_eq!(c.get(&key(4), t0), Some(doc(4)));
        assert_eq!(c.get(&key(2), t0), Some(doc(2)));
    }
}
