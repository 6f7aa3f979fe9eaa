//! Connectors behind the engine's [`sluice_engine::Source`], [`sluice_engine::Sink`] and
//! [`sluice_engine::Enricher`] traits.
//! A connector never knows about the API.

mod documents;
pub mod https;
mod json_lines;
pub mod kafka;
pub mod line_split;
mod memory_sink;
pub mod mongodb;
mod outage;
pub mod registry;
mod run_source;
mod sample_connector;
mod solar;

pub use documents::DocumentsSource;
pub use json_lines::{JsonLinesSink, JsonLinesSource};
pub use memory_sink::{MemorySink, TestLog};
pub use registry::{connector, ConnectionRef, Connector, Role, StageOptions, Use};
pub use run_source::{open_source, ConnectorError, SAMPLE_SOLAR};
pub use sample_connector::SampleConnector;
pub use solar::{SolarConfig, SolarSource};
