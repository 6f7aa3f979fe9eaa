//! Parses an Atlas Stream Processing pipeline (an array of stages, as JSON/Extended JSON) into a
//! typed [`Plan`], validating everything that can be checked before the processor runs:
//! unknown stages, stages out of place, bad arguments. Every error names the stage index, the
//! stage and the field: `stage 2 ($tumblingWindow): interval.unit must be one of ...`.

mod enrich;
mod error;
mod fields;
mod plan;
mod projection;
mod sink;
mod source;
mod stateless;
mod window;

pub use enrich::{EnrichSpec, OnError};
pub use error::PipelineError;
pub use plan::{Boundary, Plan, SinkSpec, SourceSpec, Stage, UnwindSpec, ValidationAction, WindowKind, WindowSpec};
pub use projection::{ProjNode, Projection};
pub use sluice_mql::accumulator::Accumulator;
pub use window::MAX_WINDOWS_PER_EVENT;

use sluice_mql::json::parse_value;
use sluice_mql::Value;

/// Parses a pipeline from JSON text.
pub fn parse_pipeline_json(text: &str) -> Result<Plan, PipelineError> {
    let v = parse_value(text).map_err(|e| PipelineError::Pipeline(format!("invalid JSON: {}", e)))?;
    parse_pipeline(&v)
}

/// Parses a pipeline from its value (an array of single-field stage documents).
pub fn parse_pipeline(v: &Value) -> Result<Plan, PipelineError> {
    plan::parse(v)
}
