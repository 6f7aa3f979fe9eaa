//! The reader threads of a Kafka `$source`: the partitions are dealt among up to `parallelism`
//! consumers, each on a thread of its own that fetches and decodes its partitions' messages and
//! hands them over in batches. The engine thread takes them in arrival order; a partition's own
//! messages keep their order, as one reader reads it. Offsets advance only for records handed to
//! the engine, so whatever sits in a channel when the source stops is read again from the
//! checkpoint.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TryRecvError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::{Offset, TopicPartitionList};
use sluice_engine::SourceRecord;

use super::record::{decode, Decoding};

/// Records a reader hands over at once (fewer when its partitions have no more for now).
const BATCH: usize = 512;
/// Batches a reader may have waiting for the engine before it waits too.
const QUEUED_BATCHES: usize = 4;
/// How long a reader with nothing to hand over waits for a message.
const IDLE_WAIT: Duration = Duration::from_millis(100);

/// What a reader hands over.
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

/// Running readers.
pub(crate) struct Readers {
    /// One consumer per reader; each reads the partitions dealt to it.
    consumers: Vec<Arc<BaseConsumer>>,
    /// Watermark index → the reader that reads it.
    reader_of: Vec<usize>,
    rx: Option<Receiver<Vec<Read>>>,
    /// The rest of the batch being handed out (taken in place, not copied).
    pending: std::vec::IntoIter<Read>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl Readers {
    /// Starts `readers` consumers made from `config` (at least one), dealing `starts` among them.
    pub(crate) fn start(
        config: &ClientConfig,
        starts: Vec<Start>,
        readers: usize,
        decoding: Decoding,
        thread_name: &str,
    ) -> Result<Readers, String> {
        let readers = readers.clamp(1, starts.len().max(1));
        let mut dealt: Vec<Vec<Start>> = (0..readers).map(|_| Vec::new()).collect();
        let mut reader_of = vec![0; starts.len()];
        for (i, s) in starts.into_iter().enumerate() {
            reader_of[s.part as usize] = i % readers;
            dealt[i % readers].push(s);
        }
        let (tx, rx) = sync_channel(QUEUED_BATCHES * readers);
        let stop = Arc::new(AtomicBool::new(false));
        let mut consumers = Vec::with_capacity(readers);
        let mut threads = Vec::with_capacity(readers);
        for (r, parts) in dealt.into_iter().enumerate() {
            let consumer: BaseConsumer =
                config.create().map_err(|e| format!("cannot create a Kafka consumer: {}", e))?;
            let mut tpl = TopicPartitionList::with_capacity(parts.len());
            for p in &parts {
                let offset = p.offset.map_or(Offset::Stored, Offset::Offset);
                tpl.add_partition_offset(&p.topic, p.partition, offset)
                    .map_err(|e| format!("cannot assign partition {}: {}", p.partition, e))?;
            }
            consumer.assign(&tpl).map_err(|e| format!("cannot assign partitions: {}", e))?;
            let consumer = Arc::new(consumer);
            consumers.push(consumer.clone());
            let lookup: Vec<(String, i32, u32)> = parts.into_iter().map(|p| (p.topic, p.partition, p.part)).collect();
            let (tx, stop) = (tx.clone(), stop.clone());
            let thread = std::thread::Builder::new()
                .name(format!("{}-{}", thread_name, r))
                .spawn(move || read(&consumer, &lookup, decoding, &tx, &stop))
                .map_err(|e| format!("cannot start a Kafka reader: {}", e))?;
            threads.push(thread);
        }
        Ok(Readers { consumers, reader_of, rx: Some(rx), pending: Vec::new().into_iter(), stop, threads })
    }

    /// The next read, if one is waiting; an error when every reader has stopped.
    pub(crate) fn next(&mut self) -> Result<Option<Read>, String> {
        if let Some(read) = self.pending.next() {
            return Ok(Some(read));
        }
        let Some(rx) = &self.rx else { return Ok(None) };
        match rx.try_recv() {
            Ok(batch) => {
                self.pending = batch.into_iter();
                Ok(self.pending.next())
            }
            Err(TryRecvError::Empty) => Ok(None),
            Err(TryRecvError::Disconnected) => Err("the Kafka reader threads stopped".into()),
        }
    }

    /// The consumer that reads partition `part`.
    pub(crate) fn consumer_of(&self, part: u32) -> Option<&BaseConsumer> {
        self.reader_of.get(part as usize).map(|r| &*self.consumers[*r])
    }

    /// How many readers run.
    pub(crate) fn count(&self) -> usize {
        self.consumers.len()
    }
}

impl Drop for Readers {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // A reader waiting to hand a batch over wakes up when the channel closes.
        self.rx = None;
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// One reader: polls its consumer, decodes, and hands batches over until told to stop or the
/// source is gone.
fn read(
    consumer: &BaseConsumer,
    parts: &[(String, i32, u32)],
    decoding: Decoding,
    tx: &SyncSender<Vec<Read>>,
    stop: &AtomicBool,
) {
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
        if full && tx.send(std::mem::replace(&mut batch, Vec::with_capacity(BATCH))).is_err() {
            return;
        }
    }
}
