//! Records the cases store.

use serde_json::json;
use sluice_store::*;
use sluice_types::{ConnectionType, ProcessorState, Role, Tier};

/// The project every case works in.
pub fn project() -> Project {
    Project {
        id: "aaaaaaaaaaaaaaaaaaaaaaaa".into(),
        name: "p".into(),
        org_id: "bbbbbbbbbbbbbbbbbbbbbbbb".into(),
        created_at: 1,
    }
}

/// A workspace of [`project`].
pub fn workspace(name: &str, id: &str) -> Workspace {
    Workspace {
        id: id.into(),
        group_id: project().id,
        name: name.into(),
        cloud_provider: "AWS".into(),
        region: "VIRGINIA_USA".into(),
        tier: Tier::SP10,
        created_at: 2,
    }
}

/// The solar sample connection of workspace `ws`.
pub fn sample(ws: &str) -> Connection {
    Connection {
        id: format!("{}c", &ws[..23]),
        workspace_id: ws.into(),
        name: "sample_stream_solar".into(),
        ctype: ConnectionType::Sample,
        config: json!({}),
        created_at: 3,
    }
}

/// A Kafka connection with a password (a secret the store seals).
pub fn kafka(ws: &str, id: &str, name: &str) -> Connection {
    Connection {
        id: id.into(),
        workspace_id: ws.into(),
        name: name.into(),
        ctype: ConnectionType::Kafka,
        config: json!({"bootstrapServers": "b:9092",
            "authentication": {"mechanism": "PLAIN", "username": "u", "password": "pw"}}),
        created_at: 4,
    }
}

/// A CREATED processor reading the sample stream.
pub fn processor(ws: &str, name: &str, id: &str) -> Processor {
    Processor {
        id: id.into(),
        workspace_id: ws.into(),
        name: name.into(),
        pipeline: json!([{"$source": {"connectionName": "sample_stream_solar"}}]),
        options: json!({}),
        tier: None,
        state: ProcessorState::Created,
        error_msg: None,
        created_at: 4,
        updated_at: 4,
    }
}

/// An API key of project `project_id`.
pub fn api_key(public: &str, project_id: &str) -> ApiKey {
    ApiKey {
        public_key: public.into(),
        project_id: project_id.into(),
        roles: vec![Role::ProjectOwner, Role::ProjectReadOnly],
        ha1_md5: "m".into(),
        ha1_sha256: "s".into(),
        description: "d".into(),
        created_at: 1,
    }
}

/// A SCRAM credential whose salt starts with `salt`.
pub fn scram(public: &str, mechanism: &str, salt: u8) -> ScramCredential {
    ScramCredential {
        public_key: public.into(),
        mechanism: mechanism.into(),
        salt: vec![salt, 2, 3],
        iterations: 15_000,
        stored_key: vec![4; 32],
        server_key: vec![5; 32],
    }
}

/// One log line.
pub fn log(ws: &str, kind: LogKind, at_ms: i64, line: &str) -> LogEvent {
    LogEvent { workspace_id: ws.into(), kind, at_ms, line: line.into() }
}

/// A first start's records, with ids made from `n`.
pub fn first_project(n: u8) -> FirstProject {
    let id = format!("{:024x}", n);
    let public = format!("firstkey{}", n);
    FirstProject {
        project: Project { id: id.clone(), name: "default".into(), org_id: "c".repeat(24), created_at: 1 },
        api_key: api_key(&public, &id),
        scram: vec![scram(&public, "SCRAM-SHA-256", n), scram(&public, "SCRAM-SHA-1", n)],
    }
}
