//! `sluice processors ...` against a running server: the client commands drive the lifecycle,
//! Sluice's pause and resume included, and report refusals with the server's error.

mod support;

use reqwest::StatusCode;
use serde_json::{json, Value as Json};
use support::*;

/// Runs `sluice processors <args>` against `server` with the owner key; (success, stdout, stderr).
fn sluice(server: &Server, args: &[&str]) -> (bool, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
        .arg("processors")
        .args(args)
        .env("SLUICE_URL", format!("http://{}", server.addr))
        .env("SLUICE_GROUP", server.banner_value("groupId"))
        .env("SLUICE_WORKSPACE", "ws")
        .env("SLUICE_PUBLIC_KEY", server.banner_value("publicKey"))
        .env("SLUICE_PRIVATE_KEY", server.banner_value("privateKey"))
        .output()
        .expect("sluice runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

fn state_of(server: &Server) -> String {
    let (ok, out, err) = sluice(server, &["get", "solar"]);
    assert!(ok, "{}", err);
    let body: Json = serde_json::from_str(&out).expect("JSON");
    body["state"].as_str().unwrap_or_default().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_commands_drive_a_processor() {
    let dir = temp_dir("cli-processors");
    let server = Server::start(&dir);
    let c = owner(&server, "MD5");
    let streams = sample_workspace(&c, &server).await;
    let pipeline =
        json!([{"$source": {"connectionName": "sample_stream_solar"}}, {"$match": {"obs.watts": {"$gte": 0}}}]);
    let r = c.post(&format!("{}/ws/processor", streams), &json!({"name": "solar", "pipeline": pipeline})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);

    let check = |args: &[&str]| {
        let (ok, out, err) = sluice(&server, args);
        assert!(ok, "sluice processors {:?}: {}", args, err);
        out
    };
    let listed: Json = serde_json::from_str(&check(&["list"])).expect("JSON");
    assert_eq!(listed["results"][0]["name"], "solar");
    check(&["start", "solar"]);
    assert_eq!(state_of(&server), "STARTED");
    check(&["pause", "solar"]);
    assert_eq!(state_of(&server), "PAUSED");
    check(&["resume", "solar"]);
    assert_eq!(state_of(&server), "STARTED");
    check(&["stop", "solar"]);
    assert_eq!(state_of(&server), "STOPPED");

    // A refused transition fails the command with the server's words.
    let (ok, _, err) = sluice(&server, &["pause", "solar"]);
    assert!(!ok);
    assert!(err.contains("status cannot be changed from [STOPPED] to Paused"), "{}", err);
    // The sample stream has no offsets to reset: refused, and said why.
    let (ok, _, err) = sluice(&server, &["reset-offsets", "solar", "--to", "earliest"]);
    assert!(!ok);
    assert!(err.contains("no offsets to reset"), "{}", err);
    server.terminate();
    let _ = std::fs::remove_dir_all(dir);
}
