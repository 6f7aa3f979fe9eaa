//! Test support: the real `sluice serve` binary on a free loopback port with its own data dir,
//! and an HTTP client that authenticates with Digest (MD5 or SHA-256) or a bearer token.

#![allow(dead_code)]

pub mod certs;
pub mod cluster;
pub mod contract;
pub mod crashes;
pub mod postgres;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use md5::Md5;
use reqwest::{Method, StatusCode};
use serde_json::Value as Json;
use sha2::{Digest as _, Sha256};

/// A running server.
pub struct Server {
    child: Child,
    /// `127.0.0.1:PORT`
    pub addr: String,
    /// The data dir.
    pub dir: PathBuf,
    /// Output lines printed at start (credentials on the first start).
    pub banner: Vec<String>,
}

/// Creates the workspace `ws` with the solar sample connection; the project's `.../streams` path.
pub async fn sample_workspace(c: &Client, server: &Server) -> String {
    let ws = format!("/api/atlas/v2/groups/{}/streams", server.banner_value("groupId"));
    let body = serde_json::json!({"name": "ws", "dataProcessRegion": {"cloudProvider": "AWS", "region": "VIRGINIA_USA"},
        "sampleConnections": {"solar": true}});
    let r = c.post(&ws, &body).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    ws
}

/// Creates the workspace `ws` (no sample connection) with `connections`; the project's
/// `.../streams` path.
pub async fn workspace_with(c: &Client, server: &Server, connections: &[Json]) -> String {
    let ws = format!("/api/atlas/v2/groups/{}/streams", server.banner_value("groupId"));
    let body =
        serde_json::json!({"name": "ws", "dataProcessRegion": {"cloudProvider": "AWS", "region": "VIRGINIA_USA"}});
    let r = c.post(&ws, &body).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    for conn in connections {
        let r = c.post(&format!("{}/ws/connections", ws), conn).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    }
    ws
}

/// The operational log of workspace `ws` (under the project's `.../streams` path `streams`),
/// one JSON value a line.
pub async fn operational_log(c: &Client, streams: &str, ws: &str) -> Vec<Json> {
    let gzip = Client { accept: "application/vnd.atlas.2025-03-12+gzip".into(), ..c.clone() };
    let r = gzip.get(&format!("{}/{}:downloadOperationalLogs?startDate=0", streams, ws)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&r.raw[..]), &mut text).expect("gzip");
    text.lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect()
}

/// Runs a blocking helper (a Kafka or MongoDB client) off the async test's threads.
pub async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.expect("blocking helper")
}

/// A fresh, empty data dir.
pub fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("sluice-{}-{}-{}", name, std::process::id(), sluice_control_id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn sluice_control_id() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0)
}

impl Server {
    /// Starts `sluice serve` on port 0 and waits for its `listening on` line.
    pub fn start(dir: &Path) -> Server {
        Server::start_with_env(dir, &[])
    }

    /// Starts `sluice serve` with extra environment (its flags' `SLUICE_*` variables).
    pub fn start_with_env(dir: &Path, env: &[(&str, &str)]) -> Server {
        Server::start_with(dir, &[], env)
    }

    /// Starts `sluice serve` with extra flags and environment.
    pub fn start_with(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir)
            .args(args)
            .env("SLUICE_LOG", "warn")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("sluice serve starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut reader = BufReader::new(stdout);
        let mut banner = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        let addr = loop {
            let mut line = String::new();
            assert!(Instant::now() < deadline, "server did not start");
            if reader.read_line(&mut line).expect("read stdout") == 0 {
                panic!("server exited before listening: {:?}", banner);
            }
            let line = line.trim().to_string();
            if let Some(a) = line.strip_prefix("listening on ") {
                break a.to_string();
            }
            banner.push(line);
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in reader.lines() {});
        Server { child, addr, dir: dir.to_path_buf(), banner }
    }

