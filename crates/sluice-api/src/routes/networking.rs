//! The contract's cloud networking operations, with self-hosted meaning (`docs/api.md`):
//! Private Link connections are records of the private endpoints the host routes to (Sluice
//! provisions nothing, so a record is `DONE` once stored); VPC peering requests come from a
//! cloud provider, so a self-hosted server has none to list, accept or reject; account details
//! name no cloud account.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{json, Map, Value as Json};
use sluice_control::{new_id, now_ms};
use sluice_store::{NetworkKind, NetworkResource, StoreError};

use crate::body::{parse_object, parse_required_object, Obj};
use crate::call::{Call, Ctx};
use crate::error::ApiError;
use crate::operation::ops;
use crate::paging::PageQuery;
use crate::reply;
use crate::request_schema::RequestSchema;
use crate::state::AppState;

/// The fields a Private Link connection is declared with (the contract's writable ones).
const PRIVATE_LINK_FIELDS: &[&str] = &[
    "arn",
    "authenticationScheme",
    "azureResourceIds",
    "dnsDomain",
    "dnsSubDomain",
    "gcpConnectionIds",
    "gcpServiceAttachmentUris",
    "interfaceEndpointId",
    "interfaceEndpointName",
    "provider",
    "providerAccountId",
    "region",
    "serviceEndpointId",
    "vendor",
];

/// A stored record as the contract shows it; `self_path` is its own URL path.
fn link_body(ctx: &Ctx, self_path: &str, r: &NetworkResource) -> Json {
    let mut b = match &r.body {
        Json::Object(m) => m.clone(),
        _ => Map::new(),
    };
    b.insert("_id".into(), json!(r.id));
    b.insert("state".into(), json!(r.state));
    b.insert("links".into(), ctx.self_link(self_path));
    Json::Object(b)
}

/// The declared fields of a Private Link body, checked.
fn private_link_fields(body: &[u8], require_provider: bool) -> Result<Map<String, Json>, ApiError> {
    // A create may leave fields out (they are then missing); a PATCH must send a body.
    let map = if require_provider { parse_object(body)? } else { parse_required_object(body)? };
    let root = Obj::root(&map);
    let mut allowed = PRIVATE_LINK_FIELDS.to_vec();
    allowed.extend(["_id", "state", "links", "errorMessage"]);
    root.only(&allowed)?;
    if require_provider || root.get("provider").is_some() {
        root.enumerated("provider", &["AWS", "AZURE", "GCP"])?
            .ok_or_else(|| ApiError::missing_attribute("provider"))?;
    }
    root.enumerated("authenticationScheme", &["TLS", "SASL_SCRAM", "IAM"])?;
    if require_provider {
        RequestSchema::PrivateLink.check(&map)?;
    } else {
        RequestSchema::PrivateLinkUpdate.check(&map)?;
    }
    Ok(map.into_iter().filter(|(k, _)| PRIVATE_LINK_FIELDS.contains(&k.as_str())).collect())
}

fn private_link_not_found(id: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "STREAM_PRIVATE_LINK_NOT_FOUND",
        format!("Private Link connection {} not found.", id),
    )
    .params([id])
}

/// What identifies the endpoint a record declares: its provider and service endpoint, or, for
/// records without one, its provider, vendor, region and DNS domain.
fn endpoint_key(body: &Json) -> Vec<Json> {
    let field = |k: &str| body.get(k).cloned().unwrap_or(Json::Null);
    match body.get("serviceEndpointId") {
        Some(e) => vec![field("provider"), e.clone()],
        None => vec![field("provider"), field("vendor"), field("region"), field("dnsDomain")],
    }
}

/// 409 when another record of the project (not `except`) declares the same endpoint.
async fn refuse_duplicate(state: &AppState, group: &str, body: &Json, except: &str) -> Result<(), ApiError> {
    let key = endpoint_key(body);
    let records = state.store.networks(group, NetworkKind::PrivateLink).await?;
    match records.iter().find(|r| r.id != except && endpoint_key(&r.body) == key) {
        Some(other) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "STREAM_PRIVATE_LINK_ALREADY_EXISTS",
            format!("Private Link connection {} already declares this endpoint.", other.id),
        )
        .params([other.id.as_str()])),
        None => Ok(()),
    }
}

