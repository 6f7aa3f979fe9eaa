//! Stream processors: create, read, modify, delete, `:start`, `:startWith`, `:stop`, and the
//! Sluice `sample` extension (the last output documents of a running processor).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{json, Value as Json};
use sluice_control::{Modification, StartOptions, CHECKPOINT_INTERVAL_OPTION, MAX_STATE_OPTION};
use sluice_store::{Processor, StoreError, Workspace};
use sluice_types::Tier;

use crate::body::{parse_object, Obj};
use crate::call::{Call, Ctx};
use crate::error::{control_error, ApiError};
use crate::operation::ops;
use crate::paging::PageQuery;
use crate::reply;
use crate::routes::processor_state;
use crate::routes::workspaces::{check_name, find};
use crate::shape;
use crate::state::AppState;

const TIERS: &[&str] = &["SP2", "SP5", "SP10", "SP30", "SP50"];

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

fn pipeline_of(root: &Obj) -> Result<Option<Json>, ApiError> {
    match root.get("pipeline") {
        None => Ok(None),
        Some(Json::Array(a)) => Ok(Some(Json::Array(a.clone()))),
        Some(_) => Err(ApiError::invalid_attribute("pipeline", "must be an array of stages")),
    }
}

/// The processor options kept with it: Atlas's `dlq`, and Sluice's `checkpointIntervalMs`.
/// `extra` are further attributes the caller reads itself (PATCH's `resumeFromCheckpoint`).
fn options_of(root: &Obj, extra: &[&str]) -> Result<Option<Json>, ApiError> {
    match root.obj("options")? {
        None => Ok(None),
        Some(o) => {
            let mut allowed = vec!["dlq", CHECKPOINT_INTERVAL_OPTION, MAX_STATE_OPTION];
            allowed.extend_from_slice(extra);
            o.only(&allowed)?;
            if let Some(ms) = o.get(CHECKPOINT_INTERVAL_OPTION) {
                if !ms.as_u64().is_some_and(|ms| (100..=86_400_000).contains(&ms)) {
                    return Err(ApiError::invalid_attribute(
                        &format!("options.{}", CHECKPOINT_INTERVAL_OPTION),
                        "must be an integer number of milliseconds from 100 to 86400000",
                    ));
                }
            }
            if let Some(n) = o.get(MAX_STATE_OPTION) {
                if n.as_u64().is_none_or(|n| n == 0) {
                    return Err(ApiError::invalid_attribute(
                        &format!("options.{}", MAX_STATE_OPTION),
                        "must be a positive integer number of bytes",
                    ));
                }
            }
            if let Some(d) = o.obj("dlq")? {
                d.only(&["connectionName", "db", "coll"])?;
                d.req_str("connectionName")?;
                d.req_str("db")?;
                d.req_str("coll")?;
            }
            let mut kept = o.map().clone();
            for k in extra {
                kept.remove(*k);
            }
            Ok(Some(Json::Object(kept)))
        }
    }
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
    let map = parse_object(&body)?;
    let root = Obj::root(&map);
    root.only(&["name", "pipeline", "options"])?;
    let name = root.req_str("name")?;
    check_name("name", name)?;
    let pipeline = pipeline_of(&root)?.ok_or_else(|| ApiError::missing_attribute("pipeline"))?;
    let options = options_of(&root, &[])?.unwrap_or_else(|| json!({}));
    let p = state.controller.create(&w, name, pipeline, options).await.map_err(|e| control_error(name, e))?;
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
    let mut items = Vec::new();
    for p in state.store.processors(&w.id).await? {
        items.push(with_stats(&state, &ctx, &w, &p).await);
    }
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
    let map = parse_object(&body)?;
    let root = Obj::root(&map);
    root.only(&["name", "pipeline", "options"])?;
    let new_name = root.str("name")?;
    if let Some(n) = new_name {
        check_name("name", n)?;
    }
    // Atlas: `options.resumeFromCheckpoint: false` drops the saved state with the change.
    let resume_from_checkpoint = match root.obj("options")? {
        Some(o) => o.bool("resumeFromCheckpoint")?,
        None => None,
    };
    let m = Modification {
        name: new_name.map(str::to_string),
        pipeline: pipeline_of(&root)?,
        options: options_of(&root, &["resumeFromCheckpoint"])?,
        resume_from_checkpoint,
    };
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
        _ => {
            let map = parse_object(&body)?;
            let root = Obj::root(&map);
            root.only(&["resumeFromCheckpoint", "startAtOperationTime", "tier"])?;
            let opts = StartOptions {
                tier: root.enumerated("tier", TIERS)?.and_then(Tier::parse),
                resume_from_checkpoint: root.bool("resumeFromCheckpoint")?,
                start_at_operation_time: root.str("startAtOperationTime")?.map(str::to_string),
            };
            state.controller.start(&w, name, opts).await
        }
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
    let n = match q.limit.as_deref().map(str::parse::<usize>) {
        None => 10,
        Some(Ok(n)) => n.clamp(1, 1000),
        Some(Err(_)) => return Err(ApiError::invalid_attribute("limit", "must be a whole number")),
    };
    let docs = state.controller.sample(&p.id, n).unwrap_or_default();
    let results: Vec<Json> = docs
        .iter()
        .map(|d| {
            let text = sluice_mql::json::to_json_string(d, sluice_mql::json::JsonMode::Relaxed);
            serde_json::from_str(&text).unwrap_or(Json::Null)
        })
        .collect();
    Ok(reply::list(
        json!({"results": results, "totalCount": results.len(), "links": ctx.self_link(&call.path)}),
        &ctx.version,
        ctx.flags,
    ))
}
