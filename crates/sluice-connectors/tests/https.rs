//! `$https` through the engine against an HTTP server this test starts on loopback: paths,
//! parameters and headers from expressions, the connection's headers, payload pipelines, the
//! answer at `as` with `_stream_meta.https`, retries, timeouts, bounded concurrency, and every
//! `onError` mode.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{any, get as route_get};
use axum::Router;
use sluice_connectors::https::{HttpsConnection, HttpsEnricher, HttpsOptions};
use sluice_connectors::{DocumentsSource, MemorySink, TestLog};
use sluice_engine::{EngineError, Enricher, Executor, ExecutorConfig, StepOutcome};
use sluice_mql::json::parse_document;
use sluice_mql::{Document, Value};
use sluice_pipeline::{parse_pipeline_json, Stage};

#[derive(Default)]
struct Server {
    /// Calls per `/flaky/{key}`.
    flaky: Mutex<HashMap<String, usize>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

/// `/echo/...`: the request as JSON. `/status/{code}`: that status. `/flaky/{key}`: 500 twice,
/// then 200. `/slow/{ms}`: answers after that long, counting requests in flight. `/text`: not JSON.
async fn echo(
    headers: HeaderMap,
    Path(rest): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> String {
    let h = |k: &str| headers.get(k).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let mut query: Vec<(&String, &String)> = q.iter().collect();
    query.sort();
    let query: Vec<String> = query.iter().map(|(k, v)| format!("{:?}: {:?}", k, v)).collect();
    format!(
        r#"{{"path": {:?}, "query": {{{}}}, "apiKey": {:?}, "device": {:?}, "contentType": {:?}, "body": {:?}}}"#,
        rest,
        query.join(", "),
        h("x-api-key"),
        h("x-device"),
        h("content-type"),
        String::from_utf8_lossy(&body)
    )
}

fn start_server() -> (String, Arc<Server>) {
    let state = Arc::new(Server::default());
    let app = Router::new()
        .route("/echo/{*rest}", any(echo))
        .route(
            "/status/{code}",
            route_get(|Path(code): Path<u16>| async move { (StatusCode::from_u16(code).unwrap(), "nope") }),
        )
        .route(
            "/flaky/{key}",
            route_get(|State(s): State<Arc<Server>>, Path(key): Path<String>| async move {
                let mut calls = s.flaky.lock().unwrap();
                let n = calls.entry(key).or_default();
                *n += 1;
                if *n <= 2 {
                    (StatusCode::INTERNAL_SERVER_ERROR, "{}".to_string())
                } else {
                    (StatusCode::OK, format!(r#"{{"calls": {}}}"#, n))
                }
            }),
        )
        .route(
            "/slow/{ms}",
            route_get(|State(s): State<Arc<Server>>, Path(ms): Path<u64>| async move {
                let now = s.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                s.max_in_flight.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(ms)).await;
                s.in_flight.fetch_sub(1, Ordering::SeqCst);
                r#"{"ok": true}"#
            }),
        )
        .route("/text", route_get(|| async { "plain words" }))
        .with_state(state.clone());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            let l = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(l, app).await.unwrap();
        });
    });
    (format!("http://{}", addr), state)
}

struct Run {
    out: Vec<Document>,
    dlq: Vec<Document>,
    error: Option<EngineError>,
}

