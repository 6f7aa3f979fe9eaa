//! `idleTimeout`: while the source is quiet, windows close as processing time passes.
//! The clock is injected and moved by the test; nothing sleeps.

mod support;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use sluice_engine::{Executor, ExecutorConfig, Source, SourceError, SourceRecord, SourceStatus, StepOutcome};
use sluice_mql::json::parse_document;
use sluice_mql::{Document, Value};
use sluice_pipeline::parse_pipeline_json;
use support::Collect;

/// Hands out its records one poll at a time, then stays idle (a live source gone quiet).
struct QuietAfter(VecDeque<Document>);

impl Source for QuietAfter {
    fn name(&self) -> &str {
        "quiet"
    }
    fn poll(&mut self, _max: usize, out: &mut Vec<SourceRecord>) -> Result<SourceStatus, SourceError> {
        match self.0.pop_front() {
            Some(d) => {
                out.push(SourceRecord::Doc(d, 1));
                Ok(SourceStatus::Ready)
            }
            None => Ok(SourceStatus::Idle),
        }
    }
    fn position(&self) -> Value {
        Value::Null
    }
    fn seek(&mut self, _: &Value) -> Result<(), SourceError> {
        Ok(())
    }
}

const PIPELINE: &str = r#"[
  {"$source": {"connectionName": "quiet", "timeField": "$ts"}},
  {"$tumblingWindow": {"interval": {"size": 10, "unit": "second"}, "idleTimeout": {"size": 5, "unit": "second"},
    "pipeline": [{"$group": {"_id": null, "n": {"$count": {}}}}]}}]"#;

fn executor(pipeline: &str, events: &[&str], clock: Arc<AtomicI64>, out: Collect) -> Executor {
    let plan = parse_pipeline_json(pipeline).expect("valid pipeline");
    let docs = events.iter().map(|e| parse_document(e).expect("valid event")).collect();
    let mut config = ExecutorConfig::new("idle");
    config.clock = Arc::new(move || clock.load(Ordering::SeqCst));
    Executor::new(&plan, Box::new(QuietAfter(docs)), Box::new(out), Box::new(Collect::default()), config)
        .expect("builds")
}

#[test]
fn windows_close_after_the_source_is_idle_for_the_timeout() {
    let clock = Arc::new(AtomicI64::new(1_000_000));
    let out = Collect::default();
    // One event at event time 1 s, in the window [0 s, 10 s).
    let mut exec = executor(PIPELINE, &[r#"{"ts": {"$date": "1970-01-01T00:00:01Z"}}"#], clock.clone(), out.clone());
    assert_eq!(exec.step().expect("step"), StepOutcome::Progress);
    let emitted = || out.0.lock().expect("not poisoned").len();

    // Idle for 4 s: under the timeout, event time does not move.
    clock.fetch_add(4_000, Ordering::SeqCst);
    assert_eq!(exec.step().expect("step"), StepOutcome::Idle);
    assert_eq!(emitted(), 0);

    // Idle for 6 s: past the timeout, event time advances to 1 s + 6 s = 7 s: the window is still open.
    clock.fetch_add(2_000, Ordering::SeqCst);
    exec.step().expect("step");
    assert_eq!(emitted(), 0);

    // Idle for 9.5 s: event time 10.5 s passes the window's end, which closes with its one event.
    clock.fetch_add(3_500, Ordering::SeqCst);
    exec.step().expect("step");
    let docs = out.0.lock().expect("not poisoned").clone();
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0].get("n"), Some(&Value::Int32(1)));
}

#[test]
fn without_idle_timeout_a_quiet_source_keeps_windows_open() {
    let clock = Arc::new(AtomicI64::new(1_000_000));
    let out = Collect::default();
    let pipeline = PIPELINE.replace(r#""idleTimeout": {"size": 5, "unit": "second"},"#, "");
    let mut exec = executor(&pipeline, &[r#"{"ts": {"$date": "1970-01-01T00:00:01Z"}}"#], clock.clone(), out.clone());
    exec.step().expect("step");
    clock.fetch_add(3_600_000, Ordering::SeqCst);
    assert_eq!(exec.step().expect("step"), StepOutcome::Idle);
    assert!(out.0.lock().expect("not poisoned").is_empty());
}

#[test]
fn paused_time_does_not_count_as_idleness() {
    let clock = Arc::new(AtomicI64::new(1_000_000));
    let out = Collect::default();
    let mut exec = executor(PIPELINE, &[r#"{"ts": {"$date": "1970-01-01T00:00:01Z"}}"#], clock.clone(), out.clone());
    exec.step().expect("step");
    // Paused (no steps) for an hour, then resumed: the hour is not source idleness.
    clock.fetch_add(3_600_000, Ordering::SeqCst);
    exec.resume_after_pause();
    exec.step().expect("step");
    assert!(out.0.lock().expect("not poisoned").is_empty(), "a pause closed the window");
    // Idleness after the resume counts as usual: 9.5 s later the window closes.
    clock.fetch_add(9_500, Ordering::SeqCst);
    exec.step().expect("step");
    assert_eq!(out.0.lock().expect("not poisoned").len(), 1);
}
