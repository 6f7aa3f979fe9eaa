//! The operational log's writer: lines from every processor's actor go through one task that
//! writes whatever has gathered in one transaction (a group commit), so that fifty processors
//! starting at once share one durable write instead of queueing for fifty. Each writer waits
//! until its line is stored, so a log read after an action shows the action.

use std::sync::Arc;

use sluice_store::{LogEvent, MetadataStore};
use tokio::sync::{mpsc, oneshot};

/// Lines waiting for the writer at most; more wait for room.
const QUEUE: usize = 4096;
/// Lines written in one transaction at most.
const BATCH: usize = 512;

type Pending = (LogEvent, oneshot::Sender<Result<(), String>>);

/// Appends lines to the store's logs, many per transaction.
pub(crate) struct LogWriter {
    tx: mpsc::Sender<Pending>,
}

impl LogWriter {
    /// A writer into `store`, its task on the current runtime; the task ends with the writer.
    pub fn new(store: Arc<dyn MetadataStore>) -> LogWriter {
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(write_batches(store, rx));
        LogWriter { tx }
    }

    /// Appends `e` and waits until it is stored.
    pub async fn append(&self, e: LogEvent) -> Result<(), String> {
        let (done, stored) = oneshot::channel();
        self.tx.send((e, done)).await.map_err(|_| "the log writer has stopped".to_string())?;
        stored.await.map_err(|_| "the log writer has stopped".to_string())?
    }
}

async fn write_batches(store: Arc<dyn MetadataStore>, mut rx: mpsc::Receiver<Pending>) {
    let mut batch: Vec<Pending> = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut batch, BATCH).await > 0 {
        let (events, waiting): (Vec<LogEvent>, Vec<_>) = batch.drain(..).unzip();
        let result = store.append_logs(&events).await.map_err(|e| e.to_string());
        for w in waiting {
            let _ = w.send(result.clone());
        }
    }
}
