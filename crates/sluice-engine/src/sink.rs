//! The interface every sink connector implements.

use sluice_mql::Document;

/// A sink failure.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("sink {sink_name}: {message}")]
pub struct SinkError {
    /// The sink name.
    pub sink_name: String,
    /// What failed.
    pub message: String,
}

/// A sink connector (also used for the DLQ).
pub trait Sink: Send {
    /// A name for messages.
    fn name(&self) -> &str;

    /// Writes a batch of documents.
    fn write(&mut self, docs: &[Document]) -> Result<(), SinkError>;

    /// Makes everything written so far durable (called at checkpoints and at the end).
    fn flush(&mut self) -> Result<(), SinkError> {
        Ok(())
    }
}
