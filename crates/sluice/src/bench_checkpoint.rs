//! `sluice bench --checkpoints`: what checkpoints cost. A window holding N keys is checkpointed to
//! the file store and restored into a fresh executor (to the first processed batch after it), and
//! the canonical pipeline runs with and without periodic checkpoints in the same run.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sluice_control::{fingerprint, Checkpointer};
use sluice_engine::{
    Checkpoint, Executor, ExecutorConfig, Source, SourceError, SourceRecord, SourceStatus, StepOutcome,
};
use sluice_mql::{Document, Str, Value};
use sluice_pipeline::parse_pipeline_json;
use sluice_store::{CheckpointStore, FsCheckpointStore};

use crate::bench::{peak_rss_mib, rss_now_mib, CountingSink, CANONICAL_PIPELINE};
use crate::bench_lines::generated_source;

/// One event per key, all in the same hour: the window ends up holding every key.
const KEYED_PIPELINE: &str = r#"[
  {"$source": {"connectionName": "keys", "timeField": "$ts"}},
  {"$tumblingWindow": {"interval": {"size": 1, "unit": "hour"},
    "pipeline": [{"$group": {"_id": "$key", "total": {"$sum": "$v"}, "n": {"$count": {}}}}]}}
]"#;

/// Events `{key, v, ts}` with keys 0.., then (once `limit` is reached) nothing more, forever:
/// a live source gone quiet, so the window stays open.
struct KeyedSource {
    next: u64,
    limit: u64,
}

impl Source for KeyedSource {
    fn name(&self) -> &str {
        "keys"
    }

    fn poll(&mut self, max: usize, out: &mut Vec<SourceRecord>) -> Result<SourceStatus, SourceError> {
        if self.next >= self.limit {
            return Ok(SourceStatus::Idle);
        }
        let end = (self.next + max as u64).min(self.limit);
        for k in self.next..end {
            let mut d = Document::with_capacity(3);
            d.push_unique(Str::from("key"), Value::Int64(k as i64));
            d.push_unique(Str::from("v"), Value::Int32((k % 1000) as i32));
            d.push_unique(Str::from("ts"), Value::DateTime(1_700_000_000_000 + (k % 1000) as i64));
            out.push(SourceRecord::Doc(d, 40));
        }
        self.next = end;
        Ok(SourceStatus::Ready)
    }

    fn position(&self) -> Value {
        Value::Int64(self.next as i64)
    }

    fn seek(&mut self, position: &Value) -> Result<(), SourceError> {
        self.next = position.as_exact_i64().unwrap_or(0).max(0) as u64;
        Ok(())
    }
}

fn keyed_executor(limit: u64) -> Result<Executor, String> {
    let plan = parse_pipeline_json(KEYED_PIPELINE).map_err(|e| e.to_string())?;
    let source = KeyedSource { next: 0, limit };
    let mut config = ExecutorConfig::new("bench-checkpoint");
    config.batch_size = 4096;
    Executor::new(&plan, Box::new(source), Box::new(CountingSink(0)), Box::new(CountingSink(0)), config)
        .map_err(|e| e.to_string())
}

/// Runs the canonical pipeline over `events`, checkpointing every `every` when given; events/s.
fn canonical_throughput(
    events: u64,
    every: Option<Duration>,
    store: Arc<dyn CheckpointStore>,
) -> Result<(f64, u64), String> {
    let plan = parse_pipeline_json(CANONICAL_PIPELINE).map_err(|e| e.to_string())?;
    let (source, render_nanos) = generated_source(events, 100);
    let mut exec = Executor::new(
        &plan,
        source,
        Box::new(CountingSink(0)),
        Box::new(CountingSink(0)),
        ExecutorConfig::new("bench"),
    )
    .map_err(|e| e.to_string())?;
    let pipeline: serde_json::Value = serde_json::from_str(CANONICAL_PIPELINE).map_err(|e| e.to_string())?;
    let mut ck = Checkpointer::new(store, "benchcanonical", fingerprint(&pipeline));
    ck.clear()?;
    let started = Instant::now();
    let mut last = Instant::now();
    let mut taken = 0;
    loop {
        if exec.step().map_err(|e| e.to_string())? == StepOutcome::Finished {
            break;
        }
        // As a running processor does: periodic checkpoints are written off the engine thread.
        if let Some(every) = every {
            if last.elapsed() >= every {
                ck.take_in_background(&mut exec)?;
                taken += 1;
                last = Instant::now();
            } else {
                ck.poll(&mut exec)?;
            }
        }
    }
    ck.wait(&mut exec)?;
    let rendered = Duration::from_nanos(render_nanos.load(std::sync::atomic::Ordering::Relaxed));
    let engine = started.elapsed().saturating_sub(rendered);
    ck.clear()?;
    Ok((events as f64 / engine.as_secs_f64().max(1e-9), taken))
}

