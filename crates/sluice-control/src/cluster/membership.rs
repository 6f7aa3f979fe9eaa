//! The controller as one node of several: joining (its row, then the loops that keep its
//! heartbeat and leases and take orphaned processors), sending requests to the node that runs a
//! processor, taking those the others send, and what the cluster looks like.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, Weak};

use serde_json::{json, Value as Json};
use sluice_store::{Node, PlacedProcessor, StoreError};

use super::{forward, placement, Cluster, ClusterConfig, Route, RENEW_EVERY, SCAN_EVERY};
use crate::actor::Request;
use crate::controller::Controller;
use crate::error::ControlError;
use crate::runner::LiveStats;
use crate::services::publish;

/// The cluster at one moment, for the API.
pub struct ClusterListing {
    /// The store's clock when it was read.
    pub now: i64,
    /// Every node, by id.
    pub nodes: Vec<Node>,
    /// The processors running under a lease, with their nodes.
    pub placed: Vec<PlacedProcessor>,
}

impl Controller {
    /// Joins the nodes sharing the store: records this node, then keeps its heartbeat, renews its
    /// leases and publishes its runs' statistics every [`RENEW_EVERY`], and takes its share of
    /// orphaned processors every [`SCAN_EVERY`] (the first time at once: a node starting resumes
    /// its share of what was running). Replaces [`Controller::recover`] for such a node.
    pub async fn join_cluster(self: &Arc<Self>, config: ClusterConfig) -> Result<(), String> {
        config
            .store
            .node_started(&config.node_id, &config.address)
            .await
            .map_err(|e| format!("cannot record node {}: {}", config.node_id, e))?;
        let cluster = Arc::new(Cluster::new(config)?);
        if self.services.cluster.set(cluster).is_err() {
            return Err("this server already joined the cluster".into());
        }
        tokio::spawn(keep_alive(Arc::downgrade(self)));
        tokio::spawn(take_orphans(Arc::downgrade(self)));
        Ok(())
    }

    /// The nodes and where processors run; `None` on a single server.
    pub async fn cluster_listing(&self) -> Result<Option<ClusterListing>, ControlError> {
        let Some(cluster) = self.services.cluster.get() else { return Ok(None) };
        let view = cluster.store.cluster_view().await?;
        let placed = cluster.store.placed_processors().await?;
        Ok(Some(ClusterListing { now: view.now, nodes: view.nodes, placed }))
    }

    /// Whether `token` is the node token of this cluster (no single server has one).
    pub fn is_node_token(&self, token: &str) -> bool {
        self.services.cluster.get().is_some_and(|c| c.peers.accepts(token))
    }

    /// Carries out a request another node forwarded (`token` is what the call presented):
    /// the HTTP status and the body to answer.
    pub async fn serve_forwarded(&self, token: Option<&str>, processor_id: &str, body: &[u8]) -> (u16, Json) {
        if self.services.cluster.get().is_none() {
            return (404, forward::error_json(&ControlError::Internal("this server is not one of several".into())));
        }
        if !token.is_some_and(|t| self.is_node_token(t)) {
            return (401, forward::error_json(&ControlError::Internal("not a node of this cluster".into())));
        }
        let request =
            match serde_json::from_slice::<Json>(body).map_err(|e| e.to_string()).and_then(|j| forward::request_of(&j))
            {
                Ok(r) => r,
                Err(m) => return (400, forward::error_json(&ControlError::Internal(m))),
            };
        let deleted = matches!(request, Request::Delete);
        match self.actor(processor_id).ask(request).await {
            Ok(_) => {
                if deleted {
                    self.forget(processor_id);
                }
                (200, json!({}))
            }
            Err(e) => (422, forward::error_json(&e)),
        }
    }

    /// With several nodes, sends `request` to the node that runs the processor (or should start
    /// it) when that is another; whether it did.
    pub(crate) async fn forwarded(&self, processor_id: &str, request: &Request) -> Result<bool, ControlError> {
        let Some(cluster) = self.services.cluster.get() else { return Ok(false) };
        let Route::There(address) = cluster.route(processor_id, request).await? else { return Ok(false) };
        let Some(body) = forward::request_json(request) else { return Ok(false) };
        cluster.peers.forward(&address, processor_id, &body).await?;
        Ok(true)
    }

    /// The statistics other nodes last published for these processors, by id (none on a single
    /// server).
    pub(crate) async fn published_stats_of(&self, ids: &[String]) -> HashMap<String, LiveStats> {
        let Some(cluster) = self.services.cluster.get() else { return HashMap::new() };
        match cluster.store.published_stats_of(ids).await {
            Ok(rows) => rows.into_iter().filter_map(|(id, j)| Some((id, serde_json::from_str(&j).ok()?))).collect(),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the processors' published statistics");
                HashMap::new()
            }
        }
    }

    /// The statistics the node running a processor last published, with several nodes.
    pub(crate) async fn published_stats(&self, processor_id: &str) -> Option<LiveStats> {
        self.published_stats_of(&[processor_id.to_string()]).await.remove(processor_id)
    }
}

/// Every [`RENEW_EVERY`]: the heartbeat, the leases, the statistics.
async fn keep_alive(controller: Weak<Controller>) {
    let mut every = tokio::time::interval(RENEW_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let Some(c) = controller.upgrade() else { return };
        let Some(cluster) = c.services.cluster.get() else { return };
        let beat = match cluster.store.node_heartbeat(&cluster.node_id).await {
            // Its row was removed meanwhile: write it again.
            Err(StoreError::NotFound) => cluster.store.node_started(&cluster.node_id, &cluster.address).await,
            other => other,
        };
        if let Err(e) = beat {
            tracing::warn!(error = %e, "node heartbeat not recorded");
        }
        cluster.keeper.renew().await;
        let stats = c.services.running_stats();
        if !stats.is_empty() {
            publish(cluster, &stats).await;
        }
    }
}

/// Every [`SCAN_EVERY`]: runs this node's share of the processors that run nowhere.
async fn take_orphans(controller: Weak<Controller>) {
    let taking: Arc<Mutex<HashSet<String>>> = Arc::default();
    let mut every = tokio::time::interval(SCAN_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let Some(c) = controller.upgrade() else { return };
        let Some(cluster) = c.services.cluster.get() else { return };
        if cluster.draining() {
            return;
        }
        let view = match cluster.store.cluster_view().await {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the cluster's leases");
                continue;
            }
        };
        for id in placement::orphans_for(&view, &cluster.node_id) {
            // One ask at a time per processor: a slow start is not asked again meanwhile.
            if !taking.lock().map(|mut t| t.insert(id.clone())).unwrap_or(false) {
                continue;
            }
            let (c, taking) = (c.clone(), taking.clone());
            tokio::spawn(async move {
                match c.recover_these(vec![id.clone()], None).await {
                    Ok(1) => tracing::info!(processor = %id, "took over an orphaned processor"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(processor = %id, error = %e, "cannot take over an orphaned processor"),
                }
                if let Ok(mut t) = taking.lock() {
                    t.remove(&id);
                }
            });
        }
    }
}
