//! The controller: the only place that changes a processor's state. It asks the transition
//! table, writes the new state to the store, and starts or stops the engine run to match.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use serde_json::Value as Json;
use sluice_connectors::TestLog;
use sluice_engine::ResetTo;
use sluice_mql::{parse_iso_datetime, Document};
use sluice_pipeline::{parse_pipeline_json, Plan};
use sluice_store::{CheckpointStore, LogEvent, LogKind, MetadataStore, Processor, StoreError, Workspace};
use sluice_types::{ProcessorState, Tier};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

use crate::checkpointing::{self, fingerprint, Checkpointer};
use crate::ids::{new_id, now_ms};
use crate::lifecycle::{transition, Action, TransitionError};
use crate::resolve;
use crate::runner::{executor, Exit, ExitReason, LiveStats, RunHandle, RunSpec, Running, StateLimit, SAMPLE_CAPACITY};
use crate::saved_state::{self, StageState};

/// How often a running processor takes a checkpoint unless its options say otherwise.
pub const DEFAULT_CHECKPOINT_EVERY: Duration = Duration::from_secs(10);
/// The processor option (a Sluice extension) that sets its checkpoint interval in milliseconds.
pub const CHECKPOINT_INTERVAL_OPTION: &str = "checkpointIntervalMs";
/// The processor option (a Sluice extension) that caps its state below its tier's limit, in bytes.
pub const MAX_STATE_OPTION: &str = "maxStateBytes";

/// Why a lifecycle request was refused or failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ControlError {
    /// No processor of that name in the workspace.
    #[error("processor not found")]
    NotFound,
    /// A processor of that name already exists in the workspace.
    #[error("a processor with this name already exists")]
    Duplicate,
    /// The pipeline or options do not validate (the engine's message).
    #[error("{0}")]
    Invalid(String),
    /// The action is not allowed in the processor's state.
    #[error(transparent)]
    Transition(#[from] TransitionError),
    /// The processor could not be started (its connections cannot be opened).
    #[error("{0}")]
    StartFailed(String),
    /// The store failed.
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for ControlError {
    fn from(e: StoreError) -> ControlError {
        match e {
            StoreError::NotFound => ControlError::NotFound,
            StoreError::Conflict => ControlError::Duplicate,
            other => ControlError::Store(other),
        }
    }
}

/// What `:startWith` may ask.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StartOptions {
    /// Run on this tier from now on.
    pub tier: Option<Tier>,
    /// `false`: drop any saved state and start fresh.
    pub resume_from_checkpoint: Option<bool>,
    /// Where a change-stream source starts (an ISO date-time).
    pub start_at_operation_time: Option<String>,
}

/// A change to a processor (PATCH).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Modification {
    /// A new name.
    pub name: Option<String>,
    /// A new pipeline.
    pub pipeline: Option<Json>,
    /// New options.
    pub options: Option<Json>,
    /// Atlas `options.resumeFromCheckpoint`: `false` drops the saved state, which a change of
    /// `$source` or window stages requires.
    pub resume_from_checkpoint: Option<bool>,
    /// The processor's own tier (Atlas's `tier` of a processor), used from its next start.
    pub tier: Option<sluice_types::Tier>,
}

/// Owns every running processor of this server.
pub struct Controller {
    store: Arc<dyn MetadataStore>,
    checkpoints: Arc<dyn CheckpointStore>,
    running: Mutex<HashMap<String, Running>>,
    /// The final figures of each processor's last run (or, after a server restart, the counters
    /// of its newest checkpoint), for the stats of processors that are not running.
    ended: Mutex<HashMap<String, LiveStats>>,
    // Lifecycle requests run one at a time: a start and a stop of one processor never interleave.
    lifecycle: tokio::sync::Mutex<()>,
    exits: UnboundedSender<Exit>,
    next_run: std::sync::atomic::AtomicU64,
}