async fn find_link(state: &AppState, group: &str, id: &str) -> Result<NetworkResource, ApiError> {
    match state.store.network(group, NetworkKind::PrivateLink, id).await {
        Ok(r) => Ok(r),
        Err(StoreError::NotFound) => Err(private_link_not_found(id)),
        Err(e) => Err(e.into()),
    }
}

/// GET `.../streams/privateLinkConnections`
pub async fn list_private_links(
    State(state): State<Arc<AppState>>,
    call: Call,
    Path(group): Path<String>,
    Query(q): Query<PageQuery>,
) -> Result<Response, ApiError> {
    let ctx = call.begin(&state, &ops::LIST_PRIVATE_LINKS, &group).await?;
    let page = q.page()?;
    let items = state.store.networks(&group, NetworkKind::PrivateLink).await?;
    let items = items.iter().map(|r| link_body(&ctx, &format!("{}/{}", call.path, r.id), r)).collect();
    Ok(reply::list(page.body(items, ctx.self_link(&call.path)), &ctx.version, ctx.flags))
}

/// POST `.../streams/privateLinkConnections`: stored, `DONE` (nothing to provision here).
pub async fn create_private_link(
    State(state): State<Arc<AppState>>,
    call: Call,
    Path(group): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let ctx = call.begin(&state, &ops::CREATE_PRIVATE_LINK, &group).await?;
    let fields = private_link_fields(&body, true)?;
    let r = NetworkResource {
        id: new_id(),
        group_id: group.clone(),
        kind: NetworkKind::PrivateLink,
        body: Json::Object(fields),
        state: "DONE".into(),
        created_at: now_ms(),
    };
    refuse_duplicate(&state, &group, &r.body, &r.id).await?;
    state.store.insert_network(&r).await?;
    Ok(reply::ok(StatusCode::OK, link_body(&ctx, &format!("{}/{}", call.path, r.id), &r), &ctx.version, ctx.flags))
}

