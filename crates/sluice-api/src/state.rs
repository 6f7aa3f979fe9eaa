//! What every handler shares.

use std::sync::Arc;

use sluice_control::Controller;
use sluice_store::{LogEvent, LogKind, MetadataStore};

use crate::auth::Authenticator;

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
}

impl AppState {
    /// State over a store and a controller.
    pub fn new(store: Arc<dyn MetadataStore>, controller: Arc<Controller>, hostnames: Vec<String>) -> Arc<AppState> {
        Arc::new(AppState { auth: Authenticator::new(store.clone()), store, controller, hostnames })
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
