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
