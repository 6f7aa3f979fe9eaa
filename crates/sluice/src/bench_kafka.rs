//! `sluice bench kafka`: Kafka → the canonical solar pipeline → Kafka on a real broker.
//!
//! 1. The broker alone: produce N solar events, then read them back with a bare consumer.
//! 2. Sluice: the canonical pipeline reading those N events and writing its windows to Kafka.
//! 3. Latency, at each offered rate: a producer at that rate stamps each event, and a reader
//!    measures stamp to arrival: in the input topic itself (the broker alone), through the
//!    stateless part of the canonical pipeline ($match, $addFields) into the output topic, and
//!    through a one-second tumbling window (from the window's end, when it could first close, to
//!    its output).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use sluice_connectors::kafka::{KafkaConnection, KafkaEmitOptions, KafkaSink, KafkaSource, KafkaSourceOptions};
use sluice_connectors::{SolarConfig, SolarSource};
use sluice_engine::{Executor, ExecutorConfig, Source, SourceRecord, StepOutcome};
use sluice_mql::json::{write_document, JsonMode};
use sluice_pipeline::{parse_pipeline_json, Plan, SinkSpec};

use crate::bench::{peak_rss_mib, CountingSink, CANONICAL_PIPELINE};

/// Settings of one Kafka benchmark run.
#[derive(Clone)]
pub struct KafkaBench {
    /// `host:port` of the broker.
    pub brokers: String,
    /// Events for the throughput runs.
    pub events: u64,
    /// Devices (window keys).
    pub devices: u32,
    /// Partitions of the input topic.
    pub partitions: i32,
    /// Events per second offered in the latency runs, one run each.
    pub rates: Vec<u64>,
    /// Length of each latency run.
    pub seconds: u64,
    /// `$emit.config.linger_ms` of the latency runs' pipelines.
    pub linger_ms: u32,
}

fn client(brokers: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", brokers).set("log_level", "3");
    c
}

pub(crate) fn create_topic(brokers: &str, name: &str, partitions: i32) -> Result<(), String> {
    let admin: AdminClient<DefaultClientContext> = client(brokers).create().map_err(|e| e.to_string())?;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
    let topic = NewTopic::new(name, partitions, TopicReplication::Fixed(1));
    for r in rt
        .block_on(admin.create_topics(&[topic], &AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)))))
        .map_err(|e| e.to_string())?
    {
        r.map_err(|(t, e)| format!("cannot create topic {}: {}", t, e))?;
    }
    Ok(())
}

fn send(producer: &BaseProducer, topic: &str, payload: &str) -> Result<(), String> {
    loop {
        match producer.send(BaseRecord::<(), str>::to(topic).payload(payload)) {
            Ok(()) => return Ok(()),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                producer.poll(Duration::from_millis(5));
            }
            Err((e, _)) => return Err(e.to_string()),
        }
    }
}

/// Produces `events` solar readings; the time it took.
fn produce_solar(brokers: &str, topic: &str, events: u64, devices: u32) -> Result<Duration, String> {
    let producer: BaseProducer = client(brokers).set("linger.ms", "5").create().map_err(|e| e.to_string())?;
    let mut solar =
        SolarSource::new(SolarConfig { rate_per_sec: None, limit: Some(events), devices, ..SolarConfig::default() });
    let started = Instant::now();
    let mut recs = Vec::new();
    let mut line = String::new();
    loop {
        recs.clear();
        let _ = solar.poll(8192, &mut recs);
        if recs.is_empty() {
            break;
        }
        for r in recs.drain(..) {
            if let SourceRecord::Doc(d, _) = r {
                line.clear();
                write_document(&mut line, &d, JsonMode::Relaxed);
                send(&producer, topic, &line)?;
            }
        }
        producer.poll(Duration::ZERO);
    }
    producer.flush(Duration::from_secs(120)).map_err(|e| e.to_string())?;
    Ok(started.elapsed())
}

/// Reads `events` messages from the start of every partition with a bare consumer.
fn consume_only(brokers: &str, topic: &str, partitions: i32, events: u64) -> Result<Duration, String> {
    let consumer: BaseConsumer =
        client(brokers).set("group.id", "sluice-bench-reader").create().map_err(|e| e.to_string())?;
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition_offset(topic, p, Offset::Beginning).map_err(|e| e.to_string())?;
    }
    consumer.assign(&tpl).map_err(|e| e.to_string())?;
    let started = Instant::now();
    let mut n = 0;
    while n < events {
        if started.elapsed() > Duration::from_secs(300) {
            return Err(format!("read only {} of {} messages", n, events));
        }
        if let Some(Ok(_)) = consumer.poll(Duration::from_millis(100)) {
            n += 1;
        }
    }
    Ok(started.elapsed())
}

