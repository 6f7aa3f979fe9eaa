//! A workspace's connection registry. Types Sluice runs (Sample, Kafka, Cluster, Https) are
//! validated field by field; the others are stored as their schema in the contract declares
//! them. Either way, what is stored is checked against the contract's `StreamsConnection`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value as Json};
use sluice_control::{new_id, now_ms};
use sluice_store::{Connection, StoreError, Workspace};
use sluice_types::ConnectionType;

use crate::body::{parse_object, parse_required_object, Obj};
use crate::call::{Call, Ctx};
use crate::error::ApiError;
use crate::operation::ops;
use crate::paging::PageQuery;
use crate::reply;
use crate::request_schema::RequestSchema;
use crate::routes::workspaces::{check_name, find};
use crate::shape;
use crate::state::AppState;

const TYPES: &[&str] = &[
    "Kafka",
    "Cluster",
    "Sample",
    "Https",
    "AzureBlobStorage",
    "AWSLambda",
    "AWSKinesisDataStreams",
    "SchemaRegistry",
    "GCPPubSub",
    "S3",
];
const SAMPLES: &[&str] = &["sample_stream_solar"];

fn string_map(obj: &Obj, key: &str) -> Result<(), ApiError> {
    if let Some(m) = obj.obj(key)? {
        for (k, v) in m.map() {
            if !v.is_string() {
                return Err(ApiError::invalid_attribute(&format!("{}.{}", key, k), "must be a string"));
            }
        }
    }
    Ok(())
}

/// Checks the type-specific fields; returns what to store (everything but the common fields).
fn config(ctype: ConnectionType, root: &Obj) -> Result<Json, ApiError> {
    let common = ["name", "type", "id", "state", "region"];
    let fields: &[&str] = match ctype {
        ConnectionType::Sample => &[],
        ConnectionType::Kafka => &["bootstrapServers", "authentication", "security", "config", "networking"],
        ConnectionType::Cluster => &["clusterName", "clusterGroupId", "dbRoleToExecute", "connectionString"],
        ConnectionType::Https => &["url", "headers"],
        // Stored as declared, validated when their connectors exist.
        _ => &[],
    };
    let runnable = matches!(
        ctype,
        ConnectionType::Sample | ConnectionType::Kafka | ConnectionType::Cluster | ConnectionType::Https
    );
    if runnable {
        let allowed: Vec<&str> = common.iter().chain(fields.iter()).copied().collect();
        root.only(&allowed)?;
    } else {
        // Only what the contract declares for the type: anything else would be stored and
        // shown back as if it were part of the connection.
        let declared = RequestSchema::Connection.declared_attributes(ctype.as_str());
        let declared: Vec<&str> = declared.iter().map(String::as_str).collect();
        root.only(&declared)?;
    }
    match ctype {
        ConnectionType::Kafka => {
            root.req_str("bootstrapServers")?;
            if let Some(a) = root.obj("authentication")? {
                a.only(&[
                    "mechanism",
                    "method",
                    "username",
                    "password",
                    "tokenEndpointUrl",
                    "clientId",
                    "clientSecret",
                    "scope",
                    "saslOauthbearerExtensions",
                    "sslCertificate",
                    "sslKey",
                    "sslKeyPassword",
                ])?;
                a.enumerated("mechanism", &["PLAIN", "SCRAM-256", "SCRAM-512", "OAUTHBEARER"])?;
                a.str("username")?;
                a.str("password")?;
            }
            if let Some(s) = root.obj("security")? {
                s.only(&["protocol", "brokerPublicCertificate"])?;
                s.enumerated("protocol", &["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"])?;
                s.str("brokerPublicCertificate")?;
            }
            string_map(root, "config")?;
        }
        ConnectionType::Cluster => {
            if root.str("clusterName")?.is_none() && root.str("connectionString")?.is_none() {
                return Err(ApiError::missing_attribute("clusterName"));
            }
            if let Some(r) = root.obj("dbRoleToExecute")? {
                r.only(&["role", "type"])?;
                r.req_str("role")?;
                r.enumerated("type", &["BUILT_IN", "CUSTOM"])?;
            }
        }
        ConnectionType::Https => {
            let url = root.req_str("url")?;
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(ApiError::invalid_attribute("url", "must be an http:// or https:// URL"));
            }
            string_map(root, "headers")?;
        }
        _ => {}
    }
    let kept: Map<String, Json> = root
        .map()
        .iter()
        .filter(|(k, _)| !common.contains(&k.as_str()) && *k != "links")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Ok(Json::Object(kept))
}

