//! A MongoDB outage of 30 s while a Kafka → `$merge` processor runs: the processor stays
//! STARTED, its stats show the failing connection while the outage lasts, the workspace's
//! operational log records when it began and ended, and afterwards the output is exactly what it
//! would have been without the outage.

mod support;

#[path = "../../sluice-connectors/tests/support/kafka.rs"]
mod kafka;
#[path = "../../sluice-connectors/tests/support/mongodb.rs"]
mod mongo;

use std::time::{Duration, Instant};

use kafka::{broker, create_topic, produce, unique_topic, Msg};
use mongodb::bson::{doc, Document as BsonDoc};
use reqwest::StatusCode;
use serde_json::json;
use support::*;

const OUTAGE: Duration = Duration::from_secs(30);

async fn produce_range(topic: &str, range: std::ops::Range<i64>) {
    let topic = topic.to_string();
    blocking(move || {
        let values: Vec<Vec<u8>> =
            range.map(|n| format!(r#"{{"_id": {}, "watts": {}}}"#, n, n * 10).into_bytes()).collect();
        produce(
            &broker(),
            &topic,
            &values.iter().map(|v| Msg { key: None, value: v, partition: None }).collect::<Vec<_>>(),
        );
    })
    .await
}

/// The `_id`s in `out.c` of the own server, sorted, with how often each is there.
async fn ids(uri: String, db: String) -> Vec<i64> {
    blocking(move || {
        let client = mongodb::sync::Client::with_uri_str(&uri).expect("client");
        let Ok(cursor) = client.database(&db).collection::<BsonDoc>("c").find(doc! {}).sort(doc! {"_id": 1}).run()
        else {
            return Vec::new();
        };
        cursor
            .filter_map(Result::ok)
            .filter_map(|d| d.get_i64("_id").ok().or(d.get_i32("_id").ok().map(i64::from)))
            .collect()
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mongodb_outage_of_30_s_keeps_the_processor_started_and_loses_nothing() {
    let mut own = mongo::OwnServer::start();
    let dir = temp_dir("outage-mongo");
    let server = Server::start(&dir);
    let c = owner(&server, "SHA-256");
    let ws = workspace_with(
        &c,
        &server,
        &[
            json!({"name": "kafka", "type": "Kafka", "bootstrapServers": broker()}),
            json!({"name": "own", "type": "Cluster", "connectionString": own.uri()}),
        ],
    )
    .await;
    let input = unique_topic("outage-in");
    let t = input.clone();
    blocking(move || create_topic(&broker(), &t, 1)).await;
    let db = mongo::unique_db("outage");
    let pipeline = json!([
        {"$source": {"connectionName": "kafka", "topic": input, "config": {"auto_offset_reset": "earliest"}}},
        {"$merge": {"into": {"connectionName": "own", "db": db, "coll": "c"}}}
    ]);
    let r = c.post(&format!("{}/ws/processor", ws), &json!({"name": "p", "pipeline": pipeline})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let p = format!("{}/ws/processor/p", ws);
    assert_eq!(c.post(&format!("{}:start", p), &json!({})).await.status, StatusCode::OK);

    produce_range(&input, 0..100).await;
    let (uri, d) = (own.uri(), db.clone());
    eventually(30, || {
        let (uri, d) = (uri.clone(), d.clone());
        async move { (ids(uri, d).await.len() == 100).then_some(()) }
    })
    .await;

    // The outage: output produced meanwhile waits in the processor, retried.
    own.stop();
    let down_at = Instant::now();
    produce_range(&input, 100..200).await;
    let mut during = c.get(&p).await.body;
    let asked = Instant::now();
    while during["stats"]["connectionErrors"].as_array().is_none_or(|e| e.is_empty()) {
        assert!(asked.elapsed() < Duration::from_secs(30), "no connection error shown: {}", during);
        tokio::time::sleep(Duration::from_millis(100)).await;
        during = c.get(&p).await.body;
    }
    assert_eq!(during["state"], "STARTED", "{:?}", during);
    let error = &during["stats"]["connectionErrors"][0];
    assert_eq!(error["connection"], "own", "{:?}", error);
    assert!(error["attempts"].as_u64().unwrap_or(0) >= 1, "{:?}", error);
    assert!(during["stats"]["retryCount"].as_u64().unwrap_or(0) >= 1, "{:?}", during);
    // The connection check says so too, within seconds.
    let r = c.post(&format!("{}/ws/connections/own:check", ws), &json!({})).await;
    assert_eq!((r.status, &r.body["ok"]), (StatusCode::OK, &json!(false)), "{:?}", r.body);
    assert!(r.body["durationMillis"].as_u64().unwrap_or(u64::MAX) < 15_000, "{:?}", r.body);
    assert!(r.body["errorMsg"].as_str().unwrap_or_default().contains("cannot reach MongoDB"), "{:?}", r.body);

    let left = OUTAGE.saturating_sub(down_at.elapsed());
    tokio::time::sleep(left).await; // the outage's length is the point of this test
    let b = c.get(&p).await.body;
    assert_eq!(b["state"], "STARTED", "still started after 30 s without MongoDB: {:?}", b);
    own = blocking(move || {
        own.restart();
        own
    })
    .await;
    produce_range(&input, 200..300).await;

    let (uri, d) = (own.uri(), db.clone());
    let all = eventually(60, || {
        let (uri, d) = (uri.clone(), d.clone());
        async move {
            let ids = ids(uri, d).await;
            (ids.len() >= 300).then_some(ids)
        }
    })
    .await;
    assert_eq!(all, (0..300).collect::<Vec<i64>>(), "every record once, as without the outage");
    let after = eventually(20, || async {
        let b = c.get(&p).await.body;
        b["stats"]["connectionErrors"].is_null().then_some(b)
    })
    .await;
    assert_eq!(after["state"], "STARTED");
    let r = c.post(&format!("{}/ws/connections/own:check", ws), &json!({})).await;
    assert_eq!((r.status, &r.body["ok"]), (StatusCode::OK, &json!(true)), "{:?}", r.body);

    let log = operational_log(&c, &ws, "ws").await;
    let line = |event: &str| log.iter().find(|l| l["event"] == event && l["connection"] == "own").cloned();
    let failing = line("connection failing").unwrap_or_else(|| panic!("a failing line in {:?}", log));
    assert_eq!(failing["state"], "STARTED");
    let recovered = line("connection recovered").unwrap_or_else(|| panic!("a recovered line in {:?}", log));
    assert!(recovered["failedForMs"].as_i64().unwrap_or(0) >= 25_000, "{:?}", recovered);
}
