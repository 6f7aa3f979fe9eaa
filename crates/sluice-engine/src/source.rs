//! The interface every source connector implements.

use sluice_mql::{Document, Value};

/// One record read from a source.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceRecord {
    /// A decoded document and the size of its encoded form in bytes.
    Doc(Document, usize),
    /// Input that could not be decoded: it goes to the DLQ with its raw text.
    Malformed {
        /// The raw input (lossily decoded as UTF-8).
        raw: String,
        /// Why it could not be decoded.
        error: String,
    },
}

/// What a poll found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceStatus {
    /// Records were appended (possibly fewer than asked for).
    Ready,
    /// Nothing available right now; poll again later.
    Idle,
    /// A bounded source is exhausted.
    End,
}

/// A source failure that stops the processor.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("source {source_name}: {message}")]
pub struct SourceError {
    /// The source (connection) name.
    pub source_name: String,
    /// What failed.
    pub message: String,
}

/// A source connector.
pub trait Source: Send {
    /// A name for messages and metadata (the connection name).
    fn name(&self) -> &str;

    /// Appends up to `max` records to `out`.
    fn poll(&mut self, max: usize, out: &mut Vec<SourceRecord>) -> Result<SourceStatus, SourceError>;

    /// The read position, for checkpoints.
    fn position(&self) -> Value;

    /// Seeks to a position written by [`Source::position`].
    fn seek(&mut self, position: &Value) -> Result<(), SourceError>;

    /// The processor resumes after a pause: a source that paces itself by the clock starts
    /// pacing anew instead of catching up on the paused time.
    fn on_resume(&mut self) {}
}
