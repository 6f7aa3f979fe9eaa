//! Sluice's extensions on a stopped processor's saved state, through the API: `:resetOffsets`
//! of a Kafka source (earliest, latest, a time, explicit offsets) and reading and dropping a
//! window stage's saved state. Each is refused while the processor runs.

mod support;

#[path = "../../sluice-connectors/tests/support/kafka.rs"]
mod kafka;

use kafka::{broker, create_topic, produce, read_all, unique_topic, Msg};
use reqwest::StatusCode;
use serde_json::{json, Value as Json};
use support::*;

/// One message per request: the test broker reports wrong end offsets for batches of several,
/// and `latest` is the end offset.
async fn produce_ns(topic: &str, ns: std::ops::Range<i64>) {
    let topic = topic.to_string();
    blocking(move || {
        for n in ns {
            let v = format!(r#"{{"n": {}}}"#, n).into_bytes();
            produce(&broker(), &topic, &[Msg { key: None, value: &v, partition: Some(0) }]);
        }
    })
    .await
}

async fn emitted(topic: &str, expect: usize) -> Vec<i64> {
    let topic = topic.to_string();
    let out = blocking(move || read_all(&broker(), &topic, expect, std::time::Duration::from_secs(30))).await;
    out.iter().map(|m| serde_json::from_slice::<Json>(&m.value).expect("JSON")["n"].as_i64().expect("n")).collect()
}

fn output_count(body: &Json) -> u64 {
    body["stats"]["outputMessageCount"].as_u64().unwrap_or(0)
}

/// Starts, waits until the processor has written `total` documents in all, stops.
async fn run_until_output(c: &Client, p: &str, total: u64) {
    let r = c.post(&format!("{}:start", p), &json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    eventually(30, || async { (output_count(&c.get(p).await.body) >= total).then_some(()) }).await;
    let r = c.post(&format!("{}:stop", p), &json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_offsets_of_a_stopped_kafka_processor() {
    let (input, output) = (unique_topic("in"), unique_topic("out"));
    let (i2, o2) = (input.clone(), output.clone());
    blocking(move || {
        create_topic(&broker(), &i2, 1);
        create_topic(&broker(), &o2, 1);
    })
    .await;
    produce_ns(&input, 0..5).await;

    let dir = temp_dir("reset-offsets");
    let server = Server::start(&dir);
    let c = owner(&server, "SHA-256");
    let ws = sample_workspace(&c, &server).await;
    let r = c
        .post(
            &format!("{}/ws/connections", ws),
            &json!({"name": "kafka", "type": "Kafka", "bootstrapServers": broker()}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let pipeline = json!([
        {"$source": {"connectionName": "kafka", "topic": input, "config": {"auto_offset_reset": "earliest"}}},
        {"$emit": {"connectionName": "kafka", "topic": output}}
    ]);
    let r = c.post(&format!("{}/ws/processor", ws), &json!({"name": "p", "pipeline": pipeline})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let p = format!("{}/ws/processor/p", ws);
    run_until_output(&c, &p, 5).await;
    assert_eq!(emitted(&output, 5).await, vec![0, 1, 2, 3, 4]);

    // Earliest: everything is read again.
    let r = c.post(&format!("{}:resetOffsets", p), &json!({"to": "earliest"})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    run_until_output(&c, &p, 10).await;
    assert_eq!(emitted(&output, 10).await, vec![0, 1, 2, 3, 4, 0, 1, 2, 3, 4]);

    // Latest: what was written while stopped is skipped, what comes after is read.
    produce_ns(&input, 5..8).await;
    let r = c.post(&format!("{}:resetOffsets", p), &json!({"to": "latest"})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let r = c.post(&format!("{}:start", p), &json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);

    // Refused while it runs, naming both sides.
    let r = c.post(&format!("{}:resetOffsets", p), &json!({"to": "earliest"})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:?}", r.body);
    assert!(r.body["detail"].as_str().unwrap_or("").contains("from [STARTED] to Reset"), "{:?}", r.body);

    produce_ns(&input, 8..9).await;
    eventually(30, || async { (output_count(&c.get(&p).await.body) >= 11).then_some(()) }).await;
    let r = c.post(&format!("{}:stop", p), &json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(emitted(&output, 11).await[10..], [8]);

    // Explicit offsets, and a partition the source does not read refused by name.
    let r = c
        .post(
            &format!("{}:resetOffsets", p),
            &json!({"to": "offsets", "offsets": [{"topic": input, "partition": 0, "offset": 6}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    run_until_output(&c, &p, 14).await;
    assert_eq!(emitted(&output, 14).await[11..], [6, 7, 8]);
    let r = c
        .post(
            &format!("{}:resetOffsets", p),
            &json!({"to": "offsets", "offsets": [{"topic": input, "partition": 7, "offset": 0}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:?}", r.body);
    assert!(r.body["detail"].as_str().unwrap_or("").contains("/7 is not a partition"), "{:?}", r.body);

    // A bad body names the field.
    let r = c.post(&format!("{}:resetOffsets", p), &json!({"to": "yesterday"})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:?}", r.body);
    assert!(r.raw.windows(2).any(|w| w == b"to"), "{:?}", r.body);
    let r = c.post(&format!("{}:resetOffsets", p), &json!({"to": "timestamp"})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:?}", r.body);
    assert!(r.raw.windows(9).any(|w| w == b"timestamp"), "{:?}", r.body);
    server.terminate();
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_and_drop_a_window_stages_saved_state() {
    let dir = temp_dir("stage-state");
    let server = Server::start(&dir);
    let c = owner(&server, "MD5");
    let ws = sample_workspace(&c, &server).await;
    let pipeline = json!([
        {"$source": {"connectionName": "sample_stream_solar"}},
        {"$match": {"obs.watts": {"$gte": 0}}},
        {"$tumblingWindow": {"interval": {"size": 1, "unit": "hour"},
            "pipeline": [{"$group": {"_id": "$device_id", "n": {"$count": {}}}}]}}
    ]);
    let r = c.post(&format!("{}/ws/processor", ws), &json!({"name": "w", "pipeline": pipeline})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let p = format!("{}/ws/processor/w", ws);
    let r = c.get(&format!("{}/state", p)).await;
    assert_eq!((r.status, r.body["totalCount"].as_u64()), (StatusCode::OK, Some(0)), "no checkpoint yet: {:?}", r.body);

    let r = c.post(&format!("{}:start", p), &json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    eventually(30, || async {
        (c.get(&p).await.body["stats"]["inputMessageCount"].as_u64().unwrap_or(0) >= 3).then_some(())
    })
    .await;
    let r = c.delete(&format!("{}/state/2", p)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "refused while running: {:?}", r.body);
    let r = c.post(&format!("{}:stop", p), &json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);

    let r = c.get(&format!("{}/state", p)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let stages = r.body["results"].as_array().expect("results").clone();
    assert_eq!(stages.len(), 1, "{:?}", stages);
    assert_eq!((stages[0]["index"].as_u64(), stages[0]["stage"].as_str()), (Some(2), Some("$tumblingWindow")));
    let windows = stages[0]["state"]["windows"].as_array().expect("windows").len();
    assert!(windows >= 1, "the open hour window is saved: {:?}", stages[0]);
    let input_before = c.get(&p).await.body["stats"]["inputMessageCount"].as_u64().unwrap_or(0);

    let r = c.delete(&format!("{}/state/1", p)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "$match keeps no state: {:?}", r.body);
    assert!(r.body["detail"].as_str().unwrap_or("").contains("keeps no state"), "{:?}", r.body);
    let r = c.delete(&format!("{}/state/2", p)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    let r = c.get(&format!("{}/state", p)).await;
    assert_eq!(r.body["results"][0]["state"]["windows"].as_array().map(Vec::len), Some(0), "{:?}", r.body);

    // The source position and counters were kept: the next start goes on from them.
    let r = c.post(&format!("{}:start", p), &json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let b = c.get(&p).await.body;
    assert!(b["stats"]["inputMessageCount"].as_u64().unwrap_or(0) >= input_before, "{:?}", b["stats"]);
    server.terminate();
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_processor_shows_its_last_figures_also_after_a_restart() {
    let dir = temp_dir("stopped-stats");
    let server = Server::start(&dir);
    let c = owner(&server, "SHA-256");
    let ws = sample_workspace(&c, &server).await;
    let pipeline =
        json!([{"$source": {"connectionName": "sample_stream_solar"}}, {"$match": {"obs.watts": {"$gte": 0}}}]);
    let r = c.post(&format!("{}/ws/processor", ws), &json!({"name": "s", "pipeline": pipeline})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let p = format!("{}/ws/processor/s", ws);
    assert_eq!(c.get(&p).await.body["stats"]["inputMessageCount"].as_u64(), Some(0), "nothing before the first run");
    run_until_output(&c, &p, 3).await;
    let stopped = c.get(&p).await.body;
    assert_eq!(stopped["state"], "STOPPED");
    let read = stopped["stats"]["inputMessageCount"].as_u64().unwrap_or(0);
    assert!(read >= 3, "the last run's figures, not zero: {:?}", stopped["stats"]);
    assert_eq!(stopped["stats"]["outputMessageCount"].as_u64(), Some(read), "every reading passes the $match");

    server.terminate();
    let server = Server::start(&dir);
    let c = Client { base: format!("http://{}", server.addr), ..c };
    let after = c.get(&p).await.body;
    assert_eq!(after["state"], "STOPPED");
    assert_eq!(
        after["stats"]["inputMessageCount"].as_u64(),
        Some(read),
        "from the stop's checkpoint: {:?}",
        after["stats"]
    );
    let listed = c.get(&format!("{}/ws/processors", ws)).await.body;
    assert_eq!(listed["results"][0]["stats"]["inputMessageCount"].as_u64(), Some(read), "{:?}", listed);
    server.terminate();
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_processor_over_its_state_limit_fails_and_the_server_goes_on() {
    let dir = temp_dir("state-limit");
    let server = Server::start(&dir);
    let c = owner(&server, "SHA-256");
    let ws = sample_workspace(&c, &server).await;
    let pipeline = json!([
        {"$source": {"connectionName": "sample_stream_solar"}},
        {"$tumblingWindow": {"interval": {"size": 1, "unit": "hour"},
            "pipeline": [{"$group": {"_id": "$device_id", "readings": {"$push": "$obs"}}}]}}
    ]);
    let bad = json!({"name": "bad", "pipeline": pipeline, "options": {"maxStateBytes": -1}});
    let r = c.post(&format!("{}/ws/processor", ws), &bad).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:?}", r.body);
    assert!(r.raw.windows(13).any(|w| w == b"maxStateBytes"), "{:?}", r.body);

    let r = c
        .post(
            &format!("{}/ws/processor", ws),
            &json!({"name": "big", "pipeline": pipeline, "options": {"maxStateBytes": 2000}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let p = format!("{}/ws/processor/big", ws);
    assert_eq!(c.post(&format!("{}:start", p), &json!({})).await.status, StatusCode::OK);
    let failed = eventually(30, || async {
        let b = c.get(&p).await.body;
        (b["state"] == "FAILED").then_some(b)
    })
    .await;
    let msg = failed["errorMsg"].as_str().unwrap_or_default();
    assert!(msg.contains("exceeds the limit of 2000 bytes") && msg.contains("maxStateBytes"), "{}", msg);
    // A limit the user set is the user's to change: the log says whose failure it is.
    let log = operational_log(&c, &ws, "ws").await;
    let line = log.iter().find(|l| l["processor"] == "big" && l["event"] == "failed");
    assert_eq!(line.map(|l| l["domain"].clone()), Some(json!("user")), "{:?}", log);

    // The server and its other processors go on.
    let ok = json!([{"$source": {"connectionName": "sample_stream_solar"}}, {"$match": {"obs.watts": {"$gte": 0}}}]);
    let r = c.post(&format!("{}/ws/processor", ws), &json!({"name": "small", "pipeline": ok})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    run_until_output(&c, &format!("{}/ws/processor/small", ws), 1).await;
    server.terminate();
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_tier_refuses_a_topic_with_more_partitions_than_it_may_read() {
    let input = unique_topic("wide");
    let i2 = input.clone();
    blocking(move || create_topic(&broker(), &i2, 33)).await;
    let dir = temp_dir("tier-partitions");
    let server = Server::start(&dir);
    let c = owner(&server, "MD5");
    let ws = sample_workspace(&c, &server).await;
    let r = c
        .post(
            &format!("{}/ws/connections", ws),
            &json!({"name": "kafka", "type": "Kafka", "bootstrapServers": broker()}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let pipeline = json!([{"$source": {"connectionName": "kafka", "topic": input}}]);
    let r = c.post(&format!("{}/ws/processor", ws), &json!({"name": "wide", "pipeline": pipeline})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let p = format!("{}/ws/processor/wide", ws);
    let r = c.post(&format!("{}:startWith", p), &json!({"tier": "SP2"})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:?}", r.body);
    let detail = r.body["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("33 partitions") && detail.contains("SP2"), "{}", detail);
    let r = c.post(&format!("{}:startWith", p), &json!({"tier": "SP10"})).await;
    assert_eq!(r.status, StatusCode::OK, "SP10 reads any number: {:?}", r.body);
    server.terminate();
    let _ = std::fs::remove_dir_all(dir);
}
