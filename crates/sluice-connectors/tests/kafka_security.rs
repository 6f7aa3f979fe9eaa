//! Kafka connections with TLS and SASL against Apache Kafka's broker (its SASL_PLAINTEXT,
//! SASL_SSL and SSL listeners, started by `scripts/test-servers.sh` with a user known to PLAIN,
//! SCRAM-SHA-256 and SCRAM-SHA-512, and a certificate signed by a CA the script made): each
//! mechanism and protocol writes and reads; a wrong password, an unknown user, an untrusted
//! certificate or a plaintext client on a TLS listener are refused at open within seconds,
//! naming the connection and saying why.

mod support;

use std::time::{Duration, Instant};

use sluice_connectors::kafka::{
    KafkaConnection, KafkaEmitOptions, KafkaSink, KafkaSource, KafkaSourceOptions, SaslMechanism, SecurityProtocol,
};
use sluice_engine::{Sink, Source, SourceRecord};
use sluice_mql::json::parse_document;
use sluice_mql::Value;
use support::kafka::{broker, create_topic, unique_topic};

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{} is not set: run the tests through scripts/test.sh", name))
}

fn ca_pem() -> String {
    std::fs::read_to_string(env("SLUICE_TEST_KAFKA_CA")).expect("the test CA")
}

fn sasl(protocol: SecurityProtocol, mechanism: SaslMechanism, password: &str) -> KafkaConnection {
    let (addr, ca) = match protocol {
        SecurityProtocol::SaslSsl => (env("SLUICE_TEST_KAFKA_SASL_SSL"), Some(ca_pem())),
        _ => (env("SLUICE_TEST_KAFKA_SASL"), None),
    };
    KafkaConnection {
        protocol,
        mechanism: Some(mechanism),
        username: Some(env("SLUICE_TEST_KAFKA_USER")),
        password: Some(password.to_string()),
        ca_pem: ca,
        ..KafkaConnection::plaintext("secure-kafka", &addr)
    }
}

fn ssl(ca: String) -> KafkaConnection {
    KafkaConnection {
        protocol: SecurityProtocol::Ssl,
        ca_pem: Some(ca),
        ..KafkaConnection::plaintext("secure-kafka", &env("SLUICE_TEST_KAFKA_SSL"))
    }
}

fn source_options(topic: &str) -> KafkaSourceOptions {
    let o = parse_document(&format!(r#"{{"topic": "{}", "config": {{"auto_offset_reset": "earliest"}}}}"#, topic))
        .expect("options");
    KafkaSourceOptions::parse(&o).expect("valid $source")
}

/// Writes 10 documents through `conn` and reads them back through it.
fn round_trip(conn: &KafkaConnection) {
    let topic = unique_topic("secure");
    create_topic(&broker(), &topic, 2);
    let emit = parse_document(&format!(r#"{{"topic": "{}"}}"#, topic)).expect("options");
    let mut sink = KafkaSink::open(conn, KafkaEmitOptions::parse(&emit).expect("valid $emit"), "security")
        .unwrap_or_else(|e| panic!("{:?}: the sink opens: {}", conn, e));
    let docs: Vec<_> = (0..10).map(|i| parse_document(&format!(r#"{{"n": {}}}"#, i)).expect("doc")).collect();
    sink.write(&docs).expect("written");
    sink.flush().unwrap_or_else(|e| panic!("{:?}: acknowledged: {}", conn, e));

    let mut source = KafkaSource::open(conn, &source_options(&topic), &unique_topic("group"))
        .unwrap_or_else(|e| panic!("{:?}: the source opens: {}", conn, e));
    let mut ns = Vec::new();
    let start = Instant::now();
    while ns.len() < 10 {
        assert!(start.elapsed() < Duration::from_secs(30), "{:?}: read {:?} within 30 s", conn, ns);
        let mut out = Vec::new();
        source.poll(100, &mut out).expect("poll");
        for r in out {
            let SourceRecord::FromPartition { doc, .. } = r else { panic!("a decoded record") };
            ns.push(doc.get("n").and_then(Value::as_exact_i64).expect("n"));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    ns.sort_unstable();
    assert_eq!(ns, (0..10).collect::<Vec<i64>>(), "{:?}: every message once", conn);
}

/// Opening a source and a sink through `conn` fails within 15 s; both errors.
fn refused(conn: &KafkaConnection) -> [String; 2] {
    let started = Instant::now();
    let emit = parse_document(r#"{"topic": "never"}"#).expect("options");
    let sink = KafkaSink::open(conn, KafkaEmitOptions::parse(&emit).expect("valid $emit"), "security");
    let source = KafkaSource::open(conn, &source_options("never"), "g");
    assert!(started.elapsed() < Duration::from_secs(15), "refused within seconds, not a hang");
    [sink.err().expect("the sink is refused"), source.err().expect("the source is refused")]
}

/// Like [`refused`], and each refusal ends as soon as the broker says no, well before the
/// 5 s an unanswered open waits.
fn refused_at_once(conn: &KafkaConnection) -> [String; 2] {
    let started = Instant::now();
    let errors = refused(conn);
    assert!(started.elapsed() < Duration::from_secs(5), "two refusals took {:?}", started.elapsed());
    errors
}

#[test]
fn every_sasl_mechanism_writes_and_reads_with_and_without_tls() {
    let password = env("SLUICE_TEST_KAFKA_PASSWORD");
    for protocol in [SecurityProtocol::SaslPlaintext, SecurityProtocol::SaslSsl] {
        for mechanism in [SaslMechanism::Plain, SaslMechanism::ScramSha256, SaslMechanism::ScramSha512] {
            round_trip(&sasl(protocol, mechanism, &password));
        }
    }
}

#[test]
fn ssl_with_the_brokers_ca_writes_and_reads() {
    round_trip(&ssl(ca_pem()));
}

#[test]
fn a_wrong_password_or_an_unknown_user_is_refused_saying_so() {
    for mechanism in [SaslMechanism::Plain, SaslMechanism::ScramSha256, SaslMechanism::ScramSha512] {
        let wrong = sasl(SecurityProtocol::SaslPlaintext, mechanism, "not-the-password");
        for e in refused_at_once(&wrong) {
            assert!(e.contains("secure-kafka"), "{:?}: {}", mechanism, e);
            assert!(e.to_lowercase().contains("authentication"), "{:?}: {}", mechanism, e);
            assert!(!e.contains("not-the-password"), "the password is never shown: {}", e);
        }
    }
    let stranger = KafkaConnection {
        username: Some("nobody".into()),
        ..sasl(SecurityProtocol::SaslSsl, SaslMechanism::ScramSha512, &env("SLUICE_TEST_KAFKA_PASSWORD"))
    };
    for e in refused_at_once(&stranger) {
        assert!(e.to_lowercase().contains("authentication"), "{}", e);
    }
}

#[test]
fn an_untrusted_certificate_or_a_plaintext_client_is_refused() {
    let (other_ca, _) = support::certs::new_ca("Another CA");
    for e in refused_at_once(&ssl(other_ca.pem())) {
        assert!(e.contains("secure-kafka"), "{}", e);
        assert!(e.to_lowercase().contains("certificate") || e.to_lowercase().contains("ssl"), "{}", e);
    }
    for e in refused(&KafkaConnection::plaintext("plain-kafka", &env("SLUICE_TEST_KAFKA_SSL"))) {
        assert!(e.contains("plain-kafka"), "{}", e);
    }
}
