//! The records the store keeps. Plain data: the API shapes them into Atlas responses.

use serde_json::Value as Json;
use sluice_types::{ConnectionType, ProcessorState, Role, Tier};

/// A project (Atlas "group"): the unit of ownership and of roles.
#[derive(Debug, Clone, PartialEq)]
pub struct Project {
    /// 24 hex digits.
    pub id: String,
    /// Unique name.
    pub name: String,
    /// The organization it belongs to (24 hex digits).
    pub org_id: String,
    /// Milliseconds since the epoch.
    pub created_at: i64,
}

/// An API key: Digest credentials for one project. The private key itself is never stored.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiKey {
    /// The public key (the Digest user name).
    pub public_key: String,
    /// The project the key belongs to.
    pub project_id: String,
    /// Its roles in that project.
    pub roles: Vec<Role>,
    /// Hex MD5 of `public:realm:private`.
    pub ha1_md5: String,
    /// Hex SHA-256 of `public:realm:private`.
    pub ha1_sha256: String,
    /// Free text.
    pub description: String,
    /// Milliseconds since the epoch.
    pub created_at: i64,
}

/// The SCRAM credentials of an API key for one mechanism (the MongoDB wire protocol's
/// authentication): what RFC 5802 lets a server keep instead of the password.
#[derive(Debug, Clone, PartialEq)]
pub struct ScramCredential {
    /// The API key's public key (the SCRAM user name).
    pub public_key: String,
    /// `SCRAM-SHA-256` or `SCRAM-SHA-1`.
    pub mechanism: String,
    /// The salt.
    pub salt: Vec<u8>,
    /// The PBKDF2 iteration count.
    pub iterations: u32,
    /// `H(HMAC(SaltedPassword, "Client Key"))`.
    pub stored_key: Vec<u8>,
    /// `HMAC(SaltedPassword, "Server Key")`.
    pub server_key: Vec<u8>,
}

/// What the first start of a server creates on an empty store: a project and its owner's API
/// key (with the key's SCRAM credentials), stored together or not at all.
#[derive(Debug, Clone, PartialEq)]
pub struct FirstProject {
    /// The project.
    pub project: Project,
    /// Its Project Owner key.
    pub api_key: ApiKey,
    /// The key's SCRAM credentials, one per mechanism.
    pub scram: Vec<ScramCredential>,
}

/// A service account: OAuth 2 client credentials for one project.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceAccount {
    /// The client id.
    pub client_id: String,
    /// The project it belongs to.
    pub project_id: String,
    /// Its roles in that project.
    pub roles: Vec<Role>,
    /// Random salt (hex) of the secret hash.
    pub secret_salt: String,
    /// Hex SHA-256 of salt + secret.
    pub secret_hash: String,
    /// Free text.
    pub description: String,
    /// Milliseconds since the epoch.
    pub created_at: i64,
}

/// A stream workspace (Atlas "stream instance", "tenant").
#[derive(Debug, Clone, PartialEq)]
pub struct Workspace {
    /// 24 hex digits.
    pub id: String,
    /// The project.
    pub group_id: String,
    /// Unique within the project.
    pub name: String,
    /// `dataProcessRegion.cloudProvider`.
    pub cloud_provider: String,
    /// `dataProcessRegion.region`.
    pub region: String,
    /// `streamConfig.tier`: the default tier of its processors.
    pub tier: Tier,
    /// Milliseconds since the epoch.
    pub created_at: i64,
}

/// A connection of a workspace's registry.
#[derive(Debug, Clone, PartialEq)]
pub struct Connection {
    /// 24 hex digits.
    pub id: String,
    /// The workspace.
    pub workspace_id: String,
    /// Unique within the workspace.
    pub name: String,
    /// The type.
    pub ctype: ConnectionType,
    /// The type-specific fields as sent, secrets included (the API never returns those).
    pub config: Json,
    /// Milliseconds since the epoch.
    pub created_at: i64,
}

/// A stream processor and its lifecycle state.
#[derive(Debug, Clone, PartialEq)]
pub struct Processor {
    /// 24 hex digits.
    pub id: String,
    /// The workspace.
    pub workspace_id: String,
    /// Unique within the workspace.
    pub name: String,
    /// The pipeline: a JSON array of stages (Extended JSON kept as sent).
    pub pipeline: Json,
    /// `options` (`dlq`, ...), an object.
    pub options: Json,
    /// The tier it runs on, when chosen (`:startWith`), else the workspace's.
    pub tier: Option<Tier>,
    /// The lifecycle state.
    pub state: ProcessorState,
    /// Why it FAILED.
    pub error_msg: Option<String>,
    /// Milliseconds since the epoch.
    pub created_at: i64,
    /// Milliseconds since the epoch.
    pub updated_at: i64,
}

/// Which kind of network resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkKind {
    /// A Private Link connection.
    PrivateLink,
    /// An incoming VPC peering connection.
    VpcPeering,
    /// A failover connection of a connection (its body names the connection).
    Failover,
}

impl NetworkKind {
    /// Its stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            NetworkKind::PrivateLink => "privateLink",
            NetworkKind::VpcPeering => "vpcPeering",
            NetworkKind::Failover => "failover",
        }
    }
}

/// A Private Link or VPC peering record.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkResource {
    /// 24 hex digits.
    pub id: String,
    /// The project.
    pub group_id: String,
    /// Which kind.
    pub kind: NetworkKind,
    /// The fields as declared.
    pub body: Json,
    /// Its state (`PENDING`, `DONE`, `DELETING`, ... as the contract names them per kind).
    pub state: String,
    /// Milliseconds since the epoch.
    pub created_at: i64,
}

/// Which log a line belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogKind {
    /// Who changed what (API calls that change state).
    Audit,
    /// What processors did (started, stopped, failed).
    Operational,
}

impl LogKind {
    /// Its stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            LogKind::Audit => "audit",
            LogKind::Operational => "operational",
        }
    }
}

/// One log line of a workspace.
#[derive(Debug, Clone, PartialEq)]
pub struct LogEvent {
    /// The workspace.
    pub workspace_id: String,
    /// Which log.
    pub kind: LogKind,
    /// Milliseconds since the epoch.
    pub at_ms: i64,
    /// One JSON line (no secrets, no event contents).
    pub line: String,
}
