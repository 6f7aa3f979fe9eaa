//! A processor's state limit holds while it runs: a window operator that would hold more than
//! the budget stops the run with a clear reason at the event that crosses it, long before the
//! memory is spent, and one under the budget runs as before.

mod support;

use sluice_engine::{Executor, ExecutorConfig};
use sluice_mql::json::parse_document;
use sluice_pipeline::parse_pipeline_json;
use support::{Discard, Documents};

/// Events with a distinct key each, one second apart, then the end of input.
fn distinct_keys(n: usize) -> Documents {
    Documents(
        (0..n)
            .map(|i| {
                parse_document(&format!(
                    r#"{{"k": {}, "ts": {{"$date": {}}}, "pad": "{}"}}"#,
                    i,
                    i * 1000,
                    "x".repeat(64)
                ))
                .expect("valid event")
            })
            .collect(),
    )
}

fn run(pipeline: &str, events: usize, budget: Option<u64>) -> Result<(), String> {
    let plan = parse_pipeline_json(pipeline).expect("valid pipeline");
    let config = ExecutorConfig { max_state_bytes: budget, batch_size: 16, ..ExecutorConfig::new("budget") };
    let mut exec = Executor::new(&plan, Box::new(distinct_keys(events)), Box::new(Discard), Box::new(Discard), config)
        .expect("builds");
    exec.run(|_| true, || {}).map(|_| ()).map_err(|e| e.to_string())
}

const HOPPING: &str = r#"[{"$source": {"connectionName": "keys", "timeField": "$ts"}},
  {"$hoppingWindow": {"interval": {"size": 1, "unit": "hour"}, "hopSize": {"size": 4, "unit": "second"},
    "pipeline": [{"$group": {"_id": "$k", "n": {"$count": {}}, "all": {"$push": "$pad"}}}]}}]"#;

const SESSION: &str = r#"[{"$source": {"connectionName": "keys", "timeField": "$ts"}},
  {"$sessionWindow": {"partitionBy": "$k", "gap": {"size": 1, "unit": "hour"},
    "pipeline": [{"$group": {"_id": "$k", "n": {"$count": {}}}}]}}]"#;

#[test]
fn a_hopping_window_past_its_budget_fails_the_run_naming_the_limit() {
    // 900 windows per event, a new key per event: about 100 KB of groups an event.
    let err = run(HOPPING, 2_000, Some(1_000_000)).expect_err("over the budget");
    assert!(err.contains("$hoppingWindow") && err.contains("exceeds the limit of 1000000 bytes"), "{}", err);
    // The same pipeline within a budget runs to the end.
    run(HOPPING, 20, Some(100_000_000)).expect("under the budget");
}

#[test]
fn a_session_window_past_its_budget_fails_the_run() {
    let err = run(SESSION, 1_000, Some(20_000)).expect_err("over the budget");
    assert!(err.contains("$sessionWindow") && err.contains("exceeds the limit of 20000 bytes"), "{}", err);
    run(SESSION, 20, Some(20_000)).expect("under the budget");
    run(SESSION, 500, None).expect("no budget, no limit");
}
