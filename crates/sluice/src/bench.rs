//! `sluice bench`: the canonical solar pipeline over N generated JSON lines, next to a
//! hand-written serde baseline with typed structs, in the same run.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use sluice_connectors::{SolarConfig, SolarSource};
use sluice_engine::{
    Executor, ExecutorConfig, Sink, SinkError, Source, SourceError, SourceRecord, SourceStatus, StepOutcome,
};
use sluice_mql::json::{parse_document_bytes, write_document, JsonMode};
use sluice_mql::{Document, Value};
use sluice_pipeline::parse_pipeline_json;

use crate::bench_baseline::run_baseline;

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
    /// the broker's own figures and end-to-end latency at `--rate`. `merge`: `$merge`
    /// documents/s into a real MongoDB-wire server (`--uri`), next to its own insert rate. `api`:
    /// authenticated GETs/s and latency of a `sluice serve` child, and start to first output.
    target: Option<String>,
    /// Concurrent clients for `api`.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// The MongoDB server for `merge` (`scripts/test-servers.sh` exports one as SLUICE_TEST_MONGODB).
    #[arg(long, env = "SLUICE_TEST_MONGODB")]
    uri: Option<String>,
    /// The broker for `kafka` (`scripts/test-servers.sh` exports one as SLUICE_TEST_KAFKA).
    #[arg(long, env = "SLUICE_TEST_KAFKA")]
    brokers: Option<String>,
    /// Partitions of the input topic for `kafka`.
    #[arg(long, default_value_t = 3)]
    partitions: i32,
    /// Events per second offered in the `kafka` latency run.
    #[arg(long, default_value_t = 100_000)]
    rate: u64,
    /// Seconds of the `kafka` latency run, and of each `api` load phase.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
}

/// Renders solar events as JSON lines, a chunk at a time, so memory does not grow with N.
/// Rendering time is measured apart so that only decoding and processing are timed.
pub(crate) struct LineGenerator {
    solar: SolarSource,
    remaining: u64,
    pub(crate) buf: String,
    /// Nanoseconds spent rendering, shared with the caller.
    pub(crate) render_nanos: Arc<AtomicU64>,
}

const CHUNK: u64 = 16_384;

impl LineGenerator {
    pub(crate) fn new(events: u64, devices: u32) -> LineGenerator {
        let solar = SolarSource::new(SolarConfig {
            rate_per_sec: None,
            limit: Some(events),
            devices,
            ..SolarConfig::default()
        });
        LineGenerator { solar, remaining: events, buf: String::new(), render_nanos: Arc::new(AtomicU64::new(0)) }
    }

    /// Fills `self.buf` with the next chunk of lines; false when done.
    pub(crate) fn next_chunk(&mut self) -> Option<&str> {
        if self.remaining == 0 {
            return None;
        }
        let started = Instant::now();
        let n = self.remaining.min(CHUNK);
        let mut recs = Vec::with_capacity(n as usize);
        let _ = self.solar.poll(n as usize, &mut recs);
        self.buf.clear();
        for r in recs {
            if let SourceRecord::Doc(d, _) = r {
                write_document(&mut self.buf, &d, JsonMode::Relaxed);
                self.buf.push('\n');
            }
        }
        self.remaining -= n;
        self.render_nanos.fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
        Some(&self.buf)
    }
}

/// A source that decodes generated JSON lines (the decoding is part of what is measured).
struct GeneratedSource {
    gen: LineGenerator,
    lines: Vec<(usize, usize)>,
    chunk: String,
    next: usize,
}

impl Source for GeneratedSource {
    fn name(&self) -> &str {
        "bench"
    }

