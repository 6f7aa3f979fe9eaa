//! `$source` on Kafka: reads every partition of the topics, keeps each partition's next offset
//! in checkpoints, and commits them to the consumer group once a checkpoint is durable.
//!
//! Partitions are assigned directly (no group membership): the processor owns its topics'
//! partitions, so it starts at once and never rebalances. Where to start a partition: its
//! checkpointed offset, else the group's committed offset, else `auto_offset_reset`. They are
//! read in parallel by up to the tier's parallelism of reader threads (`readers.rs`). Metadata
//! and watermarks are asked of the client all sources of the cluster share (`shared_client.rs`);
//! one more consumer, never assigned and made when first needed, reads and commits the group's
//! offsets.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::{Offset, TopicPartitionList};
use sluice_engine::{PartitionOffsets, ResetTo, Source, SourceError, SourceRecord, SourceStatus};
use sluice_mql::Value;

use super::cached_watermarks::cached_high_watermark;
use super::client_errors::{drain, metadata_unless_refused, ErrorsContext};
use super::readers::{Next, Read, Readers, Start};
use super::record::Decoding;
use super::shared_client::{shared_client, SharedClient};
use crate::outage::Outage;

use super::{KafkaConnection, KafkaPosition, KafkaSourceOptions, OffsetReset, PartitionOffset, OPEN_TIMEOUT};

/// How often to ask an unreachable cluster whether it is back.
const PROBE_EVERY: Duration = Duration::from_secs(2);
/// How often a running source asks whether its topics have new partitions (and so whether its
/// brokers answer).
const DISCOVER_EVERY: Duration = Duration::from_secs(10);
/// How [`partitions_of`] says the brokers did not answer.
const METADATA_UNREADABLE: &str = "cannot read metadata";
/// How long the brokers may stay unreachable before the processor fails.
pub const UNREACHABLE_LIMIT: Duration = Duration::from_secs(60);

/// One assigned partition.
#[derive(Debug, Clone)]
struct Assigned {
    topic: usize,
    partition: i32,
    /// The next offset to read, once known (from a checkpoint or a message read).
    next: Option<i64>,
}

/// A Kafka `$source`.
pub struct KafkaSource {
    name: String,
    bootstrap_servers: String,
    /// The configuration the readers' consumers are made from.
    config: ClientConfig,
    /// Metadata and watermarks: the client shared by every source of this cluster and settings.
    metadata: Arc<SharedClient>,
    /// The group's committed offsets and commits (never assigned), made when first needed.
    group: Option<BaseConsumer<ErrorsContext>>,
    topics: Vec<String>,
    decoding: Decoding,
    commit_offsets: bool,
    /// `auto_offset_reset`: where a partition without a checkpointed or committed offset starts.
    offset_reset: OffsetReset,
    /// In watermark-index order: topics as listed, partitions by id.
    parts: Vec<Assigned>,
    /// topic index → partition id → index into `parts`.
    index: Vec<Vec<u32>>,
    /// Running once the first poll started them (after any seek).
    readers: Option<Readers>,
    /// How many reader threads the processor's tier allows.
    parallelism: u32,
    /// `:startWith {startAtOperationTime}`: start every partition at its first message at or
    /// after this time (ms since the epoch).
    start_time: Option<i64>,
    /// The brokers unreachable, reported on the run's health board.
    outage: Outage,
    last_probe: Option<Instant>,
    /// When the topics' partitions were last asked for.
    last_discovery: Instant,
}

