//! The EnOS-compatible pipeline API (seed 004): actions on one pipeline, one pipeline's details
//! and an organization's list, answered as `{code, msg, data}`. A pipeline is a processor (its id
//! is the processor's id) and an organization is a project (`orgId` is the group id).
//! Authentication is the rest of the API's (Digest or bearer); its failures keep Atlas's shape
//! and a real 401 so that clients can answer the challenge.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{json, Value as Json};
use sluice_control::{Action, ControlError};
use sluice_store::{Processor, StoreError, Workspace};
use sluice_types::ProcessorState;

use crate::call::Call;
use crate::error::ApiError;
use crate::operation::{ops, Operation};
use crate::shape::iso;
use crate::state::AppState;

/// EnOS: the pipeline does not exist (or is not in that organization). The wording is EnOS's.
const NOT_FOUND: i64 = 61108;
/// EnOS: the pipeline's status does not allow the action.
const BAD_TRANSITION: i64 = 61152;
/// Sluice: the action was allowed but failed (a connection that cannot be opened, a checkpoint
/// the pipeline cannot resume from). EnOS documents no code for this.
const ACTION_FAILED: i64 = 61100;

/// The status EnOS shows for a processor state. EnOS lists PUBLISHED, RUNNING, PAUSED and
/// STOPPED; a created, never started processor is PUBLISHED, and Sluice adds FAILED.
pub fn enos_status(s: ProcessorState) -> &'static str {
    match s {
        ProcessorState::Created => "PUBLISHED",
        ProcessorState::Started => "RUNNING",
        ProcessorState::Paused => "PAUSED",
        ProcessorState::Stopped => "STOPPED",
        ProcessorState::Failed => "FAILED",
    }
}

/// An EnOS answer: HTTP 200 with the outcome in `code`, as EnOS's gateway answers.
fn answer(code: i64, msg: &str, data: Json) -> Response {
    let body = json!({"code": code, "msg": msg, "data": data});
    (StatusCode::OK, [("content-type", "application/json;charset=utf-8")], body.to_string()).into_response()
}

/// A request EnOS would refuse before looking anything up: HTTP 400.
fn bad_request(msg: &str) -> Response {
    let body = json!({"code": 400, "msg": msg, "data": null});
    (StatusCode::BAD_REQUEST, [("content-type", "application/json;charset=utf-8")], body.to_string()).into_response()
}

fn not_found() -> Response {
    answer(NOT_FOUND, "Stream processing job does not exit.", Json::Null)
}

/// The query of every EnOS route.
#[derive(Deserialize, Default)]
pub struct EnosQuery {
    #[serde(rename = "orgId")]
    org_id: Option<String>,
    action: Option<String>,
    #[serde(rename = "pageSize")]
    page_size: Option<String>,
    #[serde(rename = "pageNo")]
    page_no: Option<String>,
}

/// Checks `orgId` and the caller's role in it. Another project's orgId finds no pipeline.
async fn org(state: &AppState, call: &Call, q: &EnosQuery, op: &Operation) -> Result<String, Response> {
    let Some(org) = q.org_id.as_deref().filter(|o| !o.is_empty()) else {
        return Err(bad_request("orgId is required"));
    };
    match call.authorize(state, op, org).await {
        Ok(()) => Ok(org.to_string()),
        Err(e) if e.status == StatusCode::FORBIDDEN && call.principal.project_id == org => {
            Err(answer_status(StatusCode::FORBIDDEN, 403, &e.detail))
        }
        Err(_) => Err(not_found()),
    }
}

fn answer_status(status: StatusCode, code: i64, msg: &str) -> Response {
    let mut r = answer(code, msg, Json::Null);
    *r.status_mut() = status;
    r
}

/// The processor `id` if it belongs to organization `org`.
async fn pipeline(state: &AppState, org: &str, id: &str) -> Result<(Workspace, Processor), Response> {
    let p = match state.store.processor_by_id(id).await {
        Ok(p) => p,
        Err(StoreError::NotFound) => return Err(not_found()),
        Err(e) => return Err(ApiError::from(e).into_response()),
    };
    match state.store.workspace_by_id(&p.workspace_id).await {
        Ok(w) if w.group_id == org => Ok((w, p)),
        Ok(_) | Err(StoreError::NotFound) => Err(not_found()),
        Err(e) => Err(ApiError::from(e).into_response()),
    }
}

/// EnOS's refusal: `Status of the stream processing job cannot be changed from [STOPPED] to Paused.`
fn transition_message(from: ProcessorState, action: Action) -> String {
    format!(
        "Status of the stream processing job cannot be changed from [{}] to {}.",
        enos_status(from),
        action.target_word()
    )
}