/// Runs `stages` over `docs` with `$https` on a connection to `url` (with an API key header).
fn run(url: &str, docs: &[&str], stages: &str) -> Run {
    let docs_json = docs.join(",");
    let plan = parse_pipeline_json(&format!(r#"[{{"$source": {{"documents": [{}]}}}}, {}]"#, docs_json, stages))
        .expect("plan");
    let conn = HttpsConnection {
        name: "api".into(),
        url: url.to_string(),
        headers: vec![("X-Api-Key".into(), "k-123".into())],
    };
    let enrichers: Vec<Box<dyn Enricher>> = plan
        .stages
        .iter()
        .filter_map(|s| match s {
            Stage::Enrich(e) => Some(Box::new(
                HttpsEnricher::open(&conn, HttpsOptions::parse(&e.options).expect("options")).expect("opens"),
            ) as Box<dyn Enricher>),
            _ => None,
        })
        .collect();
    let docs = plan.source.documents.clone().unwrap_or_default();
    let (out, dlq) = (TestLog::new(1000), TestLog::new(1000));
    let mut exec = Executor::with_enrichers(
        &plan,
        Box::new(DocumentsSource::new(docs)),
        Box::new(MemorySink::new("out", out.clone())),
        Box::new(MemorySink::new("dlq", dlq.clone())),
        enrichers,
        ExecutorConfig::new("https-test"),
    )
    .expect("executor");
    let mut error = None;
    loop {
        match exec.step() {
            Ok(StepOutcome::Finished) => break,
            Ok(_) => {}
            Err(e) => {
                error = Some(e);
                break;
            }
        }
    }
    Run { out: out.all(), dlq: dlq.all(), error }
}

fn get<'d>(d: &'d Document, path: &str) -> &'d Value {
    d.get_path(path).unwrap_or_else(|| panic!("{} missing in {:?}", path, d))
}

#[test]
fn get_with_path_parameters_and_headers_from_the_document() {
    let (url, _) = start_server();
    let r = run(
        &url,
        &[r#"{"device": "d1", "n": 7}"#],
        r#"{"$https": {"connectionName": "api", "path": {"$concat": ["/echo/devices/", "$device"]},
            "parameters": {"n": "$n", "unit": "kW", "missing": "$nothing"}, "headers": {"X-Device": "$device"},
            "as": "reply"}}"#,
    );
    assert!(r.error.is_none() && r.dlq.is_empty(), "{:?} {:?}", r.error, r.dlq);
    assert_eq!(r.out.len(), 1);
    let d = &r.out[0];
    assert_eq!(get(d, "reply.path"), &Value::str("devices/d1"));
    assert_eq!(get(d, "reply.query.n"), &Value::str("7"));
    assert_eq!(get(d, "reply.query.unit"), &Value::str("kW"));
    assert!(d.get_path("reply.query.missing").is_none(), "a missing parameter is left out");
    assert_eq!(get(d, "reply.apiKey"), &Value::str("k-123"), "the connection's header");
    assert_eq!(get(d, "reply.device"), &Value::str("d1"), "the stage's header");
    assert_eq!(get(d, "reply.body"), &Value::str(""), "GET sends no body");
    assert_eq!(get(d, "_stream_meta.https.method"), &Value::str("GET"));
    assert_eq!(get(d, "_stream_meta.https.httpStatusCode"), &Value::Int32(200));
    let called = get(d, "_stream_meta.https.url").as_str().unwrap();
    assert_eq!(called, format!("{}/echo/devices/d1", url));
    assert!(matches!(get(d, "_stream_meta.https.responseTimeMs"), Value::Int64(ms) if *ms >= 0));
}