impl Controller {
    /// A controller over `store`, keeping checkpoints in `checkpoints`; it watches its runs'
    /// ends on a task of the current runtime.
    pub fn new(store: Arc<dyn MetadataStore>, checkpoints: Arc<dyn CheckpointStore>) -> Arc<Controller> {
        let (tx, rx) = unbounded_channel();
        let c = Arc::new(Controller {
            store,
            checkpoints,
            running: Mutex::new(HashMap::new()),
            ended: Mutex::new(HashMap::new()),
            lifecycle: tokio::sync::Mutex::new(()),
            exits: tx,
            next_run: std::sync::atomic::AtomicU64::new(1),
        });
        tokio::spawn(watch_exits(Arc::downgrade(&c), rx));
        c
    }

    /// The store the controller writes to.
    pub fn store(&self) -> &Arc<dyn MetadataStore> {
        &self.store
    }

    /// Parses and checks a pipeline against the workspace's connections.
    pub async fn validate(&self, ws: &Workspace, pipeline: &Json, options: &Json) -> Result<Plan, ControlError> {
        if !pipeline.is_array() {
            return Err(ControlError::Invalid("pipeline must be an array of stages".into()));
        }
        if !options.is_object() {
            return Err(ControlError::Invalid("options must be an object".into()));
        }
        let plan = parse_pipeline_json(&pipeline.to_string()).map_err(|e| ControlError::Invalid(e.to_string()))?;
        let conns = self.store.connections(&ws.id).await?;
        resolve::check(&plan, options, &conns).map_err(ControlError::Invalid)?;
        Ok(plan)
    }

    /// Creates a processor in state CREATED.
    pub async fn create(
        &self,
        ws: &Workspace,
        name: &str,
        pipeline: Json,
        options: Json,
    ) -> Result<Processor, ControlError> {
        self.validate(ws, &pipeline, &options).await?;
        let now = now_ms();
        let p = Processor {
            id: new_id(),
            workspace_id: ws.id.clone(),
            name: name.to_string(),
            pipeline,
            options,
            tier: None,
            state: ProcessorState::Created,
            error_msg: None,
            created_at: now,
            updated_at: now,
        };
        self.store.insert_processor(&p).await?;
        Ok(p)
    }

    /// Changes the name, pipeline or options of a processor that is not running.
    pub async fn modify(&self, ws: &Workspace, name: &str, m: Modification) -> Result<Processor, ControlError> {
        let _guard = self.lifecycle.lock().await;
        let mut p = self.store.processor(&ws.id, name).await?;
        transition(p.state, Action::Modify)?;
        let pipeline = m.pipeline.unwrap_or_else(|| p.pipeline.clone());
        let options = m.options.unwrap_or_else(|| p.options.clone());
        self.validate(ws, &pipeline, &options).await?;
        self.keep_or_drop_state(&p.id, &pipeline, m.resume_from_checkpoint).await?;
        p.name = m.name.unwrap_or(p.name);
        p.pipeline = pipeline;
        p.options = options;
        if m.tier.is_some() {
            p.tier = m.tier;
        }
        p.updated_at = now_ms();
        self.store.update_processor(&p).await?;
        Ok(p)
    }

    /// Stops the processor if it runs, then deletes it.
    pub async fn delete(&self, ws: &Workspace, name: &str) -> Result<(), ControlError> {
        let _guard = self.lifecycle.lock().await;
        let p = self.store.processor(&ws.id, name).await?;
        transition(p.state, Action::Delete)?;
        self.halt(&p.id).await;
        self.store.delete_processor(&p.id).await?;
        self.drop_state(&p.id).await?;
        Ok(())
    }

