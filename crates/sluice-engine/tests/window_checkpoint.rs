//! A window's `$accumulator` state is checkpointed with the other accumulator states: a run
//! stopped anywhere, checkpointed through the file format and restored into a fresh executor
//! gives the output of the uninterrupted run.

mod support;

use std::sync::{Arc, Mutex};

use sluice_engine::{Checkpoint, Executor, ExecutorConfig};
use sluice_mql::json::{parse_document, to_json_string, JsonMode};
use sluice_mql::Document;
use sluice_pipeline::{parse_pipeline_json, Plan};
use support::{Collect, Discard, Documents};

/// Per sensor and minute: the readings seen (values and dates) in a JavaScript state that starts
/// from the group key, and their count by `$sum`.
const PIPELINE: &str = r#"[{"$source": {"connectionName": "in", "timeField": "$ts"}},
  {"$tumblingWindow": {"interval": {"size": 1, "unit": "minute"}, "pipeline": [
    {"$group": {"_id": {"sensor": "$sensor"}, "n": {"$sum": 1}, "readings": {"$accumulator": {
      "init": "function(sensor) { return {sensor: sensor, seen: []}; }",
      "initArgs": ["$sensor"],
      "accumulate": "function(s, v, at) { s.seen.push({v: v, at: at}); return s; }",
      "accumulateArgs": ["$v", "$ts"],
      "merge": "function(a, b) { a.seen = a.seen.concat(b.seen); return a; }",
      "finalize": "function(s) { return s.sensor + ': ' + s.seen.map(function(r) { return r.v + '@' + r.at.getUTCSeconds(); }).join(' '); }",
      "lang": "js"}}}}]}}]"#;

fn events() -> Vec<Document> {
    (0..12)
        .map(|i| {
            parse_document(&format!(
                r#"{{"sensor": "s{}", "v": {}, "ts": {{"$date": "2024-01-01T00:0{}:{:02}Z"}}}}"#,
                i % 3,
                i,
                i / 6,
                (i * 7) % 60
            ))
            .expect("valid event")
        })
        .collect()
}

fn executor(plan: &Plan, docs: Vec<Document>, out: &Arc<Mutex<Vec<Document>>>) -> Executor {
    let config = ExecutorConfig { batch_size: 1, ..ExecutorConfig::new("checkpoint") };
    Executor::new(plan, Box::new(Documents(docs.into())), Box::new(Collect(out.clone())), Box::new(Discard), config)
        .expect("builds")
}

fn show(docs: &[Document]) -> String {
    docs.iter().map(|d| to_json_string(d, JsonMode::Canonical)).collect::<Vec<_>>().join("\n")
}

#[test]
fn an_accumulator_state_survives_a_checkpoint_and_restore() {
    let plan = parse_pipeline_json(PIPELINE).expect("valid pipeline");
    let whole = Arc::new(Mutex::new(Vec::new()));
    executor(&plan, events(), &whole).run(|_| true, || {}).expect("runs");
    let expected = whole.lock().expect("not poisoned").clone();
    assert_eq!(expected.len(), 6, "{}", show(&expected));
    // `initArgs` read the group key; the dates in the state stay dates.
    assert_eq!(expected[0].get("readings"), Some(&sluice_mql::Value::str("s0: 0@0 3@21")), "{}", show(&expected));

    for stop_after in 1..events().len() {
        let out = Arc::new(Mutex::new(Vec::new()));
        let mut first = executor(&plan, events(), &out);
        for _ in 0..stop_after {
            first.step().expect("steps");
        }
        let state = first.checkpoint().expect("checkpoints");
        drop(first);
        assert!(to_json_string(&state.as_document().cloned().unwrap_or_default(), JsonMode::Relaxed)
            .contains(r#""t":"js""#));
        let bytes = Checkpoint { seq: 1, taken_at_ms: 0, fingerprint: String::new(), state }.encode().expect("encodes");
        let restored = Checkpoint::decode(&bytes).expect("decodes");
        let rest: Vec<Document> = events().into_iter().skip(stop_after).collect();
        let mut second = executor(&plan, rest, &out);
        second.restore(&restored.state).expect("restores");
        second.run(|_| true, || {}).expect("runs");
        let got = out.lock().expect("not poisoned").clone();
        assert_eq!(got, expected, "stopped after {}:\n{}\n--- expected:\n{}", stop_after, show(&got), show(&expected));
    }
}
