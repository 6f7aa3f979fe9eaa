//! The controller: the only way to change a processor's state. It finds the processor and hands
//! the request to the processor's own actor ([`crate::actor`]), which asks the transition table,
//! writes the new state to the store, and starts or stops the engine run to match. Reads (stats,
//! samples) come from the runs' shared views and never wait on an actor.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures_util::future::join_all;
use serde_json::Value as Json;
use sluice_engine::{system_clock, Clock, ResetTo};
use sluice_mql::Document;
use sluice_pipeline::Plan;
use sluice_store::{CheckpointStore, MetadataStore, Processor, Workspace};
use sluice_types::ProcessorState;

use crate::actor::{ActorHandle, Request};
use crate::endpoints;
use crate::error::ControlError;
use crate::ids::{new_id, now_ms};
use crate::recovery::Recovery;
use crate::request::{Modification, StartOptions};
use crate::runner::LiveStats;
use crate::saved_state::{self, StageState};
use crate::services::Services;

/// Owns every processor's actor on this server.
pub struct Controller {
    pub(crate) services: Arc<Services>,
    /// The actor of each processor that has been asked something, by processor id.
    actors: Mutex<HashMap<String, ActorHandle>>,
}

impl Controller {
    /// A controller over `store`, keeping checkpoints in `checkpoints`; actors run on the
    /// current runtime.
    pub fn new(store: Arc<dyn MetadataStore>, checkpoints: Arc<dyn CheckpointStore>) -> Arc<Controller> {
        Controller::with_clock(store, checkpoints, system_clock())
    }

    /// Like [`Controller::new`], its processors keeping time by `clock` (`$$NOW`, ingestion
    /// times, the sample stream's pace): tests drive it.
    pub fn with_clock(
        store: Arc<dyn MetadataStore>,
        checkpoints: Arc<dyn CheckpointStore>,
        clock: Clock,
    ) -> Arc<Controller> {
        Arc::new(Controller {
            services: Arc::new(Services::new(store, checkpoints, clock)),
            actors: Mutex::new(HashMap::new()),
        })
    }

    /// The store the controller writes to.
    pub fn store(&self) -> &Arc<dyn MetadataStore> {
        &self.services.store
    }

    /// Parses and checks a pipeline against the workspace's connections.
    pub async fn validate(&self, ws: &Workspace, pipeline: &Json, options: &Json) -> Result<Plan, ControlError> {
        self.services.validate(ws, pipeline, options).await
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
        self.services.store.insert_processor(&p).await?;
        Ok(p)
    }

    /// Changes the name, pipeline or options of a processor that is not running.
    pub async fn modify(&self, ws: &Workspace, name: &str, m: Modification) -> Result<Processor, ControlError> {
        self.ask(ws, name, Request::Modify(m)).await
    }

    /// Stops the processor if it runs, then deletes it.
    pub async fn delete(&self, ws: &Workspace, name: &str) -> Result<(), ControlError> {
        let p = self.ask(ws, name, Request::Delete).await?;
        self.forget(&p.id);
        Ok(())
    }

    /// Starts a processor (Atlas `:start` / `:startWith`).
    pub async fn start(&self, ws: &Workspace, name: &str, opts: StartOptions) -> Result<Processor, ControlError> {
        self.ask(ws, name, Request::Start(opts)).await
    }

    /// Pauses a running processor (Sluice, EnOS `action=pause`): it stops reading, keeps its
    /// state in memory and checkpoints it; watermarks freeze.
    pub async fn pause(&self, ws: &Workspace, name: &str) -> Result<Processor, ControlError> {
        self.ask(ws, name, Request::Pause).await
    }

    /// Resumes a paused processor exactly where it paused. After a server restart the paused
    /// run is gone; it starts again from the checkpoint the pause took.
    pub async fn resume(&self, ws: &Workspace, name: &str) -> Result<Processor, ControlError> {
        self.ask(ws, name, Request::Resume).await
    }

    /// Stops a running or paused processor (Atlas `:stop`).
    pub async fn stop(&self, ws: &Workspace, name: &str) -> Result<Processor, ControlError> {
        self.ask(ws, name, Request::Stop).await
    }

