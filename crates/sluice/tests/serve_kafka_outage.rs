//! A Kafka outage of 30 s under a Kafka → Kafka processor with exactly-once output: the broker
//! (Apache Kafka, the processor's only one, for its source and its sink) is killed with SIGKILL
//! and started again 30 s later on the same data. Meanwhile the processor stays STARTED and shows
//! the failing connection; afterwards a `read_committed` consumer sees every record once, and the
//! workspace's operational log records when the outage began and ended.

mod support;

#[path = "../../sluice-connectors/tests/support/kafka.rs"]
mod kafka;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use kafka::{create_topic, produce, read_all, unique_topic, Msg, OwnApacheKafka};
use reqwest::StatusCode;
use serde_json::{json, Value as Json};
use support::*;

const OUTAGE: Duration = Duration::from_secs(30);

async fn produce_range(broker: &str, topic: &str, range: std::ops::Range<i64>) {
    let (broker, topic) = (broker.to_string(), topic.to_string());
    blocking(move || {
        let values: Vec<Vec<u8>> = range.map(|n| format!(r#"{{"n": {}}}"#, n).into_bytes()).collect();
        produce(
            &broker,
            &topic,
            &values.iter().map(|v| Msg { key: None, value: v, partition: None }).collect::<Vec<_>>(),
        );
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kafka_outage_of_30_s_keeps_the_processor_started_and_its_output_exact() {
    let mut own = blocking(OwnApacheKafka::start).await;
    let addr = own.addr.clone();
    let (input, output) = (unique_topic("kafka-outage-in"), unique_topic("kafka-outage-out"));
    let (a, i, o) = (addr.clone(), input.clone(), output.clone());
    blocking(move || {
        create_topic(&a, &i, 2);
        create_topic(&a, &o, 1);
    })
    .await;

    let dir = temp_dir("outage-kafka");
    let server = Server::start(&dir);
    let c = owner(&server, "SHA-256");
    let ws = workspace_with(&c, &server, &[json!({"name": "kafka", "type": "Kafka", "bootstrapServers": addr})]).await;
    let pipeline = json!([
        {"$source": {"connectionName": "kafka", "topic": input, "config": {"auto_offset_reset": "earliest"}}},
        {"$addFields": {"double": {"$multiply": ["$n", 2]}}},
        {"$emit": {"connectionName": "kafka", "topic": output, "config": {"deliveryGuarantee": "exactlyOnce"}}}
    ]);
    let r = c
        .post(
            &format!("{}/ws/processor", ws),
            &json!({"name": "p", "pipeline": pipeline, "options": {"checkpointIntervalMs": 500}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let p = format!("{}/ws/processor/p", ws);
    assert_eq!(c.post(&format!("{}:start", p), &json!({})).await.status, StatusCode::OK);
    produce_range(&addr, &input, 0..100).await;
    let checkpoints = eventually(30, || async {
        let b = c.get(&p).await.body;
        let out = b["stats"]["outputMessageCount"].as_u64().unwrap_or(0);
        (out >= 100).then(|| b["stats"]["checkpointCount"].as_u64().unwrap_or(0))
    })
    .await;
    // Two checkpoints after them: the transaction holding them has committed (a commit that the
    // outage interrupts is the next run's to settle, which serve_exactly_once covers).
    eventually(30, || async {
        let b = c.get(&p).await.body;
        (b["stats"]["checkpointCount"].as_u64().unwrap_or(0) >= checkpoints + 2).then_some(())
    })
    .await;

    // The outage.
    own = blocking(move || {
        own.kill();
        own
    })
    .await;
    let down_at = Instant::now();
    let mut during = c.get(&p).await.body;
    while during["stats"]["connectionErrors"].as_array().is_none_or(|e| e.is_empty()) {
        assert!(down_at.elapsed() < Duration::from_secs(25), "no connection error shown: {}", during);
        tokio::time::sleep(Duration::from_millis(200)).await;
        during = c.get(&p).await.body;
    }
    assert_eq!(during["state"], "STARTED", "{:?}", during);
    assert_eq!(during["stats"]["connectionErrors"][0]["connection"], "kafka", "{:?}", during);
    tokio::time::sleep(OUTAGE.saturating_sub(down_at.elapsed())).await; // the outage's length is the point
    let b = c.get(&p).await.body;
    assert_eq!(b["state"], "STARTED", "still started after 30 s without its broker: {:?}", b);
    // Kept to the end of the test: dropping it kills the broker.
    let _broker = blocking(move || {
        own.restart();
        own
    })
    .await;
    produce_range(&addr, &input, 100..200).await;

    let (a, o) = (addr.clone(), output.clone());
    let out = eventually(90, || {
        let (a, o) = (a.clone(), o.clone());
        async move {
            let out = blocking(move || read_all(&a, &o, 200, Duration::from_secs(5))).await;
            (out.len() >= 200).then_some(out)
        }
    })
    .await;
    let mut seen: BTreeMap<i64, usize> = BTreeMap::new();
    for m in &out {
        let d: Json = serde_json::from_slice(&m.value).expect("JSON output");
        let n = d["n"].as_i64().expect("n");
        assert_eq!(d["double"].as_i64(), Some(n * 2), "{}", d);
        *seen.entry(n).or_default() += 1;
    }
    assert_eq!(seen.keys().copied().collect::<Vec<_>>(), (0..200).collect::<Vec<i64>>(), "every record");
    assert!(
        seen.values().all(|k| *k == 1),
        "every record once: {:?}",
        seen.iter().filter(|(_, k)| **k > 1).collect::<Vec<_>>()
    );
    let after = eventually(30, || async {
        let b = c.get(&p).await.body;
        b["stats"]["connectionErrors"].is_null().then_some(b)
    })
    .await;
    assert_eq!(after["state"], "STARTED");

    let log = operational_log(&c, &ws, "ws").await;
    let line = |event: &str| log.iter().find(|l| l["event"] == event && l["connection"] == "kafka").cloned();
    let failing = line("connection failing").unwrap_or_else(|| panic!("a failing line in {:?}", log));
    assert_eq!(failing["state"], "STARTED");
    let recovered = line("connection recovered").unwrap_or_else(|| panic!("a recovered line in {:?}", log));
    assert!(recovered["failedForMs"].as_i64().unwrap_or(0) >= 20_000, "{:?}", recovered);
    server.terminate();
    let _ = std::fs::remove_dir_all(dir);
}