/// The solar readings' own timestamps as event time.
const SOLAR_TIME: &str = r#"{"$dateFromString": {"dateString": "$timestamp"}}"#;
/// The latency runs' stamps (µs since the epoch) as event time: a window closes when the
/// producer has moved past its end.
const STAMP_TIME: &str = r#"{"$toDate": {"$toLong": {"$divide": ["$sentAt", 1000]}}}"#;

fn kafka_plan(stages: &str, time_field: &str, input: &str, output: &str, emit_config: &str) -> Result<Plan, String> {
    let source = format!(
        r#"{{"$source": {{"connectionName": "kafka", "topic": "{}", "timeField": {},
            "config": {{"auto_offset_reset": "earliest"}}}}}}"#,
        input, time_field
    );
    let emit =
        format!(r#"{{"$emit": {{"connectionName": "kafka", "topic": "{}", "config": {}}}}}"#, output, emit_config);
    parse_pipeline_json(&format!("[{}, {}, {}]", source, stages, emit)).map_err(|e| e.to_string())
}

fn executor(brokers: &str, plan: &Plan, group: &str) -> Result<Executor, String> {
    let conn = KafkaConnection::plaintext("kafka", brokers);
    let mut source = KafkaSource::open(&conn, &KafkaSourceOptions::parse(&plan.source.options)?, group)?;
    // As a processor of the default tier reads.
    source.allow_parallelism(sluice_types::Tier::SP10.max_parallelism());
    let Some(SinkSpec::Emit { options, .. }) = &plan.sink else { return Err("the plan must $emit".into()) };
    let sink = KafkaSink::open(&conn, KafkaEmitOptions::parse(options)?, "bench")?;
    Executor::new(plan, Box::new(source), Box::new(sink), Box::new(CountingSink(0)), ExecutorConfig::new("bench-kafka"))
        .map_err(|e| e.to_string())
}

/// The canonical pipeline's stages between `$source` and its end, as JSON.
fn canonical_stages(keep_window: bool) -> Result<String, String> {
    let v: serde_json::Value = serde_json::from_str(CANONICAL_PIPELINE).map_err(|e| e.to_string())?;
    let stages = v.as_array().ok_or("the canonical pipeline is an array")?;
    let kept: Vec<String> = stages[1..]
        .iter()
        .filter(|s| keep_window || s.get("$tumblingWindow").is_none())
        .map(|s| s.to_string())
        .collect();
    Ok(kept.join(", "))
}

fn unique(name: &str) -> String {
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
    format!("sluice-bench-{}-{}", name, t)
}

/// Runs the three measurements and prints their figures.
pub fn run(b: KafkaBench) -> Result<(), String> {
    let (input, output) = (unique("in"), unique("out"));
    create_topic(&b.brokers, &input, b.partitions)?;
    create_topic(&b.brokers, &output, 1)?;
    println!("broker {}, {} events of the sample solar stream, {} partitions", b.brokers, b.events, b.partitions);

    let produced = produce_solar(&b.brokers, &input, b.events, b.devices)?;
    let cpu_before = process_cpu_seconds();
    let consumed = consume_only(&b.brokers, &input, b.partitions, b.events)?;
    let consumer_cpu = cpu_before.zip(process_cpu_seconds()).map(|(a, z)| (z - a).max(1e-9));
    let eps = |d: Duration| b.events as f64 / d.as_secs_f64().max(1e-9);
    println!("broker alone: produce {:>10.0} events/s, consume {:>10.0} events/s", eps(produced), eps(consumed));
    if let Some(cpu) = consumer_cpu {
        // The client library's own cost per message: a ceiling for any consumer built on it.
        println!(
            "   the bare consumer (librdkafka): {:>10.0} events per CPU second of this process",
            b.events as f64 / cpu
        );
    }

    let plan = kafka_plan(&canonical_stages(true)?, SOLAR_TIME, &input, &output, "{}")?;
    let mut exec = executor(&b.brokers, &plan, &unique("group"))?;
    let started = Instant::now();
    let cpu_before = process_cpu_seconds();
    while exec.counters().input_messages < b.events {
        if started.elapsed() > Duration::from_secs(600) {
            return Err(format!("processed only {:?} within 600 s", exec.counters()));
        }
        if exec.step().map_err(|e| e.to_string())? == StepOutcome::Idle {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    exec.checkpoint().map_err(|e| e.to_string())?;
    let took = started.elapsed();
    println!(
        "sluice: canonical pipeline Kafka -> Kafka {:>10.0} events/s ({} windows out; {:.2} of the bare consumer's rate)",
        eps(took),
        exec.counters().output_messages,
        consumed.as_secs_f64() / took.as_secs_f64()
    );
    // Only Sluice runs in this process now (the broker is another): its CPU time is its cost.
    if let (Some(before), Some(after)) = (cpu_before, process_cpu_seconds()) {
        let cpu = (after - before).max(1e-9);
        println!(
            "        per core: {:>10.0} events per CPU second ({:.2} s of CPU over {:.2} s, {:.2} cores busy)",
            b.events as f64 / cpu,
            cpu,
            took.as_secs_f64(),
            cpu / took.as_secs_f64()
        );
    }
    drop(exec);

    // A first run whose figures are dropped: the broker's JIT and first topics warm up.
    let warm = KafkaBench { seconds: 2, ..b.clone() };
    print!("warm-up, not counted: ");
    latency(&warm, b.rates.first().copied().unwrap_or(10_000), LatencyPath::Broker)?;
    let mut rows = Vec::new();
    for &rate in &b.rates {
        for path in [LatencyPath::Broker, LatencyPath::Stateless, LatencyPath::Windowed] {
            rows.push(latency(&b, rate, path)?);
        }
    }
    println!();
    println!("end-to-end latency, produce to arrival (linger_ms {}):", b.linger_ms);
    println!("| offered events/s | path | arrived | p50 ms | p99 ms | p999 ms | max ms |");
    println!("|---|---|---|---|---|---|---|");
    for r in &rows {
        println!(
            "| {:.0} | {} | {} | {:.1} | {:.1} | {:.1} | {:.1} |",
            r.offered, r.path, r.arrived, r.p50_ms, r.p99_ms, r.p999_ms, r.max_ms
        );
    }
    if let Some(mib) = peak_rss_mib() {
        println!("peak memory: {:.0} MiB", mib);
    }
    Ok(())
}

/// CPU time (user and system) this process has used, in seconds (Linux `/proc/self/stat`, whose
/// clock ticks are USER_HZ, 100 per second).
fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name may hold spaces: fields are counted after its closing parenthesis.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i)?.parse::<f64>().ok();
    Some((ticks(11)? + ticks(12)?) / 100.0)
}

