//! The servers (nodes) sharing a database: each writes its row when it starts and refreshes its
//! heartbeat while it runs, so that the others can tell who is alive.

use sqlx::Row;

use super::{backend, PostgresStore};
use crate::StoreResult;

/// A server that shares the database.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Its id (`--node-id`).
    pub id: String,
    /// Where its API listens (`HOST:PORT`).
    pub address: String,
    /// When it last started, milliseconds since the epoch.
    pub started_at: i64,
    /// When it last said it was alive, milliseconds since the epoch.
    pub last_heartbeat: i64,
}

impl PostgresStore {
    /// Records that node `id` started now at `address` (replacing what an earlier run of it left).
    pub async fn node_started(&self, id: &str, address: &str, now_ms: i64) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO nodes (id, address, started_at, last_heartbeat) VALUES ($1, $2, $3, $3) \
             ON CONFLICT (id) DO UPDATE SET address = EXCLUDED.address, started_at = EXCLUDED.started_at, \
             last_heartbeat = EXCLUDED.last_heartbeat",
        )
        .bind(id)
        .bind(address)
        .bind(now_ms)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    /// Records that node `id` is alive now.
    pub async fn node_heartbeat(&self, id: &str, now_ms: i64) -> StoreResult<()> {
        let r = sqlx::query("UPDATE nodes SET last_heartbeat = $2 WHERE id = $1")
            .bind(id)
            .bind(now_ms)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        if r.rows_affected() == 0 {
            return Err(crate::StoreError::NotFound);
        }
        Ok(())
    }

    /// Every node that ever started on this database, by id.
    pub async fn nodes(&self) -> StoreResult<Vec<Node>> {
        let rows = sqlx::query("SELECT * FROM nodes ORDER BY id COLLATE \"C\"")
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.iter()
            .map(|r| {
                Ok(Node {
                    id: r.try_get("id").map_err(backend)?,
                    address: r.try_get("address").map_err(backend)?,
                    started_at: r.try_get("started_at").map_err(backend)?,
                    last_heartbeat: r.try_get("last_heartbeat").map_err(backend)?,
                })
            })
            .collect()
    }
}