    /// The server process's peak resident memory so far, in MiB (Linux).
    pub fn peak_rss_mib(&self) -> Option<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        Some(line.split_whitespace().nth(1)?.parse::<f64>().ok()? / 1024.0)
    }

    /// A value of the first-start banner (`groupId`, `publicKey`, `privateKey`).
    pub fn banner_value(&self, key: &str) -> String {
        let prefix = format!("{}: ", key);
        self.banner
            .iter()
            .find_map(|l| l.strip_prefix(&prefix))
            .unwrap_or_else(|| panic!("{} in {:?}", key, self.banner))
            .to_string()
    }

    /// SIGTERM, then waits for a clean exit.
    pub fn terminate(mut self) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().expect("kill runs");
        assert!(sent.success(), "SIGTERM to {}", pid);
        let status = self.child.wait().expect("wait");
        assert!(status.success(), "graceful shutdown exits 0, got {:?}", status);
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends `signal` (`STOP`, `CONT`, `TERM`, `KILL`...) and returns at once.
    pub fn signal(&self, signal: &str) {
        let sent = Command::new("kill").args([&format!("-{}", signal), &self.child.id().to_string()]).status();
        assert!(sent.is_ok_and(|s| s.success()), "SIG{} to {}", signal, self.child.id());
    }

    /// Its exit status once it has exited, waiting at most `wait`; None while it still runs.
    pub fn wait_exit(&mut self, wait: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + wait;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILL (a crash).
    pub fn crash(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How a client authenticates.
#[derive(Clone)]
pub enum Auth {
    /// HTTP Digest with this algorithm name (`MD5` or `SHA-256`).
    Digest { user: String, password: String, algorithm: &'static str },
    /// A bearer token.
    Bearer(String),
    /// Nothing.
    None,
}

/// A response.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub content_type: String,
    pub body: Json,
    pub raw: Vec<u8>,
}

/// An API client.
#[derive(Clone)]
pub struct Client {
    pub http: reqwest::Client,
    pub base: String,
    pub auth: Auth,
    /// The Accept header sent.
    pub accept: String,
    /// A raw body to send instead of JSON.
    pub raw_body: Option<String>,
}

fn hash(alg: &str, s: &str) -> String {
    if alg == "SHA-256" {
        hex::encode(Sha256::digest(s.as_bytes()))
    } else {
        hex::encode(Md5::digest(s.as_bytes()))
    }
}

/// `key="value"` pairs of one challenge.
fn challenge_field<'a>(c: &'a str, key: &str) -> Option<&'a str> {
    let start = c.find(&format!("{}=", key))? + key.len() + 1;
    let rest = &c[start..];
    if let Some(q) = rest.strip_prefix('"') {
        q.split('"').next()
    } else {
        rest.split(',').next().map(str::trim)
    }
}

impl Client {
    /// A client of `server` with `auth`, sending the seeds' Accept date.
    pub fn new(server: &Server, auth: Auth) -> Client {
        Client {
            http: reqwest::Client::new(),
            base: format!("http://{}", server.addr),
            auth,
            accept: "application/vnd.atlas.2025-03-12+json".into(),
            raw_body: None,
        }
    }

