//! `sluice bench api`: the management API of a real `sluice serve` child process, under load.
//!
//! 1. Idle RSS of the server once it has started (its own `/proc/<pid>/status`).
//! 2. Start to first output: `:start` of a processor on the sample stream, then GETs until its
//!    stats count an output document.
//! 3. Authenticated GETs of one processor, and of the processor list, from `--concurrency`
//!    clients for `--seconds` each: requests/s and latency percentiles. Each client signs with
//!    HTTP Digest (MD5), reusing its nonce with a growing count as Digest allows, so a request is
//!    one round trip.
//! 4. One signed-in client GETting the processor alone, then while `--flood` clients without
//!    credentials send requests as fast as the server answers them (each a 401 challenge): the
//!    signed-in client's latency should not move.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use crate::api_client::DigestClient;
use crate::bench_server::ServerChild;

/// Settings of one API benchmark run.
pub struct ApiBench {
    /// Concurrent clients.
    pub concurrency: usize,
    /// Seconds of each load phase.
    pub seconds: u64,
    /// Clients without credentials in the flood phase (0: none).
    pub flood: usize,
}

fn rss_mib(pid: u32) -> Option<f64> {
    crate::bench::proc_status_mib(&pid.to_string(), "VmRSS")
}

/// `concurrency` clients GET `uri` for `seconds`; requests/s and latencies.
async fn load(server: &ServerChild, uri: &str, b: &ApiBench) -> Result<(f64, Vec<Duration>), String> {
    let mut tasks = Vec::new();
    let started = Instant::now();
    for _ in 0..b.concurrency {
        let mut c = DigestClient::new(&server.base, &server.public, &server.private).await?;
        let (uri, until) = (uri.to_string(), started + Duration::from_secs(b.seconds));
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            while Instant::now() < until {
                let t = Instant::now();
                let (status, _) = c.send(reqwest::Method::GET, &uri, None).await?;
                if status != StatusCode::OK {
                    return Err(format!("GET {} answered {}", uri, status));
                }
                lat.push(t.elapsed());
            }
            Ok::<_, String>(lat)
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.map_err(|e| e.to_string())??);
    }
    let rate = all.len() as f64 / started.elapsed().as_secs_f64();
    all.sort_unstable();
    Ok((rate, all))
}

fn print_load(what: &str, rate: f64, lat: &[Duration]) {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{:<28} {:>8.0} requests/s   p50 {:>6.2} ms   p99 {:>6.2} ms",
        what,
        rate,
        ms(crate::bench::percentile(lat, 0.50)),
        ms(crate::bench::percentile(lat, 0.99))
    );
}

async fn run_async(b: ApiBench) -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("sluice-bench-api-{}", std::process::id()));
    let server = ServerChild::start(dir, true)?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle = rss_mib(server.child.id());
    println!(
        "server {} (a child sluice serve, {}), {} clients, {} s per phase",
        server.base,
        if server.pinned { "on core 0" } else { "on every core" },
        b.concurrency,
        b.seconds
    );
    if let Some(mib) = idle {
        println!("idle server RSS: {:.1} MiB", mib);
    }
    let mut c = DigestClient::new(&server.base, &server.public, &server.private).await?;
    let streams = format!("/api/atlas/v2/groups/{}/streams", server.group);
    let ws = json!({"name": "bench", "dataProcessRegion": {"cloudProvider": "AWS", "region": "VIRGINIA_USA"},
        "sampleConnections": {"solar": true}});
    let (s, body) = c.send(reqwest::Method::POST, &streams, Some(&ws)).await?;
    if s != StatusCode::OK {
        return Err(format!("create workspace: {} {}", s, body));
    }
    let pipeline =
        json!([{"$source": {"connectionName": "sample_stream_solar"}}, {"$match": {"obs.watts": {"$gte": 0}}}]);
    let (s, body) = c
        .send(
            reqwest::Method::POST,
            &format!("{}/bench/processor", streams),
            Some(&json!({"name": "p", "pipeline": pipeline})),
        )
        .await?;
    if s != StatusCode::OK {
        return Err(format!("create processor: {} {}", s, body));
    }
    let proc = format!("{}/bench/processor/p", streams);
    let started = Instant::now();
    let (s, body) = c.send(reqwest::Method::POST, &format!("{}:start", proc), Some(&json!({}))).await?;
    if s != StatusCode::OK {
        return Err(format!("start: {} {}", s, body));
    }
    let first_output = loop {
        let (_, body) = c.send(reqwest::Method::GET, &proc, None).await?;
        if body["stats"]["outputMessageCount"].as_u64().unwrap_or(0) > 0 {
            break started.elapsed();
        }
        if started.elapsed() > Duration::from_secs(30) {
            return Err("no output within 30 s".into());
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    };
    println!(
        "start to first output: {:.1} ms (the server's own figure: {} ms)",
        first_output.as_secs_f64() * 1000.0,
        c.send(reqwest::Method::GET, &proc, None).await?.1["stats"]["firstOutputAfterMs"]
    );
    let (rate, lat) = load(&server, &proc, &b).await?;
    print_load("GET processor", rate, &lat);
    let (rate, lat) = load(&server, &format!("{}/bench/processors", streams), &b).await?;
    print_load("GET processor list", rate, &lat);
    if let Some(mib) = rss_mib(server.child.id()) {
        println!("server RSS after the load: {:.1} MiB", mib);
    }
    if b.flood > 0 {
        let one = ApiBench { concurrency: 1, ..b };
        let (rate, lat) = load(&server, &proc, &one).await?;
        print_load("GET processor, 1 client", rate, &lat);
        // The flood runs on a thread and runtime of its own, so that the measured client does
        // not wait behind the flooders in this process.
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (url, n, flag) = (format!("{}{}", server.base, proc), b.flood, stop.clone());
        let flooder = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            Some(rt.block_on(async move {
                // One client: its pool keeps a connection per task.
                let client = reqwest::Client::new();
                let tasks: Vec<_> =
                    (0..n).map(|_| tokio::spawn(flood(client.clone(), url.clone(), flag.clone()))).collect();
                let mut answered = 0u64;
                for t in tasks {
                    answered += t.await.unwrap_or(0);
                }
                answered
            }))
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        let (rate, lat) = load(&server, &proc, &one).await?;
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let challenged = flooder.join().ok().flatten().unwrap_or(0);
        print_load(&format!("  ... during a {}-client flood", b.flood), rate, &lat);
        println!(
            "  unauthenticated requests answered 401 during the flood: {:.0}/s",
            challenged as f64 / b.seconds as f64
        );
        if let Some(mib) = rss_mib(server.child.id()) {
            println!("server RSS after the flood: {:.1} MiB", mib);
        }
    }
    Ok(())
}

/// Sends requests without credentials to `url` until `stop`; how many were answered 401.
async fn flood(client: reqwest::Client, url: String, stop: std::sync::Arc<std::sync::atomic::AtomicBool>) -> u64 {
    let mut answered = 0;
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        match client.get(&url).send().await {
            Ok(r) if r.status() == StatusCode::UNAUTHORIZED => {
                // Read to the end, so that the connection is kept for the next request.
                let _ = r.bytes().await;
                answered += 1;
            }
            _ => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
    answered
}

/// Runs the benchmark and prints its figures.
pub fn run(b: ApiBench) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())?;
    rt.block_on(run_async(b))
}
