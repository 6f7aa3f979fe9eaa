//! `sluice serve --mongodb-listen`: the official MongoDB driver (`run_command`) manages the same
//! processors as the HTTP API (SCRAM with API keys, the API's roles, the same stats), and
//! malformed wire messages close only their own connection.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use mongodb::bson::{doc, Bson, Document};
use mongodb::error::{Error as DriverError, ErrorKind};
use reqwest::StatusCode;
use serde_json::json;
use support::*;

fn start() -> (Server, String) {
    let server = Server::start_with_env(&temp_dir("wire"), &[("SLUICE_MONGODB_LISTEN", "127.0.0.1:0")]);
    let uri = server.banner_value("MongoDB wire protocol");
    let addr = uri.strip_prefix("mongodb://").expect("a mongodb:// address").to_string();
    (server, addr)
}

async fn client(addr: &str, user: &str, password: &str, workspace: &str, mechanism: &str) -> mongodb::Client {
    let uri = format!(
        "mongodb://{}:{}@{}/{}?authMechanism={}&directConnection=true&serverSelectionTimeoutMS=5000",
        user, password, addr, workspace, mechanism
    );
    mongodb::Client::with_uri_str(&uri).await.expect("a valid connection string")
}

/// Runs a command on `admin`, as mongosh's `sp` does.
async fn run(c: &mongodb::Client, cmd: Document) -> Result<Document, DriverError> {
    c.database("admin").run_command(cmd).await
}

fn code(e: &DriverError) -> Option<i32> {
    match e.kind.as_ref() {
        ErrorKind::Command(c) => Some(c.code),
        _ => None,
    }
}

fn window_pipeline() -> Bson {
    Bson::Array(vec![
        Bson::Document(doc! {"$source": {"connectionName": "sample_stream_solar"}}),
        Bson::Document(doc! {"$tumblingWindow": {"interval": {"size": 1, "unit": "second"},
        "pipeline": [{"$group": {"_id": "$group_id", "avgWatts": {"$avg": "$obs.watts"}, "n": {"$count": {}}}}]}}),
    ])
}

