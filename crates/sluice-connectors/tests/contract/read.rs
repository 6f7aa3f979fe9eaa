//! Reading a source under test: polls with a deadline, every poll checked against the trait's
//! promises (no more than `max` records, nothing after `End`, no `End` from an unbounded source).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use sluice_engine::{Source, SourceRecord, SourceStatus};
use sluice_mql::Value;

/// How long a read may wait for records the input holds.
const DEADLINE: Duration = Duration::from_secs(30);
/// How long an unbounded source is watched to see that nothing more comes (a repeat would come
/// within a fetch or two).
const QUIET: Duration = Duration::from_millis(1500);

/// Whether a source ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extent {
    /// Ends after its input (documents, JSON lines): `End` comes, and stays.
    Bounded,
    /// Never ends; its input holds exactly the test's records (a Kafka topic, a change stream
    /// over a fixed set of writes): past them it finds nothing.
    Unbounded,
    /// Never ends and always has more (the sample stream): the test reads a number of records.
    Endless,
}

/// In what order a source gives its records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// One sequence.
    Total,
    /// One sequence per partition (Kafka); partitions interleave freely.
    PerPartition,
}

/// A source opened for a check, and what it has said so far.
pub struct Reading<'a> {
    /// The source.
    pub src: Box<dyn Source>,
    name: &'a str,
    extent: Extent,
    idle: &'a dyn Fn(),
    ended: bool,
}

impl<'a> Reading<'a> {
    /// Wraps a freshly opened source.
    pub fn new(src: Box<dyn Source>, name: &'a str, extent: Extent, idle: &'a dyn Fn()) -> Reading<'a> {
        Reading { src, name, extent, idle, ended: false }
    }

    /// One poll of up to `max` records, checked: no more than asked for, nothing after `End`,
    /// `End` only from a bounded source.
    pub fn poll(&mut self, max: usize) -> (Vec<SourceRecord>, SourceStatus) {
        let mut out = Vec::new();
        let status = self.src.poll(max, &mut out).unwrap_or_else(|e| panic!("{}: poll failed: {}", self.name, e));
        assert!(out.len() <= max, "{}: asked for {} records, got {}", self.name, max, out.len());
        if self.ended {
            assert_eq!(status, SourceStatus::End, "{}: end of input is final, then came {:?}", self.name, status);
            assert!(out.is_empty(), "{}: {} records after the end of input: {:?}", self.name, out.len(), out);
        }
        if status == SourceStatus::End {
            assert_eq!(self.extent, Extent::Bounded, "{}: an unbounded source returned End", self.name);
            self.ended = true;
        }
        (out, status)
    }

    /// The next non-empty batch of up to `max` records (empty only at the end of a bounded
    /// source's input); fails after the deadline.
    pub fn batch(&mut self, max: usize) -> Vec<SourceRecord> {
        let start = Instant::now();
        loop {
            let (out, status) = self.poll(max);
            if !out.is_empty() || status == SourceStatus::End {
                return out;
            }
            assert!(start.elapsed() < DEADLINE, "{}: no records within {:?}", self.name, DEADLINE);
            (self.idle)();
        }
    }

    /// Exactly `n` records, in polls of up to `per_poll`; fails if the input ends first.
    pub fn records(&mut self, n: usize, per_poll: usize) -> Vec<SourceRecord> {
        let mut got = Vec::with_capacity(n);
        while got.len() < n {
            let batch = self.batch(per_poll.min(n - got.len()));
            assert!(!batch.is_empty(), "{}: input ended after {} records, {} expected", self.name, got.len(), n);
            got.extend(batch);
        }
        got
    }

    /// Checks that the input is exhausted: a bounded source says `End` (at once or after
    /// nothing more) and keeps saying it; an unbounded one gives nothing more while watched.
    /// An endless source has no end to check.
    pub fn exhausted(&mut self) {
        match self.extent {
            Extent::Endless => {}
            Extent::Bounded => {
                let extra = self.batch(1);
                assert!(extra.is_empty(), "{}: more records than its input holds: {:?}", self.name, extra);
                for _ in 0..3 {
                    self.poll(10);
                }
            }
            Extent::Unbounded => {
                let start = Instant::now();
                while start.elapsed() < QUIET {
                    let (extra, _) = self.poll(10);
                    assert!(extra.is_empty(), "{}: more records than its input holds: {:?}", self.name, extra);
                    (self.idle)();
                }
            }
        }
    }
}

/// Runs one check of the contract; a failure is re-raised naming the connector and the check.
pub fn check(connector: &str, name: &str, f: impl FnOnce()) {
    if let Err(payload) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        let message = payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        panic!("{} fails the check \"{}\": {}", connector, name, message);
    }
}

/// The partition a record came from: its `_stream_meta.source` topic and partition when it has
/// them (a Kafka message, decoded or not), else its partition index, else one lane for all.
pub fn lane(r: &SourceRecord) -> String {
    let meta = match r {
        SourceRecord::FromPartition { meta, .. } => Some(&**meta),
        SourceRecord::Malformed { meta, .. } => meta.as_deref(),
        SourceRecord::Doc(..) => None,
    };
    let src = meta.and_then(|m| m.get("source")).and_then(Value::as_document);
    let topic = src.and_then(|s| s.get("topic")).and_then(Value::as_str);
    let part = src.and_then(|s| s.get("partition")).and_then(Value::as_exact_i64);
    match (topic, part, r) {
        (Some(t), Some(p), _) => format!("{}/{}", t, p),
        (_, _, SourceRecord::FromPartition { partition, .. }) => partition.to_string(),
        _ => String::new(),
    }
}

/// Records grouped by [`lane`], each lane in the order read.
pub fn by_lane(records: &[SourceRecord]) -> BTreeMap<String, Vec<SourceRecord>> {
    let mut lanes: BTreeMap<String, Vec<SourceRecord>> = BTreeMap::new();
    for r in records {
        lanes.entry(lane(r)).or_default().push(r.clone());
    }
    lanes
}

/// Asserts that two reads gave the same records in the same order (per partition for a
/// partitioned source), after `identity` (what makes a record the same one read again).
pub fn assert_same(
    what: &str,
    order: Order,
    identity: fn(&SourceRecord) -> SourceRecord,
    got: &[SourceRecord],
    want: &[SourceRecord],
) {
    let got: Vec<SourceRecord> = got.iter().map(identity).collect();
    let want: Vec<SourceRecord> = want.iter().map(identity).collect();
    match order {
        Order::Total => assert_eq!(got, want, "{}: records differ (left: read, right: expected)", what),
        Order::PerPartition => {
            assert_eq!(by_lane(&got), by_lane(&want), "{}: records differ (left: read, right: expected)", what)
        }
    }
}
