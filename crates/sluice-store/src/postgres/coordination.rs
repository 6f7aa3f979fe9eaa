//! [`Coordination`] on PostgreSQL: node rows, leases and published statistics. Every time is the
//! database's clock ([`NOW`]), so nodes agree on expiry whatever their own clocks say.

use async_trait::async_trait;
use sluice_types::{ProcessorState, Tier};
use sqlx::postgres::PgRow;
use sqlx::Row;

use super::{backend, PostgresStore};
use crate::coordination::{ClusterView, Coordination, HeldLease, LeaseHolder, Node, Orphan, PlacedProcessor};
use crate::{StoreError, StoreResult};

/// The database's clock, in milliseconds since the epoch (the time of the statement, not of the
/// transaction's start).
const NOW: &str = "(EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT";

/// A tier as stored; an unknown spelling counts as the smallest.
fn tier(text: &str) -> Tier {
    Tier::parse(text).unwrap_or(Tier::SP2)
}

fn epoch_of(r: &PgRow) -> StoreResult<u64> {
    let e: i64 = r.try_get("epoch").map_err(backend)?;
    Ok(e.max(0) as u64)
}

fn node_of(r: &PgRow) -> StoreResult<Node> {
    Ok(Node {
        id: r.try_get("id").map_err(backend)?,
        address: r.try_get("address").map_err(backend)?,
        started_at: r.try_get("started_at").map_err(backend)?,
        last_heartbeat: r.try_get("last_heartbeat").map_err(backend)?,
        draining: r.try_get("draining").map_err(backend)?,
    })
}

/// A foreign-key violation (the processor was deleted) is the processor not found.
fn missing_processor(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(d) if d.is_foreign_key_violation() => StoreError::NotFound,
        _ => backend(e),
    }
}

