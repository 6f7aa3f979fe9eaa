//! `sluice bench cluster`: three `sluice serve` nodes on one PostgreSQL database (a fresh one
//! made on the server `--store` names) and one checkpoint directory.
//!
//! 1. `--processors` processors are created, `--running` of them started on the sample stream
//!    (placement spreads them over the nodes).
//! 2. API latency, each call sent to the nodes in turn: GET of a running processor, GET of the
//!    processors list (a page of 100), the cluster listing, and `:stop` + `:start` of a running
//!    processor sent to a node that does not run it (forwarded to its owner).
//! 3. Takeover: the node running the most processors is killed (SIGKILL); the time until every
//!    one of them runs on another node. Then a drain: another node gets SIGTERM; the time until
//!    its processors run on the last node.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value as Json};

use crate::api_client::DigestClient;
use crate::bench::percentile;
use crate::bench_server::ServerChild;

/// Settings of one cluster benchmark run.
pub struct ClusterBench {
    /// A PostgreSQL server whose user may create databases.
    pub store: String,
    /// Processors created.
    pub processors: usize,
    /// Processors started.
    pub running: usize,
    /// Calls timed per measure.
    pub calls: usize,
}

const NODES: usize = 3;

/// A new database on the server of `url`; its URL.
async fn fresh_database(url: &str) -> Result<String, String> {
    let name = format!("sluice_bench_cluster_{}", std::process::id());
    sluice_store::PostgresStore::create_database(url, &name).await.map_err(|e| format!("PostgreSQL: {}", e))
}

async fn call(c: &mut DigestClient, method: Method, path: &str, body: Option<&Json>) -> Result<Json, String> {
    let (status, body) = c.send(method.clone(), path, body).await?;
    if status != StatusCode::OK {
        return Err(format!("{} {}: {} {}", method, path, status, body));
    }
    Ok(body)
}

