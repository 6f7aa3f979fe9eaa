//! The contract every sink passes, written once over `dyn Sink`: after `flush` everything
//! written is durable (read back from the external system), refused documents come back through
//! `take_rejected` with a reason while the rest of their batch is written, and the
//! checkpoint-saved hook may be called twice without output written twice.

use sluice_engine::Sink;
use sluice_mql::json::{to_json_string, JsonMode};
use sluice_mql::{Document, Str, Value};

/// A sink connector under test.
pub struct SinkUnderTest<'a> {
    /// For messages.
    pub name: &'a str,
    /// Opens the sink, as a processor's start does.
    pub open: &'a dyn Fn() -> Box<dyn Sink>,
    /// Everything durable in the external system, in the order it holds it, as the documents
    /// written (what the system adds, such as a DLQ record's `_id`, taken off). Given how many
    /// documents are expected, for systems that are read until then (Kafka).
    pub read_back: &'a dyn Fn(usize) -> Vec<Document>,
    /// Whether the system keeps the order of writes (a topic partition, a file, a log).
    pub ordered: bool,
    /// Whether the system keeps the order of a document's fields (an upsert by `$set` puts
    /// them in name order, as MongoDB does).
    pub keeps_field_order: bool,
    /// Documents of good batches; each must be written.
    pub good: Vec<Document>,
    /// Documents the sink must refuse (empty for a sink that refuses none); they are written
    /// amid the second half of `good`, whose first half is already written.
    pub refused: Vec<Document>,
}

fn shown(docs: &[Document]) -> Vec<String> {
    docs.iter().map(|d| to_json_string(d, JsonMode::Relaxed)).collect()
}

/// `d` with the fields of it and of its embedded documents in name order.
fn fields_by_name(d: &Document) -> Document {
    fn sorted(v: &Value) -> Value {
        match v {
            Value::Document(d) => Value::Document(fields_by_name(d)),
            Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    let mut fields: Vec<(Str, Value)> = d.iter().map(|(k, v)| (k.clone(), sorted(v))).collect();
    fields.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
    fields.into_iter().collect()
}

impl SinkUnderTest<'_> {
    /// Asserts that the external system holds `want`, each once.
    fn holds(&self, what: &str, want: &[Document]) {
        let mut got = (self.read_back)(want.len());
        let mut want = want.to_vec();
        if !self.keeps_field_order {
            got = got.iter().map(fields_by_name).collect();
            want = want.iter().map(fields_by_name).collect();
        }
        let (mut got, mut want) = (shown(&got), shown(&want));
        if !self.ordered {
            got.sort();
            want.sort();
        }
        assert_eq!(got, want, "{}: {} (left: durable, right: written)", self.name, what);
    }
}

/// Runs every sink check on one sink, writing `good` in three batches (the second with the
/// documents to refuse amid it).
pub fn sink_contract(s: &SinkUnderTest<'_>) {
    assert!(s.good.len() >= 6, "{}: the contract needs at least 6 good documents", s.name);
    let mut sink = (s.open)();
    let name = s.name;
    let ok = |what: &str, r: Result<(), sluice_engine::SinkError>| {
        r.unwrap_or_else(|e| panic!("{}: {} failed: {}", name, what, e));
    };
    assert!(sink.take_rejected().is_empty(), "{}: a fresh sink has refused something", name);
    ok("on_checkpoint_saved before any write", sink.on_checkpoint_saved());

    let third = s.good.len() / 3;
    let (first, rest) = s.good.split_at(third);
    let (second, last) = rest.split_at(third);

    // 1. After write + flush, everything written is durable.
    ok("write", sink.write(first));
    ok("flush", sink.flush());
    s.holds("after the first batch and a flush", first);

    // 2. Refused documents come back with a reason; the rest of their batch is written.
    let mut mixed: Vec<Document> = Vec::with_capacity(second.len() + s.refused.len());
    mixed.push(second[0].clone());
    mixed.extend(s.refused.iter().cloned());
    mixed.extend(second[1..].iter().cloned());
    ok("write of a batch with documents to refuse", sink.write(&mixed));
    ok("flush", sink.flush());
    let rejected = sink.take_rejected();
    for r in &rejected {
        assert!(!r.reason.trim().is_empty(), "{}: a document refused without a reason: {:?}", name, r.doc);
    }
    let mut got: Vec<String> = rejected.iter().map(|r| to_json_string(&r.doc, JsonMode::Relaxed)).collect();
    let mut want = shown(&s.refused);
    got.sort();
    want.sort();
    assert_eq!(got, want, "{}: refused documents (left: taken back, right: expected); reasons {:?}", name, {
        rejected.iter().map(|r| r.reason.as_str()).collect::<Vec<_>>()
    });
    assert!(sink.take_rejected().is_empty(), "{}: refused documents are taken once", name);
    let written: Vec<Document> = [first, second].concat();
    s.holds("after a batch with documents to refuse: the rest of it written", &written);

    // 3. The checkpoint-saved hook twice (and a second flush): nothing written twice.
    ok("on_checkpoint_saved", sink.on_checkpoint_saved());
    ok("on_checkpoint_saved called again", sink.on_checkpoint_saved());
    ok("a flush with nothing new", sink.flush());
    s.holds("after the checkpoint-saved hook twice", &written);

    ok("write", sink.write(last));
    ok("flush", sink.flush());
    ok("on_checkpoint_saved", sink.on_checkpoint_saved());
    ok("on_checkpoint_saved called again", sink.on_checkpoint_saved());
    assert!(sink.take_rejected().is_empty(), "{}: good documents refused", name);
    s.holds("after the last batch", &s.good);
    drop(sink);
    s.holds("after the sink is closed", &s.good);
}
