//! The contract every source passes, written once over `dyn Source`: positions round-trip, a
//! stop after any batch neither loses nor repeats records, end of input is final (and only a
//! bounded source ends), and the checkpoint-saved hook may be called twice.

use std::ops::Deref;

use sluice_engine::{Source, SourceRecord};
use sluice_mql::Value;

use crate::read::{assert_same, check, Extent, Order, Reading};

/// Records asked for per poll while reading in batches.
const BATCH: usize = 3;

/// A source connector under test, over an input the test has prepared.
pub struct SourceUnderTest<'a> {
    /// For messages.
    pub name: &'a str,
    /// Opens a fresh source over the prepared input, as a processor's start does (nothing shared
    /// with earlier sources but the external system).
    pub open: &'a dyn Fn() -> Box<dyn Source>,
    /// How many records the input holds (for an endless source: how many to read).
    pub records: usize,
    /// Whether the source ends.
    pub extent: Extent,
    /// The order the source keeps.
    pub order: Order,
    /// Called when a poll found nothing: advances a test clock, or waits briefly for a server.
    pub idle: &'a dyn Fn(),
    /// What makes a record the same one read again (the whole record, for most sources).
    pub identity: fn(&SourceRecord) -> SourceRecord,
    /// Checks what [`Source::on_checkpoint_saved`] told upstream, after two calls with this
    /// position (Kafka: the group's committed offsets are the position's).
    pub saved: &'a dyn Fn(&Value),
    /// For a source that reads only what is written after it starts (Kafka from `latest`, a
    /// change stream from now): writes the input. The contract then starts one source, takes
    /// its position before the input exists, writes the input, and every other source starts
    /// at that position, as a processor restored from its first checkpoint does. `None`: the
    /// input is there already and `open` reads it.
    pub feed: Option<&'a dyn Fn()>,
}

/// A source under test and where its sources start: at the position taken before the input
/// was written, when there is one.
struct Subject<'s, 'a> {
    s: &'s SourceUnderTest<'a>,
    begin: Option<Value>,
}

impl<'a> Deref for Subject<'_, 'a> {
    type Target = SourceUnderTest<'a>;

    fn deref(&self) -> &SourceUnderTest<'a> {
        self.s
    }
}

impl<'a> Subject<'_, 'a> {
    /// A fresh source, just opened.
    fn opened(&self) -> Reading<'a> {
        Reading::new((self.open)(), self.name, self.extent, self.idle)
    }

    /// A fresh source where a processor's sources start.
    fn start(&self) -> Reading<'a> {
        match &self.begin {
            None => self.opened(),
            Some(p) => self.seeked(p),
        }
    }

    fn seeked(&self, position: &Value) -> Reading<'a> {
        let mut r = self.opened();
        r.src.seek(position).unwrap_or_else(|e| panic!("{}: seek to {:?} refused: {}", self.name, position, e));
        r
    }

    fn same(&self, what: &str, got: &[SourceRecord], want: &[SourceRecord]) {
        assert_same(&format!("{}: {}", self.name, what), self.order, self.identity, got, want);
    }
}

/// Runs every source check; each check opens its own sources over the same input.
pub fn source_contract(under_test: &SourceUnderTest<'_>) {
    let mut s = Subject { s: under_test, begin: None };
    assert!(s.records >= 4, "{}: the contract needs an input of at least 4 records", s.name);
    let mut reference = Vec::new();
    if let Some(feed) = s.feed {
        let mut begin = Value::Null;
        check(s.name, "seek(position()) round-trips (position taken before the input was written)", || {
            (begin, reference) = position_before_input_round_trips(&s, feed)
        });
        s.begin = Some(begin);
        let mut again = Vec::new();
        check(s.name, "the input read in one go", || again = uninterrupted(&s));
        s.same("read in one go from the first position", &again, &reference);
    } else {
        check(s.name, "the input read in one go", || reference = uninterrupted(&s));
    }
    let s = &s;
    for split in [0, 1, s.records / 2, s.records - 1, s.records] {
        check(s.name, &format!("seek(position()) round-trips (position after {} records)", split), || {
            seek_to_position_round_trips(s, &reference, split)
        });
    }
    check(s.name, "seek(position()) on a running source changes nothing", || {
        seek_to_own_position_changes_nothing(s, &reference)
    });
    check(s.name, "a stop after any batch neither loses nor repeats records", || {
        a_stop_after_any_batch_loses_and_repeats_nothing(s, &reference)
    });
    check(s.name, "end of input is final", || end_of_input_is_final(s));
    check(s.name, "on_checkpoint_saved twice is harmless", || checkpoint_saved_twice_is_harmless(s, &reference));
}

