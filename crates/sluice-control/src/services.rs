//! What every processor's actor shares: the stores, the readable side of each run, the last
//! figures of ended runs, and the steps a lifecycle action is made of (check a pipeline, open
//! connections and start a run, stop one, write the operational log).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use serde_json::Value as Json;
use sluice_connectors::TestLog;
use sluice_engine::{Clock, Health, HealthEvents, DEFAULT_RETRY_FOR};
use sluice_pipeline::{parse_pipeline_json, Plan};
use sluice_store::{CheckpointStore, LogEvent, LogKind, MetadataStore, Processor, Workspace};
use sluice_types::{ProcessorState, Tier};
use tokio::sync::mpsc::UnboundedSender;

use crate::checkpointing::{self, fingerprint, Checkpointer};
use crate::cluster::fence::Fence;
use crate::cluster::fenced_sink::FencedSink;
use crate::cluster::Cluster;
use crate::endpoints;
use crate::error::ControlError;
use crate::ids::now_ms;
use crate::oplog::LogWriter;
use crate::recovery::Known;
use crate::runner::{executor, Exit, LiveStats, RunSpec, RunView, Running, StateLimit, SAMPLE_CAPACITY};

/// Opened endpoints as the processor's tier allows them: no more partitions than its limit,
/// as many readers as its parallelism; with several nodes, sinks that write only under `fence`.
fn fit_to_tier(
    mut endpoints: endpoints::Endpoints,
    tier: Tier,
    fence: Option<Arc<Fence>>,
) -> Result<endpoints::Endpoints, String> {
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
    if let Some(f) = fence {
        endpoints.sink = FencedSink::wrap(endpoints.sink, f.clone());
        endpoints.dlq = FencedSink::wrap(endpoints.dlq, f);
    }
    Ok(endpoints)
}

/// How often a running processor takes a checkpoint unless its options say otherwise.
pub const DEFAULT_CHECKPOINT_EVERY: Duration = Duration::from_secs(10);
/// The processor option (a Sluice extension) that sets its checkpoint interval in milliseconds.
pub const CHECKPOINT_INTERVAL_OPTION: &str = "checkpointIntervalMs";
/// The processor option (a Sluice extension) that caps its state below its tier's limit, in bytes.
pub const MAX_STATE_OPTION: &str = "maxStateBytes";
/// The processor option (a Sluice extension): how long, in milliseconds, its connectors keep
/// retrying an external system that fails before the processor goes FAILED.
pub const RETRY_LIMIT_OPTION: &str = "retryLimitMs";

/// A pipeline checked against its workspace's connections: the plan, what the connectors read,
/// and the connections as they were read.
pub(crate) struct Wired {
    pub plan: Plan,
    pub wiring: endpoints::Wiring,
    pub conns: Vec<sluice_store::Connection>,
}

/// Where a processor's runs report to its actor: their end, and changes of their health.
pub(crate) struct RunLinks {
    /// A run's end.
    pub exits: UnboundedSender<Exit>,
    /// A connection failing or recovering.
    pub health: HealthEvents,
}

/// The stores and run views every processor's actor uses.
pub(crate) struct Services {
    /// Processors, workspaces, connections and logs.
    pub store: Arc<dyn MetadataStore>,
    /// Checkpoints.
    pub checkpoints: Arc<dyn CheckpointStore>,
    /// The readable side of every run, by processor id: the API reads stats and samples here
    /// without waiting on the processor's actor.
    views: Mutex<HashMap<String, RunView>>,
    /// The final figures of each processor's last run (or, after a server restart, the counters
    /// of its newest checkpoint), for the stats of processors that are not running.
    ended: Mutex<HashMap<String, LiveStats>>,
    next_run: AtomicU64,
    oplog: LogWriter,
    /// The clock the runs keep time by.
    clock: Clock,
    /// With several nodes sharing the store: this node among them.
    pub cluster: OnceLock<Arc<Cluster>>,
}

