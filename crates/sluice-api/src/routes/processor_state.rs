//! Sluice extensions on a processor's saved state: `:resetOffsets` (where its source starts
//! next), and reading or dropping one stage's saved state (`.../state`).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value as Json};
use sluice_control::ResetTo;
use sluice_mql::json::{parse_value, to_json_string, JsonMode};
use sluice_mql::{parse_iso_datetime, Document, Str, Value};

use crate::body::{parse_object, Obj};
use crate::call::Call;
use crate::error::{control_error, ApiError};
use crate::operation::ops;
use crate::reply;
use crate::routes::workspaces::find;
use crate::state::AppState;

/// The body of `:resetOffsets`: `{"to": "earliest" | "latest"}`, `{"to": "timestamp",
/// "timestamp": "<ISO 8601>"}` or `{"to": "offsets", "offsets": [{topic, partition, offset}]}`.
pub fn reset_to(body: &[u8]) -> Result<ResetTo, ApiError> {
    let map = parse_object(body)?;
    let root = Obj::root(&map);
    root.only(&["to", "timestamp", "offsets"])?;
    let to = root
        .enumerated("to", &["earliest", "latest", "timestamp", "offsets"])?
        .ok_or_else(|| ApiError::missing_attribute("to"))?;
    Ok(match to {
        "earliest" => ResetTo::Earliest,
        "latest" => ResetTo::Latest,
        "timestamp" => {
            let text = root.req_str("timestamp")?;
            ResetTo::Time(
                parse_iso_datetime(text)
                    .ok_or_else(|| ApiError::invalid_attribute("timestamp", "must be an ISO 8601 date-time"))?,
            )
        }
        _ => {
            let items = root.get("offsets").ok_or_else(|| ApiError::missing_attribute("offsets"))?;
            let value =
                parse_value(&items.to_string()).map_err(|e| ApiError::invalid_attribute("offsets", &e.to_string()))?;
            if !matches!(&value, Value::Array(a) if !a.is_empty()) {
                return Err(ApiError::invalid_attribute(
                    "offsets",
                    "must be a non-empty array of {topic, partition, offset}",
                ));
            }
            ResetTo::Offsets(value)
        }
    })
}

fn relaxed(v: &Value) -> Json {
    let d: Document = [(Str::from("v"), v.clone())].into_iter().collect();
    serde_json::from_str::<Json>(&to_json_string(&d, JsonMode::Relaxed))
        .ok()
        .and_then(|mut j| j.get_mut("v").map(Json::take))
        .unwrap_or(Json::Null)
}

/// GET `.../processor/{processorName}/state`: the saved state of each stage that keeps one, from
/// the newest checkpoint (`{results: [{index, stage, state}], totalCount}`).
pub async fn get(
    State(state): State<Arc<AppState>>,
    call: Call,
    Path((group, tenant, name)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let ctx = call.begin(&state, &ops::GET_PROCESSOR_STATE, &group).await?;
    let w = find(&state, &ctx, &tenant).await?;
    let stages = state.controller.stage_states(&w, &name).await.map_err(|e| control_error(&name, e))?;
    let results: Vec<Json> =
        stages.iter().map(|s| json!({"index": s.index, "stage": s.stage, "state": relaxed(&s.state)})).collect();
    Ok(reply::list(
        json!({"results": results, "totalCount": results.len(), "links": ctx.self_link(&call.path)}),
        &ctx.version,
        ctx.flags,
    ))
}

/// DELETE `.../processor/{processorName}/state/{stageIndex}`: drops one stage's saved state of a
/// processor that is not running; 204.
pub async fn delete(
    State(state): State<Arc<AppState>>,
    call: Call,
    Path((group, tenant, name, index)): Path<(String, String, String, String)>,
) -> Result<Response, ApiError> {
    let ctx = call.begin(&state, &ops::DELETE_PROCESSOR_STATE, &group).await?;
    let w = find(&state, &ctx, &tenant).await?;
    let index: usize = index
        .parse()
        .map_err(|_| ApiError::invalid_attribute("stageIndex", "must be a stage's index in the pipeline"))?;
    let p = state.controller.drop_stage_state(&w, &name, index).await.map_err(|e| control_error(&name, e))?;
    state.audit(&w.id, &ctx.subject, "dropStageState", &p.name).await;
    let mut r = reply::ok(StatusCode::NO_CONTENT, Json::Null, &ctx.version, ctx.flags);
    if !ctx.flags.envelope {
        *r.body_mut() = axum::body::Body::empty();
    }
    Ok(r)
}