impl KafkaSource {
    /// Connects and learns the topics' partitions. `default_group` is the consumer group used
    /// when the stage names none.
    pub fn open(conn: &KafkaConnection, opts: &KafkaSourceOptions, default_group: &str) -> Result<KafkaSource, String> {
        let base = conn.client_config()?;
        let metadata = shared_client(&base).map_err(|e| format!("connection {}: {}", conn.name, e))?;
        let mut cfg = base;
        cfg.set("group.id", opts.group_id.as_deref().unwrap_or(default_group));
        cfg.set("enable.auto.commit", "false");
        cfg.set("enable.auto.offset.store", "false");
        cfg.set(
            "auto.offset.reset",
            match opts.offset_reset {
                OffsetReset::Earliest => "earliest",
                OffsetReset::Latest => "latest",
            },
        );
        // A stream processor wants each message as soon as the broker has it; a broker may hold
        // a fetch for this long when it has nothing new (the connection's config may override).
        if cfg.get("fetch.wait.max.ms").is_none() {
            cfg.set("fetch.wait.max.ms", "50");
        }
        let mut parts = Vec::new();
        let mut index = Vec::new();
        for (t, topic) in opts.topics.iter().enumerate() {
            let ids = topic_partitions(&metadata, conn, topic)?;
            let mut by_id = vec![u32::MAX; ids.iter().max().map_or(0, |m| *m as usize + 1)];
            for id in ids {
                by_id[id as usize] = parts.len() as u32;
                parts.push(Assigned { topic: t, partition: id, next: None });
            }
            index.push(by_id);
        }
        Ok(KafkaSource {
            name: conn.name.clone(),
            bootstrap_servers: conn.bootstrap_servers.clone(),
            config: cfg,
            metadata,
            group: None,
            topics: opts.topics.clone(),
            decoding: Decoding { key_format: opts.key_format, key_error_to_dlq: opts.key_error_to_dlq },
            commit_offsets: opts.commit_offsets,
            offset_reset: opts.offset_reset,
            parts,
            index,
            readers: None,
            parallelism: 1,
            start_time: None,
            outage: Outage::new(&conn.name, UNREACHABLE_LIMIT),
            last_probe: None,
            last_discovery: Instant::now(),
        })
    }

