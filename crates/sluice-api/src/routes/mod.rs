//! One file per route group.

pub mod cluster;
pub mod connections;
pub mod enos;
pub mod failover;
pub mod logs;
pub mod metrics;
pub mod networking;
pub mod oauth;
pub mod processor_state;
pub mod processors;
pub mod workspaces;
