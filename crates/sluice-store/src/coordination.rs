//! How servers (nodes) sharing one store divide the running processors between them: each node's
//! row and heartbeat, one lease per running processor with an epoch that only grows, and the
//! statistics each owner publishes for the others to show. Times are milliseconds since the
//! epoch by the store's own clock, so that nodes whose clocks differ still agree on who expired.

use async_trait::async_trait;
use sluice_types::{ProcessorState, Tier};

use crate::StoreResult;

/// A server that shares the store.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Its id (`--node-id`).
    pub id: String,
    /// Where its API listens (`HOST:PORT`).
    pub address: String,
    /// When it last started.
    pub started_at: i64,
    /// When it last said it was alive.
    pub last_heartbeat: i64,
    /// Whether it is handing its processors over before it stops.
    pub draining: bool,
}

/// A lease held now (not expired).
#[derive(Debug, Clone, PartialEq)]
pub struct HeldLease {
    /// The processor run under it.
    pub processor_id: String,
    /// The node holding it.
    pub node_id: String,
    /// Its epoch.
    pub epoch: u64,
    /// The processor's tier (its own, else its workspace's): its weight in a node's load.
    pub tier: Tier,
}

/// A processor stored as STARTED that no node holds a lease on: it is not running anywhere.
#[derive(Debug, Clone, PartialEq)]
pub struct Orphan {
    /// The processor.
    pub processor_id: String,
    /// Its tier (its own, else its workspace's).
    pub tier: Tier,
}

/// The whole cluster as the store sees it at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterView {
    /// The store's clock when it was read.
    pub now: i64,
    /// Every node that ever started on the store, by id.
    pub nodes: Vec<Node>,
    /// The leases held now.
    pub leases: Vec<HeldLease>,
    /// The STARTED processors without a lease held now, by id.
    pub orphans: Vec<Orphan>,
}

/// Who runs a processor now.
#[derive(Debug, Clone, PartialEq)]
pub struct LeaseHolder {
    /// The node.
    pub node_id: String,
    /// Where its API listens.
    pub address: String,
    /// The lease's epoch.
    pub epoch: u64,
}

/// A processor run under a lease held now, named as users know it.
#[derive(Debug, Clone, PartialEq)]
pub struct PlacedProcessor {
    /// The node running it.
    pub node_id: String,
    /// Its project.
    pub group_id: String,
    /// Its workspace's name.
    pub workspace: String,
    /// Its name.
    pub name: String,
    /// Its stored state.
    pub state: ProcessorState,
}

/// What nodes sharing a store coordinate through it.
#[async_trait]
pub trait Coordination: Send + Sync {
    /// Records that node `id` started now at `address`, not draining (replacing what an earlier
    /// run of it left).
    async fn node_started(&self, id: &str, address: &str) -> StoreResult<()>;
    /// Records that node `id` is alive now; [`crate::StoreError::NotFound`] if its row is gone.
    async fn node_heartbeat(&self, id: &str) -> StoreResult<()>;
    /// Records that node `id` takes no new work: it is handing its processors over.
    async fn node_draining(&self, id: &str) -> StoreResult<()>;
    /// Every node that ever started on the store, by id.
    async fn nodes(&self) -> StoreResult<Vec<Node>>;

    /// Takes the lease of a processor for node `node_id` until `ttl_ms` from now, unless another
    /// node holds it now; the new epoch (one more than any before), or `None` when it is held.
    /// [`crate::StoreError::NotFound`] when the processor is gone.
    async fn acquire_lease(&self, processor_id: &str, node_id: &str, ttl_ms: i64) -> StoreResult<Option<u64>>;
    /// Extends every lease node `node_id` holds now to `ttl_ms` from now; the leases it still
    /// holds, with their epochs. A lease that expired meanwhile is not revived.
    async fn renew_leases(&self, node_id: &str, ttl_ms: i64) -> StoreResult<Vec<(String, u64)>>;
    /// Gives up the lease of a processor if node `node_id` still holds it with `epoch`; the epoch
    /// is kept for the next holder to exceed.
    async fn release_lease(&self, processor_id: &str, node_id: &str, epoch: u64) -> StoreResult<()>;
    /// Who holds the lease of a processor now, if anyone.
    async fn lease_holder(&self, processor_id: &str) -> StoreResult<Option<LeaseHolder>>;
    /// The nodes, the leases held now and the orphaned processors, read at one moment.
    async fn cluster_view(&self) -> StoreResult<ClusterView>;
    /// Every processor run under a lease held now, by project, workspace and name.
    async fn placed_processors(&self) -> StoreResult<Vec<PlacedProcessor>>;

    /// Stores the statistics (JSON) of processors whose lease node `node_id` holds (or held
    /// last); those of processors another node took since are left alone.
    async fn publish_stats(&self, node_id: &str, stats: &[(String, String)]) -> StoreResult<()>;
    /// The statistics last published for a processor, with when.
    async fn published_stats(&self, processor_id: &str) -> StoreResult<Option<(i64, String)>>;
    /// The statistics last published for each of these processors that has some, by id.
    async fn published_stats_of(&self, processor_ids: &[String]) -> StoreResult<Vec<(String, String)>>;
}
