//! One running processor: an engine executor on a thread of its own, its live stats, its output
//! log, its checkpoints, and commands (pause, resume, stop) obeyed at batch boundaries.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sluice_connectors::TestLog;
use sluice_engine::{Clock, ErrorDomain, Executor, ExecutorConfig, ExecutorStats, Health, StepOutcome, Trouble};
use sluice_pipeline::Plan;
use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::oneshot;

use crate::checkpointing::{CheckpointInfo, Checkpointer};
use crate::cluster::fence::Fence;
use crate::error::ControlError;

/// How often a running executor publishes its counters.
const PUBLISH_EVERY: Duration = Duration::from_millis(100);
/// How often a running executor measures its state size.
const STATE_SIZE_EVERY: Duration = Duration::from_secs(2);
/// How long an idle executor sleeps before polling its source again.
const IDLE_SLEEP: Duration = Duration::from_millis(10);
/// How many output documents a processor's sample log keeps.
pub const SAMPLE_CAPACITY: usize = 1000;

/// Counters of a running processor as last published.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct LiveStats {
    /// The executor's counters.
    pub engine: ExecutorStats,
    /// When it started, milliseconds since the epoch.
    pub started_at_ms: i64,
    /// Milliseconds from start to the first output document, once there is one.
    pub first_output_after_ms: Option<u64>,
    /// Whether the run is paused.
    pub paused: bool,
    /// Checkpoints taken by this run.
    pub checkpoints: u64,
    /// The last checkpoint taken by this run.
    pub last_checkpoint: Option<CheckpointInfo>,
    /// The external systems failing the run right now (its connectors retry them).
    pub troubles: Vec<Trouble>,
    /// Attempts on external systems that failed in this run.
    pub retries: u64,
}

/// Why a processor's thread ended.
#[derive(Debug, Clone, PartialEq)]
pub enum ExitReason {
    /// Asked to stop.
    Stopped,
    /// Its source ended and everything was written.
    Finished,
    /// The engine failed: why, and whose failure it is.
    Failed(String, ErrorDomain),
    /// This node lost the processor's lease (another node runs it now): the run ended without
    /// writing anything more, and the stored state is the new holder's to change.
    LeaseLost,
}

/// The end of one run, reported to its processor's actor.
#[derive(Debug, Clone)]
pub struct Exit {
    /// Which run (a processor restarted gets a new one).
    pub run_id: u64,
    /// Why.
    pub reason: ExitReason,
}

/// What a run's thread is asked to do.
enum Command {
    /// Take a checkpoint and stop reading; state stays in memory.
    Pause(oneshot::Sender<Result<(), String>>),
    /// Read again from where the pause left off.
    Resume(oneshot::Sender<Result<(), String>>),
    /// Take a checkpoint and end the run.
    Stop,
}

/// How a run starts and keeps its state.
pub struct RunSpec {
    /// The processor.
    pub processor_id: String,
    /// Which run this is.
    pub run_id: u64,
    /// Opens its connectors and builds its executor, on the run's own thread before it
    /// restores (blocking: a Kafka source may ask the brokers); `Err` says why it cannot start.
    pub build: Box<dyn FnOnce() -> Result<Executor, String> + Send>,
    /// Its output log.
    pub log: TestLog,
    /// Its dead letters, when they are kept in memory.
    pub dlq_log: TestLog,
    /// Its checkpoints.
    pub checkpointer: Checkpointer,
    /// Resume from the last checkpoint (`false`: drop it and start fresh).
    pub resume: bool,
    /// `:startWith {startAtOperationTime}` (ms since the epoch): where the source starts reading,
    /// instead of the checkpoint's position.
    pub start_at: Option<i64>,
    /// How often to take a checkpoint while running.
    pub checkpoint_every: Duration,
    /// The most state the run may hold.
    pub state_limit: StateLimit,
    /// Its health board (also in its executor's connectors).
    pub health: Health,
    /// The processor's tracing span (group, workspace, processor), entered by the run's thread.
    pub span: tracing::Span,
    /// With several nodes: the lease the run holds; it stops when the lease is gone.
    pub fence: Option<Arc<Fence>>,
}

