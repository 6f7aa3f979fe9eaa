//! `sluice bench control`: what one processor's calls cost while another processor's start is
//! stuck, and how long a server start takes to resume many processors.
//!
//! 1. A processor's `:start` waits on a Kafka "broker" that accepts connections and never
//!    answers (a listener of this process); meanwhile `--calls` GETs of another processor are
//!    timed one after another: their latency should be that of an idle server.
//! 2. `:start` of 5 processors one after another, timed; then `--processors` processors are
//!    started, the server is stopped (SIGTERM) and started again on its data dir, and its own
//!    figure for resuming them all is read from its log. With `--brokers` (or
//!    SLUICE_TEST_KAFKA) the processors read a topic of that broker, so each start waits on it;
//!    without, they read the sample stream.

use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value as Json};

use crate::api_client::DigestClient;
use crate::bench_server::ServerChild;

/// Settings of one control benchmark run.
pub struct ControlBench {
    /// Processors resumed at once by the restarted server.
    pub processors: usize,
    /// GETs timed while the stuck start waits.
    pub calls: usize,
    /// A broker for the processors' source, else the sample stream.
    pub brokers: Option<String>,
}

/// A TCP listener that accepts connections and never answers them; counts what it accepted.
fn silent_broker() -> Result<(String, Arc<AtomicUsize>), String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?.to_string();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming().map_while(Result::ok) {
            count.fetch_add(1, Ordering::Relaxed);
            held.push(s);
        }
    });
    Ok((addr, accepted))
}

async fn call(c: &mut DigestClient, method: Method, path: &str, body: Option<&Json>) -> Result<Json, String> {
    let (status, body) = c.send(method.clone(), path, body).await?;
    if status != StatusCode::OK {
        return Err(format!("{} {}: {} {}", method, path, status, body));
    }
    Ok(body)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn run_async(b: ControlBench) -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("sluice-bench-control-{}", std::process::id()));
    let server = ServerChild::start(dir, false)?;
    let mut c = DigestClient::new(&server.base, &server.public, &server.private).await?;
    let streams = format!("/api/atlas/v2/groups/{}/streams", server.group);
    let ws = json!({"name": "bench", "dataProcessRegion": {"cloudProvider": "AWS", "region": "VIRGINIA_USA"},
        "sampleConnections": {"solar": true}});
    call(&mut c, Method::POST, &streams, Some(&ws)).await?;
    let conns = format!("{}/bench/connections", streams);
    let (silent, accepted) = silent_broker()?;
    call(&mut c, Method::POST, &conns, Some(&json!({"name": "silent", "type": "Kafka", "bootstrapServers": silent})))
        .await?;
    let source = match b.brokers.as_ref().filter(|b| !b.is_empty()) {
        Some(brokers) => {
            call(
                &mut c,
                Method::POST,
                &conns,
                Some(&json!({"name": "kafka", "type": "Kafka", "bootstrapServers": brokers})),
            )
            .await?;
            let (brokers, topic) = (brokers.clone(), format!("bench-control-{}", std::process::id()));
            let t = topic.clone();
            tokio::task::spawn_blocking(move || crate::bench_kafka::create_topic(&brokers, &t, 1))
                .await
                .map_err(|e| e.to_string())??;
            json!({"$source": {"connectionName": "kafka", "topic": topic}})
        }
        None => json!({"$source": {"connectionName": "sample_stream_solar"}}),
    };
    let processors = format!("{}/bench/processor", streams);
    for i in 0..b.processors {
        let p = json!({"name": format!("q{}", i), "pipeline": [source.clone()]});
        call(&mut c, Method::POST, &processors, Some(&p)).await?;
    }
    let hung = json!({"name": "hung", "pipeline": [{"$source": {"connectionName": "silent", "topic": "t"}}]});
    call(&mut c, Method::POST, &processors, Some(&hung)).await?;
    println!(
        "server {} (a child sluice serve on every core); processors read {}",
        server.base,
        if matches!(&b.brokers, Some(x) if !x.is_empty()) { "a Kafka topic" } else { "the sample stream" }
    );

    // 1. Calls about one processor while another's start is stuck.
    let mut other = DigestClient::new(&server.base, &server.public, &server.private).await?;
    let hung_path = format!("{}/hung:start", processors);
    let stuck = tokio::spawn(async move {
        let t = Instant::now();
        let answer = other.send(Method::POST, &hung_path, Some(&json!({}))).await;
        (t.elapsed(), answer.map(|(s, _)| s))
    });
    let waited = Instant::now();
    while accepted.load(Ordering::Relaxed) == 0 {
        if waited.elapsed() > Duration::from_secs(10) {
            return Err("the stuck start never reached the silent broker".into());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let q0 = format!("{}/q0", processors);
    let mut lat = Vec::with_capacity(b.calls);
    for _ in 0..b.calls {
        let t = Instant::now();
        call(&mut c, Method::GET, &q0, None).await?;
        lat.push(t.elapsed());
    }
    let pending = !stuck.is_finished();
    lat.sort_unstable();
    let (stuck_for, stuck_status) = stuck.await.map_err(|e| e.to_string())?;
    println!(
        "GET of a processor while another's start waits on a silent broker: {} calls, p50 {:.2} ms, p99 {:.2} ms, \
         max {:.2} ms (the start still waiting at the last call: {}; it answered {} after {:.0} ms)",
        b.calls,
        ms(crate::bench::percentile(&lat, 0.50)),
        ms(crate::bench::percentile(&lat, 0.99)),
        ms(lat[lat.len() - 1]),
        pending,
        stuck_status.map(|s| s.to_string()).unwrap_or_else(|e| e),
        ms(stuck_for)
    );

    // 2. Five starts one after another, then all of them resumed at once by a restart.
    let t = Instant::now();
    for i in 0..5 {
        call(&mut c, Method::POST, &format!("{}/q{}:start", processors, i), Some(&json!({}))).await?;
    }
    let five = t.elapsed();
    for i in 5..b.processors {
        call(&mut c, Method::POST, &format!("{}/q{}:start", processors, i), Some(&json!({}))).await?;
    }
    let server = server.restart()?;
    // Its log is read by a thread of this process: give that thread a moment.
    let mut line = None;
    for _ in 0..200 {
        line = server.stderr_line("resumed ");
        if line.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let line = line.ok_or("the restarted server resumed no processor")?;
    let resumed_ms: f64 = line
        .rsplit_once(" in ")
        .and_then(|(_, t)| t.trim_end_matches(" ms").parse().ok())
        .ok_or_else(|| format!("no time in '{}'", line))?;
    println!("5 processors started one after another: {:.1} ms", ms(five));
    println!(
        "{} processors resumed by a server start: {:.1} ms (ratio to the 5 one by one: {:.2})",
        b.processors,
        resumed_ms,
        resumed_ms / ms(five)
    );
    Ok(())
}

/// Runs the benchmark and prints its figures.
pub fn run(b: ControlBench) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())?;
    rt.block_on(run_async(b))
}
