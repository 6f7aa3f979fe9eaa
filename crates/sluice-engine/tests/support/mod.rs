//! Test doubles shared by the engine's tests: a bounded source of given documents and a sink
//! that drops what it is given.

#![allow(dead_code)]

use std::collections::VecDeque;

use sluice_engine::{Sink, SinkError, Source, SourceError, SourceRecord, SourceStatus};
use sluice_mql::{Document, Value};

/// Hands out its documents, as many as asked at a time, then ends.
pub struct Documents(pub VecDeque<Document>);

impl Source for Documents {
    fn name(&self) -> &str {
        "in"
    }
    fn poll(&mut self, max: usize, out: &mut Vec<SourceRecord>) -> Result<SourceStatus, SourceError> {
        for _ in 0..max {
            match self.0.pop_front() {
                Some(d) => out.push(SourceRecord::Doc(d, 1)),
                None => return Ok(SourceStatus::End),
            }
        }
        Ok(SourceStatus::Ready)
    }
    fn position(&self) -> Value {
        Value::Null
    }
    fn seek(&mut self, _: &Value) -> Result<(), SourceError> {
        Ok(())
    }
}

/// Drops every document.
pub struct Discard;

impl Sink for Discard {
    fn name(&self) -> &str {
        "out"
    }
    fn write(&mut self, _: &[Document]) -> Result<(), SinkError> {
        Ok(())
    }
}

/// Keeps every document it is given, in a list the test holds too.
#[derive(Clone, Default)]
pub struct Collect(pub std::sync::Arc<std::sync::Mutex<Vec<Document>>>);

impl Sink for Collect {
    fn name(&self) -> &str {
        "out"
    }
    fn write(&mut self, docs: &[Document]) -> Result<(), SinkError> {
        self.0.lock().expect("not poisoned").extend_from_slice(docs);
        Ok(())
    }
}
