//! The web console (`/console/`): its session sign-in over HTTP (cookie flags, CSRF, roles,
//! sign-out, security headers), and the whole console in a real browser: headless Chromium
//! (Debian's `chromium`) driven by playwright-core from Node (`tests/console/console.mjs`).
//! `scripts/test.sh` installs both; the browser test fails, saying why, when either is missing.
//! Screenshots go to `$CARGO_TARGET_TMPDIR/console-screenshots` (or `SLUICE_SCREENSHOTS`).

mod support;

use std::path::PathBuf;
use std::process::Command;

use reqwest::header::{CONTENT_TYPE, COOKIE, SET_COOKIE, WWW_AUTHENTICATE};
use reqwest::StatusCode;
use serde_json::{json, Value as Json};
use support::*;

const ACCEPT: &str = "application/vnd.atlas.2024-05-30+json";

/// A plain HTTP client (no Digest): the browser's view.
fn http() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client")
}

/// Signs in with `body`; the answer's status, cookie header and JSON.
async fn sign_in(server: &Server, body: &Json) -> (StatusCode, Option<String>, Json) {
    let r =
        http().post(format!("http://{}/console/api/session", server.addr)).json(body).send().await.expect("sign-in");
    let status = r.status();
    assert!(r.headers().get(WWW_AUTHENTICATE).is_none(), "no Digest challenge for the console");
    let cookie = r.headers().get(SET_COOKIE).map(|v| v.to_str().expect("ascii").to_string());
    (status, cookie, r.json().await.unwrap_or(Json::Null))
}

/// `name=value` of a Set-Cookie header.
fn pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().expect("a pair").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_sessions_carry_the_key_s_roles_and_need_csrf_tokens_on_writes() {
    let server = Server::start(&temp_dir("console-session"));
    let group = server.banner_value("groupId");
    let base = format!("http://{}", server.addr);
    let streams = format!("{}/api/atlas/v2/groups/{}/streams", base, group);
    let (public, private) = (server.banner_value("publicKey"), server.banner_value("privateKey"));

    // Wrong key: 401, no cookie.
    let (status, cookie, body) = sign_in(&server, &json!({"publicKey": public, "privateKey": "wrong"})).await;
    assert_eq!(
        (status, cookie, body["errorCode"].as_str()),
        (StatusCode::UNAUTHORIZED, None, Some("USER_UNAUTHORIZED"))
    );
    let (status, _, _) = sign_in(&server, &json!({"publicKey": "nobody", "privateKey": private})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // A form post (what a cross-site page could send without asking) is refused.
    let r = http()
        .post(format!("{}/console/api/session", base))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(format!("publicKey={}&privateKey={}", public, private))
        .send()
        .await
        .expect("form");
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    // The owner's key: an HttpOnly, SameSite=Strict cookie and a CSRF token; never the key.
    let (status, cookie, me) = sign_in(&server, &json!({"publicKey": public, "privateKey": private})).await;
    assert_eq!(status, StatusCode::OK, "{}", me);
    let cookie = cookie.expect("a session cookie");
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.split("; ").any(|a| a == flag), "{} in {}", flag, cookie);
    }
    assert!(!cookie.contains(&private) && !me.to_string().contains(&private));
    assert_eq!(me["projectId"], group.as_str());
    assert_eq!(me["can"], json!({"manageWorkspaces": true, "manageProcessors": true, "readLogs": true}));
    let csrf = me["csrfToken"].as_str().expect("csrf token").to_string();
    let session = pair(&cookie);

    // Reads need the cookie only; writes need the CSRF token too.
    let get = |url: &str| http().get(url).header(ACCEPT_HEADER, ACCEPT).header(COOKIE, &session).send();
    assert_eq!(get(&streams).await.expect("get").status(), StatusCode::OK);
    let ws = json!({"name": "ws", "dataProcessRegion": {"cloudProvider": "AWS", "region": "VIRGINIA_USA"},
        "sampleConnections": {"solar": true}});
    let post = |url: String, csrf: Option<String>, body: Json| {
        let mut r = http().post(url).header(ACCEPT_HEADER, ACCEPT).header(COOKIE, &session).json(&body);
        if let Some(c) = csrf {
            r = r.header("X-CSRF-Token", c);
        }
        r.send()
    };
    let r = post(streams.clone(), None, ws.clone()).await.expect("post");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(r.json::<Json>().await.expect("json")["errorCode"], "INVALID_CSRF_TOKEN");
    let r = post(streams.clone(), Some("forged".into()), ws.clone()).await.expect("post");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = post(streams.clone(), Some(csrf.clone()), ws.clone()).await.expect("post");
    assert_eq!(r.status(), StatusCode::OK);
    // A method the route lacks is 405 for a session too (it authenticates like Digest does).
    let r = http().put(&streams).header(COOKIE, &session).header("X-CSRF-Token", &csrf).send().await.expect("put");
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);

    // A read-only key's session reads and is refused every change by the same role check.
    let ro = cli(&server.dir, &["keys", "create", "--project", &group, "--role", "GROUP_READ_ONLY"]);
    let (status, ro_cookie, ro_me) = sign_in(
        &server,
        &json!({"publicKey": line_value(&ro, "publicKey"), "privateKey": line_value(&ro, "privateKey")}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ro_me["can"], json!({"manageWorkspaces": false, "manageProcessors": false, "readLogs": false}));
    let ro_session = pair(&ro_cookie.expect("cookie"));
    let r = http()
        .post(format!("{}/ws/processor", streams))
        .header(ACCEPT_HEADER, ACCEPT)
        .header(COOKIE, &ro_session)
        .header("X-CSRF-Token", ro_me["csrfToken"].as_str().expect("csrf"))
        .json(&json!({"name": "p", "pipeline": [{"$source": {"connectionName": "sample_stream_solar"}}]}))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(r.json::<Json>().await.expect("json")["errorCode"], "USER_UNAUTHORIZED");
    let r =
        http().get(format!("{}/ws", streams)).header(ACCEPT_HEADER, ACCEPT).header(COOKIE, &ro_session).send().await;
    assert_eq!(r.expect("get").status(), StatusCode::OK);

    // A service account signs in too.
    let sa = cli(&server.dir, &["service-accounts", "create", "--project", &group, "--role", "GROUP_OWNER"]);
    let creds = json!({"clientId": line_value(&sa, "clientId"), "clientSecret": line_value(&sa, "clientSecret")});
    assert_eq!(sign_in(&server, &creds).await.0, StatusCode::OK);
    let wrong = json!({"clientId": line_value(&sa, "clientId"), "clientSecret": "wrong"});
    assert_eq!(sign_in(&server, &wrong).await.0, StatusCode::UNAUTHORIZED);

    // Sign-out needs the CSRF token, then the session is gone and the cookie cleared.
    let out = |csrf: Option<&str>| {
        let mut r = http().delete(format!("{}/console/api/session", base)).header(COOKIE, &session);
        if let Some(c) = csrf {
            r = r.header("X-CSRF-Token", c);
        }
        r.send()
    };
    assert_eq!(out(None).await.expect("delete").status(), StatusCode::FORBIDDEN);
    let r = out(Some(&csrf)).await.expect("delete");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let cleared = r.headers().get(SET_COOKIE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    assert!(cleared.contains("Max-Age=0"), "{}", cleared);
    let r = get(&streams).await.expect("get");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.headers().get(WWW_AUTHENTICATE).is_none(), "an ended session gets no browser password prompt");
    let r = http().get(format!("{}/console/api/session", base)).header(COOKIE, &session).send().await.expect("get");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    server.terminate();
}

