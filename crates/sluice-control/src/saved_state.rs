//! Changes to a stopped processor's saved state, made offline: moving its source (`:resetOffsets`)
//! and reading or dropping one stage's state. Each change restores the latest checkpoint into an
//! executor that never runs, makes the change, and saves the result as a new checkpoint, so the
//! next start resumes from it exactly as from any other.

use std::sync::Arc;

use serde_json::Value as Json;
use sluice_connectors::{MemorySink, TestLog};
use sluice_engine::{
    build_operators_with, saved_counters, EnrichRequest, Enriched, Enricher, Executor, ExecutorConfig, ExecutorStats,
    ResetTo, Source, SourceError, SourceRecord, SourceStatus,
};
use sluice_mql::expr::Scope;
use sluice_mql::Value;
use sluice_pipeline::{Plan, Stage};
use sluice_store::CheckpointStore;

use crate::checkpointing::{fingerprint, latest, Checkpointer};

/// The saved state of one stage.
#[derive(Debug, Clone, PartialEq)]
pub struct StageState {
    /// The stage's index in the pipeline (`$source` is 0).
    pub index: usize,
    /// The stage's name (`$tumblingWindow`).
    pub stage: String,
    /// Its state as the checkpoint holds it.
    pub state: Value,
}

/// The enrichment stages of an executor that never runs.
struct Unopened;

impl Enricher for Unopened {
    fn meta_key(&self) -> &str {
        "none"
    }

    fn enrich(&mut self, _: &[EnrichRequest<'_>], _: &mut Scope) -> Result<Vec<Result<Enriched, String>>, String> {
        Err("an offline executor does not enrich".into())
    }
}

/// A source that only keeps the position it is given: what a state change that does not move
/// the source needs, without connecting anywhere.
pub struct HeldPosition(Value);

impl HeldPosition {
    /// Holds no position until one is restored.
    pub fn new() -> HeldPosition {
        HeldPosition(Value::Null)
    }
}

impl Default for HeldPosition {
    fn default() -> HeldPosition {
        HeldPosition::new()
    }
}

impl Source for HeldPosition {
    fn name(&self) -> &str {
        "saved position"
    }

    fn poll(&mut self, _: usize, _: &mut Vec<SourceRecord>) -> Result<SourceStatus, SourceError> {
        Ok(SourceStatus::Idle)
    }

    fn position(&self) -> Value {
        self.0.clone()
    }

    fn seek(&mut self, position: &Value) -> Result<(), SourceError> {
        self.0 = position.clone();
        Ok(())
    }
}

fn unopened(plan: &Plan) -> Vec<Box<dyn Enricher>> {
    plan.stages
        .iter()
        .filter(|s| matches!(s, Stage::Enrich(_)))
        .map(|_| Box::new(Unopened) as Box<dyn Enricher>)
        .collect()
}

fn offline_executor(plan: &Plan, source: Box<dyn Source>) -> Result<Executor, String> {
    let quiet = || Box::new(MemorySink::new("offline", TestLog::new(1)));
    Executor::with_enrichers(plan, source, quiet(), quiet(), unopened(plan), ExecutorConfig::new("offline"))
        .map_err(|e| e.to_string())
}

/// Moves the source of processor `id` to `to` and saves that as its newest checkpoint (operator
/// state and counters kept). `source` is the processor's source, opened. Returns the new
/// checkpoint's sequence number.
pub fn reset_offsets(
    store: Arc<dyn CheckpointStore>,
    id: &str,
    pipeline: &Json,
    plan: &Plan,
    source: Box<dyn Source>,
    to: &ResetTo,
) -> Result<u64, String> {
    let mut exec = offline_executor(plan, source)?;
    let mut ck = Checkpointer::new(store, id, fingerprint(pipeline));
    ck.restore_latest(&mut exec)?;
    exec.reset_source(to).map_err(|e| e.to_string())?;
    Ok(ck.take(&mut exec)?.seq)
}

/// The counters of the newest checkpoint: the stats of a processor that is not running.
pub fn saved_stats(store: &dyn CheckpointStore, id: &str) -> Result<Option<ExecutorStats>, String> {
    Ok(latest(store, id)?.map(|c| saved_counters(&c.state)))
}

/// The pipeline indexes of the stages that keep state, in order.
fn stateful_indexes(plan: &Plan) -> Vec<usize> {
    plan.stages.iter().enumerate().filter(|(_, s)| matches!(s, Stage::Window(_))).map(|(i, _)| i + 1).collect()
}

/// The saved state of every stage that keeps one, from the newest checkpoint (none without one).
pub fn stage_states(store: &dyn CheckpointStore, id: &str, plan: &Plan) -> Result<Vec<StageState>, String> {
    let Some(c) = latest(store, id)? else { return Ok(Vec::new()) };
    let saved = c.state.as_document().and_then(|d| d.get("operators")).and_then(Value::as_array).unwrap_or_default();
    Ok(stateful_indexes(plan)
        .into_iter()
        .zip(saved)
        .map(|(index, s)| {
            let d = s.as_document();
            StageState {
                index,
                stage: d.and_then(|d| d.get("stage")).and_then(Value::as_str).unwrap_or("?").to_string(),
                state: d.and_then(|d| d.get("state")).cloned().unwrap_or(Value::Null),
            }
        })
        .collect())
}

/// Drops the saved state of the stage at pipeline index `index` (its windows start empty at the
/// next start; everything else is kept) and saves that as the newest checkpoint.
pub fn drop_stage_state(
    store: Arc<dyn CheckpointStore>,
    id: &str,
    pipeline: &Json,
    plan: &Plan,
    index: usize,
) -> Result<u64, String> {
    if !stateful_indexes(plan).contains(&index) {
        return Err(format!("stage {} of the pipeline keeps no state", index));
    }
    let mut exec = offline_executor(plan, Box::new(HeldPosition::new()))?;
    let mut ck = Checkpointer::new(store, id, fingerprint(pipeline));
    if ck.restore_latest(&mut exec)?.is_none() {
        return Err("the processor has no saved state".into());
    }
    let mut fresh = build_operators_with(plan, unopened(plan)).map_err(|e| e.to_string())?;
    let op = fresh.swap_remove(index - 1);
    exec.replace_operator(index - 1, op).map_err(|e| e.to_string())?;
    Ok(ck.take(&mut exec)?.seq)
}
