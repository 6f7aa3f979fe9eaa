//! This server as one node of several sharing a PostgreSQL store: its id, and the address the
//! other nodes reach it at. Its heartbeat, leases and placement are the controller's
//! (`Controller::join_cluster`).

use std::net::SocketAddr;

/// The default node id: the host name and the API's port.
pub fn default_id(port: u16) -> String {
    format!("{}:{}", host_name(), port)
}

/// Where the other nodes reach this one's API listening on `local`: that address, with the
/// host name when it listens on every interface.
pub fn advertised(local: SocketAddr) -> String {
    if local.ip().is_unspecified() {
        format!("{}:{}", host_name(), local.port())
    } else {
        local.to_string()
    }
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
