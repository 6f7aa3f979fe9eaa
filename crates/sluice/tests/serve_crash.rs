//! Crash safety end to end: a Kafka → Kafka processor of the real server is killed with SIGKILL
//! at random points while messages keep arriving, and started again each time. Once it has
//! caught up, every input message has its output: nothing is lost (duplicates are allowed:
//! output is at-least-once since the last checkpoint).

mod support;

#[path = "../../sluice-connectors/tests/support/kafka.rs"]
mod kafka;

use std::collections::BTreeMap;
use std::time::Duration;

use kafka::{broker, create_topic, produce_paced, read_all, unique_topic};
use reqwest::StatusCode;
use serde_json::{json, Value as Json};
use support::*;

const MESSAGES: i64 = 3000;
const CHUNK: i64 = 50;

async fn connect(c: &Client, server: &Server, input: &str, output: &str) -> String {
    let ws = format!("/api/atlas/v2/groups/{}/streams", server.banner_value("groupId"));
    let r = c
        .post(&ws, &json!({"name": "ws", "dataProcessRegion": {"cloudProvider": "AWS", "region": "VIRGINIA_USA"}}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let r = c
        .post(
            &format!("{}/ws/connections", ws),
            &json!({"name": "kafka", "type": "Kafka", "bootstrapServers": broker()}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let pipeline = json!([
        {"$source": {"connectionName": "kafka", "topic": input, "config": {"auto_offset_reset": "earliest"}}},
        {"$addFields": {"double": {"$multiply": ["$n", 2]}}},
        {"$emit": {"connectionName": "kafka", "topic": output}}
    ]);
    let r = c
        .post(
            &format!("{}/ws/processor", ws),
            &json!({"name": "p", "pipeline": pipeline, "options": {"checkpointIntervalMs": 100}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    format!("{}/ws/processor/p", ws)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_points_loses_no_input() {
    let (input, output) = (unique_topic("crash-in"), unique_topic("crash-out"));
    let (i2, o2) = (input.clone(), output.clone());
    tokio::task::spawn_blocking(move || {
        create_topic(&broker(), &i2, 2);
        create_topic(&broker(), &o2, 1);
    })
    .await
    .unwrap();
    // Messages keep arriving for about three seconds, across the crashes.
    let i3 = input.clone();
    let producer = tokio::task::spawn_blocking(move || {
        let reading = |n: i64| format!(r#"{{"n": {}}}"#, n).into_bytes();
        produce_paced(&broker(), &i3, MESSAGES, CHUNK, Duration::from_millis(50), reading)
    });

    let dir = temp_dir("crash");
    let server = Server::start(&dir);
    let c = owner(&server, "MD5");
    let p = connect(&c, &server, &input, &output).await;
    assert_eq!(c.post(&format!("{}:start", p), &json!({})).await.status, StatusCode::OK);
    let (server, c) = support::crashes::crash_and_restart(server, &dir, c, &p, 3, (150, 700)).await;
    producer.await.unwrap();
    eventually(60, || async {
        let b = c.get(&p).await.body;
        (b["stats"]["inputMessageCount"].as_u64().unwrap_or(0) >= MESSAGES as u64).then_some(())
    })
    .await;
    let r = c.post(&format!("{}:stop", p), &json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);

    let o3 = output.clone();
    let out = tokio::task::spawn_blocking(move || read_all(&broker(), &o3, MESSAGES as usize, Duration::from_secs(60)))
        .await
        .unwrap();
    let mut seen: BTreeMap<i64, usize> = BTreeMap::new();
    for m in &out {
        let d: Json = serde_json::from_slice(&m.value).expect("JSON output");
        let n = d["n"].as_i64().expect("n");
        assert_eq!(d["double"].as_i64(), Some(n * 2), "{}", d);
        *seen.entry(n).or_default() += 1;
    }
    let missing: Vec<i64> = (0..MESSAGES).filter(|n| !seen.contains_key(n)).collect();
    assert!(missing.is_empty(), "{} inputs have no output: {:?}", missing.len(), &missing[..missing.len().min(20)]);
    let duplicates = out.len() - seen.len();
    eprintln!(
        "{} outputs for {} inputs: {} duplicates from replays after the crashes",
        out.len(),
        MESSAGES,
        duplicates
    );
    server.terminate();
    let _ = std::fs::remove_dir_all(dir);
}
