//! This server as one node of several sharing a PostgreSQL store: its id, the row it writes when
//! it starts and the heartbeat it keeps fresh while it runs.

use std::time::Duration;

use sluice_control::now_ms;
use sluice_store::{PostgresStore, StoreError};

/// How often a node says it is alive.
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(2);

/// The default node id: the host name and the API's port.
pub fn default_id(port: u16) -> String {
    format!("{}:{}", host_name(), port)
}

/// The kernel's host name, else `HOSTNAME`, else `localhost`.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

/// Records the node's start at `address` in the store, then refreshes its heartbeat every
/// [`HEARTBEAT_EVERY`] for as long as the server runs.
pub async fn announce(store: &PostgresStore, id: &str, address: &str) -> Result<(), String> {
    store.node_started(id, address, now_ms()).await.map_err(|e| format!("cannot record node {}: {}", id, e))?;
    let (store, id, address) = (store.clone(), id.to_string(), address.to_string());
    tokio::spawn(async move {
        let mut every = tokio::time::interval(HEARTBEAT_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The first tick is now, and the start was just recorded.
        every.tick().await;
        loop {
            every.tick().await;
            let beat = match store.node_heartbeat(&id, now_ms()).await {
                // Its row was removed meanwhile: write it again.
                Err(StoreError::NotFound) => store.node_started(&id, &address, now_ms()).await,
                other => other,
            };
            if let Err(e) = beat {
                tracing::warn!(node = %id, error = %e, "node heartbeat not recorded");
            }
        }
    });
    Ok(())
}
