//! Kafka `$source` and `$emit` against a real Kafka-protocol broker on loopback: messages in,
//! through the engine, messages out; metadata, keys and headers; malformed input to the DLQ;
//! offsets in checkpoints and committed to the consumer group; per-partition watermarks.

mod support;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sluice_connectors::kafka::{KafkaConnection, KafkaEmitOptions, KafkaSink, KafkaSource, KafkaSourceOptions};
use sluice_connectors::{MemorySink, TestLog};
use sluice_engine::{Executor, ExecutorConfig, Sink, StepOutcome};
use sluice_mql::json::{parse_document_bytes, to_json_string, JsonMode};
use sluice_mql::{Document, Value};
use sluice_pipeline::{parse_pipeline_json, Plan, SinkSpec};
use support::kafka::{broker, create_topic, produce, read_all, unique_topic, Msg};

fn open_executor(
    plan: &Plan,
    group: &str,
    out: Box<dyn Sink>,
    dlq: TestLog,
    clock: Option<Arc<AtomicI64>>,
) -> Executor {
    let conn = KafkaConnection::plaintext("kafka", &broker());
    let opts = KafkaSourceOptions::parse(&plan.source.options).expect("valid $source");
    let source = KafkaSource::open(&conn, &opts, group).expect("source opens");
    let mut config = ExecutorConfig::new("kafka-test");
    if let Some(c) = clock {
        config.clock = Arc::new(move || c.load(Ordering::SeqCst));
    }
    Executor::new(plan, Box::new(source), out, Box::new(MemorySink::new("dlq", dlq)), config).expect("executor")
}

fn kafka_sink(plan: &Plan) -> Box<dyn Sink> {
    let Some(SinkSpec::Emit { options, .. }) = &plan.sink else { panic!("the plan emits") };
    let conn = KafkaConnection::plaintext("kafka", &broker());
    Box::new(
        KafkaSink::open(&conn, KafkaEmitOptions::parse(options).expect("valid $emit"), "kafka-test")
            .expect("sink opens"),
    )
}

