//! Failover connections of a Kafka or Cluster connection
//! (`.../{tenantName}/connections/{connectionName}/failoverConnections[/{id}]`). Atlas switches to
//! them when a workspace fails over to another region. A self-hosted Sluice has one region and no
//! failover (`processorStatus: FAILED_OVER` is refused), so they are kept as declared, `READY`,
//! for the day the processors move: stored, shown (secrets never), changed and deleted.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Map, Value as Json};
use sluice_control::{new_id, now_ms};
use sluice_store::{Connection, NetworkKind, NetworkResource, StoreError, Workspace};

use crate::body::{parse_object, parse_required_object, Obj};
use crate::call::{Call, Ctx};
use crate::error::ApiError;
use crate::operation::ops;
use crate::paging::PageQuery;
use crate::reply;
use crate::request_schema::RequestSchema;
use crate::routes::connections::find_conn;
use crate::routes::workspaces::find;
use crate::shape::redacted;
use crate::state::AppState;

/// The hidden field that ties a stored failover connection to its connection.
const OWNER: &str = "_connectionId";

fn fields_for(ctype: &str) -> &'static [&'static str] {
    match ctype {
        "Kafka" => {
            &["name", "type", "region", "bootstrapServers", "authentication", "security", "config", "networking"]
        }
        _ => &["name", "type", "region", "clusterName", "clusterGroupId", "dbRoleToExecute", "connectionString"],
    }
}

/// The declared fields, checked against the primary connection's type.
fn declared(body: &[u8], primary: &Connection, creating: bool) -> Result<Map<String, Json>, ApiError> {
    // A create may leave fields out (they are then missing); a PATCH must send a body.
    let map = if creating { parse_object(body)? } else { parse_required_object(body)? };
    let root = Obj::root(&map);
    let ctype = primary.ctype.as_str();
    if !matches!(ctype, "Kafka" | "Cluster") {
        return Err(ApiError::invalid_attribute(
            "type",
            "only Kafka and Cluster connections have failover connections",
        ));
    }
    let mut allowed = fields_for(ctype).to_vec();
    allowed.extend(["id", "state", "links"]);
    root.only(&allowed)?;
    match root.str("type")? {
        Some(t) if t != ctype => {
            return Err(ApiError::invalid_attribute("type", &format!("must be {}, the type of the connection", ctype)))
        }
        None if creating => return Err(ApiError::missing_attribute("type")),
        _ => {}
    }
    if creating && ctype == "Kafka" {
        root.req_str("bootstrapServers")?;
    }
    if creating && ctype == "Cluster" && root.get("clusterName").is_none() && root.get("connectionString").is_none() {
        return Err(ApiError::missing_attribute("clusterName"));
    }
    RequestSchema::FailoverConnection.check(&map)?;
    Ok(map.into_iter().filter(|(k, _)| fields_for(ctype).contains(&k.as_str())).collect())
}

fn shown(ctx: &Ctx, self_path: &str, r: &NetworkResource) -> Json {
    let mut b = match redacted(&r.body) {
        Json::Object(m) => m,
        _ => Map::new(),
    };
    b.remove(OWNER);
    b.insert("id".into(), json!(r.id));
    b.insert("state".into(), json!(r.state));
    b.insert("links".into(), ctx.self_link(self_path));
    Json::Object(b)
}

fn not_found(id: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "STREAM_FAILOVER_CONNECTION_NOT_FOUND",
        format!("Failover connection {} not found.", id),
    )
    .params([id])
}

async fn owned(state: &AppState, group: &str, conn: &Connection, id: &str) -> Result<NetworkResource, ApiError> {
    match state.store.network(group, NetworkKind::Failover, id).await {
        Ok(r) if r.body.get(OWNER).and_then(Json::as_str) == Some(conn.id.as_str()) => Ok(r),
        Ok(_) | Err(StoreError::NotFound) => Err(not_found(id)),
        Err(e) => Err(e.into()),
    }
}

/// The failover connections of connection `conn_id`.
async fn failovers_of(state: &AppState, group: &str, conn_id: &str) -> Result<Vec<NetworkResource>, ApiError> {
    let all = state.store.networks(group, NetworkKind::Failover).await?;
    Ok(all.into_iter().filter(|r| r.body.get(OWNER).and_then(Json::as_str) == Some(conn_id)).collect())
}

/// Deletes the failover connections of connection `conn_id` (with the connection itself).
pub(crate) async fn delete_failovers_of(state: &AppState, group: &str, conn_id: &str) -> Result<(), ApiError> {
    for r in failovers_of(state, group, conn_id).await? {
        state.store.delete_network(&r.id).await?;
    }
    Ok(())
}

