//! The exactly-once Kafka `$emit` against Apache Kafka's broker: output is invisible to a
//! `read_committed` reader until its checkpoint is saved; a checkpoint whose transaction never
//! committed (the run died between saving and committing) is refused on resume, one whose
//! transaction committed is accepted; a new run fences the one before it, which can then commit
//! nothing.

mod support;

use std::time::Duration;

use sluice_connectors::kafka::{KafkaConnection, KafkaEmitOptions, KafkaSink};
use sluice_engine::{Sink, SinkResume};
use sluice_mql::json::parse_document;
use sluice_mql::{Document, Value};
use support::kafka::{broker, create_topic, read_all, unique_topic};

fn exactly_once_sink(topic: &str, processor: &str) -> KafkaSink {
    let emit =
        parse_document(&format!(r#"{{"topic": "{}", "config": {{"deliveryGuarantee": "exactlyOnce"}}}}"#, topic))
            .expect("options");
    let conn = KafkaConnection::plaintext("kafka", &broker());
    KafkaSink::open(&conn, KafkaEmitOptions::parse(&emit).expect("valid $emit"), processor).expect("sink opens")
}

fn docs(range: std::ops::Range<i64>) -> Vec<Document> {
    range.map(|n| parse_document(&format!(r#"{{"n": {}}}"#, n)).expect("doc")).collect()
}

/// The `n` of every message a `read_committed` reader sees, in order, waiting up to `wait` for
/// `count`.
fn committed_ns(topic: &str, count: usize, wait: Duration) -> Vec<i64> {
    let mut ns: Vec<i64> = read_all(&broker(), topic, count, wait)
        .iter()
        .map(|m| {
            let d: serde_json::Value = serde_json::from_slice(&m.value).expect("JSON");
            d["n"].as_i64().expect("n")
        })
        .collect();
    ns.sort();
    ns
}

fn topic(prefix: &str) -> String {
    let t = unique_topic(prefix);
    create_topic(&broker(), &t, 2);
    t
}

#[test]
fn output_is_invisible_until_its_checkpoint_is_saved() {
    let t = topic("eos-visible");
    let mut sink = exactly_once_sink(&t, &unique_topic("p"));
    sink.write(&docs(0..10)).expect("written");
    sink.flush().expect("pre-committed");
    // Written after the checkpoint's flush: the next transaction, on the other producer.
    sink.write(&docs(10..15)).expect("written");
    assert_eq!(committed_ns(&t, 0, Duration::from_secs(1)), Vec::<i64>::new(), "nothing visible before the save");
    assert!(matches!(sink.snapshot(), Value::Document(_)), "the checkpoint records the transaction");
    sink.on_checkpoint_saved().expect("committed");
    assert_eq!(committed_ns(&t, 10, Duration::from_secs(20)), (0..10).collect::<Vec<_>>());
    sink.flush().expect("pre-committed");
    sink.on_checkpoint_saved().expect("committed");
    assert_eq!(committed_ns(&t, 15, Duration::from_secs(20)), (0..15).collect::<Vec<_>>());
}

#[test]
fn a_checkpoint_whose_transaction_never_committed_is_refused_on_resume() {
    let (t, p) = (topic("eos-lost"), unique_topic("p"));
    let mut run = exactly_once_sink(&t, &p);
    run.write(&docs(0..10)).expect("written");
    run.flush().expect("pre-committed");
    let saved = run.snapshot();
    // The run dies after saving its checkpoint, before committing.
    drop(run);
    let mut next = exactly_once_sink(&t, &p);
    match next.resume_from(&saved).expect("checked") {
        SinkResume::OutputLost(why) => assert!(why.contains("did not commit"), "{}", why),
        SinkResume::Resumed => panic!("an aborted transaction's checkpoint was accepted"),
    }
    assert_eq!(committed_ns(&t, 0, Duration::from_secs(1)), Vec::<i64>::new(), "the aborted output stays invisible");
}

#[test]
fn a_checkpoint_whose_transaction_committed_is_resumed() {
    let (t, p) = (topic("eos-kept"), unique_topic("p"));
    let mut run = exactly_once_sink(&t, &p);
    run.write(&docs(0..10)).expect("written");
    run.flush().expect("pre-committed");
    let saved = run.snapshot();
    run.on_checkpoint_saved().expect("committed");
    drop(run);
    let mut next = exactly_once_sink(&t, &p);
    assert_eq!(next.resume_from(&saved).expect("checked"), SinkResume::Resumed);
    assert_eq!(next.resume_from(&Value::Null).expect("checked"), SinkResume::Resumed, "no transaction, no loss");
}

#[test]
fn a_new_run_fences_the_one_before_it() {
    let (t, p) = (topic("eos-fenced"), unique_topic("p"));
    let mut zombie = exactly_once_sink(&t, &p);
    zombie.write(&docs(0..10)).expect("written");
    let mut next = exactly_once_sink(&t, &p);
    let committed = zombie.flush().and_then(|()| zombie.on_checkpoint_saved());
    assert!(committed.is_err(), "a fenced run committed its transaction");
    next.write(&docs(100..105)).expect("written");
    next.flush().expect("pre-committed");
    next.on_checkpoint_saved().expect("committed");
    assert_eq!(
        committed_ns(&t, 5, Duration::from_secs(20)),
        (100..105).collect::<Vec<_>>(),
        "only the live run's output is visible"
    );
}