#[async_trait]
impl Coordination for PostgresStore {
    async fn node_started(&self, id: &str, address: &str) -> StoreResult<()> {
        sqlx::query(&format!(
            "INSERT INTO nodes (id, address, started_at, last_heartbeat, draining) VALUES ($1, $2, {NOW}, {NOW}, FALSE) \
             ON CONFLICT (id) DO UPDATE SET address = EXCLUDED.address, started_at = EXCLUDED.started_at, \
             last_heartbeat = EXCLUDED.last_heartbeat, draining = FALSE"
        ))
        .bind(id)
        .bind(address)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn node_heartbeat(&self, id: &str) -> StoreResult<()> {
        let r = sqlx::query(&format!("UPDATE nodes SET last_heartbeat = {NOW} WHERE id = $1"))
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn node_draining(&self, id: &str) -> StoreResult<()> {
        sqlx::query("UPDATE nodes SET draining = TRUE WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn nodes(&self) -> StoreResult<Vec<Node>> {
        let rows = sqlx::query("SELECT * FROM nodes ORDER BY id COLLATE \"C\"")
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.iter().map(node_of).collect()
    }

    async fn acquire_lease(&self, processor_id: &str, node_id: &str, ttl_ms: i64) -> StoreResult<Option<u64>> {
        let row = sqlx::query(&format!(
            "INSERT INTO leases (processor_id, node_id, epoch, expires_at) VALUES ($1, $2, 1, {NOW} + $3) \
             ON CONFLICT (processor_id) DO UPDATE SET node_id = EXCLUDED.node_id, epoch = leases.epoch + 1, \
             expires_at = EXCLUDED.expires_at \
             WHERE leases.expires_at < {NOW} OR leases.node_id = EXCLUDED.node_id \
             RETURNING epoch"
        ))
        .bind(processor_id)
        .bind(node_id)
        .bind(ttl_ms)
        .fetch_optional(&self.pool)
        .await
        .map_err(missing_processor)?;
        row.as_ref().map(epoch_of).transpose()
    }

    async fn renew_leases(&self, node_id: &str, ttl_ms: i64) -> StoreResult<Vec<(String, u64)>> {
        let rows = sqlx::query(&format!(
            "UPDATE leases SET expires_at = {NOW} + $2 WHERE node_id = $1 AND expires_at >= {NOW} \
             RETURNING processor_id, epoch"
        ))
        .bind(node_id)
        .bind(ttl_ms)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter().map(|r| Ok((r.try_get("processor_id").map_err(backend)?, epoch_of(r)?))).collect()
    }

    async fn release_lease(&self, processor_id: &str, node_id: &str, epoch: u64) -> StoreResult<()> {
        sqlx::query(
            "UPDATE leases SET node_id = '', expires_at = 0 WHERE processor_id = $1 AND node_id = $2 AND epoch = $3",
        )
        .bind(processor_id)
        .bind(node_id)
        .bind(epoch as i64)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn lease_holder(&self, processor_id: &str) -> StoreResult<Option<LeaseHolder>> {
        let row = sqlx::query(&format!(
            "SELECT l.node_id, n.address, l.epoch FROM leases l JOIN nodes n ON n.id = l.node_id \
             WHERE l.processor_id = $1 AND l.expires_at >= {NOW}"
        ))
        .bind(processor_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        row.map(|r| {
            Ok(LeaseHolder {
                node_id: r.try_get("node_id").map_err(backend)?,
                address: r.try_get("address").map_err(backend)?,
                epoch: epoch_of(&r)?,
            })
        })
        .transpose()
    }

    async fn cluster_view(&self) -> StoreResult<ClusterView> {
        // One snapshot: the three reads see the same leases.
        let mut tx = self.pool.begin().await.map_err(backend)?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        let now: i64 = sqlx::query_scalar(&format!("SELECT {NOW}")).fetch_one(&mut *tx).await.map_err(backend)?;
        let nodes = sqlx::query("SELECT * FROM nodes ORDER BY id COLLATE \"C\"")
            .fetch_all(&mut *tx)
            .await
            .map_err(backend)?
            .iter()
            .map(node_of)
            .collect::<StoreResult<Vec<_>>>()?;
        let leases = sqlx::query(
            "SELECT l.processor_id, l.node_id, l.epoch, COALESCE(p.tier, w.tier) AS tier FROM leases l \
             JOIN processors p ON p.id = l.processor_id JOIN workspaces w ON w.id = p.workspace_id \
             WHERE l.expires_at >= $1 ORDER BY l.processor_id COLLATE \"C\"",
        )
        .bind(now)
        .fetch_all(&mut *tx)
        .await
        .map_err(backend)?
        .iter()
        .map(|r| {
            Ok(HeldLease {
                processor_id: r.try_get("processor_id").map_err(backend)?,
                node_id: r.try_get("node_id").map_err(backend)?,
                epoch: epoch_of(r)?,
                tier: tier(r.try_get("tier").map_err(backend)?),
            })
        })
        .collect::<StoreResult<Vec<_>>>()?;
        let orphans = sqlx::query(
            "SELECT p.id, COALESCE(p.tier, w.tier) AS tier FROM processors p \
             JOIN workspaces w ON w.id = p.workspace_id \
             LEFT JOIN leases l ON l.processor_id = p.id AND l.expires_at >= $1 \
             WHERE p.state = $2 AND l.processor_id IS NULL ORDER BY p.id COLLATE \"C\"",
        )
        .bind(now)
        .bind(ProcessorState::Started.as_str())
        .fetch_all(&mut *tx)
        .await
        .map_err(backend)?
        .iter()
        .map(|r| {
            Ok(Orphan {
                processor_id: r.try_get("id").map_err(backend)?,
                tier: tier(r.try_get("tier").map_err(backend)?),
            })
        })
        .collect::<StoreResult<Vec<_>>>()?;
        tx.commit().await.map_err(backend)?;
        Ok(ClusterView { now, nodes, leases, orphans })
    }

    async fn placed_processors(&self) -> StoreResult<Vec<PlacedProcessor>> {
        let rows = sqlx::query(&format!(
            "SELECT l.node_id, w.group_id, w.name AS workspace, p.name, p.state FROM leases l \
             JOIN processors p ON p.id = l.processor_id JOIN workspaces w ON w.id = p.workspace_id \
             WHERE l.expires_at >= {NOW} \
             ORDER BY w.group_id COLLATE \"C\", w.name COLLATE \"C\", p.name COLLATE \"C\""
        ))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter()
            .map(|r| {
                let state: String = r.try_get("state").map_err(backend)?;
                Ok(PlacedProcessor {
                    node_id: r.try_get("node_id").map_err(backend)?,
                    group_id: r.try_get("group_id").map_err(backend)?,
                    workspace: r.try_get("workspace").map_err(backend)?,
                    name: r.try_get("name").map_err(backend)?,
                    state: ProcessorState::parse(&state)
                        .ok_or_else(|| StoreError::Backend(format!("unknown processor state {:?}", state)))?,
                })
            })
            .collect()
    }

    async fn publish_stats(&self, node_id: &str, stats: &[(String, String)]) -> StoreResult<()> {
        for (processor_id, json) in stats {
            // Only the lease's holder, or its last holder when nobody took it since, writes.
            sqlx::query(&format!(
                "INSERT INTO processor_stats (processor_id, node_id, at, stats) \
                 SELECT $1, $2, {NOW}, $3 FROM leases WHERE processor_id = $1 AND node_id IN ($2, '') \
                 ON CONFLICT (processor_id) DO UPDATE SET node_id = EXCLUDED.node_id, at = EXCLUDED.at, \
                 stats = EXCLUDED.stats"
            ))
            .bind(processor_id)
            .bind(node_id)
            .bind(json)
            .execute(&self.pool)
            .await
            .map_err(missing_processor)?;
        }
        Ok(())
    }

    async fn published_stats(&self, processor_id: &str) -> StoreResult<Option<(i64, String)>> {
        let row = sqlx::query("SELECT at, stats FROM processor_stats WHERE processor_id = $1")
            .bind(processor_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.map(|r| Ok((r.try_get("at").map_err(backend)?, r.try_get("stats").map_err(backend)?))).transpose()
    }

    async fn published_stats_of(&self, processor_ids: &[String]) -> StoreResult<Vec<(String, String)>> {
        if processor_ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = sqlx::query("SELECT processor_id, stats FROM processor_stats WHERE processor_id = ANY($1)")
            .bind(processor_ids)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.iter()
            .map(|r| Ok((r.try_get("processor_id").map_err(backend)?, r.try_get("stats").map_err(backend)?)))
            .collect()
    }
}
