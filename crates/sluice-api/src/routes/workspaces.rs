//! Stream workspaces (Atlas "stream instances", path parameter `tenantName`).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{json, Value as Json};
use sluice_control::{new_id, now_ms, StartOptions};
use sluice_store::{Connection, StoreError, Workspace};
use sluice_types::{ConnectionType, ProcessorState, Tier};

use crate::body::{parse_object, parse_required_object, Obj};
use crate::call::{Call, Ctx};
use crate::error::ApiError;
use crate::operation::ops;
use crate::paging::PageQuery;
use crate::reply;
use crate::request_schema::RequestSchema;
use crate::shape;
use crate::state::AppState;

const PROVIDERS: &[&str] = &["AWS", "GCP", "AZURE", "TENANT", "SERVERLESS"];
const AWS_REGIONS: &[&str] = &[
    "SYDNEY_AUS",
    "MUMBAI_IND",
    "FRANKFURT_DEU",
    "DUBLIN_IRL",
    "LONDON_GBR",
    "VIRGINIA_USA",
    "OHIO_USA",
    "OREGON_USA",
    "SAOPAULO_BRA",
    "MONTREAL_CAN",
    "TOKYO_JPN",
    "SINGAPORE_SGP",
    "PARIS_FRA",
    "SEOUL_KOR",
];
const AZURE_REGIONS: &[&str] = &["eastus", "westus", "eastus2", "westeurope", "brazilsouth", "australiaeast"];
const GCP_REGIONS: &[&str] = &["US_CENTRAL1", "EUROPE_WEST1", "US_EAST4"];
const TIERS: &[&str] = &["SP2", "SP5", "SP10", "SP30", "SP50"];
/// Reads `failoverRegions`: an empty list is accepted; a region is refused, since a Sluice
/// workspace runs in one region (the contract's field is known, only the request cannot be met).
fn no_failover_regions(root: &Obj) -> Result<(), ApiError> {
    match root.get("failoverRegions") {
        None => Ok(()),
        Some(Json::Array(a)) if a.is_empty() => Ok(()),
        Some(Json::Array(_)) => Err(ApiError::invalid_attribute(
            "failoverRegions",
            "a single-region Sluice workspace cannot have failover regions",
        )),
        Some(_) => Err(ApiError::invalid_attribute("failoverRegions", "must be an array of regions")),
    }
}

/// Atlas's default tier for a workspace.
const DEFAULT_TIER: Tier = Tier::SP30;

/// Loads a workspace of the request's project or answers Atlas's 404.
pub async fn find(state: &AppState, ctx: &Ctx, name: &str) -> Result<Workspace, ApiError> {
    match state.store.workspace(&ctx.group_id, name).await {
        Ok(w) => Ok(w),
        Err(StoreError::NotFound) => Err(ApiError::tenant_not_found(&ctx.group_id, name)),
        Err(e) => Err(e.into()),
    }
}

/// A workspace name: 1-64 letters, digits, `-` or `_`.
pub fn check_name(path: &str, name: &str) -> Result<(), ApiError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid_attribute(path, "must be 1 to 64 letters, digits, '-' or '_'"))
    }
}

/// `(cloudProvider, region)` checked against the contract's enumerations.
fn region(obj: &Obj, provider_key: &str, region_key: &str, prefix: &str) -> Result<Option<(String, String)>, ApiError> {
    let provider = obj.enumerated(provider_key, PROVIDERS)?;
    let region = obj.str(region_key)?;
    let (provider, region) = match (provider, region) {
        (None, None) => return Ok(None),
        (Some(p), Some(r)) => (p, r),
        (None, Some(_)) => return Err(ApiError::missing_attribute(&format!("{}{}", prefix, provider_key))),
        (Some(_), None) => return Err(ApiError::missing_attribute(&format!("{}{}", prefix, region_key))),
    };
    let allowed = match provider {
        "AWS" => Some(AWS_REGIONS),
        "AZURE" => Some(AZURE_REGIONS),
        "GCP" => Some(GCP_REGIONS),
        _ => None,
    };
    if allowed.is_some_and(|a| !a.contains(&region)) {
        return Err(ApiError::invalid_enum(&format!("{}{}", prefix, region_key), region));
    }
    Ok(Some((provider.to_string(), region.to_string())))
}