    /// Starts a processor (Atlas `:start` / `:startWith`).
    pub async fn start(&self, ws: &Workspace, name: &str, opts: StartOptions) -> Result<Processor, ControlError> {
        let _guard = self.lifecycle.lock().await;
        let mut p = self.store.processor(&ws.id, name).await?;
        let to = transition(p.state, Action::Start)?;
        let start_at = match &opts.start_at_operation_time {
            None => None,
            Some(text) => {
                let plan = self.validate(ws, &p.pipeline, &p.options).await?;
                if plan.source.connection_name.is_none() || plan.source.documents.is_some() {
                    return Err(ControlError::Invalid(
                        "startAtOperationTime applies to a change stream or Kafka $source only".into(),
                    ));
                }
                Some(parse_iso_datetime(text).ok_or_else(|| {
                    ControlError::Invalid(format!("startAtOperationTime '{}' is not an ISO 8601 date-time", text))
                })?)
            }
        };
        if let Some(t) = opts.tier {
            p.tier = Some(t);
        }
        let resume = opts.resume_from_checkpoint.unwrap_or(true);
        let restored = self.launch(&p, resume, start_at).await.map_err(ControlError::StartFailed)?;
        p.state = to;
        p.error_msg = None;
        p.updated_at = now_ms();
        self.store.update_processor(&p).await?;
        self.log_resumed(&p, "started", restored).await;
        Ok(p)
    }

    /// Pauses a running processor (Sluice, EnOS `action=pause`): it stops reading, keeps its
    /// state in memory and checkpoints it; watermarks freeze.
    pub async fn pause(&self, ws: &Workspace, name: &str) -> Result<Processor, ControlError> {
        let _guard = self.lifecycle.lock().await;
        let mut p = self.store.processor(&ws.id, name).await?;
        let to = transition(p.state, Action::Pause)?;
        if let Some(h) = self.handle(&p.id) {
            h.pause().await.map_err(ControlError::StartFailed)?;
        }
        self.record(&mut p, to, "paused").await?;
        Ok(p)
    }

    /// Resumes a paused processor exactly where it paused. After a server restart the paused
    /// run is gone; it starts again from the checkpoint the pause took.
    pub async fn resume(&self, ws: &Workspace, name: &str) -> Result<Processor, ControlError> {
        let _guard = self.lifecycle.lock().await;
        let mut p = self.store.processor(&ws.id, name).await?;
        let to = transition(p.state, Action::Resume)?;
        match self.handle(&p.id) {
            Some(h) => h.resume().await.map_err(ControlError::StartFailed)?,
            None => {
                self.launch(&p, true, None).await.map_err(ControlError::StartFailed)?;
            }
        }
        self.record(&mut p, to, "resumed").await?;
        Ok(p)
    }

    /// Stops a running or paused processor (Atlas `:stop`).
    pub async fn stop(&self, ws: &Workspace, name: &str) -> Result<Processor, ControlError> {
        let _guard = self.lifecycle.lock().await;
        let mut p = self.store.processor(&ws.id, name).await?;
        let to = transition(p.state, Action::Stop)?;
        self.halt(&p.id).await;
        self.record(&mut p, to, "stopped").await?;
        Ok(p)
    }

    /// Moves a stopped processor's source (Sluice `:resetOffsets`): its next start reads from
    /// there, with its operator state kept. Earliest, latest and times are resolved now, against
    /// the source's servers.
    pub async fn reset_offsets(&self, ws: &Workspace, name: &str, to: ResetTo) -> Result<Processor, ControlError> {
        let _guard = self.lifecycle.lock().await;
        let p = self.store.processor(&ws.id, name).await?;
        transition(p.state, Action::Reset)?;
        let plan = self.validate(ws, &p.pipeline, &p.options).await?;
        let conns = self.store.connections(&ws.id).await?;
        let (store, id, pipeline) = (self.checkpoints.clone(), p.id.clone(), p.pipeline.clone());
        tokio::task::spawn_blocking(move || {
            let source = resolve::open_source_of(&plan, &conns, &id)?;
            saved_state::reset_offsets(store, &id, &pipeline, &plan, source, &to)
        })
        .await
        .map_err(|e| ControlError::Invalid(e.to_string()))?
        .map_err(ControlError::Invalid)?;
        self.log(&p, "offsets reset").await;
        Ok(p)
    }

    /// The saved state of each stage of a processor that keeps one (its newest checkpoint).
    pub async fn stage_states(&self, ws: &Workspace, name: &str) -> Result<Vec<StageState>, ControlError> {
        let p = self.store.processor(&ws.id, name).await?;
        let plan = self.validate(ws, &p.pipeline, &p.options).await?;
        let (store, id) = (self.checkpoints.clone(), p.id.clone());
        tokio::task::spawn_blocking(move || saved_state::stage_states(store.as_ref(), &id, &plan))
            .await
            .map_err(|e| ControlError::Invalid(e.to_string()))?
            .map_err(ControlError::Invalid)
    }

