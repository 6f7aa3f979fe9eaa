//! Workspace commands: `listStreamConnections` and `listWorkspaceDefaults`.

use bson::{doc, Bson, Document};
use sluice_api::operation::ops;

use super::processors::{filter_of, passes};
use super::{authorize, workspace, Reply};
use crate::error::CommandError;
use crate::session::Session;

/// The largest tier a processor may ask for.
const MAX_TIER: &str = "SP50";

/// `listStreamConnections: 1, filter: {...}`: each connection's name and type (never its
/// settings, which may hold secrets).
pub async fn connections(s: &mut Session, db: &str, cmd: &Document) -> Reply {
    authorize(s, &ops::LIST_CONNECTIONS, "listStreamConnections")?;
    let w = workspace(s, db).await?;
    let filter = filter_of(cmd)?;
    let all = s.state.store.connections(&w.id).await.map_err(|e| CommandError::internal(e.to_string()))?;
    let items: Vec<Bson> = all
        .iter()
        .map(|c| doc! {"name": &c.name, "type": c.ctype.as_str(), "state": "READY"})
        .filter(|d| passes(&filter, d))
        .map(Bson::Document)
        .collect();
    Ok(doc! {"connections": items})
}

/// `listWorkspaceDefaults: 1`: the workspace's tier and the largest one.
pub async fn defaults(s: &mut Session, db: &str) -> Reply {
    authorize(s, &ops::GET_WORKSPACE, "listWorkspaceDefaults")?;
    let w = workspace(s, db).await?;
    Ok(doc! {"defaultTierSize": w.tier.as_str(), "maxTierSize": MAX_TIER})
}
