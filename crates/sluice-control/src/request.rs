//! What a lifecycle request may carry: `:startWith` options and a PATCH's changes.

use serde_json::Value as Json;
use sluice_types::Tier;

/// What `:startWith` may ask.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StartOptions {
    /// Run on this tier from now on.
    pub tier: Option<Tier>,
    /// `false`: drop any saved state and start fresh.
    pub resume_from_checkpoint: Option<bool>,
    /// Where a change-stream source starts (an ISO date-time).
    pub start_at_operation_time: Option<String>,
}

/// A change to a processor (PATCH).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Modification {
    /// A new name.
    pub name: Option<String>,
    /// A new pipeline.
    pub pipeline: Option<Json>,
    /// New options.
    pub options: Option<Json>,
    /// Atlas `options.resumeFromCheckpoint`: `false` drops the saved state, which a change of
    /// `$source` or window stages requires.
    pub resume_from_checkpoint: Option<bool>,
    /// The processor's own tier (Atlas's `tier` of a processor), used from its next start.
    pub tier: Option<Tier>,
}
