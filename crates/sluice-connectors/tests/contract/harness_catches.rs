//! The harness fails broken connectors: a source or sink with one fault each goes through the
//! contract, which must fail with the check that catches it. Without these, a check that can
//! never fail would pass every connector.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};

use sluice_engine::{Sink, SinkError, SinkReject, Source, SourceError, SourceRecord, SourceStatus};
use sluice_mql::{Document, Value};

use crate::read::{Extent, Order};
use crate::sink_checks::{sink_contract, SinkUnderTest};
use crate::source_checks::{source_contract, SourceUnderTest};

/// What is wrong with a [`ListSource`].
#[derive(Clone, Copy, PartialEq)]
enum SourceFault {
    /// `seek` lands one record further than asked (loses one).
    SeekSkips,
    /// `position` is one record behind (a restart repeats one).
    PositionLags,
    /// After `End`, a poll starts over.
    EndsThenRestarts,
    /// Returns more records than asked for.
    OverfillsPolls,
    /// `on_checkpoint_saved` skips a record each time.
    SavedSkips,
}

/// Ten documents `{n}` in order, bounded, with one fault.
struct ListSource {
    next: usize,
    fault: SourceFault,
}

const LEN: usize = 10;

fn doc(n: usize) -> Document {
    let mut d = Document::new();
    d.insert("n", Value::Int64(n as i64));
    d
}

impl Source for ListSource {
    fn name(&self) -> &str {
        "faulty"
    }

    fn poll(&mut self, max: usize, out: &mut Vec<SourceRecord>) -> Result<SourceStatus, SourceError> {
        if self.next >= LEN && self.fault == SourceFault::EndsThenRestarts {
            self.next = 0;
            out.push(SourceRecord::Doc(doc(0), 1));
            return Ok(SourceStatus::Ready);
        }
        let take = if self.fault == SourceFault::OverfillsPolls { max + 1 } else { max };
        let end = (self.next + take).min(LEN);
        out.extend((self.next..end).map(|n| SourceRecord::Doc(doc(n), 1)));
        self.next = end;
        Ok(if self.next >= LEN { SourceStatus::End } else { SourceStatus::Ready })
    }

    fn position(&self) -> Value {
        let lag = usize::from(self.fault == SourceFault::PositionLags && self.next > 0);
        Value::Int64((self.next - lag) as i64)
    }

    fn seek(&mut self, position: &Value) -> Result<(), SourceError> {
        let n = position.as_exact_i64().unwrap_or(0) as usize;
        self.next = (n + usize::from(self.fault == SourceFault::SeekSkips)).min(LEN);
        Ok(())
    }

    fn on_checkpoint_saved(&mut self, _: &Value) {
        if self.fault == SourceFault::SavedSkips {
            self.next = (self.next + 1).min(LEN);
        }
    }
}

