//! A Kafka `$source` reads its partitions with several reader threads, as the tier allows: every
//! message arrives once, each partition's in order, and a source stopped half way and resumed
//! from its position (what a checkpoint keeps) reads the rest, nothing lost, nothing twice.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use sluice_connectors::kafka::{KafkaConnection, KafkaSource, KafkaSourceOptions};
use sluice_engine::Source;
use sluice_mql::json::parse_document;
use support::kafka::{broker, create_topic, produce, take_numbered, unique_topic, Msg};

const PARTITIONS: i32 = 4;
const PER_PARTITION: i64 = 60;

fn open(topic: &str, group: &str, parallelism: u32) -> KafkaSource {
    let conn = KafkaConnection::plaintext("kafka", &broker());
    let stage = format!(r#"{{"topic": "{}", "config": {{"auto_offset_reset": "earliest"}}}}"#, topic);
    let opts = KafkaSourceOptions::parse(&parse_document(&stage).expect("options")).expect("valid $source");
    let mut source = KafkaSource::open(&conn, &opts, group).expect("source opens");
    source.allow_parallelism(parallelism);
    source
}

fn take(source: &mut KafkaSource, count: usize) -> Vec<(i64, i64)> {
    take_numbered(source, count)
}

/// Each partition's sequence numbers, in the order they arrived.
fn by_partition(records: &[(i64, i64)]) -> BTreeMap<i64, Vec<i64>> {
    let mut m: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for (p, seq) in records {
        m.entry(*p).or_default().push(*seq);
    }
    m
}

#[test]
fn partitions_are_read_in_parallel_in_order_and_resume_from_the_position() {
    let b = broker();
    let topic = unique_topic("parallel");
    create_topic(&b, &topic, PARTITIONS);
    let values: Vec<(i32, Vec<u8>)> = (0..PER_PARTITION)
        .flat_map(|seq| (0..PARTITIONS).map(move |p| (p, format!(r#"{{"p": {}, "seq": {}}}"#, p, seq).into_bytes())))
        .collect();
    let msgs: Vec<Msg<'_>> = values.iter().map(|(p, v)| Msg { key: None, value: v, partition: Some(*p) }).collect();
    produce(&b, &topic, &msgs);
    let total = (PARTITIONS as i64 * PER_PARTITION) as usize;
    let group = unique_topic("group");

    let mut source = open(&topic, &group, 8);
    let first = take(&mut source, total / 2);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    assert_eq!(
        source.reader_count(),
        cores.min(PARTITIONS as usize),
        "readers: the tier's 8, capped by partitions and cores"
    );
    let position = source.position();
    drop(source);

    let mut resumed = open(&topic, &group, 2);
    resumed.seek(&position).expect("seek");
    let second = take(&mut resumed, total - first.len());
    let mut extra = Vec::new();
    std::thread::sleep(Duration::from_millis(500));
    resumed.poll(100, &mut extra).expect("poll");
    assert!(extra.is_empty(), "{} records more than were written", extra.len());

    for (part, seqs) in by_partition(&first).into_iter().chain(by_partition(&second)) {
        assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "partition {} in order: {:?}", part, seqs);
    }
    let mut all = by_partition(&first);
    for (p, seqs) in by_partition(&second) {
        all.entry(p).or_default().extend(seqs);
    }
    let expected: Vec<i64> = (0..PER_PARTITION).collect();
    assert_eq!(all.len(), PARTITIONS as usize);
    for (p, seqs) in all {
        assert_eq!(seqs, expected, "partition {}: every message once, across the resume", p);
    }
}