/// The node running each processor, by processor name, from a node's cluster listing.
async fn owners(c: &mut DigestClient) -> Result<BTreeMap<String, String>, String> {
    let listing = call(c, Method::GET, "/api/sluice/v1/cluster", None).await?;
    let mut owners = BTreeMap::new();
    for n in listing["nodes"].as_array().into_iter().flatten() {
        for p in n["processors"].as_array().into_iter().flatten() {
            owners.insert(
                p["name"].as_str().unwrap_or_default().to_string(),
                n["id"].as_str().unwrap_or_default().to_string(),
            );
        }
    }
    Ok(owners)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Times `calls` runs of `f`, printing p50 and p99.
fn report(what: &str, mut lat: Vec<Duration>) {
    lat.sort_unstable();
    println!(
        "{}: {} calls, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        what,
        lat.len(),
        ms(percentile(&lat, 0.50)),
        ms(percentile(&lat, 0.99)),
        ms(lat[lat.len() - 1])
    );
}

/// Polls node `c`'s listing until none of `names` runs on `gone` and all run somewhere.
async fn wait_moved(c: &mut DigestClient, names: &[String], gone: &str) -> Result<Duration, String> {
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(60) {
        let now = owners(c).await?;
        if names.iter().all(|n| now.get(n).is_some_and(|o| o != gone)) {
            return Ok(t.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Err(format!("the processors of {} did not move within 60 s", gone))
}

async fn run_async(b: ClusterBench) -> Result<(), String> {
    let url = fresh_database(&b.store).await?;
    let base = std::env::temp_dir().join(format!("sluice-bench-cluster-{}", std::process::id()));
    std::fs::create_dir_all(&base).map_err(|e| e.to_string())?;
    let key = base.join("secret.key");
    std::fs::write(&key, sluice_control::random_hex(32)).map_err(|e| e.to_string())?;
    let checkpoints = format!("file://{}", base.join("checkpoints").display());
    let mut nodes = Vec::new();
    for i in 1..=NODES {
        let extra = ["--store", &url, "--node-id", &format!("n{}", i), "--checkpoint-store", &checkpoints];
        let mut extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        extra.extend(["--secret-key-file".to_string(), key.display().to_string()]);
        nodes.push(ServerChild::start_with(base.join(format!("n{}", i)), extra)?);
    }
    let (group, public, private) = (nodes[0].group.clone(), nodes[0].public.clone(), nodes[0].private.clone());
    let mut clients = Vec::new();
    for n in &nodes {
        clients.push(DigestClient::new(&n.base, &public, &private).await?);
    }
    let streams = format!("/api/atlas/v2/groups/{}/streams", group);
    let ws = json!({"name": "bench", "dataProcessRegion": {"cloudProvider": "AWS", "region": "VIRGINIA_USA"},
        "sampleConnections": {"solar": true}});
    call(&mut clients[0], Method::POST, &streams, Some(&ws)).await?;
    let processors = format!("{}/bench/processor", streams);
    let pipeline =
        json!([{"$source": {"connectionName": "sample_stream_solar"}}, {"$match": {"obs.watts": {"$gt": 50}}}]);
    let created = Instant::now();
    for i in 0..b.processors {
        let p = json!({"name": format!("p{:04}", i), "pipeline": pipeline});
        call(&mut clients[i % NODES], Method::POST, &processors, Some(&p)).await?;
    }
    let created = created.elapsed();
    let started = Instant::now();
    for i in 0..b.running {
        call(&mut clients[0], Method::POST, &format!("{}/p{:04}:start", processors, i), Some(&json!({}))).await?;
    }
    let started = started.elapsed();
    let placed = owners(&mut clients[0]).await?;
    let mut per_node: BTreeMap<&str, usize> = BTreeMap::new();
    for o in placed.values() {
        *per_node.entry(o.as_str()).or_default() += 1;
    }
    println!(
        "{} nodes (child sluice serve processes on this machine) on PostgreSQL; {} processors created in {:.0} ms, {} \
         started through one node in {:.0} ms, placed {:?}",
        NODES,
        b.processors,
        ms(created),
        b.running,
        ms(started),
        per_node
    );

    // 2. API latency.
    let one = format!("{}/p0000", processors);
    let mut lat = Vec::with_capacity(b.calls);
    for i in 0..b.calls {
        let t = Instant::now();
        call(&mut clients[i % NODES], Method::GET, &one, None).await?;
        lat.push(t.elapsed());
    }
    report("GET of a running processor, from each node in turn", lat);
    let list = format!("{}/bench/processors?itemsPerPage=100", streams);
    let mut lat = Vec::with_capacity(b.calls);
    for i in 0..b.calls {
        let t = Instant::now();
        call(&mut clients[i % NODES], Method::GET, &list, None).await?;
        lat.push(t.elapsed());
    }
    report("GET of the processors list (all 1,000 read, a page of 100 returned), from each node in turn", lat);
    let mut lat = Vec::with_capacity(b.calls);
    for i in 0..b.calls {
        let t = Instant::now();
        owners(&mut clients[i % NODES]).await?;
        lat.push(t.elapsed());
    }
    report("GET /api/sluice/v1/cluster, from each node in turn", lat);
    let owner = placed.get("p0000").cloned().unwrap_or_default();
    let other = (0..NODES).find(|i| format!("n{}", i + 1) != owner).unwrap_or(0);
    let mut lat = Vec::new();
    for _ in 0..(b.calls / 10).max(5) {
        let t = Instant::now();
        call(&mut clients[other], Method::POST, &format!("{}:stop", one), Some(&json!({}))).await?;
        call(&mut clients[other], Method::POST, &format!("{}:start", one), Some(&json!({}))).await?;
        lat.push(t.elapsed());
    }
    report("`:stop` then `:start` sent to a node that does not run the processor", lat);

    // 3. Takeover after SIGKILL, then a drain.
    let placed = owners(&mut clients[0]).await?;
    let mut per_node: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (p, o) in &placed {
        per_node.entry(o.clone()).or_default().push(p.clone());
    }
    let (victim, moved) = per_node.iter().max_by_key(|(_, v)| v.len()).ok_or("nothing runs")?;
    let v = victim.trim_start_matches('n').parse::<usize>().map_err(|e| e.to_string())? - 1;
    nodes[v].signal("KILL")?;
    let killed = Instant::now();
    let watcher = (v + 1) % NODES;
    let took = wait_moved(&mut clients[watcher], moved, victim).await?;
    println!(
        "takeover: {} processors of {} (SIGKILL) running on other nodes after {:.0} ms ({:.0} ms by the poll)",
        moved.len(),
        victim,
        ms(killed.elapsed()),
        ms(took)
    );
    let drained = watcher;
    let name = format!("n{}", drained + 1);
    let theirs: Vec<String> =
        owners(&mut clients[drained]).await?.into_iter().filter(|(_, o)| *o == name).map(|(p, _)| p).collect();
    let last = (0..NODES).find(|i| *i != v && *i != drained).ok_or("no third node")?;
    nodes[drained].signal("TERM")?;
    let took = wait_moved(&mut clients[last], &theirs, &name).await?;
    println!(
        "drain: {} processors of {} (SIGTERM) running on the last node after {:.0} ms",
        theirs.len(),
        name,
        ms(took)
    );
    drop(nodes);
    let _ = std::fs::remove_dir_all(&base);
    Ok(())
}

/// Runs the benchmark and prints its figures.
pub fn run(b: ClusterBench) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())?;
    rt.block_on(run_async(b))
}
