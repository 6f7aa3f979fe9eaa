//! `sluice serve` with a Kafka connection on a real broker: a processor created, started,
//! stopped and started again through the Atlas API reads every message once and writes every
//! result once, commits its offsets to its consumer group (as Kafka's own kafka-consumer-groups
//! tool shows), and never shows the password. And Kafka → window → `$merge` into a real
//! MongoDB-wire server.

mod support;

#[path = "../../sluice-connectors/tests/support/kafka.rs"]
mod kafka;
#[path = "../../sluice-connectors/tests/support/mongodb.rs"]
mod mongo;

use kafka::{broker, create_topic, produce, read_all, unique_topic, Msg};
use reqwest::StatusCode;
use serde_json::{json, Value as Json};
use support::*;

async fn produce_readings(topic: &str, range: std::ops::Range<i64>) {
    let topic = topic.to_string();
    blocking(move || {
        let values: Vec<Vec<u8>> = range
            .map(|n| format!(r#"{{"n": {}, "watts": {}, "ts": {{"$date": {}}}}}"#, n, n * 10, n * 1000).into_bytes())
            .collect();
        produce(
            &broker(),
            &topic,
            &values.iter().map(|v| Msg { key: None, value: v, partition: None }).collect::<Vec<_>>(),
        );
    })
    .await
}

async fn output_ns(topic: &str, expect: usize) -> Vec<i64> {
    let topic = topic.to_string();
    let out = blocking(move || read_all(&broker(), &topic, expect, std::time::Duration::from_secs(30))).await;
    let mut ns: Vec<i64> = out
        .iter()
        .map(|m| {
            let d: Json = serde_json::from_slice(&m.value).expect("JSON output");
            d["n"].as_i64().expect("n")
        })
        .collect();
    ns.sort_unstable();
    ns
}

/// What `kafka-consumer-groups --describe --group GROUP` prints (Apache Kafka's own tool).
fn describe_group(group: &str) -> String {
    let script =
        std::env::var("SLUICE_APACHE_KAFKA").expect("SLUICE_APACHE_KAFKA: run the tests through scripts/test.sh");
    let out = std::process::Command::new(script)
        .args(["describe-group", &broker(), group])
        .output()
        .expect("Kafka's consumer group tool runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn count(body: &Json, field: &str) -> u64 {
    body["stats"][field].as_u64().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kafka_processor_stopped_and_started_reads_and_writes_everything_once() {
    let (input, output) = (unique_topic("in"), unique_topic("out"));
    let (i2, o2) = (input.clone(), output.clone());
    blocking(move || {
        create_topic(&broker(), &i2, 2);
        create_topic(&broker(), &o2, 1);
    })
    .await;
    produce_readings(&input, 0..10).await;

    let dir = temp_dir("kafka");
    let server = Server::start(&dir);
    let c = owner(&server, "SHA-256");
    let ws = format!("/api/atlas/v2/groups/{}/streams", server.banner_value("groupId"));
    let r = c
        .post(&ws, &json!({"name": "ws", "dataProcessRegion": {"cloudProvider": "AWS", "region": "VIRGINIA_USA"}}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let r = c
        .post(
            &format!("{}/ws/connections", ws),
            &json!({"name": "kafka", "type": "Kafka", "bootstrapServers": broker(),
                "security": {"protocol": "PLAINTEXT"},
                "authentication": {"mechanism": "PLAIN", "username": "sluice", "password": "s3cret-pw"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert!(!r.raw.windows(9).any(|w| w == b"s3cret-pw"), "the password is never returned");

    // A bad Kafka field is refused at creation, naming it.
    let bad = json!({"name": "bad", "pipeline": [{"$source": {"connectionName": "kafka", "topic": input,
        "config": {"keyFormat": "xml"}}}]});
    let r = c.post(&format!("{}/ws/processor", ws), &bad).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:?}", r.body);
    assert!(r.body["detail"].as_str().unwrap_or("").contains("keyFormat"), "{:?}", r.body);

    let pipeline = json!([
        {"$source": {"connectionName": "kafka", "topic": input, "timeField": "$ts",
            "config": {"auto_offset_reset": "earliest"}}},
        {"$addFields": {"kw": {"$divide": ["$watts", 1000]}}},
        {"$emit": {"connectionName": "kafka", "topic": output}}
    ]);
    let r = c
        .post(
            &format!("{}/ws/processor", ws),
            &json!({"name": "p", "pipeline": pipeline, "options": {"checkpointIntervalMs": 200}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let processor_id = r.body["_id"].as_str().expect("_id").to_string();
    let p = format!("{}/ws/processor/p", ws);

    assert_eq!(c.post(&format!("{}:start", p), &json!({})).await.status, StatusCode::OK);
    eventually(30, || async { (count(&c.get(&p).await.body, "outputMessageCount") >= 10).then_some(()) }).await;
    let r = c.post(&format!("{}:stop", p), &json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(output_ns(&output, 10).await, (0..10).collect::<Vec<_>>());

    // Messages produced while stopped are read after the start, and nothing before them again.
    produce_readings(&input, 10..25).await;
    assert_eq!(c.post(&format!("{}:start", p), &json!({})).await.status, StatusCode::OK);
    eventually(30, || async { (count(&c.get(&p).await.body, "outputMessageCount") >= 25).then_some(()) }).await;
    let b = c.get(&p).await.body;
    assert_eq!(count(&b, "inputMessageCount"), 25, "{:?}", b);
    // Per partition: where the processor stands, the partition's end and the lag between them.
    let parts = b["stats"]["kafkaPartitions"].as_array().expect("kafkaPartitions in the stats");
    assert_eq!(parts.len(), 2, "{:?}", parts);
    assert!(parts.iter().all(|p| p["topic"] == input.as_str() && p["isIdle"].is_boolean()), "{:?}", parts);
    assert_eq!(parts.iter().map(|p| p["currentOffset"].as_i64().unwrap_or(0)).sum::<i64>(), 25, "{:?}", parts);
    eventually(10, || async {
        let b = c.get(&p).await.body;
        let parts = b["stats"]["kafkaPartitions"].as_array().cloned().unwrap_or_default();
        parts.iter().all(|p| p["endOffset"] == p["currentOffset"] && p["lag"] == 0).then_some(())
    })
    .await;
    assert!(b["stats"]["sinkWriteMillis"].is_u64() && b["stats"]["sourceReadMillis"].is_u64(), "{:?}", b["stats"]);
    assert_eq!(output_ns(&output, 25).await, (0..25).collect::<Vec<_>>(), "every reading once");

    // The offsets reach the processor's consumer group (Atlas names it asp-<id>-consumer).
    let group = format!("asp-{}-consumer", processor_id);
    eventually(30, || {
        let (group, input) = (group.clone(), input.clone());
        async move {
            let committed = blocking(move || kafka::committed(&broker(), &group, &input, 2)).await;
            (committed.iter().map(|o| o.unwrap_or(0)).sum::<i64>() == 25).then_some(())
        }
    })
    .await;
    // Kafka's own kafka-consumer-groups tool sees them: every partition read to its end, lag 0.
    let described = blocking(move || describe_group(&group)).await;
    let rows: Vec<Vec<&str>> = described
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|cols| cols.get(1) == Some(&input.as_str()))
        .collect();
    assert_eq!(rows.len(), 2, "a row per partition: {}", described);
    // GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG ...
    let current: i64 = rows.iter().map(|r| r[3].parse::<i64>().expect("CURRENT-OFFSET")).sum();
    assert_eq!(current, 25, "{}", described);
    assert!(rows.iter().all(|r| r[3] == r[4] && r[5] == "0"), "no lag: {}", described);
    server.terminate();
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_through_a_window_into_a_mongodb_collection() {
    let input = unique_topic("win");
    let i2 = input.clone();
    blocking(move || create_topic(&broker(), &i2, 1)).await;
    // Three devices, one reading a second for 35 s of event time.
    let i3 = input.clone();
    blocking(move || {
        let values: Vec<Vec<u8>> = (0..35)
            .flat_map(|s| (0..3).map(move |d| (s, d)))
            .map(|(s, d)| {
                format!(r#"{{"device": "d{}", "watts": {}, "ts": {{"$date": {}}}}}"#, d, s, s * 1000).into_bytes()
            })
            .collect();
        let mut msgs: Vec<Msg<'_>> = values.iter().map(|v| Msg { key: None, value: v, partition: None }).collect();
        msgs.push(Msg { key: None, value: b"{not json", partition: None });
        produce(&broker(), &i3, &msgs);
    })
    .await;

    let dir = temp_dir("kafka-merge");
    let server = Server::start(&dir);
    let c = owner(&server, "MD5");
    let ws = workspace_with(
        &c,
        &server,
        &[
            json!({"name": "kafka", "type": "Kafka", "bootstrapServers": broker()}),
            json!({"name": "mongo", "type": "Cluster", "connectionString": mongo::uri()}),
        ],
    )
    .await;
    let db = mongo::unique_db("windows");
    let pipeline = json!([
        {"$source": {"connectionName": "kafka", "topic": input, "timeField": "$ts",
            "config": {"auto_offset_reset": "earliest"}}},
        {"$tumblingWindow": {"interval": {"size": 10, "unit": "second"},
            "pipeline": [{"$group": {"_id": "$device", "n": {"$count": {}}, "total": {"$sum": "$watts"}}}]}},
        {"$addFields": {"_id": {"device": "$_id", "start": {"$meta": "stream.window.start"}}}},
        {"$merge": {"into": {"connectionName": "mongo", "db": db, "coll": "power"}}}
    ]);
    let options = json!({"dlq": {"connectionName": "mongo", "db": db, "coll": "dead"}});
    let r =
        c.post(&format!("{}/ws/processor", ws), &json!({"name": "w", "pipeline": pipeline, "options": options})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let p = format!("{}/ws/processor/w", ws);
    let r = c.post(&format!("{}:start", p), &json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);

    // Windows [0,10), [10,20), [20,30) close (event time reached 34 s); [30,40) stays open.
    let db2 = db.clone();
    let docs = eventually(30, || {
        let db = db2.clone();
        async move {
            let docs = blocking(move || mongo::all(&db, "power")).await;
            (docs.len() >= 9).then_some(docs)
        }
    })
    .await;
    assert_eq!(docs.len(), 9, "three windows of three devices");
    for d in &docs {
        let n = d.get("n").and_then(sluice_mql::Value::as_exact_i64);
        assert_eq!(n, Some(10), "ten readings per device per window: {:?}", d);
    }
    let first_d0 = docs.iter().find(|d| {
        d.get_path("_id.device").and_then(sluice_mql::Value::as_str) == Some("d0")
            && d.get_path("_id.start") == Some(&sluice_mql::Value::DateTime(0))
    });
    assert_eq!(
        first_d0.and_then(|d| d.get("total")).and_then(sluice_mql::Value::as_exact_i64),
        Some(45),
        "0 + 1 + ... + 9 watts"
    );

    // The malformed message is in the DLQ collection, with why and its raw text.
    let dead = eventually(30, || {
        let db = db.clone();
        async move {
            let dead = blocking(move || mongo::all(&db, "dead")).await;
            (!dead.is_empty()).then_some(dead)
        }
    })
    .await;
    assert_eq!(dead.len(), 1, "{:?}", dead);
    let reason = dead[0].get_path("errInfo.reason").and_then(sluice_mql::Value::as_str).unwrap_or_default();
    assert!(reason.contains("not a JSON document"), "{}", reason);
    assert_eq!(dead[0].get("raw").and_then(sluice_mql::Value::as_str), Some("{not json"));
    assert_eq!(dead[0].get("processorName").and_then(sluice_mql::Value::as_str), Some("w"));

    server.terminate();
    let _ = std::fs::remove_dir_all(dir);
}