pub(crate) async fn find_conn(state: &AppState, ctx: &Ctx, w: &Workspace, name: &str) -> Result<Connection, ApiError> {
    match state.store.connection(&w.id, name).await {
        Ok(c) => Ok(c),
        Err(StoreError::NotFound) => Err(ApiError::connection_not_found(name, &ctx.group_id, &w.name)),
        Err(e) => Err(e.into()),
    }
}

/// POST `.../{tenantName}/connections`
pub async fn create(
    State(state): State<Arc<AppState>>,
    call: Call,
    Path((group, tenant)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let ctx = call.begin(&state, &ops::CREATE_CONNECTION, &group).await?;
    let w = find(&state, &ctx, &tenant).await?;
    let map = parse_object(&body)?;
    let root = Obj::root(&map);
    let name = root.req_str("name")?;
    check_name("name", name)?;
    let t = root.req_str("type")?;
    let ctype = match root.enumerated("type", TYPES)? {
        Some("S3") => return Err(ApiError::invalid_attribute("type", "S3 connections are not supported")),
        _ => ConnectionType::parse(t).ok_or_else(|| ApiError::invalid_enum("type", t))?,
    };
    if ctype == ConnectionType::Sample && !SAMPLES.contains(&name) {
        return Err(ApiError::invalid_attribute("name", "a Sample connection must be named sample_stream_solar"));
    }
    let c = Connection {
        id: new_id(),
        workspace_id: w.id.clone(),
        name: name.to_string(),
        ctype,
        config: config(ctype, &root)?,
        created_at: now_ms(),
    };
    RequestSchema::Connection.check(&as_declared(&c))?;
    match state.store.insert_connection(&c).await {
        Ok(()) => {}
        Err(StoreError::Conflict) => return Err(ApiError::connection_exists(name)),
        Err(e) => return Err(e.into()),
    }
    state.audit(&w.id, &ctx.subject, "createConnection", &c.name).await;
    Ok(reply::ok(StatusCode::OK, shape::connection(&ctx, &w, &c), &ctx.version, ctx.flags))
}

/// GET `.../{tenantName}/connections`
pub async fn list(
    State(state): State<Arc<AppState>>,
    call: Call,
    Path((group, tenant)): Path<(String, String)>,
    Query(q): Query<PageQuery>,
) -> Result<Response, ApiError> {
    let ctx = call.begin(&state, &ops::LIST_CONNECTIONS, &group).await?;
    let page = q.page()?;
    let w = find(&state, &ctx, &tenant).await?;
    let items = state.store.connections(&w.id).await?.iter().map(|c| shape::connection(&ctx, &w, c)).collect();
    Ok(reply::list(page.body(items, ctx.self_link(&call.path)), &ctx.version, ctx.flags))
}

/// GET `.../{tenantName}/connections/{connectionName}`
pub async fn get(
    State(state): State<Arc<AppState>>,
    call: Call,
    Path((group, tenant, name)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let ctx = call.begin(&state, &ops::GET_CONNECTION, &group).await?;
    let w = find(&state, &ctx, &tenant).await?;
    let c = find_conn(&state, &ctx, &w, &name).await?;
    Ok(reply::ok(StatusCode::OK, shape::connection(&ctx, &w, &c), &ctx.version, ctx.flags))
}

/// POST `.../{tenantName}/connections/{connectionName}:check` (Sluice extension): reaches the
/// system behind the connection as a processor would. 200 `{connectionName, ok, durationMillis}`,
/// with `errorMsg` saying why when it cannot be used (unreachable, a refused password, an
/// untrusted certificate).
pub async fn check(
    State(state): State<Arc<AppState>>,
    call: Call,
    Path((group, tenant, target)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let Some((name, "check")) = target.rsplit_once(':') else {
        return Err(ApiError::no_such_resource(&call.path));
    };
    let ctx = call.begin(&state, &ops::CHECK_CONNECTION, &group).await?;
    let w = find(&state, &ctx, &tenant).await?;
    find_conn(&state, &ctx, &w, name).await?;
    let (answer, took) = state.controller.check_connection(&w, name).await.map_err(|e| match e {
        sluice_control::ControlError::Store(s) => ApiError::from(s),
        other => ApiError::unexpected(&format!("connection {}: {}", name, other)),
    })?;
    let mut body = serde_json::json!({
        "connectionName": name,
        "ok": answer.is_ok(),
        "durationMillis": took.as_millis() as u64,
    });
    if let Err(why) = answer {
        body["errorMsg"] = Json::String(why);
    }
    Ok(reply::ok(StatusCode::OK, body, &ctx.version, ctx.flags))
}

/// PATCH `.../{tenantName}/connections/{connectionName}`: the type cannot change; secrets not
/// sent again are kept.
pub async fn update(
    State(state): State<Arc<AppState>>,
    call: Call,
    Path((group, tenant, name)): Path<(String, String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let ctx = call.begin(&state, &ops::UPDATE_CONNECTION, &group).await?;
    let w = find(&state, &ctx, &tenant).await?;
    let mut c = find_conn(&state, &ctx, &w, &name).await?;
    let map = parse_required_object(&body)?;
    let root = Obj::root(&map);
    if let Some(t) = root.str("type")? {
        if t != c.ctype.as_str() {
            return Err(ApiError::invalid_attribute("type", "the type of a connection cannot change"));
        }
    }
    if let Some(n) = root.str("name")? {
        if n != c.name {
            return Err(ApiError::invalid_attribute("name", "a connection cannot be renamed"));
        }
    }
    let mut merged = c.config.as_object().cloned().unwrap_or_default();
    merge(&mut merged, &config(c.ctype, &root)?);
    c.config = Json::Object(merged);
    // The connection as it will be stored, not only the change, must be what the contract
    // describes.
    RequestSchema::Connection.check(&as_declared(&c))?;
    state.store.update_connection(&c).await?;
    state.audit(&w.id, &ctx.subject, "updateConnection", &c.name).await;
    Ok(reply::ok(StatusCode::OK, shape::connection(&ctx, &w, &c), &ctx.version, ctx.flags))
}

/// A connection as a request would declare it: its name, type and settings.
fn as_declared(c: &Connection) -> Map<String, Json> {
    let mut m = c.config.as_object().cloned().unwrap_or_default();
    m.insert("name".into(), Json::String(c.name.clone()));
    m.insert("type".into(), Json::String(c.ctype.as_str().to_string()));
    m
}

/// Deep merge of a patch into stored fields (so an omitted password stays).
fn merge(into: &mut Map<String, Json>, patch: &Json) {
    if let Json::Object(p) = patch {
        for (k, v) in p {
            match (into.get_mut(k), v) {
                (Some(Json::Object(a)), Json::Object(_)) => merge(a, v),
                _ => {
                    into.insert(k.clone(), v.clone());
                }
            }
        }
    }
}

/// DELETE `.../{tenantName}/connections/{connectionName}`: refused while processors use it.
pub async fn delete(
    State(state): State<Arc<AppState>>,
    call: Call,
    Path((group, tenant, name)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let ctx = call.begin(&state, &ops::DELETE_CONNECTION, &group).await?;
    let w = find(&state, &ctx, &tenant).await?;
    let c = find_conn(&state, &ctx, &w, &name).await?;
    let users: Vec<String> = state
        .store
        .processors(&w.id)
        .await?
        .into_iter()
        .filter(|p| uses_connection(&p.pipeline, &p.options, &c.name))
        .map(|p| p.name)
        .collect();
    if !users.is_empty() {
        return Err(ApiError::connection_in_use(&c.name, &users));
    }
    state.store.delete_connection(&c.id).await?;
    crate::routes::failover::delete_failovers_of(&state, &group, &c.id).await?;
    state.audit(&w.id, &ctx.subject, "deleteConnection", &c.name).await;
    Ok(reply::ok(StatusCode::ACCEPTED, Json::Object(Default::default()), &ctx.version, ctx.flags))
}

/// Whether a processor names the connection anywhere (`connectionName` at any depth).
fn uses_connection(pipeline: &Json, options: &Json, name: &str) -> bool {
    fn walk(v: &Json, name: &str) -> bool {
        match v {
            Json::Object(m) => {
                m.iter().any(|(k, v)| (k == "connectionName" && v.as_str() == Some(name)) || walk(v, name))
            }
            Json::Array(a) => a.iter().any(|v| walk(v, name)),
            _ => false,
        }
    }
    walk(pipeline, name) || walk(options, name)
}