/// Resets the process's peak resident memory to its current size (Linux), so that the next
/// [`peak_rss_mib`] tells the peak of what follows.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Set to a checkpoint store's directory, the benchmark only restores its keyed checkpoint in
/// this process, processes one batch and prints its peak memory (see [`restore_in_child`]).
const RESTORE_ONLY: &str = "SLUICE_BENCH_RESTORE_ONLY";

/// Runs this binary again to restore the keyed checkpoint in `dir` alone; its peak memory,
/// with the state it holds after.
fn restore_in_child(dir: &std::path::Path, keys: u64) -> Result<String, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let out = std::process::Command::new(exe)
        .args(["bench", "--checkpoints", "--keys", &keys.to_string()])
        .env(RESTORE_ONLY, dir)
        .output()
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| l.strip_prefix("restore alone: ").map(str::to_string))
        .ok_or_else(|| format!("the child printed no figure: {}", String::from_utf8_lossy(&out.stderr)))
}

/// The child's side of [`restore_in_child`].
fn restore_only(dir: &std::path::Path, keys: u64) -> Result<(), String> {
    let store: Arc<dyn CheckpointStore> = Arc::new(FsCheckpointStore::new(dir, 3));
    let keyed: serde_json::Value = serde_json::from_str(KEYED_PIPELINE).map_err(|e| e.to_string())?;
    let before = rss_now_mib();
    let mut fresh = keyed_executor(keys + 4096)?;
    let mut ck = Checkpointer::new(store, "benchkeyed", fingerprint(&keyed));
    ck.restore_latest(&mut fresh)?.ok_or("no checkpoint to restore")?;
    fresh.step().map_err(|e| e.to_string())?;
    let state: u64 = fresh.stats().operators.iter().map(|o| o.state_size_bytes).sum();
    let mib = |m: Option<f64>| m.map_or("?".to_string(), |v| format!("{:.1} MiB", v));
    println!(
        "restore alone: process {} at start, peak {} (state held after: {:.1} MiB)",
        mib(before),
        mib(peak_rss_mib()),
        state as f64 / 1048576.0
    );
    Ok(())
}