/// A source started before its input exists: its position then, seeked to by a fresh
/// source once the input is written, reads what the first source read. Returns that position
/// and those records.
fn position_before_input_round_trips(s: &Subject<'_, '_>, feed: &dyn Fn()) -> (Value, Vec<SourceRecord>) {
    let mut first = s.opened();
    let (none, _) = first.poll(BATCH);
    assert!(none.is_empty(), "{}: records before the input was written: {:?}", s.name, none);
    let begin = first.src.position();
    feed();
    let mut all = Vec::new();
    check(s.name, "the source started before the input reads it", || {
        all = first.records(s.records, BATCH);
        first.exhausted();
    });
    drop(first);
    let mut again = s.seeked(&begin);
    let mut reread = Vec::new();
    check(s.name, &format!("a fresh source seeked to {:?} reads it", begin), || {
        reread = again.records(s.records, BATCH)
    });
    s.same(&format!("the records after position {:?}, taken before the input was written", begin), &reread, &all);
    again.exhausted();
    (begin, all)
}

/// The input read in one go by one source, which then finds it exhausted.
fn uninterrupted(s: &Subject<'_, '_>) -> Vec<SourceRecord> {
    let mut r = s.start();
    let all = r.records(s.records, BATCH);
    r.exhausted();
    all
}

/// Read `split` records, take `position()`, read the rest R; a fresh source seeked to that
/// position says it is there, reads R again, and nothing more.
fn seek_to_position_round_trips(s: &Subject<'_, '_>, reference: &[SourceRecord], split: usize) {
    let mut first = s.start();
    let head = first.records(split, BATCH);
    let position = first.src.position();
    let rest = first.records(s.records - split, BATCH);
    s.same(&format!("read again after {} records", split), &[head, rest.clone()].concat(), reference);
    drop(first);
    let mut again = s.seeked(&position);
    assert_eq!(again.src.position(), position, "{}: position() right after seek(position) is that position", s.name);
    let reread = again.records(s.records - split, BATCH);
    s.same(&format!("the records after position {:?} (taken after {} records)", position, split), &reread, &rest);
    again.exhausted();
}

/// `seek(position())` on a running source: it goes on exactly where it was.
fn seek_to_own_position_changes_nothing(s: &Subject<'_, '_>, reference: &[SourceRecord]) {
    let mut r = s.start();
    let split = s.records / 2;
    let head = r.records(split, BATCH);
    let position = r.src.position();
    r.src.seek(&position).unwrap_or_else(|e| panic!("{}: seek to its own position refused: {}", s.name, e));
    let rest = r.records(s.records - split, BATCH);
    s.same("after seeking to its own position", &[head, rest].concat(), reference);
    r.exhausted();
}

/// A processor stopped after every batch and restarted from the position it had then: the
/// batches together are the input, nothing lost, nothing read twice.
fn a_stop_after_any_batch_loses_and_repeats_nothing(s: &Subject<'_, '_>, reference: &[SourceRecord]) {
    let mut got: Vec<SourceRecord> = Vec::with_capacity(s.records);
    let mut position: Option<Value> = None;
    while got.len() < s.records {
        let mut r = match &position {
            None => s.start(),
            Some(p) => s.seeked(p),
        };
        let batch = r.batch(BATCH.min(s.records - got.len()));
        assert!(
            !batch.is_empty(),
            "{}: input ended after {} of {} records across restarts",
            s.name,
            got.len(),
            s.records
        );
        got.extend(batch);
        position = Some(r.src.position());
    }
    s.same("stopped and restarted after every batch", &got, reference);
    if let Some(p) = position {
        s.seeked(&p).exhausted();
    }
}

/// A bounded source, once it said `End`, says it again with no records, and so does a source
/// restarted at its final position; an unbounded one never says it (checked on every poll).
fn end_of_input_is_final(s: &Subject<'_, '_>) {
    let mut r = s.start();
    r.records(s.records, s.records);
    r.exhausted();
    if s.extent == Extent::Bounded {
        let position = r.src.position();
        s.seeked(&position).exhausted();
    }
    if s.extent == Extent::Endless {
        // Past the records read so far there are always more.
        assert!(!r.batch(BATCH).is_empty(), "{}: an endless source ran dry", s.name);
    }
}

/// `on_checkpoint_saved` twice with the same position: no harm to the reading, and what the
/// source tells upstream is that position.
fn checkpoint_saved_twice_is_harmless(s: &Subject<'_, '_>, reference: &[SourceRecord]) {
    let mut r = s.start();
    let split = s.records / 2;
    let head = r.records(split, BATCH);
    let position = r.src.position();
    r.src.on_checkpoint_saved(&position);
    r.src.on_checkpoint_saved(&position);
    (s.saved)(&position);
    let rest = r.records(s.records - split, BATCH);
    s.same("with the checkpoint-saved hook called twice", &[head, rest].concat(), reference);
    r.exhausted();
}