const ACCEPT_HEADER: reqwest::header::HeaderName = reqwest::header::ACCEPT;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_files_are_served_with_a_strict_content_security_policy() {
    let server = Server::start(&temp_dir("console-files"));
    let base = format!("http://{}", server.addr);
    let r = http().get(format!("{}/console", base)).send().await.expect("get");
    assert_eq!(r.status(), StatusCode::PERMANENT_REDIRECT);
    for (path, kind) in
        [("/console/", "text/html"), ("/console/js/main.js", "text/javascript"), ("/console/console.css", "text/css")]
    {
        let r = http().get(format!("{}{}", base, path)).send().await.expect("get");
        assert_eq!(r.status(), StatusCode::OK, "{}", path);
        let h = r.headers();
        assert!(h[CONTENT_TYPE].to_str().expect("ascii").starts_with(kind), "{}", path);
        let csp = h["content-security-policy"].to_str().expect("ascii");
        for directive in ["default-src 'self'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'"] {
            assert!(csp.contains(directive), "{} in {}", directive, csp);
        }
        assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"), "{}", csp);
        assert_eq!(h["x-content-type-options"], "nosniff");
    }
    let html = http().get(format!("{}/console/", base)).send().await.expect("get").text().await.expect("text");
    assert!(!html.contains("<script>") && !html.contains("style="), "no inline script or style");
    assert!(!html.contains("http://") && !html.contains("https://"), "nothing loaded from other hosts");
    let r = http().get(format!("{}/console/nope.js", base)).send().await.expect("get");
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    server.terminate();
}

