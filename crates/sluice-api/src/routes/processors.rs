//! Stream processors: create, read, modify, delete, `:start`, `:startWith`, `:stop`, and the
//! Sluice `sample` and `dlq` extensions (the last output documents and dead letters of a
//! running processor).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{json, Value as Json};
use sluice_control::StartOptions;
use sluice_store::{Processor, StoreError, Workspace};

use crate::body::{parse_object, parse_required_object};
use crate::call::{Call, Ctx};
use crate::error::{control_error, ApiError};
use crate::operation::ops;
use crate::paging::PageQuery;
use crate::processor_requests::{create_request, modify_request, start_request};
use crate::reply;
use crate::routes::processor_state;
use crate::routes::workspaces::find;
use crate::shape;
use crate::state::AppState;

async fn find_proc(state: &AppState, w: &Workspace, name: &str) -> Result<Processor, ApiError> {
    match state.store.processor(&w.id, name).await {
        Ok(p) => Ok(p),
        Err(StoreError::NotFound) => Err(ApiError::processor_not_found(name)),
        Err(e) => Err(e.into()),
    }
}

async fn with_stats(state: &AppState, ctx: &Ctx, w: &Workspace, p: &Processor) -> Json {
    shape::processor(ctx, w, p, state.controller.stats_of(p).await.as_ref())
}

