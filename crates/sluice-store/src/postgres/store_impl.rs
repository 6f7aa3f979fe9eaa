//! [`MetadataStore`] on PostgreSQL: the SQLite store's statements in PostgreSQL's dialect. Lists
//! ordered by name compare bytes (`COLLATE "C"`), as SQLite does, whatever the database's locale.

use async_trait::async_trait;
use sluice_types::ProcessorState;
use sqlx::postgres::{PgQueryResult, PgRow};

use super::{backend, PostgresStore};
use crate::model::*;
use crate::rows::{self, roles_to_text, Columns as _};
use crate::{MetadataStore, StoreError, StoreResult};

/// An UPDATE or DELETE that touched no row names a record that does not exist.
fn one_row(r: PgQueryResult) -> StoreResult<()> {
    if r.rows_affected() == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

fn all<T>(rows: Vec<PgRow>, f: impl Fn(&PgRow) -> StoreResult<T>) -> StoreResult<Vec<T>> {
    rows.iter().map(f).collect()
}

/// A query with its bound arguments.
pub(super) type Q<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;

impl PostgresStore {
    async fn fetch_one<'q>(&self, q: Q<'q>) -> StoreResult<PgRow> {
        q.fetch_optional(&self.pool).await.map_err(backend)?.ok_or(StoreError::NotFound)
    }

    async fn fetch_all<'q>(&self, q: Q<'q>) -> StoreResult<Vec<PgRow>> {
        q.fetch_all(&self.pool).await.map_err(backend)
    }

    async fn exec<'q>(&self, q: Q<'q>) -> StoreResult<PgQueryResult> {
        q.execute(&self.pool).await.map_err(backend)
    }

    /// `c` as stored: its secrets sealed.
    fn sealed(&self, c: &Connection) -> StoreResult<Connection> {
        let mut c = c.clone();
        if let Some(s) = &self.sealer {
            c.config = s.seal(&c.id, &c.config)?;
        }
        Ok(c)
    }

    /// `c` as read: its secrets opened.
    fn opened(&self, mut c: Connection) -> StoreResult<Connection> {
        if let Some(s) = &self.sealer {
            c.config = s.open(&c.id, &c.config)?;
        }
        Ok(c)
    }

    /// Checks that every stored secret opens, and seals those stored in clear.
    pub(super) async fn seal_clear_secrets(&self) -> StoreResult<()> {
        let rows = self.fetch_all(sqlx::query("SELECT * FROM connections")).await?;
        for row in &rows {
            let c = rows::connection(row)?;
            // A wrong key shows now, not when a processor first needs the connection.
            self.opened(c.clone())?;
            if crate::has_clear_secret(&c.config) {
                let sealed = self.sealed(&c)?;
                // Only if no other server changed it meanwhile (it would have sealed it).
                let q = sqlx::query("UPDATE connections SET config = $1 WHERE id = $2 AND config = $3")
                    .bind(sealed.config.to_string())
                    .bind(&c.id)
                    .bind(row.text("config")?);
                self.exec(q).await?;
            }
        }
        Ok(())
    }
}

const INSERT_CONNECTION: &str =
    "INSERT INTO connections (id, workspace_id, name, type, config, created_at) VALUES ($1, $2, $3, $4, $5, $6)";

fn insert_connection(c: &Connection) -> Q<'_> {
    sqlx::query(INSERT_CONNECTION)
        .bind(&c.id)
        .bind(&c.workspace_id)
        .bind(&c.name)
        .bind(c.ctype.as_str())
        .bind(c.config.to_string())
        .bind(c.created_at)
}

pub(super) fn insert_project(p: &Project) -> Q<'_> {
    sqlx::query("INSERT INTO projects (id, name, org_id, created_at) VALUES ($1, $2, $3, $4)")
        .bind(&p.id)
        .bind(&p.name)
        .bind(&p.org_id)
        .bind(p.created_at)
}

pub(super) fn insert_api_key(k: &ApiKey) -> Q<'_> {
    sqlx::query(
        "INSERT INTO api_keys (public_key, project_id, roles, ha1_md5, ha1_sha256, description, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&k.public_key)
    .bind(&k.project_id)
    .bind(roles_to_text(&k.roles))
    .bind(&k.ha1_md5)
    .bind(&k.ha1_sha256)
    .bind(&k.description)
    .bind(k.created_at)
}

