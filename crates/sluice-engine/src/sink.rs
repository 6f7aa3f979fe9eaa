//! The interface every sink connector implements.

use sluice_mql::{Document, Value};

use crate::error_domain::ErrorDomain;

/// A sink failure.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("sink {sink_name}: {message}")]
pub struct SinkError {
    /// The sink name.
    pub sink_name: String,
    /// What failed.
    pub message: String,
    /// Whose failure it is.
    pub domain: ErrorDomain,
}

impl SinkError {
    /// A failure of the external system behind sink `name` (past the connector's retries).
    pub fn external(name: &str, message: impl Into<String>) -> SinkError {
        SinkError { sink_name: name.to_string(), message: message.into(), domain: ErrorDomain::External }
    }

    /// A failure the user's configuration causes (retrying cannot fix it).
    pub fn user(name: &str, message: impl Into<String>) -> SinkError {
        SinkError { sink_name: name.to_string(), message: message.into(), domain: ErrorDomain::User }
    }

    /// A failure of Sluice itself.
    pub fn internal(name: &str, message: impl Into<String>) -> SinkError {
        SinkError { sink_name: name.to_string(), message: message.into(), domain: ErrorDomain::Internal }
    }
}

/// A document a sink refused while the rest of its batch was written (its topic expression
/// failed, the database rejected it): it goes to the DLQ and the processor keeps running.
#[derive(Debug, Clone, PartialEq)]
pub struct SinkReject {
    /// The document as the sink received it.
    pub doc: Document,
    /// Why it was refused.
    pub reason: String,
}

/// A sink connector (also used for the DLQ).
pub trait Sink: Send {
    /// A name for messages.
    fn name(&self) -> &str;

    /// Writes a batch of documents.
    fn write(&mut self, docs: &[Document]) -> Result<(), SinkError>;

    /// The documents refused by the last [`Sink::write`]s, taken (empty for a sink that refuses
    /// nothing but whole batches).
    fn take_rejected(&mut self) -> Vec<SinkReject> {
        Vec::new()
    }

    /// Makes everything written so far durable (called at checkpoints and at the end).
    fn flush(&mut self) -> Result<(), SinkError> {
        Ok(())
    }

    /// The run's health board: a sink that retries an unreachable system in place reports its
    /// trouble there, gives up after [`crate::Health::retry_for`], and stops retrying when the
    /// run stops. Called before the first write.
    fn attach_health(&mut self, _health: &crate::Health) {}

    /// The checkpoint taken after the last [`Sink::flush`] is durable (a transactional sink
    /// commits what it wrote up to that checkpoint).
    fn on_checkpoint_saved(&mut self) -> Result<(), SinkError> {
        Ok(())
    }

    /// What the sink keeps in a checkpoint, taken right after that checkpoint's
    /// [`Sink::flush`]: for a transactional sink, the transaction the flush pre-committed and
    /// [`Sink::on_checkpoint_saved`] will commit. Null for a sink that keeps nothing.
    fn snapshot(&self) -> Value {
        Value::Null
    }

    /// Resumes from a checkpoint's [`Sink::snapshot`] (Null when it holds none), before
    /// anything else of the checkpoint is restored. A transactional sink whose transaction of
    /// that checkpoint never committed (the run died between saving the checkpoint and
    /// committing) answers [`SinkResume::OutputLost`]: the checkpoint before it is the one to
    /// resume from, and the lost output is written again from there.
    fn resume_from(&mut self, _state: &Value) -> Result<SinkResume, SinkError> {
        Ok(SinkResume::Resumed)
    }
}

/// What a sink found when resuming from a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SinkResume {
    /// The checkpoint's output is where the sink wrote it: resume from that checkpoint.
    Resumed,
    /// The checkpoint's output was never committed (the reason says what was checked): resume
    /// from an earlier checkpoint.
    OutputLost(String),
}