/// The lease a run is to start under.
pub(crate) enum Lease {
    /// A single server: no leases.
    Alone,
    /// This node holds it.
    Held(Arc<Fence>),
    /// Another node holds it: the processor runs there.
    Elsewhere,
}

impl Lease {
    fn fence(&self) -> Option<Arc<Fence>> {
        match self {
            Lease::Held(f) => Some(f.clone()),
            _ => None,
        }
    }
}

impl Services {
    /// Services over these stores, keeping time by `clock`; the operational log's writer runs
    /// on the current runtime.
    pub fn new(store: Arc<dyn MetadataStore>, checkpoints: Arc<dyn CheckpointStore>, clock: Clock) -> Services {
        Services {
            clock,
            checkpoints,
            views: Mutex::new(HashMap::new()),
            ended: Mutex::new(HashMap::new()),
            next_run: AtomicU64::new(1),
            cluster: OnceLock::new(),
            oplog: LogWriter::new(store.clone()),
            store,
        }
    }

    /// Parses and checks a pipeline against the workspace's connections.
    pub async fn validate(&self, ws: &Workspace, pipeline: &Json, options: &Json) -> Result<Plan, ControlError> {
        self.wire(ws, pipeline, options).await.map(|w| w.plan)
    }

    /// Parses and checks a pipeline against the workspace's connections, keeping what the
    /// connectors read for opening them.
    pub async fn wire(&self, ws: &Workspace, pipeline: &Json, options: &Json) -> Result<Wired, ControlError> {
        let conns = self.store.connections(&ws.id).await?;
        self.wire_with(pipeline, options, conns)
    }

    /// Parses and checks a pipeline against connections already read.
    pub fn wire_with(
        &self,
        pipeline: &Json,
        options: &Json,
        conns: Vec<sluice_store::Connection>,
    ) -> Result<Wired, ControlError> {
        if !pipeline.is_array() {
            return Err(ControlError::Invalid("pipeline must be an array of stages".into()));
        }
        if !options.is_object() {
            return Err(ControlError::Invalid("options must be an object".into()));
        }
        let plan = parse_pipeline_json(&pipeline.to_string()).map_err(|e| ControlError::Invalid(e.to_string()))?;
        let wiring = endpoints::check(&plan, options, &conns).map_err(ControlError::Invalid)?;
        Ok(Wired { plan, wiring, conns })
    }

    /// The readable side of a processor's run, if it runs.
    pub fn view(&self, processor_id: &str) -> Option<RunView> {
        self.views.lock().ok()?.get(processor_id).cloned()
    }

    /// The final figures of a processor's last run, if known.
    pub fn ended(&self, processor_id: &str) -> Option<LiveStats> {
        self.ended.lock().ok()?.get(processor_id).cloned()
    }

    /// Remembers the final figures of a processor that is not running.
    pub fn set_ended(&self, processor_id: &str, last: LiveStats) {
        if let Ok(mut m) = self.ended.lock() {
            m.insert(processor_id.to_string(), last);
        }
    }

    /// With several nodes: takes the processor's lease for this node, unless another node
    /// holds it.
    pub async fn take_lease(&self, processor_id: &str) -> Result<Lease, ControlError> {
        let Some(cluster) = self.cluster.get() else { return Ok(Lease::Alone) };
        Ok(match cluster.keeper.acquire(processor_id).await? {
            Some(fence) => Lease::Held(fence),
            None => Lease::Elsewhere,
        })
    }

    /// Gives back the lease `lease` stands for.
    pub async fn give_back(&self, processor_id: &str, lease: &Lease) {
        if let (Some(cluster), Lease::Held(fence)) = (self.cluster.get(), lease) {
            cluster.keeper.release(processor_id, fence).await;
        }
    }

