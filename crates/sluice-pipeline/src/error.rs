//! Pipeline validation errors.

/// Why a pipeline is not valid.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PipelineError {
    /// The pipeline as a whole is malformed (not an array, empty, no `$source`).
    #[error("{0}")]
    Pipeline(String),
    /// One stage is wrong: its index, its name and what is wrong (naming the field).
    #[error("stage {index} ({stage}): {message}")]
    Stage {
        /// Zero-based position of the stage in the pipeline.
        index: usize,
        /// The stage name, e.g. `$tumblingWindow`.
        stage: String,
        /// What is wrong, naming the field.
        message: String,
    },
}

impl PipelineError {
    /// Builds a stage error.
    pub fn stage(index: usize, stage: &str, message: impl Into<String>) -> PipelineError {
        PipelineError::Stage { index, stage: stage.to_string(), message: message.into() }
    }
}
