//! The real Kafka-protocol broker the tests talk to (started by `scripts/test-servers.sh`), and
//! plain client helpers to prepare topics and read what a processor wrote.

#![allow(dead_code)]

use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

/// `host:port` of the shared test broker.
pub fn broker() -> String {
    std::env::var("SLUICE_TEST_KAFKA")
        .expect("SLUICE_TEST_KAFKA is not set: run the tests through scripts/test.sh, which starts the test broker")
}

/// A topic name no other test uses.
pub fn unique_topic(prefix: &str) -> String {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("{}-{}-{}-{}", prefix, std::process::id(), n, t % 1_000_000_000)
}

fn client(broker: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", broker);
    c
}

/// Creates a topic with `partitions` partitions.
pub fn create_topic(broker: &str, name: &str, partitions: i32) {
    let admin: AdminClient<DefaultClientContext> = client(broker).create().expect("admin client");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let topic = NewTopic::new(name, partitions, TopicReplication::Fixed(1));
    let res = rt
        .block_on(admin.create_topics(&[topic], &AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)))))
        .expect("create_topics answered");
    for r in res {
        r.expect("topic created");
    }
}

/// Grows `name` to `partitions` partitions (Kafka's CreatePartitions).
pub fn add_partitions(broker: &str, name: &str, partitions: usize) {
    use rdkafka::admin::NewPartitions;
    let admin: AdminClient<DefaultClientContext> = client(broker).create().expect("admin client");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let grow = NewPartitions::new(name, partitions);
    let res = rt
        .block_on(
            admin.create_partitions(&[grow], &AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)))),
        )
        .expect("create_partitions answered");
    for r in res {
        r.expect("partitions added");
    }
}

/// One message to produce: key, value, partition (None: the partitioner decides).
pub struct Msg<'a> {
    pub key: Option<&'a [u8]>,
    pub value: &'a [u8],
    pub partition: Option<i32>,
}

/// Produces messages and waits until the broker has them all.
pub fn produce(broker: &str, topic: &str, msgs: &[Msg<'_>]) {
    let producer: BaseProducer = client(broker).create().expect("producer");
    for m in msgs {
        let mut r: BaseRecord<'_, [u8], [u8]> = BaseRecord::to(topic).payload(m.value);
        if let Some(k) = m.key {
            r = r.key(k);
        }
        if let Some(p) = m.partition {
            r = r.partition(p);
        }
        producer.send(r).map_err(|(e, _)| e).expect("queued");
    }
    producer.flush(Duration::from_secs(30)).expect("all messages acknowledged");
}

/// Produces the messages `value(0..total)` in chunks of `chunk`, pausing `pause` after each:
/// input that keeps arriving for a while.
pub fn produce_paced(
    broker: &str,
    topic: &str,
    total: i64,
    chunk: i64,
    pause: Duration,
    value: impl Fn(i64) -> Vec<u8>,
) {
    for start in (0..total).step_by(chunk as usize) {
        let values: Vec<Vec<u8>> = (start..(start + chunk).min(total)).map(&value).collect();
        produce(
            broker,
            topic,
            &values.iter().map(|v| Msg { key: None, value: v, partition: None }).collect::<Vec<_>>(),
        );
        std::thread::sleep(pause);
    }
}

/// A message read back.
#[derive(Debug, Clone, PartialEq)]
pub struct Read {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub value: Vec<u8>,
    pub headers: Vec<(String, Vec<u8>)>,
}

/// Reads every partition of `topic` from the start until `count` messages arrived or `wait`
/// passed, then a further short while to catch any message beyond `count`. Reads as a
/// `read_committed` consumer: messages of aborted or open transactions are not seen.
pub fn read_all(broker: &str, topic: &str, count: usize, wait: Duration) -> Vec<Read> {
    let consumer: BaseConsumer = client(broker)
        .set("group.id", "sluice-test-reader")
        .set("isolation.level", "read_committed")
        .create()
        .expect("consumer");
    let md = consumer.fetch_metadata(Some(topic), Duration::from_secs(10)).expect("metadata");
    let mut tpl = TopicPartitionList::new();
    for p in md.topics()[0].partitions() {
        tpl.add_partition_offset(topic, p.id(), Offset::Beginning).unwrap();
    }
    consumer.assign(&tpl).expect("assign");
    let mut out = Vec::new();
    let start = Instant::now();
    let mut extra_until: Option<Instant> = None;
    loop {
        if out.len() >= count && extra_until.is_none() {
            extra_until = Some(Instant::now() + Duration::from_millis(500));
        }
        if extra_until.is_some_and(|t| Instant::now() >= t) || start.elapsed() > wait {
            break;
        }
        match consumer.poll(Duration::from_millis(50)) {
            Some(Ok(m)) => out.push(Read {
                partition: m.partition(),
                offset: m.offset(),
                key: m.key().map(<[u8]>::to_vec),
                value: m.payload().unwrap_or_default().to_vec(),
                headers: m
                    .headers()
                    .map(|h| h.iter().map(|h| (h.key.to_string(), h.value.unwrap_or_default().to_vec())).collect())
                    .unwrap_or_default(),
            }),
            Some(Err(e)) => panic!("reading {}: {}", topic, e),
            None => {}
        }
    }
    out
}

/// The offsets the consumer group `group` has committed on `topic`, by partition.
pub fn committed(broker: &str, group: &str, topic: &str, partitions: i32) -> Vec<Option<i64>> {
    let consumer: BaseConsumer = client(broker).set("group.id", group).create().expect("consumer");
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition(topic, p);
    }
    let got = consumer.committed_offsets(tpl, Duration::from_secs(10)).expect("committed offsets");
    (0..partitions)
        .map(|p| match got.find_partition(topic, p).map(|e| e.offset()) {
            Some(Offset::Offset(n)) => Some(n),
            _ => None,
        })
        .collect()
}