/// POST `/streaming/v2.0/streaming/pipeline/{pipelineId}?action=pause|resume|start|stop&orgId=`
pub async fn action(
    State(state): State<Arc<AppState>>,
    call: Call,
    Path(id): Path<String>,
    Query(q): Query<EnosQuery>,
) -> Response {
    let act = match q.action.as_deref() {
        Some("pause") => Action::Pause,
        Some("resume") => Action::Resume,
        Some("start") => Action::Start,
        Some("stop") => Action::Stop,
        Some(other) => {
            return bad_request(&format!("action {} is not supported: use pause, resume, start or stop", other))
        }
        None => return bad_request("action is required"),
    };
    let org = match org(&state, &call, &q, &ops::ENOS_PIPELINE_ACTION).await {
        Ok(o) => o,
        Err(r) => return r,
    };
    let (w, p) = match pipeline(&state, &org, &id).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let c = &state.controller;
    let result = match act {
        Action::Pause => c.pause(&w, &p.name).await,
        Action::Resume => c.resume(&w, &p.name).await,
        Action::Start => c.start(&w, &p.name, Default::default()).await,
        _ => c.stop(&w, &p.name).await,
    };
    match result {
        Ok(done) => {
            let verb = format!("enos:{}", q.action.as_deref().unwrap_or_default());
            state.audit(&w.id, &call.principal.subject, &verb, &done.name).await;
            answer(0, "OK", json!(""))
        }
        Err(ControlError::Transition(t)) => answer(BAD_TRANSITION, &transition_message(t.from, t.action), Json::Null),
        Err(ControlError::NotFound) => not_found(),
        Err(ControlError::Store(e)) => ApiError::from(e).into_response(),
        Err(ControlError::Internal(m)) => ApiError::unexpected(&m).into_response(),
        Err(e) => answer(ACTION_FAILED, &e.to_string(), Json::Null),
    }
}

fn summary(org: &str, p: &Processor) -> Json {
    json!({
        "orgId": org,
        "pipelineId": p.id,
        "pipelineName": p.name,
        "status": enos_status(p.state),
        "updateTime": iso(p.updated_at),
    })
}

/// GET `/streaming/v2.0/streaming/pipeline/{pipelineId}?orgId=`
pub async fn get(
    State(state): State<Arc<AppState>>,
    call: Call,
    Path(id): Path<String>,
    Query(q): Query<EnosQuery>,
) -> Response {
    let org = match org(&state, &call, &q, &ops::ENOS_GET_PIPELINE).await {
        Ok(o) => o,
        Err(r) => return r,
    };
    let (w, p) = match pipeline(&state, &org, &id).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let mut data = summary(&org, &p);
    data["desc"] = json!("");
    data["workspace"] = json!(w.name);
    data["pipelineJson"] = json!({"pipeline": p.pipeline, "options": p.options});
    if let Some(m) = &p.error_msg {
        data["errorMsg"] = json!(m);
    }
    answer(0, "OK", data)
}

fn positive(v: Option<&str>, name: &str, default: usize) -> Result<usize, String> {
    match v {
        None => Ok(default),
        Some(s) => match s.parse::<usize>() {
            Ok(n) if n >= 1 => Ok(n),
            _ => Err(format!("{} must be a positive integer", name)),
        },
    }
}

/// GET `/streaming/v2.0/streaming/pipelines?orgId=&pageSize=&pageNo=`: the organization's
/// pipelines, by workspace and name, one page at a time (EnOS: 10 per page, page 1 first).
pub async fn list(State(state): State<Arc<AppState>>, call: Call, Query(q): Query<EnosQuery>) -> Response {
    let paging = positive(q.page_size.as_deref(), "pageSize", 10)
        .and_then(|size| Ok((size, positive(q.page_no.as_deref(), "pageNo", 1)?)));
    let (size, page) = match paging {
        Ok(p) => p,
        Err(m) => return bad_request(&m),
    };
    let org = match org(&state, &call, &q, &ops::ENOS_LIST_PIPELINES).await {
        Ok(o) => o,
        Err(r) => return r,
    };
    let mut all = Vec::new();
    let workspaces = match state.store.workspaces(&org).await {
        Ok(w) => w,
        Err(e) => return ApiError::from(e).into_response(),
    };
    for w in workspaces {
        match state.store.processors(&w.id).await {
            Ok(ps) => all.extend(ps),
            Err(e) => return ApiError::from(e).into_response(),
        }
    }
    let count = all.len();
    let pipelines: Vec<Json> =
        all.iter().skip(size.saturating_mul(page - 1)).take(size).map(|p| summary(&org, p)).collect();
    answer(0, "OK", json!({"count": count, "pipelines": pipelines}))
}
