//! The seed scenario from Python `requests` with `HTTPDigestAuth` (`tests/python/seed_scenario.py`),
//! against the real server: what an Atlas user's script does, with only the host changed.
//! `scripts/test-servers.sh` provides the interpreter (a venv with `requests`) as SLUICE_PYTHON.

mod support;

use support::*;

#[test]
fn python_requests_with_digest_auth_runs_the_seed_scenario() {
    let python = std::env::var("SLUICE_PYTHON")
        .expect("SLUICE_PYTHON is not set: run the tests through scripts/test.sh, which provides the venv");
    let dir = temp_dir("python");
    let server = Server::start(&dir);
    // The manifest dir at run time: a shared target dir may hold another clone's build.
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into());
    let script = std::path::Path::new(&manifest).join("tests/python/seed_scenario.py");
    let out = std::process::Command::new(python)
        .arg(&script)
        .env("SLUICE_URL", format!("http://{}", server.addr))
        .env("SLUICE_GROUP", server.banner_value("groupId"))
        .env("SLUICE_PUBLIC_KEY", server.banner_value("publicKey"))
        .env("SLUICE_PRIVATE_KEY", server.banner_value("privateKey"))
        .output()
        .expect("python runs");
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "the script failed:\n{}\n{}", stdout, stderr);
    assert!(stdout.contains("seed scenario passed"), "{}", stdout);
    server.terminate();
    let _ = std::fs::remove_dir_all(dir);
}
