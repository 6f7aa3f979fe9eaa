//! The newest documents of a collection (a processor's DLQ collection, for the API and the
//! console to show its last dead letters).

use mongodb::bson::{doc, Document as BsonDoc};
use sluice_mql::Document;

use super::{from_driver, MongoConnection};

/// Reads at most this many documents, whatever is asked.
const MAX: usize = 1000;

/// The newest `n` documents of `db.coll` (by `_id`: dead letters get ObjectIds, which grow with
/// time), oldest first.
pub fn newest_documents(conn: &MongoConnection, db: &str, coll: &str, n: usize) -> Result<Vec<Document>, String> {
    let client = conn.client()?;
    let cursor = client
        .database(db)
        .collection::<BsonDoc>(coll)
        .find(doc! {})
        .sort(doc! {"_id": -1})
        .limit(n.min(MAX) as i64)
        .run()
        .map_err(|e| format!("connection {}: cannot read {}.{}: {}", conn.name, db, coll, e.kind))?;
    let mut docs = Vec::new();
    for d in cursor {
        let d = d.map_err(|e| format!("connection {}: cannot read {}.{}: {}", conn.name, db, coll, e.kind))?;
        docs.push(from_driver(&d)?);
    }
    docs.reverse();
    Ok(docs)
}
