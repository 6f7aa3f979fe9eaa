//! A bounded fuzz of the HTTP API against its contract: schemathesis (from the test venv that
//! `scripts/test-servers.sh` provides) generates requests for all 37 operations of
//! `spec/atlas-streams-openapi.json`, with a fixed seed and a time budget, signed with a bearer
//! token of an owner service account. No answer may be a 5xx, and the server must still answer
//! afterwards. Run longer by hand with `SLUICE_API_FUZZ_EXAMPLES` and `SLUICE_API_FUZZ_SECONDS`.

mod support;

use std::path::PathBuf;

use reqwest::StatusCode;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_requests_for_every_operation_get_no_server_error() {
    let python = std::env::var("SLUICE_PYTHON")
        .expect("SLUICE_PYTHON is not set: run the tests through scripts/test.sh, which provides the venv");
    let st = PathBuf::from(&python).with_file_name("st");
    assert!(st.exists(), "no schemathesis at {}: scripts/test-servers.sh installs it", st.display());
    let dir = temp_dir("api-fuzz");
    let server = Server::start_with_env(&dir, &[("SLUICE_RATE_LIMIT", "0")]);
    let group = server.banner_value("groupId");
    let c = owner(&server, "MD5");
    let sa = cli(&server.dir, &["service-accounts", "create", "--project", &group, "--role", "GROUP_OWNER"]);
    let token = c.oauth_token(&line_value(&sa, "clientId"), &line_value(&sa, "clientSecret")).await.expect("token");
    // A workspace with a processor, so that requests naming them reach past the lookups.
    let streams = sample_workspace(&c, &server).await;

    let manifest = std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into());
    let spec = PathBuf::from(manifest).join("../../spec/atlas-streams-openapi.json");
    let examples = std::env::var("SLUICE_API_FUZZ_EXAMPLES").unwrap_or_else(|_| "3".into());
    let seconds = std::env::var("SLUICE_API_FUZZ_SECONDS").unwrap_or_else(|_| "90".into());
    let out = tokio::process::Command::new(&st)
        .current_dir(&dir)
        .arg("run")
        .arg(&spec)
        .args(["--url", &format!("http://{}", server.addr)])
        .args(["-H", &format!("Authorization: Bearer {}", token)])
        .args(["-H", "Accept: application/vnd.atlas.2025-03-12+json"])
        .args(["--checks", "not_a_server_error", "--phases", "examples,fuzzing", "--seed", "1", "--workers", "1"])
        .args(["--max-examples", &examples, "--max-time", &seconds, "--suppress-health-check", "all", "--no-color"])
        .output()
        .await
        .expect("schemathesis runs");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let summary: Vec<&str> = text.lines().filter(|l| l.contains("generated") || l.contains("passed")).collect();
    println!("{}", summary.join("\n"));
    assert!(out.status.success(), "schemathesis found server errors:\n{}", text);
    assert!(text.contains("Tested: 37"), "{}", text);
    // The server is still up and answering.
    let r = c.get(&format!("{}/ws", streams)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    server.terminate();
    let _ = std::fs::remove_dir_all(dir);
}
