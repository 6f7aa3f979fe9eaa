//! A Kafka connection with `security.protocol: SSL` and `security.brokerPublicCertificate`: a
//! cluster reached only over TLS (the test broker behind a TLS endpoint, see
//! `support/tls_proxy.rs`) is written and read when its CA is trusted, and refused, naming the
//! connection, when it is not. (SASL is negotiated by the broker itself, which the test broker
//! cannot do: see docs/connectors.md.)

mod support;

use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use sluice_connectors::kafka::{
    KafkaConnection, KafkaEmitOptions, KafkaSink, KafkaSource, KafkaSourceOptions, SecurityProtocol,
};
use sluice_engine::{Sink, Source, SourceRecord};
use sluice_mql::json::parse_document;
use sluice_mql::Value;
use support::kafka::{free_port, unique_topic, OwnBroker};
use support::tls_proxy::{new_ca, TlsProxy};

fn tls_connection(addr: &str, ca_pem: &str) -> KafkaConnection {
    KafkaConnection {
        protocol: SecurityProtocol::Ssl,
        ca_pem: Some(ca_pem.to_string()),
        ..KafkaConnection::plaintext("secure-kafka", addr)
    }
}

fn create_topic(conn: &KafkaConnection, topic: &str) {
    let admin: AdminClient<DefaultClientContext> = conn.client_config().expect("config").create().expect("admin");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let new = NewTopic::new(topic, 2, TopicReplication::Fixed(1));
    let res = rt
        .block_on(admin.create_topics(&[new], &AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)))))
        .expect("create_topics answered over TLS");
    for r in res {
        r.expect("topic created");
    }
}

#[test]
fn an_ssl_connection_trusts_its_certificate_and_refuses_another() {
    let broker_addr = format!("127.0.0.1:{}", free_port());
    let proxy = TlsProxy::start(&broker_addr);
    let _broker = OwnBroker::start_behind(&broker_addr, &proxy.addr);
    let conn = tls_connection(&proxy.addr, &proxy.ca_pem);
    let topic = unique_topic("tls");
    create_topic(&conn, &topic);

    let emit = parse_document(&format!(r#"{{"topic": "{}"}}"#, topic)).expect("options");
    let mut sink = KafkaSink::open(&conn, KafkaEmitOptions::parse(&emit).expect("valid $emit")).expect("sink opens");
    let docs: Vec<_> = (0..20).map(|i| parse_document(&format!(r#"{{"n": {}}}"#, i)).expect("doc")).collect();
    sink.write(&docs).expect("written");
    sink.flush().expect("acknowledged over TLS");

    let source_opts =
        parse_document(&format!(r#"{{"topic": "{}", "config": {{"auto_offset_reset": "earliest"}}}}"#, topic))
            .expect("options");
    let opts = KafkaSourceOptions::parse(&source_opts).expect("valid $source");
    let mut source = KafkaSource::open(&conn, &opts, &unique_topic("group")).expect("source opens over TLS");
    let mut ns = Vec::new();
    let start = Instant::now();
    while ns.len() < 20 {
        assert!(start.elapsed() < Duration::from_secs(30), "read {:?} within 30 s", ns);
        let mut out = Vec::new();
        source.poll(100, &mut out).expect("poll");
        for r in out {
            let SourceRecord::FromPartition { doc, .. } = r else { panic!("a decoded record") };
            ns.push(doc.get("n").and_then(Value::as_exact_i64).expect("n"));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    ns.sort_unstable();
    assert_eq!(ns, (0..20).collect::<Vec<i64>>(), "every message once, over TLS both ways");

    // A CA that did not sign the endpoint's certificate: nothing is sent, the connection is named.
    let (other_ca, _) = new_ca("Another CA");
    let untrusted = tls_connection(&proxy.addr, &other_ca.pem());
    let err = KafkaSource::open(&untrusted, &opts, "g").err().expect("an untrusted certificate is refused");
    assert!(err.contains("secure-kafka"), "{}", err);
    let err = KafkaSource::open(&KafkaConnection::plaintext("plain-kafka", &proxy.addr), &opts, "g")
        .err()
        .expect("plaintext to a TLS endpoint gets nowhere");
    assert!(err.contains("plain-kafka"), "{}", err);
}
