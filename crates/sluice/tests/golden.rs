//! Golden tests: every case under `tests/golden/<case>/` runs its `pipeline.json` over
//! `input.jsonl` (or, without one, its own inline `documents`) and must produce exactly `expected.jsonl` (types included) and, when present,
//! `expected_dlq.jsonl` (compared on operatorName, errInfo.reason and doc/raw). A case with
//! `expected_error.txt` must instead fail validation with exactly that message.
//! Each case runs with several batch sizes: the output must not depend on batching.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sluice_connectors::{open_source, JsonLinesSource, MemorySink, SolarConfig, TestLog};
use sluice_engine::{Checkpoint, Executor, ExecutorConfig, Source};
use sluice_mql::json::{parse_document, to_json_string, JsonMode};
use sluice_mql::Document;
use sluice_pipeline::{parse_pipeline_json, Plan};

/// The fixed clock of golden runs: 2023-11-14T22:13:20Z.
const CLOCK_MS: i64 = 1_700_000_000_000;

fn golden_dir() -> PathBuf {
    // Read at run time: a target dir shared by clones at other paths would keep the
    // compile-time path of whichever clone built the test.
    std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("../../tests/golden")
}

fn read_jsonl(path: &Path) -> Vec<Document> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {}", path.display(), e));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| parse_document(l).unwrap_or_else(|e| panic!("{}: {}: {}", path.display(), l, e)))
        .collect()
}

/// The parts of a DLQ record a case pins down (dlqTime and processorName are the runner's).
fn dlq_essentials(d: &Document) -> Document {
    let mut out = Document::new();
    for key in ["operatorName", "errInfo", "doc", "raw"] {
        if let Some(v) = d.get(key) {
            out.insert(key, v.clone());
        }
    }
    out
}

/// The case's input: `input.jsonl`, or else the pipeline's own `$source` (inline `documents`).
fn open_input(dir: &Path, plan: &Plan) -> Result<Box<dyn Source>, String> {
    match File::open(dir.join("input.jsonl")) {
        Ok(input) => Ok(Box::new(JsonLinesSource::new("input", BufReader::new(input)))),
        Err(_) => open_source(&plan.source, SolarConfig::default()).map_err(|e| e.to_string()),
    }
}

/// How many records the case's input holds.
fn input_records(dir: &Path, plan: &Plan) -> usize {
    match std::fs::read_to_string(dir.join("input.jsonl")) {
        Ok(text) => text.lines().filter(|l| !l.trim().is_empty()).count(),
        Err(_) => plan.source.documents.as_ref().map_or(0, Vec::len),
    }
}

/// Output and DLQ logs of one run, and the executors that write into them.
struct Run<'a> {
    dir: &'a Path,
    plan: &'a Plan,
    out: TestLog,
    dlq: TestLog,
}

impl<'a> Run<'a> {
    fn new(dir: &'a Path, plan: &'a Plan) -> Run<'a> {
        Run { dir, plan, out: TestLog::new(1 << 20), dlq: TestLog::new(1 << 20) }
    }

    /// A fresh executor (fresh source, fresh operators) writing into this run's logs.
    fn executor(&self, batch_size: usize) -> Result<Executor, String> {
        let mut config = ExecutorConfig::new("golden");
        config.batch_size = batch_size;
        config.clock = Arc::new(|| CLOCK_MS);
        Executor::new(
            self.plan,
            open_input(self.dir, self.plan)?,
            Box::new(MemorySink::new("out", self.out.clone())),
            Box::new(MemorySink::new("dlq", self.dlq.clone())),
            config,
        )
        .map_err(|e| e.to_string())
    }

    fn results(&self) -> (Vec<Document>, Vec<Document>) {
        (self.out.all(), self.dlq.all().iter().map(dlq_essentials).collect())
    }
}

fn run_case(dir: &Path, plan: &Plan, batch_size: usize) -> Result<(Vec<Document>, Vec<Document>), String> {
    let run = Run::new(dir, plan);
    run.executor(batch_size)?.run(|_| true, || {}).map_err(|e| e.to_string())?;
    Ok(run.results())
}

