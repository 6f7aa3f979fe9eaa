//! `sluice bench`: the canonical solar pipeline over N generated JSON lines, next to a
//! hand-written serde baseline with typed structs, in the same run.

use std::time::{Duration, Instant};

use clap::Args;
use sluice_connectors::line_split::line_ranges;
use sluice_engine::{Executor, ExecutorConfig, Sink, SinkError, StepOutcome};
use sluice_mql::json::parse_document_bytes;
use sluice_mql::Document;
use sluice_pipeline::parse_pipeline_json;

use crate::bench_baseline::Baseline;
use crate::bench_lines::{FedSource, LineGenerator};

/// The canonical pipeline: $match obs.watts > 50, $addFields ratio, 10 s tumbling window by device.
pub const CANONICAL_PIPELINE: &str = include_str!("../../../examples/solar-window.json");

/// Arguments of `sluice bench`.
#[derive(Args)]
pub struct BenchArgs {
    /// Number of events.
    #[arg(long, default_value_t = 1_000_000)]
    events: u64,
    /// Records per batch.
    #[arg(long, default_value_t = 1024)]
    batch: usize,
    /// Number of devices (window keys).
    #[arg(long, default_value_t = 100)]
    devices: u32,
    /// Measure checkpoints instead: size and time for a window of `--keys` keys, restart to
    /// processing, and throughput with periodic checkpoints against without.
    #[arg(long)]
    checkpoints: bool,
    /// Window keys for `--checkpoints`.
    #[arg(long, default_value_t = 1_000_000)]
    keys: u64,
    /// `kafka`: Kafka -> the canonical pipeline -> Kafka on a real broker (`--brokers`), with
    /// the broker's own figures and end-to-end latency at each of `--rates`. `merge`: `$merge`
    /// documents/s into a real MongoDB-wire server (`--uri`), next to its own insert rate. `api`:
    /// authenticated GETs/s and latency of a `sluice serve` child, and start to first output.
    /// `control`: one processor's calls while another's start waits on a broker that never
    /// answers, and the recovery of many processors at a server start against starts one by one.
    /// `cluster`: three nodes on one PostgreSQL database (`--store`): API latency with
    /// `--processors` processors of which `--running` run, takeover after SIGKILL, drain.
    target: Option<String>,
    /// Processors recovered at once in `control` (compared with 5 started one after another);
    /// processors created in `cluster` (default 1,000 there).
    #[arg(long)]
    processors: Option<usize>,
    /// Processors running in `cluster`.
    #[arg(long, default_value_t = 30)]
    running: usize,
    /// The PostgreSQL server for `cluster`, whose user may create databases
    /// (`scripts/test-servers.sh` exports one as SLUICE_TEST_POSTGRES).
    #[arg(long, env = "SLUICE_TEST_POSTGRES")]
    store: Option<String>,
    /// GETs of a processor in `control` while another processor's start waits on a silent broker.
    #[arg(long, default_value_t = 100)]
    calls: usize,
    /// Concurrent clients for `api`.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Clients without credentials flooding the server in `api`'s last phase (0: no flood).
    #[arg(long, default_value_t = 50)]
    flood: usize,
    /// The MongoDB server for `merge` (`scripts/test-servers.sh` exports one as SLUICE_TEST_MONGODB).
    #[arg(long, env = "SLUICE_TEST_MONGODB")]
    uri: Option<String>,
    /// The broker for `kafka` (`scripts/test-servers.sh` exports one as SLUICE_TEST_KAFKA).
    #[arg(long, env = "SLUICE_TEST_KAFKA")]
    brokers: Option<String>,
    /// Partitions of the input topic for `kafka`.
    #[arg(long, default_value_t = 3)]
    partitions: i32,
    /// Events per second offered in the `kafka` latency runs (one run per rate, each through the
    /// broker alone, the stateless pipeline and the windowed one).
    #[arg(long, value_delimiter = ',', default_values_t = vec![10_000u64, 50_000, 100_000])]
    rates: Vec<u64>,
    /// `$emit.config.linger_ms` of the `kafka` latency runs.
    #[arg(long, default_value_t = 0)]
    linger_ms: u32,
    /// Seconds of the `kafka` latency run, and of each `api` load phase.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
}

/// Counts what it receives; keeps nothing.
pub(crate) struct CountingSink(pub(crate) u64);

impl Sink for CountingSink {
    fn name(&self) -> &str {
        "count"
    }
    fn write(&mut self, docs: &[Document]) -> Result<(), SinkError> {
        self.0 += docs.len() as u64;
        Ok(())
    }
}

/// Peak resident set size of this process, in MiB (Linux `VmHWM`).
pub(crate) fn peak_rss_mib() -> Option<f64> {
    proc_status_mib("self", "VmHWM")
}

/// The process's resident memory now, in MiB (Linux).
pub(crate) fn rss_now_mib() -> Option<f64> {
    proc_status_mib("self", "VmRSS")
}

/// A memory figure (`VmRSS`, `VmHWM`) of process `pid` (or `self`) from `/proc`, in MiB.
pub(crate) fn proc_status_mib(pid: &str, field: &str) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{}/status", pid)).ok()?;
    let line = status.lines().find(|l| l.strip_prefix(field).is_some_and(|rest| rest.starts_with(':')))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

pub(crate) fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1]
}

