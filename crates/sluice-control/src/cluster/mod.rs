//! Several nodes sharing one store: each STARTED processor runs on exactly one node, the holder
//! of its lease ([`keeper`]); writes are fenced by it ([`fence`], [`fenced_sink`]); new and
//! orphaned processors go to the least loaded live node ([`placement`]); lifecycle requests go
//! to the node that runs the processor ([`forward`]).

pub(crate) mod fence;
pub(crate) mod fenced_sink;
pub(crate) mod forward;
pub(crate) mod keeper;
pub(crate) mod membership;
pub mod placement;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sluice_store::Coordination;

use crate::actor::Request;
use crate::error::ControlError;
use keeper::LeaseKeeper;

/// How often a node renews its leases, says it is alive and publishes its runs' statistics.
pub const RENEW_EVERY: Duration = Duration::from_secs(2);
/// How long a lease lasts past its last renewal (the store's clock): a node that stops renewing
/// loses its leases within this.
pub const LEASE_TTL: Duration = Duration::from_secs(6);
/// How long a node trusts a lease past the moment it asked to renew it: less than
/// [`LEASE_TTL`], so it stops writing before another node can take the processor.
pub const TRUST_FOR: Duration = Duration::from_secs(5);
/// How often a node looks for orphaned processors to take.
pub const SCAN_EVERY: Duration = Duration::from_secs(1);

/// What a node needs to join the others.
pub struct ClusterConfig {
    /// Its id (`--node-id`).
    pub node_id: String,
    /// Where its API listens, for the others to forward requests to.
    pub address: String,
    /// The shared store.
    pub store: Arc<dyn Coordination>,
    /// The credential of calls between nodes (derived from the shared sealing key).
    pub token: String,
}

/// This node among the others.
pub(crate) struct Cluster {
    pub node_id: String,
    pub address: String,
    pub store: Arc<dyn Coordination>,
    pub keeper: LeaseKeeper,
    pub peers: forward::Peers,
    draining: AtomicBool,
}

/// Where a request about a processor is carried out.
pub(crate) enum Route {
    /// On this node.
    Here,
    /// On the node at this address, which runs the processor (or should start it).
    There(String),
}

impl Cluster {
    pub fn new(config: ClusterConfig) -> Result<Cluster, String> {
        Ok(Cluster {
            keeper: LeaseKeeper::new(&config.node_id, config.store.clone()),
            peers: forward::Peers::new(config.token)?,
            node_id: config.node_id,
            address: config.address,
            store: config.store,
            draining: AtomicBool::new(false),
        })
    }

    /// Whether this node is handing its processors over.
    pub fn draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
    }

    /// From now on this node takes no new work.
    pub async fn start_draining(&self) {
        self.draining.store(true, Ordering::Release);
        if let Err(e) = self.store.node_draining(&self.node_id).await {
            tracing::warn!(error = %e, "cannot record that this node is draining");
        }
    }

    /// Where `request` about processor `processor_id` is carried out: on the node that runs
    /// it; for a start or resume of a processor that runs nowhere, on the least loaded live node.
    pub async fn route(&self, processor_id: &str, request: &Request) -> Result<Route, ControlError> {
        if forward::request_json(request).is_none() {
            return Ok(Route::Here);
        }
        if let Some(h) = self.store.lease_holder(processor_id).await? {
            return Ok(if h.node_id == self.node_id { Route::Here } else { Route::There(h.address) });
        }
        if !matches!(request, Request::Start(_) | Request::Resume) {
            return Ok(Route::Here);
        }
        let view = self.store.cluster_view().await?;
        let target = placement::target(&view);
        match view.nodes.iter().find(|n| Some(&n.id) == target.as_ref()) {
            Some(n) if n.id != self.node_id => Ok(Route::There(n.address.clone())),
            _ => Ok(Route::Here),
        }
    }
}
