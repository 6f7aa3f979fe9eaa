//! Taking and restoring a processor's checkpoints: the engine's state in its file form, kept in
//! a [`CheckpointStore`], tied to the parts of the pipeline that state depends on.

use std::sync::Arc;
use std::time::Instant;

use serde_json::Value as Json;
use sha2::{Digest, Sha256};
use sluice_engine::{Checkpoint, EngineError, Executor};
use sluice_store::CheckpointStore;

use crate::cluster::fence::{Fence, LEASE_LOST};
use crate::ids::now_ms;

/// What the last checkpoint of a run cost, for the stats.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CheckpointInfo {
    /// Its sequence number.
    pub seq: u64,
    /// When it was taken, milliseconds since the epoch.
    pub taken_at_ms: i64,
    /// How long taking and writing it took.
    pub duration_ms: u64,
    /// Its size in bytes.
    pub size_bytes: u64,
}

/// The first sequence number of checkpoints taken under a lease of `epoch`.
fn first_seq_of(epoch: u64) -> u64 {
    (epoch << EPOCH_SHIFT) | 1
}

/// The window stages: their definitions shape the state a checkpoint holds.
const WINDOW_STAGES: [&str; 3] = ["$tumblingWindow", "$hoppingWindow", "$sessionWindow"];

/// What a checkpoint's state depends on: the `$source` stage (positions mean nothing to another
/// source) and every window stage (a different window cannot take over another's state).
/// Stateless stages may change freely.
pub fn fingerprint(pipeline: &Json) -> String {
    let mut h = Sha256::new();
    for stage in pipeline.as_array().into_iter().flatten() {
        let Some(obj) = stage.as_object() else { continue };
        if obj.keys().any(|k| k == "$source" || WINDOW_STAGES.contains(&k.as_str())) {
            h.update(stage.to_string().as_bytes());
            h.update(b"\n");
        }
    }
    hex::encode(h.finalize())
}

/// The wording of a refused resume (Atlas: changing `$source` or a window needs a fresh start).
pub fn incompatible_message() -> String {
    "the pipeline's $source or window stages differ from the ones its checkpoint was taken with; \
     set resumeFromCheckpoint to false to drop the saved state and start fresh"
        .to_string()
}

/// The bytes of a processor's newest checkpoint whose file checks out (magic, version, length,
/// checksum). A damaged newer one is skipped with a warning: an older consistent state is
/// better than none.
fn newest_intact(store: &dyn CheckpointStore, processor_id: &str) -> Result<Option<Vec<u8>>, String> {
    for seq in store.list(processor_id).map_err(|e| e.to_string())? {
        let bytes = store.load(processor_id, seq).map_err(|e| e.to_string())?;
        match Checkpoint::decode_raw(&bytes) {
            Ok(_) => return Ok(Some(bytes)),
            Err(e) => tracing::warn!(processor = processor_id, seq, error = %e, "skipping a damaged checkpoint"),
        }
    }
    Ok(None)
}

/// The pipeline fingerprint of a processor's newest intact checkpoint, without decoding its
/// state.
pub fn latest_fingerprint(store: &dyn CheckpointStore, processor_id: &str) -> Result<Option<String>, String> {
    let Some(bytes) = newest_intact(store, processor_id)? else { return Ok(None) };
    Ok(Some(Checkpoint::decode_raw(&bytes).map_err(|e| e.to_string())?.fingerprint))
}

/// A processor's newest intact checkpoint, its state decoded.
pub fn latest(store: &dyn CheckpointStore, processor_id: &str) -> Result<Option<Checkpoint>, String> {
    let Some(bytes) = newest_intact(store, processor_id)? else { return Ok(None) };
    Checkpoint::decode(&bytes).map(Some).map_err(|e| e.to_string())
}

/// A checkpoint being written by a thread of its own while the engine goes on.
struct InFlight {
    seq: u64,
    taken_at_ms: i64,
    size_bytes: u64,
    started: Instant,
    /// The source position saved: the executor is told once it is durable (the source commits
    /// offsets).
    position: sluice_mql::Value,
    done: std::sync::mpsc::Receiver<Result<(), String>>,
}