/// Runs `sluice bench`.
pub fn bench(args: BenchArgs) -> Result<(), String> {
    if args.checkpoints {
        return crate::bench_checkpoint::run(args.keys, args.events);
    }
    match args.target.as_deref() {
        None => {}
        Some("kafka") => {
            return crate::bench_kafka::run(crate::bench_kafka::KafkaBench {
                brokers: args.brokers.ok_or("bench kafka needs --brokers HOST:PORT (or SLUICE_TEST_KAFKA)")?,
                events: args.events,
                devices: args.devices,
                partitions: args.partitions,
                rates: args.rates,
                seconds: args.seconds,
                linger_ms: args.linger_ms,
            })
        }
        Some("api") => {
            return crate::bench_api::run(crate::bench_api::ApiBench {
                concurrency: args.concurrency.max(1),
                seconds: args.seconds,
                flood: args.flood,
            })
        }
        Some("control") => {
            return crate::bench_control::run(crate::bench_control::ControlBench {
                processors: args.processors.unwrap_or(50).max(5),
                calls: args.calls.max(1),
                brokers: args.brokers,
            })
        }
        Some("cluster") => {
            return crate::bench_cluster::run(crate::bench_cluster::ClusterBench {
                store: args.store.ok_or("bench cluster needs --store postgres://... (or SLUICE_TEST_POSTGRES)")?,
                processors: args.processors.unwrap_or(1000).max(1),
                running: args.running,
                calls: args.calls.max(1),
            })
        }
        Some("merge") => {
            return crate::bench_merge::run(crate::bench_merge::MergeBench {
                uri: args.uri.ok_or("bench merge needs --uri mongodb://... (or SLUICE_TEST_MONGODB)")?,
                docs: args.events,
            })
        }
        Some(other) => {
            return Err(format!(
                "unknown benchmark '{}': the choices are api, cluster, control, kafka, merge, or none",
                other
            ))
        }
    }
    let plan = parse_pipeline_json(CANONICAL_PIPELINE).map_err(|e| e.to_string())?;
    let source = FedSource::default();
    let mut config = ExecutorConfig::new("bench");
    config.batch_size = args.batch;
    let mut exec =
        Executor::new(&plan, Box::new(source.clone()), Box::new(CountingSink(0)), Box::new(CountingSink(0)), config)
            .map_err(|e| e.to_string())?;
    let mut baseline = Baseline::new();

    // Each rendered chunk goes through the engine, then the decoder alone, then the baseline, so
    // that the three are measured under the same machine conditions and their ratio holds.
    let mut gen = LineGenerator::new(args.events, args.devices);
    let mut latencies = Vec::with_capacity((args.events as usize / args.batch.max(1)) + 1);
    let (mut engine_time, mut decode_time, mut baseline_time) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    let step = |exec: &mut Executor, latencies: &mut Vec<Duration>| -> Result<StepOutcome, String> {
        let t = Instant::now();
        let outcome = exec.step().map_err(|e| e.to_string())?;
        latencies.push(t.elapsed());
        Ok(outcome)
    };
    let mut decode_lines = Vec::new();
    while gen.next_chunk().is_some() {
        source.load(&mut gen.buf);
        let started = Instant::now();
        while !source.consumed() {
            step(&mut exec, &mut latencies)?;
        }
        engine_time += started.elapsed();
        source.take_back(&mut gen.buf);

        let started = Instant::now();
        decode_lines.clear();
        line_ranges(gen.buf.as_bytes(), &mut decode_lines);
        for &(start, end) in &decode_lines {
            std::hint::black_box(parse_document_bytes(&gen.buf.as_bytes()[start..end]).ok());
        }
        decode_time += started.elapsed();

        let started = Instant::now();
        baseline.feed(&gen.buf);
        baseline_time += started.elapsed();
    }
    source.end();
    let started = Instant::now();
    while step(&mut exec, &mut latencies)? != StepOutcome::Finished {}
    engine_time += started.elapsed();
    let started = Instant::now();
    baseline.finish();
    baseline_time += started.elapsed();

    let stats = exec.stats();
    let sluice_peak = peak_rss_mib();
    latencies.sort();
    let per_second = |d: Duration| args.events as f64 / d.as_secs_f64().max(1e-9);
    let (sluice_eps, decode_eps, base_eps) =
        (per_second(engine_time), per_second(decode_time), per_second(baseline_time));

    println!(
        "sluice bench: {} solar events as JSON lines, {} devices, batches of {}",
        args.events, args.devices, args.batch
    );
    println!(
        "pipeline: $match obs.watts > 50 -> $addFields ratio -> 10 s $tumblingWindow by device_id (avg, max, count)"
    );
    println!("sluice   : {:>12.0} events/s  ({:.3} s engine time)", sluice_eps, engine_time.as_secs_f64());
    println!("  decode : {:>12.0} events/s  (JSON line -> document alone, for the breakdown)", decode_eps);
    println!("baseline : {:>12.0} events/s  (serde_json typed structs, same work)", base_eps);
    println!("ratio    : {:>12.2} (sluice / baseline)", sluice_eps / base_eps);
    println!(
        "batch latency: p50 {:.3} ms, p99 {:.3} ms",
        percentile(&latencies, 0.5).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3
    );
    println!(
        "output: {} window results (baseline {}), dlq {}",
        stats.output_messages, baseline.outputs, stats.dlq_messages
    );
    match sluice_peak {
        Some(mib) => println!("peak RSS: {:.1} MiB", mib),
        None => println!("peak RSS: unavailable on this platform"),
    }
    if stats.output_messages != baseline.outputs {
        return Err(format!("sluice produced {} results but the baseline {}", stats.output_messages, baseline.outputs));
    }
    Ok(())
}
