//! Every sink through the contract: each test plugs the connector's factory (the registry's for
//! Kafka, `$merge` and the DLQ collection) and a way to read back what is durable.

use std::io::BufWriter;
use std::time::Duration;

use serde_json::json;
use sluice_connectors::{connector, ConnectionRef, JsonLinesSink, MemorySink, TestLog, Use};
use sluice_engine::Sink;
use sluice_mql::json::{parse_document, parse_document_bytes, JsonMode};
use sluice_mql::Document;
use sluice_pipeline::{parse_pipeline_json, SinkSpec};
use sluice_types::ConnectionType;

use crate::scratch_file;
use crate::sink_checks::{sink_contract, SinkUnderTest};
use crate::support::{kafka, mongodb};

/// Documents from Extended JSON texts.
fn docs(texts: impl IntoIterator<Item = String>) -> Vec<Document> {
    texts.into_iter().map(|t| parse_document(&t).expect("test document")).collect()
}

/// The sink stage of `[{$source: {documents: []}}, stage]`.
fn sink_spec(stage: &str) -> SinkSpec {
    let plan = parse_pipeline_json(&format!(r#"[{{"$source": {{"documents": []}}}}, {}]"#, stage)).expect("valid sink");
    plan.sink.expect("the pipeline has a sink")
}

#[test]
fn memory_test_log() {
    let log = TestLog::new(1_000);
    let open = || -> Box<dyn Sink> { Box::new(MemorySink::new("memory", log.clone())) };
    sink_contract(&SinkUnderTest {
        name: "memory",
        open: &open,
        read_back: &|_| log.all(),
        ordered: true,
        keeps_field_order: true,
        good: docs((0..9).map(|i| format!(r#"{{"_id": {}, "n": {}}}"#, i, i))),
        refused: Vec::new(),
    });
}

#[test]
fn json_lines_file() {
    let path = scratch_file("out.jsonl", b"");
    let open = || -> Box<dyn Sink> {
        let file = std::fs::File::create(&path).expect("output file");
        // Buffered, so that only a flush puts the lines in the file.
        Box::new(JsonLinesSink::new("lines", BufWriter::new(file), JsonMode::Relaxed))
    };
    let read_back = |_| -> Vec<Document> {
        let text = std::fs::read(&path).expect("output file");
        text.split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| parse_document_bytes(l).expect("a line"))
            .collect()
    };
    sink_contract(&SinkUnderTest {
        name: "JSON lines",
        open: &open,
        read_back: &read_back,
        ordered: true,
        keeps_field_order: true,
        good: docs((0..9).map(|i| format!(r#"{{"_id": {}, "s": "line {}"}}"#, i, i))),
        refused: Vec::new(),
    });
    let _ = std::fs::remove_file(&path);
}

#[test]
fn kafka_emit() {
    let b = kafka::broker();
    let topic = kafka::unique_topic("contract-emit");
    kafka::create_topic(&b, &topic, 1);
    // A small message limit, so that one document is too large to send.
    let settings = json!({"bootstrapServers": b, "config": {"message.max.bytes": "4096"}});
    let conn = ConnectionRef { name: "kafka", ctype: ConnectionType::Kafka, config: &settings };
    let spec = sink_spec(r#"{"$emit": {"connectionName": "kafka", "topic": "$topic"}}"#);
    let kafka_connector = connector(ConnectionType::Kafka).expect("a Kafka connector");
    let open = || {
        kafka_connector
            .open_sink(&conn, kafka_connector.check(&Use::Sink(&spec)).expect("options check"), "contract")
            .expect("Kafka sink opens")
    };
    let read_back = |n: usize| -> Vec<Document> {
        let read = kafka::read_all(&b, &topic, n, Duration::from_secs(20));
        read.iter().map(|m| parse_document_bytes(&m.value).expect("a JSON message")).collect()
    };
    let refused = docs([
        r#"{"_id": 100, "n": "no topic"}"#.to_string(),
        format!(r#"{{"_id": 101, "topic": "{}", "pad": "{}"}}"#, topic, "x".repeat(10_000)),
    ]);
    sink_contract(&SinkUnderTest {
        name: "Kafka $emit",
        open: &open,
        read_back: &read_back,
        ordered: true,
        keeps_field_order: true,
        good: docs((0..9).map(|i| format!(r#"{{"_id": {}, "topic": "{}", "n": {}}}"#, i, topic, i))),
        refused,
    });
}

#[test]
fn mongodb_merge() {
    let db = mongodb::unique_db("contract_merge");
    let settings = json!({"connectionString": mongodb::uri()});
    let conn = ConnectionRef { name: "mongo", ctype: ConnectionType::Cluster, config: &settings };
    let spec = sink_spec(&format!(
        r#"{{"$merge": {{"into": {{"connectionName": "mongo", "db": "{}", "coll": "$coll"}}, "whenMatched": "fail"}}}}"#,
        db
    ));
    let mongo = connector(ConnectionType::Cluster).expect("a MongoDB connector");
    let open = || {
        mongo
            .open_sink(&conn, mongo.check(&Use::Sink(&spec)).expect("options check"), "contract")
            .expect("$merge opens")
    };
    let read_back = |_| mongodb::all(&db, "c");
    // One matches a document already written (whenMatched: fail); one has no collection.
    let refused = docs([r#"{"_id": 0, "coll": "c", "n": -1}"#.to_string(), r#"{"_id": 100, "n": 1}"#.to_string()]);
    sink_contract(&SinkUnderTest {
        name: "$merge",
        open: &open,
        read_back: &read_back,
        ordered: false,
        keeps_field_order: true,
        good: docs((0..9).map(|i| format!(r#"{{"_id": {}, "coll": "c", "n": {}}}"#, i, i))),
        refused,
    });
}

#[test]
fn mongodb_dlq_collection() {
    let db = mongodb::unique_db("contract_dlq");
    let settings = json!({"connectionString": mongodb::uri()});
    let conn = ConnectionRef { name: "mongo", ctype: ConnectionType::Cluster, config: &settings };
    let mongo = connector(ConnectionType::Cluster).expect("a MongoDB connector");
    let open = || {
        mongo
            .open_sink(&conn, mongo.check(&Use::Dlq { db: &db, coll: "dlq" }).expect("options check"), "contract")
            .expect("the DLQ collection opens")
    };
    // Dead letters have no `_id`: each is inserted with a new one, which is taken off here.
    let read_back = |_| -> Vec<Document> {
        let mut held = mongodb::all(&db, "dlq");
        for d in &mut held {
            assert!(d.remove("_id").is_some(), "a dead letter stored without an _id: {:?}", d);
        }
        held
    };
    // Two dead letters alike: both are kept.
    let letter = |i: i32| {
        format!(
            r#"{{"processorName": "p", "operatorName": "$emit", "errInfo": {{"reason": "bad {}"}}, "doc": {{"n": {}}}}}"#,
            i, i
        )
    };
    sink_contract(&SinkUnderTest {
        name: "DLQ collection",
        open: &open,
        read_back: &read_back,
        ordered: false,
        // Dead letters are upserts by `$set`, whose fields MongoDB writes in name order.
        keeps_field_order: false,
        good: docs([0, 1, 2, 3, 3, 4, 5, 6, 7].map(letter)),
        refused: Vec::new(),
    });
}
