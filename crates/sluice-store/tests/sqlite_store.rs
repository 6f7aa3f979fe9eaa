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
        let many: Vec<LogEvent> = (0..3)
            .map(|i| LogEvent {
                workspace_id: w.id.clone(),
                kind: LogKind::Operational,
                at_ms: 20 + i,
                line: format!("line {}", i),
            })
            .collect();
        s.append_logs(&many).await.unwrap();
    }
    let s = SqliteStore::open(&path).await.unwrap();
    assert_eq!(s.schema_version().await.unwrap(), 2);
    assert_eq!(s.projects().await.unwrap(), vec![project()]);
    assert_eq!(s.workspaces(&project().id).await.unwrap().len(), 1);
    assert_eq!(s.logs("555555555555555555555555", LogKind::Audit, 0, 100).await.unwrap().len(), 1);
    let lines: Vec<String> = s
        .logs("555555555555555555555555", LogKind::Operational, 0, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.line)
        .collect();
    assert_eq!(lines, ["line 0", "line 1", "line 2"], "lines appended together are stored in order");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Every byte of the database's files, for a search of what is written in clear.
fn db_bytes(path: &std::path::Path) -> Vec<u8> {
    let mut all = Vec::new();
    for suffix in ["", "-wal", "-shm"] {
        all.extend(std::fs::read(format!("{}{}", path.display(), suffix)).unwrap_or_default());
    }
    all
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn connection_secrets_are_sealed_on_disk_and_clear_ones_are_sealed_on_open() {
    let dir = std::env::temp_dir().join(format!("sluice-store-sealed-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("meta.db");
    let kafka = |id: &str, name: &str, password: &str| Connection {
        id: id.into(),
        workspace_id: "666666666666666666666666".into(),
        name: name.into(),
        ctype: ConnectionType::Kafka,
        config: json!({"bootstrapServers": "b:9092",
            "authentication": {"mechanism": "PLAIN", "username": "u", "password": password}}),
        created_at: 4,
    };
    let old = kafka("77777777777777777777777a", "old", "written-before-sealing");
    {
        // An older version stored a secret in clear.
        let s = SqliteStore::open(&path).await.unwrap();
        s.insert_project(&project()).await.unwrap();
        s.insert_workspace(&workspace("w", "666666666666666666666666"), &[]).await.unwrap();
        s.insert_connection(&old).await.unwrap();
    }
    let key = [9u8; 32];
    let s = SqliteStore::open(&path).await.unwrap().sealed_with(Sealer::new(&key).unwrap()).await.unwrap();
    let new = kafka("77777777777777777777777b", "new", "hunter2-secret");
    s.insert_connection(&new).await.unwrap();
    let mut updated = new.clone();
    updated.config["authentication"]["password"] = json!("rotated-secret");
    s.update_connection(&updated).await.unwrap();
    // Read back in clear through the store ...
    assert_eq!(s.connection("666666666666666666666666", "old").await.unwrap(), old);
    assert_eq!(s.connection("666666666666666666666666", "new").await.unwrap(), updated);
    assert_eq!(s.connections("666666666666666666666666").await.unwrap().len(), 2);
    drop(s);
    // ... and nowhere in the files, the old one included once its pages are rewritten.
    let reopened = SqliteStore::open(&path).await.unwrap();
    sqlx_vacuum(&path).await;
    drop(reopened);
    let bytes = db_bytes(&path);
    for secret in ["hunter2-secret", "rotated-secret", "written-before-sealing"] {
        assert!(!contains(&bytes, secret), "{} is on disk in clear", secret);
    }
    assert!(contains(&bytes, "bootstrapServers"), "the rest is stored as it was");
    // Another key does not open the secrets: the store says so when it is opened.
    let wrong = SqliteStore::open(&path).await.unwrap().sealed_with(Sealer::new(&[1u8; 32]).unwrap()).await;
    assert!(wrong.is_err());
    let _ = std::fs::remove_dir_all(&dir);
}

/// Rewrites the database file so that freed pages (which may hold old values) are gone.
async fn sqlx_vacuum(path: &std::path::Path) {
    let s = SqliteStore::open(path).await.unwrap();
    s.vacuum().await.unwrap();
}
