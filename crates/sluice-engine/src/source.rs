//! The interface every source connector implements.

use sluice_mql::{Document, Value};

use crate::error_domain::ErrorDomain;

/// One record read from a source.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceRecord {
    /// A decoded document and the size of its encoded form in bytes.
    Doc(Document, usize),
    /// A decoded document read from one partition of a partitioned source (a Kafka topic's
    /// partitions): event time is tracked per partition and the watermark is their minimum.
    FromPartition {
        /// The document.
        doc: Document,
        /// The size of its encoded form in bytes.
        bytes: usize,
        /// The partition's index among the source's [`Source::partitions`].
        partition: u32,
        /// Its stream metadata (`_stream_meta`: `{source: {type, topic, partition, offset, ...}}`).
        meta: Box<Document>,
        /// The time the source gives the record (a Kafka message's timestamp, a change event's
        /// wall time): its event time when the pipeline declares no `timeField` (Atlas).
        time: Option<i64>,
    },
    /// Input that could not be decoded: it goes to the DLQ with its raw bytes.
    Malformed {
        /// The raw input, as read.
        raw: Vec<u8>,
        /// Why it could not be decoded.
        error: String,
        /// Where it was read from, when the source knows.
        meta: Option<Box<Document>>,
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

/// Where a source stands in one partition (Kafka), for the stats.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct PartitionOffsets {
    /// The topic.
    pub topic: String,
    /// The partition id.
    pub partition: i32,
    /// The next offset to read, once known.
    pub current: Option<i64>,
    /// The partition's end (high watermark) as last heard from the broker, once known.
    pub end: Option<i64>,
    /// Left out of the watermark after `partitionIdleTimeout` without events (set by the engine).
    pub idle: bool,
}

impl PartitionOffsets {
    /// Messages not read yet, when both ends are known.
    pub fn lag(&self) -> Option<i64> {
        Some((self.end? - self.current?).max(0))
    }
}

/// Where a stopped processor's source is to start instead of its saved position
/// (`:resetOffsets`).
#[derive(Debug, Clone, PartialEq)]
pub enum ResetTo {
    /// The oldest data still there.
    Earliest,
    /// Only what is written from now on.
    Latest,
    /// The first data at or after this time (ms since the epoch).
    Time(i64),
    /// Explicit positions in the source's own form (Kafka: `[{topic, partition, offset}]`);
    /// partitions not named keep their position.
    Offsets(Value),
}

/// A source failure that stops the processor.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("source {source_name}: {message}")]
pub struct SourceError {
    /// The source (connection) name.
    pub source_name: String,
    /// What failed.
    pub message: String,
    /// Whose failure it is.
    pub domain: ErrorDomain,
}

impl SourceError {
    /// A failure of the external system behind source `name` (past the connector's retries).
    pub fn external(name: &str, message: impl Into<String>) -> SourceError {
        SourceError { source_name: name.to_string(), message: message.into(), domain: ErrorDomain::External }
    }

    /// A failure the user's configuration causes (retrying cannot fix it).
    pub fn user(name: &str, message: impl Into<String>) -> SourceError {
        SourceError { source_name: name.to_string(), message: message.into(), domain: ErrorDomain::User }
    }

    /// A failure of Sluice itself.
    pub fn internal(name: &str, message: impl Into<String>) -> SourceError {
        SourceError { source_name: name.to_string(), message: message.into(), domain: ErrorDomain::Internal }
    }
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

    /// How many partitions the source reads, each with its own event-time clock; 0 for a source
    /// that is one ordered stream. May grow while running.
    fn partitions(&self) -> u32 {
        0
    }

    /// The position (as [`Source::position`] gives it) that `to` means, asking upstream where
    /// needed. Called after [`Source::seek`] to the saved position.
    fn reset_position(&mut self, _to: &ResetTo) -> Result<Value, SourceError> {
        Err(SourceError::user(self.name(), "this source has no offsets to reset"))
    }

    /// Where the source stands in each of its [`Source::partitions`], in watermark-index order
    /// (empty for a source without offsets). Must be cheap: it is asked with every stats update.
    fn partition_offsets(&self) -> Vec<PartitionOffsets> {
        Vec::new()
    }

    /// How many threads the source may read its partitions with (the processor's tier's
    /// parallelism). Called before the first poll; sources of one stream ignore it.
    fn allow_parallelism(&mut self, _readers: u32) {}

    /// A checkpoint holding [`Source::position`] is durable: a source may now tell its upstream
    /// (a Kafka consumer group commits its offsets, so external tools see the lag).
    fn on_checkpoint_saved(&mut self, _position: &Value) {}

    /// Starts reading at this time (ms since the epoch) instead of the checkpointed position:
    /// `:startWith {startAtOperationTime}`. Called after [`Source::seek`], before the first poll.
    fn start_at(&mut self, _time_ms: i64) -> Result<(), SourceError> {
        Err(SourceError::user(self.name(), "startAtOperationTime applies to change stream and Kafka sources only"))
    }

    /// The run's health board: a source that retries an unreachable system in place reports its
    /// trouble there, gives up after [`crate::Health::retry_for`], and stops retrying when the
    /// run stops. Called before the first poll.
    fn attach_health(&mut self, _health: &crate::Health) {}

    /// The run's clock (the one `$$NOW` and ingestion times read), for a source that paces
    /// itself by time, such as the sample stream: tests that drive the clock drive it too.
    /// Called before the first poll.
    fn attach_clock(&mut self, _clock: &crate::Clock) {}

    /// The processor resumes after a pause: a source that paces itself by the clock starts
    /// pacing anew instead of catching up on the paused time.
    fn on_resume(&mut self) {}
}
