//! Exactly-once `$emit`: output written in Kafka transactions that commit with the checkpoints,
//! in two phases.
//!
//! - **Pre-commit**: a checkpoint's flush waits until every message of the open transaction is
//!   acknowledged, and the checkpoint records that transaction (its id and one of its messages,
//!   the witness).
//! - **Commit**: once the checkpoint is durable, the transaction commits.
//!
//! Two transactional producers (ids `sluice-<processor>-0` and `-1`) take turns: while one's
//! transaction waits for its checkpoint to be written, the other takes the output that follows.
//! Opening the sink initialises both ids, which fences any earlier run of the processor still
//! alive and settles what it left open (the broker aborts a transaction still open and finishes
//! one whose commit it had begun). On resume, the checkpoint's witness read by a
//! `read_committed` consumer tells whether its transaction committed; if it did not (the run died
//! between saving the checkpoint and committing), the sink refuses that checkpoint and the run
//! resumes from the one before it, writing that output again.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::producer::{Producer, ThreadedProducer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use sluice_mql::{Document, Str, Value};

use super::client_errors::ClientErrors;
use super::deliveries::{Delivered, Deliveries, DeliveryContext};

/// The producer of a Kafka `$emit`.
pub type KafkaProducer = ThreadedProducer<DeliveryContext>;

/// How long a transaction may stay open before the broker aborts it. Checkpoints commit
/// transactions, so the checkpoint interval must stay well below it.
pub const TRANSACTION_TIMEOUT: Duration = Duration::from_secs(300);
/// How long initialising, committing or checking a transaction may take.
const TRANSACTION_CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// One producer and the delivery reports of what it sent.
struct Slot {
    producer: KafkaProducer,
    deliveries: Arc<Mutex<Deliveries>>,
    errors: ClientErrors,
}

/// A transaction flushed at a checkpoint, waiting for the checkpoint to be saved.
struct Precommitted {
    slot: usize,
    witness: Option<Delivered>,
}

/// The sink's producers: one, or two transactional ones taking turns.
pub struct Producers {
    slots: Vec<Slot>,
    current: usize,
    /// With exactly-once: the transactional ids of the slots.
    transactional_ids: Vec<String>,
    /// The current slot has begun a transaction.
    open: bool,
    precommitted: Option<Precommitted>,
    /// Client settings for the `read_committed` reader of witnesses.
    reader_config: ClientConfig,
}

impl Producers {
    /// One producer with settings `cfg` (at-least-once), or, when `transactional_base` is given,
    /// two transactional ones whose ids start with it, both initialised.
    pub fn open(cfg: &ClientConfig, transactional_base: Option<&str>) -> Result<Producers, String> {
        let ids: Vec<String> = match transactional_base {
            None => Vec::new(),
            Some(base) => (0..2).map(|i| format!("{}-{}", base, i)).collect(),
        };
        let names: Vec<Option<&String>> = if ids.is_empty() { vec![None] } else { ids.iter().map(Some).collect() };
        let mut slots = Vec::new();
        for id in names {
            let mut c = cfg.clone();
            if let Some(id) = id {
                c.set("transactional.id", id);
                if c.get("transaction.timeout.ms").is_none() {
                    c.set("transaction.timeout.ms", TRANSACTION_TIMEOUT.as_millis().to_string());
                }
            }
            let deliveries = Arc::new(Mutex::new(Deliveries::default()));
            let errors = ClientErrors::default();
            let producer: KafkaProducer = c
                .create_with_context(DeliveryContext(deliveries.clone(), errors.clone()))
                .map_err(|e| format!("cannot create a Kafka producer: {}", e))?;
            slots.push(Slot { producer, deliveries, errors });
        }
        let mut reader_config = cfg.clone();
        reader_config.set("isolation.level", "read_committed");
        reader_config.set("enable.partition.eof", "true");
        reader_config.set("enable.auto.commit", "false");
        // The client needs a group to assign partitions; nothing is committed to it.
        reader_config.set("group.id", "sluice-transaction-check");
        Ok(Producers { slots, current: 0, transactional_ids: ids, open: false, precommitted: None, reader_config })
    }

    /// Initialises the transactional producers: fences earlier runs of the same ids and settles
    /// what they left open. Nothing to do for at-least-once.
    pub fn init_transactions(&self) -> Result<(), String> {
        for (slot, id) in self.slots.iter().zip(&self.transactional_ids) {
            slot.producer
                .init_transactions(TRANSACTION_CALL_TIMEOUT)
                .map_err(|e| format!("cannot initialise the transactions of {}: {}", id, e))?;
        }
        Ok(())
    }

    /// Whether output is written in transactions.
    pub fn exactly_once(&self) -> bool {
        !self.transactional_ids.is_empty()
    }

    /// The producer taking output now.
    pub fn current(&self) -> &KafkaProducer {
        &self.slots[self.current].producer
    }

    /// The errors the current producer's client reported.
    pub fn errors(&self) -> &ClientErrors {
        &self.slots[self.current].errors
    }

    /// The delivery reports of the current producer.
    pub fn deliveries(&self) -> &Arc<Mutex<Deliveries>> {
        &self.slots[self.current].deliveries
    }