    /// Opens the processor's connections and starts its run under `lease`, restored from its
    /// last checkpoint when `resume`; its end and its health changes are sent to `links`. Its
    /// workspace and connections are read now unless a recovery `known` them. Returns the run
    /// and the sequence number restored. The lease is given back when the start fails.
    pub async fn launch(
        &self,
        p: &Processor,
        (resume, start_at): (bool, Option<i64>),
        (lease, known): (&Lease, Option<Known>),
        links: &RunLinks,
    ) -> Result<(Running, Option<u64>), ControlError> {
        let launched = self.launch_under(p, (resume, start_at), (lease.fence(), known), links).await;
        if launched.is_err() {
            self.give_back(&p.id, lease).await;
        }
        launched
    }

    async fn launch_under(
        &self,
        p: &Processor,
        (resume, start_at): (bool, Option<i64>),
        (fence, known): (Option<Arc<Fence>>, Option<Known>),
        links: &RunLinks,
    ) -> Result<(Running, Option<u64>), ControlError> {
        let (ws, conns) = match known {
            Some(k) => (k.ws, k.conns.to_vec()),
            None => {
                let ws = self.store.workspace_by_id(&p.workspace_id).await?;
                let conns = self.store.connections(&ws.id).await?;
                (ws, conns)
            }
        };
        // A pipeline that no longer checks (a connection deleted since) cannot start.
        let Wired { plan, wiring, conns } = self.wire_with(&p.pipeline, &p.options, conns).map_err(|e| match e {
            ControlError::Invalid(m) => ControlError::StartFailed(m),
            other => other,
        })?;
        let (log, dlq_log) = (TestLog::new(SAMPLE_CAPACITY), TestLog::new(endpoints::DLQ_KEPT));
        let tier = p.tier.unwrap_or(ws.tier);
        let mut checkpointer = Checkpointer::new(self.checkpoints.clone(), &p.id, fingerprint(&p.pipeline));
        if let Some(f) = &fence {
            checkpointer = checkpointer.fenced(f.clone());
        }
        let state_limit = state_limit(tier, &p.options);
        let health = Health::new(retry_limit(&p.options), Some(links.health.clone()));
        // Opened on the run's thread: a start costs one thread, and opening blocks nobody else.
        let build = {
            let (id, name, logs, fence) = (p.id.clone(), p.name.clone(), (log.clone(), dlq_log.clone()), fence.clone());
            let (limit, health, clock) = (state_limit.clone(), health.clone(), self.clock.clone());
            move || {
                let endpoints = endpoints::open(&plan, wiring, &conns, logs, &id)?;
                let endpoints = fit_to_tier(endpoints, tier, fence)?;
                executor(&plan, &name, endpoints, &limit, (health, clock))
            }
        };
        let spec = RunSpec {
            processor_id: p.id.clone(),
            run_id: self.next_run.fetch_add(1, Ordering::Relaxed),
            build: Box::new(build),
            log,
            dlq_log,
            checkpointer,
            resume,
            start_at,
            checkpoint_every: checkpoint_interval(&p.options),
            state_limit,
            health,
            span: tracing::Span::current(),
            fence,
        };
        let (running, restored) = Running::spawn(spec, links.exits.clone(), now_ms()).await?;
        if let Ok(mut m) = self.views.lock() {
            m.insert(p.id.clone(), running.view());
        }
        Ok((running, restored))
    }

    /// Stops a run (it takes its checkpoint first), keeps its final figures and, with several
    /// nodes, publishes them and gives its lease back.
    pub async fn halt(&self, processor_id: &str, run: Running) {
        if let Ok(mut m) = self.views.lock() {
            m.remove(processor_id);
        }
        let fence = run.fence.clone();
        let last = run.stop().await;
        if let (Some(cluster), Some(fence)) = (self.cluster.get(), fence) {
            if fence.holds() {
                publish(cluster, &[(processor_id.to_string(), last.clone())]).await;
            }
            cluster.keeper.release(processor_id, &fence).await;
        }
        self.set_ended(processor_id, last);
    }

