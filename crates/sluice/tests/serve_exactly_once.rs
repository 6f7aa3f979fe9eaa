//! Exactly-once output into Kafka end to end: a Kafka → Kafka processor with
//! `$emit.config.deliveryGuarantee: "exactlyOnce"` is killed with SIGKILL at random points while
//! messages keep arriving, and started again each time. Once it has caught up, a
//! `read_committed` consumer of the output topic sees every output exactly once, for a
//! stateless pipeline and for a windowed one. Needs the Apache Kafka broker (transactions).

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
/// Windowed inputs are 10 ms of event time apart: 100 to a one-second window.
const PER_WINDOW: i64 = 100;

/// A processor `p` of workspace `ws` reading `input` through `stages` into `output`, exactly once.
async fn create(c: &Client, server: &Server, input: &str, stages: Vec<Json>, output: &str) -> String {
    let ws =
        workspace_with(c, server, &[json!({"name": "kafka", "type": "Kafka", "bootstrapServers": broker()})]).await;
    let mut pipeline = vec![json!({"$source": {
        "connectionName": "kafka", "topic": input, "timeField": {"$toDate": "$ts"},
        "config": {"auto_offset_reset": "earliest"}
    }})];
    pipeline.extend(stages);
    pipeline.push(json!({"$emit": {
        "connectionName": "kafka", "topic": output, "config": {"deliveryGuarantee": "exactlyOnce"}
    }}));
    let r = c
        .post(
            &format!("{}/ws/processor", ws),
            &json!({"name": "p", "pipeline": pipeline, "options": {"checkpointIntervalMs": 100}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    format!("{}/ws/processor/p", ws)
}

/// Runs the processor through three SIGKILLs while the input arrives, waits until it has read
/// everything, stops it and returns every output a `read_committed` consumer sees.
async fn run_through_crashes(stages: Vec<Json>, name: &str, expected_outputs: usize) -> Vec<Json> {
    let (input, output) = (unique_topic(&format!("{}-in", name)), unique_topic(&format!("{}-out", name)));
    let (i2, o2) = (input.clone(), output.clone());
    tokio::task::spawn_blocking(move || {
        create_topic(&broker(), &i2, 1);
        create_topic(&broker(), &o2, 2);
    })
    .await
    .unwrap();
    // Messages keep arriving for about three seconds, across the crashes.
    let i3 = input.clone();
    let producer = tokio::task::spawn_blocking(move || {
        let reading = |n: i64| format!(r#"{{"n": {}, "ts": {}}}"#, n, 1_700_000_000_000i64 + n * 10).into_bytes();
        produce_paced(&broker(), &i3, MESSAGES, CHUNK, Duration::from_millis(50), reading)
    });

    let dir = temp_dir(name);
    let server = Server::start(&dir);
    let c = owner(&server, "MD5");
    let p = create(&c, &server, &input, stages, &output).await;
    assert_eq!(c.post(&format!("{}:start", p), &json!({})).await.status, StatusCode::OK);
    let (server, c) = support::crashes::crash_and_restart(server, &dir, c, &p, 3, (150, 900)).await;
    producer.await.unwrap();
    eventually(90, || async {
        let b = c.get(&p).await.body;
        (b["stats"]["inputMessageCount"].as_u64().unwrap_or(0) >= MESSAGES as u64).then_some(())
    })
    .await;
    let r = c.post(&format!("{}:stop", p), &json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    server.terminate();
    let _ = std::fs::remove_dir_all(dir);

    let out =
        tokio::task::spawn_blocking(move || read_all(&broker(), &output, expected_outputs, Duration::from_secs(60)))
            .await
            .unwrap();
    out.iter().map(|m| serde_json::from_slice(&m.value).expect("JSON output")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stateless_output_is_seen_exactly_once_across_sigkills() {
    let stages = vec![json!({"$addFields": {"double": {"$multiply": ["$n", 2]}}})];
    let out = run_through_crashes(stages, "eos-stateless", MESSAGES as usize).await;
    let mut seen: BTreeMap<i64, usize> = BTreeMap::new();
    for d in &out {
        let n = d["n"].as_i64().expect("n");
        assert_eq!(d["double"].as_i64(), Some(n * 2), "{}", d);
        *seen.entry(n).or_default() += 1;
    }
    let missing: Vec<i64> = (0..MESSAGES).filter(|n| !seen.contains_key(n)).collect();
    assert!(missing.is_empty(), "{} inputs have no output: {:?}", missing.len(), &missing[..missing.len().min(20)]);
    let twice: Vec<(&i64, &usize)> = seen.iter().filter(|(_, k)| **k > 1).collect();
    assert!(twice.is_empty(), "{} inputs have more than one output: {:?}", twice.len(), &twice[..twice.len().min(20)]);
    assert_eq!(out.len(), MESSAGES as usize);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn windowed_output_is_seen_exactly_once_across_sigkills() {
    let stages = vec![json!({"$tumblingWindow": {
        "interval": {"size": 1, "unit": "second"},
        "pipeline": [{"$group": {"_id": null, "count": {"$sum": 1}, "first": {"$min": "$n"}, "last": {"$max": "$n"}}}]
    }})];
    // The last window stays open: no later event closes it.
    let closed = (MESSAGES / PER_WINDOW - 1) as usize;
    let out = run_through_crashes(stages, "eos-windowed", closed).await;
    let mut windows: BTreeMap<i64, usize> = BTreeMap::new();
    for d in &out {
        let first = d["first"].as_i64().expect("first");
        assert_eq!(first % PER_WINDOW, 0, "a window starts at a multiple of {}: {}", PER_WINDOW, d);
        assert_eq!(d["count"].as_i64(), Some(PER_WINDOW), "every window holds all its inputs once: {}", d);
        assert_eq!(d["last"].as_i64(), Some(first + PER_WINDOW - 1), "{}", d);
        *windows.entry(first / PER_WINDOW).or_default() += 1;
    }
    let twice: Vec<_> = windows.iter().filter(|(_, k)| **k > 1).collect();
    assert!(twice.is_empty(), "windows emitted more than once: {:?}", twice);
    let expected: Vec<i64> = (0..closed as i64).collect();
    assert_eq!(windows.keys().copied().collect::<Vec<_>>(), expected, "every closed window, once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkpoint_interval_longer_than_a_transaction_may_stay_open_is_refused() {
    let dir = temp_dir("eos-interval");
    let server = Server::start(&dir);
    let c = owner(&server, "MD5");
    let ws =
        workspace_with(&c, &server, &[json!({"name": "kafka", "type": "Kafka", "bootstrapServers": broker()})]).await;
    let processor = |guarantee: &str, interval: u64| {
        json!({"name": format!("p-{}-{}", guarantee, interval), "options": {"checkpointIntervalMs": interval}, "pipeline": [
            {"$source": {"connectionName": "kafka", "topic": "in"}},
            {"$emit": {"connectionName": "kafka", "topic": "out", "config": {"deliveryGuarantee": guarantee}}}
        ]})
    };
    let r = c.post(&format!("{}/ws/processor", ws), &processor("exactlyOnce", 600_000)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:?}", r.body);
    assert!(r.body.to_string().contains("checkpointIntervalMs"), "{:?}", r.body);
    // At least once, output does not wait for checkpoints: any interval.
    let r = c.post(&format!("{}/ws/processor", ws), &processor("atLeastOnce", 600_000)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let r = c.post(&format!("{}/ws/processor", ws), &processor("exactlyOnce", 60_000)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    server.terminate();
    let _ = std::fs::remove_dir_all(dir);
}