/// Runs the checkpoint benchmark with `keys` window keys and `events` canonical events.
pub fn run(keys: u64, events: u64) -> Result<(), String> {
    if let Some(dir) = std::env::var_os(RESTORE_ONLY) {
        return restore_only(std::path::Path::new(&dir), keys);
    }
    let dir = std::env::temp_dir().join(format!("sluice-bench-checkpoints-{}", std::process::id()));
    let store: Arc<dyn CheckpointStore> = Arc::new(FsCheckpointStore::new(&dir, 3));
    let keyed: serde_json::Value = serde_json::from_str(KEYED_PIPELINE).map_err(|e| e.to_string())?;

    // Fill a window with `keys` keys.
    let mut exec = keyed_executor(keys)?;
    while exec.step().map_err(|e| e.to_string())? == StepOutcome::Progress {}
    let state_bytes: u64 = exec.stats().operators.iter().map(|o| o.state_size_bytes).sum();
    let mut ck = Checkpointer::new(store.clone(), "benchkeyed", fingerprint(&keyed));
    ck.clear()?;
    // Memory of a checkpoint: the process's peak while taking one, over its size before.
    let before_checkpoint = rss_now_mib();
    reset_peak_rss();
    let info = ck.take(&mut exec)?;
    let checkpoint_peak = peak_rss_mib();
    // The first checkpoint of a process pays for fresh memory pages; later ones reuse them.
    let again = ck.take(&mut exec)?;
    // The same work in its phases, for the breakdown.
    let t = Instant::now();
    exec.flush_for_checkpoint().map_err(|e| e.to_string())?;
    let bytes =
        Checkpoint::encode_streamed(99, 0, "", again.size_bytes as usize, |out| exec.write_snapshot(out, "state"))
            .map_err(|e| e.to_string())?;
    let encode_ms = t.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    store.save("benchphases", 1, &bytes).map_err(|e| e.to_string())?;
    let save_ms = t.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    let decoded = Checkpoint::decode_raw(&bytes).map_err(|e| e.to_string())?;
    let decode_ms = t.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    keyed_executor(keys)?.restore_raw(decoded.state).map_err(|e| e.to_string())?;
    let restore_ms = t.elapsed().as_secs_f64() * 1e3;
    store.clear("benchphases").map_err(|e| e.to_string())?;
    drop(decoded);
    drop((exec, bytes));

    // The memory of a restart alone, in a process of its own (this one keeps the pages of
    // everything before).
    let restart_alone = restore_in_child(&dir, keys);

    // Restart: a fresh executor restores the checkpoint from disk and processes its next batch.
    let restart = Instant::now();
    let mut fresh = keyed_executor(keys + 4096)?;
    let mut ck2 = Checkpointer::new(store.clone(), "benchkeyed", fingerprint(&keyed));
    let restored = ck2.restore_latest(&mut fresh)?;
    fresh.step().map_err(|e| e.to_string())?;
    let restart_ms = restart.elapsed().as_secs_f64() * 1e3;
    let open_groups: u64 = fresh.stats().operators.iter().map(|o| o.state_size_bytes).sum();
    ck2.clear()?;
    drop(fresh);

    let every = Duration::from_secs(1);
    let (without, _) = canonical_throughput(events, None, store.clone())?;
    let (with, taken) = canonical_throughput(events, Some(every), store)?;
    let _ = std::fs::remove_dir_all(&dir);

    println!("sluice bench --checkpoints: {} window keys, {} canonical events", keys, events);
    println!(
        "checkpoint of {} window keys: {:.0} ms (first of the process: {:.0} ms), {:.1} MiB on disk (state held: {:.1} MiB)",
        keys,
        again.duration_ms,
        info.duration_ms,
        info.size_bytes as f64 / 1048576.0,
        state_bytes as f64 / 1048576.0
    );
    println!(
        "  phases: encode (from the state where it lies) {:.0} ms, write+fsync {:.0} ms; on restart: verify {:.0} ms, restore from the bytes {:.0} ms",
        encode_ms, save_ms, decode_ms, restore_ms
    );
    let mib = |m: Option<f64>| m.map_or("?".to_string(), |v| format!("{:.1} MiB", v));
    println!(
        "memory: process {} before the first checkpoint, peak {} while taking it; a restart alone (a new process \
         restoring it and processing one batch): {}",
        mib(before_checkpoint),
        mib(checkpoint_peak),
        restart_alone.unwrap_or_else(|e| format!("not measured ({})", e))
    );
    println!(
        "restart to processing: {:.0} ms (read, verify and restore checkpoint {}, then one batch; state after: {:.1} MiB)",
        restart_ms,
        restored.unwrap_or(0),
        open_groups as f64 / 1048576.0
    );
    println!("canonical pipeline without checkpoints: {:>12.0} events/s", without);
    println!(
        "canonical pipeline, checkpoint every {} s: {:>12.0} events/s ({} taken), ratio {:.2}",
        every.as_secs(),
        with,
        taken,
        with / without
    );
    match peak_rss_mib() {
        Some(mib) => println!("peak RSS: {:.1} MiB", mib),
        None => println!("peak RSS: unavailable on this platform"),
    }
    if restored.is_none() {
        return Err("the checkpoint was not found on restart".into());
    }
    Ok(())
}
