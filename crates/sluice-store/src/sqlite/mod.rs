//! The embedded SQLite store (WAL, synchronous=FULL: an acknowledged write survives a crash).

mod bootstrap;
mod migrate;
mod store_impl;

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

pub(crate) use crate::sql_error::backend;
use crate::{Sealer, StoreResult};

/// Metadata in one SQLite file.
#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// Seals connection secrets at rest; without one they are stored as given (tests).
    sealer: Option<Arc<Sealer>>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and applies pending migrations.
    pub async fn open(path: &Path) -> StoreResult<SqliteStore> {
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(std::time::Duration::from_secs(5));
        let pool = SqlitePoolOptions::new().max_connections(4).connect_with(opts).await.map_err(backend)?;
        Self::ready(pool).await
    }

    /// A private in-memory database (tests).
    pub async fn open_in_memory() -> StoreResult<SqliteStore> {
        let opts = SqliteConnectOptions::from_str("sqlite::memory:").map_err(backend)?.foreign_keys(true);
        // One connection: every connection to `:memory:` is a database of its own.
        let pool = SqlitePoolOptions::new().max_connections(1).connect_with(opts).await.map_err(backend)?;
        Self::ready(pool).await
    }

    async fn ready(pool: SqlitePool) -> StoreResult<SqliteStore> {
        migrate::apply(&pool).await?;
        Ok(SqliteStore { pool, sealer: None })
    }

    /// This store with connection secrets sealed by `sealer` from now on; secrets stored in
    /// clear before (by an older version) are sealed now.
    pub async fn sealed_with(mut self, sealer: Sealer) -> StoreResult<SqliteStore> {
        self.sealer = Some(Arc::new(sealer));
        if self.seal_clear_secrets().await? {
            self.vacuum().await?;
        }
        Ok(self)
    }

    /// Rewrites the database file without its free pages and checkpoints the WAL into it, so
    /// that values overwritten before (secrets stored in clear by an older version) are gone.
    pub async fn vacuum(&self) -> StoreResult<()> {
        sqlx::query("VACUUM").execute(&self.pool).await.map_err(backend)?;
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&self.pool).await.map_err(backend)?;
        Ok(())
    }

    /// The schema version now in force.
    pub async fn schema_version(&self) -> StoreResult<i64> {
        migrate::current_version(&self.pool).await
    }
}