    /// Called before each message: begins the current producer's transaction if none is open.
    pub fn before_send(&mut self) -> Result<(), String> {
        if self.exactly_once() && !self.open {
            self.current().begin_transaction().map_err(|e| format!("cannot begin a transaction: {}", e))?;
            self.open = true;
        }
        Ok(())
    }

    /// After a flush acknowledged everything the current producer sent: its open transaction
    /// becomes the one the next checkpoint records and commits, and the other producer takes
    /// what follows. When a transaction is already waiting for its checkpoint, the open one
    /// stays open (a checkpoint always waits for the previous one first, so the flush of the
    /// next checkpoint pre-commits it).
    pub fn precommit(&mut self) {
        if !self.exactly_once() || !self.open || self.precommitted.is_some() {
            return;
        }
        let witness = self.deliveries().lock().ok().and_then(|mut d| d.take_witness());
        self.precommitted = Some(Precommitted { slot: self.current, witness });
        self.current = (self.current + 1) % self.slots.len();
        self.open = false;
    }

    /// The checkpoint recording the pre-committed transaction is durable: commits it.
    /// Asks the brokers in slices of a second, so that a wait shows: after each slice that timed
    /// out, `waiting` is told how long the commit has waited and answers whether to go on. Given
    /// up, the transaction stays for the next run to settle (its checkpoint's witness says
    /// whether it committed).
    pub fn commit(&mut self, mut waiting: impl FnMut(Duration) -> bool) -> Result<(), String> {
        let Some(p) = self.precommitted.take() else { return Ok(()) };
        let started = Instant::now();
        loop {
            match self.slots[p.slot].producer.commit_transaction(Duration::from_secs(1)) {
                Ok(()) => return Ok(()),
                Err(KafkaError::Transaction(e)) if e.is_retriable() && waiting(started.elapsed()) => {}
                Err(e) => {
                    return Err(format!("cannot commit the transaction of {}: {}", self.transactional_ids[p.slot], e))
                }
            }
        }
    }

    /// The pre-committed transaction, for the checkpoint: its id and witness (Null when there
    /// is none).
    pub fn snapshot(&self) -> Value {
        let Some(p) = &self.precommitted else { return Value::Null };
        let mut d = Document::new();
        d.insert(Str::from("transactionalId"), Value::str(&self.transactional_ids[p.slot]));
        if let Some(w) = &p.witness {
            d.insert(Str::from("topic"), Value::str(&w.topic));
            d.insert(Str::from("partition"), Value::Int32(w.partition));
            d.insert(Str::from("offset"), Value::Int64(w.offset));
        }
        Value::Document(d)
    }

    /// Whether the transaction a checkpoint recorded (its [`Producers::snapshot`]) committed:
    /// `Err(reason)` names it when it did not. Call after [`Producers::init_transactions`], which
    /// settles it. A checkpoint without a transaction, or one whose transaction wrote nothing,
    /// has nothing to lose.
    pub fn check_committed(&self, state: &Value) -> Result<Result<(), String>, String> {
        let Some(d) = state.as_document() else { return Ok(Ok(())) };
        let (Some(topic), Some(partition), Some(offset)) = (
            d.get("topic").and_then(Value::as_str),
            d.get("partition").and_then(Value::as_exact_i64),
            d.get("offset").and_then(Value::as_exact_i64),
        ) else {
            return Ok(Ok(()));
        };
        let id = d.get("transactionalId").and_then(Value::as_str).unwrap_or("?");
        let witness = Delivered { topic: topic.to_string(), partition: partition as i32, offset };
        if self.visible(&witness)? {
            Ok(Ok(()))
        } else {
            Ok(Err(format!(
                "transaction {} did not commit (its message at {} partition {} offset {} is not visible)",
                id, witness.topic, witness.partition, witness.offset
            )))
        }
    }

    /// Whether a `read_committed` reader sees the message `w`: it sees it when its transaction
    /// committed, and skips to the next committed one (or the end) when it aborted.
    fn visible(&self, w: &Delivered) -> Result<bool, String> {
        let failed = |e: KafkaError| format!("cannot read {} partition {}: {}", w.topic, w.partition, e);
        let reader: BaseConsumer = self.reader_config.create().map_err(failed)?;
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(&w.topic, w.partition, Offset::Offset(w.offset)).map_err(failed)?;
        reader.assign(&tpl).map_err(failed)?;
        let started = Instant::now();
        while started.elapsed() < TRANSACTION_CALL_TIMEOUT {
            match reader.poll(Duration::from_millis(100)) {
                Some(Ok(m)) => return Ok(m.offset() == w.offset),
                Some(Err(KafkaError::PartitionEOF(_))) => return Ok(false),
                Some(Err(e @ KafkaError::MessageConsumption(RDKafkaErrorCode::OffsetOutOfRange))) => {
                    return Err(failed(e))
                }
                Some(Err(_)) | None => {}
            }
        }
        Err(format!(
            "cannot tell whether the transaction holding {} partition {} offset {} committed: no answer within {} s",
            w.topic,
            w.partition,
            w.offset,
            TRANSACTION_CALL_TIMEOUT.as_secs()
        ))
    }
}
