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

    /// Up to `max` documents written after the first `seen` ones that are still held, oldest
    /// first, and the count the next call passes as `seen`. Documents that fell out of the log
    /// before they were read are skipped; a `seen` past the end (a reader of an earlier run's
    /// log) starts from the oldest document held.
    pub fn since(&self, seen: u64, max: usize) -> (Vec<Document>, u64) {
        let Ok(g) = self.inner.lock() else { return (Vec::new(), seen) };
        let first_held = g.1 - g.0.len() as u64;
        // More seen than was ever written: the reader followed an earlier run's log; start over.
        let start = if seen > g.1 { first_held } else { seen.max(first_held) };
        // `start - first_held` is at most the held length, so it fits a usize.
        let docs: Vec<Document> = g.0.iter().skip((start - first_held) as usize).take(max).cloned().collect();
        let next = start + docs.len() as u64;
        (docs, next)
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
        let mut g = self.log.inner.lock().map_err(|_| SinkError::internal(&self.name, "test log lock poisoned"))?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_mql::Value;

    fn doc(i: i64) -> Document {
        let mut d = Document::new();
        d.insert("i", Value::Int64(i));
        d
    }

    #[test]
    fn since_reads_each_document_once_and_skips_what_fell_out() {
        let log = TestLog::new(3);
        let mut sink = MemorySink::new("s", log.clone());
        sink.write(&[doc(0), doc(1)]).unwrap();
        let (docs, seen) = log.since(0, 10);
        assert_eq!((docs, seen), (vec![doc(0), doc(1)], 2));
        assert_eq!(log.since(seen, 10), (vec![], 2));
        sink.write(&[doc(2), doc(3), doc(4), doc(5)]).unwrap();
        // 2 fell out before it was read; at most `max` at a time.
        assert_eq!(log.since(seen, 2), (vec![doc(3), doc(4)], 5));
        assert_eq!(log.since(5, 2), (vec![doc(5)], 6));
        // A position past the end (a reader of a previous run's log) reads what is held.
        let fresh = TestLog::new(3);
        MemorySink::new("s", fresh.clone()).write(&[doc(9)]).unwrap();
        assert_eq!(fresh.since(6, 10), (vec![doc(9)], 1));
    }
}
