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
use sluice_engine::{Executor, ExecutorConfig, Source};
use sluice_mql::json::{parse_document, to_json_string, JsonMode};
use sluice_mql::Document;
use sluice_pipeline::{parse_pipeline_json, Plan};

/// The fixed clock of golden runs: 2023-11-14T22:13:20Z.
const CLOCK_MS: i64 = 1_700_000_000_000;

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/golden")
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

fn run_case(dir: &Path, batch_size: usize) -> Result<(Vec<Document>, Vec<Document>), String> {
    let text = std::fs::read_to_string(dir.join("pipeline.json")).map_err(|e| e.to_string())?;
    let plan = parse_pipeline_json(&text).map_err(|e| e.to_string())?;
    let source = open_input(dir, &plan)?;
    let (out, dlq) = (TestLog::new(1 << 20), TestLog::new(1 << 20));
    let mut config = ExecutorConfig::new("golden");
    config.batch_size = batch_size;
    config.clock = Arc::new(|| CLOCK_MS);
    let mut exec = Executor::new(
        &plan,
        source,
        Box::new(MemorySink::new("out", out.clone())),
        Box::new(MemorySink::new("dlq", dlq.clone())),
        config,
    )
    .map_err(|e| e.to_string())?;
    exec.run(|_| true, || {}).map_err(|e| e.to_string())?;
    Ok((out.all(), dlq.all().iter().map(dlq_essentials).collect()))
}

/// Runs a case with batches of one record, stops after `stop_after` records, snapshots, restores
/// the snapshot into a fresh executor (fresh source, fresh operators) and finishes the run.
fn run_interrupted(dir: &Path, stop_after: usize) -> Result<(Vec<Document>, Vec<Document>), String> {
    let text = std::fs::read_to_string(dir.join("pipeline.json")).map_err(|e| e.to_string())?;
    let plan = parse_pipeline_json(&text).map_err(|e| e.to_string())?;
    let (out, dlq) = (TestLog::new(1 << 20), TestLog::new(1 << 20));
    let make = || -> Result<Executor, String> {
        let mut config = ExecutorConfig::new("golden");
        config.batch_size = 1;
        config.clock = Arc::new(|| CLOCK_MS);
        Executor::new(
            &plan,
            open_input(dir, &plan)?,
            Box::new(MemorySink::new("out", out.clone())),
            Box::new(MemorySink::new("dlq", dlq.clone())),
            config,
        )
        .map_err(|e| e.to_string())
    };
    let mut first = make()?;
    for _ in 0..stop_after {
        first.step().map_err(|e| e.to_string())?;
    }
    let checkpoint = first.snapshot();
    drop(first);
    let mut second = make()?;
    second.restore(&checkpoint).map_err(|e| e.to_string())?;
    second.run(|_| true, || {}).map_err(|e| e.to_string())?;
    Ok((out.all(), dlq.all().iter().map(dlq_essentials).collect()))
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
    let expected = read_jsonl(&dir.join("expected.jsonl"));
    let dlq_file = dir.join("expected_dlq.jsonl");
    let expected_dlq = if dlq_file.exists() {
        Some(read_jsonl(&dlq_file).iter().map(dlq_essentials).collect::<Vec<_>>())
    } else {
        None
    };
    for batch in [1, 7, 1024] {
        let (out, dlq) = run_case(dir, batch)?;
        if out != expected {
            return Err(format!(
                "batch size {}: output differs\n--- got:\n{}\n--- expected:\n{}",
                batch,
                show(&out),
                show(&expected)
            ));
        }
        match &expected_dlq {
            Some(exp) if &dlq != exp => {
                return Err(format!(
                    "batch size {}: DLQ differs\n--- got:\n{}\n--- expected:\n{}",
                    batch,
                    show(&dlq),
                    show(exp)
                ))
            }
            None if !dlq.is_empty() => {
                return Err(format!("batch size {}: unexpected DLQ records:\n{}", batch, show(&dlq)))
            }
            _ => {}
        }
    }
    // Stopping anywhere and restoring from the snapshot must give the uninterrupted result.
    let plan = parse_pipeline_json(&std::fs::read_to_string(dir.join("pipeline.json")).map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    let records = input_records(dir, &plan);
    for stop_after in 1..records {
        let (out, dlq) = run_interrupted(dir, stop_after)?;
        if out != expected {
            return Err(format!(
                "restored after {} records: output differs\n--- got:\n{}\n--- expected:\n{}",
                stop_after,
                show(&out),
                show(&expected)
            ));
        }
        if let Some(exp) = &expected_dlq {
            if &dlq != exp {
                return Err(format!("restored after {} records: DLQ differs\n--- got:\n{}", stop_after, show(&dlq)));
            }
        }
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
