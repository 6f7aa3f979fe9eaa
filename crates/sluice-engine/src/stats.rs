//! The processor-level figures of a run ([`ExecutorStats`]), and the counters a checkpoint
//! keeps of them so stats go on after a restart.

use sluice_mql::{Document, Str, Value};
use sluice_types::EventTime;

use crate::{Latency, OperatorStats, PartitionOffsets};

/// Processor-level counters, as the stats API reports them.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ExecutorStats {
    /// Records read from the source.
    pub input_messages: u64,
    /// Bytes read from the source.
    pub input_bytes: u64,
    /// Documents written to the sink.
    pub output_messages: u64,
    /// Approximate bytes written to the sink.
    pub output_bytes: u64,
    /// Documents written to the DLQ.
    pub dlq_messages: u64,
    /// Approximate bytes written to the DLQ.
    pub dlq_bytes: u64,
    /// The source watermark (max event time seen).
    pub watermark: Option<EventTime>,
    /// Per-operator counters, in pipeline order.
    pub operators: Vec<OperatorStats>,
    /// Per source partition: offsets, lag and idleness (Kafka).
    pub partitions: Vec<PartitionOffsets>,
    /// Time spent reading the source, in nanoseconds (this run).
    pub source_read_nanos: u64,
    /// Time spent writing and flushing the sink, in nanoseconds (this run): a slow sink holds
    /// the engine here, and the source is read no faster than the sink takes its output.
    pub sink_write_nanos: u64,
    /// From a batch's read to its output written, over the last batches with output.
    pub latency: Option<Latency>,
}

const COUNTERS: [&str; 6] = ["inputMessages", "inputBytes", "outputMessages", "outputBytes", "dlqMessages", "dlqBytes"];

fn counter_fields(s: &mut ExecutorStats) -> [&mut u64; 6] {
    [
        &mut s.input_messages,
        &mut s.input_bytes,
        &mut s.output_messages,
        &mut s.output_bytes,
        &mut s.dlq_messages,
        &mut s.dlq_bytes,
    ]
}

/// The processor-level counters, kept in checkpoints so stats survive a restart.
pub(crate) fn counters_value(stats: &ExecutorStats) -> Value {
    let mut s = stats.clone();
    COUNTERS
        .iter()
        .zip(counter_fields(&mut s))
        .map(|(k, v)| (Str::from(*k), Value::Int64(*v as i64)))
        .collect::<Document>()
        .into()
}

/// The processor-level counters a checkpoint's state holds ([`Executor::snapshot`]), read without
/// restoring anything: the stats of a processor that is not running.
pub fn saved_counters(state: &Value) -> ExecutorStats {
    let mut s = ExecutorStats::default();
    if let Some(c) = state.as_document().and_then(|d| d.get("counters")) {
        restore_counters(&mut s, c);
    }
    if let Some(w) = state.as_document().and_then(|d| d.get("maxSeen")).and_then(Value::as_exact_i64) {
        s.watermark = (w != i64::MIN).then_some(w);
    }
    s
}

pub(crate) fn restore_counters(stats: &mut ExecutorStats, v: &Value) {
    let Some(d) = v.as_document() else { return };
    for (k, field) in COUNTERS.iter().zip(counter_fields(stats)) {
        if let Some(n) = d.get(k).and_then(Value::as_exact_i64) {
            *field = n.max(0) as u64;
        }
    }
}