fn count(d: &Document, key: &str) -> i64 {
    match d.get(key) {
        Some(Bson::Int32(i)) => i64::from(*i),
        Some(Bson::Int64(i)) => *i,
        Some(Bson::Double(f)) => *f as i64,
        other => panic!("{} is not a number: {:?}", key, other),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_driver_manages_processors_the_http_api_sees() {
    let (server, addr) = start();
    let http = owner(&server, "MD5");
    let streams = sample_workspace(&http, &server).await;
    let (public, private) = (server.banner_value("publicKey"), server.banner_value("privateKey"));

    // The workspace lists the wire address among its hostnames.
    let workspace = http.get(&format!("{}/ws", streams)).await;
    let r = &workspace;
    assert!(r.body["hostnames"].as_array().unwrap().contains(&json!(addr)), "{:?}", r.body);

    let c = client(&addr, &public, &private, "ws", "SCRAM-SHA-256").await;
    let hello = run(&c, doc! {"hello": 1}).await.unwrap();
    assert_eq!(hello.get_bool("isWritablePrimary"), Ok(true));
    assert_eq!(hello.get_f64("ok"), Ok(1.0));
    assert!(count(&hello, "maxWireVersion") >= 7);

    // A wrong password is refused.
    let bad = client(&addr, &public, "not-the-key", "ws", "SCRAM-SHA-256").await;
    let e = run(&bad, doc! {"listStreamProcessors": 1}).await.unwrap_err();
    assert!(matches!(e.kind.as_ref(), ErrorKind::Authentication { .. }), "{:?}", e);
    // SCRAM-SHA-1, for a client that insists, works with the same key.
    let sha1 = client(&addr, &public, &private, "ws", "SCRAM-SHA-1").await;
    assert!(run(&sha1, doc! {"listStreamProcessors": 1}).await.is_ok());

    let conns = run(&c, doc! {"listStreamConnections": 1}).await.unwrap();
    let conns = conns.get_array("connections").unwrap();
    assert!(conns.iter().any(|x| x.as_document().unwrap().get_str("name") == Ok("sample_stream_solar")), "{:?}", conns);
    let defaults = run(&c, doc! {"listWorkspaceDefaults": 1}).await.unwrap();
    assert_eq!(json!(defaults.get_str("defaultTierSize").unwrap()), workspace.body["streamConfig"]["tier"]);

    // An invalid pipeline: FailedToParse (9).
    let e = run(&c, doc! {"createStreamProcessor": "broken", "pipeline": [{"$nope": {}}]}).await.unwrap_err();
    assert_eq!(code(&e), Some(9), "{:?}", e);
    let e = run(&c, doc! {"startStreamProcessor": "missing"}).await.unwrap_err();
    assert_eq!(code(&e), Some(26), "{:?}", e);

    // Create over the wire; the HTTP API sees it.
    run(&c, doc! {"createStreamProcessor": "solar", "pipeline": window_pipeline(), "options": {"checkpointIntervalMs": 1000}})
        .await
        .unwrap();
    let e = run(&c, doc! {"createStreamProcessor": "solar", "pipeline": window_pipeline()}).await.unwrap_err();
    assert_eq!(code(&e), Some(48), "{:?}", e);
    let r = http.get(&format!("{}/ws/processor/solar", streams)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["state"], "CREATED");
    assert_eq!(r.body["options"]["checkpointIntervalMs"], 1000);
    let listed = run(&c, doc! {"listStreamProcessors": 1, "filter": {"name": "solar"}}).await.unwrap();
    let listed = listed.get_array("streamProcessors").unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].as_document().unwrap().get_str("state"), Ok("CREATED"));
    let none = run(&c, doc! {"listStreamProcessors": 1, "filter": {"state": "STARTED"}}).await.unwrap();
    assert!(none.get_array("streamProcessors").unwrap().is_empty());

    // A read-only key lists and reads stats, and nothing else.
    let ro = cli(
        &server.dir,
        &["keys", "create", "--project", &server.banner_value("groupId"), "--role", "GROUP_READ_ONLY"],
    );
    let ro = client(&addr, &line_value(&ro, "publicKey"), &line_value(&ro, "privateKey"), "ws", "SCRAM-SHA-256").await;
    assert!(run(&ro, doc! {"listStreamProcessors": 1}).await.is_ok());
    assert!(run(&ro, doc! {"getStreamProcessorStats": "solar"}).await.is_ok());
    for cmd in [
        doc! {"startStreamProcessor": "solar"},
        doc! {"stopStreamProcessor": "solar"},
        doc! {"dropStreamProcessor": "solar"},
        doc! {"createStreamProcessor": "other", "pipeline": window_pipeline()},
    ] {
        let e = run(&ro, cmd.clone()).await.unwrap_err();
        assert_eq!(code(&e), Some(13), "{:?}: {:?}", cmd, e);
    }

    // Start, watch the stats grow, sample a bounded number of documents.
    run(&c, doc! {"startStreamProcessor": "solar"}).await.unwrap();
    let e = run(&c, doc! {"startStreamProcessor": "solar"}).await.unwrap_err();
    assert_eq!(code(&e), Some(20), "{:?}", e);
    assert!(e.to_string().contains("status cannot be changed from [STARTED] to Started"), "{}", e);
    let stats = eventually(30, || async {
        let s = run(&c, doc! {"getStreamProcessorStats": "solar", "verbose": true}).await.unwrap();
        let st = s.get_document("stats").unwrap().clone();
        (count(&st, "outputMessageCount") >= 2).then_some(st)
    })
    .await;
    assert_eq!(stats.get_str("status"), Ok("STARTED"));
    assert!(stats.get_array("operatorStats").is_ok(), "{:?}", stats);
    let scaled = run(&c, doc! {"getStreamProcessorStats": "solar", "scale": 1024}).await.unwrap();
    let scaled = scaled.get_document("stats").unwrap();
    assert_eq!(count(scaled, "scaleFactor"), 1024);
    assert!(scaled.get("operatorStats").is_none());

    let started = run(&c, doc! {"startSampleStreamProcessor": "solar", "limit": 2}).await.unwrap();
    let mut cursor = count(&started, "cursorId");
    assert_ne!(cursor, 0);
    let mut messages = Vec::new();
    for _ in 0..200 {
        let r = run(&c, doc! {"getMoreSampleStreamProcessor": "solar", "cursorId": cursor}).await.unwrap();
        messages.extend(r.get_array("messages").unwrap().iter().cloned());
        cursor = count(&r, "cursorId");
        if cursor == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(cursor, 0, "the sample ends at its limit");
    assert_eq!(messages.len(), 2);
    assert!(messages.iter().all(|m| m.as_document().is_some_and(|d| d.contains_key("avgWatts"))), "{:?}", messages);
    let e = run(&c, doc! {"getMoreSampleStreamProcessor": "solar", "cursorId": 12345}).await.unwrap_err();
    assert_eq!(code(&e), Some(43), "{:?}", e);

    // Stop over HTTP; the wire sees it, and both show the same numbers.
    let r = http.post(&format!("{}/ws/processor/solar:stop", streams), &json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let wire = run(&c, doc! {"getStreamProcessorStats": "solar"}).await.unwrap();
    let wire = wire.get_document("stats").unwrap();
    let api = http.get(&format!("{}/ws/processor/solar", streams)).await.body;
    assert_eq!(wire.get_str("status"), Ok("STOPPED"));
    assert_eq!(json!(count(wire, "outputMessageCount")), api["stats"]["outputMessageCount"]);
    assert_eq!(json!(count(wire, "inputMessageCount")), api["stats"]["inputMessageCount"]);
    let e = run(&c, doc! {"stopStreamProcessor": "solar"}).await.unwrap_err();
    assert_eq!(code(&e), Some(20), "{:?}", e);

    // Modify while stopped, then drop: gone from the HTTP API too.
    run(&c, doc! {"modifyStreamProcessor": "solar", "pipeline": window_pipeline(), "resumeFromCheckpoint": false})
        .await
        .unwrap();
    run(&c, doc! {"dropStreamProcessor": "solar"}).await.unwrap();
    let r = http.get(&format!("{}/ws/processor/solar", streams)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{:?}", r.body);

    // A processor made over HTTP is managed over the wire.
    let r = http
        .post(
            &format!("{}/ws/processor", streams),
            &json!({"name": "fromHttp", "pipeline": [{"$source": {"connectionName": "sample_stream_solar"}}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    run(&c, doc! {"startStreamProcessor": "fromHttp"}).await.unwrap();
    assert_eq!(http.get(&format!("{}/ws/processor/fromHttp", streams)).await.body["state"], "STARTED");
    run(&c, doc! {"dropStreamProcessor": "fromHttp"}).await.unwrap();

    // processStreamProcessor: a temporary processor sampled to its limit.
    let p = run(&c, doc! {"processStreamProcessor": [{"$source": {"connectionName": "sample_stream_solar"}}], "options": {"limit": 3}})
        .await
        .unwrap();
    let name = p.get_str("name").unwrap().to_string();
    let mut cursor = count(&p, "cursorId");
    let mut n = 0;
    for _ in 0..200 {
        let r = run(&c, doc! {"getMoreSampleStreamProcessor": &name, "cursorId": cursor}).await.unwrap();
        n += r.get_array("messages").unwrap().len();
        cursor = count(&r, "cursorId");
        if cursor == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!((n, cursor), (3, 0));
    run(&c, doc! {"dropStreamProcessor": &name}).await.unwrap();

    // Unknown commands: CommandNotFound.
    let e = run(&c, doc! {"frobnicate": 1}).await.unwrap_err();
    assert_eq!(code(&e), Some(59), "{:?}", e);
    server.terminate();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_serves_clients_that_trust_the_certificate() {
    let certs = temp_dir("wire-tls-certs");
    let files = support::certs::server_certificates(&certs);
    let (ca, cert, key) = (files.ca, files.cert.display().to_string(), files.key.display().to_string());
    let server = Server::start_with_env(
        &temp_dir("wire-tls"),
        &[
            ("SLUICE_MONGODB_LISTEN", "127.0.0.1:0"),
            ("SLUICE_MONGODB_TLS_CERT", &cert),
            ("SLUICE_MONGODB_TLS_KEY", &key),
        ],
    );
    let addr = server.banner_value("MongoDB wire protocol").trim_start_matches("mongodb://").to_string();
    sample_workspace(&owner(&server, "MD5"), &server).await;
    let uri = format!(
        "mongodb://{}:{}@{}/ws?tls=true&tlsCAFile={}&directConnection=true&serverSelectionTimeoutMS=5000",
        server.banner_value("publicKey"),
        server.banner_value("privateKey"),
        addr,
        ca.display()
    );
    let c = mongodb::Client::with_uri_str(&uri).await.unwrap();
    let conns = run(&c, doc! {"listStreamConnections": 1}).await.unwrap();
    assert_eq!(conns.get_array("connections").unwrap().len(), 1, "{:?}", conns);

    // A plaintext client gets no answer from the TLS port; the server serves on.
    let plain = addr.clone();
    blocking(move || {
        let mut s = connect(&plain);
        s.write_all(&op_msg(&doc! {"ping": 1, "$db": "admin"})).unwrap();
        assert!(read_reply(&mut s).is_none());
    })
    .await;
    assert!(run(&c, doc! {"ping": 1}).await.is_ok());
    server.terminate();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_temporary_processor_does_not_outlive_a_restart() {
    let dir = temp_dir("wire-temporary");
    let env = [("SLUICE_MONGODB_LISTEN", "127.0.0.1:0")];
    let server = Server::start_with_env(&dir, &env);
    let addr = server.banner_value("MongoDB wire protocol").trim_start_matches("mongodb://").to_string();
    let (public, private) = (server.banner_value("publicKey"), server.banner_value("privateKey"));
    let streams = sample_workspace(&owner(&server, "MD5"), &server).await;
    let c = client(&addr, &public, &private, "ws", "SCRAM-SHA-256").await;
    let p = run(&c, doc! {"processStreamProcessor": [{"$source": {"connectionName": "sample_stream_solar"}}]})
        .await
        .unwrap();
    let name = p.get_str("name").unwrap().to_string();
    let r = owner(&server, "MD5").get(&format!("{}/ws/processor/{}", streams, name)).await;
    assert_eq!((r.body["state"].clone(), r.body["options"]["temporary"].clone()), (json!("STARTED"), json!(true)));

    // The server stops while the connection is open, so it cannot drop the processor then.
    server.terminate();
    let server = Server::start_with_env(&dir, &env);
    let http = Client::new(&server, Auth::Digest { user: public, password: private, algorithm: "MD5" });
    let r = http.get(&format!("{}/ws/processor/{}", streams, name)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{:?}", r.body);
    server.terminate();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wire_and_the_api_spend_one_request_budget_per_key() {
    let server = Server::start_with_env(
        &temp_dir("wire-rate"),
        &[("SLUICE_MONGODB_LISTEN", "127.0.0.1:0"), ("SLUICE_RATE_LIMIT", "1")],
    );
    let addr = server.banner_value("MongoDB wire protocol").trim_start_matches("mongodb://").to_string();
    let streams = sample_workspace(&owner(&server, "MD5"), &server).await;
    let ro = cli(
        &server.dir,
        &["keys", "create", "--project", &server.banner_value("groupId"), "--role", "GROUP_READ_ONLY"],
    );
    let (public, private) = (line_value(&ro, "publicKey"), line_value(&ro, "privateKey"));
    let c = client(&addr, &public, &private, "ws", "SCRAM-SHA-256").await;
    let http = Client::new(&server, Auth::Digest { user: public, password: private, algorithm: "MD5" });
    // One request a second: spend it over the wire, and the HTTP API refuses the same key at
    // once. (Each round starts with full budgets; a round too slow to tell is tried again.)
    let mut shared = false;
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_millis(1200)).await;
        run(&c, doc! {"listStreamProcessors": 1}).await.unwrap();
        let e = run(&c, doc! {"listStreamProcessors": 1}).await.unwrap_err();
        assert_eq!(code(&e), Some(462), "{:?}", e);
        let r = http.get(&format!("{}/ws/processors", streams)).await;
        if r.status == StatusCode::TOO_MANY_REQUESTS {
            shared = true;
            break;
        }
    }
    assert!(shared, "the HTTP API saw the budget the wire protocol spent");
    server.terminate();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_made_before_the_wire_protocol_is_told_why_and_can_be_enabled() {
    use sluice_api::auth::digest::{ha1, Algorithm};
    use sluice_store::MetadataStore;
    let (server, addr) = start();
    sample_workspace(&owner(&server, "MD5"), &server).await;
    // A key as a store before migration 2 holds it: Digest hashes, no SCRAM credentials.
    let (public, private) = ("oldkeyoldkeyoldk", "0badc0de-0000-4000-8000-000000000000");
    let store = sluice_store::SqliteStore::open(&server.dir.join("sluice.db")).await.unwrap();
    store
        .insert_api_key(&sluice_store::ApiKey {
            public_key: public.into(),
            project_id: server.banner_value("groupId"),
            roles: vec![sluice_types::Role::ProjectOwner],
            ha1_md5: ha1(Algorithm::Md5, public, private),
            ha1_sha256: ha1(Algorithm::Sha256, public, private),
            description: "made before the wire protocol".into(),
            created_at: 1,
        })
        .await
        .unwrap();
    let c = client(&addr, public, private, "ws", "SCRAM-SHA-256").await;
    let e = run(&c, doc! {"listStreamProcessors": 1}).await.unwrap_err();
    assert!(e.to_string().contains("sluice keys enable-wire"), "{}", e);

    let enable = |key: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
            .args(["keys", "enable-wire", "--public-key", public, "--data-dir"])
            .arg(&server.dir)
            .env("SLUICE_PRIVATE_KEY", key)
            .output()
            .unwrap()
    };
    let wrong = enable("not-the-private-key");
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("not the private key"), "{:?}", wrong);
    assert!(enable(private).status.success());
    let c = client(&addr, public, private, "ws", "SCRAM-SHA-256").await;
    assert!(run(&c, doc! {"listStreamProcessors": 1}).await.is_ok());
    server.terminate();
}

fn ping(s: &mut TcpStream) -> bool {
    if s.write_all(&op_msg(&doc! {"ping": 1, "$db": "admin"})).is_err() {
        return false;
    }
    read_reply(s).is_some()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_past_the_cap_are_closed_until_one_ends() {
    let server = Server::start_with_env(
        &temp_dir("wire-cap"),
        &[("SLUICE_MONGODB_LISTEN", "127.0.0.1:0"), ("SLUICE_MONGODB_MAX_CONNECTIONS", "2")],
    );
    let addr = server.banner_value("MongoDB wire protocol").trim_start_matches("mongodb://").to_string();
    blocking(move || {
        let mut first = connect(&addr);
        let mut second = connect(&addr);
        assert!(ping(&mut first) && ping(&mut second));
        let mut third = connect(&addr);
        assert!(!ping(&mut third), "a third connection is closed");
        drop(first);
        // Once the server has seen the first one end, a new connection is served.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            if ping(&mut connect(&addr)) {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "a slot frees when a connection ends");
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(ping(&mut second));
    })
    .await;
    server.terminate();
}

/// One raw message: header and body.
fn message(op: i32, body: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    for x in [(16 + body.len()) as i32, 1, 0, op] {
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.extend_from_slice(body);
    v
}

fn op_msg(cmd: &Document) -> Vec<u8> {
    let mut body = vec![0, 0, 0, 0, 0];
    cmd.to_writer(&mut body).unwrap();
    message(2013, &body)
}

/// Reads one reply's body, or `None` when the server closed the connection.
fn read_reply(s: &mut TcpStream) -> Option<Vec<u8>> {
    read_message(s).map(|(_, body)| body)
}

/// Reads one message: its opcode and body.
fn read_message(s: &mut TcpStream) -> Option<(i32, Vec<u8>)> {
    let mut head = [0u8; 16];
    s.read_exact(&mut head).ok()?;
    let len = i32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize;
    let op = i32::from_le_bytes([head[12], head[13], head[14], head[15]]);
    let mut body = vec![0u8; len - 16];
    s.read_exact(&mut body).ok()?;
    Some((op, body))
}

fn legacy_hello(cmd: &Document) -> Vec<u8> {
    let mut q = 0i32.to_le_bytes().to_vec();
    q.extend_from_slice(b"admin.$cmd\0");
    q.extend_from_slice(&0i32.to_le_bytes());
    q.extend_from_slice(&(-1i32).to_le_bytes());
    cmd.to_writer(&mut q).unwrap();
    message(2004, &q)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zlib_is_negotiated_and_compressed_messages_are_answered_compressed() {
    use flate2::write::ZlibEncoder;
    let (server, addr) = start();
    blocking(move || {
        let mut s = connect(&addr);
        s.write_all(&legacy_hello(&doc! {"isMaster": 1, "compression": ["snappy", "zlib", "zstd"]})).unwrap();
        let body = read_reply(&mut s).expect("an OP_REPLY");
        let reply = Document::from_reader(&mut &body[20..]).unwrap();
        assert_eq!(reply.get_array("compression").unwrap(), &vec![Bson::String("zlib".into())], "{:?}", reply);

        // OP_MSG ping inside OP_COMPRESSED with zlib.
        let plain = op_msg(&doc! {"ping": 1, "$db": "admin"});
        let inner = &plain[16..];
        let mut enc = ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(inner).unwrap();
        let mut body = 2013i32.to_le_bytes().to_vec();
        body.extend_from_slice(&(inner.len() as i32).to_le_bytes());
        body.push(2);
        body.extend_from_slice(&enc.finish().unwrap());
        s.write_all(&message(2012, &body)).unwrap();
        let (op, reply) = read_message(&mut s).expect("a reply");
        assert_eq!(op, 2012, "answered compressed");
        assert_eq!(i32::from_le_bytes([reply[0], reply[1], reply[2], reply[3]]), 2013);
        let mut inflated = Vec::new();
        flate2::read::ZlibDecoder::new(&reply[9..]).read_to_end(&mut inflated).unwrap();
        let doc = Document::from_reader(&mut &inflated[5..]).unwrap();
        assert_eq!(doc.get_f64("ok"), Ok(1.0));

        // A compressed message that claims more than the limit closes the connection.
        body[4..8].copy_from_slice(&i32::MAX.to_le_bytes());
        s.write_all(&message(2012, &body)).unwrap();
        assert!(closed(&mut s));
    })
    .await;
    server.terminate();
}

fn connect(addr: &str) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

fn closed(s: &mut TcpStream) -> bool {
    let mut b = [0u8; 1];
    matches!(s.read(&mut b), Ok(0))
        || matches!(s.read(&mut b), Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_messages_close_their_connection_and_the_server_serves_on() {
    let (server, addr) = start();
    blocking(move || {
        let mut bad: Vec<(&str, Vec<u8>)> = vec![
            ("length below the header", {
                let mut m = message(2013, &[]);
                m[0..4].copy_from_slice(&4i32.to_le_bytes());
                m
            }),
            ("negative length", {
                let mut m = message(2013, &[]);
                m[0..4].copy_from_slice(&(-20i32).to_le_bytes());
                m
            }),
            ("length above 48 MB", {
                let mut m = message(2013, &[]);
                m[0..4].copy_from_slice(&i32::MAX.to_le_bytes());
                m
            }),
            ("unknown opcode", message(9999, &[0; 8])),
            ("compressed with snappy, not offered", message(2012, &[0xdd, 7, 0, 0, 5, 0, 0, 0, 1, 0, 0, 0])),
            ("OP_MSG with a broken section", message(2013, &[0, 0, 0, 0, 0, 50, 0, 0, 0, 1])),
        ];
        // A header cut short, then the peer is gone: nothing to answer.
        bad.push(("a truncated header", vec![1, 2, 3]));
        for (what, bytes) in bad {
            let mut s = connect(&addr);
            s.write_all(&bytes).unwrap();
            if what == "a truncated header" {
                s.shutdown(std::net::Shutdown::Write).unwrap();
            }
            assert!(closed(&mut s), "{}: the connection is closed", what);
        }
        // The server still answers: OP_MSG ping, and the legacy OP_QUERY isMaster handshake.
        let mut s = connect(&addr);
        s.write_all(&op_msg(&doc! {"ping": 1, "$db": "admin"})).unwrap();
        let body = read_reply(&mut s).expect("a reply");
        let reply = Document::from_reader(&mut &body[5..]).unwrap();
        assert_eq!(reply.get_f64("ok"), Ok(1.0));
        // Nothing but the handshake before authentication.
        s.write_all(&op_msg(&doc! {"listStreamProcessors": 1, "$db": "admin"})).unwrap();
        let body = read_reply(&mut s).expect("a reply");
        let reply = Document::from_reader(&mut &body[5..]).unwrap();
        assert_eq!((reply.get_f64("ok"), reply.get_i32("code")), (Ok(0.0), Ok(13)), "{:?}", reply);

        s.write_all(&legacy_hello(&doc! {"isMaster": 1})).unwrap();
        let body = read_reply(&mut s).expect("an OP_REPLY");
        let reply = Document::from_reader(&mut &body[20..]).unwrap();
        assert_eq!(reply.get_bool("ismaster"), Ok(true), "{:?}", reply);
        assert!(reply.get("compression").is_none());
    })
    .await;
    server.terminate();
}