async fn primary(state: &AppState, ctx: &Ctx, tenant: &str, name: &str) -> Result<(Workspace, Connection), ApiError> {
    let w = find(state, ctx, tenant).await?;
    let c = find_conn(state, ctx, &w, name).await?;
    Ok((w, c))
}

/// GET `.../failoverConnections`
pub async fn list(
    State(state): State<Arc<AppState>>,
    call: Call,
    Path((group, tenant, name)): Path<(String, String, String)>,
    Query(q): Query<PageQuery>,
) -> Result<Response, ApiError> {
    let ctx = call.begin(&state, &ops::LIST_FAILOVERS, &group).await?;
    let page = q.page()?;
    let (_, conn) = primary(&state, &ctx, &tenant, &name).await?;
    let items = failovers_of(&state, &group, &conn.id)
        .await?
        .iter()
        .map(|r| shown(&ctx, &format!("{}/{}", call.path, r.id), r))
        .collect();
    Ok(reply::list(page.body(items, ctx.self_link(&call.path)), &ctx.version, ctx.flags))
}

/// POST `.../failoverConnections`: 201.
pub async fn create(
    State(state): State<Arc<AppState>>,
    call: Call,
    Path((group, tenant, name)): Path<(String, String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let ctx = call.begin(&state, &ops::CREATE_FAILOVER, &group).await?;
    let (_, conn) = primary(&state, &ctx, &tenant, &name).await?;
    let mut fields = declared(&body, &conn, true)?;
    // One failover connection per region: it is where the workspace's processors would move.
    let region = fields.get("region").cloned();
    if let Some(taken) =
        failovers_of(&state, &group, &conn.id).await?.iter().find(|r| r.body.get("region") == region.as_ref())
    {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "STREAM_FAILOVER_CONNECTION_ALREADY_EXISTS",
            format!("Connection {} already has failover connection {} for this region.", conn.name, taken.id),
        )
        .params([conn.name.as_str(), taken.id.as_str()]));
    }
    fields.insert(OWNER.into(), json!(conn.id));
    let r = NetworkResource {
        id: new_id(),
        group_id: group.clone(),
        kind: NetworkKind::Failover,
        body: Json::Object(fields),
        state: "READY".into(),
        created_at: now_ms(),
    };
    state.store.insert_network(&r).await?;
    Ok(reply::ok(StatusCode::CREATED, shown(&ctx, &format!("{}/{}", call.path, r.id), &r), &ctx.version, ctx.flags))
}

/// GET `.../failoverConnections/{failoverConnectionId}`
pub async fn get(
    State(state): State<Arc<AppState>>,
    call: Call,
    Path((group, tenant, name, id)): Path<(String, String, String, String)>,
) -> Result<Response, ApiError> {
    let ctx = call.begin(&state, &ops::GET_FAILOVER, &group).await?;
    let (_, conn) = primary(&state, &ctx, &tenant, &name).await?;
    let r = owned(&state, &group, &conn, &id).await?;
    Ok(reply::ok(StatusCode::OK, shown(&ctx, &call.path, &r), &ctx.version, ctx.flags))
}

/// PATCH `.../failoverConnections/{failoverConnectionId}`: the given fields replace theirs.
pub async fn update(
    State(state): State<Arc<AppState>>,
    call: Call,
    Path((group, tenant, name, id)): Path<(String, String, String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let ctx = call.begin(&state, &ops::UPDATE_FAILOVER, &group).await?;
    let (_, conn) = primary(&state, &ctx, &tenant, &name).await?;
    let fields = declared(&body, &conn, false)?;
    let mut r = owned(&state, &group, &conn, &id).await?;
    if let Json::Object(m) = &mut r.body {
        m.extend(fields);
        // The record as it will be stored must be what the contract describes.
        let mut declared = m.clone();
        declared.remove(OWNER);
        declared.insert("type".into(), json!(conn.ctype.as_str()));
        RequestSchema::FailoverConnection.check(&declared)?;
    }
    state.store.update_network(&r).await?;
    Ok(reply::ok(StatusCode::OK, shown(&ctx, &call.path, &r), &ctx.version, ctx.flags))
}

/// DELETE `.../failoverConnections/{failoverConnectionId}`: 204.
pub async fn delete(
    State(state): State<Arc<AppState>>,
    call: Call,
    Path((group, tenant, name, id)): Path<(String, String, String, String)>,
) -> Result<Response, ApiError> {
    let ctx = call.begin(&state, &ops::DELETE_FAILOVER, &group).await?;
    let (_, conn) = primary(&state, &ctx, &tenant, &name).await?;
    owned(&state, &group, &conn, &id).await?;
    state.store.delete_network(&id).await?;
    let mut r = reply::ok(StatusCode::NO_CONTENT, Json::Null, &ctx.version, ctx.flags);
    if !ctx.flags.envelope {
        *r.body_mut() = axum::body::Body::empty();
    }
    Ok(r)
}