    /// Drops the saved state of one stage of a stopped processor (by pipeline index): its
    /// windows start empty at the next start; the source position and other stages are kept.
    pub async fn drop_stage_state(&self, ws: &Workspace, name: &str, index: usize) -> Result<Processor, ControlError> {
        let _guard = self.lifecycle.lock().await;
        let p = self.store.processor(&ws.id, name).await?;
        transition(p.state, Action::Reset)?;
        let plan = self.validate(ws, &p.pipeline, &p.options).await?;
        let (store, id, pipeline) = (self.checkpoints.clone(), p.id.clone(), p.pipeline.clone());
        tokio::task::spawn_blocking(move || saved_state::drop_stage_state(store, &id, &pipeline, &plan, index))
            .await
            .map_err(|e| ControlError::Invalid(e.to_string()))?
            .map_err(ControlError::Invalid)?;
        self.log(&p, &format!("state of stage {} dropped", index)).await;
        Ok(p)
    }

    /// A processor's stats: live while it runs; else its last run's final figures, or after a
    /// server restart the counters of its newest checkpoint (read once); none before its first run.
    pub async fn stats_of(&self, p: &Processor) -> Option<LiveStats> {
        if let Some(live) = self.live_stats(&p.id) {
            return Some(live);
        }
        if let Some(last) = self.ended.lock().ok().and_then(|m| m.get(&p.id).cloned()) {
            return Some(last);
        }
        if p.state == ProcessorState::Created {
            return None;
        }
        let (store, id) = (self.checkpoints.clone(), p.id.clone());
        let saved = tokio::task::spawn_blocking(move || saved_state::saved_stats(store.as_ref(), &id)).await;
        let engine = match saved {
            Ok(Ok(Some(engine))) => engine,
            _ => return None,
        };
        let last = LiveStats { engine, ..LiveStats::default() };
        if let Ok(mut m) = self.ended.lock() {
            m.insert(p.id.clone(), last.clone());
        }
        Some(last)
    }

    /// The live counters of a running processor.
    pub fn live_stats(&self, processor_id: &str) -> Option<LiveStats> {
        self.running.lock().ok()?.get(processor_id).map(|r| r.stats())
    }

    /// The last `n` output documents of a running processor, oldest first.
    pub fn sample(&self, processor_id: &str, n: usize) -> Option<Vec<Document>> {
        self.running.lock().ok()?.get(processor_id).map(|r| r.log.last(n))
    }

    /// Up to `max` output documents of a running processor written after the first `seen` of its
    /// run, oldest first, with the count to pass next time (a sampling cursor's position).
    pub fn sample_since(&self, processor_id: &str, seen: u64, max: usize) -> Option<(Vec<Document>, u64)> {
        self.running.lock().ok()?.get(processor_id).map(|r| r.log.since(seen, max))
    }

    /// Starts again every processor the store says is STARTED (server start). One that cannot
    /// start is marked FAILED with the reason.
    pub async fn recover(&self) -> Result<usize, ControlError> {
        let _guard = self.lifecycle.lock().await;
        let mut n = 0;
        for mut p in self.store.processors_in_state(ProcessorState::Started).await? {
            match self.launch(&p, true, None).await {
                Ok(restored) => {
                    n += 1;
                    self.log_resumed(&p, "recovered", restored).await;
                }
                Err(e) => {
                    p.state = ProcessorState::Failed;
                    p.error_msg = Some(e);
                    p.updated_at = now_ms();
                    self.store.update_processor(&p).await?;
                }
            }
        }
        Ok(n)
    }

