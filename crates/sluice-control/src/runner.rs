//! One running processor: an engine executor on a thread of its own, its live stats, its output
//! log, and a flag that stops it at the next batch boundary.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sluice_connectors::TestLog;
use sluice_engine::{Executor, ExecutorConfig, ExecutorStats};
use sluice_pipeline::Plan;
use tokio::sync::mpsc::UnboundedSender;

/// How often a running executor publishes its counters.
const PUBLISH_EVERY: Duration = Duration::from_millis(100);
/// How long an idle executor sleeps before polling its source again.
const IDLE_SLEEP: Duration = Duration::from_millis(10);
/// How many output documents a processor's sample log keeps.
pub const SAMPLE_CAPACITY: usize = 1000;

/// Counters of a running processor as last published.
#[derive(Debug, Clone, Default)]
pub struct LiveStats {
    /// The executor's counters.
    pub engine: ExecutorStats,
    /// When it started, milliseconds since the epoch.
    pub started_at_ms: i64,
    /// Milliseconds from start to the first output document, once there is one.
    pub first_output_after_ms: Option<u64>,
}

/// Why a processor's thread ended.
#[derive(Debug, Clone, PartialEq)]
pub enum ExitReason {
    /// Asked to stop.
    Stopped,
    /// Its source ended and everything was written.
    Finished,
    /// The engine failed.
    Failed(String),
}

/// The end of one run, reported to the controller.
#[derive(Debug, Clone)]
pub struct Exit {
    /// The processor.
    pub processor_id: String,
    /// Which run (a processor restarted gets a new one).
    pub run_id: u64,
    /// Why.
    pub reason: ExitReason,
}

/// A processor whose executor is running.
pub struct Running {
    /// Which run this is.
    pub run_id: u64,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
    stats: Arc<Mutex<LiveStats>>,
    /// Its output (the `__testLog`), sampled by the API.
    pub log: TestLog,
}

impl Running {
    /// Starts `exec` on a thread of its own; its end is sent to `exits`.
    pub fn spawn(
        processor_id: String,
        run_id: u64,
        mut exec: Executor,
        log: TestLog,
        exits: UnboundedSender<Exit>,
        now_ms: i64,
    ) -> std::io::Result<Running> {
        let stop = Arc::new(AtomicBool::new(false));
        let stats = Arc::new(Mutex::new(LiveStats { started_at_ms: now_ms, ..LiveStats::default() }));
        let (flag, shared) = (stop.clone(), stats.clone());
        let thread = std::thread::Builder::new().name(format!("sp-{}", processor_id)).spawn(move || {
            let started = Instant::now();
            let mut last = Instant::now();
            let mut first_output: Option<u64> = None;
            let result = exec.run(
                |s| {
                    if first_output.is_none() && s.output_messages > 0 {
                        first_output = Some(started.elapsed().as_millis() as u64);
                        last = Instant::now() - PUBLISH_EVERY;
                    }
                    if last.elapsed() >= PUBLISH_EVERY {
                        publish(&shared, s.clone(), first_output);
                        last = Instant::now();
                    }
                    !flag.load(Ordering::SeqCst)
                },
                || std::thread::sleep(IDLE_SLEEP),
            );
            publish(&shared, exec.stats(), first_output);
            let reason = match result {
                Err(e) => ExitReason::Failed(e.to_string()),
                Ok(_) if flag.load(Ordering::SeqCst) => ExitReason::Stopped,
                Ok(_) => ExitReason::Finished,
            };
            // The controller may be gone at shutdown; nothing is left to tell then.
            let _ = exits.send(Exit { processor_id, run_id, reason });
        })?;
        Ok(Running { run_id, stop, thread: Some(thread), stats, log })
    }

    /// The counters as last published.
    pub fn stats(&self) -> LiveStats {
        self.stats.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Asks the executor to stop after its current batch and waits for it (off the async runtime).
    pub async fn stop(mut self) -> LiveStats {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = tokio::task::spawn_blocking(move || t.join()).await;
        }
        self.stats()
    }
}

fn publish(shared: &Mutex<LiveStats>, engine: ExecutorStats, first_output: Option<u64>) {
    if let Ok(mut s) = shared.lock() {
        s.engine = engine;
        s.first_output_after_ms = first_output;
    }
}

/// Builds the executor of a plan.
pub fn executor(
    plan: &Plan,
    name: &str,
    source: Box<dyn sluice_engine::Source>,
    sink: Box<dyn sluice_engine::Sink>,
    dlq: Box<dyn sluice_engine::Sink>,
) -> Result<Executor, String> {
    Executor::new(plan, source, sink, dlq, ExecutorConfig::new(name)).map_err(|e| e.to_string())
}