/// A broker of a test's own, to stop and start again (its storage is memory: a restarted broker
/// is empty).
pub struct OwnBroker {
    child: Option<std::process::Child>,
    /// `127.0.0.1:PORT`
    pub addr: String,
    /// Where it tells clients to connect (its own address, unless something fronts it).
    advertised: String,
}

/// A port free on loopback now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("free port").local_addr().unwrap().port()
}

impl OwnBroker {
    /// Starts a broker on a free port and waits until it answers.
    pub fn start() -> OwnBroker {
        let addr = format!("127.0.0.1:{}", free_port());
        OwnBroker::start_behind(&addr, &addr)
    }

    /// Starts a broker on `addr` that tells clients to connect to `advertised` (an endpoint in
    /// front of it), and waits until it answers.
    pub fn start_behind(addr: &str, advertised: &str) -> OwnBroker {
        let mut b = OwnBroker { child: None, addr: addr.to_string(), advertised: advertised.to_string() };
        b.restart();
        b
    }

    /// Starts it (again) on its port.
    pub fn restart(&mut self) {
        let bin = std::env::var("SLUICE_TANSU_BIN")
            .expect("SLUICE_TANSU_BIN is not set: run the tests through scripts/test.sh");
        let (url, advertised) = (format!("tcp://{}", self.addr), format!("tcp://{}", self.advertised));
        let child = std::process::Command::new(bin)
            .args(["broker", "--listener-url", &url, "--advertised-listener-url", &advertised])
            .args(["--storage-engine", "memory://tansu/"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("tansu starts");
        self.child = Some(child);
        let start = Instant::now();
        while std::net::TcpStream::connect(&self.addr).is_err() {
            assert!(start.elapsed() < Duration::from_secs(20), "broker on {} did not answer", self.addr);
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills it.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for OwnBroker {
    fn drop(&mut self) {
        self.stop();
    }
}

/// An Apache Kafka broker of a test's own (`scripts/apache-kafka.sh`), to kill and start again:
/// unlike [`OwnBroker`], it keeps its topics, offsets and producer state across a restart, on the
/// same ports.
pub struct OwnApacheKafka {
    dir: std::path::PathBuf,
    pid: Option<u32>,
    /// `127.0.0.1:PORT` of its PLAINTEXT listener.
    pub addr: String,
}

impl OwnApacheKafka {
    /// Starts one keeping its data under a fresh temporary directory.
    pub fn start() -> OwnApacheKafka {
        let dir = std::env::temp_dir().join(format!("sluice-own-kafka-{}", unique_topic("b")));
        let mut b = OwnApacheKafka { dir, pid: None, addr: String::new() };
        b.restart();
        b
    }

    /// Starts it (again, on its ports and data) and waits until it serves requests.
    pub fn restart(&mut self) {
        let script = std::env::var("SLUICE_APACHE_KAFKA")
            .expect("SLUICE_APACHE_KAFKA is not set: run the tests through scripts/test.sh");
        let out = std::process::Command::new(script)
            .arg("start")
            .arg(&self.dir)
            .stdout(std::process::Stdio::null())
            .output()
            .expect("the broker script runs");
        assert!(out.status.success(), "the broker did not start: {}", String::from_utf8_lossy(&out.stderr));
        let env = std::fs::read_to_string(self.dir.join("env")).expect("the broker's env file");
        let var = |name: &str| {
            env.lines()
                .find_map(|l| l.strip_prefix(&format!("export {}=", name)))
                .unwrap_or_else(|| panic!("{} in the broker's env file", name))
                .to_string()
        };
        self.addr = var("SLUICE_TEST_KAFKA");
        self.pid = Some(var("SLUICE_KAFKA_BROKER_PID").parse().expect("a pid"));
    }

    /// Kills it with SIGKILL.
    pub fn kill(&mut self) {
        if let Some(pid) = self.pid.take() {
            let _ = std::process::Command::new("kill").args(["-9", &pid.to_string()]).status();
            // Gone once its port refuses connections.
            let start = Instant::now();
            while std::net::TcpStream::connect(&self.addr).is_ok() && start.elapsed() < Duration::from_secs(10) {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

impl Drop for OwnApacheKafka {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Polls `source` until `count` records came, or panics after 30 s; each as its `(p, seq)`
/// fields (messages written as `{"p": partition, "seq": n}`).
pub fn take_numbered(source: &mut dyn sluice_engine::Source, count: usize) -> Vec<(i64, i64)> {
    use sluice_engine::SourceRecord;
    use sluice_mql::Value;
    let start = Instant::now();
    let mut got = Vec::new();
    while got.len() < count {
        assert!(start.elapsed() < Duration::from_secs(30), "{} of {} records within 30 s", got.len(), count);
        let mut out = Vec::new();
        source.poll(count - got.len(), &mut out).expect("poll");
        if out.is_empty() {
            std::thread::sleep(Duration::from_millis(5));
        }
        for r in out {
            let SourceRecord::FromPartition { doc, .. } = r else { panic!("a decoded record") };
            let field = |k: &str| doc.get(k).and_then(Value::as_exact_i64).expect("an integer field");
            got.push((field("p"), field("seq")));
        }
    }
    got
}
