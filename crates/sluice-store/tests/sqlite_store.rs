//! The SQLite store keeps what it is given, refuses duplicates, cascades deletes and survives a reopen.

use serde_json::json;
use sluice_store::*;
use sluice_types::{ConnectionType, ProcessorState, Role, Tier};

fn project() -> Project {
    Project {
        id: "aaaaaaaaaaaaaaaaaaaaaaaa".into(),
        name: "p".into(),
        org_id: "bbbbbbbbbbbbbbbbbbbbbbbb".into(),
        created_at: 1,
    }
}

fn workspace(name: &str, id: &str) -> Workspace {
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

fn sample(ws: &str) -> Connection {
    Connection {
        id: format!("{}c", &ws[..23]),
        workspace_id: ws.into(),
        name: "sample_stream_solar".into(),
        ctype: ConnectionType::Sample,
        config: json!({}),
        created_at: 3,
    }
}

fn processor(ws: &str, name: &str, id: &str) -> Processor {
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

#[tokio::test]
async fn records_round_trip_and_conflicts_are_refused() {
    let s = SqliteStore::open_in_memory().await.unwrap();
    s.insert_project(&project()).await.unwrap();
    let key = ApiKey {
        public_key: "pub".into(),
        project_id: project().id,
        roles: vec![Role::ProjectOwner, Role::ProjectReadOnly],
        ha1_md5: "m".into(),
        ha1_sha256: "s".into(),
        description: "d".into(),
        created_at: 1,
    };
    s.insert_api_key(&key).await.unwrap();
    assert_eq!(s.api_key("pub").await.unwrap(), key);
    assert_eq!(s.api_key("nope").await, Err(StoreError::NotFound));

    // SCRAM credentials per mechanism; a key without them (made before migration 2) has none.
    let scram = ScramCredential {
        public_key: "pub".into(),
        mechanism: "SCRAM-SHA-256".into(),
        salt: vec![1, 2, 3],
        iterations: 15_000,
        stored_key: vec![4; 32],
        server_key: vec![5; 32],
    };
    s.insert_scram_credential(&scram).await.unwrap();
    assert_eq!(s.scram_credential("pub", "SCRAM-SHA-256").await.unwrap(), scram);
    assert_eq!(s.scram_credential("pub", "SCRAM-SHA-1").await, Err(StoreError::NotFound));

    let w = workspace("w1", "111111111111111111111111");
    s.insert_workspace(&w, &[sample(&w.id)]).await.unwrap();
    assert_eq!(s.insert_workspace(&workspace("w1", "222222222222222222222222"), &[]).await, Err(StoreError::Conflict));
    assert_eq!(s.workspace(&w.group_id, "w1").await.unwrap(), w);
    assert_eq!(s.connections(&w.id).await.unwrap(), vec![sample(&w.id)]);

    let mut p = processor(&w.id, "p1", "333333333333333333333333");
    s.insert_processor(&p).await.unwrap();
    assert_eq!(
        s.insert_processor(&processor(&w.id, "p1", "444444444444444444444444")).await,
        Err(StoreError::Conflict)
    );
    p.state = ProcessorState::Started;
    p.tier = Some(Tier::SP30);
    s.update_processor(&p).await.unwrap();
    assert_eq!(s.processors_in_state(ProcessorState::Started).await.unwrap(), vec![p.clone()]);
    assert!(s.processors_in_state(ProcessorState::Created).await.unwrap().is_empty());

    // Deleting the workspace takes its connections and processors with it.
    s.delete_workspace(&w.id).await.unwrap();
    assert_eq!(s.processor_by_id(&p.id).await, Err(StoreError::NotFound));
    assert!(s.connections(&w.id).await.unwrap().is_empty());
    assert_eq!(s.delete_workspace(&w.id).await, Err(StoreError::NotFound));
}

#[tokio::test]
async fn a_reopened_file_has_everything() {
    let dir = std::env::temp_dir().join(format!("sluice-store-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("meta.db");
    let _ = std::fs::remove_file(&path);
    {
        let s = SqliteStore::open(&path).await.unwrap();
        s.insert_project(&project()).await.unwrap();
        let w = workspace("w", "555555555555555555555555");
        s.insert_workspace(&w, &[]).await.unwrap();
        s.append_log(&LogEvent { workspace_id: w.id.clone(), kind: LogKind::Audit, at_ms: 10, line: "x".into() })
            .await
            .unwrap();
    }
    let s = SqliteStore::open(&path).await.unwrap();
    assert_eq!(s.schema_version().await.unwrap(), 2);
    assert_eq!(s.projects().await.unwrap(), vec![project()]);
    assert_eq!(s.workspaces(&project().id).await.unwrap().len(), 1);
    assert_eq!(s.logs("555555555555555555555555", LogKind::Audit, 0, 100).await.unwrap().len(), 1);
    assert!(s.logs("555555555555555555555555", LogKind::Operational, 0, 100).await.unwrap().is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}
