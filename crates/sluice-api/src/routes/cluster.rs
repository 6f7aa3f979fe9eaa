//! `GET /api/sluice/v1/cluster` (a Sluice extension): the nodes sharing the store and the
//! processors each runs, only the caller's project's shown; any project role may read it. A
//! single server answers as a cluster of one. Also the route other nodes forward lifecycle
//! requests to, which takes the nodes' token instead of a user's credentials.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value as Json};
use sluice_control::{node_state, NodeState, NODE_TOKEN_HEADER};
use sluice_types::ProcessorState;

use crate::call::Call;
use crate::error::{control_error, ApiError};
use crate::operation::ops;
use crate::reply;
use crate::shape::iso;
use crate::state::AppState;

/// GET `/api/sluice/v1/cluster`
pub async fn get(State(state): State<Arc<AppState>>, call: Call) -> Result<Response, ApiError> {
    let group = call.principal.project_id.clone();
    call.authorize(&state, &ops::CLUSTER, &group).await?;
    let listing = state.controller.cluster_listing().await.map_err(|e| control_error("cluster", e))?;
    let nodes = match listing {
        Some(listing) => listing
            .nodes
            .iter()
            .map(|n| {
                let processors: Vec<Json> = listing
                    .placed
                    .iter()
                    .filter(|p| p.node_id == n.id && p.group_id == group)
                    .map(|p| json!({"groupId": p.group_id, "workspace": p.workspace, "name": p.name, "state": p.state.as_str()}))
                    .collect();
                json!({"id": n.id, "address": n.address, "lastHeartbeat": iso(n.last_heartbeat),
                    "state": node_state(n, listing.now).as_str(), "processors": processors})
            })
            .collect(),
        None => vec![alone(&state, &group).await?],
    };
    Ok(reply::json_response(StatusCode::OK, json!({"nodes": nodes}), false, call.flags, "application/json"))
}

/// A single server as the one node of its cluster.
async fn alone(state: &AppState, group: &str) -> Result<Json, ApiError> {
    let mut processors = Vec::new();
    for w in state.store.workspaces(group).await? {
        for p in state.store.processors(&w.id).await? {
            if matches!(p.state, ProcessorState::Started | ProcessorState::Paused) {
                processors
                    .push(json!({"groupId": group, "workspace": w.name, "name": p.name, "state": p.state.as_str()}));
            }
        }
    }
    let address = state.hostnames.first().cloned().unwrap_or_default();
    Ok(json!({"id": state.node_id, "address": address, "lastHeartbeat": iso(sluice_control::now_ms()),
        "state": NodeState::Live.as_str(), "processors": processors}))
}

/// POST `/api/sluice/v1/internal/processors/{processorId}`: a lifecycle request another node
/// forwards to this one, which runs the processor.
pub async fn forwarded(
    State(state): State<Arc<AppState>>,
    Path(processor_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let token = headers.get(NODE_TOKEN_HEADER).and_then(|v| v.to_str().ok());
    let (status, answer) = state.controller.serve_forwarded(token, &processor_id, &body).await;
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, axum::Json(answer)).into_response()
}