    /// Readies what opening such a source needs, ahead of it: the cluster's shared client,
    /// connected, with the topics' partitions learnt. Sources of these settings opening while
    /// the returned client is held take both from it instead of waiting on the brokers.
    pub fn prepare(conn: &KafkaConnection, opts: &KafkaSourceOptions) -> Result<impl Send + 'static, String> {
        let metadata = shared_client(&conn.client_config()?).map_err(|e| format!("connection {}: {}", conn.name, e))?;
        for topic in &opts.topics {
            topic_partitions(&metadata, conn, topic)?;
        }
        Ok(metadata)
    }

    /// How long the brokers may stay unreachable before [`Source::poll`] fails (tests shorten it).
    pub fn with_unreachable_limit(mut self, limit: Duration) -> KafkaSource {
        self.outage.set_limit(limit);
        self
    }

    fn error(&self, message: impl Into<String>) -> SourceError {
        SourceError::external(&self.name, message)
    }

    /// Positions every partition at its first message at or after `ms` (the end of a partition
    /// with none).
    fn seek_to_time(&mut self, ms: i64) -> Result<(), SourceError> {
        let mut tpl = TopicPartitionList::with_capacity(self.parts.len());
        for p in &self.parts {
            tpl.add_partition_offset(&self.topics[p.topic], p.partition, Offset::Offset(ms))
                .map_err(|e| self.error(format!("cannot look up partition {}: {}", p.partition, e)))?;
        }
        let found = self
            .metadata
            .offsets_for_times(tpl, OPEN_TIMEOUT)
            .map_err(|e| self.error(format!("cannot find the offsets at startAtOperationTime: {}", e)))?;
        for e in found.elements() {
            let Some(i) = self.part_index(e.topic(), e.partition()) else { continue };
            let next = match e.offset() {
                Offset::Offset(o) => o,
                // No message at or after that time: start at the partition's end.
                _ => {
                    let (_, high) = self
                        .metadata
                        .fetch_watermarks(e.topic(), e.partition(), OPEN_TIMEOUT)
                        .map_err(|err| self.error(format!("cannot read partition {}'s end: {}", e.partition(), err)))?;
                    high
                }
            };
            self.parts[i as usize].next = Some(next);
        }
        Ok(())
    }

    /// Starts the readers, every partition at its start offset (done at the first poll, after
    /// any seek): as many as the tier allows, no more than the partitions or the machine's cores.
    fn start_readers(&mut self) -> Result<(), SourceError> {
        if let Some(ms) = self.start_time.take() {
            self.seek_to_time(ms)?;
        }
        self.pin_starts();
        let starts = self
            .parts
            .iter()
            .enumerate()
            .map(|(i, p)| Start {
                topic: self.topics[p.topic].clone(),
                partition: p.partition,
                part: i as u32,
                offset: p.next,
            })
            .collect();
        let readers = (self.parallelism as usize).min(cores());
        let started = Readers::start(&self.config, starts, readers, self.decoding, "sluice-kafka-reader")
            .map_err(|e| self.error(e))?;
        self.readers = Some(started);
        Ok(())
    }

    /// Asks the brokers now where each partition without an offset yet starts (the group's
    /// committed offset, else `auto_offset_reset`'s end) and keeps it as the partition's next
    /// offset. So the position holds every partition from the first poll on: a checkpoint taken
    /// before a partition delivered resumes where the source started, and messages written right
    /// after the start are read (left to librdkafka, `latest` is resolved at its first fetch,
    /// later, and is resolved anew after a restart, skipping what came in between). Best
    /// effort: when the brokers cannot say, the partitions are left to librdkafka as before.
    fn pin_starts(&mut self) {
        let unset: Vec<usize> = (0..self.parts.len()).filter(|i| self.parts[*i].next.is_none()).collect();
        if unset.is_empty() {
            return;
        }
        let mut tpl = TopicPartitionList::with_capacity(unset.len());
        for &i in &unset {
            tpl.add_partition(&self.topics[self.parts[i].topic], self.parts[i].partition);
        }
        let Some(group) = self.group_consumer() else { return };
        let Ok(committed) = group.committed_offsets(tpl, OPEN_TIMEOUT) else { return };
        for i in unset {
            let (topic, partition) = (&self.topics[self.parts[i].topic], self.parts[i].partition);
            let next = match committed.find_partition(topic, partition).map(|e| e.offset()) {
                Some(Offset::Offset(o)) if o >= 0 => Some(o),
                _ => match self.metadata.fetch_watermarks(topic, partition, OPEN_TIMEOUT) {
                    Ok((low, _)) if self.offset_reset == OffsetReset::Earliest => Some(low),
                    Ok((_, high)) => Some(high),
                    Err(_) => None,
                },
            };
            self.parts[i].next = next;
        }
    }

    /// The consumer of the group (made at first use): its committed offsets and commits.
    fn group_consumer(&mut self) -> Option<&BaseConsumer<ErrorsContext>> {
        if self.group.is_none() {
            self.group = self.config.create_with_context(ErrorsContext::default()).ok();
        }
        self.group.as_ref()
    }

    /// Whether this source and `other` are read by the same readers (they read the same
    /// partitions from the same offsets with the same settings).
    pub fn shares_readers_with(&self, other: &KafkaSource) -> bool {
        match (&self.readers, &other.readers) {
            (Some(a), Some(b)) => a.same_readers(b),
            _ => false,
        }
    }

    /// How many reader threads run (0 before the first poll).
    pub fn reader_count(&self) -> usize {
        self.readers.as_ref().map_or(0, Readers::count)
    }

    fn typed_position(&self) -> KafkaPosition {
        let partitions = self
            .parts
            .iter()
            .filter_map(|p| {
                Some(PartitionOffset { topic: self.topics[p.topic].clone(), partition: p.partition, offset: p.next? })
            })
            .collect();
        KafkaPosition { partitions }
    }

    fn part_index(&self, topic: &str, partition: i32) -> Option<u32> {
        let t = self.topics.iter().position(|x| x == topic)?;
        self.index[t].get(partition as usize).copied().filter(|i| *i != u32::MAX)
    }

    /// Partitions added to the topics since the source opened (Kafka's CreatePartitions): read
    /// from their first message, as all of it was written after the source started, and kept
    /// in checkpoints like the others. The readers start again with them at the next poll, each
    /// partition at its next offset. Brokers that cannot answer begin an outage, watched from
    /// then on by [`KafkaSource::check_reachable`]: librdkafka's consumers retry a lost broker
    /// without a word to their poll, so this is how a quiet source notices.
    fn discover_partitions(&mut self) {
        self.last_discovery = Instant::now();
        let mut added = 0;
        for t in 0..self.topics.len() {
            let ids = match partitions_of(&self.metadata, &self.topics[t], Duration::from_secs(1)) {
                Ok(ids) => ids,
                Err(e) if e.starts_with(METADATA_UNREADABLE) => {
                    self.outage.failed(&format!("Kafka brokers {} unreachable: {}", self.bootstrap_servers, e));
                    return;
                }
                Err(_) => continue,
            };
            for id in ids {
                if self.index[t].get(id as usize).is_some_and(|i| *i != u32::MAX) {
                    continue;
                }
                let low = self.metadata.fetch_watermarks(&self.topics[t], id, Duration::from_secs(1)).ok().map(|w| w.0);
                if self.index[t].len() <= id as usize {
                    self.index[t].resize(id as usize + 1, u32::MAX);
                }
                self.index[t][id as usize] = self.parts.len() as u32;
                self.parts.push(Assigned { topic: t, partition: id, next: low.or(Some(0)) });
                added += 1;
            }
        }
        if added > 0 {
            self.readers = None;
        }
    }

    /// A consumption error: transport trouble starts (or continues) the unreachable clock;
    /// anything fatal fails the processor.
    fn on_error(&mut self, e: KafkaError) -> Result<(), SourceError> {
        match e {
            KafkaError::PartitionEOF(_) => Ok(()),
            KafkaError::MessageConsumptionFatal(code) => Err(self.error(format!("fatal Kafka error: {}", code))),
            KafkaError::MessageConsumption(
                RDKafkaErrorCode::AllBrokersDown | RDKafkaErrorCode::BrokerTransportFailure,
            ) => {
                self.outage.failed(&format!("Kafka brokers {} unreachable: {}", self.bootstrap_servers, e));
                Ok(())
            }
            KafkaError::MessageConsumption(RDKafkaErrorCode::UnknownTopicOrPartition) => {
                Err(SourceError::user(&self.name, "a topic or partition of this source no longer exists"))
            }
            // Anything else librdkafka retries on its own.
            _ => Ok(()),
        }
    }

    /// While the brokers are unreachable: ask now and then whether they are back; past the
    /// limit, fail naming the connection.
    fn check_reachable(&mut self) -> Result<(), SourceError> {
        let Some(lasted) = self.outage.elapsed() else { return Ok(()) };
        if self.last_probe.is_some_and(|t| t.elapsed() < PROBE_EVERY) {
            return Ok(());
        }
        self.last_probe = Some(Instant::now());
        match partitions_of(&self.metadata, &self.topics[0], Duration::from_secs(1)) {
            Ok(_) => {
                self.outage.ok();
                return Ok(());
            }
            Err(e) => self.outage.failed(&format!("Kafka brokers {} unreachable: {}", self.bootstrap_servers, e)),
        }
        if self.outage.exhausted() {
            return Err(self.error(format!(
                "Kafka brokers {} unreachable for {} s",
                self.bootstrap_servers,
                lasted.as_secs()
            )));
        }
        Ok(())
    }
}

