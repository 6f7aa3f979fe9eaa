//! Several `sluice serve` nodes sharing one PostgreSQL database as their store
//! (`--store postgres://...`, against the test server of scripts/test-servers.sh): the first start
//! happens once, whatever one node writes the others read, the client commands write to the
//! shared store, each node records itself and its heartbeat, and a node refuses to start without
//! the shared sealing key.

mod support;

use std::process::Command;

use reqwest::StatusCode;
use serde_json::json;
use support::cluster::KEY;
use support::postgres::{fresh_database, query_texts};
use support::*;

/// The `file://` URL of the checkpoint directory the nodes on the database of `url` share (a
/// node on PostgreSQL needs a checkpoint store every node reads).
fn shared_checkpoints(url: &str) -> String {
    let db = url.rsplit('/').next().expect("a database name");
    let dir = std::env::temp_dir().join(format!("sluice-checkpoints-{}", db));
    std::fs::create_dir_all(&dir).expect("the checkpoint directory");
    format!("file://{}", dir.display())
}

/// A node on the database of `url`, with its own data dir and the database's shared checkpoint
/// directory.
fn node(url: &str, name: &str) -> Server {
    let checkpoints = shared_checkpoints(url);
    Server::start_with(
        &temp_dir(name),
        &["--store", url, "--checkpoint-store", &checkpoints],
        &[("SLUICE_SECRET_KEY", KEY)],
    )
}

/// Whether a node printed the first start's credentials.
fn printed_secret(s: &Server) -> bool {
    s.banner.iter().any(|l| l.starts_with("privateKey:") || l.starts_with("publicKey:") || l.starts_with("groupId:"))
}

/// Two nodes started at the same moment on `url`: the one that printed the first start's
/// credentials, then the other.
fn two_nodes_at_once(url: &str) -> (Server, Server) {
    let starts: Vec<_> = ["pg-node-a", "pg-node-b"]
        .into_iter()
        .map(|name| {
            let url = url.to_string();
            std::thread::spawn(move || node(&url, name))
        })
        .collect();
    let mut nodes: Vec<Server> = starts.into_iter().map(|t| t.join().expect("a node starts")).collect();
    let printed: Vec<bool> = nodes.iter().map(printed_secret).collect();
    assert_eq!(printed.iter().filter(|p| **p).count(), 1, "exactly one node prints the first start's key");
    if !printed[0] {
        nodes.swap(0, 1);
    }
    let second = nodes.pop().expect("two nodes");
    let first = nodes.pop().expect("two nodes");
    (first, second)
}

