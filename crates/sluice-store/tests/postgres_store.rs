//! The PostgreSQL store against a real server (`SLUICE_TEST_POSTGRES`, started by
//! scripts/test-servers.sh): the store suite, each test in a fresh database of its own, and what
//! servers sharing one database rely on (migrations and the first project once, sealed secrets
//! every node opens, node heartbeats).

#[macro_use]
mod suite;

use std::sync::atomic::{AtomicU32, Ordering};

use serde_json::json;
use sluice_store::*;
use sqlx::Connection as _;
use suite::fixtures::{first_project, kafka, log, project, workspace};

/// The test server's URL.
fn server_url() -> String {
    std::env::var("SLUICE_TEST_POSTGRES")
        .expect("SLUICE_TEST_POSTGRES is not set: run the tests through scripts/test.sh, which starts PostgreSQL")
}

/// A new, empty database on the test server; its URL.
async fn fresh_database() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    let name = format!("sluice_store_{}_{}_{}", std::process::id(), nanos, N.fetch_add(1, Ordering::Relaxed));
    let url = server_url();
    let mut admin = sqlx::PgConnection::connect(&url).await.unwrap();
    sqlx::raw_sql(&format!("CREATE DATABASE {}", name)).execute(&mut admin).await.unwrap();
    admin.close().await.unwrap();
    let mut parsed = url::Url::parse(&url).unwrap();
    parsed.set_path(&name);
    parsed.to_string()
}

async fn fresh_store() -> PostgresStore {
    PostgresStore::open(&fresh_database().await).await.unwrap()
}

store_suite!(fresh_store().await);

#[tokio::test]
async fn another_store_on_the_database_sees_everything() {
    let url = fresh_database().await;
    let a = PostgresStore::open(&url).await.unwrap();
    a.insert_project(&project()).await.unwrap();
    let w = workspace("w", "555555555555555555555555");
    a.insert_workspace(&w, &[]).await.unwrap();
    a.append_logs(&[log(&w.id, LogKind::Audit, 1, "one"), log(&w.id, LogKind::Audit, 2, "two")]).await.unwrap();
    let b = PostgresStore::open(&url).await.unwrap();
    assert_eq!(b.schema_version().await.unwrap(), 3);
    assert_eq!(b.projects().await.unwrap(), vec![project()]);
    assert_eq!(b.workspace_by_id(&w.id).await.unwrap(), w);
    assert_eq!(b.logs(&w.id, LogKind::Audit, 0, 10).await.unwrap().len(), 2);
}

#[tokio::test]
async fn servers_opening_a_fresh_database_at_once_migrate_it_once() {
    let url = fresh_database().await;
    let opens = (0..4).map(|_| {
        let url = url.clone();
        tokio::spawn(async move { PostgresStore::open(&url).await })
    });
    for open in opens.collect::<Vec<_>>() {
        let store = open.await.unwrap().unwrap();
        assert_eq!(store.schema_version().await.unwrap(), 3);
    }
}

#[tokio::test]
async fn of_first_starts_at_once_exactly_one_adds_the_project() {
    let url = fresh_database().await;
    let store = PostgresStore::open(&url).await.unwrap();
    let starts = (0..6u8).map(|n| {
        let url = url.clone();
        tokio::spawn(async move {
            let s = PostgresStore::open(&url).await.unwrap();
            s.insert_first_project(&first_project(n)).await.unwrap()
        })
    });
    let mut added = 0;
    for start in starts.collect::<Vec<_>>() {
        added += usize::from(start.await.unwrap());
    }
    assert_eq!(added, 1);
    assert_eq!(store.projects().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_batch_of_log_lines_is_stored_whole_or_not_at_all() {
    let s = fresh_store().await;
    let ws = "555555555555555555555555";
    // PostgreSQL refuses a NUL in text: the whole batch with it fails, the lines before it too.
    let batch = [log(ws, LogKind::Operational, 1, "fine"), log(ws, LogKind::Operational, 2, "bad\0line")];
    assert!(s.append_logs(&batch).await.is_err());
    assert!(s.logs(ws, LogKind::Operational, 0, 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn connection_secrets_are_sealed_in_the_database_and_every_node_opens_them() {
    let url = fresh_database().await;
    let key = [9u8; 32];
    // A store without a sealer shows what the database holds.
    let raw = PostgresStore::open(&url).await.unwrap();
    raw.insert_project(&project()).await.unwrap();
    let ws = "666666666666666666666666";
    raw.insert_workspace(&workspace("w", ws), &[]).await.unwrap();
    let mut clear = kafka(ws, "77777777777777777777777a", "clear");
    clear.config["authentication"]["password"] = json!("written-before-sealing");
    raw.insert_connection(&clear).await.unwrap();

    let a = PostgresStore::open(&url).await.unwrap().sealed_with(Sealer::new(&key).unwrap()).await.unwrap();
    let mut sealed = kafka(ws, "77777777777777777777777b", "sealed");
    sealed.config["authentication"]["password"] = json!("hunter2-secret");
    a.insert_connection(&sealed).await.unwrap();

    let b = PostgresStore::open(&url).await.unwrap().sealed_with(Sealer::new(&key).unwrap()).await.unwrap();
    assert_eq!(b.connection(ws, "sealed").await.unwrap(), sealed, "another node with the key opens it");
    assert_eq!(b.connection(ws, "clear").await.unwrap(), clear, "sealed on open, and still readable");
    let stored = serde_json::to_string(&json!(raw
        .connections(ws)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.config)
        .collect::<Vec<_>>()))
    .unwrap();
    for secret in ["hunter2-secret", "written-before-sealing"] {
        assert!(!stored.contains(secret), "{} is in the database in clear: {}", secret, stored);
    }
    assert!(stored.contains("$sealed") && stored.contains("bootstrapServers"), "{}", stored);
    let wrong = PostgresStore::open(&url).await.unwrap().sealed_with(Sealer::new(&[1u8; 32]).unwrap()).await;
    assert!(wrong.is_err(), "a node with another key refuses to start");
}

#[tokio::test]
async fn nodes_record_their_start_and_heartbeats() {
    let s = fresh_store().await;
    s.node_started("b", "127.0.0.1:2").await.unwrap();
    s.node_started("a", "127.0.0.1:1").await.unwrap();
    let before = s.nodes().await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    s.node_heartbeat("a").await.unwrap();
    assert_eq!(s.node_heartbeat("nobody").await, Err(StoreError::NotFound));
    let nodes = s.nodes().await.unwrap();
    assert_eq!(nodes.iter().map(|n| n.id.as_str()).collect::<Vec<_>>(), ["a", "b"]);
    assert!(nodes[0].last_heartbeat > before[0].last_heartbeat, "{:?} then {:?}", before, nodes);
    assert_eq!(nodes[1], before[1], "b did not beat");
    s.node_draining("a").await.unwrap();
    assert!(s.nodes().await.unwrap()[0].draining);
    // A restart replaces its row and ends its draining.
    s.node_started("a", "127.0.0.1:3").await.unwrap();
    let a = &s.nodes().await.unwrap()[0];
    assert_eq!((a.address.as_str(), a.draining), ("127.0.0.1:3", false));
}

#[path = "postgres_store/leases.rs"]
mod leases;