/// Steps until `until` holds, sleeping briefly when the source is idle.
fn run_until(exec: &mut Executor, wait: Duration, mut until: impl FnMut(&Executor) -> bool) {
    let start = Instant::now();
    while !until(exec) {
        assert!(start.elapsed() < wait, "condition not reached within {:?}; stats {:?}", wait, exec.counters());
        if exec.step().expect("step") == StepOutcome::Idle {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

fn reading(i: usize, ts_ms: i64) -> Vec<u8> {
    format!(r#"{{"device": "d{}", "n": {}, "ts": {{"$date": {}}}}}"#, i % 3, i, ts_ms).into_bytes()
}

fn json(d: &[u8]) -> Document {
    parse_document_bytes(d).expect("JSON document")
}

#[test]
fn kafka_in_kafka_out_with_metadata_keys_headers_and_dlq() {
    let b = broker();
    let (input, output) = (unique_topic("in"), unique_topic("out"));
    create_topic(&b, &input, 3);
    create_topic(&b, &output, 1);
    let values: Vec<Vec<u8>> = (0..30).map(|i| reading(i, 1_700_000_000_000 + i as i64)).collect();
    let keys: Vec<String> = (0..30).map(|i| format!("k{}", i)).collect();
    let mut msgs: Vec<Msg<'_>> = values
        .iter()
        .zip(&keys)
        .enumerate()
        .map(|(i, (v, k))| Msg { key: Some(k.as_bytes()), value: v, partition: Some(i as i32 % 3) })
        .collect();
    msgs.push(Msg { key: Some(b"bad"), value: b"not json {", partition: Some(0) });
    msgs.push(Msg { key: Some(&[0xff, 0xfe]), value: br#"{"n": 100}"#, partition: Some(1) });
    produce(&b, &input, &msgs);

    let pipeline = format!(
        r#"[{{"$source": {{"connectionName": "kafka", "topic": "{input}",
               "config": {{"auto_offset_reset": "earliest", "keyFormat": "string"}}}}}},
            {{"$match": {{"n": {{"$gte": 10}}}}}},
            {{"$addFields": {{"partition": {{"$meta": "stream.source.partition"}}, "key": {{"$meta": "stream.source.key"}}}}}},
            {{"$emit": {{"connectionName": "kafka", "topic": "{output}",
               "config": {{"key": "$device", "keyFormat": "string", "headers": {{"n": "$n"}}}}}}}}]"#
    );
    let plan = parse_pipeline_json(&pipeline).expect("valid pipeline");
    let dlq = TestLog::new(100);
    let group = unique_topic("group");
    let mut exec = open_executor(&plan, &group, kafka_sink(&plan), dlq.clone(), None);
    run_until(&mut exec, Duration::from_secs(30), |e| e.counters().input_messages >= 32);
    let state = exec.checkpoint().expect("checkpoint flushes the producer");
    exec.checkpoint_saved(&state).expect("checkpoint saved");

    let out = read_all(&b, &output, 20, Duration::from_secs(20));
    assert_eq!(out.len(), 20, "readings 10..29 pass the $match, each once");
    let mut ns: Vec<i64> = Vec::new();
    for m in &out {
        let d = json(&m.value);
        let n = d.get("n").and_then(Value::as_exact_i64).expect("n");
        ns.push(n);
        assert_eq!(m.key.as_deref(), Some(format!("d{}", n % 3).as_bytes()), "key from config.key");
        assert_eq!(m.headers, vec![("n".to_string(), n.to_string().into_bytes())], "header from config.headers");
        assert_eq!(d.get("partition"), Some(&Value::Int32((n % 3) as i32)), "$meta stream.source.partition");
        assert_eq!(d.get("key").and_then(Value::as_str), Some(format!("k{}", n).as_str()), "key as a string");
        let meta = d.get("_stream_meta").and_then(Value::as_document).expect("_stream_meta");
        let src = meta.get("source").and_then(Value::as_document).expect("_stream_meta.source");
        assert_eq!(src.get("type").and_then(Value::as_str), Some("kafka"));
        assert_eq!(src.get("topic").and_then(Value::as_str), Some(input.as_str()));
        assert!(src.get("offset").and_then(Value::as_exact_i64).is_some_and(|o| o >= 0));
        assert!(
            d.get("ts").is_some_and(|t| matches!(t, Value::DateTime(_))),
            "dates keep their type: {}",
            to_json_string(&d, JsonMode::Relaxed)
        );
    }
    ns.sort_unstable();
    assert_eq!(ns, (10..30).collect::<Vec<i64>>());

    let dead = dlq.all();
    assert_eq!(dead.len(), 2, "the malformed value and the undecodable key: {:?}", dead);
    let reasons: Vec<String> = dead
        .iter()
        .map(|d| to_json_string(d.get("errInfo").and_then(Value::as_document).unwrap(), JsonMode::Relaxed))
        .collect();
    assert!(reasons.iter().any(|r| r.contains("not a JSON document")), "{:?}", reasons);
    assert!(reasons.iter().any(|r| r.contains("UTF-8")), "{:?}", reasons);
    let raw: Vec<&Value> = dead.iter().filter_map(|d| d.get("raw")).collect();
    assert!(raw.contains(&&Value::str("not json {")), "the raw bytes are kept: {:?}", raw);
    for d in &dead {
        let src = d
            .get("_stream_meta")
            .and_then(Value::as_document)
            .and_then(|m| m.get("source"))
            .expect("where it came from");
        assert!(src.as_document().unwrap().get("offset").is_some());
    }

    // The offsets were committed to the group once the checkpoint was saved.
    let start = Instant::now();
    loop {
        let committed = support::kafka::committed(&b, &group, &input, 3);
        if committed == vec![Some(11), Some(11), Some(10)] {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(15), "group offsets {:?}", committed);
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_restored_source_continues_at_the_checkpointed_offsets() {
    let b = broker();
    let (input, output) = (unique_topic("in"), unique_topic("out"));
    create_topic(&b, &input, 2);
    create_topic(&b, &output, 1);
    let first: Vec<Vec<u8>> = (0..10).map(|i| reading(i, 1_000 * i as i64)).collect();
    produce(&b, &input, &first.iter().map(|v| Msg { key: None, value: v, partition: None }).collect::<Vec<_>>());

    let pipeline = format!(
        r#"[{{"$source": {{"connectionName": "kafka", "topic": ["{input}"], "config": {{"auto_offset_reset": "earliest",
               "enable_auto_commit": false}}}}}},
            {{"$emit": {{"connectionName": "kafka", "topic": "{output}"}}}}]"#
    );
    let plan = parse_pipeline_json(&pipeline).expect("valid pipeline");
    let group = unique_topic("group");
    let mut exec = open_executor(&plan, &group, kafka_sink(&plan), TestLog::new(10), None);
    run_until(&mut exec, Duration::from_secs(30), |e| e.counters().input_messages >= 10);
    let state = exec.checkpoint().expect("checkpoint");
    drop(exec);

    let second: Vec<Vec<u8>> = (10..20).map(|i| reading(i, 1_000 * i as i64)).collect();
    produce(&b, &input, &second.iter().map(|v| Msg { key: None, value: v, partition: None }).collect::<Vec<_>>());
    let mut exec = open_executor(&plan, &group, kafka_sink(&plan), TestLog::new(10), None);
    exec.restore(&state).expect("restore");
    run_until(&mut exec, Duration::from_secs(30), |e| e.counters().input_messages >= 20);
    exec.checkpoint().expect("checkpoint");

    let out = read_all(&b, &output, 20, Duration::from_secs(20));
    let mut ns: Vec<i64> = out.iter().map(|m| json(&m.value).get("n").and_then(Value::as_exact_i64).unwrap()).collect();
    ns.sort_unstable();
    assert_eq!(ns, (0..20).collect::<Vec<i64>>(), "every reading once: nothing lost, nothing read twice");
    assert_eq!(exec.counters().input_messages, 20, "counters carried over the restore");
}

