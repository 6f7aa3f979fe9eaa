//! `sluice run` end to end: the real binary, real files, the sample stream.

use std::process::Command;

use sluice_mql::json::parse_document;
use sluice_mql::{Document, Value};

fn sluice() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sluice"))
}

fn repo(path: &str) -> String {
    // Read at run time: a target dir shared by clones at other paths would keep the
    // compile-time path of whichever clone built the test.
    std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("../..")
    .join(path)
    .display()
    .to_string()
}

fn lines(text: &str) -> Vec<Document> {
    text.lines().filter(|l| !l.trim().is_empty()).map(|l| parse_document(l).expect("JSON line")).collect()
}

#[test]
fn runs_the_example_pipeline_on_the_sample_stream() {
    let out = sluice()
        .args(["run", "--pipeline", &repo("examples/solar-window.json"), "--limit", "3000", "--rate", "1000000"])
        .output()
        .expect("sluice runs");
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    let docs = lines(&String::from_utf8_lossy(&out.stdout));
    assert!(!docs.is_empty(), "windows are emitted");
    let mut total = 0;
    for d in &docs {
        assert!(d.get_path("_stream_meta.window.start").is_some_and(|v| matches!(v, Value::DateTime(_))));
        assert!(d.get("_id").and_then(Value::as_str).is_some_and(|s| s.starts_with("device_")));
        let max = d.get("maxWatts").and_then(Value::as_exact_i64).expect("maxWatts");
        assert!((51..450).contains(&max), "$match keeps only watts > 50: {}", max);
        let ratio = d.get("avgRatio").and_then(Value::as_f64).expect("avgRatio");
        assert!(ratio > 50.0 / 450.0 && ratio < 1.0, "{}", ratio);
        total += d.get("count").and_then(Value::as_exact_i64).expect("count");
    }
    // About 89% of uniform readings in 0..450 are above 50; all 3000 events were read.
    assert!(total > 2400 && total < 3000, "{} events counted in windows", total);
    let summary = String::from_utf8_lossy(&out.stderr);
    assert!(summary.contains("in 3000"), "summary reports the input: {}", summary);
}