/// The most state a run may hold, and where that limit comes from (for the failure message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateLimit {
    /// Bytes of operator state.
    pub bytes: u64,
    /// Whose limit it is, e.g. `tier SP10 (80% of its 2048 MiB RAM)`.
    pub source: String,
}

/// Asks a run to pause or resume without holding on to the [`Running`] itself.
#[derive(Clone)]
pub struct RunHandle(std::sync::mpsc::Sender<Command>);

impl RunHandle {
    async fn ask(&self, make: impl FnOnce(oneshot::Sender<Result<(), String>>) -> Command) -> Result<(), String> {
        let (tx, rx) = oneshot::channel();
        self.0.send(make(tx)).map_err(|_| "the run has ended".to_string())?;
        rx.await.map_err(|_| "the run has ended".to_string())?
    }

    /// Takes a checkpoint and stops reading; answers once the checkpoint is saved.
    pub async fn pause(&self) -> Result<(), String> {
        self.ask(Command::Pause).await
    }

    /// Reads again from where the pause left off.
    pub async fn resume(&self) -> Result<(), String> {
        self.ask(Command::Resume).await
    }
}

/// The readable side of a run: its counters, its output log and its in-memory dead letters,
/// shared with the run's thread.
#[derive(Clone)]
pub struct RunView {
    stats: Arc<Mutex<LiveStats>>,
    health: Health,
    /// Its output (the `__testLog`), sampled by the API.
    pub log: TestLog,
    /// Its dead letters kept in memory (empty when they go to `options.dlq`'s collection).
    pub dlq_log: TestLog,
}

impl RunView {
    /// The counters as last published, with the run's health as it is now (a connector may be
    /// retrying inside a batch, between two publications).
    pub fn stats(&self) -> LiveStats {
        with_health(self.stats.lock().map(|s| s.clone()).unwrap_or_default(), &self.health)
    }
}

fn with_health(mut s: LiveStats, health: &Health) -> LiveStats {
    s.troubles = health.troubles();
    s.retries = health.retries();
    s
}

/// A processor whose executor is running (or paused: alive, not reading).
pub struct Running {
    /// Which run this is.
    pub run_id: u64,
    commands: std::sync::mpsc::Sender<Command>,
    thread: Option<std::thread::JoinHandle<()>>,
    stats: Arc<Mutex<LiveStats>>,
    health: Health,
    /// Its output (the `__testLog`), sampled by the API.
    pub log: TestLog,
    /// Its dead letters kept in memory (empty when they go to `options.dlq`'s collection).
    pub dlq_log: TestLog,
    /// With several nodes: the lease it runs under.
    pub fence: Option<Arc<Fence>>,
}

impl Running {
    /// Starts a run on a thread of its own; its end is sent to `exits`. Returns once the run has
    /// restored its checkpoint (the sequence number restored, if any) or failed to.
    pub async fn spawn(
        spec: RunSpec,
        exits: UnboundedSender<Exit>,
        now_ms: i64,
    ) -> Result<(Running, Option<u64>), ControlError> {
        let (tx, rx) = std::sync::mpsc::channel();
        let (ready_tx, ready_rx) = oneshot::channel();
        let stats = Arc::new(Mutex::new(LiveStats { started_at_ms: now_ms, ..LiveStats::default() }));
        let shared = stats.clone();
        let (run_id, log, dlq_log, health) = (spec.run_id, spec.log.clone(), spec.dlq_log.clone(), spec.health.clone());
        let fence = spec.fence.clone();
        let thread = std::thread::Builder::new()
            .name(format!("sp-{}", spec.processor_id))
            .spawn(move || drive(spec, rx, ready_tx, shared, exits))
            .map_err(|e| ControlError::Internal(format!("cannot start a thread: {}", e)))?;
        let restored = match ready_rx.await {
            Ok(Ok(seq)) => seq,
            Ok(Err(e)) => {
                let _ = tokio::task::spawn_blocking(move || thread.join()).await;
                return Err(ControlError::StartFailed(e));
            }
            Err(_) => return Err(ControlError::Internal("the run's thread ended before it started".into())),
        };
        Ok((Running { run_id, commands: tx, thread: Some(thread), stats, health, log, dlq_log, fence }, restored))
    }

