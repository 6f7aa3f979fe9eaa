//! `$emit` to Kafka: each document becomes one JSON message. The producer is idempotent (no
//! duplicates from its own retries); a flush, which every checkpoint does first, waits until
//! every message is acknowledged, so a checkpoint never counts output the broker does not have.
//! With `deliveryGuarantee: "exactlyOnce"` the output is written in transactions that commit
//! with the checkpoints (see [`super::transactions`]).

use std::time::Duration;

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, Producer};
use sluice_engine::{Health, Sink, SinkError, SinkReject, SinkResume};
use sluice_mql::expr::{Input, Scope};
use sluice_mql::json::{write_document, write_value, JsonMode};
use sluice_mql::{format_iso_millis, Document, Value};

use super::client_errors::metadata_unless_refused;
use super::transactions::Producers;
use super::{DeliveryGuarantee, KafkaConnection, KafkaEmitOptions, TopicSpec, OPEN_TIMEOUT};

/// How long a message may wait for the brokers before it counts as failed.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the producer's queue may stay full before the wait shows on the health board.
const SLOW_BROKERS: Duration = Duration::from_secs(2);

/// A Kafka `$emit`.
pub struct KafkaSink {
    name: String,
    producers: Producers,
    opts: KafkaEmitOptions,
    rejected: Vec<SinkReject>,
    payload: String,
    key: Vec<u8>,
    /// The run's health board.
    health: Health,
}

impl KafkaSink {
    /// Creates the producer. `processor_id` names the transactional ids of an exactly-once
    /// `$emit` (`sluice-<processor_id>-0` and `-1`), so that a new run of the processor fences
    /// the one before it.
    pub fn open(conn: &KafkaConnection, opts: KafkaEmitOptions, processor_id: &str) -> Result<KafkaSink, String> {
        let mut cfg = conn.client_config()?;
        cfg.set("enable.idempotence", if opts.acks == -1 { "true" } else { "false" });
        cfg.set("acks", opts.acks.to_string());
        cfg.set("compression.type", &opts.compression);
        if let Some(ms) = opts.linger_ms {
            cfg.set("linger.ms", ms.to_string());
        }
        if let Some(bytes) = opts.batch_size {
            cfg.set("batch.size", bytes.to_string());
        }
        // Defaults the connection's own client settings may override.
        for (k, v) in [("message.timeout.ms", DELIVERY_TIMEOUT.as_millis().to_string()), ("linger.ms", "5".into())] {
            if cfg.get(k).is_none() {
                cfg.set(k, v);
            }
        }
        let transactional = format!("sluice-{}", processor_id);
        let exactly_once = (opts.guarantee == DeliveryGuarantee::ExactlyOnce).then_some(transactional.as_str());
        let producers = Producers::open(&cfg, exactly_once).map_err(|e| format!("connection {}: {}", conn.name, e))?;
        // Fail the start, not the first checkpoint, when the brokers cannot be reached.
        metadata_unless_refused(producers.current().client(), None, OPEN_TIMEOUT, producers.errors(), &|| ()).map_err(
            |e| {
                producers.errors().explain(format!(
                    "connection {}: cannot reach the Kafka brokers {}: {}",
                    conn.name, conn.bootstrap_servers, e
                ))
            },
        )?;
        producers.init_transactions().map_err(|e| format!("connection {}: {}", conn.name, e))?;
        Ok(KafkaSink {
            name: conn.name.clone(),
            producers,
            opts,
            rejected: Vec::new(),
            payload: String::new(),
            key: Vec::new(),
            health: Health::default(),
        })
    }

    /// The brokers have been slow to take messages since `since`: on the health board.
    fn report_waiting(&self, since: std::time::Instant) {
        let message = format!(
            "{} message(s) waiting for the Kafka brokers for {} s",
            self.producers.current().in_flight_count(),
            since.elapsed().as_secs()
        );
        self.health.failing(&self.name, &message, crate::outage::now_ms());
    }

