//! The metadata store in a PostgreSQL database, for several servers (nodes) sharing one store.
//! The tables are the SQLite store's, in PostgreSQL's types (`migrations/postgres/`); every
//! operation keeps the SQLite store's semantics.

mod bootstrap;
mod coordination;
mod migrate;
mod store_impl;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

pub(crate) use crate::sql_error::backend;
use crate::{Sealer, StoreError, StoreResult};

/// Connections each server keeps to the database.
const MAX_CONNECTIONS: u32 = 8;
/// How long a call waits for a free connection (or for the server to answer a new one).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// Metadata in a PostgreSQL database.
#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
    /// Seals connection secrets at rest; without one they are stored as given (tests).
    sealer: Option<Arc<Sealer>>,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PostgresStore(..)")
    }
}

impl PostgresStore {
    /// Connects to the database of `url` (`postgres://USER[:PASSWORD]@HOST[:PORT]/DB`, with the
    /// driver's usual parameters) and applies pending migrations. Several servers may open one
    /// database at the same moment: the migrations run once, under an advisory lock.
    pub async fn open(url: &str) -> StoreResult<PostgresStore> {
        let opts = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Backend(format!("not a PostgreSQL URL: {}", e)))?
            .application_name("sluice");
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(opts)
            .await
            .map_err(backend)?;
        migrate::apply(&pool).await?;
        Ok(PostgresStore { pool, sealer: None })
    }

    /// This store with connection secrets sealed by `sealer`. Every stored secret must open with
    /// it (servers sharing the database share the key), so a wrong key shows now rather than when
    /// a processor first needs a connection; secrets stored in clear (by a store opened without a
    /// sealer) are sealed now.
    pub async fn sealed_with(mut self, sealer: Sealer) -> StoreResult<PostgresStore> {
        self.sealer = Some(Arc::new(sealer));
        self.seal_clear_secrets().await?;
        Ok(self)
    }

    /// The credential of calls between nodes sharing this database and its sealing key (see
    /// [`Sealer::node_token`]); `None` for a store opened without a sealer.
    pub fn node_token(&self) -> Option<String> {
        self.sealer.as_ref().map(|s| s.node_token().to_string())
    }

    /// Makes database `name` (dropped first if it exists) on the server of `url`, whose user may
    /// create databases; the URL of the new database. For benchmarks that need an empty store.
    pub async fn create_database(url: &str, name: &str) -> StoreResult<String> {
        use sqlx::Connection as _;
        if !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
            return Err(StoreError::Backend(format!("not a plain database name: {:?}", name)));
        }
        let mut admin = sqlx::PgConnection::connect(url).await.map_err(backend)?;
        sqlx::query(&format!("DROP DATABASE IF EXISTS {}", name)).execute(&mut admin).await.map_err(backend)?;
        sqlx::query(&format!("CREATE DATABASE {}", name)).execute(&mut admin).await.map_err(backend)?;
        let (head, query) = url.split_once('?').map_or((url, None), |(h, q)| (h, Some(q)));
        let (server, _) =
            head.rsplit_once('/').ok_or_else(|| StoreError::Backend("the PostgreSQL URL has no database".into()))?;
        Ok(format!("{}/{}{}", server, name, query.map(|q| format!("?{}", q)).unwrap_or_default()))
    }

    /// The schema version now in force.
    pub async fn schema_version(&self) -> StoreResult<i64> {
        migrate::current_version(&self.pool).await
    }

    /// Closes the connections to the database.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}