/// The panic message of `f`, which must panic.
fn failure(f: impl FnOnce()) -> String {
    let payload = catch_unwind(AssertUnwindSafe(f)).expect_err("the contract passed a broken connector");
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

fn source_failure(fault: SourceFault, extent: Extent) -> String {
    let open = || -> Box<dyn Source> { Box::new(ListSource { next: 0, fault }) };
    failure(|| {
        source_contract(&SourceUnderTest {
            name: "faulty",
            open: &open,
            records: LEN,
            extent,
            order: Order::Total,
            idle: &|| {},
            identity: |r| r.clone(),
            saved: &|_| {},
            feed: None,
        })
    })
}

#[test]
fn source_faults_are_caught() {
    // Each fault, the check that must catch it, and what it says.
    for (fault, extent, check, says) in [
        (
            SourceFault::SeekSkips,
            Extent::Bounded,
            "seek(position()) round-trips (position after 0 records)",
            "right after seek(position) is that position",
        ),
        (
            SourceFault::PositionLags,
            Extent::Bounded,
            "seek(position()) round-trips (position after 1 records)",
            "differ",
        ),
        (SourceFault::EndsThenRestarts, Extent::Bounded, "the input read in one go", "end of input is final"),
        (SourceFault::OverfillsPolls, Extent::Bounded, "the input read in one go", "asked for 3 records, got 4"),
        (SourceFault::SavedSkips, Extent::Bounded, "on_checkpoint_saved twice is harmless", "input ended"),
        // A bounded source declared unbounded: its End is refused.
        (SourceFault::SavedSkips, Extent::Unbounded, "the input read in one go", "an unbounded source returned End"),
    ] {
        let message = source_failure(fault, extent);
        let check = format!("fails the check \"{}\"", check);
        assert!(
            message.contains(&check) && message.contains(says),
            "expected {} saying {:?}, got {:?}",
            check,
            says,
            message
        );
    }
}

/// What is wrong with a [`ListSink`].
#[derive(Clone, Copy, PartialEq)]
enum SinkFault {
    /// Writes reach the system only when the sink is dropped; `flush` does nothing.
    FlushDoesNothing,
    /// `on_checkpoint_saved` writes the last batch again.
    SavedRewrites,
    /// Drops the documents it should refuse without saying so.
    HidesRefusals,
    /// Refuses a whole batch with one bad document in it.
    RefusesWholeBatch,
    /// Refuses without a reason.
    NoReason,
}

/// A sink into a shared list that refuses documents with a `bad` field, with one fault.
struct ListSink {
    held: Arc<Mutex<Vec<Document>>>,
    pending: Vec<Document>,
    last: Vec<Document>,
    rejected: Vec<SinkReject>,
    fault: SinkFault,
}

impl Sink for ListSink {
    fn name(&self) -> &str {
        "faulty"
    }

    fn write(&mut self, docs: &[Document]) -> Result<(), SinkError> {
        let bad = |d: &Document| d.contains_key("bad");
        let any_bad = docs.iter().any(bad);
        self.last.clear();
        for d in docs {
            if bad(d) || (any_bad && self.fault == SinkFault::RefusesWholeBatch) {
                if self.fault != SinkFault::HidesRefusals {
                    let reason = if self.fault == SinkFault::NoReason { "" } else { "bad" };
                    self.rejected.push(SinkReject { doc: d.clone(), reason: reason.into() });
                }
                continue;
            }
            self.last.push(d.clone());
            self.pending.push(d.clone());
        }
        if self.fault != SinkFault::FlushDoesNothing {
            self.held.lock().unwrap().append(&mut self.pending);
        }
        Ok(())
    }

    fn take_rejected(&mut self) -> Vec<SinkReject> {
        std::mem::take(&mut self.rejected)
    }

    fn on_checkpoint_saved(&mut self) -> Result<(), SinkError> {
        if self.fault == SinkFault::SavedRewrites {
            self.held.lock().unwrap().extend(self.last.iter().cloned());
        }
        Ok(())
    }
}

impl Drop for ListSink {
    fn drop(&mut self) {
        self.held.lock().unwrap().append(&mut self.pending);
    }
}

#[test]
fn sink_faults_are_caught() {
    for (fault, says) in [
        (SinkFault::FlushDoesNothing, "after the first batch and a flush"),
        (SinkFault::SavedRewrites, "after the checkpoint-saved hook twice"),
        (SinkFault::HidesRefusals, "refused documents (left: taken back"),
        (SinkFault::RefusesWholeBatch, "refused documents (left: taken back"),
        (SinkFault::NoReason, "refused without a reason"),
    ] {
        let held = Arc::new(Mutex::new(Vec::new()));
        let open = || -> Box<dyn Sink> {
            let (pending, last, rejected) = (Vec::new(), Vec::new(), Vec::new());
            Box::new(ListSink { held: held.clone(), pending, last, rejected, fault })
        };
        let read_back = |_| held.lock().unwrap().clone();
        let mut bad = doc(99);
        bad.insert("bad", Value::Bool(true));
        let message = failure(|| {
            sink_contract(&SinkUnderTest {
                name: "faulty",
                open: &open,
                read_back: &read_back,
                ordered: true,
                keeps_field_order: true,
                good: (0..9).map(doc).collect(),
                refused: vec![bad],
            })
        });
        assert!(message.contains(says), "expected a failure saying {:?}, got {:?}", says, message);
    }
}
