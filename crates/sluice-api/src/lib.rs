//! Sluice's HTTP API: the Atlas Admin API v2 "Streams" routes (same paths, fields, status codes,
//! error bodies, versioned media types, `envelope` and `pretty`), HTTP Digest API keys and
//! service-account bearer tokens, and a role check on every operation. Handlers are thin: they
//! check the request and ask the store or the controller.

mod action_methods;
pub mod auth;
mod body;
mod call;
pub mod console;
pub mod error;
pub mod limits;
mod negotiate;
pub mod openapi_schema;
pub mod operation;
mod paging;
pub mod processor_requests;
mod rate_limit;
mod rejection;
mod reply;
mod request_schema;
mod routes;
pub mod server;
mod shape;
mod state;

use std::sync::Arc;

use axum::routing::{delete, get, post};
use axum::Router;

pub use call::is_object_id;
/// The `stats` object of a processor, as the API shows it (the wire protocol shows the same).
pub use shape::stats as processor_stats;
pub use state::AppState;

use call::Call;
use error::ApiError;
use routes::{
    cluster, connections, enos, failover, logs, metrics, networking, oauth, processor_state, processors, workspaces,
};

/// Every route not in the contract answers 404 in Atlas's shape, after authentication.
async fn not_found(call: Call) -> ApiError {
    ApiError::no_such_resource(&call.path)
}

/// The whole API.
pub fn router(state: Arc<AppState>) -> Router {
    const G: &str = "/api/atlas/v2/groups/{groupId}";
    let r = Router::new()
        .route(&format!("{G}/streams"), get(workspaces::list).post(workspaces::create))
        .route(&format!("{G}/streams:withSampleConnections"), post(workspaces::create_with_samples))
        .route(&format!("{G}/streams/accountDetails"), get(networking::account_details))
        .route(
            &format!("{G}/streams/privateLinkConnections"),
            get(networking::list_private_links).post(networking::create_private_link),
        )
        .route(
            &format!("{G}/streams/privateLinkConnections/{{connectionId}}"),
            get(networking::get_private_link)
                .patch(networking::update_private_link)
                .delete(networking::delete_private_link),
        )
        .route(&format!("{G}/streams/vpcPeeringConnections"), get(networking::list_peerings))
        .route(&format!("{G}/streams/activeVpcPeeringConnections"), get(networking::list_peerings))
        .route(
            &format!("{G}/streams/vpcPeeringConnections/{{id}}"),
            post(networking::peering_action)
                .delete(networking::peering_action)
                .layer(axum::middleware::from_fn(action_methods::vpc_peering)),
        )
        .route(
            &format!("{G}/streams/{{tenantName}}"),
            get(workspaces::get)
                .patch(workspaces::update)
                .delete(workspaces::delete)
                .layer(axum::middleware::from_fn(action_methods::workspace)),
        )
        .route(&format!("{G}/streams/{{tenantName}}/auditLogs"), get(logs::audit))
        .route(&format!("{G}/streams/{{tenantName}}/connections"), get(connections::list).post(connections::create))
        .route(
            &format!("{G}/streams/{{tenantName}}/connections/{{connectionName}}"),
            get(connections::get)
                .patch(connections::update)
                .delete(connections::delete)
                .post(connections::check)
                .layer(axum::middleware::from_fn(action_methods::connection)),
        )
        .route(
            &format!("{G}/streams/{{tenantName}}/connections/{{connectionName}}/failoverConnections"),
            get(failover::list).post(failover::create),
        )
        .route(
            &format!("{G}/streams/{{tenantName}}/connections/{{connectionName}}/failoverConnections/{{failoverConnectionId}}"),
            get(failover::get).patch(failover::update).delete(failover::delete),
        )
        .route(&format!("{G}/streams/{{tenantName}}/processor"), post(processors::create))
        .route(
            &format!("{G}/streams/{{tenantName}}/processor/{{processorName}}"),
            get(processors::get)
                .patch(processors::update)
                .delete(processors::delete)
                .post(processors::action)
                .layer(axum::middleware::from_fn(action_methods::processor)),
        )
        .route(&format!("{G}/streams/{{tenantName}}/processor/{{processorName}}/sample"), get(processors::sample))
        .route(&format!("{G}/streams/{{tenantName}}/processor/{{processorName}}/dlq"), get(processors::dlq))
        .route(&format!("{G}/streams/{{tenantName}}/processor/{{processorName}}/state"), get(processor_state::get))
        .route(
            &format!("{G}/streams/{{tenantName}}/processor/{{processorName}}/state/{{stageIndex}}"),
            delete(processor_state::delete),
        )
        .route(&format!("{G}/streams/{{tenantName}}/processors"), get(processors::list))
        .route("/api/oauth/token", post(oauth::token))
        .route("/metrics", get(metrics::metrics))
        .route("/api/sluice/v1/cluster", get(cluster::get))
        .route(sluice_control::FORWARD_PATH, post(cluster::forwarded))
        .route("/streaming/v2.0/streaming/pipeline/{pipelineId}", get(enos::get).post(enos::action))
        .route("/streaming/v2.0/streaming/pipelines", get(enos::list))
        .merge(console::routes())
        .fallback(not_found)
        .layer(axum::extract::DefaultBodyLimit::max(limits::MAX_BODY_BYTES))
        .with_state(state.clone());
    r.layer(axum::middleware::from_fn_with_state(state, call::shape_errors))
}
