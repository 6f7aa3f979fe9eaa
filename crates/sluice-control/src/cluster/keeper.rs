//! The leases this node holds: taken before a run starts, renewed together every
//! [`super::RENEW_EVERY`], given back when the run ends. A lease the store no longer lists as
//! this node's (it expired while the node was paused or cut off, and another took it) is marked
//! lost at once, and its run stops at its next write.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use sluice_store::{Coordination, StoreResult};

use super::fence::Fence;
use super::{LEASE_TTL, TRUST_FOR};

/// This node's leases, by processor id.
pub(crate) struct LeaseKeeper {
    node_id: String,
    store: Arc<dyn Coordination>,
    held: Mutex<HashMap<String, Arc<Fence>>>,
}

fn ttl_ms() -> i64 {
    LEASE_TTL.as_millis() as i64
}

impl LeaseKeeper {
    /// The leases of node `node_id`, kept in `store`.
    pub fn new(node_id: &str, store: Arc<dyn Coordination>) -> LeaseKeeper {
        LeaseKeeper { node_id: node_id.to_string(), store, held: Mutex::new(HashMap::new()) }
    }

    fn held(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Fence>>> {
        // Every entry is whole whatever panicked while the lock was held.
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes the lease of a processor; `None` when another node holds it now.
    pub async fn acquire(&self, processor_id: &str) -> StoreResult<Option<Arc<Fence>>> {
        let asked = Instant::now();
        let Some(epoch) = self.store.acquire_lease(processor_id, &self.node_id, ttl_ms()).await? else {
            return Ok(None);
        };
        let fence = Arc::new(Fence::new(epoch, asked, TRUST_FOR));
        if let Some(old) = self.held().insert(processor_id.to_string(), fence.clone()) {
            old.lose();
        }
        Ok(Some(fence))
    }

    /// Gives back the lease `fence` stands for: nothing more is written under it.
    pub async fn release(&self, processor_id: &str, fence: &Fence) {
        fence.lose();
        {
            let mut held = self.held();
            if held.get(processor_id).is_some_and(|f| f.epoch() == fence.epoch()) {
                held.remove(processor_id);
            }
        }
        if let Err(e) = self.store.release_lease(processor_id, &self.node_id, fence.epoch()).await {
            // It expires by itself within the lease's lifetime.
            tracing::warn!(processor = processor_id, error = %e, "cannot give a lease back");
        }
    }

    /// Renews every lease; those the store no longer lists as this node's are lost.
    pub async fn renew(&self) {
        let asked = Instant::now();
        let kept = match self.store.renew_leases(&self.node_id, ttl_ms()).await {
            Ok(kept) => kept,
            Err(e) => {
                // The leases stay trusted until their deadlines, then their runs stop.
                tracing::warn!(error = %e, "cannot renew this node's leases");
                return;
            }
        };
        let kept: HashMap<String, u64> = kept.into_iter().collect();
        let mut held = self.held();
        held.retain(|id, fence| {
            if kept.get(id) == Some(&fence.epoch()) {
                fence.renewed(asked, TRUST_FOR);
                return true;
            }
            // Taken after the renewal was asked: the answer could not list it.
            if fence.taken() >= asked {
                return true;
            }
            tracing::warn!(processor = %id, epoch = fence.epoch(), "lease lost: another node may run the processor");
            fence.lose();
            false
        });
    }
}
