//! `sluice serve` with a MongoDB change stream `$source` and a Kafka `$emit`, on the real test
//! servers: every change once across a stop and a start (the resume token is in the
//! checkpoint), and `:startWith {startAtOperationTime}` reading the changes again from a time.

mod support;

#[path = "../../sluice-connectors/tests/support/kafka.rs"]
mod kafka;
#[path = "../../sluice-connectors/tests/support/mongodb.rs"]
mod mongo;

use kafka::{broker, create_topic, read_all, unique_topic};
use reqwest::StatusCode;
use serde_json::{json, Value as Json};
use support::*;

async fn insert_orders(db: &str, ids: std::ops::Range<i64>) {
    let db = db.to_string();
    blocking(move || {
        let docs: Vec<String> = ids.map(|i| format!(r#"{{"_id": {}, "qty": {}, "price": 2.5}}"#, i, i)).collect();
        mongo::insert(&db, "orders", &docs.iter().map(String::as_str).collect::<Vec<_>>());
    })
    .await
}

/// The `_id`s and totals of the output topic's messages, sorted.
async fn emitted(topic: &str, expect: usize) -> Vec<(i64, f64)> {
    let topic = topic.to_string();
    let out = blocking(move || read_all(&broker(), &topic, expect, std::time::Duration::from_secs(30))).await;
    let mut got: Vec<(i64, f64)> = out
        .iter()
        .map(|m| {
            let d: Json = serde_json::from_slice(&m.value).expect("JSON output");
            (d["_id"].as_i64().expect("_id"), d["total"].as_f64().expect("total"))
        })
        .collect();
    got.sort_by(|a, b| a.partial_cmp(b).expect("numbers"));
    got
}

fn expected(ids: std::ops::Range<i64>) -> Vec<(i64, f64)> {
    ids.map(|i| (i, i as f64 * 2.5)).collect()
}

fn count(body: &Json, field: &str) -> u64 {
    body["stats"][field].as_u64().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_stream_to_kafka_resumes_from_its_token_and_from_an_operation_time() {
    let output = unique_topic("cs-out");
    let o2 = output.clone();
    blocking(move || create_topic(&broker(), &o2, 1)).await;
    let db = mongo::unique_db("orders");

    let dir = temp_dir("change-stream");
    let server = Server::start(&dir);
    let c = owner(&server, "SHA-256");
    let ws = workspace_with(
        &c,
        &server,
        &[
            json!({"name": "kafka", "type": "Kafka", "bootstrapServers": broker()}),
            json!({"name": "mongo", "type": "Cluster", "connectionString": mongo::uri()}),
        ],
    )
    .await;

    // A bad change stream field is refused at creation, naming it.
    let bad = json!({"name": "bad", "pipeline": [{"$source": {"connectionName": "mongo", "db": db,
        "config": {"fullDocument": "sometimes"}}}]});
    let r = c.post(&format!("{}/ws/processor", ws), &bad).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:?}", r.body);
    assert!(r.body["detail"].as_str().unwrap_or("").contains("fullDocument"), "{:?}", r.body);

    let pipeline = json!([
        {"$source": {"connectionName": "mongo", "db": db, "coll": "orders",
            "config": {"fullDocument": "updateLookup", "fullDocumentOnly": true}}},
        {"$addFields": {"total": {"$multiply": ["$qty", "$price"]}}},
        {"$emit": {"connectionName": "kafka", "topic": output}}
    ]);
    let r = c
        .post(
            &format!("{}/ws/processor", ws),
            &json!({"name": "orders", "pipeline": pipeline, "options": {"checkpointIntervalMs": 200}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let p = format!("{}/ws/processor/orders", ws);

    let before_all = chrono_now_iso();
    // Cluster times count whole seconds: what follows happens in a later second than `before_all`.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let r = c.post(&format!("{}:start", p), &json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    insert_orders(&db, 0..5).await;
    eventually(30, || async { (count(&c.get(&p).await.body, "outputMessageCount") >= 5).then_some(()) }).await;
    let r = c.post(&format!("{}:stop", p), &json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(emitted(&output, 5).await, expected(0..5));

    // Changes made while stopped are read after the start, and none before them again.
    insert_orders(&db, 5..12).await;
    let r = c.post(&format!("{}:start", p), &json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    eventually(30, || async { (count(&c.get(&p).await.body, "outputMessageCount") >= 12).then_some(()) }).await;
    let b = c.get(&p).await.body;
    assert_eq!(count(&b, "inputMessageCount"), 12, "{:?}", b);
    assert_eq!(emitted(&output, 12).await, expected(0..12), "every change once");

    // :startWith at an operation time before the first insert reads all of them again.
    let r = c.post(&format!("{}:stop", p), &json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let r = c.post(&format!("{}:startWith", p), &json!({"startAtOperationTime": before_all})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    eventually(30, || async { (count(&c.get(&p).await.body, "outputMessageCount") >= 24).then_some(()) }).await;
    let mut twice = expected(0..12);
    twice.extend(expected(0..12));
    twice.sort_by(|a, b| a.partial_cmp(b).expect("numbers"));
    assert_eq!(emitted(&output, 24).await, twice);

    // A malformed time is refused with the field named.
    let r = c.post(&format!("{}:stop", p), &json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let r = c.post(&format!("{}:startWith", p), &json!({"startAtOperationTime": "yesterday"})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:?}", r.body);
    assert!(r.raw.windows(20).any(|w| w == b"startAtOperationTime"), "{:?}", r.body);
    server.terminate();
    let _ = std::fs::remove_dir_all(dir);
}

/// Now as an ISO 8601 date-time with milliseconds, UTC.
fn chrono_now_iso() -> String {
    let ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_millis() as i64;
    sluice_mql::format_iso_millis(ms)
}
