//! `$source: {documents: [...]}`: a bounded source over inline documents.

use sluice_engine::{Source, SourceError, SourceRecord, SourceStatus};
use sluice_mql::{Document, Value};

/// Emits the given documents in order, then ends. Position: the index of the next document.
pub struct DocumentsSource {
    docs: Vec<Document>,
    next: usize,
}

impl DocumentsSource {
    /// A source over `docs`.
    pub fn new(docs: Vec<Document>) -> DocumentsSource {
        DocumentsSource { docs, next: 0 }
    }
}

impl Source for DocumentsSource {
    fn name(&self) -> &str {
        "documents"
    }

    fn poll(&mut self, max: usize, out: &mut Vec<SourceRecord>) -> Result<SourceStatus, SourceError> {
        let end = (self.next + max).min(self.docs.len());
        for d in &self.docs[self.next..end] {
            out.push(SourceRecord::Doc(d.clone(), d.approx_size()));
        }
        self.next = end;
        Ok(if self.next >= self.docs.len() { SourceStatus::End } else { SourceStatus::Ready })
    }

    fn position(&self) -> Value {
        Value::Int64(self.next as i64)
    }

    fn seek(&mut self, position: &Value) -> Result<(), SourceError> {
        match position.as_exact_i64() {
            Some(n) if n >= 0 && n as usize <= self.docs.len() => {
                self.next = n as usize;
                Ok(())
            }
            _ => Err(SourceError::internal("documents", format!("invalid position {:?}", position))),
        }
    }
}
