//! Schema migrations for PostgreSQL: numbered SQL files embedded in the binary, applied in order
//! in one transaction with the bump of `schema_migrations`. The transaction first takes an
//! advisory lock, so that servers starting at the same moment on one database apply each
//! migration once: the others wait, then find nothing left to do.

use sqlx::{Executor as _, PgPool, Row};

use super::backend;
use crate::StoreResult;

/// Every migration, in order. Never edit one that has shipped: add the next.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../../migrations/postgres/0001_init.sql")),
    (2, include_str!("../../migrations/postgres/0002_nodes.sql")),
    (3, include_str!("../../migrations/postgres/0003_leases.sql")),
];

/// The advisory lock key of migrations ("sluice" then 1).
const MIGRATION_LOCK: i64 = 0x736c_7569_6365_0001;

pub(super) async fn current_version(pool: &PgPool) -> StoreResult<i64> {
    let row = sqlx::query("SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations")
        .fetch_one(pool)
        .await
        .map_err(backend)?;
    row.try_get::<i64, _>("v").map_err(backend)
}

pub(super) async fn apply(pool: &PgPool) -> StoreResult<()> {
    let mut tx = pool.begin().await.map_err(backend)?;
    // Held until the transaction ends.
    sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(MIGRATION_LOCK).execute(&mut *tx).await.map_err(backend)?;
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
    )
    .execute(&mut *tx)
    .await
    .map_err(backend)?;
    let current: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?;
    // Collected first: an iterator adapter held across the awaits below would keep the future
    // from being Send (a server may open the store on any runtime thread).
    let pending: Vec<(i64, &'static str)> = MIGRATIONS.iter().copied().filter(|(v, _)| *v > current).collect();
    for (version, sql) in pending {
        // Through the connection's Executor: `RawSql::execute` makes a future that is not Send.
        (&mut *tx).execute(sqlx::raw_sql(sql)).await.map_err(backend)?;
        sqlx::query(
            "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, EXTRACT(EPOCH FROM now())::BIGINT)",
        )
        .bind(version)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
    }
    tx.commit().await.map_err(backend)
}
