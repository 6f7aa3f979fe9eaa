//! What every handler shares.

use std::sync::Arc;

use sluice_control::Controller;
use sluice_store::{LogEvent, LogKind, MetadataStore};

use crate::auth::Authenticator;
use crate::rate_limit::RateLimiter;

/// The server's shared state.
pub struct AppState {
    /// Metadata.
    pub store: Arc<dyn MetadataStore>,
    /// Processor lifecycle.
    pub controller: Arc<Controller>,
    /// Credentials.
    pub auth: Authenticator,
    /// Host names a workspace reports (`hostnames`): where this server listens.
    pub hostnames: Vec<String>,
    /// Request budgets per caller.
    pub limiter: RateLimiter,
    /// This server's id among the nodes sharing its store (`--node-id`).
    pub node_id: String,
    /// Requests without credentials handled at once ([`crate::limits::ANONYMOUS_IN_FLIGHT`]).
    pub anonymous: tokio::sync::Semaphore,
}

impl AppState {
    /// State over a store and a controller; each caller may make `rate_limit` requests per
    /// second (0: no limit).
    pub fn new(
        store: Arc<dyn MetadataStore>,
        controller: Arc<Controller>,
        hostnames: Vec<String>,
        rate_limit: u32,
    ) -> Arc<AppState> {
        AppState::for_node(store, controller, hostnames, rate_limit, String::new())
    }

    /// [`AppState::new`] for the node `node_id`.
    pub fn for_node(
        store: Arc<dyn MetadataStore>,
        controller: Arc<Controller>,
        hostnames: Vec<String>,
        rate_limit: u32,
        node_id: String,
    ) -> Arc<AppState> {
        Arc::new(AppState {
            auth: Authenticator::new(store.clone()),
            store,
            controller,
            hostnames,
            limiter: RateLimiter::new(rate_limit),
            anonymous: tokio::sync::Semaphore::new(crate::limits::ANONYMOUS_IN_FLIGHT),
            node_id,
        })
    }

    /// Records who changed what in a workspace's audit log. Never the request body: it may hold secrets.
    pub async fn audit(&self, workspace_id: &str, subject: &str, action: &str, target: &str) {
        let line = serde_json::json!({"user": subject, "action": action, "target": target}).to_string();
        let e = LogEvent {
            workspace_id: workspace_id.to_string(),
            kind: LogKind::Audit,
            at_ms: sluice_control::now_ms(),
            line,
        };
        if let Err(err) = self.store.append_log(&e).await {
            tracing::warn!(error = %err, "cannot write an audit log line");
        }
    }
}