/// A checkpoint in the file form, not yet saved.
struct Prepared {
    seq: u64,
    taken_at_ms: i64,
    position: sluice_mql::Value,
    bytes: Vec<u8>,
}

/// Takes and restores the checkpoints of one run of one processor.
pub struct Checkpointer {
    store: Arc<dyn CheckpointStore>,
    processor_id: String,
    fingerprint: String,
    next_seq: u64,
    /// The last checkpoint's size: the next one's buffer is sized from it.
    last_size: usize,
    in_flight: Option<InFlight>,
    /// With several nodes: the lease the run holds. Nothing is saved once it is gone, and
    /// sequence numbers start at the lease's epoch, so a later holder's checkpoints are always
    /// newer than anything an earlier one writes.
    fence: Option<Arc<Fence>>,
}

/// With several nodes, a checkpoint's sequence number holds its lease's epoch above these bits.
const EPOCH_SHIFT: u32 = 40;

impl Checkpointer {
    /// Checkpoints of `processor_id`, whose pipeline has `fingerprint`.
    pub fn new(store: Arc<dyn CheckpointStore>, processor_id: &str, fingerprint: String) -> Checkpointer {
        Checkpointer {
            store,
            processor_id: processor_id.to_string(),
            fingerprint,
            next_seq: 1,
            last_size: 0,
            in_flight: None,
            fence: None,
        }
    }

    /// These checkpoints, saved only while `fence`'s lease holds.
    pub fn fenced(mut self, fence: Arc<Fence>) -> Checkpointer {
        self.next_seq = self.next_seq.max(first_seq_of(fence.epoch()));
        self.fence = Some(fence);
        self
    }

    /// Refuses to go on once the run's lease is gone.
    fn check_lease(fence: &Option<Arc<Fence>>) -> Result<(), String> {
        match fence {
            Some(f) if !f.holds() => Err(LEASE_LOST.to_string()),
            _ => Ok(()),
        }
    }

