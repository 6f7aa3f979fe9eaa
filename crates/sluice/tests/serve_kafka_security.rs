//! `sluice serve` with Kafka connections as Atlas users write them for a secured cluster
//! (Apache Kafka's SASL_SSL listener: SCRAM-SHA-512 over TLS with the cluster's CA as
//! `brokerPublicCertificate`): a processor reads and writes through it; the same connection with
//! a wrong password fails the `:start` within seconds, saying authentication failed, and the
//! processor shows the reason in its state and the workspace's operational log. Sluice's
//! connection check (`:check`) says the same of each connection.

mod support;

#[path = "../../sluice-connectors/tests/support/kafka.rs"]
mod kafka;

use std::time::{Duration, Instant};

use kafka::{broker, create_topic, produce, read_all, unique_topic, Msg};
use reqwest::StatusCode;
use serde_json::{json, Value as Json};
use support::*;

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{} is not set: run the tests through scripts/test.sh", name))
}

/// An Atlas Kafka connection to the SASL_SSL listener with `password`.
fn secured(name: &str, password: &str) -> Json {
    json!({
        "name": name, "type": "Kafka", "bootstrapServers": env("SLUICE_TEST_KAFKA_SASL_SSL"),
        "security": {
            "protocol": "SASL_SSL",
            "brokerPublicCertificate": std::fs::read_to_string(env("SLUICE_TEST_KAFKA_CA")).expect("the test CA")
        },
        "authentication": {"mechanism": "SCRAM-512", "username": env("SLUICE_TEST_KAFKA_USER"), "password": password}
    })
}

fn pipeline(conn: &str, input: &str, output: &str) -> Json {
    json!([
        {"$source": {"connectionName": conn, "topic": input, "config": {"auto_offset_reset": "earliest"}}},
        {"$emit": {"connectionName": conn, "topic": output}}
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sasl_ssl_connection_carries_a_processor_and_a_wrong_password_fails_its_start() {
    let (input, output) = (unique_topic("secure-in"), unique_topic("secure-out"));
    let (i2, o2) = (input.clone(), output.clone());
    blocking(move || {
        create_topic(&broker(), &i2, 1);
        create_topic(&broker(), &o2, 1);
        let values: Vec<Vec<u8>> = (0..20).map(|n| format!(r#"{{"n": {}}}"#, n).into_bytes()).collect();
        produce(
            &broker(),
            &i2,
            &values.iter().map(|v| Msg { key: None, value: v, partition: None }).collect::<Vec<_>>(),
        );
    })
    .await;

    let dir = temp_dir("kafka-security");
    let server = Server::start(&dir);
    let c = owner(&server, "SHA-256");
    let streams = format!("/api/atlas/v2/groups/{}/streams", server.banner_value("groupId"));
    let password = env("SLUICE_TEST_KAFKA_PASSWORD");
    workspace_with(&c, &server, &[secured("secure", &password), secured("wrong", "not-the-password")]).await;
    let processors = format!("{}/ws/processor", streams);

    // Sluice's connection check reaches the brokers as a processor would.
    let r = c.post(&format!("{}/ws/connections/secure:check", streams), &json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["ok"], true, "{:?}", r.body);
    let started = Instant::now();
    let r = c.post(&format!("{}/ws/connections/wrong:check", streams), &json!({})).await;
    assert!(started.elapsed() < Duration::from_secs(15), "answered within seconds");
    assert_eq!((r.status, &r.body["ok"]), (StatusCode::OK, &json!(false)), "{:?}", r.body);
    let why = r.body["errorMsg"].as_str().unwrap_or_default().to_lowercase();
    assert!(why.contains("wrong") && why.contains("authentication"), "{:?}", r.body);
    assert!(!r.raw.windows(16).any(|w| w == b"not-the-password"), "the password is never shown");
    let r = c.get(&format!("{}/ws/connections/secure:check", streams)).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{:?}", r.body);
    let r = c.post(&format!("{}/ws/connections/nope:check", streams), &json!({})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{:?}", r.body);
    // It opens connections to other systems: a read-only key may not.
    let group = server.banner_value("groupId");
    let ro = cli(&server.dir, &["keys", "create", "--project", &group, "--role", "GROUP_READ_ONLY"]);
    let reader = Client::new(
        &server,
        Auth::Digest { user: line_value(&ro, "publicKey"), password: line_value(&ro, "privateKey"), algorithm: "MD5" },
    );
    let r = reader.post(&format!("{}/ws/connections/secure:check", streams), &json!({})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{:?}", r.body);

    let r = c.post(&processors, &json!({"name": "good", "pipeline": pipeline("secure", &input, &output)})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let r = c.post(&format!("{}/good:start", processors), &json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let o3 = output.clone();
    let out = blocking(move || read_all(&broker(), &o3, 20, Duration::from_secs(30))).await;
    assert_eq!(out.len(), 20, "every message through SCRAM-SHA-512 over TLS");

    let r = c.post(&processors, &json!({"name": "bad", "pipeline": pipeline("wrong", &input, &output)})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let started = Instant::now();
    let r = c.post(&format!("{}/bad:start", processors), &json!({})).await;
    assert!(started.elapsed() < Duration::from_secs(20), "refused within seconds, not a hang");
    assert!(r.status.is_client_error(), "{:?} {:?}", r.status, r.body);
    let detail = r.body["detail"].as_str().unwrap_or_default().to_lowercase();
    assert!(detail.contains("wrong") && detail.contains("authentication"), "{:?}", r.body);
    assert!(!r.raw.windows(16).any(|w| w == b"not-the-password"), "the password is never shown");

    let b = c.get(&format!("{}/bad", processors)).await.body;
    assert_eq!(b["state"], "FAILED", "{:?}", b);
    assert!(b["errorMsg"].as_str().unwrap_or_default().to_lowercase().contains("authentication"), "{:?}", b);
    let log = operational_log(&c, &streams, "ws").await;
    let failed: Vec<&Json> = log.iter().filter(|l| l["processor"] == "bad").collect();
    assert!(
        failed.iter().any(|l| l.to_string().to_lowercase().contains("authentication")),
        "the operational log says why: {:?}",
        failed
    );
    server.terminate();
    let _ = std::fs::remove_dir_all(dir);
}
