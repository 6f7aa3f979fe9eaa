//! Sluice's metadata store: projects, credentials, workspaces, connections, processors and logs,
//! behind the [`MetadataStore`] trait. [`SqliteStore`] is the embedded default; [`PostgresStore`]
//! keeps the same records in a PostgreSQL database that several nodes share.

mod checkpoints;
mod coordination;
mod model;
mod object_checkpoints;
mod postgres;
mod rows;
mod sealing;
mod sql_error;
mod sqlite;

use async_trait::async_trait;

pub use checkpoints::{CheckpointStore, FsCheckpointStore};
pub use object_checkpoints::ObjectCheckpointStore;

pub use coordination::{ClusterView, Coordination, HeldLease, LeaseHolder, Node, Orphan, PlacedProcessor};
pub use model::{
    ApiKey, Connection, FirstProject, LogEvent, LogKind, NetworkKind, NetworkResource, Processor, Project,
    ScramCredential, ServiceAccount, Workspace,
};
pub use postgres::PostgresStore;
pub use sealing::{has_clear_secret, Sealer};
use sluice_types::ProcessorState;
pub use sqlite::SqliteStore;

/// Why a store operation failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StoreError {
    /// No such record.
    #[error("not found")]
    NotFound,
    /// A record with that name already exists.
    #[error("already exists")]
    Conflict,
    /// The backend failed (I/O, corruption): not the caller's fault.
    #[error("store failure: {0}")]
    Backend(String),
}

/// Result of a store call.
pub type StoreResult<T> = Result<T, StoreError>;

/// Everything the server keeps about its objects. Names are unique within their parent;
/// inserting a duplicate gives [`StoreError::Conflict`].
#[async_trait]
pub trait MetadataStore: Send + Sync {
    /// Adds a project.
    async fn insert_project(&self, p: &Project) -> StoreResult<()>;
    /// One project by id.
    async fn project(&self, id: &str) -> StoreResult<Project>;
    /// Every project.
    async fn projects(&self) -> StoreResult<Vec<Project>>;

    /// Adds an API key.
    async fn insert_api_key(&self, k: &ApiKey) -> StoreResult<()>;
    /// One API key by public key.
    async fn api_key(&self, public_key: &str) -> StoreResult<ApiKey>;
    /// Adds (or replaces) the SCRAM credential of an API key for one mechanism.
    async fn insert_scram_credential(&self, c: &ScramCredential) -> StoreResult<()>;
    /// The SCRAM credential of an API key for a mechanism; [`StoreError::NotFound`] for a key
    /// created before the store kept them.
    async fn scram_credential(&self, public_key: &str, mechanism: &str) -> StoreResult<ScramCredential>;
    /// Adds the first project with its owner's key, atomically, unless a project exists already;
    /// whether this call added it. Of several callers at once (servers sharing one store) exactly
    /// one gets `true`, and the others find everything in place.
    async fn insert_first_project(&self, first: &FirstProject) -> StoreResult<bool>;
    /// Adds a service account.
    async fn insert_service_account(&self, s: &ServiceAccount) -> StoreResult<()>;
    /// One service account by client id.
    async fn service_account(&self, client_id: &str) -> StoreResult<ServiceAccount>;

    /// Adds a workspace with its initial connections, atomically.
    async fn insert_workspace(&self, w: &Workspace, connections: &[Connection]) -> StoreResult<()>;
    /// One workspace by project and name.
    async fn workspace(&self, group_id: &str, name: &str) -> StoreResult<Workspace>;
    /// One workspace by id.
    async fn workspace_by_id(&self, id: &str) -> StoreResult<Workspace>;
    /// The workspaces of a project, by name.
    async fn workspaces(&self, group_id: &str) -> StoreResult<Vec<Workspace>>;
    /// Replaces a workspace's fields (by id).
    async fn update_workspace(&self, w: &Workspace) -> StoreResult<()>;
    /// Deletes a workspace with its connections and processors.
    async fn delete_workspace(&self, id: &str) -> StoreResult<()>;

    /// Adds a connection.
    async fn insert_connection(&self, c: &Connection) -> StoreResult<()>;
    /// One connection by workspace and name.
    async fn connection(&self, workspace_id: &str, name: &str) -> StoreResult<Connection>;
    /// The connections of a workspace, by name.
    async fn connections(&self, workspace_id: &str) -> StoreResult<Vec<Connection>>;
    /// Replaces a connection's fields (by id).
    async fn update_connection(&self, c: &Connection) -> StoreResult<()>;
    /// Deletes a connection.
    async fn delete_connection(&self, id: &str) -> StoreResult<()>;

    /// Adds a processor.
    async fn insert_processor(&self, p: &Processor) -> StoreResult<()>;
    /// One processor by workspace and name.
    async fn processor(&self, workspace_id: &str, name: &str) -> StoreResult<Processor>;
    /// One processor by id.
    async fn processor_by_id(&self, id: &str) -> StoreResult<Processor>;
    /// The processors of a workspace, by name.
    async fn processors(&self, workspace_id: &str) -> StoreResult<Vec<Processor>>;
    /// Every processor in a state, across all workspaces (restart recovery).
    async fn processors_in_state(&self, state: ProcessorState) -> StoreResult<Vec<Processor>>;
    /// Replaces a processor's fields (by id).
    async fn update_processor(&self, p: &Processor) -> StoreResult<()>;
    /// Deletes a processor.
    async fn delete_processor(&self, id: &str) -> StoreResult<()>;

    /// Adds a network resource.
    async fn insert_network(&self, r: &NetworkResource) -> StoreResult<()>;
    /// One network resource of a project.
    async fn network(&self, group_id: &str, kind: NetworkKind, id: &str) -> StoreResult<NetworkResource>;
    /// The network resources of a project of one kind.
    async fn networks(&self, group_id: &str, kind: NetworkKind) -> StoreResult<Vec<NetworkResource>>;
    /// Replaces a network resource's fields (by id).
    async fn update_network(&self, r: &NetworkResource) -> StoreResult<()>;
    /// Deletes a network resource.
    async fn delete_network(&self, id: &str) -> StoreResult<()>;

    /// Appends a log line.
    async fn append_log(&self, e: &LogEvent) -> StoreResult<()>;
    /// Appends log lines in order, all or none: one durable write for many lines.
    async fn append_logs(&self, events: &[LogEvent]) -> StoreResult<()>;
    /// The lines of one log of a workspace in `[from_ms, to_ms]`, oldest first.
    async fn logs(&self, workspace_id: &str, kind: LogKind, from_ms: i64, to_ms: i64) -> StoreResult<Vec<LogEvent>>;
}
