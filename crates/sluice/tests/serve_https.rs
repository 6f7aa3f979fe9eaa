//! `sluice serve` with an Https connection: a processor enriches the sample solar stream with
//! what an HTTP server started by this test on loopback answers, sending the connection's secret
//! header, which the API never shows.

mod support;

use std::collections::HashMap;

use axum::extract::Query;
use axum::http::HeaderMap;
use axum::routing::get;
use axum::Router;
use reqwest::StatusCode;
use serde_json::json;
use support::*;

/// Answers `{device, authorized}`: the `device` parameter and whether the token came.
async fn lookup(headers: HeaderMap, Query(q): Query<HashMap<String, String>>) -> String {
    let authorized = headers.get("authorization").and_then(|v| v.to_str().ok()) == Some("Bearer tok-s3cret");
    json!({"device": q.get("device"), "authorized": authorized}).to_string()
}

async fn start_http_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, Router::new().route("/devices", get(lookup))).await });
    format!("http://{}", addr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_processor_enriches_each_event_over_https() {
    let url = start_http_server().await;
    let dir = temp_dir("https");
    let server = Server::start(&dir);
    let c = owner(&server, "SHA-256");
    let ws = sample_workspace(&c, &server).await;
    let r = c
        .post(
            &format!("{}/ws/connections", ws),
            &json!({"name": "devices", "type": "Https", "url": url, "headers": {"Authorization": "Bearer tok-s3cret"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let r = c.get(&format!("{}/ws/connections/devices", ws)).await;
    assert!(!r.raw.windows(9).any(|w| w == b"tok-s3cre"), "header values are never returned: {:?}", r.body);

    // A bad $https field is refused at creation, naming it.
    let bad = json!({"name": "bad", "pipeline": [{"$source": {"connectionName": "sample_stream_solar"}},
        {"$https": {"connectionName": "devices", "method": "FETCH", "as": "r"}}]});
    let r = c.post(&format!("{}/ws/processor", ws), &bad).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:?}", r.body);
    assert!(r.body["detail"].as_str().unwrap_or("").contains("method"), "{:?}", r.body);

    let pipeline = json!([
        {"$source": {"connectionName": "sample_stream_solar"}},
        {"$https": {"connectionName": "devices", "path": "/devices", "parameters": {"device": "$device_id"},
            "as": "info"}}
    ]);
    let r = c.post(&format!("{}/ws/processor", ws), &json!({"name": "enrich", "pipeline": pipeline})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let p = format!("{}/ws/processor/enrich", ws);
    assert_eq!(c.post(&format!("{}:start", p), &json!({})).await.status, StatusCode::OK);
    let docs = eventually(30, || async {
        let sample = c.get(&format!("{}/sample?limit=5", p)).await;
        let docs = sample.body["results"].as_array().cloned().unwrap_or_default();
        (!docs.is_empty()).then_some(docs)
    })
    .await;
    for d in &docs {
        assert_eq!(d["info"]["device"], d["device_id"], "{}", d);
        assert_eq!(d["info"]["authorized"], true, "the connection's header was sent: {}", d);
        assert_eq!(d["_stream_meta"]["https"]["httpStatusCode"], 200, "{}", d);
    }
    let b = c.get(&p).await.body;
    assert_eq!(b["stats"]["dlqMessageCount"].as_u64().unwrap_or(0), 0, "{:?}", b);
    server.terminate();
    let _ = std::fs::remove_dir_all(dir);
}
