//! `$merge` into a real MongoDB-wire server: every whenMatched and whenNotMatched mode, `on`
//! fields, computed collections, and documents the server refuses going to the DLQ.

mod support;

use sluice_connectors::mongodb::{MergeOptions, MergeSink, MongoConnection};
use sluice_engine::Sink;
use sluice_mql::json::{parse_document, to_json_string, JsonMode};
use sluice_mql::Document;
use support::mongodb::{all, insert, unique_db, uri};

fn sink(db: &str, coll: &str, opts: &str) -> MergeSink {
    let into = parse_document(&format!(r#"{{"connectionName": "m", "db": "{}", "coll": "{}"}}"#, db, coll)).unwrap();
    let opts = MergeOptions::parse(&into, &parse_document(opts).unwrap()).expect("valid $merge");
    MergeSink::open(&MongoConnection::new("m", &uri()), opts).expect("sink opens")
}

fn docs(json: &[&str]) -> Vec<Document> {
    json.iter().map(|d| parse_document(d).unwrap()).collect()
}

fn shown(docs: &[Document]) -> Vec<String> {
    docs.iter().map(|d| to_json_string(d, JsonMode::Relaxed)).collect()
}

const EXISTING: &str = r#"{"_id": 1, "a": 0, "keep": true}"#;
const INCOMING: [&str; 2] = [r#"{"_id": 1, "a": 1}"#, r#"{"_id": 2, "a": 2}"#];

fn merged(opts: &str) -> (Vec<String>, Vec<String>) {
    let db = unique_db("merge");
    insert(&db, "c", &[EXISTING]);
    let mut s = sink(&db, "c", opts);
    s.write(&docs(&INCOMING)).expect("written");
    let rejected = s.take_rejected().into_iter().map(|r| r.reason).collect();
    (shown(&all(&db, "c")), rejected)
}

#[test]
fn when_matched_modes() {
    let (merge, r) = merged("{}");
    assert_eq!(merge, vec![r#"{"_id":1,"a":1,"keep":true}"#, r#"{"_id":2,"a":2}"#]);
    assert!(r.is_empty());
    let (replace, _) = merged(r#"{"whenMatched": "replace"}"#);
    assert_eq!(replace, vec![r#"{"_id":1,"a":1}"#, r#"{"_id":2,"a":2}"#]);
    let (keep, _) = merged(r#"{"whenMatched": "keepExisting"}"#);
    assert_eq!(keep, vec![r#"{"_id":1,"a":0,"keep":true}"#, r#"{"_id":2,"a":2}"#]);
    let (fail, rejected) = merged(r#"{"whenMatched": "fail"}"#);
    assert_eq!(fail, vec![r#"{"_id":1,"a":0,"keep":true}"#, r#"{"_id":2,"a":2}"#]);
    assert_eq!(rejected.len(), 1, "the matched document goes to the DLQ: {:?}", rejected);
    assert!(rejected[0].contains("whenMatched: fail"), "{:?}", rejected);
    let (discard, _) = merged(r#"{"whenNotMatched": "discard"}"#);
    assert_eq!(discard, vec![r#"{"_id":1,"a":1,"keep":true}"#]);
}

#[test]
fn a_when_matched_pipeline_sees_the_new_document() {
    let (summed, r) = merged(r#"{"whenMatched": [{"$set": {"a": {"$add": ["$a", "$$new.a", 10]}}}]}"#);
    assert!(r.is_empty(), "{:?}", r);
    assert_eq!(
        summed,
        vec![r#"{"_id":1,"a":11,"keep":true}"#, r#"{"_id":2,"a":2}"#],
        "matched: updated; new: inserted"
    );
    let (with_let, _) = merged(
        r#"{"let": {"inc": {"$multiply": ["$a", 100]}}, "whenMatched": [{"$set": {"a": "$$inc"}}], "whenNotMatched": "discard"}"#,
    );
    assert_eq!(with_let, vec![r#"{"_id":1,"a":100,"keep":true}"#]);
}

#[test]
fn on_fields_and_computed_collections() {
    let db = unique_db("on");
    let mut s = sink(&db, "$kind", r#"{"on": ["device"]}"#);
    s.write(&docs(&[
        r#"{"device": "d1", "kind": "solar", "w": 1}"#,
        r#"{"device": "d2", "kind": "wind", "w": 2}"#,
        r#"{"device": "d1", "kind": "solar", "w": 3}"#,
    ]))
    .expect("written");
    assert!(s.take_rejected().is_empty());
    let solar = all(&db, "solar");
    assert_eq!(solar.len(), 1, "d1 merged on device: {:?}", shown(&solar));
    assert_eq!(solar[0].get("w"), Some(&sluice_mql::Value::Int32(3)));
    assert_eq!(all(&db, "wind").len(), 1);

    // A collection name that cannot be computed: that document to the DLQ, the rest written.
    let mut s = sink(&db, "$kind", "{}");
    s.write(&docs(&[r#"{"_id": 7, "kind": 5}"#, r#"{"_id": 8, "kind": "wind"}"#])).expect("written");
    let rejected = s.take_rejected();
    assert_eq!(rejected.len(), 1);
    assert!(rejected[0].reason.contains("into.coll"), "{}", rejected[0].reason);
    assert_eq!(all(&db, "wind").len(), 2);
}

#[test]
fn documents_the_server_refuses_go_to_the_dlq_and_the_rest_is_written() {
    let db = unique_db("refuse");
    insert(&db, "c", &[r#"{"_id": 1, "device": "d1"}"#]);
    let mut s = sink(&db, "c", r#"{"whenMatched": "replace"}"#);
    // A top-level field name starting with '$' is not storable.
    s.write(&docs(&[r#"{"_id": 1, "$bad": 1}"#, r#"{"_id": 2, "ok": true}"#])).expect("written");
    let rejected = s.take_rejected();
    assert_eq!(rejected.len(), 1, "{:?}", rejected);
    assert_eq!(rejected[0].doc.get("_id"), Some(&sluice_mql::Value::Int32(1)));
    assert_eq!(all(&db, "c").len(), 2);
}

#[test]
fn dead_letters_can_go_to_a_collection() {
    use sluice_connectors::{DocumentsSource, MemorySink, TestLog};
    use sluice_engine::{Executor, ExecutorConfig, StepOutcome};
    let db = unique_db("dlq");
    let plan = sluice_pipeline::parse_pipeline_json(
        r#"[{"$source": {"documents": [{"n": 1, "ts": {"$date": 0}}, {"n": 2, "ts": "not a date"}], "timeField": "$ts"}},
            {"$match": {}}]"#,
    )
    .expect("valid pipeline");
    let docs = plan.source.documents.clone().expect("inline documents");
    let out = TestLog::new(10);
    let mut exec = Executor::new(
        &plan,
        Box::new(DocumentsSource::new(docs)),
        Box::new(MemorySink::new("out", out.clone())),
        Box::new(sink(&db, "dead", "{}")),
        ExecutorConfig::new("p"),
    )
    .expect("executor");
    while exec.step().expect("step") != StepOutcome::Finished {}
    assert_eq!(out.total(), 1);
    let dead = all(&db, "dead");
    assert_eq!(dead.len(), 1, "{:?}", shown(&dead));
    let reason = dead[0].get_path("errInfo.reason").and_then(sluice_mql::Value::as_str).unwrap_or_default();
    assert!(reason.contains("timeField"), "{}", reason);
    assert_eq!(dead[0].get_path("doc.n"), Some(&sluice_mql::Value::Int32(2)));
    assert_eq!(dead[0].get("processorName").and_then(sluice_mql::Value::as_str), Some("p"));
}