    fn error(&self, message: impl Into<String>) -> SinkError {
        SinkError::external(&self.name, message)
    }

    /// Sends one document; `Ok(Err(reason))` when the document itself cannot be written.
    fn send(&mut self, doc: &Document, scope: &mut Scope) -> Result<Result<(), String>, SinkError> {
        let input = Input::doc(doc);
        // A fixed topic is borrowed: no allocation per message.
        let computed = match &self.opts.topic {
            TopicSpec::Fixed(_) => None,
            TopicSpec::Computed(e) => match e.eval(&input, scope).map_err(|e| e.to_string()) {
                Ok(v) => match v.as_str() {
                    Some(t) if !t.is_empty() => Some(t.to_string()),
                    _ => {
                        return Ok(Err(format!(
                            "topic must evaluate to a non-empty string, found {}",
                            v.bson_type().alias()
                        )))
                    }
                },
                Err(e) => return Ok(Err(format!("topic: {}", e))),
            },
        };
        let topic: &str = match (&self.opts.topic, &computed) {
            (_, Some(t)) => t,
            (TopicSpec::Fixed(t), None) => t,
            (TopicSpec::Computed(_), None) => return Ok(Err("topic could not be computed".into())),
        };
        let has_key = match &self.opts.key {
            None => false,
            Some(e) => {
                let v = match e.eval(&input, scope) {
                    Ok(v) => v,
                    Err(e) => return Ok(Err(format!("key: {}", e))),
                };
                if let Err(e) = self.opts.key_format.encode(&v, &mut self.key) {
                    return Ok(Err(format!("key: {}", e)));
                }
                true
            }
        };
        let headers = match &self.opts.headers {
            None => None,
            Some(e) => match e.eval(&input, scope).map_err(|e| e.to_string()).and_then(|v| headers(&v)) {
                Ok(h) => Some(h),
                Err(e) => return Ok(Err(format!("headers: {}", e))),
            },
        };
        self.payload.clear();
        if self.opts.iso_dates {
            write_document(&mut self.payload, &iso_dates(doc), self.opts.output);
        } else {
            write_document(&mut self.payload, doc, self.opts.output);
        }
        self.producers.before_send().map_err(|e| self.error(e))?;
        let mut full_since: Option<std::time::Instant> = None;
        loop {
            let mut record: BaseRecord<'_, [u8], str> = BaseRecord::to(topic).payload(self.payload.as_str());
            if has_key {
                record = record.key(self.key.as_slice());
            }
            if let Some(h) = &headers {
                record = record.headers(h.clone());
            }
            match self.producers.current().send(record) {
                Ok(()) => return Ok(Ok(())),
                // The producer's queue is full: wait for the brokers to take some. This is the
                // backpressure that slows the source down to what the sink can take.
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                    let since = *full_since.get_or_insert_with(std::time::Instant::now);
                    if self.health.stopping() {
                        return Err(self.error("the processor is stopping while the producer's queue is full"));
                    }
                    if since.elapsed() >= SLOW_BROKERS {
                        self.report_waiting(since);
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::MessageSizeTooLarge), _)) => {
                    return Ok(Err("message is larger than the producer's message.max.bytes".into()));
                }
                Err((e, _)) => return Err(self.error(format!("cannot send to topic {}: {}", topic, e))),
            }
        }
    }
}

/// Headers from an object (name → value) or an array of `{k, v}`.
fn headers(v: &Value) -> Result<OwnedHeaders, String> {
    let mut h = OwnedHeaders::new();
    let mut add = |k: &str, v: &Value| -> Result<(), String> {
        let bytes = header_bytes(v);
        h = std::mem::take(&mut h).insert(Header { key: k, value: bytes.as_deref() });
        Ok(())
    };
    match v {
        Value::Document(d) => {
            for (k, v) in d.iter() {
                add(k.as_str(), v)?;
            }
        }
        Value::Array(items) => {
            for item in items {
                let d = item.as_document().ok_or("an array of headers must hold {k, v} objects")?;
                let k = d.get("k").and_then(Value::as_str).ok_or("each header needs a string k")?;
                add(k, d.get("v").unwrap_or(&Value::Null))?;
            }
        }
        Value::Null => {}
        other => return Err(format!("must evaluate to an object or an array, found {}", other.bson_type().alias())),
    }
    Ok(h)
}

