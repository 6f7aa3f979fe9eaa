//! A node's own view of one lease: whether it may still write for the processor. The store's
//! expiry is the truth, but asking it before every write would be too slow, so a node trusts a
//! lease until a deadline it computes from when it last *asked* to renew (not when the answer
//! came): the store's expiry is at least that late, so the node stops writing before any other
//! node can take the processor, even after a pause (SIGSTOP) that the node did not notice.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The instant monotonic deadlines count from.
fn base() -> Instant {
    static BASE: OnceLock<Instant> = OnceLock::new();
    *BASE.get_or_init(Instant::now)
}

fn nanos_since_base(t: Instant) -> u64 {
    t.saturating_duration_since(base()).as_nanos().min(u64::MAX as u128) as u64
}

/// One lease as the node holding it sees it.
#[derive(Debug)]
pub struct Fence {
    epoch: u64,
    /// When the lease was taken: a renewal asked before it cannot speak for it.
    taken: Instant,
    /// Until when the node may write, in nanoseconds since [`base`].
    trusted_until: AtomicU64,
    /// The lease is known gone (released, or another node holds it).
    lost: AtomicBool,
}

impl Fence {
    /// A lease of `epoch` taken by a request sent at `asked`, trusted for `trust` from then.
    pub fn new(epoch: u64, asked: Instant, trust: Duration) -> Fence {
        Fence {
            epoch,
            taken: asked,
            trusted_until: AtomicU64::new(nanos_since_base(asked + trust)),
            lost: AtomicBool::new(false),
        }
    }

    /// The lease's epoch: checkpoints of a later epoch supersede this one's.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// When the lease was taken.
    pub fn taken(&self) -> Instant {
        self.taken
    }

    /// Whether the node may still write for the processor.
    pub fn holds(&self) -> bool {
        !self.lost.load(Ordering::Acquire)
            && nanos_since_base(Instant::now()) < self.trusted_until.load(Ordering::Acquire)
    }

    /// A renewal sent at `asked` succeeded: trust the lease for `trust` from then.
    pub fn renewed(&self, asked: Instant, trust: Duration) {
        self.trusted_until.fetch_max(nanos_since_base(asked + trust), Ordering::AcqRel);
    }

    /// The lease is gone: nothing more may be written under it.
    pub fn lose(&self) {
        self.lost.store(true, Ordering::Release);
    }
}

/// Why a write was refused: the node no longer holds the processor's lease.
pub const LEASE_LOST: &str = "this node no longer holds the processor's lease: another node runs it";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_is_trusted_until_its_deadline_or_its_loss() {
        let f = Fence::new(3, Instant::now(), Duration::from_secs(60));
        assert!(f.holds());
        assert_eq!(f.epoch(), 3);
        f.lose();
        assert!(!f.holds());
        let past = Fence::new(1, Instant::now() - Duration::from_secs(10), Duration::from_secs(5));
        assert!(!past.holds(), "its deadline passed");
        past.renewed(Instant::now(), Duration::from_secs(5));
        assert!(past.holds(), "a renewal asked now extends it");
        past.renewed(Instant::now() - Duration::from_secs(100), Duration::from_secs(5));
        assert!(past.holds(), "an older renewal never shortens it");
    }
}
