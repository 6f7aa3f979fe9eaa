//! Driver errors as store errors, the same for every SQL backend.

use crate::StoreError;

/// Maps a driver error: a missing row is [`StoreError::NotFound`], a unique violation a
/// [`StoreError::Conflict`], the rest backend failures.
pub(crate) fn backend(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::RowNotFound => StoreError::NotFound,
        sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Conflict,
        _ => StoreError::Backend(e.to_string()),
    }
}
