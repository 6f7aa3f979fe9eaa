//! The first project on SQLite: one transaction whose first statement inserts the project only
//! when there is none, so it takes the database's write lock before it looks.

use super::store_impl::{insert_api_key, insert_scram_credential};
use super::{backend, SqliteStore};
use crate::{FirstProject, StoreResult};

impl SqliteStore {
    /// See [`crate::MetadataStore::insert_first_project`].
    pub(super) async fn insert_first(&self, first: &FirstProject) -> StoreResult<bool> {
        let p = &first.project;
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let added = sqlx::query(
            "INSERT INTO projects (id, name, org_id, created_at) \
             SELECT ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM projects)",
        )
        .bind(&p.id)
        .bind(&p.name)
        .bind(&p.org_id)
        .bind(p.created_at)
        .execute(&mut *tx)
        .await
        .map_err(backend)?
        .rows_affected();
        if added == 0 {
            return Ok(false);
        }
        insert_api_key(&first.api_key).execute(&mut *tx).await.map_err(backend)?;
        for c in &first.scram {
            insert_scram_credential(c).execute(&mut *tx).await.map_err(backend)?;
        }
        tx.commit().await.map_err(backend)?;
        Ok(true)
    }
}
