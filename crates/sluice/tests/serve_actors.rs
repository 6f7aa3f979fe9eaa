//! Each processor has an actor of its own: a `:start` stuck on a Kafka broker that never
//! answers holds up no call about another processor, and a server start resumes its processors
//! all at once.

mod support;

use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use support::*;

/// A listener that accepts connections and never answers: a broker that hangs. Counts them.
fn silent_broker() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming().map_while(Result::ok) {
            count.fetch_add(1, Ordering::SeqCst);
            held.push(s);
        }
    });
    (addr, accepted)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_stuck_on_a_silent_broker_holds_up_no_other_processor() {
    let dir = temp_dir("actors");
    let server = Server::start(&dir);
    let c = owner(&server, "SHA-256");
    let ws = sample_workspace(&c, &server).await;
    let (silent, accepted) = silent_broker();
    let r = c
        .post(
            &format!("{}/ws/connections", ws),
            &json!({"name": "silent", "type": "Kafka", "bootstrapServers": silent}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let processors = format!("{}/ws/processor", ws);
    for (name, source) in [
        ("stuck", json!({"connectionName": "silent", "topic": "t"})),
        ("free", json!({"connectionName": "sample_stream_solar"})),
    ] {
        let r = c.post(&processors, &json!({"name": name, "pipeline": [{"$source": source}]})).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    }

    let other = owner(&server, "SHA-256");
    let stuck_path = format!("{}/stuck:start", processors);
    let stuck = tokio::spawn(async move { other.post(&stuck_path, &json!({})).await });
    eventually(10, || async { (accepted.load(Ordering::SeqCst) > 0).then_some(()) }).await;

    // While the stuck start waits on the broker, the other processor is read, started and
    // stopped, and the stuck one is read too.
    let free = format!("{}/free", processors);
    for _ in 0..20 {
        assert_eq!(c.get(&free).await.status, StatusCode::OK);
    }
    assert_eq!(c.post(&format!("{}:start", free), &json!({})).await.status, StatusCode::OK);
    assert_eq!(c.get(&free).await.body["state"], "STARTED");
    assert_eq!(c.post(&format!("{}:stop", free), &json!({})).await.status, StatusCode::OK);
    assert_eq!(c.get(&format!("{}/stuck", processors)).await.body["state"], "CREATED");
    assert!(!stuck.is_finished(), "the stuck start was still waiting on its broker all along");

    // The stuck start ends with the broker's silence as its reason, and its processor is not
    // running: FAILED, showing why.
    let r = stuck.await.expect("the stuck start's task");
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:?}", r.body);
    assert!(r.body["detail"].as_str().unwrap_or_default().contains("silent"), "{:?}", r.body);
    let b = c.get(&format!("{}/stuck", processors)).await.body;
    assert_eq!(b["state"], "FAILED", "{:?}", b);
    assert!(b["errorMsg"].as_str().unwrap_or_default().contains("silent"), "{:?}", b);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_start_resumes_every_running_processor_and_logs_each() {
    let dir = temp_dir("actors-recover");
    let server = Server::start(&dir);
    let c = owner(&server, "SHA-256");
    let ws = sample_workspace(&c, &server).await;
    let processors = format!("{}/ws/processor", ws);
    let names: Vec<String> = (0..12).map(|i| format!("p{}", i)).collect();
    for name in &names {
        let pipeline = json!([{"$source": {"connectionName": "sample_stream_solar"}}]);
        assert_eq!(c.post(&processors, &json!({"name": name, "pipeline": pipeline})).await.status, StatusCode::OK);
        assert_eq!(c.post(&format!("{}/{}:start", processors, name), &json!({})).await.status, StatusCode::OK);
    }
    server.terminate();

    let server = Server::start(&dir);
    let c = Client { base: format!("http://{}", server.addr), ..c };
    for name in &names {
        let b = c.get(&format!("{}/{}", processors, name)).await.body;
        assert_eq!(b["state"], "STARTED", "{}: {:?}", name, b);
    }
    // The recovered lines are written together while the processors already run.
    let has_all = |log: &[serde_json::Value]| {
        names.iter().all(|name| log.iter().any(|l| l["processor"] == name.as_str() && l["event"] == "recovered"))
    };
    let waited = std::time::Instant::now();
    let mut log = operational_log(&c, &ws, "ws").await;
    while !has_all(&log) && waited.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(50)).await;
        log = operational_log(&c, &ws, "ws").await;
    }
    assert!(has_all(&log), "every processor has its recovered line in {:?}", log);
}