/// The machine's cores, as the process may use them (asked once: it reads the cgroup's files).
fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// The partition ids of `topic` as the shared client knows them (asked now unless just learnt),
/// or why they cannot be known, naming the connection.
fn topic_partitions(metadata: &SharedClient, conn: &KafkaConnection, topic: &str) -> Result<Vec<i32>, String> {
    metadata.partitions(topic, |c| partitions_of(c, topic, OPEN_TIMEOUT)).map_err(|e| {
        drain(metadata);
        metadata.context().0.explain(format!("connection {}: topic {}: {}", conn.name, topic, e))
    })
}

/// The partition ids of `topic`, or why they cannot be known.
fn partitions_of(consumer: &BaseConsumer<ErrorsContext>, topic: &str, timeout: Duration) -> Result<Vec<i32>, String> {
    let md = metadata_unless_refused(consumer.client(), Some(topic), timeout, &consumer.context().0, &|| {
        drain(consumer);
    })
    .map_err(|e| format!("{}: {}", METADATA_UNREADABLE, e))?;
    let t = md.topics().iter().find(|t| t.name() == topic).ok_or("the broker returned no metadata for it")?;
    if let Some(err) = t.error() {
        return Err(format!("{:?}", RDKafkaErrorCode::from(err)));
    }
    let mut ids: Vec<i32> = t.partitions().iter().map(|p| p.id()).collect();
    if ids.is_empty() {
        return Err("it does not exist or has no partitions".into());
    }
    ids.sort_unstable();
    Ok(ids)
}

impl Source for KafkaSource {
    fn name(&self) -> &str {
        &self.name
    }

    fn poll(&mut self, max: usize, out: &mut Vec<SourceRecord>) -> Result<SourceStatus, SourceError> {
        if self.readers.is_some() && self.outage.elapsed().is_none() && self.last_discovery.elapsed() >= DISCOVER_EVERY
        {
            self.discover_partitions();
        }
        if self.readers.is_none() {
            self.start_readers()?;
        }
        let mut n = 0;
        while n < max {
            let next = match self.readers.as_mut() {
                Some(r) => r.next(),
                None => Ok(Next::Empty),
            };
            match next.map_err(|e| self.error(e))? {
                Next::Empty => break,
                // Left behind by readers it shared: its own start at its next offsets.
                Next::Detached => {
                    self.readers = None;
                    break;
                }
                Next::Read(Read::Error(e)) => self.on_error(e)?,
                Next::Read(Read::Record { part, offset, record }) => {
                    self.outage.ok();
                    self.parts[part as usize].next = Some(offset + 1);
                    out.push(record);
                    n += 1;
                }
            }
        }
        if n == 0 {
            self.check_reachable()?;
            return Ok(SourceStatus::Idle);
        }
        Ok(SourceStatus::Ready)
    }

