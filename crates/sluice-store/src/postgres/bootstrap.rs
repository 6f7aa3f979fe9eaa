//! The first project on PostgreSQL: one transaction that takes an advisory lock, looks for a
//! project and adds one only when there is none. Servers starting at the same moment on an empty
//! database queue on the lock; the first adds the project, the others then find it.

use super::store_impl::{insert_api_key, insert_project, insert_scram_credential};
use super::{backend, PostgresStore};
use crate::{FirstProject, StoreResult};

/// The advisory lock key of the first start ("sluice" then 2).
const BOOTSTRAP_LOCK: i64 = 0x736c_7569_6365_0002;

impl PostgresStore {
    /// See [`crate::MetadataStore::insert_first_project`].
    pub(super) async fn insert_first(&self, first: &FirstProject) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        // Held until the transaction ends.
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(BOOTSTRAP_LOCK)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        let existing = sqlx::query("SELECT 1 FROM projects LIMIT 1").fetch_optional(&mut *tx).await.map_err(backend)?;
        if existing.is_some() {
            return Ok(false);
        }
        insert_project(&first.project).execute(&mut *tx).await.map_err(backend)?;
        insert_api_key(&first.api_key).execute(&mut *tx).await.map_err(backend)?;
        for c in &first.scram {
            insert_scram_credential(c).execute(&mut *tx).await.map_err(backend)?;
        }
        tx.commit().await.map_err(backend)?;
        Ok(true)
    }
}
