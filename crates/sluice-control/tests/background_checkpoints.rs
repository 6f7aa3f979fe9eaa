//! Periodic checkpoints are written off the engine thread: taking one returns while its write is
//! still going on, it counts as durable only once written, and a stop's checkpoint waits for it.

use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};

use sluice_connectors::{DocumentsSource, MemorySink, TestLog};
use sluice_control::{fingerprint, Checkpointer};
use sluice_engine::{Executor, ExecutorConfig, StepOutcome};
use sluice_mql::json::parse_document;
use sluice_pipeline::parse_pipeline_json;
use sluice_store::{CheckpointStore, FsCheckpointStore, StoreResult};

/// A store whose saves wait until the test lets each through.
struct Gated {
    inner: FsCheckpointStore,
    gate: Mutex<Receiver<()>>,
}

impl CheckpointStore for Gated {
    fn save(&self, processor_id: &str, seq: u64, bytes: &[u8]) -> StoreResult<()> {
        self.gate.lock().unwrap().recv().expect("the test lets the save through");
        self.inner.save(processor_id, seq, bytes)
    }
    fn list(&self, processor_id: &str) -> StoreResult<Vec<u64>> {
        self.inner.list(processor_id)
    }
    fn load(&self, processor_id: &str, seq: u64) -> StoreResult<Vec<u8>> {
        self.inner.load(processor_id, seq)
    }
    fn clear(&self, processor_id: &str) -> StoreResult<()> {
        self.inner.clear(processor_id)
    }
}

fn gated() -> (Arc<Gated>, Sender<()>) {
    let dir = std::env::temp_dir().join(format!("sluice-bg-ckpt-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (tx, rx) = channel();
    (Arc::new(Gated { inner: FsCheckpointStore::new(dir, 3), gate: Mutex::new(rx) }), tx)
}

#[test]
fn a_background_checkpoint_is_durable_only_once_written_and_a_stop_waits_for_it() {
    let pipeline = r#"[{"$source": {"documents": []}}, {"$match": {"n": {"$gte": 0}}}]"#;
    let plan = parse_pipeline_json(pipeline).unwrap();
    let docs = (0..10).map(|n| parse_document(&format!(r#"{{"n": {}}}"#, n)).unwrap()).collect();
    let mut exec = Executor::new(
        &plan,
        Box::new(DocumentsSource::new(docs)),
        Box::new(MemorySink::new("out", TestLog::new(100))),
        Box::new(MemorySink::new("dlq", TestLog::new(10))),
        ExecutorConfig::new("bg"),
    )
    .unwrap();
    while exec.step().unwrap() != StepOutcome::Finished {}
    let (store, gate) = gated();
    let pipeline_json: serde_json::Value = serde_json::from_str(pipeline).unwrap();
    let mut ck = Checkpointer::new(store.clone(), "p", fingerprint(&pipeline_json));

    // Returns while the save is held at the gate: the write is not on this thread.
    assert_eq!(ck.take_in_background(&mut exec).unwrap(), None);
    assert_eq!(ck.poll(&mut exec).unwrap(), None, "not durable before it is written");
    assert!(store.list("p").unwrap().is_empty());

    gate.send(()).unwrap();
    let first = ck.wait(&mut exec).unwrap().expect("the first checkpoint");
    assert_eq!(first.seq, 1);
    assert_eq!(store.list("p").unwrap(), vec![1]);

    // A second one in flight, then a stop's checkpoint: it waits for the second, then writes its own.
    assert_eq!(ck.take_in_background(&mut exec).unwrap(), None);
    gate.send(()).unwrap();
    gate.send(()).unwrap();
    let stop = ck.take(&mut exec).unwrap();
    assert_eq!(stop.seq, 3);
    assert_eq!(store.list("p").unwrap(), vec![3, 2, 1]);
    assert_eq!(ck.poll(&mut exec).unwrap(), None, "nothing left in flight");
}