pub(super) fn insert_scram_credential(c: &ScramCredential) -> Q<'_> {
    sqlx::query(
        "INSERT INTO api_key_scram (public_key, mechanism, salt, iterations, stored_key, server_key) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (public_key, mechanism) DO UPDATE SET salt = EXCLUDED.salt, \
         iterations = EXCLUDED.iterations, stored_key = EXCLUDED.stored_key, server_key = EXCLUDED.server_key",
    )
    .bind(&c.public_key)
    .bind(&c.mechanism)
    .bind(&c.salt)
    .bind(i64::from(c.iterations))
    .bind(&c.stored_key)
    .bind(&c.server_key)
}

#[async_trait]
impl MetadataStore for PostgresStore {
    async fn insert_project(&self, p: &Project) -> StoreResult<()> {
        self.exec(insert_project(p)).await.map(|_| ())
    }

    async fn project(&self, id: &str) -> StoreResult<Project> {
        rows::project(&self.fetch_one(sqlx::query("SELECT * FROM projects WHERE id = $1").bind(id)).await?)
    }

    async fn projects(&self) -> StoreResult<Vec<Project>> {
        all(
            self.fetch_all(sqlx::query("SELECT * FROM projects ORDER BY created_at, id COLLATE \"C\"")).await?,
            rows::project,
        )
    }

    async fn insert_api_key(&self, k: &ApiKey) -> StoreResult<()> {
        self.exec(insert_api_key(k)).await.map(|_| ())
    }

    async fn api_key(&self, public_key: &str) -> StoreResult<ApiKey> {
        rows::api_key(
            &self.fetch_one(sqlx::query("SELECT * FROM api_keys WHERE public_key = $1").bind(public_key)).await?,
        )
    }

    async fn insert_scram_credential(&self, c: &ScramCredential) -> StoreResult<()> {
        self.exec(insert_scram_credential(c)).await.map(|_| ())
    }

    async fn insert_first_project(&self, first: &FirstProject) -> StoreResult<bool> {
        self.insert_first(first).await
    }

    async fn scram_credential(&self, public_key: &str, mechanism: &str) -> StoreResult<ScramCredential> {
        let q = sqlx::query("SELECT * FROM api_key_scram WHERE public_key = $1 AND mechanism = $2")
            .bind(public_key)
            .bind(mechanism);
        rows::scram_credential(&self.fetch_one(q).await?)
    }