    /// Stops every run without changing stored states, so the next server start resumes them.
    pub async fn shutdown(&self) {
        let _guard = self.lifecycle.lock().await;
        let all: Vec<Running> = match self.running.lock() {
            Ok(mut m) => m.drain().map(|(_, r)| r).collect(),
            Err(_) => Vec::new(),
        };
        for r in all {
            r.stop().await;
        }
    }

    /// After a change of pipeline: keep the saved state when the new pipeline can resume from
    /// it, drop it when asked to, refuse otherwise (Atlas).
    async fn keep_or_drop_state(
        &self,
        processor_id: &str,
        pipeline: &Json,
        resume: Option<bool>,
    ) -> Result<(), ControlError> {
        if resume == Some(false) {
            return self.drop_state(processor_id).await;
        }
        let store = self.checkpoints.clone();
        let id = processor_id.to_string();
        let latest = tokio::task::spawn_blocking(move || checkpointing::latest_fingerprint(store.as_ref(), &id))
            .await
            .map_err(|e| ControlError::Store(StoreError::Backend(e.to_string())))?
            .map_err(|e| ControlError::Store(StoreError::Backend(e)))?;
        match latest {
            Some(f) if f != fingerprint(pipeline) => Err(ControlError::Invalid(checkpointing::incompatible_message())),
            _ => Ok(()),
        }
    }

    async fn drop_state(&self, processor_id: &str) -> Result<(), ControlError> {
        if let Ok(mut m) = self.ended.lock() {
            m.remove(processor_id);
        }
        let store = self.checkpoints.clone();
        let id = processor_id.to_string();
        tokio::task::spawn_blocking(move || store.clear(&id))
            .await
            .map_err(|e| ControlError::Store(StoreError::Backend(e.to_string())))?
            .map_err(ControlError::Store)
    }

    /// Opens the processor's connections and starts its run, restored from its last checkpoint
    /// when `resume`; the sequence number restored.
    async fn launch(&self, p: &Processor, resume: bool, start_at: Option<i64>) -> Result<Option<u64>, String> {
        let ws = self.store.workspace_by_id(&p.workspace_id).await.map_err(|e| e.to_string())?;
        let plan = self.validate(&ws, &p.pipeline, &p.options).await.map_err(|e| e.to_string())?;
        let conns = self.store.connections(&ws.id).await.map_err(|e| e.to_string())?;
        let log = TestLog::new(SAMPLE_CAPACITY);
        let mut endpoints = {
            let (plan, options, log, id) = (plan.clone(), p.options.clone(), log.clone(), p.id.clone());
            tokio::task::spawn_blocking(move || resolve::open(&plan, &options, &conns, log, &id))
                .await
                .map_err(|e| e.to_string())??
        };
        let tier = p.tier.unwrap_or(ws.tier);
        let partitions = endpoints.source.partitions();
        if let Some(limit) = tier.kafka_partition_limit().filter(|l| partitions > *l) {
            return Err(format!(
                "the $source reads {} partitions, more than the {} a processor of tier {} may read: run it on a larger tier",
                partitions,
                limit,
                tier.as_str()
            ));
        }
        endpoints.source.allow_parallelism(tier.max_parallelism());
        let state_limit = state_limit(tier, &p.options);
        let exec = executor(&plan, &p.name, endpoints, &state_limit)?;
        let run_id = self.next_run.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let spec = RunSpec {
            processor_id: p.id.clone(),
            run_id,
            exec,
            log,
            checkpointer: Checkpointer::new(self.checkpoints.clone(), &p.id, fingerprint(&p.pipeline)),
            resume,
            start_at,
            checkpoint_every: checkpoint_interval(&p.options),
            state_limit,
        };
        let (running, restored) = Running::spawn(spec, self.exits.clone(), now_ms()).await?;
        if let Ok(mut m) = self.running.lock() {
            m.insert(p.id.clone(), running);
        }
        Ok(restored)
    }

    /// A handle on the processor's run, if it has one (taken out of the map's lock).
    fn handle(&self, processor_id: &str) -> Option<RunHandle> {
        self.running.lock().ok()?.get(processor_id).map(Running::handle)
    }