/// The start of each latency run that is not measured.
const WARM_UP: Duration = Duration::from_secs(1);

/// What a latency run goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LatencyPath {
    /// The input topic itself: the broker's own produce-to-consume latency.
    Broker,
    /// `$match` and `$addFields` into the output topic.
    Stateless,
    /// `$match` and a one-second tumbling window per device; measured from the window's end.
    Windowed,
}

impl std::fmt::Display for LatencyPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LatencyPath::Broker => "broker alone",
            LatencyPath::Stateless => "sluice, stateless",
            LatencyPath::Windowed => "sluice, 1 s window (from its end)",
        })
    }
}

/// The stages of a windowed latency run: each window's output stamped with the window's end
/// (in the stamps' µs), the moment it could first close.
const WINDOWED_STAGES: &str = r#"{"$match": {"obs.watts": {"$gt": 50}}},
    {"$tumblingWindow": {"interval": {"size": 1, "unit": "second"},
        "pipeline": [{"$group": {"_id": "$device_id", "maxWatts": {"$max": "$obs.watts"}, "count": {"$count": {}}}}]}},
    {"$addFields": {"sentAt": {"$multiply": [{"$toLong": {"$meta": "stream.window.end"}}, 1000]}}}"#;

/// One latency run's figures.
struct LatencyRow {
    offered: f64,
    path: LatencyPath,
    arrived: usize,
    p50_ms: f64,
    p99_ms: f64,
    p999_ms: f64,
    max_ms: f64,
}