    /// Sends a request; Digest answers the server's challenge as curl does.
    pub async fn call(&self, method: Method, path: &str, body: Option<&Json>) -> Reply {
        let url = format!("{}{}", self.base, path);
        let build = |auth: Option<String>| {
            let mut r = self.http.request(method.clone(), &url).header("Accept", &self.accept);
            if let Some(b) = body {
                r = r.header("Content-Type", "application/json").body(b.to_string());
            } else if let Some(raw) = &self.raw_body {
                r = r.header("Content-Type", "application/json").body(raw.clone());
            }
            if let Some(a) = auth {
                r = r.header("Authorization", a);
            }
            r
        };
        let first = match &self.auth {
            Auth::Bearer(t) => build(Some(format!("Bearer {}", t))),
            _ => build(None),
        };
        let mut resp = first.send().await.expect("request");
        if let (Auth::Digest { user, password, algorithm }, StatusCode::UNAUTHORIZED) = (&self.auth, resp.status()) {
            let challenge = resp
                .headers()
                .get_all("www-authenticate")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .find(|c| challenge_field(c, "algorithm") == Some(algorithm))
                .expect("a challenge for the algorithm")
                .to_string();
            let realm = challenge_field(&challenge, "realm").unwrap();
            let nonce = challenge_field(&challenge, "nonce").unwrap();
            let uri = url.trim_start_matches(&self.base).to_string();
            let ha1 = hash(algorithm, &format!("{}:{}:{}", user, realm, password));
            let ha2 = hash(algorithm, &format!("{}:{}", method.as_str(), uri));
            let cnonce = "0a4f113b";
            let response = hash(algorithm, &format!("{}:{}:00000001:{}:auth:{}", ha1, nonce, cnonce, ha2));
            let header = format!(
                r#"Digest username="{user}", realm="{realm}", nonce="{nonce}", uri="{uri}", algorithm={algorithm}, qop=auth, nc=00000001, cnonce="{cnonce}", response="{response}""#
            );
            resp = build(Some(header)).send().await.expect("request");
        }
        let status = resp.status();
        let headers = resp.headers().clone();
        let content_type = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        let raw = resp.bytes().await.expect("body").to_vec();
        let body = serde_json::from_slice(&raw).unwrap_or(Json::Null);
        Reply { status, headers, content_type, body, raw }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.call(Method::GET, path, None).await
    }
    pub async fn post(&self, path: &str, body: &Json) -> Reply {
        self.call(Method::POST, path, Some(body)).await
    }
    pub async fn patch(&self, path: &str, body: &Json) -> Reply {
        self.call(Method::PATCH, path, Some(body)).await
    }
    pub async fn delete(&self, path: &str) -> Reply {
        self.call(Method::DELETE, path, None).await
    }
}

/// Polls `f` until it returns Some, for at most `secs`.
pub async fn eventually<T, F, Fut>(secs: u64, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "condition not reached within {} s", secs);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until processor `p` read at least 5 messages, then for a checkpoint taken after that
/// read: the count it returns is one the processor's checkpoints now hold at least.
pub async fn checkpointed_input(c: &Client, p: &str) -> u64 {
    let (seen, ckpt) = eventually(20, || async {
        let b = c.get(p).await.body;
        let n = b["stats"]["inputMessageCount"].as_u64().unwrap_or(0);
        (n >= 5).then(|| (n, b["stats"]["lastCheckpoint"]["id"].as_u64().unwrap_or(0)))
    })
    .await;
    eventually(20, || async {
        let b = c.get(p).await.body;
        (b["stats"]["lastCheckpoint"]["id"].as_u64().unwrap_or(0) > ckpt + 1).then_some(())
    })
    .await;
    seen
}

impl Client {
    /// POSTs a raw body (for malformed JSON), with the same authentication.
    pub async fn http_post_raw(&self, path: &str, body: &str) -> Reply {
        let mut c = self.clone();
        c.raw_body = Some(body.to_string());
        c.call(Method::POST, path, None).await
    }

    /// The client-credentials grant; None when refused.
    pub async fn oauth_token(&self, id: &str, secret: &str) -> Option<String> {
        let r = self
            .http
            .post(format!("{}/api/oauth/token", self.base))
            .basic_auth(id, Some(secret))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials")
            .send()
            .await
            .ok()?;
        if !r.status().is_success() {
            return None;
        }
        let v: Json = r.json().await.ok()?;
        assert_eq!(v["token_type"], "Bearer");
        v["access_token"].as_str().map(str::to_string)
    }
}

/// A client with the bootstrap owner key, Digest with `algorithm`.
pub fn owner(server: &Server, algorithm: &'static str) -> Client {
    Client::new(
        server,
        Auth::Digest { user: server.banner_value("publicKey"), password: server.banner_value("privateKey"), algorithm },
    )
}

/// Runs a client command of the binary against the data dir; its standard output.
pub fn cli(dir: &std::path::Path, args: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .output()
        .expect("sluice runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The value of a `key: value` line.
pub fn line_value(text: &str, key: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{}: ", key)))
        .unwrap_or_else(|| panic!("{} in {}", key, text))
        .to_string()
}