    /// Stores the state a lifecycle action led to and writes the operational log line.
    async fn record(&self, p: &mut Processor, to: ProcessorState, what: &str) -> Result<(), ControlError> {
        p.state = to;
        p.updated_at = now_ms();
        self.store.update_processor(p).await?;
        self.log(p, what).await;
        Ok(())
    }

    async fn halt(&self, processor_id: &str) {
        let r = self.running.lock().ok().and_then(|mut m| m.remove(processor_id));
        if let Some(r) = r {
            let last = r.stop().await;
            if let Ok(mut m) = self.ended.lock() {
                m.insert(processor_id.to_string(), last);
            }
        }
    }

    async fn log_resumed(&self, p: &Processor, what: &str, restored: Option<u64>) {
        let line = serde_json::json!({"processor": p.name, "processorId": p.id, "event": what,
            "state": p.state.as_str(), "restoredCheckpoint": restored});
        self.append(&p.workspace_id, line).await;
    }

    async fn log(&self, p: &Processor, what: &str) {
        let line =
            serde_json::json!({"processor": p.name, "processorId": p.id, "event": what, "state": p.state.as_str()});
        self.append(&p.workspace_id, line).await;
    }

    async fn append(&self, workspace_id: &str, line: Json) {
        let e = LogEvent {
            workspace_id: workspace_id.to_string(),
            kind: LogKind::Operational,
            at_ms: now_ms(),
            line: line.to_string(),
        };
        if let Err(err) = self.store.append_log(&e).await {
            tracing::warn!(error = %err, "cannot write an operational log line");
        }
    }

    /// A run ended by itself: record why.
    async fn on_exit(&self, exit: Exit) {
        let _guard = self.lifecycle.lock().await;
        let current = self.running.lock().ok().and_then(|m| m.get(&exit.processor_id).map(|r| r.run_id));
        if current != Some(exit.run_id) || exit.reason == ExitReason::Stopped {
            return; // stopped on request, or an older run: the requester already recorded it
        }
        self.halt(&exit.processor_id).await;
        let Ok(mut p) = self.store.processor_by_id(&exit.processor_id).await else { return };
        let (state, msg, what) = match exit.reason {
            ExitReason::Failed(m) => (ProcessorState::Failed, Some(m), "failed"),
            _ => (ProcessorState::Stopped, None, "source ended"),
        };
        p.state = state;
        p.error_msg = msg.clone();
        p.updated_at = now_ms();
        if let Err(e) = self.store.update_processor(&p).await {
            tracing::error!(processor = %p.name, error = %e, "cannot record the end of a run");
        }
        tracing::info!(processor = %p.name, event = what, "processor run ended");
        let line = serde_json::json!({"processor": p.name, "processorId": p.id, "event": what, "state": p.state.as_str(), "error": msg});
        self.append(&p.workspace_id, line).await;
    }
}

/// The most state a processor may hold: its tier's limit (80% of the tier's RAM), or its
/// `maxStateBytes` option when that is lower.
fn state_limit(tier: Tier, options: &Json) -> StateLimit {
    let by_tier = StateLimit {
        bytes: tier.state_limit_bytes(),
        source: format!("tier {} (80% of its {} MiB RAM)", tier.as_str(), tier.ram_bytes() >> 20),
    };
    match options.get(MAX_STATE_OPTION).and_then(Json::as_u64) {
        Some(n) if n < by_tier.bytes => StateLimit { bytes: n, source: format!("the option {}", MAX_STATE_OPTION) },
        _ => by_tier,
    }
}

/// The processor's checkpoint interval: its `checkpointIntervalMs` option, or the default.
fn checkpoint_interval(options: &Json) -> Duration {
    options
        .get(CHECKPOINT_INTERVAL_OPTION)
        .and_then(Json::as_u64)
        .map(Duration::from_millis)
        .unwrap_or(DEFAULT_CHECKPOINT_EVERY)
}

async fn watch_exits(c: Weak<Controller>, mut rx: UnboundedReceiver<Exit>) {
    while let Some(exit) = rx.recv().await {
        let Some(c) = c.upgrade() else { return };
        c.on_exit(exit).await;
    }
}