    /// Moves a stopped processor's source (Sluice `:resetOffsets`): its next start reads from
    /// there, with its operator state kept. Earliest, latest and times are resolved now, against
    /// the source's servers.
    pub async fn reset_offsets(&self, ws: &Workspace, name: &str, to: ResetTo) -> Result<Processor, ControlError> {
        self.ask(ws, name, Request::ResetOffsets(to)).await
    }

    /// Drops the saved state of one stage of a stopped processor (by pipeline index): its
    /// windows start empty at the next start; the source position and other stages are kept.
    pub async fn drop_stage_state(&self, ws: &Workspace, name: &str, index: usize) -> Result<Processor, ControlError> {
        self.ask(ws, name, Request::DropStageState(index)).await
    }

    /// The saved state of each stage of a processor that keeps one (its newest checkpoint).
    pub async fn stage_states(&self, ws: &Workspace, name: &str) -> Result<Vec<StageState>, ControlError> {
        let p = self.services.store.processor(&ws.id, name).await?;
        let plan = self.validate(ws, &p.pipeline, &p.options).await?;
        let (store, id) = (self.services.checkpoints.clone(), p.id.clone());
        tokio::task::spawn_blocking(move || saved_state::stage_states(store.as_ref(), &id, &plan))
            .await?
            .map_err(ControlError::Invalid)
    }

    /// A processor's stats: live while it runs; else its last run's final figures, or after a
    /// server restart the counters of its newest checkpoint (read once); none before its first run.
    pub async fn stats_of(&self, p: &Processor) -> Option<LiveStats> {
        if let Some(live) = self.live_stats(&p.id) {
            return Some(live);
        }
        if p.state == ProcessorState::Created {
            return None;
        }
        if let Some(published) = self.published_stats(&p.id).await {
            return Some(published);
        }
        self.stats_after_run(p).await
    }

    /// The stats of each of these processors, as [`Controller::stats_of`] gives them, with one
    /// read of the statistics other nodes published for all of them.
    pub async fn stats_of_all(&self, ps: &[Processor]) -> Vec<Option<LiveStats>> {
        let wanted: Vec<String> = ps
            .iter()
            .filter(|p| p.state != ProcessorState::Created && self.services.view(&p.id).is_none())
            .map(|p| p.id.clone())
            .collect();
        let mut published = self.published_stats_of(&wanted).await;
        let mut all = Vec::with_capacity(ps.len());
        for p in ps {
            let s = match self.live_stats(&p.id) {
                Some(live) => Some(live),
                None if p.state == ProcessorState::Created => None,
                None => match published.remove(&p.id) {
                    Some(s) => Some(s),
                    None => self.stats_after_run(p).await,
                },
            };
            all.push(s);
        }
        all
    }

    /// The stats of a processor that is not running here: its last run's final figures, or after
    /// a server restart the counters of its newest checkpoint (read once).
    async fn stats_after_run(&self, p: &Processor) -> Option<LiveStats> {
        if let Some(last) = self.services.ended(&p.id) {
            return Some(last);
        }
        let (store, id) = (self.services.checkpoints.clone(), p.id.clone());
        let saved = tokio::task::spawn_blocking(move || saved_state::saved_stats(store.as_ref(), &id)).await;
        let engine = match saved {
            Ok(Ok(Some(engine))) => engine,
            _ => return None,
        };
        let last = LiveStats { engine, ..LiveStats::default() };
        self.services.set_ended(&p.id, last.clone());
        Some(last)
    }

    /// The live counters of a running processor.
    pub fn live_stats(&self, processor_id: &str) -> Option<LiveStats> {
        self.services.view(processor_id).map(|v| v.stats())
    }

    /// The last `n` output documents of a running processor, oldest first.
    pub fn sample(&self, processor_id: &str, n: usize) -> Option<Vec<Document>> {
        self.services.view(processor_id).map(|v| v.log.last(n))
    }

    /// The last `n` dead letters of a processor, oldest first: from its `options.dlq`
    /// collection when it has one (asking the database), else those its run keeps in memory
    /// (none when it is not running).
    pub async fn dead_letters(&self, p: &Processor, n: usize) -> Result<Vec<Document>, ControlError> {
        if p.options.get("dlq").is_none() {
            return Ok(self.services.view(&p.id).map(|v| v.dlq_log.last(n)).unwrap_or_default());
        }
        let conns = self.services.store.connections(&p.workspace_id).await?;
        let options = p.options.clone();
        let read = tokio::task::spawn_blocking(move || endpoints::newest_dead_letters(&options, &conns, n)).await?;
        Ok(read.map_err(ControlError::StartFailed)?.unwrap_or_default())
    }