#[test]
fn file_input_output_and_dlq() {
    let dir = std::env::temp_dir().join(format!("sluice-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let pipeline = dir.join("p.json");
    let input = dir.join("in.jsonl");
    let output = dir.join("out.jsonl");
    let dlq = dir.join("dlq.jsonl");
    std::fs::write(
        &pipeline,
        r#"[{"$source": {"connectionName": "file"}}, {"$project": {"_id": 0, "x": {"$divide": [1, "$d"]}}}]"#,
    )
    .expect("write");
    std::fs::write(&input, "{\"d\": 4}\n{\"d\": 0}\nnot json\n{\"d\": {\"$numberLong\": \"2\"}}\n").expect("write");
    let out = sluice()
        .args(["run", "--pipeline", &pipeline.display().to_string(), "--input", &input.display().to_string()])
        .args(["--output", &output.display().to_string(), "--dlq", &dlq.display().to_string(), "--canonical"])
        .output()
        .expect("sluice runs");
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    let written = std::fs::read_to_string(&output).expect("output file");
    assert_eq!(written, "{\"x\":{\"$numberDouble\":\"0.25\"}}\n{\"x\":{\"$numberDouble\":\"0.5\"}}\n");
    let dead = lines(&std::fs::read_to_string(&dlq).expect("dlq file"));
    assert_eq!(dead.len(), 2);
    // Within one batch, the source's DLQ records come before the operators' (docs/architecture.md).
    let reasons: Vec<&str> = dead.iter().filter_map(|d| d.get_path("errInfo.reason").and_then(Value::as_str)).collect();
    assert!(reasons.contains(&"$divide: can't $divide by zero"), "{:?}", reasons);
    assert!(dead.iter().any(|d| d.get("raw").and_then(Value::as_str) == Some("not json")));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn an_invalid_pipeline_fails_with_the_stage_error() {
    let dir = std::env::temp_dir().join(format!("sluice-cli-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let pipeline = dir.join("p.json");
    std::fs::write(&pipeline, r#"[{"$source": {"connectionName": "sample_stream_solar"}}, {"$bogus": 1}]"#)
        .expect("write");
    let out = sluice().args(["run", "--pipeline", &pipeline.display().to_string()]).output().expect("sluice runs");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("stage 1 ($bogus): Unrecognized pipeline stage name"));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_sink_that_needs_a_connection_is_refused_by_run() {
    let dir = std::env::temp_dir().join(format!("sluice-cli-sink-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let pipeline = dir.join("p.json");
    std::fs::write(
        &pipeline,
        r#"[{"$source": {"connectionName": "sample_stream_solar"}}, {"$emit": {"connectionName": "kafka1", "topic": "t"}}]"#,
    )
    .expect("write");
    let out = sluice().args(["run", "--pipeline", &pipeline.display().to_string()]).output().expect("sluice runs");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("$emit to 'kafka1'"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn ctrl_c_stops_an_endless_run_cleanly_with_its_summary() {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = sluice()
        .args(["run", "--pipeline", &repo("examples/solar-window.json"), "--rate", "1000"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sluice runs");
    // The sample stream never ends: let it read for a while, then press Ctrl-C.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let pid = child.id().to_string();
    let kill = Command::new("kill").args(["-INT", &pid]).status().expect("kill runs");
    assert!(kill.success());
    let status = child.wait().expect("sluice stops");
    let mut stderr = String::new();
    child.stderr.take().expect("stderr").read_to_string(&mut stderr).expect("stderr is text");
    assert!(status.success(), "Ctrl-C is a clean stop, not a kill: {:?} {}", status, stderr);
    assert!(stderr.contains("done: "), "the summary is printed after Ctrl-C: {}", stderr);
}

#[test]
fn javascript_functions_and_accumulators_with_the_time_limit_flag() {
    let dir = std::env::temp_dir().join(format!("sluice-cli-js-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let (pipeline, input, dlq) = (dir.join("p.json"), dir.join("in.jsonl"), dir.join("dlq.jsonl"));
    std::fs::write(
        &pipeline,
        r#"[{"$source": {"connectionName": "file", "timeField": "$ts"}},
            {"$addFields": {"w2": {"$function": {"body": "function(w) { while (w < 0) {} return w * 2; }", "args": ["$w"], "lang": "js"}}}},
            {"$tumblingWindow": {"interval": {"size": 1, "unit": "minute"}, "pipeline": [
              {"$group": {"_id": "$d", "names": {"$accumulator": {
                "init": "function() { return []; }",
                "accumulate": "function(s, n, w) { return s.concat([n + '=' + w]); }",
                "accumulateArgs": ["$n", "$w2"],
                "merge": "function(a, b) { return a.concat(b); }",
                "finalize": "function(s) { return s.join(','); }",
                "lang": "js"}}}}]}}]"#,
    )
    .expect("write");
    let events = [("a", 1, "x"), ("a", -1, "stuck"), ("b", 2, "y"), ("a", 3, "z")];
    let records: Vec<String> = events
        .iter()
        .enumerate()
        .map(|(i, (d, w, n))| {
            format!(r#"{{"d": "{}", "w": {}, "n": "{}", "ts": {{"$date": "2024-01-01T00:00:0{}Z"}}}}"#, d, w, n, i)
        })
        .collect();
    std::fs::write(&input, records.join("\n")).expect("write");
    let out = sluice()
        .args(["run", "--pipeline", &pipeline.display().to_string(), "--input", &input.display().to_string()])
        .args(["--dlq", &dlq.display().to_string(), "--js-call-timeout-ms", "100"])
        .output()
        .expect("sluice runs");
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    let docs = lines(&String::from_utf8_lossy(&out.stdout));
    let names: Vec<(&str, &str)> =
        docs.iter().filter_map(|d| Some((d.get("_id")?.as_str()?, d.get("names")?.as_str()?))).collect();
    assert_eq!(names, [("a", "x=2,z=6"), ("b", "y=4")]);
    let dead = lines(&std::fs::read_to_string(&dlq).expect("dlq file"));
    let reasons: Vec<&str> = dead.iter().filter_map(|d| d.get_path("errInfo.reason").and_then(Value::as_str)).collect();
    assert_eq!(reasons, ["$function: JavaScript ran longer than its time limit of 100 ms"]);

    std::fs::write(
        &pipeline,
        r#"[{"$source": {"connectionName": "file"}}, {"$set": {"x": {"$function": {"body": "function( {", "args": [], "lang": "js"}}}}]"#,
    )
    .expect("write");
    let out = sluice().args(["run", "--pipeline", &pipeline.display().to_string()]).output().expect("sluice runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("x: $function 'body' SyntaxError"), "{}", err);
    let _ = std::fs::remove_dir_all(&dir);
}
