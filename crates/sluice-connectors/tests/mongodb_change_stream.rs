//! `$source` on a change stream of a real MongoDB-wire server: scopes, fullDocument options,
//! resume tokens as checkpoint positions, and starting at an operation time.

mod support;

use std::time::{Duration, Instant};

use mongodb::bson::{doc, Document as BsonDoc};
use sluice_connectors::mongodb::{ChangeStreamOptions, ChangeStreamSource, MongoConnection};
use sluice_engine::{ResetTo, Source, SourceRecord};
use sluice_mql::json::parse_document;
use sluice_mql::{Document, Value};
use support::mongodb::{client, insert, unique_db, uri};

fn source(options: &str) -> ChangeStreamSource {
    let opts = ChangeStreamOptions::parse(&parse_document(options).unwrap()).expect("valid $source");
    ChangeStreamSource::open(&MongoConnection::new("m", &uri()), opts).expect("source opens")
}

/// Polls until `n` records came or 10 s passed; then polls a little longer to catch extras.
fn read(src: &mut ChangeStreamSource, n: usize) -> Vec<SourceRecord> {
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while out.len() < n && Instant::now() < deadline {
        src.poll(100, &mut out).expect("poll");
    }
    for _ in 0..2 {
        src.poll(100, &mut out).expect("poll");
    }
    out
}

fn docs(records: &[SourceRecord]) -> Vec<Document> {
    records
        .iter()
        .map(|r| match r {
            SourceRecord::FromPartition { doc, .. } => doc.clone(),
            other => panic!("not a document: {:?}", other),
        })
        .collect()
}

fn field<'d>(d: &'d Document, path: &str) -> &'d Value {
    d.get_path(path).unwrap_or_else(|| panic!("{} missing in {:?}", path, d))
}

/// Opens the stream (it opens at the first poll) so that later writes are seen.
fn started(options: &str) -> ChangeStreamSource {
    let mut s = source(options);
    let mut none = Vec::new();
    s.poll(1, &mut none).expect("first poll");
    assert!(none.is_empty(), "nothing written yet: {:?}", none);
    s
}

