//! The real MongoDB-wire server the tests talk to (started by `scripts/test-servers.sh`).

#![allow(dead_code)]

use mongodb::bson::{doc, Document as BsonDoc};
use sluice_connectors::mongodb::{from_driver, to_driver};
use sluice_mql::json::parse_document;
use sluice_mql::Document;

/// The shared test server's URI.
pub fn uri() -> String {
    std::env::var("SLUICE_TEST_MONGODB")
        .expect("SLUICE_TEST_MONGODB is not set: run the tests through scripts/test.sh, which starts the test server")
}

/// A client of the test server.
pub fn client() -> mongodb::sync::Client {
    mongodb::sync::Client::with_uri_str(uri()).expect("client")
}

/// A database name no other test uses.
pub fn unique_db(prefix: &str) -> String {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{}_{}_{}", prefix, std::process::id(), n)
}

/// Inserts Extended JSON documents.
pub fn insert(db: &str, coll: &str, docs: &[&str]) {
    let docs: Vec<BsonDoc> = docs.iter().map(|d| to_driver(&parse_document(d).unwrap()).unwrap()).collect();
    client().database(db).collection::<BsonDoc>(coll).insert_many(docs).run().expect("insert");
}

/// Every document of a collection, sorted by `_id`.
pub fn all(db: &str, coll: &str) -> Vec<Document> {
    let cursor =
        client().database(db).collection::<BsonDoc>(coll).find(doc! {}).sort(doc! {"_id": 1}).run().expect("find");
    cursor.map(|d| from_driver(&d.expect("document")).unwrap()).collect()
}

/// A MongoDB-wire server of a test's own, on disk, to stop and start again with its data.
pub struct OwnServer {
    child: Option<std::process::Child>,
    dir: std::path::PathBuf,
    port: u16,
}

impl OwnServer {
    /// Starts a server on a free port with a fresh data directory and waits until it answers.
    pub fn start() -> OwnServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("free port").local_addr().unwrap().port();
        let dir = std::env::temp_dir().join(format!("sluice-own-mongo-{}-{}", std::process::id(), port));
        let _ = std::fs::remove_dir_all(&dir);
        let mut s = OwnServer { child: None, dir, port };
        s.restart();
        s
    }

    /// Its URI, with short server selection so that outages show quickly.
    pub fn uri(&self) -> String {
        format!("mongodb://127.0.0.1:{}/?replicaSet=secantus&serverSelectionTimeoutMS=1000", self.port)
    }

    /// Starts it (again) on its port and data directory.
    pub fn restart(&mut self) {
        let bin = std::env::var("SLUICE_SECANTUSD_BIN")
            .expect("SLUICE_SECANTUSD_BIN is not set: run the tests through scripts/test.sh");
        let child = std::process::Command::new(bin)
            .args(["--host", "127.0.0.1", "--port", &self.port.to_string()])
            .arg("--storage-path")
            .arg(&self.dir)
            // Without it the server acknowledges writes it may lose when killed.
            .arg("--sync-on-commit")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("secantusd starts");
        self.child = Some(child);
        let start = std::time::Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(start.elapsed() < std::time::Duration::from_secs(30), "server on {} did not answer", self.port);
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    /// Stops it (SIGKILL: an outage, not a shutdown).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