/// Runs a case with batches of one record, stops after `stop_after` records, takes a checkpoint
/// through its file form, restores it into a fresh executor (fresh source, fresh operators) and
/// finishes the run.
fn run_interrupted(dir: &Path, plan: &Plan, stop_after: usize) -> Result<(Vec<Document>, Vec<Document>), String> {
    let run = Run::new(dir, plan);
    let mut first = run.executor(1)?;
    for _ in 0..stop_after {
        first.step().map_err(|e| e.to_string())?;
    }
    let state = first.checkpoint().map_err(|e| e.to_string())?;
    // The server writes checkpoints streamed from the operators, not from the state's value:
    // the two must be the same bytes.
    let streamed = Checkpoint::encode_streamed(1, CLOCK_MS, "", 0, |out| first.write_snapshot(out, "state"))
        .map_err(|e| e.to_string())?;
    drop(first);
    let file = Checkpoint { seq: 1, taken_at_ms: CLOCK_MS, fingerprint: String::new(), state }
        .encode()
        .map_err(|e| e.to_string())?;
    if streamed != file {
        return Err("the streamed checkpoint differs from the encoded snapshot".into());
    }
    // Restored as the server does, from the bytes where the state lies; the value-tree path
    // (`decode` then `restore`) is checked against it on the same checkpoint.
    let raw = Checkpoint::decode_raw(&file).map_err(|e| e.to_string())?;
    let mut second = run.executor(1)?;
    second.restore_raw(raw.state).map_err(|e| e.to_string())?;
    let checkpoint = Checkpoint::decode(&file).map_err(|e| e.to_string())?;
    let mut by_tree = run.executor(1)?;
    by_tree.restore(&checkpoint.state).map_err(|e| e.to_string())?;
    if by_tree.snapshot() != second.snapshot() {
        return Err("restoring from the bytes and from the decoded tree differ".into());
    }
    drop(by_tree);
    second.run(|_| true, || {}).map_err(|e| e.to_string())?;
    Ok(run.results())
}

/// Compares one run's output and DLQ with the case's expectations; `label` says which run.
fn compare(
    label: &str,
    got: (Vec<Document>, Vec<Document>),
    expected: &[Document],
    expected_dlq: Option<&[Document]>,
) -> Result<(), String> {
    let (out, dlq) = got;
    if out != expected {
        return Err(format!("{}: output differs\n--- got:\n{}\n--- expected:\n{}", label, show(&out), show(expected)));
    }
    match expected_dlq {
        Some(exp) if dlq != exp => {
            Err(format!("{}: DLQ differs\n--- got:\n{}\n--- expected:\n{}", label, show(&dlq), show(exp)))
        }
        None if !dlq.is_empty() => Err(format!("{}: unexpected DLQ records:\n{}", label, show(&dlq))),
        _ => Ok(()),
    }
}

fn show(docs: &[Document]) -> String {
    docs.iter().map(|d| to_json_string(d, JsonMode::Canonical)).collect::<Vec<_>>().join("\n")
}

fn check_case(dir: &Path) -> Result<(), String> {
    let error_file = dir.join("expected_error.txt");
    if error_file.exists() {
        let expected = std::fs::read_to_string(&error_file).map_err(|e| e.to_string())?;
        let text = std::fs::read_to_string(dir.join("pipeline.json")).map_err(|e| e.to_string())?;
        return match parse_pipeline_json(&text) {
            Ok(_) => Err("the pipeline was accepted but should have been refused".into()),
            Err(e) if e.to_string() == expected.trim() => Ok(()),
            Err(e) => Err(format!("wrong error:\n  got:      {}\n  expected: {}", e, expected.trim())),
        };
    }
    let text = std::fs::read_to_string(dir.join("pipeline.json")).map_err(|e| e.to_string())?;
    let plan = parse_pipeline_json(&text).map_err(|e| e.to_string())?;
    let expected = read_jsonl(&dir.join("expected.jsonl"));
    let dlq_file = dir.join("expected_dlq.jsonl");
    let expected_dlq: Option<Vec<Document>> =
        dlq_file.exists().then(|| read_jsonl(&dlq_file).iter().map(dlq_essentials).collect());
    for batch in [1, 7, 1024] {
        let got = run_case(dir, &plan, batch)?;
        compare(&format!("batch size {}", batch), got, &expected, expected_dlq.as_deref())?;
    }
    // Stopping anywhere and restoring from the snapshot must give the uninterrupted result.
    for stop_after in 1..input_records(dir, &plan) {
        let got = run_interrupted(dir, &plan, stop_after)?;
        compare(&format!("restored after {} records", stop_after), got, &expected, expected_dlq.as_deref())?;
    }
    Ok(())
}

#[test]
fn golden_cases() {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(golden_dir())
        .expect("tests/golden exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 10, "expected the golden cases, found {}", dirs.len());
    let failures: Vec<String> = dirs
        .iter()
        .filter_map(|d| {
            check_case(d).err().map(|e| {
                format!("{}: {}", d.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(), e)
            })
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} golden cases failed:\n\n{}",
        failures.len(),
        dirs.len(),
        failures.join("\n\n")
    );
}
