//! A `$source` without a registry (`sluice run`, and the inline `documents` of any processor):
//! the inline documents or the sample solar stream.

use sluice_engine::Source;
use sluice_pipeline::SourceSpec;

use crate::{DocumentsSource, SolarConfig, SolarSource};

/// The connection name of the built-in sample solar stream.
pub const SAMPLE_SOLAR: &str = "sample_stream_solar";

/// A connection that cannot be opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectorError(pub String);

impl std::fmt::Display for ConnectorError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConnectorError {}

/// Opens the source a `$source` stage names: inline `documents` or the sample solar stream.
/// Connections of other types (Kafka, Cluster) come with their connectors.
pub fn open_source(spec: &SourceSpec, solar: SolarConfig) -> Result<Box<dyn Source>, ConnectorError> {
    if let Some(docs) = &spec.documents {
        return Ok(Box::new(DocumentsSource::new(docs.clone())));
    }
    match spec.connection_name.as_deref() {
        Some(SAMPLE_SOLAR) => Ok(Box::new(SolarSource::new(solar))),
        Some(other) => Err(ConnectorError(format!(
            "connection '{}' is not available to `sluice run`: use {} or --input FILE",
            other, SAMPLE_SOLAR
        ))),
        None => Err(ConnectorError("$source names no connection".into())),
    }
}
