//! The real mongosh (2.x) against `sluice serve --mongodb-listen`: the Atlas tutorial flow
//! (`tests/mongosh/tutorial.js`). mongosh comes from npm into a cache outside the clone
//! (`scripts/test.sh` installs it and sets SLUICE_MONGOSH); the test installs it there itself
//! when missing, and skips, saying so, only when npm is not installed.

mod support;

use std::path::PathBuf;
use std::process::Command;

use support::*;

/// The mongosh binary: SLUICE_MONGOSH, or the npm cache's, installed there if npm exists.
fn mongosh() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("SLUICE_MONGOSH").map(PathBuf::from).filter(|p| p.is_file()) {
        return Some(p);
    }
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(std::env::temp_dir);
    let prefix = home.join(".cache/sluice/npm");
    let bin = prefix.join("node_modules/.bin/mongosh");
    if bin.is_file() {
        return Some(bin);
    }
    if Command::new("npm").arg("--version").output().is_err() {
        eprintln!("SKIPPED serve_mongosh: npm is not installed, so mongosh cannot be installed");
        return None;
    }
    let out = Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--prefix"])
        .arg(&prefix)
        .arg("mongosh@2")
        .output()
        .expect("npm runs");
    assert!(out.status.success(), "npm install mongosh failed: {}", String::from_utf8_lossy(&out.stderr));
    Some(bin)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mongosh_runs_the_atlas_tutorial() {
    let Some(mongosh) = blocking(mongosh).await else { return };
    let server = Server::start_with_env(&temp_dir("mongosh"), &[("SLUICE_MONGODB_LISTEN", "127.0.0.1:0")]);
    sample_workspace(&owner(&server, "MD5"), &server).await;
    // zlib: the whole tutorial runs over compressed messages.
    let uri = format!("{}/ws?compressors=zlib", server.banner_value("MongoDB wire protocol"));
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into());
    let script = PathBuf::from(manifest).join("tests/mongosh/tutorial.js");
    let (user, password) = (server.banner_value("publicKey"), server.banner_value("privateKey"));
    let out = blocking(move || {
        Command::new(mongosh)
            .arg(&uri)
            .args(["--username", &user, "--password", &password, "--quiet", "--norc"])
            .arg("--file")
            .arg(&script)
            .output()
            .expect("mongosh runs")
    })
    .await;
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "mongosh failed:\n{}\n{}", stdout, stderr);
    assert!(stdout.contains("mongosh tutorial passed"), "{}", stdout);
    // The sample printed two window documents (and sp.process two solar readings, which carry
    // no window metadata).
    assert_eq!(stdout.matches("_stream_meta").count(), 2, "{}", stdout);
    assert!(stdout.matches("max_watts").count() >= 2, "{}", stdout);
    server.terminate();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mongosh_with_a_read_only_key_reads_and_is_refused_changes() {
    let Some(mongosh) = blocking(mongosh).await else { return };
    let server = Server::start_with_env(&temp_dir("mongosh-ro"), &[("SLUICE_MONGODB_LISTEN", "127.0.0.1:0")]);
    let c = owner(&server, "MD5");
    let streams = sample_workspace(&c, &server).await;
    let pipeline = serde_json::json!([{"$source": {"connectionName": "sample_stream_solar"}}]);
    let r = c.post(&format!("{}/ws/processor", streams), &serde_json::json!({"name": "p", "pipeline": pipeline})).await;
    assert_eq!(r.status, reqwest::StatusCode::OK, "{:?}", r.body);
    let key = cli(
        &server.dir,
        &["keys", "create", "--project", &server.banner_value("groupId"), "--role", "GROUP_READ_ONLY"],
    );
    let (user, password) = (line_value(&key, "publicKey"), line_value(&key, "privateKey"));
    let uri = format!("{}/ws", server.banner_value("MongoDB wire protocol"));
    let script = r#"
        function refused(f) { try { f(); return null; } catch (e) { return e; } }
        if (sp.listConnections().length !== 1) throw new Error('cannot list connections');
        if (sp.listStreamProcessors().length !== 1) throw new Error('cannot list processors');
        for (const [what, f] of [
            ['create', () => sp.createStreamProcessor('q', [{ $source: { connectionName: 'sample_stream_solar' } }])],
            ['start', () => sp.p.start()],
            ['drop', () => sp.p.drop()],
        ]) {
            const e = refused(f);
            if (e === null || e.code !== 13) throw new Error(what + ' was not refused: ' + e);
        }
        print('read-only checks passed');
    "#;
    let out = blocking(move || {
        Command::new(mongosh)
            .arg(&uri)
            .args(["--username", &user, "--password", &password, "--quiet", "--norc", "--eval", script])
            .output()
            .expect("mongosh runs")
    })
    .await;
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "mongosh failed:\n{}\n{}", stdout, stderr);
    assert!(stdout.contains("read-only checks passed"), "{}", stdout);
    // Nothing changed.
    let r = c.get(&format!("{}/ws/processor/p", streams)).await;
    assert_eq!(r.body["state"], "CREATED", "{:?}", r.body);
    server.terminate();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mongosh_connects_over_tls() {
    let Some(mongosh) = blocking(mongosh).await else { return };
    let certs = temp_dir("mongosh-tls-certs");
    let files = support::certs::server_certificates(&certs);
    let (cert, key) = (files.cert.display().to_string(), files.key.display().to_string());
    let server = Server::start_with_env(
        &temp_dir("mongosh-tls"),
        &[
            ("SLUICE_MONGODB_LISTEN", "127.0.0.1:0"),
            ("SLUICE_MONGODB_TLS_CERT", &cert),
            ("SLUICE_MONGODB_TLS_KEY", &key),
        ],
    );
    sample_workspace(&owner(&server, "MD5"), &server).await;
    let uri = format!("{}/ws", server.banner_value("MongoDB wire protocol"));
    let (user, password) = (server.banner_value("publicKey"), server.banner_value("privateKey"));
    let out = blocking(move || {
        Command::new(mongosh)
            .arg(&uri)
            .args(["--tls", "--tlsCAFile"])
            .arg(&files.ca)
            .args(["--username", &user, "--password", &password, "--quiet", "--norc"])
            .args(["--eval", "print(sp.listConnections().map((c) => c.name).join(','))"])
            .output()
            .expect("mongosh runs")
    })
    .await;
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "mongosh failed:\n{}\n{}", stdout, stderr);
    assert_eq!(stdout.trim(), "sample_stream_solar");
    server.terminate();
}
