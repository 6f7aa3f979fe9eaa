//! Secrets at rest: the data dir is its owner's alone, and a connection's password is sealed in
//! the database (with a key kept in its own file, or given in the environment), so that the
//! database files alone reveal no secret, before and after a restart.

mod support;

use reqwest::StatusCode;
use serde_json::json;
use support::*;

fn files_contain(dir: &std::path::Path, needle: &str) -> Vec<String> {
    let mut hits = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let p = entry.path();
        if p.is_file() {
            let bytes = std::fs::read(&p).unwrap_or_default();
            if bytes.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                hits.push(p.display().to_string());
            }
        }
    }
    hits
}

#[cfg(unix)]
fn mode(p: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_password_is_never_on_disk_in_clear() {
    let dir = temp_dir("secrets");
    let server = Server::start(&dir);
    let c = owner(&server, "SHA-256");
    let streams = sample_workspace(&c, &server).await;
    let secret = "correct-horse-battery-staple";
    let body = json!({"name": "kafka1", "type": "Kafka", "bootstrapServers": "127.0.0.1:9",
        "authentication": {"mechanism": "SCRAM-256", "username": "alice", "password": secret},
        "security": {"protocol": "SASL_PLAINTEXT"}});
    let r = c.post(&format!("{}/ws/connections", streams), &body).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert!(!String::from_utf8_lossy(&r.raw).contains(secret));
    let r = c.get(&format!("{}/ws/connections/kafka1", streams)).await;
    assert_eq!(r.body["authentication"]["username"], "alice");
    assert!(r.body["authentication"].get("password").is_none(), "{:?}", r.body);

    assert!(files_contain(&dir, secret).is_empty(), "in clear in {:?}", files_contain(&dir, secret));
    assert!(!files_contain(&dir, "alice").is_empty(), "the rest of the connection is stored");
    #[cfg(unix)]
    {
        assert_eq!(mode(&dir), 0o700);
        for f in ["sluice.db", "secret.key"] {
            assert_eq!(mode(&dir.join(f)), 0o600, "{}", f);
        }
        for f in ["sluice.db-wal", "sluice.db-shm"] {
            if dir.join(f).exists() {
                assert_eq!(mode(&dir.join(f)), 0o600, "{}", f);
            }
        }
    }

    // After a restart the sealed secret still opens: the connection is usable as before.
    let (user, password) = (server.banner_value("publicKey"), server.banner_value("privateKey"));
    server.terminate();
    let server = Server::start(&dir);
    let c = Client::new(&server, Auth::Digest { user, password, algorithm: "MD5" });
    let r = c.get(&format!("{}/ws/connections/kafka1", streams)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["authentication"]["username"], "alice");
    assert!(files_contain(&dir, secret).is_empty());
    server.terminate();

    // Without its key the database does not open its secrets: the server refuses to start
    // with another key rather than run with connections it cannot read.
    let wrong = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&dir)
        .env("SLUICE_SECRET_KEY", "00".repeat(32))
        .env("SLUICE_LOG", "warn")
        .output()
        .unwrap();
    assert!(!wrong.status.success());
    let err = String::from_utf8_lossy(&wrong.stderr);
    assert!(err.contains("does not open with this key"), "{}", err);
    let _ = std::fs::remove_dir_all(dir);
}