    fn poll(&mut self, max: usize, out: &mut Vec<SourceRecord>) -> Result<SourceStatus, SourceError> {
        if self.next >= self.lines.len() {
            match self.gen.next_chunk() {
                None => return Ok(SourceStatus::End),
                Some(_) => {
                    // Take the rendered chunk without copying it (copying is harness cost, not engine cost).
                    std::mem::swap(&mut self.chunk, &mut self.gen.buf);
                    self.lines.clear();
                    let mut start = 0;
                    for (i, b) in self.chunk.bytes().enumerate() {
                        if b == b'\n' {
                            self.lines.push((start, i));
                            start = i + 1;
                        }
                    }
                    self.next = 0;
                }
            }
        }
        let end = (self.next + max).min(self.lines.len());
        for &(s, e) in &self.lines[self.next..end] {
            let bytes = &self.chunk.as_bytes()[s..e];
            out.push(match parse_document_bytes(bytes) {
                Ok(d) => SourceRecord::Doc(d, bytes.len()),
                Err(err) => SourceRecord::Malformed { raw: bytes.to_vec(), error: err.to_string(), meta: None },
            });
        }
        self.next = end;
        Ok(SourceStatus::Ready)
    }

    fn position(&self) -> Value {
        Value::Null
    }

    fn seek(&mut self, _: &Value) -> Result<(), SourceError> {
        Ok(())
    }
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

/// The generated JSON-lines source over `events` solar events, and its render-time counter.
pub(crate) fn generated_source(events: u64, devices: u32) -> (Box<dyn Source>, Arc<AtomicU64>) {
    let gen = LineGenerator::new(events, devices);
    let render_nanos = gen.render_nanos.clone();
    (Box::new(GeneratedSource { gen, lines: Vec::new(), chunk: String::new(), next: 0 }), render_nanos)
}

/// Time to decode the same events into documents, without running the pipeline.
fn decode_only(events: u64, devices: u32) -> Duration {
    let mut gen = LineGenerator::new(events, devices);
    let mut busy = Duration::ZERO;
    while let Some(chunk) = gen.next_chunk() {
        let started = Instant::now();
        for line in chunk.lines() {
            std::hint::black_box(parse_document_bytes(line.as_bytes()).ok());
        }
        busy += started.elapsed();
    }
    busy
}

/// Peak resident set size of this process, in MiB (Linux `VmHWM`).
pub(crate) fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
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
                rate: args.rate,
                seconds: args.seconds,
            })
        }
        Some("api") => {
            return crate::bench_api::run(crate::bench_api::ApiBench {
                concurrency: args.concurrency.max(1),
                seconds: args.seconds,
            })
        }
        Some("merge") => {
            return crate::bench_merge::run(crate::bench_merge::MergeBench {
                uri: args.uri.ok_or("bench merge needs --uri mongodb://... (or SLUICE_TEST_MONGODB)")?,
                docs: args.events,
            })
        }
        Some(other) => {
            return Err(format!("unknown benchmark '{}': the choices are api, kafka, merge, or none", other))
        }
    }
    let plan = parse_pipeline_json(CANONICAL_PIPELINE).map_err(|e| e.to_string())?;
    let (source, render_nanos) = generated_source(args.events, args.devices);
    let mut config = ExecutorConfig::new("bench");
    config.batch_size = args.batch;
    let mut exec = Executor::new(&plan, source, Box::new(CountingSink(0)), Box::new(CountingSink(0)), config)
        .map_err(|e| e.to_string())?;

    let mut latencies = Vec::with_capacity((args.events as usize / args.batch.max(1)) + 1);
    let started = Instant::now();
    loop {
        let t = Instant::now();
        let rendered_before = render_nanos.load(Ordering::Relaxed);
        let outcome = exec.step().map_err(|e| e.to_string())?;
        let rendered = Duration::from_nanos(render_nanos.load(Ordering::Relaxed) - rendered_before);
        latencies.push(t.elapsed().saturating_sub(rendered));
        if outcome == StepOutcome::Finished {
            break;
        }
    }
    let wall = started.elapsed();
    let stats = exec.stats();
    // The render time of the generator is not the engine's work.
    let sluice_peak = peak_rss_mib();
    latencies.sort();
    let engine_time = wall.saturating_sub(Duration::from_nanos(render_nanos.load(Ordering::Relaxed)));
    let sluice_eps = args.events as f64 / engine_time.as_secs_f64().max(1e-9);

    let decode_eps = args.events as f64 / decode_only(args.events, args.devices).as_secs_f64().max(1e-9);
    let baseline = run_baseline(args.events, args.devices);
    let base_eps = args.events as f64 / baseline.elapsed.as_secs_f64().max(1e-9);

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