/// Offers `rate` events/s for `seconds` and measures stamp to arrival along `path`.
fn latency(b: &KafkaBench, rate: u64, path: LatencyPath) -> Result<LatencyRow, String> {
    let through_sluice = path != LatencyPath::Broker;
    let (input, output) = (unique("lat-in"), unique("lat-out"));
    create_topic(&b.brokers, &input, 1)?;
    create_topic(&b.brokers, &output, 1)?;
    let stages = if path == LatencyPath::Windowed { WINDOWED_STAGES.to_string() } else { canonical_stages(false)? };
    let emit_config = format!(r#"{{"linger_ms": {}}}"#, b.linger_ms);
    let plan = kafka_plan(&stages, STAMP_TIME, &input, &output, &emit_config)?;
    let mut exec = executor(&b.brokers, &plan, &unique("lat-group"))?;
    let done = Arc::new(AtomicBool::new(false));
    let expected = Arc::new(AtomicU64::new(u64::MAX));
    let read_from = if through_sluice { output.clone() } else { input.clone() };

    // The first second is not measured: the consumers' first fetches of fresh topics wait out
    // librdkafka's fetch backoff, which would count as latency.
    let measure_from = now_micros() + WARM_UP.as_micros() as f64;
    let reader = {
        let (brokers, output, done, expected) = (b.brokers.clone(), read_from, done.clone(), expected.clone());
        std::thread::spawn(move || -> Result<Vec<f64>, String> {
            let consumer: BaseConsumer = client(&brokers)
                .set("group.id", "sluice-bench-lat")
                .set("fetch.wait.max.ms", "1")
                .create()
                .map_err(|e| e.to_string())?;
            let mut tpl = TopicPartitionList::new();
            tpl.add_partition_offset(&output, 0, Offset::Beginning).map_err(|e| e.to_string())?;
            consumer.assign(&tpl).map_err(|e| e.to_string())?;
            let mut lat = Vec::new();
            let mut quiet_since = Instant::now();
            // Until everything sent arrived, or nothing more came for 5 s after the end.
            while !(done.load(Ordering::Relaxed)
                && (lat.len() as u64 >= expected.load(Ordering::Relaxed)
                    || quiet_since.elapsed() > Duration::from_secs(5)))
            {
                if let Some(Ok(m)) = consumer.poll(Duration::from_millis(10)) {
                    quiet_since = Instant::now();
                    let v: serde_json::Value =
                        serde_json::from_slice(m.payload().unwrap_or_default()).map_err(|e| e.to_string())?;
                    if let Some(sent) = v["sentAt"].as_f64().filter(|sent| *sent >= measure_from) {
                        lat.push(now_micros() - sent);
                    }
                }
            }
            Ok(lat)
        })
    };
    let engine = {
        let done = done.clone();
        std::thread::spawn(move || -> Result<(), String> {
            while through_sluice && !done.load(Ordering::Relaxed) {
                if exec.step().map_err(|e| e.to_string())? == StepOutcome::Idle {
                    std::thread::sleep(Duration::from_micros(200));
                }
            }
            // Drain what is left.
            for _ in 0..if through_sluice { 200 } else { 0 } {
                exec.step().map_err(|e| e.to_string())?;
                std::thread::sleep(Duration::from_millis(5));
            }
            exec.checkpoint().map_err(|e| e.to_string())?;
            Ok(())
        })
    };

    // As a producer tuned for latency sends: 1 ms of batching (each message alone would take
    // more requests than the broker answers on this machine, and wait in the producer's queue).
    let producer: BaseProducer = client(&b.brokers).set("linger.ms", "1").create().map_err(|e| e.to_string())?;
    let mut solar =
        SolarSource::new(SolarConfig { rate_per_sec: None, limit: None, devices: b.devices, ..SolarConfig::default() });
    let total = rate * (b.seconds + WARM_UP.as_secs());
    let mut measured = 0u64;
    let started = Instant::now();
    let mut sent = 0u64;
    let mut recs = Vec::new();
    let mut line = String::new();
    while sent < total {
        // Keep to the schedule: send what is due, then yield.
        let due = ((started.elapsed().as_secs_f64() * rate as f64) as u64).min(total);
        while sent < due {
            recs.clear();
            let _ = solar.poll(1, &mut recs);
            if let Some(SourceRecord::Doc(mut d, _)) = recs.pop() {
                let stamp = now_micros();
                measured += u64::from(stamp >= measure_from);
                d.insert("sentAt", sluice_mql::Value::Double(stamp));
                line.clear();
                write_document(&mut line, &d, JsonMode::Relaxed);
                send(&producer, &input, &line)?;
            }
            sent += 1;
        }
        producer.poll(Duration::ZERO);
        std::thread::sleep(Duration::from_micros(500));
    }
    producer.flush(Duration::from_secs(60)).map_err(|e| e.to_string())?;
    let offered = sent as f64 / started.elapsed().as_secs_f64();
    let sent = measured;
    // The stateless stages drop readings of 50 W or less: count what passes them.
    expected.store(if through_sluice { u64::MAX } else { sent }, Ordering::Relaxed);
    std::thread::sleep(Duration::from_secs(1));
    done.store(true, Ordering::Relaxed);
    engine.join().map_err(|_| "engine thread panicked")??;
    let mut lat = reader.join().map_err(|_| "reader thread panicked")??;
    if lat.is_empty() {
        return Err("no output arrived in the latency run".into());
    }
    lat.sort_by(|a, b| a.total_cmp(b));
    let pct = |p: f64| lat[((lat.len() - 1) as f64 * p) as usize] / 1000.0;
    let row = LatencyRow {
        offered,
        path,
        arrived: lat.len(),
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        p999_ms: pct(0.999),
        max_ms: pct(1.0),
    };
    println!(
        "{} at {:.0} events/s offered ({} s, {} arrived of {} sent): p50 {:.1} ms, p99 {:.1} ms, p999 {:.1} ms, max {:.1} ms",
        path, offered, b.seconds, row.arrived, sent, row.p50_ms, row.p99_ms, row.p999_ms, row.max_ms
    );
    Ok(row)
}

fn now_micros() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_micros() as f64).unwrap_or(0.0)
}