/// The browser: SLUICE_CHROMIUM, or `chromium` / `chromium-browser` on the PATH.
fn chromium() -> PathBuf {
    if let Some(p) = std::env::var_os("SLUICE_CHROMIUM").map(PathBuf::from).filter(|p| p.is_file()) {
        return p;
    }
    for name in ["chromium", "chromium-browser"] {
        if let Ok(out) = Command::new("which").arg(name).output() {
            let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
            if out.status.success() && !path.is_empty() {
                return PathBuf::from(path);
            }
        }
    }
    panic!("serve_console needs Chromium: install Debian's `chromium` (scripts/test.sh does) or set SLUICE_CHROMIUM");
}

/// playwright-core's folder: SLUICE_PLAYWRIGHT_CORE, or the npm cache's, installed there if missing.
fn playwright_core() -> PathBuf {
    if let Some(p) = std::env::var_os("SLUICE_PLAYWRIGHT_CORE").map(PathBuf::from).filter(|p| p.is_dir()) {
        return p;
    }
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(std::env::temp_dir);
    let prefix = home.join(".cache/sluice/npm");
    let dir = prefix.join("node_modules/playwright-core");
    if dir.join("index.mjs").is_file() {
        return dir;
    }
    let out = Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--prefix"])
        .arg(&prefix)
        .arg("playwright-core@1")
        .output()
        .expect("serve_console needs npm to install playwright-core (scripts/test.sh does)");
    assert!(out.status.success(), "npm install playwright-core failed: {}", String::from_utf8_lossy(&out.stderr));
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_drives_a_processor_in_a_real_browser() {
    let (browser, playwright) = blocking(|| (chromium(), playwright_core())).await;
    let server = Server::start(&temp_dir("console-browser"));
    let group = server.banner_value("groupId");
    let ro = cli(&server.dir, &["keys", "create", "--project", &group, "--role", "GROUP_READ_ONLY"]);
    let shots = std::env::var_os("SLUICE_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("console-screenshots"));
    let _ = std::fs::remove_dir_all(&shots);
    std::fs::create_dir_all(&shots).expect("screenshot dir");
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into());
    let script = PathBuf::from(manifest).join("tests/console/console.mjs");
    let mut cmd = Command::new("node");
    cmd.arg(&script)
        .env("SLUICE_URL", format!("http://{}", server.addr))
        .env("OWNER_PUBLIC_KEY", server.banner_value("publicKey"))
        .env("OWNER_PRIVATE_KEY", server.banner_value("privateKey"))
        .env("RO_PUBLIC_KEY", line_value(&ro, "publicKey"))
        .env("RO_PRIVATE_KEY", line_value(&ro, "privateKey"))
        .env("CHROMIUM", &browser)
        .env("PLAYWRIGHT_CORE", &playwright)
        .env("SCREENSHOTS", &shots);
    let out = blocking(move || cmd.output().expect("node runs (install Node.js)")).await;
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    eprintln!("screenshots in {}", shots.display());
    assert!(out.status.success(), "the console test failed:\n{}\n{}", stdout, stderr);
    assert!(stdout.contains("console test passed"), "{}", stdout);
    server.terminate();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_dead_letters_of_a_running_processor_are_listed() {
    let server = Server::start(&temp_dir("console-dlq"));
    let c = owner(&server, "MD5");
    let streams = sample_workspace(&c, &server).await;
    let pipeline = json!([
        {"$source": {"connectionName": "sample_stream_solar"}},
        {"$addFields": {"ratio": {"$divide": ["$obs.watts", 0]}}}
    ]);
    let p = format!("{}/ws/processor/bad", streams);
    let r = c.post(&format!("{}/ws/processor", streams), &json!({"name": "bad", "pipeline": pipeline})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(c.get(&format!("{}/dlq", p)).await.body["results"], json!([]), "nothing before it runs");
    assert_eq!(c.post(&format!("{}:start", p), &json!({})).await.status, StatusCode::OK);
    let dlq = eventually(20, || async {
        let b = c.get(&format!("{}/dlq?limit=2", p)).await.body;
        (b["totalCount"].as_u64() == Some(2)).then_some(b)
    })
    .await;
    let record = &dlq["results"][1];
    assert_eq!(record["processorName"], "bad", "{}", dlq);
    assert!(record["errInfo"]["reason"].as_str().is_some_and(|r| r.contains("divide")), "{}", dlq);
    assert!(record["doc"]["obs"].is_object(), "{}", dlq);
    assert_eq!(c.get(&format!("{}/dlq?limit=x", p)).await.status, StatusCode::BAD_REQUEST);
    server.terminate();
}
