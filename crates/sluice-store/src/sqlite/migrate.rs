//! Schema migrations: numbered SQL files embedded in the binary, applied in order, each in its
//! own transaction together with the bump of `schema_migrations`.

use sqlx::{Row, SqlitePool};

use super::backend;
use crate::StoreResult;

/// Every migration, in order. Never edit one that has shipped: add the next.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../../migrations/0001_init.sql")),
    (2, include_str!("../../migrations/0002_scram_credentials.sql")),
];

pub(super) async fn current_version(pool: &SqlitePool) -> StoreResult<i64> {
    let row = sqlx::query("SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations")
        .fetch_one(pool)
        .await
        .map_err(backend)?;
    row.try_get::<i64, _>("v").map_err(backend)
}

pub(super) async fn apply(pool: &SqlitePool) -> StoreResult<()> {
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
    )
    .execute(pool)
    .await
    .map_err(backend)?;
    let current = current_version(pool).await?;
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
        let mut tx = pool.begin().await.map_err(backend)?;
        sqlx::raw_sql(sql).execute(&mut *tx).await.map_err(backend)?;
        sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES (?, strftime('%s','now'))")
            .bind(version)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
    }
    Ok(())
}