/// POST `.../{tenantName}/processor`
pub async fn create(
    State(state): State<Arc<AppState>>,
    call: Call,
    Path((group, tenant)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let ctx = call.begin(&state, &ops::CREATE_PROCESSOR, &group).await?;
    let w = find(&state, &ctx, &tenant).await?;
    let req = create_request(&parse_object(&body)?)?;
    let name = req.name.as_str();
    let mut p =
        state.controller.create(&w, name, req.pipeline, req.options).await.map_err(|e| control_error(name, e))?;
    if let Some(tier) = req.tier {
        let m = sluice_control::Modification { tier: Some(tier), ..Default::default() };
        p = state.controller.modify(&w, name, m).await.map_err(|e| control_error(name, e))?;
    }
    state.audit(&w.id, &ctx.subject, "createProcessor", &p.name).await;
    Ok(reply::ok(StatusCode::OK, with_stats(&state, &ctx, &w, &p).await, &ctx.version, ctx.flags))
}

/// GET `.../{tenantName}/processor/{processorName}`
pub async fn get(
    State(state): State<Arc<AppState>>,
    call: Call,
    Path((group, tenant, name)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let ctx = call.begin(&state, &ops::GET_PROCESSOR, &group).await?;
    let w = find(&state, &ctx, &tenant).await?;
    let p = find_proc(&state, &w, &name).await?;
    Ok(reply::ok(StatusCode::OK, with_stats(&state, &ctx, &w, &p).await, &ctx.version, ctx.flags))
}

/// GET `.../{tenantName}/processors`
pub async fn list(
    State(state): State<Arc<AppState>>,
    call: Call,
    Path((group, tenant)): Path<(String, String)>,
    Query(q): Query<PageQuery>,
) -> Result<Response, ApiError> {
    let ctx = call.begin(&state, &ops::LIST_PROCESSORS, &group).await?;
    let page = q.page()?;
    let w = find(&state, &ctx, &tenant).await?;
    let ps = state.store.processors(&w.id).await?;
    let stats = state.controller.stats_of_all(&ps).await;
    let items: Vec<Json> = ps.iter().zip(&stats).map(|(p, s)| shape::processor(&ctx, &w, p, s.as_ref())).collect();
    Ok(reply::list(page.body(items, ctx.self_link(&call.path)), &ctx.version, ctx.flags))
}

/// PATCH `.../{tenantName}/processor/{processorName}`: only when not running (Atlas).
pub async fn update(
    State(state): State<Arc<AppState>>,
    call: Call,
    Path((group, tenant, name)): Path<(String, String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let ctx = call.begin(&state, &ops::UPDATE_PROCESSOR, &group).await?;
    let w = find(&state, &ctx, &tenant).await?;
    let m = modify_request(&parse_required_object(&body)?)?;
    let p = state.controller.modify(&w, &name, m).await.map_err(|e| control_error(&name, e))?;
    state.audit(&w.id, &ctx.subject, "modifyProcessor", &p.name).await;
    Ok(reply::ok(StatusCode::OK, with_stats(&state, &ctx, &w, &p).await, &ctx.version, ctx.flags))
}

/// DELETE `.../{tenantName}/processor/{processorName}`: 204.
pub async fn delete(
    State(state): State<Arc<AppState>>,
    call: Call,
    Path((group, tenant, name)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let ctx = call.begin(&state, &ops::DELETE_PROCESSOR, &group).await?;
    let w = find(&state, &ctx, &tenant).await?;
    state.controller.delete(&w, &name).await.map_err(|e| control_error(&name, e))?;
    state.audit(&w.id, &ctx.subject, "deleteProcessor", &name).await;
    let mut r = reply::ok(StatusCode::NO_CONTENT, Json::Null, &ctx.version, ctx.flags);
    if !ctx.flags.envelope {
        *r.body_mut() = axum::body::Body::empty();
    }
    Ok(r)
}

/// POST `.../{tenantName}/processor/{processorName}:start|:startWith|:stop`, and Sluice's
/// `:pause`, `:resume` and `:resetOffsets`.
pub async fn action(
    State(state): State<Arc<AppState>>,
    call: Call,
    Path((group, tenant, target)): Path<(String, String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let Some((name, verb)) = target.rsplit_once(':') else {
        return Err(ApiError::no_such_resource(&call.path));
    };
    let op = match verb {
        "start" => ops::START_PROCESSOR,
        "startWith" => ops::START_PROCESSOR_WITH,
        "stop" => ops::STOP_PROCESSOR,
        "pause" => ops::PAUSE_PROCESSOR,
        "resume" => ops::RESUME_PROCESSOR,
        "resetOffsets" => ops::RESET_PROCESSOR_OFFSETS,
        _ => return Err(ApiError::no_such_resource(&call.path)),
    };
    let ctx = call.begin(&state, &op, &group).await?;
    let w = find(&state, &ctx, &tenant).await?;
    find_proc(&state, &w, name).await?;
    let result = match verb {
        "stop" => state.controller.stop(&w, name).await,
        "pause" => state.controller.pause(&w, name).await,
        "resume" => state.controller.resume(&w, name).await,
        "resetOffsets" => state.controller.reset_offsets(&w, name, processor_state::reset_to(&body)?).await,
        "start" => state.controller.start(&w, name, StartOptions::default()).await,
        _ => state.controller.start(&w, name, start_request(&parse_object(&body)?)?).await,
    };
    let p = result.map_err(|e| control_error(name, e))?;
    state.audit(&w.id, &ctx.subject, verb, &p.name).await;
    // Atlas answers these with an empty object.
    Ok(reply::ok(StatusCode::OK, json!({}), &ctx.version, ctx.flags))
}

/// `limit` of the sample extension.
#[derive(Deserialize, Default)]
pub struct SampleQuery {
    limit: Option<String>,
}

/// GET `.../{tenantName}/processor/{processorName}/sample?limit=N` (Sluice extension): the last
/// N output documents (relaxed Extended JSON) of a running processor.
pub async fn sample(
    State(state): State<Arc<AppState>>,
    call: Call,
    Path((group, tenant, name)): Path<(String, String, String)>,
    Query(q): Query<SampleQuery>,
) -> Result<Response, ApiError> {
    let ctx = call.begin(&state, &ops::SAMPLE_PROCESSOR, &group).await?;
    let w = find(&state, &ctx, &tenant).await?;
    let p = find_proc(&state, &w, &name).await?;
    let docs = state.controller.sample(&p.id, q.limit()?).unwrap_or_default();
    Ok(documents(&ctx, &call, &docs))
}

/// GET `.../{tenantName}/processor/{processorName}/dlq?limit=N` (Sluice extension): the last N
/// dead-letter records (relaxed Extended JSON) of a running processor without `options.dlq`
/// (with it, they are in that collection).
pub async fn dlq(
    State(state): State<Arc<AppState>>,
    call: Call,
    Path((group, tenant, name)): Path<(String, String, String)>,
    Query(q): Query<SampleQuery>,
) -> Result<Response, ApiError> {
    let ctx = call.begin(&state, &ops::DLQ_PROCESSOR, &group).await?;
    let w = find(&state, &ctx, &tenant).await?;
    let p = find_proc(&state, &w, &name).await?;
    let docs = state.controller.dead_letters(&p, q.limit()?).await.map_err(|e| control_error(&p.name, e))?;
    Ok(documents(&ctx, &call, &docs))
}

impl SampleQuery {
    /// The number asked for: 10 by default, between 1 and 1000.
    fn limit(&self) -> Result<usize, ApiError> {
        match self.limit.as_deref().map(str::parse::<usize>) {
            None => Ok(10),
            Some(Ok(n)) => Ok(n.clamp(1, 1000)),
            Some(Err(_)) => Err(ApiError::invalid_attribute("limit", "must be a whole number")),
        }
    }
}

/// A list of documents as `{results, totalCount, links}`, each in relaxed Extended JSON.
fn documents(ctx: &Ctx, call: &Call, docs: &[sluice_mql::Document]) -> Response {
    let results: Vec<Json> = docs
        .iter()
        .map(|d| {
            let text = sluice_mql::json::to_json_string(d, sluice_mql::json::JsonMode::Relaxed);
            serde_json::from_str(&text).unwrap_or(Json::Null)
        })
        .collect();
    reply::list(
        json!({"results": results, "totalCount": results.len(), "links": ctx.self_link(&call.path)}),
        &ctx.version,
        ctx.flags,
    )
}
