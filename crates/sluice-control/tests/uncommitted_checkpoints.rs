//! A checkpoint whose sink output never committed (a transactional sink's run died between
//! saving it and committing) gives way to the checkpoint before it on resume, and new
//! checkpoints still follow the newest saved. The sink here is a memory sink that numbers its
//! flushes and refuses, on resume, the checkpoints it is told were lost: what Kafka's
//! exactly-once `$emit` answers (tested against the broker in the connectors' tests).

use std::sync::Arc;

use sluice_connectors::{DocumentsSource, MemorySink, TestLog};
use sluice_control::{fingerprint, Checkpointer};
use sluice_engine::{Executor, ExecutorConfig, Sink, SinkError, SinkResume, StepOutcome};
use sluice_mql::json::parse_document;
use sluice_mql::{Document, Value};
use sluice_pipeline::parse_pipeline_json;
use sluice_store::{CheckpointStore, FsCheckpointStore};

const PIPELINE: &str = r#"[{"$source": {"documents": []}}, {"$match": {"n": {"$gte": 0}}}]"#;

/// A memory sink whose checkpoint state is its number of flushes; on resume it refuses the
/// states from `lost_from` on.
struct NumberedSink {
    inner: MemorySink,
    flushes: i64,
    lost_from: i64,
}

impl Sink for NumberedSink {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn write(&mut self, docs: &[Document]) -> Result<(), SinkError> {
        self.inner.write(docs)
    }
    fn flush(&mut self) -> Result<(), SinkError> {
        self.flushes += 1;
        self.inner.flush()
    }
    fn snapshot(&self) -> Value {
        Value::Int64(self.flushes)
    }
    fn resume_from(&mut self, state: &Value) -> Result<SinkResume, SinkError> {
        Ok(match state.as_exact_i64() {
            Some(n) if n >= self.lost_from => SinkResume::OutputLost(format!("flush {} never committed", n)),
            _ => SinkResume::Resumed,
        })
    }
}

fn executor(docs: i64, lost_from: i64) -> Executor {
    let plan = parse_pipeline_json(PIPELINE).unwrap();
    let docs = (0..docs).map(|n| parse_document(&format!(r#"{{"n": {}}}"#, n)).unwrap()).collect();
    let sink = NumberedSink { inner: MemorySink::new("out", TestLog::new(100)), flushes: 0, lost_from };
    // One document a step: the checkpoints fall between documents.
    let config = ExecutorConfig { batch_size: 1, ..ExecutorConfig::new("lost") };
    Executor::new(
        &plan,
        Box::new(DocumentsSource::new(docs)),
        Box::new(sink),
        Box::new(MemorySink::new("dlq", TestLog::new(10))),
        config,
    )
    .unwrap()
}

fn checkpointer(store: &Arc<FsCheckpointStore>) -> Checkpointer {
    let pipeline: serde_json::Value = serde_json::from_str(PIPELINE).unwrap();
    Checkpointer::new(store.clone(), "p", fingerprint(&pipeline))
}

/// Two checkpoints: the first after 3 of 10 documents, the second at the end.
fn two_checkpoints(store: &Arc<FsCheckpointStore>) {
    let mut exec = executor(10, i64::MAX);
    let mut ck = checkpointer(store);
    for _ in 0..3 {
        exec.step().unwrap();
    }
    ck.take(&mut exec).unwrap();
    while exec.step().unwrap() != StepOutcome::Finished {}
    ck.take(&mut exec).unwrap();
    assert_eq!(store.list("p").unwrap(), vec![2, 1]);
}

fn store(name: &str) -> Arc<FsCheckpointStore> {
    let dir = std::env::temp_dir().join(format!("sluice-lost-ckpt-{}-{}", name, std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    Arc::new(FsCheckpointStore::new(dir, 3))
}

#[test]
fn a_checkpoint_whose_output_was_lost_gives_way_to_the_one_before() {
    let store = store("one");
    two_checkpoints(&store);

    // The second checkpoint's output never committed: the run resumes from the first, and reads
    // again what came after it.
    let mut exec = executor(10, 2);
    let mut ck = checkpointer(&store);
    assert_eq!(ck.restore_latest(&mut exec).unwrap(), Some(1));
    let resumed_at = exec.source_position();
    let mut again = executor(10, i64::MAX);
    for _ in 0..3 {
        again.step().unwrap();
    }
    assert_eq!(resumed_at, again.source_position(), "resumed where the first checkpoint was taken");
    let mut end = executor(10, i64::MAX);
    while end.step().unwrap() != StepOutcome::Finished {}
    assert_ne!(resumed_at, end.source_position(), "not where the second was");
    // The next checkpoint follows the newest saved, not the one restored.
    assert_eq!(ck.take(&mut exec).unwrap().seq, 3);
}

#[test]
fn when_every_checkpoint_was_lost_the_run_starts_fresh() {
    let store = store("all");
    two_checkpoints(&store);
    let mut exec = executor(10, 0);
    let fresh = executor(10, 0).source_position();
    let mut ck = checkpointer(&store);
    assert_eq!(ck.restore_latest(&mut exec).unwrap(), None);
    assert_eq!(exec.source_position(), fresh, "nothing was restored");
    assert_eq!(ck.take(&mut exec).unwrap().seq, 3);
}
