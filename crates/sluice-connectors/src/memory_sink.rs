//! In-memory sinks: the `__testLog` connection (the last N documents, for sampling) and a sink
//! that keeps everything (tests).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use sluice_engine::{Sink, SinkError};
use sluice_mql::Document;

/// A shared, bounded log of the most recent documents: what `__testLog` holds and the server samples.
#[derive(Debug, Clone)]
pub struct TestLog {
    inner: Arc<Mutex<(VecDeque<Document>, u64)>>,
    capacity: usize,
}

impl TestLog {
    /// A log that keeps the last `capacity` documents.
    pub fn new(capacity: usize) -> TestLog {
        TestLog { inner: Arc::new(Mutex::new((VecDeque::new(), 0))), capacity: capacity.max(1) }
    }

    /// The last `n` documents, oldest first.
    pub fn last(&self, n: usize) -> Vec<Document> {
        match self.inner.lock() {
            Ok(g) => g.0.iter().skip(g.0.len().saturating_sub(n)).cloned().collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Every document still held, oldest first.
    pub fn all(&self) -> Vec<Document> {
        self.last(usize::MAX)
    }

    /// How many documents were ever written.
    pub fn total(&self) -> u64 {
        self.inner.lock().map(|g| g.1).unwrap_or(0)
    }
}

/// A sink writing into a [`TestLog`].
pub struct MemorySink {
    name: String,
    log: TestLog,
}

impl MemorySink {
    /// A sink appending to `log`.
    pub fn new(name: &str, log: TestLog) -> MemorySink {
        MemorySink { name: name.to_string(), log }
    }
}

impl Sink for MemorySink {
    fn name(&self) -> &str {
        &self.name
    }

    fn write(&mut self, docs: &[Document]) -> Result<(), SinkError> {
        let mut g = self
            .log
            .inner
            .lock()
            .map_err(|_| SinkError { sink_name: self.name.clone(), message: "test log lock poisoned".into() })?;
        for d in docs {
            if g.0.len() == self.log.capacity {
                g.0.pop_front();
            }
            g.0.push_back(d.clone());
            g.1 += 1;
        }
        Ok(())
    }
}
