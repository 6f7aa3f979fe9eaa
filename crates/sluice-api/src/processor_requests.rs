//! What a processor request asks, checked once for every front end: the HTTP routes and the
//! MongoDB wire protocol's `createStreamProcessor`, `modifyStreamProcessor` and
//! `startStreamProcessor` read their requests through these functions, so both refuse the same
//! things with the same attribute named.

use serde_json::{json, Map, Value as Json};
use sluice_control::{Modification, StartOptions, CHECKPOINT_INTERVAL_OPTION, MAX_STATE_OPTION, RETRY_LIMIT_OPTION};
use sluice_types::Tier;

use crate::body::Obj;
use crate::error::ApiError;
use crate::request_schema::RequestSchema;
use crate::routes::workspaces::check_name;

const TIERS: &[&str] = &["SP2", "SP5", "SP10", "SP30", "SP50"];

/// A checked create request: the processor's name, pipeline and kept options.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateRequest {
    /// A valid processor name.
    pub name: String,
    /// The pipeline, an array (its stages are validated by the controller).
    pub pipeline: Json,
    /// The options kept with the processor (an object, possibly empty).
    pub options: Json,
    /// The processor's own tier (else the workspace's).
    pub tier: Option<Tier>,
}

/// The refusal of a failover request: a Sluice workspace runs in one region, so a processor
/// has nowhere to fail over to (the contract's field is accepted; only enabling it is refused).
fn no_failover(field: &str) -> ApiError {
    ApiError::invalid_attribute(field, "a single-region Sluice workspace has no failover region to fail over to")
}

/// Reads `failoverEnabled`: `false` (or absent) is accepted, `true` refused.
fn failover_enabled(root: &Obj) -> Result<(), ApiError> {
    match root.bool("failoverEnabled")? {
        Some(true) => Err(no_failover("failoverEnabled")),
        _ => Ok(()),
    }
}

fn pipeline_of(root: &Obj) -> Result<Option<Json>, ApiError> {
    match root.get("pipeline") {
        None => Ok(None),
        Some(Json::Array(a)) => Ok(Some(Json::Array(a.clone()))),
        Some(_) => Err(ApiError::invalid_attribute("pipeline", "must be an array of stages")),
    }
}

/// The processor options kept with it: Atlas's `dlq`, and Sluice's `checkpointIntervalMs`,
/// `maxStateBytes` and `retryLimitMs`.
/// `extra` are further attributes the caller reads itself (PATCH's `resumeFromCheckpoint`).
fn options_of(root: &Obj, extra: &[&str]) -> Result<Option<Json>, ApiError> {
    match root.obj("options")? {
        None => Ok(None),
        Some(o) => {
            let mut allowed = vec!["dlq", CHECKPOINT_INTERVAL_OPTION, MAX_STATE_OPTION, RETRY_LIMIT_OPTION];
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
            if let Some(ms) = o.get(RETRY_LIMIT_OPTION) {
                if !ms.as_u64().is_some_and(|ms| (1_000..=86_400_000).contains(&ms)) {
                    return Err(ApiError::invalid_attribute(
                        &format!("options.{}", RETRY_LIMIT_OPTION),
                        "must be an integer number of milliseconds from 1000 to 86400000",
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

/// A create request `{name, pipeline, options}`.
pub fn create_request(map: &Map<String, Json>) -> Result<CreateRequest, ApiError> {
    let root = Obj::root(map);
    root.only(&["name", "pipeline", "options", "tier", "failoverEnabled"])?;
    let name = root.req_str("name")?;
    check_name("name", name)?;
    let pipeline = pipeline_of(&root)?.ok_or_else(|| ApiError::missing_attribute("pipeline"))?;
    let options = options_of(&root, &[])?.unwrap_or_else(|| json!({}));
    failover_enabled(&root)?;
    let tier = root.enumerated("tier", TIERS)?.and_then(Tier::parse);
    RequestSchema::Processor.check(map)?;
    Ok(CreateRequest { name: name.to_string(), pipeline, options, tier })
}

/// A modify request `{name?, pipeline?, options?}`; Atlas: `options.resumeFromCheckpoint: false`
/// drops the saved state with the change.
pub fn modify_request(map: &Map<String, Json>) -> Result<Modification, ApiError> {
    let root = Obj::root(map);
    root.only(&["name", "pipeline", "options", "tier", "failoverEnabled"])?;
    failover_enabled(&root)?;
    let new_name = root.str("name")?;
    if let Some(n) = new_name {
        check_name("name", n)?;
    }
    RequestSchema::ProcessorUpdate.check(map)?;
    let resume_from_checkpoint = match root.obj("options")? {
        Some(o) => o.bool("resumeFromCheckpoint")?,
        None => None,
    };
    Ok(Modification {
        name: new_name.map(str::to_string),
        pipeline: pipeline_of(&root)?,
        options: options_of(&root, &["resumeFromCheckpoint"])?,
        resume_from_checkpoint,
        tier: root.enumerated("tier", TIERS)?.and_then(Tier::parse),
    })
}

/// A `:startWith` request `{resumeFromCheckpoint?, startAtOperationTime?, tier?, failover?}`;
/// `failover` is read as the contract shapes it and refused (no failover region).
pub fn start_request(map: &Map<String, Json>) -> Result<StartOptions, ApiError> {
    let root = Obj::root(map);
    root.only(&["resumeFromCheckpoint", "startAtOperationTime", "tier", "failover"])?;
    if let Some(f) = root.obj("failover")? {
        f.only(&["clearCheckpoint", "dryRun", "mode", "region"])?;
        f.bool("clearCheckpoint")?;
        f.bool("dryRun")?;
        f.enumerated("mode", &["GRACEFUL", "FORCED"])?;
        return Err(no_failover("failover"));
    }
    RequestSchema::StartWith.check(map)?;
    Ok(StartOptions {
        tier: root.enumerated("tier", TIERS)?.and_then(Tier::parse),
        resume_from_checkpoint: root.bool("resumeFromCheckpoint")?,
        start_at_operation_time: root.str("startAtOperationTime")?.map(str::to_string),
    })
}
