//! `sluice serve` under hostile but fair use: every rejection speaks Atlas's JSON (a body over
//! the limit, a repeated query parameter, a path that is not UTF-8, a URL too long, a method a
//! route lacks, which answers 401 before 405), slow clients time out, connections are capped,
//! and a flood of unauthenticated requests leaves signed-in clients served.

mod support;

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value as Json};
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn assert_atlas_error(status: StatusCode, body: &Json, want: u16, code: &str) {
    assert_eq!(status.as_u16(), want, "{:?}", body);
    assert_eq!(body["error"], json!(want), "{:?}", body);
    assert_eq!(body["errorCode"], json!(code), "{:?}", body);
    assert!(body["detail"].is_string() && body["reason"].is_string(), "{:?}", body);
}

/// Sends raw bytes and reads until the server closes (or 10 s pass): the status and JSON body.
async fn raw_exchange(addr: &str, request: &[u8]) -> (u16, Json) {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(request).await.expect("write");
    read_answer(&mut s).await
}

async fn read_answer(s: &mut TcpStream) -> (u16, Json) {
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut buf)).await;
    parse_answer(&buf)
}

/// The status and JSON body of one HTTP answer.
fn parse_answer(buf: &[u8]) -> (u16, Json) {
    let text = String::from_utf8_lossy(buf).to_string();
    let status = text.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    (status, serde_json::from_str(body).unwrap_or(Json::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rejection_is_atlas_json_and_401_comes_before_405() {
    let dir = temp_dir("limits-json");
    let server = Server::start(&dir);
    let c = owner(&server, "MD5");
    let streams = sample_workspace(&c, &server).await;

    // A body over the 2 MiB limit.
    let group = server.banner_value("groupId");
    let sa = cli(&server.dir, &["service-accounts", "create", "--project", &group, "--role", "GROUP_OWNER"]);
    let token = c.oauth_token(&line_value(&sa, "clientId"), &line_value(&sa, "clientSecret")).await.expect("token");
    let req = format!(
        "POST {}/ws/processor HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nAccept: application/vnd.atlas.2025-03-12+json\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{{\"name\": ",
        streams,
        token,
        3 * 1024 * 1024
    );
    let mut s = TcpStream::connect(&server.addr).await.unwrap();
    s.write_all(req.as_bytes()).await.unwrap();
    let (mut rx, mut tx) = s.into_split();
    // The client keeps sending while the server answers; it may be cut off once answered.
    let writer = tokio::spawn(async move {
        let chunk = vec![b'x'; 64 * 1024];
        for _ in 0..48 {
            if tx.write_all(&chunk).await.is_err() {
                return;
            }
        }
        let _ = tx.shutdown().await;
    });
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), rx.read_to_end(&mut buf)).await;
    let _ = writer.await;
    let (status, body) = parse_answer(&buf);
    assert_atlas_error(StatusCode::from_u16(status).unwrap(), &body, 413, "PAYLOAD_TOO_LARGE");

    // A query parameter given twice.
    let r = c.get(&format!("{}/ws/connections?itemsPerPage=1&itemsPerPage=2", streams)).await;
    assert_atlas_error(r.status, &r.body, 400, "INVALID_QUERY_PARAMETER");

    // A path segment that is not UTF-8 once decoded.
    let r = c.get(&format!("{}/%FF%FE", streams)).await;
    assert_atlas_error(r.status, &r.body, 400, "INVALID_PATH_PARAMETER");

    // URLs over the limit: one the router sees (20 KB) and one hyper itself refuses (100 KB).
    for len in [20_000, 100_000] {
        let req = format!("GET /api/atlas/v2/{} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "a".repeat(len));
        let (status, body) = raw_exchange(&server.addr, req.as_bytes()).await;
        assert_atlas_error(StatusCode::from_u16(status).unwrap(), &body, 414, "URI_TOO_LONG");
    }

    // Headers larger than hyper takes.
    let req = format!("GET /x HTTP/1.1\r\nHost: x\r\nX-Pad: {}\r\n\r\n", "p".repeat(600_000));
    let (status, body) = raw_exchange(&server.addr, req.as_bytes()).await;
    assert_atlas_error(StatusCode::from_u16(status).unwrap(), &body, 431, "REQUEST_HEADER_FIELDS_TOO_LARGE");

    // A method the route does not have: 401 without credentials (no route discovery) ...
    let url = format!("http://{}{}/ws/processor/p1", server.addr, streams);
    let r = reqwest::Client::new().put(&url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.headers().get("www-authenticate").is_some());
    // ... then 405 in Atlas's shape, with the methods it has.
    let r = c.call(Method::PUT, &format!("{}/ws/processor/p1", streams), None).await;
    assert_atlas_error(r.status, &r.body, 405, "METHOD_NOT_ALLOWED");
    let allow = r.headers.get("allow").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    assert!(allow.contains("GET") && allow.contains("DELETE"), "{}", allow);
    assert!(!allow.contains("POST"), "POST is for the `:action` paths only: {}", allow);

    // The `:action` paths share a route with their resource, yet each has its own methods.
    let r = reqwest::Client::new().get(format!("{}:start", url)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    for (method, path, allowed) in [
        (Method::GET, format!("{}/ws/processor/p1:start", streams), "POST"),
        (Method::DELETE, format!("{}/ws/processor/p1:stop", streams), "POST"),
        (Method::PATCH, format!("{}/ws/processor/p1:startWith", streams), "POST"),
        (Method::POST, format!("{}/ws/processor/p1", streams), "GET, PATCH, DELETE"),
        (Method::PATCH, format!("{}/ws:downloadOperationalLogs", streams), "GET"),
        (Method::DELETE, format!("{}/vpcPeeringConnections/x:accept", streams), "POST"),
        (Method::GET, format!("{}/vpcPeeringConnections/x:reject", streams), "POST"),
        (Method::POST, format!("{}/vpcPeeringConnections/x", streams), "DELETE"),
    ] {
        let r = c.call(method.clone(), &path, None).await;
        assert_atlas_error(r.status, &r.body, 405, "METHOD_NOT_ALLOWED");
        assert_eq!(r.headers.get("allow").and_then(|v| v.to_str().ok()), Some(allowed), "{} {}", method, path);
    }
    // Their own methods still reach the handlers (no such processor here).
    let r = c.call(Method::POST, &format!("{}/ws/processor/p1:start", streams), None).await;
    assert_atlas_error(r.status, &r.body, 404, "STREAM_PROCESSOR_NOT_FOUND");

    // The server still answers normally afterwards.
    let r = c.get(&format!("{}/ws", streams)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    server.terminate();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_time_out_with_408_and_connections_over_the_cap_get_503() {
    let dir = temp_dir("limits-slow");
    let server = Server::start_with_env(&dir, &[("SLUICE_HEADER_TIMEOUT", "1"), ("SLUICE_MAX_CONNECTIONS", "3")]);

    // Three clients that send half their headers and stop hold every slot ...
    let mut slow = Vec::new();
    for _ in 0..3 {
        let mut s = TcpStream::connect(&server.addr).await.unwrap();
        s.write_all(b"GET /api/atlas/v2 HTTP/1.1\r\nHost: x\r\nX-Half: ").await.unwrap();
        slow.push(s);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    // ... so a fourth is told to come back later.
    let (status, body) = raw_exchange(&server.addr, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert_atlas_error(StatusCode::from_u16(status).unwrap(), &body, 503, "SERVICE_UNAVAILABLE");

    // The slow ones are answered 408 and closed once their header time is up.
    for mut s in slow {
        let (status, body) = read_answer(&mut s).await;
        assert_atlas_error(StatusCode::from_u16(status).unwrap(), &body, 408, "REQUEST_TIMEOUT");
    }

    // Their slots are free again.
    let c = owner(&server, "MD5");
    let streams = format!("/api/atlas/v2/groups/{}/streams", server.banner_value("groupId"));
    let r = eventually(10, || {
        let (c, streams) = (c.clone(), streams.clone());
        async move {
            let r = c.get(&streams).await;
            (r.status == StatusCode::OK).then_some(r)
        }
    })
    .await;
    assert!(r.body["results"].is_array(), "{:?}", r.body);

    // An idle keep-alive connection is closed without an answer after the header time.
    let mut idle = TcpStream::connect(&server.addr).await.unwrap();
    let mut buf = Vec::new();
    let n = tokio::time::timeout(Duration::from_secs(10), idle.read_to_end(&mut buf)).await;
    assert!(matches!(n, Ok(Ok(0))), "{:?} {:?}", n, String::from_utf8_lossy(&buf));
    server.terminate();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_issue_and_failed_logins_are_rate_limited() {
    let dir = temp_dir("limits-logins");
    let server = Server::start(&dir);
    let group = server.banner_value("groupId");
    let c = owner(&server, "MD5");
    let sa = cli(&server.dir, &["service-accounts", "create", "--project", &group, "--role", "GROUP_READ_ONLY"]);
    let (id, secret) = (line_value(&sa, "clientId"), line_value(&sa, "clientSecret"));
    let token_status = |id: String, secret: String| {
        let base = c.base.clone();
        async move {
            reqwest::Client::new()
                .post(format!("{}/api/oauth/token", base))
                .basic_auth(id, Some(secret))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body("grant_type=client_credentials")
                .send()
                .await
                .unwrap()
                .status()
        }
    };

    // Tokens: a burst, then 429 with a Retry-After, for the account.
    let mut statuses = Vec::new();
    for _ in 0..40 {
        statuses.push(token_status(id.clone(), secret.clone()).await.as_u16());
    }
    assert!(statuses[..20].iter().all(|s| *s == 200), "{:?}", statuses);
    assert!(statuses.contains(&429), "{:?}", statuses);

    // Wrong Digest passwords: 401s, then 429 for that key, whatever the password.
    let wrong = Client::new(
        &server,
        Auth::Digest { user: server.banner_value("publicKey"), password: "wrong".into(), algorithm: "MD5" },
    );
    let streams = format!("/api/atlas/v2/groups/{}/streams", group);
    let mut statuses = Vec::new();
    for _ in 0..30 {
        statuses.push(wrong.get(&streams).await.status.as_u16());
    }
    assert!(statuses[..15].iter().all(|s| *s == 401), "{:?}", statuses);
    assert_eq!(statuses.last(), Some(&429), "{:?}", statuses);
    let r = c.get(&streams).await;
    assert_eq!(r.status.as_u16(), 429, "the key is locked out for a while: {:?}", r.body);
    assert_eq!(r.body["errorCode"], "RATE_LIMITED");
    // One failure a second comes back.
    let r = eventually(30, || {
        let (c, streams) = (c.clone(), streams.clone());
        async move {
            let r = c.get(&streams).await;
            (r.status == StatusCode::OK).then_some(r)
        }
    })
    .await;
    assert!(r.body["results"].is_array());
    server.terminate();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn window_bombs_are_refused_at_create_or_fail_their_processor_alone() {
    let dir = temp_dir("limits-windows");
    let server = Server::start(&dir);
    let c = owner(&server, "MD5");
    let streams = sample_workspace(&c, &server).await;
    let processors = format!("{}/ws/processor", streams);

    // One event would open 3.6 million windows: refused, naming the field and the limit.
    let bomb = json!([{"$source": {"connectionName": "sample_stream_solar"}},
        {"$hoppingWindow": {"interval": {"size": 1, "unit": "hour"}, "hopSize": {"size": 1, "unit": "ms"},
            "pipeline": [{"$group": {"_id": "$device_id", "n": {"$count": {}}}}]}}]);
    let r = c.post(&processors, &json!({"name": "bomb", "pipeline": bomb})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:?}", r.body);
    let detail = r.body["detail"].as_str().unwrap_or("");
    assert!(detail.contains("hopSize") && detail.contains("at most 1000"), "{}", detail);

    // Allowed, but its state outgrows the processor's maxStateBytes: it fails alone.
    let heavy = json!([{"$source": {"connectionName": "sample_stream_solar"}},
        {"$hoppingWindow": {"interval": {"size": 1, "unit": "hour"}, "hopSize": {"size": 4, "unit": "second"},
            "pipeline": [{"$group": {"_id": "$timestamp", "all": {"$push": "$$ROOT"}}}]}}]);
    let r =
        c.post(&processors, &json!({"name": "heavy", "pipeline": heavy, "options": {"maxStateBytes": 200000}})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let r = c.post(&format!("{}/heavy:start", processors), &json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let failed = eventually(30, || {
        let (c, p) = (c.clone(), format!("{}/heavy", processors));
        async move {
            let r = c.get(&p).await;
            (r.body["state"] == "FAILED").then_some(r)
        }
    })
    .await;
    let msg = failed.body["errorMsg"].as_str().unwrap_or("").to_string();
    assert!(msg.contains("exceeds") && msg.contains("200000"), "{:?}", failed.body);
    // An expression bomb in a running processor: every event goes to the DLQ, the processor
    // goes on, and the server's memory stays far from the 64 GiB the expression asked for.
    let range = json!([{"$source": {"connectionName": "sample_stream_solar"}},
        {"$addFields": {"x": {"$size": {"$range": [0, 2147483647]}}}}]);
    let r = c.post(&processors, &json!({"name": "range", "pipeline": range})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(c.post(&format!("{}/range:start", processors), &json!({})).await.status, StatusCode::OK);
    let stats = eventually(30, || {
        let (c, p) = (c.clone(), format!("{}/range", processors));
        async move {
            let r = c.get(&p).await;
            (r.body["stats"]["dlqMessageCount"].as_u64().unwrap_or(0) >= 5).then_some(r)
        }
    })
    .await;
    assert_eq!(stats.body["state"], "STARTED", "{:?}", stats.body);
    let peak = server.peak_rss_mib().expect("the server's memory is readable");
    assert!(peak < 300.0, "the server peaked at {:.0} MiB", peak);
    // The server and its API go on.
    assert_eq!(c.get(&format!("{}/ws", streams)).await.status, StatusCode::OK);
    server.terminate();
}