fn tier(obj: &Obj) -> Result<Option<Tier>, ApiError> {
    match obj.obj("streamConfig")? {
        None => Ok(None),
        Some(sc) => {
            sc.only(&["tier"])?;
            Ok(sc.enumerated("tier", TIERS)?.and_then(Tier::parse))
        }
    }
}

/// The sample connection a workspace gets with `sampleConnections.solar`.
fn solar(workspace_id: &str) -> Connection {
    Connection {
        id: new_id(),
        workspace_id: workspace_id.to_string(),
        name: "sample_stream_solar".into(),
        ctype: ConnectionType::Sample,
        config: json!({}),
        created_at: now_ms(),
    }
}

async fn create_inner(
    state: &AppState,
    call: &Call,
    group: &str,
    body: &[u8],
    op: &crate::operation::Operation,
    force_solar: bool,
) -> Result<Response, ApiError> {
    let ctx = call.begin(state, op, group).await?;
    let map = parse_object(body)?;
    let root = Obj::root(&map);
    root.only(&["name", "dataProcessRegion", "streamConfig", "sampleConnections", "failoverRegions"])?;
    no_failover_regions(&root)?;
    let name = root.req_str("name")?;
    check_name("name", name)?;
    let dpr = root.req_obj("dataProcessRegion")?;
    dpr.only(&["cloudProvider", "region"])?;
    let (provider, region) = match region(&dpr, "cloudProvider", "region", "dataProcessRegion.")? {
        Some(x) => x,
        None => return Err(ApiError::missing_attribute("dataProcessRegion.cloudProvider")),
    };
    let with_solar = force_solar
        || match root.obj("sampleConnections")? {
            Some(s) => {
                s.only(&["solar"])?;
                s.bool("solar")?.unwrap_or(false)
            }
            None => false,
        };
    let w = Workspace {
        id: new_id(),
        group_id: ctx.group_id.clone(),
        name: name.to_string(),
        cloud_provider: provider,
        region,
        tier: tier(&root)?.unwrap_or(DEFAULT_TIER),
        created_at: now_ms(),
    };
    RequestSchema::Workspace.check(&map)?;
    let conns = if with_solar { vec![solar(&w.id)] } else { Vec::new() };
    match state.store.insert_workspace(&w, &conns).await {
        Ok(()) => {}
        Err(StoreError::Conflict) => return Err(ApiError::tenant_exists(&ctx.group_id, name)),
        Err(e) => return Err(e.into()),
    }
    state.audit(&w.id, &ctx.subject, "createWorkspace", &w.name).await;
    // Atlas: creates answer 200.
    Ok(reply::ok(StatusCode::OK, shape::workspace(&ctx, &w, &conns, &state.hostnames), &ctx.version, ctx.flags))
}

/// POST `/groups/{groupId}/streams`
pub async fn create(
    State(state): State<Arc<AppState>>,
    call: Call,
    Path(group): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    create_inner(&state, &call, &group, &body, &ops::CREATE_WORKSPACE, false).await
}

/// POST `/groups/{groupId}/streams:withSampleConnections`
pub async fn create_with_samples(
    State(state): State<Arc<AppState>>,
    call: Call,
    Path(group): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    create_inner(&state, &call, &group, &body, &ops::CREATE_WITH_SAMPLES, true).await
}

/// GET `/groups/{groupId}/streams`
pub async fn list(
    State(state): State<Arc<AppState>>,
    call: Call,
    Path(group): Path<String>,
    Query(q): Query<PageQuery>,
) -> Result<Response, ApiError> {
    let ctx = call.begin(&state, &ops::LIST_WORKSPACES, &group).await?;
    let page = q.page()?;
    let mut items = Vec::new();
    for w in state.store.workspaces(&ctx.group_id).await? {
        let conns = state.store.connections(&w.id).await?;
        items.push(shape::workspace(&ctx, &w, &conns, &state.hostnames));
    }
    let links = ctx.self_link(&call.path);
    Ok(reply::list(page.body(items, links), &ctx.version, ctx.flags))
}

/// Query of GET workspace.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct GetQuery {
    include_connections: Option<String>,
}