    /// The live statistics of every run of this node, by processor id.
    pub fn running_stats(&self) -> Vec<(String, LiveStats)> {
        let views: Vec<(String, RunView)> =
            self.views.lock().map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).unwrap_or_default();
        views.into_iter().map(|(id, v)| (id, v.stats())).collect()
    }

    /// After a change of pipeline: keep the saved state when the new pipeline can resume from
    /// it, drop it when asked to, refuse otherwise (Atlas).
    pub async fn keep_or_drop_state(
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
            .await?
            .map_err(|e| ControlError::Store(sluice_store::StoreError::Backend(e)))?;
        match latest {
            Some(f) if f != fingerprint(pipeline) => Err(ControlError::Invalid(checkpointing::incompatible_message())),
            _ => Ok(()),
        }
    }

    /// Drops a processor's checkpoints and the figures of its last run.
    pub async fn drop_state(&self, processor_id: &str) -> Result<(), ControlError> {
        if let Ok(mut m) = self.ended.lock() {
            m.remove(processor_id);
        }
        let store = self.checkpoints.clone();
        let id = processor_id.to_string();
        tokio::task::spawn_blocking(move || store.clear(&id)).await?.map_err(ControlError::Store)
    }

    /// Stores the state a lifecycle action led to and writes the operational log line.
    pub async fn record(&self, p: &mut Processor, to: ProcessorState, what: &str) -> Result<(), ControlError> {
        p.state = to;
        p.updated_at = now_ms();
        self.store.update_processor(p).await?;
        self.log(p, what).await;
        Ok(())
    }

    /// An operational log line for a run that started, with the checkpoint it resumed from.
    pub async fn log_resumed(&self, p: &Processor, what: &str, restored: Option<u64>) {
        let line = serde_json::json!({"processor": p.name, "processorId": p.id, "event": what,
            "state": p.state.as_str(), "restoredCheckpoint": restored});
        self.append(&p.workspace_id, line).await;
    }

    /// An operational log line for a lifecycle event.
    pub async fn log(&self, p: &Processor, what: &str) {
        let line =
            serde_json::json!({"processor": p.name, "processorId": p.id, "event": what, "state": p.state.as_str()});
        self.append(&p.workspace_id, line).await;
    }

    /// Appends a line to the workspace's operational logs; a failure to write it is only logged.
    pub async fn append(&self, workspace_id: &str, line: Json) {
        let e = LogEvent {
            workspace_id: workspace_id.to_string(),
            kind: LogKind::Operational,
            at_ms: now_ms(),
            line: line.to_string(),
        };
        if let Err(err) = self.oplog.append(e).await {
            tracing::warn!(error = %err, "cannot write an operational log line");
        }
    }
}

/// Stores the statistics of runs of this node for the other nodes to show.
pub(crate) async fn publish(cluster: &Cluster, stats: &[(String, LiveStats)]) {
    let encoded: Vec<(String, String)> =
        stats.iter().filter_map(|(id, s)| serde_json::to_string(s).ok().map(|j| (id.clone(), j))).collect();
    if let Err(e) = cluster.store.publish_stats(&cluster.node_id, &encoded).await {
        tracing::warn!(error = %e, "cannot publish this node's processor statistics");
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

/// How long the processor's connectors retry a failing external system: its `retryLimitMs`
/// option, or the default.
fn retry_limit(options: &Json) -> Duration {
    options.get(RETRY_LIMIT_OPTION).and_then(Json::as_u64).map(Duration::from_millis).unwrap_or(DEFAULT_RETRY_FOR)
}

/// The processor's checkpoint interval: its `checkpointIntervalMs` option, or the default.
pub(crate) fn checkpoint_interval(options: &Json) -> Duration {
    options
        .get(CHECKPOINT_INTERVAL_OPTION)
        .and_then(Json::as_u64)
        .map(Duration::from_millis)
        .unwrap_or(DEFAULT_CHECKPOINT_EVERY)
}
