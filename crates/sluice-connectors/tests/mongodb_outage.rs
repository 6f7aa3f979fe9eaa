//! A MongoDB deployment that goes away: `$merge` output written during the outage arrives once
//! it is back, and a change stream resumes from its token with nothing lost; one that stays away
//! fails the processor, naming the connection.

mod support;

use std::time::{Duration, Instant};

use mongodb::bson::{doc, Document as BsonDoc};
use sluice_connectors::mongodb::{ChangeStreamOptions, ChangeStreamSource, MergeOptions, MergeSink, MongoConnection};
use sluice_connectors::{DocumentsSource, MemorySink, TestLog};
use sluice_engine::{Executor, ExecutorConfig, Source, SourceRecord, StepOutcome};
use sluice_mql::json::parse_document;
use sluice_mql::{Document, Value};
use sluice_pipeline::parse_pipeline_json;
use support::mongodb::OwnServer;

fn merge_executor(server: &OwnServer, n: i64, retry_for: Duration) -> Executor {
    let plan = parse_pipeline_json(
        r#"[{"$source": {"documents": []}}, {"$merge": {"into": {"connectionName": "own", "db": "out", "coll": "c"}}}]"#,
    )
    .unwrap();
    let into = parse_document(r#"{"db": "out", "coll": "c"}"#).unwrap();
    let sink = MergeSink::open(
        &MongoConnection::new("own", &server.uri()),
        MergeOptions::parse(&into, &Document::new()).unwrap(),
    )
    .expect("sink opens")
    .with_retry_for(retry_for);
    let docs: Vec<Document> = (0..n).map(|i| parse_document(&format!(r#"{{"_id": {}}}"#, i)).unwrap()).collect();
    let mut config = ExecutorConfig::new("outage");
    config.batch_size = 50;
    Executor::new(
        &plan,
        Box::new(DocumentsSource::new(docs)),
        Box::new(sink),
        Box::new(MemorySink::new("dlq", TestLog::new(10))),
        config,
    )
    .expect("executor")
}

fn ids_in(server: &OwnServer) -> Vec<i64> {
    let client = mongodb::sync::Client::with_uri_str(server.uri()).unwrap();
    let cursor = client.database("out").collection::<BsonDoc>("c").find(doc! {}).sort(doc! {"_id": 1}).run().unwrap();
    cursor.map(|d| d.unwrap().get_i32("_id").unwrap() as i64).collect()
}

#[test]
fn merge_output_written_during_an_outage_arrives_when_the_server_is_back() {
    let mut server = OwnServer::start();
    let mut exec = merge_executor(&server, 300, Duration::from_secs(30));
    while exec.output_messages() < 100 {
        exec.step().expect("step");
    }
    server.stop();
    let restarter = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(2));
        server.restart();
        server
    });
    // The next write waits out the outage (retrying), then everything goes on.
    while exec.step().expect("steps through the outage") != StepOutcome::Finished {}
    let server = restarter.join().unwrap();
    assert_eq!(ids_in(&server), (0..300).collect::<Vec<i64>>(), "every document once");
}

#[test]
fn a_server_that_stays_away_fails_the_write_naming_the_connection() {
    let mut server = OwnServer::start();
    let mut exec = merge_executor(&server, 300, Duration::from_secs(2));
    exec.step().expect("first batch");
    server.stop();
    let started = Instant::now();
    let err = loop {
        match exec.step() {
            Ok(StepOutcome::Finished) => panic!("finished without the server"),
            Ok(_) => {}
            Err(e) => break e.to_string(),
        }
    };
    assert!(err.contains("own"), "{}", err);
    assert!(started.elapsed() >= Duration::from_secs(2), "retried first: {:?}", started.elapsed());
}

fn read(src: &mut ChangeStreamSource, n: usize, wait: Duration) -> Vec<Value> {
    let mut out = Vec::new();
    let deadline = Instant::now() + wait;
    while out.len() < n && Instant::now() < deadline {
        src.poll(100, &mut out).expect("poll");
    }
    out.iter()
        .map(|r| match r {
            SourceRecord::FromPartition { doc, .. } => doc.get("_id").cloned().unwrap_or(Value::Null),
            other => panic!("{:?}", other),
        })
        .collect()
}

fn insert(server: &OwnServer, ids: std::ops::Range<i32>) {
    let client = mongodb::sync::Client::with_uri_str(server.uri()).unwrap();
    let docs: Vec<BsonDoc> = ids.map(|i| doc! {"_id": i}).collect();
    client.database("in").collection::<BsonDoc>("c").insert_many(docs).run().unwrap();
}

#[test]
fn a_change_stream_resumes_after_an_outage_and_fails_when_it_lasts() {
    let mut server = OwnServer::start();
    let opts = ChangeStreamOptions::parse(
        &parse_document(
            r#"{"db": "in", "coll": "c", "config": {"fullDocument": "updateLookup", "fullDocumentOnly": true}}"#,
        )
        .unwrap(),
    )
    .unwrap();
    let mut src = ChangeStreamSource::open(&MongoConnection::new("own", &server.uri()), opts)
        .expect("opens")
        .with_unreachable_limit(Duration::from_secs(3));
    assert!(read(&mut src, 1, Duration::from_millis(300)).is_empty());
    insert(&server, 0..5);
    assert_eq!(read(&mut src, 5, Duration::from_secs(10)).len(), 5);

    server.stop();
    // Polls during the outage find nothing and do not fail yet.
    let mut none = Vec::new();
    for _ in 0..3 {
        src.poll(10, &mut none).expect("within the limit");
    }
    server.restart();
    insert(&server, 5..10);
    let ids = read(&mut src, 5, Duration::from_secs(20));
    assert_eq!(ids, (5..10).map(Value::Int32).collect::<Vec<_>>(), "the changes after the outage, once");

    server.stop();
    let started = Instant::now();
    let err = loop {
        let mut out = Vec::new();
        match src.poll(10, &mut out) {
            Ok(_) => assert!(started.elapsed() < Duration::from_secs(60), "never failed"),
            Err(e) => break e.to_string(),
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(err.contains("own"), "{}", err);
    assert!(started.elapsed() >= Duration::from_secs(3), "{:?}", started.elapsed());
}
