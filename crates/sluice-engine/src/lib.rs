//! The stream engine: runs a [`sluice_pipeline::Plan`] as source → operators → sink.
//!
//! Operators are synchronous functions over batches of [`Event`]s so they can be tested without
//! a runtime. Each event carries the source watermark as it stood before the event was read, so
//! windows close at the same point of the stream whatever the batch boundaries are: the output
//! of a run does not depend on how the source batched its input.

mod build;
mod checkpoint;
mod dlq;
mod enrich;
mod error_domain;
mod event;
mod executor;
mod health;
mod latency;
mod operator;
mod ops;
mod partition_watermarks;
mod sink;
mod source;
mod stats;

pub use build::{build_operators, build_operators_with, BuildError};
pub use checkpoint::{Checkpoint, CheckpointError, RawCheckpoint, CHECKPOINT_FORMAT};
pub use dlq::DlqRecord;
pub use enrich::{EnrichRequest, Enriched, Enricher};
pub use error_domain::ErrorDomain;
pub use event::Event;
pub use executor::{system_clock, Clock, EngineError, Executor, ExecutorConfig, StepOutcome};
pub use health::{Health, HealthEvent, HealthEvents, Trouble, DEFAULT_RETRY_FOR};
pub use latency::Latency;
pub use operator::{OpContext, Operator, OperatorStats};
pub use partition_watermarks::PartitionWatermarks;
pub use sink::{Sink, SinkError, SinkReject, SinkResume};
pub use source::{PartitionOffsets, ResetTo, Source, SourceError, SourceRecord, SourceStatus};
pub use stats::{saved_counters, ExecutorStats};
