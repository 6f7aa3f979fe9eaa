//! A Kafka sink whose broker goes away: output written during the outage is delivered once the
//! broker is back, and a broker that stays away fails the checkpoint, naming the connection.

mod support;

use std::time::{Duration, Instant};

use sluice_connectors::kafka::{KafkaConnection, KafkaEmitOptions, KafkaSink, KafkaSource, KafkaSourceOptions};
use sluice_connectors::{MemorySink, TestLog};
use sluice_engine::{Executor, ExecutorConfig, StepOutcome};
use sluice_mql::json::{parse_document, parse_document_bytes};
use sluice_mql::Value;
use sluice_pipeline::{parse_pipeline_json, SinkSpec};
use support::kafka::{broker, create_topic, produce, read_all, unique_topic, Msg, OwnBroker};

fn produce_ns(topic: &str, ns: std::ops::Range<i64>) {
    let values: Vec<Vec<u8>> = ns.map(|n| format!(r#"{{"n": {}}}"#, n).into_bytes()).collect();
    produce(&broker(), topic, &values.iter().map(|v| Msg { key: None, value: v, partition: None }).collect::<Vec<_>>());
}

/// Kafka (the shared broker) → Kafka (`out_broker`), with `extra` client settings on the sink.
/// `acks: 1`: the test broker keeps nothing across a restart, producer state included, so an
/// idempotent producer's sequence numbers cannot continue there (on a real cluster they do; on
/// this broker the checkpoint fails instead, and the processor replays from its last one).
fn executor(input: &str, output: &str, out_broker: &str, extra: &[(&str, &str)]) -> Executor {
    let pipeline = format!(
        r#"[{{"$source": {{"connectionName": "in", "topic": "{input}", "config": {{"auto_offset_reset": "earliest"}}}}}},
            {{"$emit": {{"connectionName": "out", "topic": "{output}", "config": {{"acks": 1}}}}}}]"#
    );
    let plan = parse_pipeline_json(&pipeline).expect("valid pipeline");
    let source = KafkaSource::open(
        &KafkaConnection::plaintext("in", &broker()),
        &KafkaSourceOptions::parse(&plan.source.options).unwrap(),
        &unique_topic("g"),
    )
    .expect("source");
    let Some(SinkSpec::Emit { options, .. }) = &plan.sink else { unreachable!() };
    let mut out = KafkaConnection::plaintext("out", out_broker);
    out.extra = extra.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let sink = KafkaSink::open(&out, KafkaEmitOptions::parse(options).unwrap(), "outage").expect("sink");
    Executor::new(
        &plan,
        Box::new(source),
        Box::new(sink),
        Box::new(MemorySink::new("dlq", TestLog::new(10))),
        ExecutorConfig::new("outage"),
    )
    .expect("executor")
}

fn read_until(exec: &mut Executor, inputs: u64) {
    let start = Instant::now();
    while exec.counters().input_messages < inputs {
        assert!(start.elapsed() < Duration::from_secs(30), "{:?}", exec.counters());
        if exec.step().expect("step") == StepOutcome::Idle {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

fn ns(b: &str, topic: &str, count: usize) -> Vec<i64> {
    let mut ns: Vec<i64> = read_all(b, topic, count, Duration::from_secs(30))
        .iter()
        .map(|m| parse_document_bytes(&m.value).unwrap().get("n").and_then(Value::as_exact_i64).unwrap())
        .collect();
    ns.sort_unstable();
    ns
}

#[test]
fn output_written_while_the_broker_is_down_arrives_when_it_is_back() {
    let mut out_broker = OwnBroker::start();
    let (input, output) = (unique_topic("in"), unique_topic("out"));
    create_topic(&broker(), &input, 1);
    create_topic(&out_broker.addr, &output, 1);
    produce_ns(&input, 0..10);
    let mut exec = executor(&input, &output, &out_broker.addr, &[]);
    read_until(&mut exec, 10);
    exec.checkpoint().expect("flushed while the broker is up");
    assert_eq!(ns(&out_broker.addr, &output, 10), (0..10).collect::<Vec<_>>());

    out_broker.stop();
    produce_ns(&input, 10..30);
    read_until(&mut exec, 30);
    out_broker.restart();
    // The restarted broker keeps nothing: its topic must exist again before delivery.
    create_topic(&out_broker.addr, &output, 1);
    exec.checkpoint().expect("a checkpoint waits for the outage's output to be delivered");
    assert_eq!(
        ns(&out_broker.addr, &output, 20),
        (10..30).collect::<Vec<_>>(),
        "everything written during the outage, once"
    );
}

#[test]
fn a_broker_that_stays_away_fails_the_checkpoint_naming_the_connection() {
    let mut out_broker = OwnBroker::start();
    let (input, output) = (unique_topic("in"), unique_topic("out"));
    create_topic(&broker(), &input, 1);
    create_topic(&out_broker.addr, &output, 1);
    let mut exec = executor(&input, &output, &out_broker.addr, &[("message.timeout.ms", "2000")]);
    out_broker.stop();
    produce_ns(&input, 0..5);
    read_until(&mut exec, 5);
    let e = exec.checkpoint().expect_err("undelivered output fails the checkpoint");
    let msg = e.to_string();
    assert!(msg.contains("sink out") && msg.contains("could not be delivered"), "{}", msg);
}

/// A Kafka source whose broker (Apache Kafka's, which keeps its data) is killed: within seconds
/// the run's health board shows the connection failing, though librdkafka's consumers say
/// nothing of it; once the broker is back the trouble clears and reading goes on where it was.
#[test]
fn a_quiet_source_notices_its_broker_gone_and_back() {
    use sluice_engine::{Health, Source};
    let mut own = support::kafka::OwnApacheKafka::start();
    let topic = unique_topic("quiet");
    create_topic(&own.addr, &topic, 1);
    let opts = parse_document(&format!(r#"{{"topic": "{}", "config": {{"auto_offset_reset": "earliest"}}}}"#, topic))
        .expect("options");
    let mut source = KafkaSource::open(
        &KafkaConnection::plaintext("in", &own.addr),
        &KafkaSourceOptions::parse(&opts).expect("valid"),
        &unique_topic("g"),
    )
    .expect("source");
    let health = Health::new(Duration::from_secs(300), None);
    source.attach_health(&health);
    let mut out = Vec::new();
    source.poll(10, &mut out).expect("poll");
    own.kill();
    let killed = Instant::now();
    while health.troubles().is_empty() {
        assert!(killed.elapsed() < Duration::from_secs(20), "the outage was not noticed");
        source.poll(10, &mut out).expect("still retrying");
        std::thread::sleep(Duration::from_millis(50));
    }
    eprintln!("noticed {:?} after the kill: {:?}", killed.elapsed(), health.troubles());
    assert_eq!(health.troubles()[0].connection, "in");
    own.restart();
    produce(&own.addr, &topic, &[Msg { key: None, value: br#"{"n": 1}"#, partition: None }]);
    let back = Instant::now();
    while out.is_empty() || !health.troubles().is_empty() {
        assert!(back.elapsed() < Duration::from_secs(30), "not back: {:?}", health.troubles());
        source.poll(10, &mut out).expect("poll");
        std::thread::sleep(Duration::from_millis(50));
    }
}