#[test]
fn post_sends_the_payload_pipelines_output_or_the_document() {
    let (url, _) = start_server();
    let r = run(
        &url,
        &[r#"{"a": 1, "b": 2, "secret": "x"}"#],
        r#"{"$https": {"connectionName": "api", "path": "echo/p", "method": "POST",
            "payload": [{"$project": {"_id": 0, "sum": {"$add": ["$a", "$b"]}}}], "as": "withPayload"}},
           {"$https": {"connectionName": "api", "path": "echo/d", "method": "POST", "as": "whole"}}"#,
    );
    assert!(r.error.is_none() && r.dlq.is_empty(), "{:?} {:?}", r.error, r.dlq);
    let d = &r.out[0];
    assert_eq!(get(d, "withPayload.body"), &Value::str(r#"{"sum":3}"#));
    assert_eq!(get(d, "withPayload.contentType"), &Value::str("application/json"));
    let whole = parse_document(get(d, "whole.body").as_str().unwrap()).unwrap();
    assert_eq!(whole.get("secret"), Some(&Value::str("x")), "without payload, POST sends the document");
    assert!(whole.get("withPayload").is_some(), "as it reached the stage");
}

#[test]
fn on_error_sends_to_the_dlq_passes_or_fails() {
    let (url, _) = start_server();
    let docs = [r#"{"code": 200}"#, r#"{"code": 404}"#];
    let stage = |on_error: &str| {
        format!(
            r#"{{"$https": {{"connectionName": "api", "path": {{"$concat": ["/status/", {{"$toString": "$code"}}]}},
                "as": "r", "onError": "{}"}}}}"#,
            on_error
        )
    };
    let dlq = run(&url, &docs, &stage("dlq"));
    assert_eq!(dlq.out.len(), 1);
    assert_eq!(get(&dlq.out[0], "r"), &Value::str("nope"), "a body that is not JSON is kept as text");
    assert_eq!(dlq.dlq.len(), 1, "{:?}", dlq.dlq);
    assert_eq!(get(&dlq.dlq[0], "operatorName"), &Value::str("$https"));
    let reason = get(&dlq.dlq[0], "errInfo.reason").as_str().unwrap();
    assert!(reason.contains("HTTP 404") && reason.contains("/status/404"), "{}", reason);
    assert!(!reason.contains("k-123"), "connection headers never appear in reasons: {}", reason);

    let ignore = run(&url, &docs, &stage("ignore"));
    assert_eq!(ignore.out.len(), 2);
    assert!(ignore.out[1].get("r").is_none(), "passed on without the answer: {:?}", ignore.out[1]);
    assert!(ignore.dlq.is_empty());

    let fail = run(&url, &docs, &stage("fail"));
    let err = fail.error.expect("the processor fails").to_string();
    assert!(err.contains("$https") && err.contains("HTTP 404"), "{}", err);
    assert!(fail.out.is_empty(), "nothing of the failed batch is written");
}

#[test]
fn server_errors_are_retried_and_timeouts_go_to_the_dlq() {
    let (url, server) = start_server();
    let r = run(
        &url,
        &[r#"{"k": "a"}"#],
        r#"{"$https": {"connectionName": "api", "path": {"$concat": ["flaky/", "$k"]}, "as": "r"}}"#,
    );
    assert!(r.dlq.is_empty(), "{:?}", r.dlq);
    assert_eq!(get(&r.out[0], "r.calls"), &Value::Int32(3), "two 500s, then the answer");

    let t = run(
        &url,
        &[r#"{"k": 1}"#],
        r#"{"$https": {"connectionName": "api", "path": "slow/3000", "as": "r", "config": {"requestTimeoutSec": 1}}}"#,
    );
    assert_eq!(t.dlq.len(), 1, "{:?}", t.out);
    let reason = get(&t.dlq[0], "errInfo.reason").as_str().unwrap();
    assert!(reason.contains("timed out"), "{}", reason);
    drop(server);
}

#[test]
fn requests_run_concurrently_within_the_bound() {
    let (url, server) = start_server();
    let docs: Vec<String> = (0..40).map(|i| format!(r#"{{"i": {}}}"#, i)).collect();
    let docs: Vec<&str> = docs.iter().map(String::as_str).collect();
    let r = run(&url, &docs, r#"{"$https": {"connectionName": "api", "path": "slow/150", "as": "r"}}"#);
    assert_eq!(r.out.len(), 40, "{:?}", r.dlq);
    let order: Vec<&Value> = r.out.iter().map(|d| get(d, "i")).collect();
    assert_eq!(order, (0..40).map(Value::Int32).collect::<Vec<_>>().iter().collect::<Vec<_>>(), "order kept");
    let max = server.max_in_flight.load(Ordering::SeqCst);
    assert!(max > 1, "requests overlap: {}", max);
    assert!(max <= sluice_connectors::https::MAX_IN_FLIGHT, "at most the bound: {}", max);
}
