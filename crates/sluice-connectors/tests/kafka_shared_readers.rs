//! Kafka sources of one process that read the same partitions from the same offsets share their
//! readers: each message is fetched once and every source still sees exactly the messages after
//! its own position, in order. A source that falls behind the others is let go and reads on with
//! readers of its own, nothing lost, nothing twice.

mod support;

use std::time::Duration;

use sluice_connectors::kafka::{KafkaConnection, KafkaPosition, KafkaSource, KafkaSourceOptions};
use sluice_engine::Source;
use sluice_mql::json::parse_document;
use support::kafka::{broker, create_topic, produce, take_numbered, unique_topic, Msg};

const PARTITIONS: i32 = 2;

fn open(topic: &str, group: &str) -> KafkaSource {
    let conn = KafkaConnection::plaintext("kafka", &broker());
    let stage = format!(r#"{{"topic": "{}", "config": {{"auto_offset_reset": "earliest"}}}}"#, topic);
    let opts = KafkaSourceOptions::parse(&parse_document(&stage).expect("options")).expect("valid $source");
    KafkaSource::open(&conn, &opts, group).expect("source opens")
}

/// Writes `per_partition` messages to each partition, numbered from `from`.
fn write(topic: &str, from: i64, per_partition: i64) {
    let values: Vec<(i32, Vec<u8>)> = (from..from + per_partition)
        .flat_map(|seq| (0..PARTITIONS).map(move |p| (p, format!(r#"{{"p": {}, "seq": {}}}"#, p, seq).into_bytes())))
        .collect();
    let msgs: Vec<Msg<'_>> = values.iter().map(|(p, v)| Msg { key: None, value: v, partition: Some(*p) }).collect();
    produce(&broker(), topic, &msgs);
}

fn take(source: &mut KafkaSource, count: usize) -> Vec<(i64, i64)> {
    take_numbered(source, count)
}

/// Polls for a while and returns what came: nothing is expected.
fn more(source: &mut KafkaSource) -> usize {
    let mut extra = Vec::new();
    for _ in 0..5 {
        std::thread::sleep(Duration::from_millis(100));
        source.poll(1000, &mut extra).expect("poll");
    }
    extra.len()
}

/// Every partition's sequence numbers `from..to`, in order, once each.
fn assert_exact(records: &[(i64, i64)], from: i64, to: i64, who: &str) {
    for p in 0..PARTITIONS as i64 {
        let seqs: Vec<i64> = records.iter().filter(|(q, _)| *q == p).map(|(_, s)| *s).collect();
        assert_eq!(seqs, (from..to).collect::<Vec<i64>>(), "{}: partition {}, each message once, in order", who, p);
    }
}

#[test]
fn sources_at_the_same_offsets_share_readers_and_each_reads_everything() {
    let topic = unique_topic("shared");
    create_topic(&broker(), &topic, PARTITIONS);
    let mut a = open(&topic, &unique_topic("group-a"));
    let mut b = open(&topic, &unique_topic("group-b"));
    // Both start at the (empty) partitions' beginning, together; their readers start at the
    // first poll.
    let (mut none_a, mut none_b) = (Vec::new(), Vec::new());
    a.poll(10, &mut none_a).expect("poll");
    b.poll(10, &mut none_b).expect("poll");
    assert!(a.shares_readers_with(&b), "same partitions, same start: one set of readers");
    write(&topic, 0, 50);
    let total = 50 * PARTITIONS as usize;
    let got_a = take(&mut a, total);
    let got_b = take(&mut b, total);
    assert_exact(&got_a, 0, 50, "a");
    assert_exact(&got_b, 0, 50, "b");

    // Messages written while both run reach both.
    write(&topic, 50, 30);
    assert_exact(&take(&mut a, 30 * PARTITIONS as usize), 50, 80, "a, later");
    assert_exact(&take(&mut b, 30 * PARTITIONS as usize), 50, 80, "b, later");
    assert_eq!((more(&mut a), more(&mut b)), (0, 0), "nothing more than was written");

    // A source that starts where they stand now joins them; one further back does not.
    let mut c = open(&topic, &unique_topic("group-c"));
    c.seek(&a.position()).expect("seek");
    let mut d = open(&topic, &unique_topic("group-d"));
    let mut back = KafkaPosition::from_value(&a.position()).expect("a Kafka position");
    for p in &mut back.partitions {
        p.offset -= 10;
    }
    d.seek(&back.to_value()).expect("seek");
    let mut none = Vec::new();
    c.poll(10, &mut none).expect("poll");
    assert!(c.shares_readers_with(&a), "a source starting where the others stand joins them");
    write(&topic, 80, 10);
    assert_exact(&take(&mut c, 10 * PARTITIONS as usize), 80, 90, "c, from a's position");
    assert_exact(&take(&mut d, 20 * PARTITIONS as usize), 70, 90, "d, from 10 back");
    assert!(!d.shares_readers_with(&a), "a source further back reads on its own");
}

#[test]
fn a_source_that_falls_behind_is_let_go_and_loses_nothing() {
    let topic = unique_topic("behind");
    create_topic(&broker(), &topic, PARTITIONS);
    let per = 3000;
    let total = (per * PARTITIONS as i64) as usize;
    let mut fast = open(&topic, &unique_topic("group-fast"));
    let mut slow = open(&topic, &unique_topic("group-slow"));
    // Both start at the (empty) partitions' beginning, together.
    let (mut none_a, mut none_b) = (Vec::new(), Vec::new());
    fast.poll(10, &mut none_a).expect("poll");
    slow.poll(10, &mut none_b).expect("poll");
    assert!(fast.shares_readers_with(&slow), "both start together");
    write(&topic, 0, per);
    // The slow one reads nothing while the fast one reads it all: it is let go.
    let got_fast = take(&mut fast, total);
    assert_exact(&got_fast, 0, per, "fast");
    let got_slow = take(&mut slow, total);
    assert_exact(&got_slow, 0, per, "slow, after being let go");
    assert!(!fast.shares_readers_with(&slow), "the slow source reads on its own");
    assert_eq!((more(&mut fast), more(&mut slow)), (0, 0), "nothing more than was written");
}
