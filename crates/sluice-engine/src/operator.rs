//! The operator interface every stage implements.

use sluice_mql::expr::Scope;
use sluice_mql::Value;
use sluice_types::EventTime;

use crate::{DlqRecord, Event};

/// What an operator may use and report while processing: the expression scope (with `$$NOW`)
/// and the dead-letter queue.
#[derive(Debug, Default)]
pub struct OpContext {
    /// Scope for expression evaluation.
    pub scope: Scope,
    /// Records for the dead-letter queue, drained by the executor after each batch.
    pub dlq: Vec<DlqRecord>,
    /// Set by an operator that must stop the processor (`onError: fail`): the reason.
    pub failure: Option<String>,
    /// The most state, in bytes, a stateful operator may hold (the processor's limit); one
    /// that would hold more stops the processor through [`OpContext::check_state`]. None: no
    /// limit.
    pub state_budget_bytes: Option<u64>,
    /// Where the budget comes from, for the failure's message (`the option maxStateBytes`).
    pub state_budget_source: String,
}

impl OpContext {
    /// Stops the processor when `held` bytes of state of `operator` exceed the budget: it fails
    /// with the reason, and the server and its other processors go on.
    pub fn check_state(&mut self, operator: &str, held: usize) {
        if let Some(limit) = self.state_budget_bytes {
            if held as u64 > limit && self.failure.is_none() {
                let source = if self.state_budget_source.is_empty() {
                    "the processor"
                } else {
                    self.state_budget_source.as_str()
                };
                self.failure = Some(format!(
                    "{}: state of at least {} bytes exceeds the limit of {} bytes of {}: run the processor \
                     on a larger tier or keep less state (shorter windows, fewer keys, a larger hopSize)",
                    operator, held, limit, source
                ));
            }
        }
    }

    /// Sends an event to the DLQ.
    pub fn dead_letter(&mut self, operator: &str, reason: impl Into<String>, ev: &Event) {
        self.dlq.push(DlqRecord {
            operator_name: operator.to_string(),
            reason: reason.into(),
            doc: Some(ev.doc.clone()),
            raw: None,
            meta: ev.meta.as_deref().cloned(),
        });
    }
}

/// Counters of one operator, as the stats API reports them.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct OperatorStats {
    /// The stage name.
    pub name: String,
    /// Events received.
    pub input_messages: u64,
    /// Events emitted.
    pub output_messages: u64,
    /// Events sent to the DLQ.
    pub dlq_messages: u64,
    /// Approximate bytes of state held.
    pub state_size_bytes: u64,
    /// The operator's watermark (windows), if it keeps one.
    pub watermark: Option<EventTime>,
}

/// A pipeline stage at run time.
pub trait Operator: Send {
    /// The stage name, e.g. `$match`.
    fn name(&self) -> &str;

    /// Processes a batch; output events are appended to `out`.
    fn process(&mut self, batch: Vec<Event>, out: &mut Vec<Event>, ctx: &mut OpContext);

    /// The source watermark advanced to `watermark` (or, at the end of a bounded input, to
    /// `i64::MAX`): emit whatever that completes.
    fn on_watermark(&mut self, _watermark: EventTime, _out: &mut Vec<Event>, _ctx: &mut OpContext) {}

    /// Approximate bytes of state held.
    fn state_size(&self) -> usize {
        0
    }

    /// The operator's own watermark, if it keeps one.
    fn watermark(&self) -> Option<EventTime> {
        None
    }

    /// Whether the operator keeps state across batches (windows). Only stateful operators are
    /// written to checkpoints, so adding or removing a stateless stage keeps a checkpoint usable.
    fn stateful(&self) -> bool {
        false
    }

    /// The operator's state as a value, for checkpoints (`Null` for stateless operators).
    fn snapshot(&self) -> Value {
        Value::Null
    }

    /// Writes the field `key` holding [`Operator::snapshot`]'s value to a BSON document being
    /// built in `out`. Operators with large state write it piece by piece, so that a checkpoint
    /// never holds a second copy of the whole state as a value tree; the bytes are the same.
    fn write_snapshot(&self, out: &mut Vec<u8>, key: &str) -> Result<(), sluice_mql::bson::BsonError> {
        sluice_mql::bson::stream::field(out, key, &self.snapshot())
    }

    /// Restores state written by [`Operator::snapshot`].
    fn restore(&mut self, _state: &Value) -> Result<(), String> {
        Ok(())
    }

    /// Restores state written by [`Operator::write_snapshot`], read from a checkpoint's bytes.
    /// Operators with large state read it piece by piece, so that a restore never holds a
    /// second copy of the whole state as a value tree.
    fn restore_raw(&mut self, state: sluice_mql::bson::raw::RawField<'_>) -> Result<(), String> {
        self.restore(&state.to_value().map_err(|e| e.to_string())?)
    }
}