    async fn insert_service_account(&self, s: &ServiceAccount) -> StoreResult<()> {
        let q = sqlx::query(
            "INSERT INTO service_accounts (client_id, project_id, roles, secret_salt, secret_hash, description, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&s.client_id)
        .bind(&s.project_id)
        .bind(roles_to_text(&s.roles))
        .bind(&s.secret_salt)
        .bind(&s.secret_hash)
        .bind(&s.description)
        .bind(s.created_at);
        self.exec(q).await.map(|_| ())
    }

    async fn service_account(&self, client_id: &str) -> StoreResult<ServiceAccount> {
        let q = sqlx::query("SELECT * FROM service_accounts WHERE client_id = $1").bind(client_id);
        rows::service_account(&self.fetch_one(q).await?)
    }

    async fn insert_workspace(&self, w: &Workspace, connections: &[Connection]) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        sqlx::query(
            "INSERT INTO workspaces (id, group_id, name, cloud_provider, region, tier, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&w.id)
        .bind(&w.group_id)
        .bind(&w.name)
        .bind(&w.cloud_provider)
        .bind(&w.region)
        .bind(w.tier.as_str())
        .bind(w.created_at)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        for c in connections {
            let c = self.sealed(c)?;
            insert_connection(&c).execute(&mut *tx).await.map_err(backend)?;
        }
        tx.commit().await.map_err(backend)
    }

    async fn workspace(&self, group_id: &str, name: &str) -> StoreResult<Workspace> {
        let q = sqlx::query("SELECT * FROM workspaces WHERE group_id = $1 AND name = $2").bind(group_id).bind(name);
        rows::workspace(&self.fetch_one(q).await?)
    }

    async fn workspace_by_id(&self, id: &str) -> StoreResult<Workspace> {
        rows::workspace(&self.fetch_one(sqlx::query("SELECT * FROM workspaces WHERE id = $1").bind(id)).await?)
    }

    async fn workspaces(&self, group_id: &str) -> StoreResult<Vec<Workspace>> {
        let q = sqlx::query("SELECT * FROM workspaces WHERE group_id = $1 ORDER BY name COLLATE \"C\"").bind(group_id);
        all(self.fetch_all(q).await?, rows::workspace)
    }

    async fn update_workspace(&self, w: &Workspace) -> StoreResult<()> {
        let q =
            sqlx::query("UPDATE workspaces SET name = $1, cloud_provider = $2, region = $3, tier = $4 WHERE id = $5")
                .bind(&w.name)
                .bind(&w.cloud_provider)
                .bind(&w.region)
                .bind(w.tier.as_str())
                .bind(&w.id);
        one_row(self.exec(q).await?)
    }

    async fn delete_workspace(&self, id: &str) -> StoreResult<()> {
        one_row(self.exec(sqlx::query("DELETE FROM workspaces WHERE id = $1").bind(id)).await?)
    }

    async fn insert_connection(&self, c: &Connection) -> StoreResult<()> {
        let c = self.sealed(c)?;
        self.exec(insert_connection(&c)).await.map(|_| ())
    }

    async fn connection(&self, workspace_id: &str, name: &str) -> StoreResult<Connection> {
        let q = sqlx::query("SELECT * FROM connections WHERE workspace_id = $1 AND name = $2")
            .bind(workspace_id)
            .bind(name);
        self.opened(rows::connection(&self.fetch_one(q).await?)?)
    }

    async fn connections(&self, workspace_id: &str) -> StoreResult<Vec<Connection>> {
        let q = sqlx::query("SELECT * FROM connections WHERE workspace_id = $1 ORDER BY name COLLATE \"C\"")
            .bind(workspace_id);
        all(self.fetch_all(q).await?, |r| self.opened(rows::connection(r)?))
    }

    async fn update_connection(&self, c: &Connection) -> StoreResult<()> {
        let c = &self.sealed(c)?;
        let q = sqlx::query("UPDATE connections SET name = $1, type = $2, config = $3 WHERE id = $4")
            .bind(&c.name)
            .bind(c.ctype.as_str())
            .bind(c.config.to_string())
            .bind(&c.id);
        one_row(self.exec(q).await?)
    }

    async fn delete_connection(&self, id: &str) -> StoreResult<()> {
        one_row(self.exec(sqlx::query("DELETE FROM connections WHERE id = $1").bind(id)).await?)
    }

    async fn insert_processor(&self, p: &Processor) -> StoreResult<()> {
        let q = sqlx::query(
            "INSERT INTO processors (id, workspace_id, name, pipeline, options, tier, state, error_msg, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&p.id)
        .bind(&p.workspace_id)
        .bind(&p.name)
        .bind(p.pipeline.to_string())
        .bind(p.options.to_string())
        .bind(p.tier.map(|t| t.as_str()))
        .bind(p.state.as_str())
        .bind(&p.error_msg)
        .bind(p.created_at)
        .bind(p.updated_at);
        self.exec(q).await.map(|_| ())
    }

    async fn processor(&self, workspace_id: &str, name: &str) -> StoreResult<Processor> {
        let q =
            sqlx::query("SELECT * FROM processors WHERE workspace_id = $1 AND name = $2").bind(workspace_id).bind(name);
        rows::processor(&self.fetch_one(q).await?)
    }

    async fn processor_by_id(&self, id: &str) -> StoreResult<Processor> {
        rows::processor(&self.fetch_one(sqlx::query("SELECT * FROM processors WHERE id = $1").bind(id)).await?)
    }

    async fn processors(&self, workspace_id: &str) -> StoreResult<Vec<Processor>> {
        let q = sqlx::query("SELECT * FROM processors WHERE workspace_id = $1 ORDER BY name COLLATE \"C\"")
            .bind(workspace_id);
        all(self.fetch_all(q).await?, rows::processor)
    }

    async fn processors_in_state(&self, state: ProcessorState) -> StoreResult<Vec<Processor>> {
        let q = sqlx::query("SELECT * FROM processors WHERE state = $1 ORDER BY created_at, id COLLATE \"C\"")
            .bind(state.as_str());
        all(self.fetch_all(q).await?, rows::processor)
    }

    async fn update_processor(&self, p: &Processor) -> StoreResult<()> {
        let q = sqlx::query(
            "UPDATE processors SET name = $1, pipeline = $2, options = $3, tier = $4, state = $5, error_msg = $6, updated_at = $7 \
             WHERE id = $8",
        )
        .bind(&p.name)
        .bind(p.pipeline.to_string())
        .bind(p.options.to_string())
        .bind(p.tier.map(|t| t.as_str()))
        .bind(p.state.as_str())
        .bind(&p.error_msg)
        .bind(p.updated_at)
        .bind(&p.id);
        one_row(self.exec(q).await?)
    }

    async fn delete_processor(&self, id: &str) -> StoreResult<()> {
        one_row(self.exec(sqlx::query("DELETE FROM processors WHERE id = $1").bind(id)).await?)
    }

    async fn insert_network(&self, r: &NetworkResource) -> StoreResult<()> {
        let q = sqlx::query(
            "INSERT INTO network_resources (id, group_id, kind, body, state, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&r.id)
        .bind(&r.group_id)
        .bind(r.kind.as_str())
        .bind(r.body.to_string())
        .bind(&r.state)
        .bind(r.created_at);
        self.exec(q).await.map(|_| ())
    }

    async fn network(&self, group_id: &str, kind: NetworkKind, id: &str) -> StoreResult<NetworkResource> {
        let q = sqlx::query("SELECT * FROM network_resources WHERE group_id = $1 AND kind = $2 AND id = $3")
            .bind(group_id)
            .bind(kind.as_str())
            .bind(id);
        rows::network(&self.fetch_one(q).await?)
    }

    async fn networks(&self, group_id: &str, kind: NetworkKind) -> StoreResult<Vec<NetworkResource>> {
        let q = sqlx::query(
            "SELECT * FROM network_resources WHERE group_id = $1 AND kind = $2 ORDER BY created_at, id COLLATE \"C\"",
        )
        .bind(group_id)
        .bind(kind.as_str());
        all(self.fetch_all(q).await?, rows::network)
    }

    async fn update_network(&self, r: &NetworkResource) -> StoreResult<()> {
        let q = sqlx::query("UPDATE network_resources SET body = $1, state = $2 WHERE id = $3")
            .bind(r.body.to_string())
            .bind(&r.state)
            .bind(&r.id);
        one_row(self.exec(q).await?)
    }

    async fn delete_network(&self, id: &str) -> StoreResult<()> {
        one_row(self.exec(sqlx::query("DELETE FROM network_resources WHERE id = $1").bind(id)).await?)
    }

    async fn append_log(&self, e: &LogEvent) -> StoreResult<()> {
        let q = sqlx::query("INSERT INTO log_events (workspace_id, kind, at_ms, line) VALUES ($1, $2, $3, $4)")
            .bind(&e.workspace_id)
            .bind(e.kind.as_str())
            .bind(e.at_ms)
            .bind(&e.line);
        self.exec(q).await.map(|_| ())
    }

    async fn append_logs(&self, events: &[LogEvent]) -> StoreResult<()> {
        if events.is_empty() {
            return Ok(());
        }
        // One statement (atomic on its own, one round trip): the lines as arrays, inserted in
        // their order so that `seq` follows it.
        let q = sqlx::query(
            "INSERT INTO log_events (workspace_id, kind, at_ms, line) \
             SELECT w, k, a, l FROM UNNEST($1::TEXT[], $2::TEXT[], $3::BIGINT[], $4::TEXT[]) \
             WITH ORDINALITY AS t(w, k, a, l, n) ORDER BY n",
        )
        .bind(events.iter().map(|e| e.workspace_id.as_str()).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.at_ms).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.line.as_str()).collect::<Vec<_>>());
        self.exec(q).await.map(|_| ())
    }

    async fn logs(&self, workspace_id: &str, kind: LogKind, from_ms: i64, to_ms: i64) -> StoreResult<Vec<LogEvent>> {
        let q = sqlx::query(
            "SELECT * FROM log_events WHERE workspace_id = $1 AND kind = $2 AND at_ms >= $3 AND at_ms <= $4 ORDER BY seq",
        )
        .bind(workspace_id)
        .bind(kind.as_str())
        .bind(from_ms)
        .bind(to_ms);
        all(self.fetch_all(q).await?, |r| rows::log_event(r, kind))
    }
}
