//! `sluice bench kafka`: Kafka → the canonical solar pipeline → Kafka on a real broker.
//!
//! 1. The broker alone: produce N solar events, then read them back with a bare consumer.
//! 2. Sluice: the canonical pipeline reading those N events and writing its windows to Kafka.
//! 3. Latency: a producer at a fixed rate stamps each event; the stateless part of the canonical
//!    pipeline ($match, $addFields) writes each to Kafka, and a reader measures stamp to arrival.

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
pub struct KafkaBench {
    /// `host:port` of the broker.
    pub brokers: String,
    /// Events for the throughput runs.
    pub events: u64,
    /// Devices (window keys).
    pub devices: u32,
    /// Partitions of the input topic.
    pub partitions: i32,
    /// Events per second offered in the latency run.
    pub rate: u64,
    /// Length of the latency run.
    pub seconds: u64,
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

fn kafka_plan(stages: &str, input: &str, output: &str) -> Result<Plan, String> {
    let source = format!(
        r#"{{"$source": {{"connectionName": "kafka", "topic": "{}", "timeField": {{"$dateFromString": {{"dateString": "$timestamp"}}}},
            "config": {{"auto_offset_reset": "earliest"}}}}}}"#,
        input
    );
    let emit = format!(r#"{{"$emit": {{"connectionName": "kafka", "topic": "{}"}}}}"#, output);
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

    let plan = kafka_plan(&canonical_stages(true)?, &input, &output)?;
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

    latency(&b, false)?;
    latency(&b, true)?;
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

/// Offers `rate` events/s for `seconds` and measures stamp to arrival: through the stateless
/// stages into the output topic (`through_sluice`), or in the input topic itself (the broker
/// alone, for comparison).
fn latency(b: &KafkaBench, through_sluice: bool) -> Result<(), String> {
    let (input, output) = (unique("lat-in"), unique("lat-out"));
    create_topic(&b.brokers, &input, 1)?;
    create_topic(&b.brokers, &output, 1)?;
    let plan = kafka_plan(&canonical_stages(false)?, &input, &output)?;
    let mut exec = executor(&b.brokers, &plan, &unique("lat-group"))?;
    let done = Arc::new(AtomicBool::new(false));
    let expected = Arc::new(AtomicU64::new(u64::MAX));
    let read_from = if through_sluice { output.clone() } else { input.clone() };

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
                    if let Some(sent) = v["sentAt"].as_f64() {
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

    let producer: BaseProducer = client(&b.brokers).set("linger.ms", "0").create().map_err(|e| e.to_string())?;
    let mut solar =
        SolarSource::new(SolarConfig { rate_per_sec: None, limit: None, devices: b.devices, ..SolarConfig::default() });
    let total = b.rate * b.seconds;
    let started = Instant::now();
    let mut sent = 0u64;
    let mut recs = Vec::new();
    let mut line = String::new();
    while sent < total {
        // Keep to the schedule: send what is due, then yield.
        let due = ((started.elapsed().as_secs_f64() * b.rate as f64) as u64).min(total);
        while sent < due {
            recs.clear();
            let _ = solar.poll(1, &mut recs);
            if let Some(SourceRecord::Doc(mut d, _)) = recs.pop() {
                d.insert("sentAt", sluice_mql::Value::Double(now_micros()));
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
    println!(
        "{} latency at {:.0} events/s offered ({} s, {} of {} arrived): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        if through_sluice { "sluice end-to-end" } else { "broker alone" },
        offered,
        b.seconds,
        lat.len(),
        sent,
        pct(0.50),
        pct(0.99),
        pct(1.0)
    );
    Ok(())
}

fn now_micros() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_micros() as f64).unwrap_or(0.0)
}