    /// Reaches the system behind connection `name` of workspace `ws` as a processor would
    /// (Sluice's connection check): `Ok(Err(reason))` when it cannot be used, with how long the
    /// attempt took.
    pub async fn check_connection(
        &self,
        ws: &Workspace,
        name: &str,
    ) -> Result<(Result<(), String>, std::time::Duration), ControlError> {
        let conn = self.services.store.connection(&ws.id, name).await?;
        let started = std::time::Instant::now();
        let answer = tokio::task::spawn_blocking(move || endpoints::probe(&conn)).await?;
        Ok((answer, started.elapsed()))
    }

    /// Up to `max` output documents of a running processor written after the first `seen` of its
    /// run, oldest first, with the count to pass next time (a sampling cursor's position).
    pub fn sample_since(&self, processor_id: &str, seen: u64, max: usize) -> Option<(Vec<Document>, u64)> {
        self.services.view(processor_id).map(|v| v.log.since(seen, max))
    }

    /// Starts again, all at once, every processor the store says is STARTED (server start). One
    /// that cannot start is marked FAILED with the reason. Returns how many run.
    pub async fn recover(&self) -> Result<usize, ControlError> {
        let stored = self.services.store.processors_in_state(ProcessorState::Started).await?;
        let ids = stored.iter().map(|p| p.id.clone()).collect();
        // Nodes sharing a store change rows of other nodes' processors: each reads its own.
        if self.services.cluster.get().is_some() {
            return self.recover_these(ids, None).await;
        }
        let recovery = Recovery::prepare(&self.services, &stored).await;
        self.recover_these(ids, Some(recovery)).await
    }

    /// Runs again the processors of these ids that are stored as STARTED; with what a recovery
    /// of many read for them all.
    pub(crate) async fn recover_these(
        &self,
        ids: Vec<String>,
        recovery: Option<Arc<Recovery>>,
    ) -> Result<usize, ControlError> {
        let asks = ids.iter().map(|id| {
            let (actor, recovery) = (self.actor(id), recovery.clone());
            async move { actor.ask(Request::Recover(recovery)).await }
        });
        let mut n = 0;
        for answer in join_all(asks).await {
            match answer {
                Ok(p) if p.state == ProcessorState::Started => n += 1,
                // Deleted meanwhile, or marked FAILED with its reason.
                Ok(_) | Err(ControlError::NotFound) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(n)
    }

    /// Stops every run without changing stored states, so the next server start resumes them.
    /// With several nodes this is a drain: the node takes no new work, and each run gives its
    /// lease back as it stops, for the other nodes to take at once.
    pub async fn shutdown(&self) {
        if let Some(cluster) = self.services.cluster.get() {
            cluster.start_draining().await;
        }
        let all: Vec<ActorHandle> = match self.actors.lock() {
            Ok(mut m) => m.drain().map(|(_, a)| a).collect(),
            Err(_) => Vec::new(),
        };
        join_all(all.iter().map(ActorHandle::shutdown)).await;
    }

    /// Finds the processor and asks its actor, on the node that runs it.
    async fn ask(&self, ws: &Workspace, name: &str, request: Request) -> Result<Processor, ControlError> {
        let p = self.services.store.processor(&ws.id, name).await?;
        if self.forwarded(&p.id, &request).await? {
            return match request {
                Request::Delete => Ok(p),
                _ => Ok(self.services.store.processor_by_id(&p.id).await?),
            };
        }
        self.actor(&p.id).ask(request).await
    }

    /// Forgets the actor of a deleted processor.
    pub(crate) fn forget(&self, processor_id: &str) {
        if let Ok(mut m) = self.actors.lock() {
            m.remove(processor_id);
        }
    }

    /// The processor's actor, started on first use.
    pub(crate) fn actor(&self, processor_id: &str) -> ActorHandle {
        let mut m = match self.actors.lock() {
            Ok(m) => m,
            // A panic while holding this map's lock left it as it was: every entry is whole.
            Err(poisoned) => poisoned.into_inner(),
        };
        m.entry(processor_id.to_string())
            .or_insert_with(|| ActorHandle::spawn(self.services.clone(), processor_id.to_string()))
            .clone()
    }
}