#[test]
fn start_at_a_time_reads_from_the_first_message_at_or_after_it() {
    let b = broker();
    let (input, output) = (unique_topic("in"), unique_topic("out"));
    create_topic(&b, &input, 2);
    create_topic(&b, &output, 1);
    // One message per produce request: the test broker (tansu) answers a time lookup wrongly
    // (too early an offset) on partitions written in batches of several messages, as it reports
    // their high watermark wrongly; a real broker indexes each message's timestamp.
    let one_by_one = |ns: std::ops::Range<usize>| {
        for i in ns {
            let v = reading(i, 0);
            produce(&b, &input, &[Msg { key: None, value: &v, partition: Some((i % 2) as i32) }]);
        }
    };
    one_by_one(0..6);
    // Message timestamps are the producer's clock in milliseconds: leave a clear gap.
    std::thread::sleep(Duration::from_millis(50));
    let from = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    std::thread::sleep(Duration::from_millis(50));
    one_by_one(6..10);

    let pipeline = format!(
        r#"[{{"$source": {{"connectionName": "kafka", "topic": "{input}", "config": {{"auto_offset_reset": "earliest"}}}}}},
            {{"$emit": {{"connectionName": "kafka", "topic": "{output}"}}}}]"#
    );
    let plan = parse_pipeline_json(&pipeline).expect("valid pipeline");
    let mut exec = open_executor(&plan, &unique_topic("group"), kafka_sink(&plan), TestLog::new(10), None);
    exec.start_source_at(from).expect("a Kafka source starts at a time");
    run_until(&mut exec, Duration::from_secs(30), |e| e.counters().input_messages >= 4);
    exec.checkpoint().expect("checkpoint");
    let out = read_all(&b, &output, 4, Duration::from_secs(20));
    let mut ns: Vec<i64> = out.iter().map(|m| json(&m.value).get("n").and_then(Value::as_exact_i64).unwrap()).collect();
    ns.sort_unstable();
    assert_eq!(ns, (6..10).collect::<Vec<i64>>(), "only the messages produced after the time");
}

#[test]
fn stats_show_each_partitions_offsets_and_lag() {
    let b = broker();
    let (input, output) = (unique_topic("in"), unique_topic("out"));
    create_topic(&b, &input, 2);
    create_topic(&b, &output, 1);
    // One message per request: the test broker reports a wrong end offset for batches of several.
    let one_by_one = |ns: std::ops::Range<usize>, partition: Option<i32>| {
        for i in ns {
            let v = reading(i, 1_000 * i as i64);
            produce(&b, &input, &[Msg { key: None, value: &v, partition: Some(partition.unwrap_or((i % 2) as i32)) }]);
        }
    };
    one_by_one(0..6, None);
    let pipeline = format!(
        r#"[{{"$source": {{"connectionName": "kafka", "topic": "{input}", "config": {{"auto_offset_reset": "earliest"}}}}}},
            {{"$emit": {{"connectionName": "kafka", "topic": "{output}"}}}}]"#
    );
    let plan = parse_pipeline_json(&pipeline).expect("valid pipeline");
    let mut exec = open_executor(&plan, &unique_topic("group"), kafka_sink(&plan), TestLog::new(10), None);
    run_until(&mut exec, Duration::from_secs(30), |e| {
        e.counters().input_messages >= 6 && e.counters().partitions.iter().all(|p| p.end.is_some())
    });
    let parts = exec.counters().partitions;
    assert_eq!(parts.len(), 2);
    for p in &parts {
        assert_eq!(
            (p.topic.as_str(), p.current, p.end, p.lag()),
            (input.as_str(), Some(3), Some(3), Some(0)),
            "{:?}",
            p
        );
    }
    // Two more on partition 0, not read yet: the end moves (librdkafka fetches ahead), the
    // current offset does not.
    one_by_one(6..8, Some(0));
    let start = Instant::now();
    let lagging = loop {
        let p0 = exec.counters().partitions[0].clone();
        if p0.end == Some(5) {
            break p0;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "the end never moved: {:?}", p0);
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!((lagging.current, lagging.lag()), (Some(3), Some(2)));
}