    /// Restores the newest checkpoint into `exec`, if there is one; its sequence number.
    /// Refused when the checkpoint was taken with other `$source` or window stages.
    /// The state is read from the checkpoint's bytes where it lies (no value tree of it), so a
    /// restore needs the state and the file's bytes, no more. A damaged checkpoint, or one whose
    /// transactional output never committed, gives way to the one before it.
    pub fn restore_latest(&mut self, exec: &mut Executor) -> Result<Option<u64>, String> {
        let seqs = self.store.list(&self.processor_id).map_err(|e| e.to_string())?;
        // New checkpoints follow the newest saved, whichever is restored.
        self.next_seq =
            seqs.first().map_or(1, |newest| newest + 1).max(self.fence.as_ref().map_or(1, |f| first_seq_of(f.epoch())));
        for seq in seqs {
            let bytes = self.store.load(&self.processor_id, seq).map_err(|e| e.to_string())?;
            let c = match Checkpoint::decode_raw(&bytes) {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(processor = %self.processor_id, seq, error = %e, "skipping a damaged checkpoint");
                    continue;
                }
            };
            if c.fingerprint != self.fingerprint {
                return Err(incompatible_message());
            }
            match exec.restore_raw(c.state) {
                Ok(()) => return Ok(Some(c.seq)),
                // The run died between saving this checkpoint and committing its output: the
                // one before it (whose output did commit) is where to resume, and the output
                // is written again from there.
                Err(EngineError::OutputNotCommitted(why)) => {
                    tracing::warn!(processor = %self.processor_id, seq, reason = %why, "resuming from an earlier checkpoint");
                }
                Err(e) => return Err(e.to_string()),
            }
        }
        Ok(None)
    }

    /// Drops every saved checkpoint: the run starts fresh.
    pub fn clear(&mut self) -> Result<(), String> {
        self.store.clear(&self.processor_id).map_err(|e| e.to_string())
    }

    /// Flushes the sinks and writes the executor's state in the file form (on the engine
    /// thread: sinks, operators and source agree between batches). The state is encoded where
    /// it lies, with no value tree of it: a checkpoint needs the state and its bytes, no more.
    fn prepare(&mut self, exec: &mut Executor) -> Result<Prepared, String> {
        exec.flush_for_checkpoint().map_err(|e| e.to_string())?;
        let (seq, taken_at_ms) = (self.next_seq, now_ms());
        let bytes = Checkpoint::encode_streamed(seq, taken_at_ms, &self.fingerprint, self.last_size, |out| {
            exec.write_snapshot(out, "state")
        })
        .map_err(|e| e.to_string())?;
        self.last_size = bytes.len();
        self.next_seq += 1;
        Ok(Prepared { seq, taken_at_ms, position: exec.source_position(), bytes })
    }

    /// Takes a checkpoint whose write and fsync run on a thread of their own, so the engine goes
    /// on meanwhile; [`Checkpointer::poll`] tells when it is durable. A checkpoint still being
    /// written is waited for first (one at a time); its figures are returned.
    pub fn take_in_background(&mut self, exec: &mut Executor) -> Result<Option<CheckpointInfo>, String> {
        let finished = self.wait(exec)?;
        let started = Instant::now();
        let Prepared { seq, taken_at_ms, position, bytes } = self.prepare(exec)?;
        let (tx, rx) = std::sync::mpsc::channel();
        let (store, id, size) = (self.store.clone(), self.processor_id.clone(), bytes.len() as u64);
        let fence = self.fence.clone();
        std::thread::Builder::new()
            .name(format!("checkpoint-{}", seq))
            .spawn(move || {
                let saved = Checkpointer::check_lease(&fence)
                    .and_then(|_| store.save(&id, seq, &bytes).map_err(|e| e.to_string()));
                let _ = tx.send(saved);
            })
            .map_err(|e| format!("cannot start the checkpoint writer: {}", e))?;
        self.in_flight = Some(InFlight { seq, taken_at_ms, size_bytes: size, started, position, done: rx });
        Ok(finished)
    }

    /// The figures of the checkpoint being written once it is durable (the executor is told
    /// then); `None` while it is still being written or when there is none.
    pub fn poll(&mut self, exec: &mut Executor) -> Result<Option<CheckpointInfo>, String> {
        let Some(f) = &self.in_flight else { return Ok(None) };
        match f.done.try_recv() {
            Err(std::sync::mpsc::TryRecvError::Empty) => Ok(None),
            Ok(r) => self.finish(exec, r),
            Err(std::sync::mpsc::TryRecvError::Disconnected) => self.finish(exec, Err("the writer stopped".into())),
        }
    }

    /// Waits for the checkpoint being written, if any; its figures.
    pub fn wait(&mut self, exec: &mut Executor) -> Result<Option<CheckpointInfo>, String> {
        let Some(f) = &self.in_flight else { return Ok(None) };
        let r = f.done.recv().unwrap_or_else(|_| Err("the writer stopped".into()));
        self.finish(exec, r)
    }

    fn finish(&mut self, exec: &mut Executor, written: Result<(), String>) -> Result<Option<CheckpointInfo>, String> {
        let Some(f) = self.in_flight.take() else { return Ok(None) };
        written?;
        Checkpointer::check_lease(&self.fence)?;
        // Only now may the source commit offsets upstream and sinks commit transactions.
        exec.position_saved(&f.position).map_err(|e| e.to_string())?;
        Ok(Some(CheckpointInfo {
            seq: f.seq,
            taken_at_ms: f.taken_at_ms,
            duration_ms: f.started.elapsed().as_millis() as u64,
            size_bytes: f.size_bytes,
        }))
    }

    /// Flushes the sinks, takes the executor's state and saves it atomically, waiting for it
    /// (and first for any checkpoint still being written).
    pub fn take(&mut self, exec: &mut Executor) -> Result<CheckpointInfo, String> {
        self.wait(exec)?;
        let started = Instant::now();
        let p = self.prepare(exec)?;
        Checkpointer::check_lease(&self.fence)?;
        self.store.save(&self.processor_id, p.seq, &p.bytes).map_err(|e| e.to_string())?;
        Checkpointer::check_lease(&self.fence)?;
        // Only now may the source commit offsets upstream and sinks commit transactions.
        exec.position_saved(&p.position).map_err(|e| e.to_string())?;
        let bytes = p.bytes;
        Ok(CheckpointInfo {
            seq: p.seq,
            taken_at_ms: p.taken_at_ms,
            duration_ms: started.elapsed().as_millis() as u64,
            size_bytes: bytes.len() as u64,
        })
    }
}
