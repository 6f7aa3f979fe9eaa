//! The reader threads of a Kafka `$source`: the partitions are dealt among up to `parallelism`
//! consumers, each on a thread of its own that fetches and decodes its partitions' messages and
//! hands them over in batches, to this source and to any other reading the same partitions from
//! the same offsets (`reader_hub.rs`). The engine thread takes them in arrival order; a
//! partition's own messages keep their order, as one reader reads it. Offsets advance only for
//! records handed to the engine, so whatever sits in a queue when the source stops is read again
//! from the checkpoint.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::TryRecvError;

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::{Offset, TopicPartitionList};
use sluice_engine::SourceRecord;

use super::reader_hub::{key_of, Hub, Shared, Subscription};
use super::record::{decode, Decoding};

/// Records a reader hands over at once (fewer when its partitions have no more for now).
const BATCH: usize = 512;
/// How long a reader with nothing to hand over waits for a message.
const IDLE_WAIT: Duration = Duration::from_millis(100);

/// What a reader hands over.
#[derive(Clone)]
pub(crate) enum Read {
    /// A message of partition `part` (the source's watermark index) at `offset`.
    Record { part: u32, offset: i64, record: SourceRecord },
    /// A consumption error, for the source to judge.
    Error(KafkaError),
}

/// A partition to read and where to start.
pub(crate) struct Start {
    pub topic: String,
    pub partition: i32,
    /// The source's watermark index of the partition.
    pub part: u32,
    /// The offset to start at; None: the group's committed offset, else `auto.offset.reset`.
    pub offset: Option<i64>,
}

/// What [`Readers::next`] found.
pub(crate) enum Next {
    /// A read.
    Read(Read),
    /// Nothing waiting now.
    Empty,
    /// The shared readers let this source go for falling behind the others: it has read all
    /// they handed it and starts readers of its own at its next offsets.
    Detached,
}

/// A source's readers: its place at a hub of readers, shared with the sources that read the
/// same partitions from the same offsets (`reader_hub.rs`), or its own.
pub(crate) struct Readers {
    place: Subscription,
    /// The rest of the batch being handed out (taken in place, not copied).
    pending: std::vec::IntoIter<Read>,
}

impl Readers {
    /// Joins a hub reading `starts` from the same offsets with the same settings, or starts
    /// one: `readers` consumers made from `config` (at least one), `starts` dealt among them.
    pub(crate) fn start(
        config: &ClientConfig,
        starts: Vec<Start>,
        readers: usize,
        decoding: Decoding,
        thread_name: &str,
    ) -> Result<Readers, String> {
        let readers = readers.clamp(1, starts.len().max(1));
        let offsets: Vec<Option<i64>> = starts.iter().map(|s| s.offset).collect();
        // A partition left to the group's committed offset starts where only librdkafka knows.
        let key = offsets.iter().all(Option::is_some).then(|| {
            let parts: Vec<(String, i32)> = starts.iter().map(|s| (s.topic.clone(), s.partition)).collect();
            key_of(config, decoding, readers, &parts)
        });
        if let Some(place) = key.as_deref().and_then(|k| Hub::join(k, &offsets)) {
            return Ok(Readers { place, pending: Vec::new().into_iter() });
        }
        let mut dealt: Vec<Vec<Start>> = (0..readers).map(|_| Vec::new()).collect();
        let mut reader_of = vec![0; starts.len()];
        for (i, s) in starts.into_iter().enumerate() {
            reader_of[s.part as usize] = i % readers;
            dealt[i % readers].push(s);
        }
        let mut consumers = Vec::with_capacity(readers);
        let mut assigned = Vec::with_capacity(readers);
        for parts in dealt {
            let consumer: BaseConsumer =
                config.create().map_err(|e| format!("cannot create a Kafka consumer: {}", e))?;
            let mut tpl = TopicPartitionList::with_capacity(parts.len());
            for p in &parts {
                let offset = p.offset.map_or(Offset::Stored, Offset::Offset);
                tpl.add_partition_offset(&p.topic, p.partition, offset)
                    .map_err(|e| format!("cannot assign partition {}: {}", p.partition, e))?;
            }
            consumer.assign(&tpl).map_err(|e| format!("cannot assign partitions: {}", e))?;
            consumers.push(Arc::new(consumer));
            assigned.push(parts);
        }
        let (hub, place) = Hub::new(key, consumers.clone(), reader_of, offsets);
        let mut threads = Vec::with_capacity(readers);
        for (r, (consumer, parts)) in consumers.into_iter().zip(assigned).enumerate() {
            let lookup: Vec<(String, i32, u32)> = parts.into_iter().map(|p| (p.topic, p.partition, p.part)).collect();
            let (shared, stop) = (hub.shared.clone(), hub.stop.clone());
            let thread = std::thread::Builder::new()
                .name(format!("{}-{}", thread_name, r))
                .spawn(move || read(&consumer, &lookup, decoding, &shared, &stop))
                .map_err(|e| format!("cannot start a Kafka reader: {}", e))?;
            threads.push(thread);
        }
        hub.keep_threads(threads);
        Ok(Readers { place, pending: Vec::new().into_iter() })
    }

    /// The next read, if one is waiting; an error when every reader has stopped.
    pub(crate) fn next(&mut self) -> Result<Next, String> {
        if let Some(read) = self.pending.next() {
            return Ok(Next::Read(read));
        }
        match self.place.rx.try_recv() {
            Ok(batch) => {
                self.pending = batch.into_iter();
                Ok(self.pending.next().map_or(Next::Empty, Next::Read))
            }
            Err(TryRecvError::Empty) => Ok(Next::Empty),
            Err(TryRecvError::Disconnected) if self.place.detached.load(Ordering::Relaxed) => Ok(Next::Detached),
            Err(TryRecvError::Disconnected) => Err("the Kafka reader threads stopped".into()),
        }
    }

    /// The consumer that reads partition `part`.
    pub(crate) fn consumer_of(&self, part: u32) -> Option<&BaseConsumer> {
        let hub = &self.place.hub;
        hub.reader_of.get(part as usize).map(|r| &*hub.consumers[*r])
    }

    /// Whether `other` is read by the same readers.
    pub(crate) fn same_readers(&self, other: &Readers) -> bool {
        Arc::ptr_eq(&self.place.hub, &other.place.hub)
    }

    /// How many readers run.
    pub(crate) fn count(&self) -> usize {
        self.place.hub.consumers.len()
    }
}

/// One reader: polls its consumer, decodes, and hands batches to the hub's sources until told
/// to stop or none is left.
fn read(consumer: &BaseConsumer, parts: &[(String, i32, u32)], decoding: Decoding, hub: &Shared, stop: &AtomicBool) {
    let mut batch = Vec::with_capacity(BATCH);
    while !stop.load(Ordering::Relaxed) {
        let wait = if batch.is_empty() { IDLE_WAIT } else { Duration::ZERO };
        let full = match consumer.poll(wait) {
            None => !batch.is_empty(),
            Some(Ok(m)) => {
                use rdkafka::message::Message;
                let found = parts.iter().find(|(t, p, _)| *p == m.partition() && t == m.topic());
                if let Some((_, _, part)) = found {
                    batch.push(Read::Record { part: *part, offset: m.offset(), record: decode(&m, *part, decoding) });
                }
                batch.len() >= BATCH
            }
            Some(Err(KafkaError::PartitionEOF(_))) => false,
            Some(Err(e)) => {
                batch.push(Read::Error(e));
                true
            }
        };
        if full && !hub.deliver(std::mem::replace(&mut batch, Vec::with_capacity(BATCH)), stop) {
            return;
        }
    }
}