/// GET `/groups/{groupId}/streams/{tenantName}`
pub async fn get(
    State(state): State<Arc<AppState>>,
    call: Call,
    Path((group, name)): Path<(String, String)>,
    Query(q): Query<GetQuery>,
) -> Result<Response, ApiError> {
    if let Some(tenant) = name.strip_suffix(":downloadOperationalLogs") {
        return crate::routes::logs::operational(&state, &call, &group, tenant).await;
    }
    let ctx = call.begin(&state, &ops::GET_WORKSPACE, &group).await?;
    let w = find(&state, &ctx, &name).await?;
    // The contract declares a boolean (true when left out); anything else is refused.
    let include = match q.include_connections.as_deref() {
        None => true,
        Some(v) if v.eq_ignore_ascii_case("true") => true,
        Some(v) if v.eq_ignore_ascii_case("false") => false,
        Some(_) => {
            return Err(
                ApiError::invalid_query("includeConnections must be true or false.").params(["includeConnections"])
            )
        }
    };
    let conns = if include { state.store.connections(&w.id).await? } else { Vec::new() };
    let mut body = shape::workspace(&ctx, &w, &conns, &state.hostnames);
    if !include {
        if let Some(m) = body.as_object_mut() {
            m.remove("connections");
        }
    }
    Ok(reply::ok(StatusCode::OK, body, &ctx.version, ctx.flags))
}

/// PATCH `/groups/{groupId}/streams/{tenantName}`
pub async fn update(
    State(state): State<Arc<AppState>>,
    call: Call,
    Path((group, name)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let ctx = call.begin(&state, &ops::UPDATE_WORKSPACE, &group).await?;
    let mut w = find(&state, &ctx, &name).await?;
    let map = parse_required_object(&body)?;
    let root = Obj::root(&map);
    root.only(&["cloudProvider", "region", "streamConfig", "processorStatus", "failoverRegions"])?;
    no_failover_regions(&root)?;
    RequestSchema::WorkspaceUpdate.check(&map)?;
    if let Some((p, r)) = region(&root, "cloudProvider", "region", "")? {
        w.cloud_provider = p;
        w.region = r;
    }
    if let Some(t) = tier(&root)? {
        w.tier = t;
    }
    let status = match root.obj("processorStatus")? {
        Some(ps) => {
            ps.only(&["status", "mode", "region"])?;
            ps.enumerated("mode", &["GRACEFUL", "FORCED"])?;
            match ps.enumerated("status", &["STARTED", "STOPPED", "FAILED_OVER"])? {
                Some("FAILED_OVER") => {
                    return Err(ApiError::invalid_attribute(
                        "processorStatus.status",
                        "a single-region Sluice workspace has no failover region",
                    ))
                }
                Some(s) => Some(s.to_string()),
                None => return Err(ApiError::missing_attribute("processorStatus.status")),
            }
        }
        None => None,
    };
    state.store.update_workspace(&w).await?;
    // processorStatus: start or stop every processor of the workspace that can make that move.
    if let Some(status) = status {
        for p in state.store.processors(&w.id).await? {
            let r = match (status.as_str(), p.state) {
                ("STOPPED", ProcessorState::Started | ProcessorState::Paused) => {
                    state.controller.stop(&w, &p.name).await.map(|_| ())
                }
                ("STARTED", ProcessorState::Stopped) => {
                    state.controller.start(&w, &p.name, StartOptions::default()).await.map(|_| ())
                }
                _ => Ok(()),
            };
            r.map_err(|e| crate::error::control_error(&p.name, e))?;
        }
    }
    state.audit(&w.id, &ctx.subject, "updateWorkspace", &w.name).await;
    let conns = state.store.connections(&w.id).await?;
    Ok(reply::ok(StatusCode::OK, shape::workspace(&ctx, &w, &conns, &state.hostnames), &ctx.version, ctx.flags))
}

/// DELETE `/groups/{groupId}/streams/{tenantName}`: stops its processors, then deletes it all.
pub async fn delete(
    State(state): State<Arc<AppState>>,
    call: Call,
    Path((group, name)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let ctx = call.begin(&state, &ops::DELETE_WORKSPACE, &group).await?;
    let w = find(&state, &ctx, &name).await?;
    for p in state.store.processors(&w.id).await? {
        state.controller.delete(&w, &p.name).await.map_err(|e| crate::error::control_error(&p.name, e))?;
    }
    for c in state.store.connections(&w.id).await? {
        crate::routes::failover::delete_failovers_of(&state, &group, &c.id).await?;
    }
    state.store.delete_workspace(&w.id).await?;
    state.audit(&w.id, &ctx.subject, "deleteWorkspace", &w.name).await;
    Ok(reply::ok(StatusCode::ACCEPTED, Json::Object(Default::default()), &ctx.version, ctx.flags))
}