#[test]
fn a_collection_stream_gives_change_events_with_time_and_meta() {
    let db = unique_db("cs");
    let mut s = started(&format!(r#"{{"db": "{}", "coll": "orders"}}"#, db));
    insert(&db, "orders", &[r#"{"_id": 1, "qty": 5}"#]);
    insert(&db, "other", &[r#"{"_id": 1}"#]);
    let c = client().database(&db).collection::<BsonDoc>("orders");
    c.update_one(doc! {"_id": 1}, doc! {"$set": {"qty": 6}}).run().unwrap();
    c.delete_one(doc! {"_id": 1}).run().unwrap();
    let recs = read(&mut s, 3);
    let evs = docs(&recs);
    let ops: Vec<&str> = evs.iter().map(|e| field(e, "operationType").as_str().unwrap()).collect();
    assert_eq!(ops, ["insert", "update", "delete"], "only the watched collection: {:?}", evs);
    assert_eq!(field(&evs[0], "fullDocument.qty"), &Value::Int32(5));
    assert_eq!(field(&evs[1], "updateDescription.updatedFields.qty"), &Value::Int32(6));
    assert!(evs[1].get("fullDocument").is_none_or(|v| *v == Value::Null), "no lookup by default");
    let SourceRecord::FromPartition { meta, time, partition, .. } = &recs[0] else { unreachable!() };
    assert_eq!(*partition, 0);
    let wall = field(&evs[0], "wallTime").clone();
    assert_eq!(Some(wall.clone()), time.map(Value::DateTime), "event time is the change's wall time");
    assert_eq!(field(meta, "source.type"), &Value::str("atlas"));
    assert_eq!(field(meta, "source.ts"), &wall);
}

#[test]
fn full_document_only_gives_the_documents_and_skips_deletes() {
    let db = unique_db("cs");
    let mut s = started(&format!(
        r#"{{"db": "{}", "coll": "c", "config": {{"fullDocument": "updateLookup", "fullDocumentOnly": true}}}}"#,
        db
    ));
    insert(&db, "c", &[r#"{"_id": 1, "v": "a"}"#]);
    let c = client().database(&db).collection::<BsonDoc>("c");
    c.update_one(doc! {"_id": 1}, doc! {"$set": {"v": "b"}}).run().unwrap();
    insert(&db, "c", &[r#"{"_id": 2, "v": "c"}"#]);
    c.delete_one(doc! {"_id": 2}).run().unwrap();
    let got = docs(&read(&mut s, 3));
    let want: Vec<Document> = [r#"{"_id": 1, "v": "a"}"#, r#"{"_id": 1, "v": "b"}"#, r#"{"_id": 2, "v": "c"}"#]
        .iter()
        .map(|d| parse_document(d).unwrap())
        .collect();
    assert_eq!(got, want);
}

#[test]
fn pre_images_when_the_collection_keeps_them() {
    let db = unique_db("cs");
    let d = client().database(&db);
    d.run_command(doc! {"create": "c", "changeStreamPreAndPostImages": {"enabled": true}}).run().unwrap();
    insert(&db, "c", &[r#"{"_id": 1, "v": 1}"#]);
    let mut s = started(&format!(
        r#"{{"db": "{}", "coll": "c", "config": {{"fullDocument": "whenAvailable", "fullDocumentBeforeChange": "required"}}}}"#,
        db
    ));
    d.collection::<BsonDoc>("c").update_one(doc! {"_id": 1}, doc! {"$set": {"v": 2}}).run().unwrap();
    let evs = docs(&read(&mut s, 1));
    assert_eq!(evs.len(), 1);
    assert_eq!(field(&evs[0], "fullDocumentBeforeChange.v"), &Value::Int32(1));
    assert_eq!(field(&evs[0], "fullDocument.v"), &Value::Int32(2));
}

#[test]
fn database_and_several_collection_scopes() {
    let db = unique_db("cs");
    let mut whole = started(&format!(r#"{{"db": "{}"}}"#, db));
    let mut two = started(&format!(
        r#"{{"db": "{}", "coll": ["a", "b"], "config": {{"pipeline": [{{"$match": {{"operationType": "insert"}}}}]}}}}"#,
        db
    ));
    for coll in ["a", "b", "z"] {
        insert(&db, coll, &[r#"{"_id": 1}"#]);
    }
    client().database(&db).collection::<BsonDoc>("a").delete_one(doc! {"_id": 1}).run().unwrap();
    let colls = |evs: Vec<Document>| -> Vec<String> {
        evs.iter().map(|e| field(e, "ns.coll").as_str().unwrap().to_string()).collect()
    };
    assert_eq!(colls(docs(&read(&mut whole, 4))), ["a", "b", "z", "a"]);
    assert_eq!(colls(docs(&read(&mut two, 2))), ["a", "b"], "the listed collections, through the stage's pipeline");
}

#[test]
fn a_restored_position_resumes_after_the_last_event_read() {
    let db = unique_db("cs");
    let opts = format!(
        r#"{{"db": "{}", "coll": "c", "config": {{"fullDocumentOnly": true, "fullDocument": "updateLookup"}}}}"#,
        db
    );
    let mut first = started(&opts);
    // A checkpoint before any change: the position is already "now", not "whenever it reopens".
    let before_any = first.position();
    assert!(before_any.as_document().and_then(|d| d.get("resumeToken")).is_some(), "{:?}", before_any);
    insert(&db, "c", &[r#"{"_id": 1}"#, r#"{"_id": 2}"#]);
    assert_eq!(docs(&read(&mut first, 2)).len(), 2);
    let after_two = first.position();
    drop(first);
    insert(&db, "c", &[r#"{"_id": 3}"#]);

    let mut resumed = source(&opts);
    resumed.seek(&after_two).unwrap();
    let ids: Vec<Value> = docs(&read(&mut resumed, 1)).iter().map(|d| field(d, "_id").clone()).collect();
    assert_eq!(ids, [Value::Int32(3)], "exactly the change made after the checkpoint");

    let mut from_start = source(&opts);
    from_start.seek(&before_any).unwrap();
    let ids: Vec<Value> = docs(&read(&mut from_start, 3)).iter().map(|d| field(d, "_id").clone()).collect();
    assert_eq!(ids, [Value::Int32(1), Value::Int32(2), Value::Int32(3)]);
}

#[test]
fn start_at_operation_time_overrides_the_position() {
    let db = unique_db("cs");
    let opts = format!(
        r#"{{"db": "{}", "coll": "c", "config": {{"fullDocumentOnly": true, "fullDocument": "updateLookup"}}}}"#,
        db
    );
    insert(&db, "c", &[r#"{"_id": 1}"#]);
    let s = started(&opts);
    let checkpointed = s.position();
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    // Cluster times count whole seconds: the next second starts clean.
    std::thread::sleep(Duration::from_millis(1100 - (since % 1000) as u64));
    let after = since - since % 1000 + 1000;
    insert(&db, "c", &[r#"{"_id": 2}"#]);
    drop(s);

    let mut at = source(&opts);
    at.seek(&checkpointed).unwrap();
    at.start_at(after).unwrap();
    let ids: Vec<Value> = docs(&read(&mut at, 1)).iter().map(|d| field(d, "_id").clone()).collect();
    assert_eq!(ids, [Value::Int32(2)]);

    let mut early = source(&opts);
    early.start_at(after - 60_000).unwrap();
    let ids: Vec<Value> = docs(&read(&mut early, 2)).iter().map(|d| field(d, "_id").clone()).collect();
    assert_eq!(ids, [Value::Int32(1), Value::Int32(2)], "a minute back reaches the first insert too");
}

#[test]
fn an_unreachable_deployment_fails_open_naming_the_connection() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let conn = MongoConnection::new(
        "gone",
        &format!("mongodb://127.0.0.1:{}/?serverSelectionTimeoutMS=500&connectTimeoutMS=500", port),
    );
    let err = ChangeStreamSource::open(&conn, ChangeStreamOptions::default()).err().expect("refused");
    assert!(err.contains("connection gone"), "{}", err);
}

#[test]
fn reset_positions_latest_and_a_time_survive_as_checkpoint_positions() {
    let db = unique_db("cs");
    let opts = format!(
        r#"{{"db": "{}", "coll": "c", "config": {{"fullDocumentOnly": true, "fullDocument": "updateLookup"}}}}"#,
        db
    );
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    std::thread::sleep(Duration::from_millis(1100 - (since % 1000) as u64));
    let at = since - since % 1000 + 1000;
    insert(&db, "c", &[r#"{"_id": 1}"#]);

    let mut s = source(&opts);
    let latest = s.reset_position(&ResetTo::Latest).expect("latest");
    assert!(latest.as_document().and_then(|d| d.get("resumeToken")).is_some(), "{:?}", latest);
    let timed = s.reset_position(&ResetTo::Time(at)).expect("a time");
    assert!(
        matches!(timed.as_document().and_then(|d| d.get("startAtOperationTime")), Some(Value::Timestamp(..))),
        "{:?}",
        timed
    );
    let refused = s.reset_position(&ResetTo::Earliest).unwrap_err().to_string();
    assert!(refused.contains("latest or to a time"), "{}", refused);
    insert(&db, "c", &[r#"{"_id": 2}"#]);

    let ids = |position: &Value, n: usize| -> Vec<Value> {
        let mut s = source(&opts);
        s.seek(position).unwrap();
        docs(&read(&mut s, n)).iter().map(|d| field(d, "_id").clone()).collect()
    };
    assert_eq!(ids(&latest, 1), [Value::Int32(2)], "from the reset on");
    assert_eq!(ids(&timed, 2), [Value::Int32(1), Value::Int32(2)], "from the time on");
}
