//! Processor lifecycle: one transition table ([`lifecycle`]), and a [`Controller`] that writes the
//! desired state to the store and starts or stops engine runs to match. The API never touches a
//! running operator; it asks the controller.

mod actor;
mod checkpointing;
mod cluster;
mod controller;
mod endpoints;
mod error;
mod ids;
pub mod lifecycle;
mod oplog;
mod recovery;
mod request;
mod runner;
mod saved_state;
mod services;

pub use checkpointing::{fingerprint, CheckpointInfo, Checkpointer};
pub use cluster::forward::{PATH as FORWARD_PATH, TOKEN_HEADER as NODE_TOKEN_HEADER};
pub use cluster::membership::ClusterListing;
pub use cluster::placement::{node_state, NodeState};
pub use cluster::{ClusterConfig, LEASE_TTL, RENEW_EVERY};
pub use controller::Controller;
pub use endpoints::TEST_LOG;
pub use error::ControlError;
pub use ids::{new_id, now_ms, random_hex};
pub use lifecycle::{Action, TransitionError};
pub use request::{Modification, StartOptions};
pub use runner::LiveStats;
pub use saved_state::StageState;
pub use services::{CHECKPOINT_INTERVAL_OPTION, DEFAULT_CHECKPOINT_EVERY, MAX_STATE_OPTION, RETRY_LIMIT_OPTION};
/// Where `:resetOffsets` moves a processor's source.
pub use sluice_engine::ResetTo;