/// GET `.../streams/privateLinkConnections/{connectionId}`
pub async fn get_private_link(
    State(state): State<Arc<AppState>>,
    call: Call,
    Path((group, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let ctx = call.begin(&state, &ops::GET_PRIVATE_LINK, &group).await?;
    let r = find_link(&state, &group, &id).await?;
    Ok(reply::ok(StatusCode::OK, link_body(&ctx, &call.path, &r), &ctx.version, ctx.flags))
}

/// PATCH `.../streams/privateLinkConnections/{connectionId}`: the given fields replace theirs.
pub async fn update_private_link(
    State(state): State<Arc<AppState>>,
    call: Call,
    Path((group, id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let ctx = call.begin(&state, &ops::UPDATE_PRIVATE_LINK, &group).await?;
    let fields = private_link_fields(&body, false)?;
    let mut r = find_link(&state, &group, &id).await?;
    if let Json::Object(m) = &mut r.body {
        m.extend(fields);
        // The record as it will be stored must be what the contract describes.
        RequestSchema::PrivateLink.check(m)?;
    }
    refuse_duplicate(&state, &group, &r.body, &r.id).await?;
    state.store.update_network(&r).await?;
    Ok(reply::ok(StatusCode::OK, link_body(&ctx, &call.path, &r), &ctx.version, ctx.flags))
}

/// DELETE `.../streams/privateLinkConnections/{connectionId}`: 202.
pub async fn delete_private_link(
    State(state): State<Arc<AppState>>,
    call: Call,
    Path((group, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let ctx = call.begin(&state, &ops::DELETE_PRIVATE_LINK, &group).await?;
    find_link(&state, &group, &id).await?;
    state.store.delete_network(&id).await?;
    Ok(reply::ok(StatusCode::ACCEPTED, json!({}), &ctx.version, ctx.flags))
}

/// `requesterAccountId` of the peering list.
#[derive(Deserialize)]
pub struct PeeringQuery {
    #[serde(rename = "requesterAccountId")]
    _requester_account_id: Option<String>,
    #[serde(flatten)]
    page: PageQuery,
}

/// GET `.../streams/vpcPeeringConnections` and `.../activeVpcPeeringConnections`: a self-hosted
/// server receives no peering requests, so both lists are empty.
pub async fn list_peerings(
    State(state): State<Arc<AppState>>,
    call: Call,
    Path(group): Path<String>,
    Query(q): Query<PeeringQuery>,
) -> Result<Response, ApiError> {
    let op = if call.path.ends_with("/activeVpcPeeringConnections") {
        ops::LIST_ACTIVE_VPC_PEERINGS
    } else {
        ops::LIST_VPC_PEERINGS
    };
    let ctx = call.begin(&state, &op, &group).await?;
    let page = q.page.page()?;
    let items = state.store.networks(&group, NetworkKind::VpcPeering).await?;
    let items = items.iter().map(|r| link_body(&ctx, &format!("{}/{}", call.path, r.id), r)).collect();
    Ok(reply::list(page.body(items, ctx.self_link(&call.path)), &ctx.version, ctx.flags))
}

/// DELETE `.../vpcPeeringConnections/{id}`, POST `...:accept` / `...:reject`: there are no
/// peering requests to act on, so every id is unknown.
pub async fn peering_action(
    State(state): State<Arc<AppState>>,
    call: Call,
    Path((group, target)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let (id, op) = match target.rsplit_once(':') {
        Some((id, "accept")) => (id, ops::ACCEPT_VPC_PEERING),
        Some((id, "reject")) => (id, ops::REJECT_VPC_PEERING),
        Some(_) => return Err(ApiError::no_such_resource(&call.path)),
        None => (target.as_str(), ops::DELETE_VPC_PEERING),
    };
    let ctx = call.begin(&state, &op, &group).await?;
    match state.store.network(&group, NetworkKind::VpcPeering, id).await {
        Ok(r) => {
            state.store.delete_network(&r.id).await?;
            Ok(reply::ok(StatusCode::ACCEPTED, json!({}), &ctx.version, ctx.flags))
        }
        Err(StoreError::NotFound) => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "VPC_PEERING_CONNECTION_NOT_FOUND",
            format!("VPC peering connection {} not found: a self-hosted Sluice receives no peering requests.", id),
        )
        .params([id])),
        Err(e) => Err(e.into()),
    }
}

/// `cloudProvider` and `regionName` of account details.
#[derive(Deserialize)]
pub struct AccountQuery {
    #[serde(rename = "cloudProvider")]
    cloud_provider: Option<String>,
    #[serde(rename = "regionName")]
    region_name: Option<String>,
}

/// GET `.../streams/accountDetails`: the cloud account Atlas would peer from. A self-hosted
/// server has none: the answer names the provider asked about and no account, VPC or CIDR.
pub async fn account_details(
    State(state): State<Arc<AppState>>,
    call: Call,
    Path(group): Path<String>,
    Query(q): Query<AccountQuery>,
) -> Result<Response, ApiError> {
    let ctx = call.begin(&state, &ops::ACCOUNT_DETAILS, &group).await?;
    let provider = q.cloud_provider.ok_or_else(|| ApiError::missing_attribute("cloudProvider"))?;
    if !matches!(provider.as_str(), "aws" | "azure" | "gcp") {
        return Err(ApiError::invalid_attribute("cloudProvider", "must be aws, azure or gcp"));
    }
    q.region_name.ok_or_else(|| ApiError::missing_attribute("regionName"))?;
    Ok(reply::ok(
        StatusCode::OK,
        json!({"cloudProvider": provider, "links": ctx.self_link(&call.path)}),
        &ctx.version,
        ctx.flags,
    ))
}
