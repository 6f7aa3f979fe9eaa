//! From SQL rows (SQLite or PostgreSQL: both keep the same columns) to model records. A stored
//! value that no longer parses is a backend error.

use serde_json::Value as Json;
use sluice_types::{ConnectionType, ProcessorState, Role, Tier};
use sqlx::Row;

use crate::model::*;
use crate::sql_error::backend;
use crate::{StoreError, StoreResult};

/// The column types the stores use, read the same way from either backend's rows.
pub(crate) trait Columns {
    /// A TEXT column.
    fn text(&self, col: &str) -> StoreResult<String>;
    /// A TEXT column that may be NULL.
    fn opt_text(&self, col: &str) -> StoreResult<Option<String>>;
    /// An integer column (INTEGER in SQLite, BIGINT in PostgreSQL).
    fn int(&self, col: &str) -> StoreResult<i64>;
    /// A byte column (BLOB in SQLite, BYTEA in PostgreSQL).
    fn blob(&self, col: &str) -> StoreResult<Vec<u8>>;
}

macro_rules! columns_for {
    ($row:ty) => {
        impl Columns for $row {
            fn text(&self, col: &str) -> StoreResult<String> {
                self.try_get::<String, _>(col).map_err(backend)
            }
            fn opt_text(&self, col: &str) -> StoreResult<Option<String>> {
                self.try_get::<Option<String>, _>(col).map_err(backend)
            }
            fn int(&self, col: &str) -> StoreResult<i64> {
                self.try_get::<i64, _>(col).map_err(backend)
            }
            fn blob(&self, col: &str) -> StoreResult<Vec<u8>> {
                self.try_get::<Vec<u8>, _>(col).map_err(backend)
            }
        }
    };
}

columns_for!(sqlx::sqlite::SqliteRow);
columns_for!(sqlx::postgres::PgRow);

fn corrupt(what: &str, v: &str) -> StoreError {
    StoreError::Backend(format!("stored {} '{}' does not parse", what, v))
}

fn text(r: &impl Columns, col: &str) -> StoreResult<String> {
    r.text(col)
}

fn int(r: &impl Columns, col: &str) -> StoreResult<i64> {
    r.int(col)
}

fn json(r: &impl Columns, col: &str) -> StoreResult<Json> {
    let s = text(r, col)?;
    serde_json::from_str(&s).map_err(|_| corrupt(col, &s))
}

/// Roles are stored as a comma-separated list of Atlas names.
pub(crate) fn roles_to_text(roles: &[Role]) -> String {
    roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(",")
}

fn roles(r: &impl Columns) -> StoreResult<Vec<Role>> {
    let s = text(r, "roles")?;
    s.split(',').filter(|x| !x.is_empty()).map(|x| Role::parse(x).ok_or_else(|| corrupt("role", x))).collect()
}

fn tier(s: &str) -> StoreResult<Tier> {
    Tier::parse(s).ok_or_else(|| corrupt("tier", s))
}

pub(crate) fn project(r: &impl Columns) -> StoreResult<Project> {
    Ok(Project {
        id: text(r, "id")?,
        name: text(r, "name")?,
        org_id: text(r, "org_id")?,
        created_at: int(r, "created_at")?,
    })
}

pub(crate) fn api_key(r: &impl Columns) -> StoreResult<ApiKey> {
    Ok(ApiKey {
        public_key: text(r, "public_key")?,
        project_id: text(r, "project_id")?,
        roles: roles(r)?,
        ha1_md5: text(r, "ha1_md5")?,
        ha1_sha256: text(r, "ha1_sha256")?,
        description: text(r, "description")?,
        created_at: int(r, "created_at")?,
    })
}

fn blob(r: &impl Columns, col: &str) -> StoreResult<Vec<u8>> {
    r.blob(col)
}

pub(crate) fn scram_credential(r: &impl Columns) -> StoreResult<ScramCredential> {
    let iterations = int(r, "iterations")?;
    Ok(ScramCredential {
        public_key: text(r, "public_key")?,
        mechanism: text(r, "mechanism")?,
        salt: blob(r, "salt")?,
        iterations: u32::try_from(iterations).map_err(|_| corrupt("iterations", &iterations.to_string()))?,
        stored_key: blob(r, "stored_key")?,
        server_key: blob(r, "server_key")?,
    })
}

pub(crate) fn service_account(r: &impl Columns) -> StoreResult<ServiceAccount> {
    Ok(ServiceAccount {
        client_id: text(r, "client_id")?,
        project_id: text(r, "project_id")?,
        roles: roles(r)?,
        secret_salt: text(r, "secret_salt")?,
        secret_hash: text(r, "secret_hash")?,
        description: text(r, "description")?,
        created_at: int(r, "created_at")?,
    })
}

pub(crate) fn workspace(r: &impl Columns) -> StoreResult<Workspace> {
    Ok(Workspace {
        id: text(r, "id")?,
        group_id: text(r, "group_id")?,
        name: text(r, "name")?,
        cloud_provider: text(r, "cloud_provider")?,
        region: text(r, "region")?,
        tier: tier(&text(r, "tier")?)?,
        created_at: int(r, "created_at")?,
    })
}

pub(crate) fn connection(r: &impl Columns) -> StoreResult<Connection> {
    let t = text(r, "type")?;
    Ok(Connection {
        id: text(r, "id")?,
        workspace_id: text(r, "workspace_id")?,
        name: text(r, "name")?,
        ctype: ConnectionType::parse(&t).ok_or_else(|| corrupt("connection type", &t))?,
        config: json(r, "config")?,
        created_at: int(r, "created_at")?,
    })
}

pub(crate) fn processor(r: &impl Columns) -> StoreResult<Processor> {
    let state = text(r, "state")?;
    let tier_text = r.opt_text("tier")?;
    Ok(Processor {
        id: text(r, "id")?,
        workspace_id: text(r, "workspace_id")?,
        name: text(r, "name")?,
        pipeline: json(r, "pipeline")?,
        options: json(r, "options")?,
        tier: tier_text.as_deref().map(tier).transpose()?,
        state: ProcessorState::parse(&state).ok_or_else(|| corrupt("state", &state))?,
        error_msg: r.opt_text("error_msg")?,
        created_at: int(r, "created_at")?,
        updated_at: int(r, "updated_at")?,
    })
}

pub(crate) fn network(r: &impl Columns) -> StoreResult<NetworkResource> {
    let kind = text(r, "kind")?;
    Ok(NetworkResource {
        id: text(r, "id")?,
        group_id: text(r, "group_id")?,
        kind: match kind.as_str() {
            "privateLink" => NetworkKind::PrivateLink,
            "vpcPeering" => NetworkKind::VpcPeering,
            "failover" => NetworkKind::Failover,
            _ => return Err(corrupt("network kind", &kind)),
        },
        body: json(r, "body")?,
        state: text(r, "state")?,
        created_at: int(r, "created_at")?,
    })
}

pub(crate) fn log_event(r: &impl Columns, kind: LogKind) -> StoreResult<LogEvent> {
    Ok(LogEvent { workspace_id: text(r, "workspace_id")?, kind, at_ms: int(r, "at_ms")?, line: text(r, "line")? })
}
