//! Partitions added to a topic while a Kafka `$source` reads it (Kafka's CreatePartitions,
//! against Apache Kafka's broker): their messages are read within 30 s, from their first, and
//! their offsets are kept in the position a checkpoint saves, so a source restored from it
//! resumes them there.

mod support;

use std::time::{Duration, Instant};

use sluice_connectors::kafka::{KafkaConnection, KafkaSource, KafkaSourceOptions};
use sluice_engine::{Source, SourceRecord};
use sluice_mql::json::parse_document;
use sluice_mql::Value;
use support::kafka::{add_partitions, broker, create_topic, produce, unique_topic, Msg};

fn open(topic: &str, group: &str) -> KafkaSource {
    let o = parse_document(&format!(r#"{{"topic": "{}", "config": {{"auto_offset_reset": "earliest"}}}}"#, topic))
        .expect("options");
    let opts = KafkaSourceOptions::parse(&o).expect("valid $source");
    KafkaSource::open(&KafkaConnection::plaintext("kafka", &broker()), &opts, group).expect("source opens")
}

fn produce_to(topic: &str, partition: i32, ns: std::ops::Range<i64>) {
    let values: Vec<Vec<u8>> = ns.map(|n| format!(r#"{{"n": {}}}"#, n).into_bytes()).collect();
    produce(
        &broker(),
        topic,
        &values.iter().map(|v| Msg { key: None, value: v, partition: Some(partition) }).collect::<Vec<_>>(),
    );
}

/// Polls until `count` more records arrived, within `wait`; their (partition, n).
fn read(source: &mut KafkaSource, count: usize, wait: Duration) -> Vec<(i32, i64)> {
    let mut got = Vec::new();
    let start = Instant::now();
    while got.len() < count {
        assert!(start.elapsed() < wait, "read {} of {} within {:?}: {:?}", got.len(), count, wait, got);
        let mut out = Vec::new();
        source.poll(100, &mut out).expect("poll");
        for r in out {
            let SourceRecord::FromPartition { doc, meta, .. } = r else { panic!("a decoded record") };
            let source = meta.get("source").and_then(Value::as_document).expect("_stream_meta.source");
            let partition = source.get("partition").and_then(Value::as_exact_i64).expect("its partition") as i32;
            got.push((partition, doc.get("n").and_then(Value::as_exact_i64).expect("n")));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    got
}

/// The next offset the position holds for each partition of the topic.
fn offsets(position: &Value) -> Vec<(i64, i64)> {
    let items = position.as_document().and_then(|d| d.get("partitions")).and_then(Value::as_array).expect("partitions");
    let mut o: Vec<(i64, i64)> = items
        .iter()
        .filter_map(Value::as_document)
        .map(|d| {
            (
                d.get("partition").and_then(Value::as_exact_i64).unwrap(),
                d.get("offset").and_then(Value::as_exact_i64).unwrap(),
            )
        })
        .collect();
    o.sort_unstable();
    o
}

#[test]
fn partitions_added_while_reading_are_read_and_checkpointed() {
    let topic = unique_topic("grow");
    create_topic(&broker(), &topic, 1);
    let group = unique_topic("g");
    let mut source = open(&topic, &group);
    assert_eq!(source.partitions(), 1);
    produce_to(&topic, 0, 0..5);
    read(&mut source, 5, Duration::from_secs(20));

    add_partitions(&broker(), &topic, 3);
    produce_to(&topic, 1, 100..103);
    produce_to(&topic, 2, 200..204);
    let added = Instant::now();
    let mut got = read(&mut source, 7, Duration::from_secs(30));
    eprintln!("new partitions read {:?} after they were added", added.elapsed());
    got.sort_unstable();
    let expected: Vec<(i32, i64)> = (100..103).map(|n| (1, n)).chain((200..204).map(|n| (2, n))).collect();
    assert_eq!(got, expected, "every message of the new partitions, once");
    assert_eq!(source.partitions(), 3);
    let position = source.position();
    assert_eq!(offsets(&position), vec![(0, 5), (1, 3), (2, 4)], "the checkpoint holds every partition");

    // A source restored from that position resumes each partition where it was.
    drop(source);
    produce_to(&topic, 2, 204..206);
    produce_to(&topic, 1, 103..104);
    let mut restored = open(&topic, &group);
    assert_eq!(restored.partitions(), 3, "the topic's partitions as they are now");
    restored.seek(&position).expect("seek");
    let mut after = read(&mut restored, 3, Duration::from_secs(20));
    after.sort_unstable();
    assert_eq!(after, vec![(1, 103), (2, 204), (2, 205)], "nothing lost or read twice");
}
