//! Why a lifecycle request was refused or failed.

use sluice_store::StoreError;

use crate::lifecycle::TransitionError;

/// Why a lifecycle request was refused or failed. The API maps each variant to one answer:
/// the user's mistakes to 4xx, [`ControlError::Internal`] and the store's failures to 500.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ControlError {
    /// No processor of that name in the workspace.
    #[error("processor not found")]
    NotFound,
    /// A processor of that name already exists in the workspace.
    #[error("a processor with this name already exists")]
    Duplicate,
    /// The pipeline or options do not validate (the engine's message).
    #[error("{0}")]
    Invalid(String),
    /// The action is not allowed in the processor's state.
    #[error(transparent)]
    Transition(#[from] TransitionError),
    /// The processor could not be started (its connections cannot be opened).
    #[error("{0}")]
    StartFailed(String),
    /// The store failed.
    #[error(transparent)]
    Store(StoreError),
    /// Sluice itself failed (a task panicked, a processor's actor is gone): never the user's
    /// doing, so never a 4xx.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for ControlError {
    fn from(e: StoreError) -> ControlError {
        match e {
            StoreError::NotFound => ControlError::NotFound,
            StoreError::Conflict => ControlError::Duplicate,
            other => ControlError::Store(other),
        }
    }
}

impl From<tokio::task::JoinError> for ControlError {
    fn from(e: tokio::task::JoinError) -> ControlError {
        ControlError::Internal(format!("a blocking task failed: {}", e))
    }
}