    fn partitions(&self) -> u32 {
        self.parts.len() as u32
    }

    fn attach_health(&mut self, health: &sluice_engine::Health) {
        self.outage.attach(health);
    }

    /// The next offset of each partition, and its end as the last fetch response reported it
    /// (librdkafka's cached watermark: no request to the broker).
    fn partition_offsets(&self) -> Vec<PartitionOffsets> {
        self.parts
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let topic = &self.topics[p.topic];
                let reader = self.readers.as_ref().and_then(|r| r.consumer_of(i as u32));
                PartitionOffsets {
                    topic: topic.clone(),
                    partition: p.partition,
                    current: p.next,
                    end: reader.and_then(|c| cached_high_watermark(c, topic, p.partition)),
                    idle: false,
                }
            })
            .collect()
    }

    /// `{partitions: [{topic, partition, offset}]}`, `offset` being the next one to read.
    fn position(&self) -> Value {
        self.typed_position().to_value()
    }

    fn seek(&mut self, position: &Value) -> Result<(), SourceError> {
        // Readers already running restart from the new offsets at the next poll.
        self.readers = None;
        let position = KafkaPosition::from_value(position).map_err(|e| self.error(format!("checkpointed {}", e)))?;
        for p in position.partitions {
            // A topic no longer read, or a partition gone: nothing to resume there.
            if let Some(i) = self.part_index(&p.topic, p.partition) {
                self.parts[i as usize].next = Some(p.offset);
            }
        }
        Ok(())
    }

    /// Earliest and latest are each partition's low and high watermarks, asked of the broker; a
    /// time is each partition's first message at or after it; explicit offsets name partitions
    /// of the source's topics.
    fn reset_position(&mut self, to: &ResetTo) -> Result<Value, SourceError> {
        self.readers = None;
        match to {
            ResetTo::Earliest | ResetTo::Latest => {
                for i in 0..self.parts.len() {
                    let (topic, partition) = (self.topics[self.parts[i].topic].clone(), self.parts[i].partition);
                    let (low, high) = self.metadata.fetch_watermarks(&topic, partition, OPEN_TIMEOUT).map_err(|e| {
                        self.error(format!("cannot read the offsets of {}/{}: {}", topic, partition, e))
                    })?;
                    self.parts[i].next = Some(if *to == ResetTo::Earliest { low } else { high });
                }
            }
            ResetTo::Time(ms) => self.seek_to_time(*ms)?,
            ResetTo::Offsets(items) => {
                for p in PartitionOffset::list_from_value(items).map_err(|e| self.error(e))? {
                    let (topic, partition, offset) = (p.topic, p.partition, p.offset);
                    let i = self.part_index(&topic, partition).ok_or_else(|| {
                        self.error(format!("{}/{} is not a partition this source reads", topic, partition))
                    })?;
                    if offset < 0 {
                        return Err(self.error(format!("offset {} of {}/{} is negative", offset, topic, partition)));
                    }
                    self.parts[i as usize].next = Some(offset);
                }
            }
        }
        Ok(self.position())
    }

    /// `:startWith {startAtOperationTime}` mapped to message timestamps.
    fn start_at(&mut self, time_ms: i64) -> Result<(), SourceError> {
        self.readers = None;
        self.start_time = Some(time_ms);
        Ok(())
    }

    fn allow_parallelism(&mut self, readers: u32) {
        self.parallelism = readers.max(1);
    }

    fn on_checkpoint_saved(&mut self, position: &Value) {
        if !self.commit_offsets {
            return;
        }
        let Ok(position) = KafkaPosition::from_value(position) else { return };
        let mut tpl = TopicPartitionList::new();
        for p in &position.partitions {
            let _ = tpl.add_partition_offset(&p.topic, p.partition, Offset::Offset(p.offset));
        }
        if tpl.count() > 0 {
            // Asynchronous and best effort: the checkpoint, not the group, is the truth; a commit
            // that fails only delays what external tools see.
            if let Some(group) = self.group_consumer() {
                let _ = group.commit(&tpl, CommitMode::Async);
            }
        }
    }
}