fn header_bytes(v: &Value) -> Option<Vec<u8>> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.as_bytes().to_vec()),
        Value::Binary(_, b) => Some(b.clone()),
        other => {
            let mut s = String::new();
            write_value(&mut s, other, JsonMode::Relaxed);
            Some(s.into_bytes())
        }
    }
}

/// A copy of `doc` with every date written as an ISO-8601 string.
fn iso_dates(doc: &Document) -> Document {
    fn conv(v: &Value) -> Value {
        match v {
            Value::DateTime(ms) => Value::str(&format_iso_millis(*ms)),
            Value::Document(d) => Value::Document(iso_dates(d)),
            Value::Array(items) => Value::Array(items.iter().map(conv).collect()),
            other => other.clone(),
        }
    }
    doc.iter().map(|(k, v)| (k.clone(), conv(v))).collect()
}

impl Sink for KafkaSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn write(&mut self, docs: &[Document]) -> Result<(), SinkError> {
        let mut scope = Scope::new(crate::outage::now_ms());
        for doc in docs {
            if let Err(reason) = self.send(doc, &mut scope)? {
                self.rejected.push(SinkReject { doc: doc.clone(), reason });
            }
        }
        Ok(())
    }

    fn take_rejected(&mut self) -> Vec<SinkReject> {
        std::mem::take(&mut self.rejected)
    }

    fn attach_health(&mut self, health: &Health) {
        self.health = health.clone();
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        // In slices, so that a long wait for the brokers shows on the health board and a stop
        // ends it.
        let started = std::time::Instant::now();
        let mut waited = false;
        loop {
            match self.producers.current().flush(Duration::from_secs(1)) {
                Ok(()) => break,
                Err(e) if self.health.stopping() || started.elapsed() >= DELIVERY_TIMEOUT + Duration::from_secs(5) => {
                    return Err(self.error(format!("messages not acknowledged: {}", e)));
                }
                Err(_) => {
                    waited = true;
                    self.report_waiting(started);
                }
            }
        }
        if waited {
            self.health.recovered(&self.name, crate::outage::now_ms());
        }
        {
            let d = self.producers.deliveries().lock().map_err(|_| self.error("delivery reports poisoned"))?;
            if d.failed > 0 {
                return Err(self.error(format!(
                    "{} message(s) could not be delivered: {}",
                    d.failed,
                    d.first_error.as_deref().unwrap_or("unknown error")
                )));
            }
        }
        self.producers.precommit();
        Ok(())
    }

    fn on_checkpoint_saved(&mut self) -> Result<(), SinkError> {
        // A commit waiting for the brokers shows on the health board, and a stop ends the wait.
        let (health, name) = (self.health.clone(), self.name.clone());
        let mut reported = false;
        let committed = self.producers.commit(|waited| {
            if health.stopping() || waited >= DELIVERY_TIMEOUT {
                return false;
            }
            if waited >= SLOW_BROKERS {
                let message = format!("a transaction commit waiting for the Kafka brokers for {} s", waited.as_secs());
                health.failing(&name, &message, crate::outage::now_ms());
                reported = true;
            }
            true
        });
        committed.map_err(|e| self.error(e))?;
        if reported {
            self.health.recovered(&self.name, crate::outage::now_ms());
        }
        Ok(())
    }

    fn snapshot(&self) -> Value {
        self.producers.snapshot()
    }

    fn resume_from(&mut self, state: &Value) -> Result<SinkResume, SinkError> {
        Ok(match self.producers.check_committed(state).map_err(|e| self.error(e))? {
            Ok(()) => SinkResume::Resumed,
            Err(lost) => SinkResume::OutputLost(lost),
        })
    }
}
