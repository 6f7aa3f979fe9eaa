//! The SQLite store passes the store suite, survives a reopen and seals connection secrets on disk.

#[macro_use]
mod suite;

use serde_json::json;
use sluice_store::*;
use sluice_types::ConnectionType;
use suite::fixtures::{project, workspace};

store_suite!(SqliteStore::open_in_memory().await.unwrap());

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