    /// The counters as last published.
    pub fn stats(&self) -> LiveStats {
        with_health(self.stats.lock().map(|s| s.clone()).unwrap_or_default(), &self.health)
    }

    /// A handle that asks this run to pause or resume.
    pub fn handle(&self) -> RunHandle {
        RunHandle(self.commands.clone())
    }

    /// What readers (stats, samples) may see of this run without asking its actor.
    pub fn view(&self) -> RunView {
        RunView {
            stats: self.stats.clone(),
            health: self.health.clone(),
            log: self.log.clone(),
            dlq_log: self.dlq_log.clone(),
        }
    }

    /// Asks the run to take a checkpoint and end after its current batch, and waits for it (off
    /// the async runtime).
    pub async fn stop(mut self) -> LiveStats {
        // Connectors waiting to retry an unreachable system give up at once: the run ends
        // without a new checkpoint then, and its next start resumes from the last one.
        self.health.stop();
        let _ = self.commands.send(Command::Stop);
        if let Some(t) = self.thread.take() {
            let _ = tokio::task::spawn_blocking(move || t.join()).await;
        }
        self.stats()
    }
}

/// The body of a run's thread: restore, then read, process, checkpoint and obey commands until
/// stopped, finished or failed.
fn drive(
    spec: RunSpec,
    commands: std::sync::mpsc::Receiver<Command>,
    ready: oneshot::Sender<Result<Option<u64>, String>>,
    shared: Arc<Mutex<LiveStats>>,
    exits: UnboundedSender<Exit>,
) {
    let RunSpec {
        run_id,
        build,
        mut checkpointer,
        resume,
        start_at,
        checkpoint_every,
        state_limit,
        health,
        span,
        fence,
        ..
    } = spec;
    // Every log line of the run, its connectors' included, carries the processor's names.
    let _in_span = span.enter();
    let mut exec = match build() {
        Ok(exec) => exec,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    let mut restored = if resume { checkpointer.restore_latest(&mut exec) } else { checkpointer.clear().map(|_| None) };
    if let (Ok(_), Some(t)) = (&restored, start_at) {
        if let Err(e) = exec.start_source_at(t) {
            restored = Err(e.to_string());
        }
    }
    let Ok(restored) = restored else {
        let _ = ready.send(restored);
        return;
    };
    let mut run = Drive {
        exec,
        checkpointer,
        shared,
        started: Instant::now(),
        first_output: None,
        sized_at: None,
        state_limit,
        health,
        fence,
    };
    // Stats show the restored counters from the moment the start returns.
    run.publish();
    // The starter may have given up waiting; the run goes on regardless.
    let _ = ready.send(Ok(restored));
    let reason = run.run(&commands, checkpoint_every);
    run.publish();
    // The controller may be gone at shutdown; nothing is left to tell then.
    let _ = exits.send(Exit { run_id, reason });
}

struct Drive {
    exec: Executor,
    checkpointer: Checkpointer,
    shared: Arc<Mutex<LiveStats>>,
    started: Instant,
    first_output: Option<u64>,
    sized_at: Option<Instant>,
    state_limit: StateLimit,
    health: Health,
    fence: Option<Arc<Fence>>,
}

impl Drive {
    /// Whether the run's node lost the processor's lease.
    fn lease_lost(&self) -> bool {
        self.fence.as_ref().is_some_and(|f| !f.holds())
    }

    fn run(&mut self, commands: &std::sync::mpsc::Receiver<Command>, checkpoint_every: Duration) -> ExitReason {
        let reason = self.run_commands(commands, checkpoint_every);
        // Whatever failed once the lease was gone failed for that reason: nothing is recorded.
        if self.lease_lost() {
            return ExitReason::LeaseLost;
        }
        reason
    }

    fn run_commands(
        &mut self,
        commands: &std::sync::mpsc::Receiver<Command>,
        checkpoint_every: Duration,
    ) -> ExitReason {
        let mut paused = false;
        let mut pending: Option<Command> = None;
        let mut last_publish = Instant::now();
        let mut last_checkpoint = Instant::now();
        loop {
            let cmd = match pending.take() {
                Some(c) => Some(c),
                // Paused: nothing to do but wait for the next command.
                None if paused => Some(commands.recv().unwrap_or(Command::Stop)),
                None => match commands.try_recv() {
                    Ok(c) => Some(c),
                    Err(std::sync::mpsc::TryRecvError::Empty) => None,
                    // The controller dropped the run without stopping it: stop cleanly.
                    Err(std::sync::mpsc::TryRecvError::Disconnected) => Some(Command::Stop),
                },
            };
            match cmd {
                Some(Command::Stop) => {
                    // Atlas: stop takes a checkpoint, and start resumes from it. One that cannot
                    // be taken (a sink's system unreachable) leaves the last one to resume from.
                    return match self.checkpoint() {
                        Ok(()) => ExitReason::Stopped,
                        Err(e) if self.health.stopping() => {
                            tracing::warn!(error = %e, "stopped without a new checkpoint");
                            ExitReason::Stopped
                        }
                        Err(e) => ExitReason::Failed(e, ErrorDomain::Internal),
                    };
                }
                Some(Command::Pause(reply)) => {
                    let r = if paused { Ok(()) } else { self.checkpoint() };
                    paused = r.is_ok();
                    self.set_paused(paused);
                    let _ = reply.send(r);
                    continue;
                }
                Some(Command::Resume(reply)) => {
                    if paused {
                        paused = false;
                        self.set_paused(false);
                        self.exec.resume_after_pause();
                    }
                    let _ = reply.send(Ok(()));
                    continue;
                }
                None => {}
            }
            if self.lease_lost() {
                return ExitReason::LeaseLost;
            }
            match self.exec.step() {
                // A connector gave up retrying because the run is stopping: the last checkpoint
                // precedes what this batch did, so nothing is lost.
                Err(_) if self.health.stopping() => return ExitReason::Stopped,
                Err(e) => return ExitReason::Failed(e.to_string(), e.domain()),
                Ok(StepOutcome::Finished) => {
                    // The end of a bounded source is a place to resume from too.
                    return match self.checkpoint() {
                        Ok(()) => ExitReason::Finished,
                        Err(e) => ExitReason::Failed(e, ErrorDomain::Internal),
                    };
                }
                Ok(StepOutcome::Idle) => match commands.recv_timeout(IDLE_SLEEP) {
                    Ok(c) => pending = Some(c),
                    Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                    Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => pending = Some(Command::Stop),
                },
                Ok(StepOutcome::Progress) => {}
            }
            if self.first_output.is_none() && self.exec.output_messages() > 0 {
                self.first_output = Some(self.started.elapsed().as_millis() as u64);
                last_publish = Instant::now() - PUBLISH_EVERY;
            }
            // Periodic checkpoints are written and fsynced off this thread; stop, pause and the
            // end of a bounded source wait for theirs.
            let durable = if last_checkpoint.elapsed() >= checkpoint_every {
                last_checkpoint = Instant::now();
                self.sized_at = None;
                self.checkpointer.take_in_background(&mut self.exec)
            } else {
                self.checkpointer.poll(&mut self.exec)
            };
            match durable {
                Ok(Some(info)) => self.record_checkpoint(info),
                Ok(None) => {}
                Err(e) => return ExitReason::Failed(format!("checkpoint failed: {}", e), ErrorDomain::Internal),
            }
            if last_publish.elapsed() >= PUBLISH_EVERY {
                self.publish();
                last_publish = Instant::now();
                if let Err(e) = self.check_state_limit() {
                    // Past the tier's or the option's limit: the user's to change.
                    return ExitReason::Failed(e, ErrorDomain::User);
                }
            }
        }
    }

    fn checkpoint(&mut self) -> Result<(), String> {
        // A checkpoint's stats show the state it saved.
        self.sized_at = None;
        let failed = |e: String| format!("checkpoint failed: {}", e);
        if let Some(earlier) = self.checkpointer.wait(&mut self.exec).map_err(failed)? {
            self.record_checkpoint(earlier);
        }
        let info = self.checkpointer.take(&mut self.exec).map_err(failed)?;
        self.record_checkpoint(info);
        Ok(())
    }

    /// A checkpoint is durable: the stats show it.
    fn record_checkpoint(&mut self, info: CheckpointInfo) {
        if let Ok(mut s) = self.shared.lock() {
            s.checkpoints += 1;
            s.last_checkpoint = Some(info);
        }
        self.publish();
    }

    /// Fails the run when its state (as last measured) and the buffer of its last checkpoint
    /// (a checkpoint holds the state and its encoded bytes at once) exceed its limit: the
    /// processor fails with the reason, the server goes on.
    fn check_state_limit(&self) -> Result<(), String> {
        let (size, checkpoint): (u64, u64) = self
            .shared
            .lock()
            .map(|s| {
                let state = s.engine.operators.iter().map(|o| o.state_size_bytes).sum();
                (state, s.last_checkpoint.as_ref().map_or(0, |c| c.size_bytes))
            })
            .unwrap_or((0, 0));
        if size + checkpoint <= self.state_limit.bytes {
            return Ok(());
        }
        Err(format!(
            "state size {} bytes (and {} bytes for its checkpoint) exceeds the limit of {} bytes of {}: run the \
             processor on a larger tier (:startWith {{\"tier\": ...}}) or keep less state (shorter windows, fewer keys)",
            size, checkpoint, self.state_limit.bytes, self.state_limit.source
        ))
    }

    fn set_paused(&self, paused: bool) {
        if let Ok(mut s) = self.shared.lock() {
            s.paused = paused;
        }
    }

    /// Publishes the counters; state sizes (a walk over every open window's keys) at most every
    /// [`STATE_SIZE_EVERY`], the last ones kept in between.
    fn publish(&mut self) {
        let fresh_sizes = self.sized_at.is_none_or(|t| t.elapsed() >= STATE_SIZE_EVERY);
        let mut engine = if fresh_sizes { self.exec.stats() } else { self.exec.counters() };
        if fresh_sizes {
            self.sized_at = Some(Instant::now());
        }
        if let Ok(mut s) = self.shared.lock() {
            if !fresh_sizes {
                for (op, old) in engine.operators.iter_mut().zip(&s.engine.operators) {
                    op.state_size_bytes = old.state_size_bytes;
                }
            }
            s.engine = engine;
            s.first_output_after_ms = self.first_output;
        }
    }
}

/// Builds the executor of a plan; its connectors report on `health`, and it keeps time by
/// `clock`.
pub fn executor(
    plan: &Plan,
    name: &str,
    e: crate::endpoints::Endpoints,
    limit: &StateLimit,
    (health, clock): (Health, Clock),
) -> Result<Executor, String> {
    let config = ExecutorConfig {
        max_state_bytes: Some(limit.bytes),
        state_limit_source: limit.source.clone(),
        health,
        clock,
        ..ExecutorConfig::new(name)
    };
    Executor::with_enrichers(plan, e.source, e.sink, e.dlq, e.enrichers, config).map_err(|e| e.to_string())
}