#[test]
fn the_watermark_waits_for_the_slowest_partition_until_it_goes_idle() {
    let b = broker();
    let input = unique_topic("in");
    create_topic(&b, &input, 2);
    // Partition 0 runs to 25 s of event time; partition 1 stops at 5 s.
    let p0: Vec<Vec<u8>> = [1, 12, 25].iter().map(|s| reading(0, s * 1_000)).collect();
    let p1: Vec<Vec<u8>> = [2, 5].iter().map(|s| reading(1, s * 1_000)).collect();
    let mut msgs: Vec<Msg<'_>> = p0.iter().map(|v| Msg { key: None, value: v, partition: Some(0) }).collect();
    msgs.extend(p1.iter().map(|v| Msg { key: None, value: v, partition: Some(1) }));
    produce(&b, &input, &msgs);

    let pipeline = format!(
        r#"[{{"$source": {{"connectionName": "kafka", "topic": "{input}", "timeField": "$ts",
               "partitionIdleTimeout": {{"size": 10, "unit": "second"}}, "config": {{"auto_offset_reset": "earliest"}}}}}},
            {{"$tumblingWindow": {{"interval": {{"size": 10, "unit": "second"}},
               "pipeline": [{{"$group": {{"_id": null, "count": {{"$count": {{}}}}}}}}]}}}}]"#
    );
    let plan = parse_pipeline_json(&pipeline).expect("valid pipeline");
    let out = TestLog::new(100);
    let clock = Arc::new(AtomicI64::new(1_000_000));
    let mut exec = open_executor(
        &plan,
        &unique_topic("g"),
        Box::new(MemorySink::new("out", out.clone())),
        TestLog::new(10),
        Some(clock.clone()),
    );
    run_until(&mut exec, Duration::from_secs(30), |e| e.counters().input_messages >= 5);
    for _ in 0..5 {
        exec.step().expect("step");
    }
    assert_eq!(out.total(), 0, "partition 1 is at 5 s: no window may close yet");
    assert_eq!(exec.counters().watermark, Some(5_000));

    // Ten seconds of silence on both partitions by the processor's clock: both idle, and the
    // watermark is the largest event time read, which closes [0, 10) and [10, 20).
    clock.fetch_add(10_000, Ordering::SeqCst);
    exec.step().expect("step");
    let windows = out.all();
    assert_eq!(windows.len(), 2, "{:?}", windows);
    assert_eq!(windows[0].get("count"), Some(&Value::Int32(3)));
    assert_eq!(windows[1].get("count"), Some(&Value::Int32(1)));
}

#[test]
fn an_unreachable_broker_is_refused_at_open_naming_the_connection() {
    let conn = KafkaConnection::plaintext("down", "127.0.0.1:1");
    let source = {
        let conn = conn.clone();
        std::thread::spawn(move || {
            let opts = KafkaSourceOptions { topics: vec!["t".into()], ..Default::default() };
            KafkaSource::open(&conn, &opts, "g").err().expect("no broker, no source")
        })
    };
    let emit = sluice_mql::json::parse_document(r#"{"topic": "t"}"#).unwrap();
    let sink_err = KafkaSink::open(&conn, KafkaEmitOptions::parse(&emit).unwrap(), "kafka-test")
        .err()
        .expect("no broker, no sink");
    assert!(sink_err.contains("connection down") && sink_err.contains("127.0.0.1:1"), "{}", sink_err);
    let source_err = source.join().unwrap();
    assert!(source_err.contains("connection down"), "{}", source_err);
}

#[test]
fn a_source_on_a_missing_topic_says_which() {
    let conn = KafkaConnection::plaintext("kafka", &broker());
    let missing = unique_topic("missing");
    let opts = KafkaSourceOptions { topics: vec![missing.clone()], ..Default::default() };
    let e = KafkaSource::open(&conn, &opts, "g").err().expect("no topic, no source");
    assert!(e.contains(&missing), "{}", e);
}