/// A client of `server` with the owner key `first` printed.
fn owner_of(first: &Server, server: &Server) -> Client {
    let auth = Auth::Digest {
        user: first.banner_value("publicKey"),
        password: first.banner_value("privateKey"),
        algorithm: "SHA-256",
    };
    Client::new(server, auth)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_starting_at_once_on_an_empty_database_bootstrap_once() {
    let url = fresh_database("bootstrap").await;
    let (a, b) = two_nodes_at_once(&url);
    let group = a.banner_value("groupId");
    for server in [&a, &b] {
        let r = owner_of(&a, server).get(&format!("/api/atlas/v2/groups/{}/streams", group)).await;
        assert_eq!(r.status, StatusCode::OK, "node {} with the first start's key: {:?}", server.addr, r.body);
    }
    assert_eq!(query_texts(&url, "SELECT id FROM projects").await, [group], "one project in the store");
    let nodes = query_texts(&url, "SELECT address FROM nodes ORDER BY address").await;
    let mut addrs = vec![a.addr.clone(), b.addr.clone()];
    addrs.sort();
    assert_eq!(nodes, addrs, "each node records itself");
    // And then says it is alive, every 2 s.
    eventually(10, || async {
        let beating = query_texts(&url, "SELECT id FROM nodes WHERE last_heartbeat > started_at").await;
        (beating.len() == 2).then_some(())
    })
    .await;
    a.terminate();
    b.terminate();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_one_node_creates_the_other_reads() {
    let url = fresh_database("shared").await;
    let a = node(&url, "pg-writer");
    let b = node(&url, "pg-reader");
    assert!(!printed_secret(&b));
    let (ca, cb) = (owner_of(&a, &a), owner_of(&a, &b));
    let secret = "correct-horse-battery-staple";
    let kafka = json!({"name": "kafka1", "type": "Kafka", "bootstrapServers": "127.0.0.1:9",
        "authentication": {"mechanism": "SCRAM-256", "username": "alice", "password": secret},
        "security": {"protocol": "SASL_PLAINTEXT"}});
    let streams = workspace_with(&ca, &a, &[kafka]).await;
    let pipeline = json!([{"$source": {"connectionName": "kafka1", "topic": "t"}}, {"$match": {"x": {"$gte": 0}}}]);
    let r = ca.post(&format!("{}/ws/processor", streams), &json!({"name": "p1", "pipeline": pipeline})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);

    let r = cb.get(&format!("{}/ws/connections/kafka1", streams)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["authentication"]["username"], "alice");
    let r = cb.get(&format!("{}/ws/processor/p1", streams)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["name"], "p1");
    assert_eq!(r.body["state"], "CREATED");
    // The other node opens the connection's sealed password (it needs it to run a processor),
    // which the database itself holds only sealed.
    let stored = query_texts(&url, "SELECT config FROM connections WHERE name = 'kafka1'").await;
    assert_eq!(stored.len(), 1);
    assert!(!stored[0].contains(secret) && stored[0].contains("$sealed"), "{}", stored[0]);

    // And back: what B changes, A reads.
    let r = cb.delete(&format!("{}/ws/processor/p1", streams)).await;
    assert!(r.status.is_success(), "{:?}", r.body);
    assert_eq!(ca.get(&format!("{}/ws/processor/p1", streams)).await.status, StatusCode::NOT_FOUND);
    a.terminate();
    b.terminate();
}

/// Runs a client command of the binary on the store of `url`; whether it succeeded, its output.
fn sluice_on(url: &str, env: &[(&str, &str)], args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(args)
        .args(["--store", url, "--data-dir"])
        .arg(temp_dir("pg-client"))
        .env_remove("SLUICE_SECRET_KEY")
        .env_remove("SLUICE_SECRET_KEY_FILE")
        .envs(env.iter().copied())
        .env("SLUICE_LOG", "warn")
        .output()
        .expect("sluice runs");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.success(), text(&out.stdout), text(&out.stderr))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_commands_write_to_the_shared_store() {
    let url = fresh_database("clients").await;
    let a = node(&url, "pg-clients");
    let key = [("SLUICE_SECRET_KEY", KEY)];
    let (ok, out, err) = sluice_on(&url, &key, &["projects", "create", "--name", "second"]);
    assert!(ok, "{}", err);
    let group = line_value(&out, "groupId");
    let (ok, out, err) = sluice_on(&url, &key, &["keys", "create", "--project", &group, "--role", "GROUP_OWNER"]);
    assert!(ok, "{}", err);
    let auth = Auth::Digest {
        user: line_value(&out, "publicKey"),
        password: line_value(&out, "privateKey"),
        algorithm: "MD5",
    };
    let r = Client::new(&a, auth).get(&format!("/api/atlas/v2/groups/{}/streams", group)).await;
    assert_eq!(r.status, StatusCode::OK, "the node knows the key the command made: {:?}", r.body);
    let (ok, out, err) =
        sluice_on(&url, &key, &["service-accounts", "create", "--project", &group, "--role", "GROUP_READ_ONLY"]);
    assert!(ok, "{}", err);
    let (id, secret) = (line_value(&out, "clientId"), line_value(&out, "clientSecret"));
    let token = Client::new(&a, Auth::None).oauth_token(&id, &secret).await;
    assert!(token.is_some(), "the node knows the service account the command made");
    // The client commands need the shared key too.
    let (ok, _, err) = sluice_on(&url, &[], &["projects", "list"]);
    assert!(!ok && err.contains("SLUICE_SECRET_KEY"), "{}", err);
    a.terminate();
}

#[tokio::test]
async fn a_node_without_the_shared_sealing_key_refuses_to_start() {
    let url = fresh_database("nokey").await;
    // With a checkpoint store, so that the key is all it lacks.
    let checkpoints = shared_checkpoints(&url);
    let serve = |extra: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
            .args(["serve", "--listen", "127.0.0.1:0", "--store", &url, "--checkpoint-store", &checkpoints])
            .arg("--data-dir")
            .arg(temp_dir("pg-nokey"))
            .args(extra)
            .env_remove("SLUICE_SECRET_KEY")
            .env_remove("SLUICE_SECRET_KEY_FILE")
            .env("SLUICE_LOG", "warn")
            .output()
            .expect("sluice runs");
        assert!(!out.status.success(), "it must not start");
        assert!(!String::from_utf8_lossy(&out.stdout).contains("privateKey"));
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let err = serve(&[]);
    assert!(err.contains("SLUICE_SECRET_KEY") && err.contains("--secret-key-file"), "{}", err);
    assert!(err.contains("same on every node"), "{}", err);
    let err = serve(&["--secret-key-file", "/nonexistent/sluice.key"]);
    assert!(err.contains("/nonexistent/sluice.key does not exist"), "{}", err);
    // It refused before touching the database.
    let tables = query_texts(&url, "SELECT tablename::TEXT FROM pg_tables WHERE schemaname = 'public'").await;
    assert!(tables.is_empty(), "{:?}", tables);
}
