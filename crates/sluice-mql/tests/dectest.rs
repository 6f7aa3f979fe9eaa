//! Decimal128 against the General Decimal Arithmetic test cases for decQuad (`tests/dectest/`,
//! see `SOURCE.md` there): addition, subtraction, multiplication, division, comparison and
//! conversion to a string, with 34 digits rounded half-even as MongoDB's Decimal128 does.
//!
//! Left out, and counted: cases under another rounding mode or precision (Decimal128 has one
//! context), NaN payloads and signalling NaNs (MongoDB has one NaN), operands written as
//! encodings (`#...`), `toEng`, and division by zero (an error in MongoDB, not an infinity).
//! `DECTEST_TRACE=1` prints each case's id before it runs, to find one that hangs.

use std::cmp::Ordering;
use std::path::PathBuf;

use sluice_mql::Decimal128;

/// One test case of a `.decTest` file, with the context it runs in.
struct Case {
    id: String,
    op: String,
    operands: Vec<String>,
    result: String,
    conditions: Vec<String>,
    rounding: String,
    precision: u32,
}

/// Splits a line into tokens: quoted ones (`'...'`, `"..."`, a doubled quote inside is one
/// quote) or runs of non-space; a `--` outside quotes starts a comment.
fn tokens(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '\'' || c == '"' {
            chars.next();
            let mut t = String::new();
            while let Some(d) = chars.next() {
                if d == c {
                    if chars.peek() == Some(&c) {
                        chars.next();
                        t.push(c);
                    } else {
                        break;
                    }
                } else {
                    t.push(d);
                }
            }
            out.push(t);
        } else {
            let mut t = String::new();
            while let Some(&d) = chars.peek() {
                if d.is_whitespace() {
                    break;
                }
                t.push(d);
                chars.next();
            }
            if t.starts_with("--") {
                break;
            }
            out.push(t);
        }
    }
    out
}

fn cases(file: &str) -> Vec<Case> {
    let dir =
        PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()));
    let text = std::fs::read_to_string(dir.join("tests/dectest").join(file)).expect("the test file");
    let (mut rounding, mut precision) = (String::from("half_even"), 34);
    let mut out = Vec::new();
    for line in text.lines() {
        let t = tokens(line);
        match t.first().map(String::as_str) {
            None => {}
            Some(k) if k.ends_with(':') => match k.to_ascii_lowercase().as_str() {
                "rounding:" => rounding = t[1].to_ascii_lowercase(),
                "precision:" => precision = t[1].parse().expect("a precision"),
                _ => {}
            },
            Some(_) => {
                let Some(arrow) = t.iter().position(|x| x == "->") else { continue };
                out.push(Case {
                    id: t[0].clone(),
                    op: t[1].to_ascii_lowercase(),
                    operands: t[2..arrow].to_vec(),
                    result: t[arrow + 1].clone(),
                    conditions: t[arrow + 2..].iter().map(|c| c.to_ascii_lowercase()).collect(),
                    rounding: rounding.clone(),
                    precision,
                });
            }
        }
    }
    out
}

/// What a case came to.
enum Outcome {
    Pass,
    Skip,
    Fail(String),
}

fn is_nan_text(s: &str) -> bool {
    let s = s.trim_start_matches(['+', '-']).to_ascii_lowercase();
    s.starts_with("nan") || s.starts_with("snan")
}

fn run(c: &Case) -> Outcome {
    let out_of_scope = c.rounding != "half_even"
        || c.precision != 34
        || c.operands.iter().chain([&c.result]).any(|o| o.contains('#') || is_nan_text(o))
        || c.conditions.iter().any(|k| k == "division_by_zero" || k == "division_undefined");
    if out_of_scope || !matches!(c.op.as_str(), "add" | "subtract" | "multiply" | "divide" | "compare" | "tosci") {
        return Outcome::Skip;
    }
    let syntax_error = c.conditions.iter().any(|k| k == "conversion_syntax");
    let mut operands = Vec::new();
    for o in &c.operands {
        match Decimal128::parse(o) {
            Some(d) => operands.push(d),
            None if syntax_error => return Outcome::Pass,
            None => return Outcome::Fail(format!("operand {:?} was not read", o)),
        }
    }
    if syntax_error {
        return Outcome::Fail(format!("{:?} was read, though it is no number", c.operands));
    }
    let got = match (c.op.as_str(), operands.as_slice()) {
        ("add", [a, b]) => a.add(b).to_string(),
        ("subtract", [a, b]) => a.sub(b).to_string(),
        ("multiply", [a, b]) => a.mul(b).to_string(),
        ("divide", [a, b]) => match a.div(b) {
            Some(q) => q.to_string(),
            None => "(division refused)".into(),
        },
        ("compare", [a, b]) => match a.cmp_value(b) {
            Ordering::Less => "-1".into(),
            Ordering::Equal => "0".into(),
            Ordering::Greater => "1".into(),
        },
        ("tosci", [a]) => a.to_string(),
        _ => return Outcome::Skip,
    };
    if got == c.result {
        Outcome::Pass
    } else {
        Outcome::Fail(format!("got {}", got))
    }
}

#[test]
fn decimal128_passes_the_decquad_test_cases_it_is_in_scope_for() {
    let mut failures = Vec::new();
    let (mut passed, mut skipped) = (0, 0);
    for file in [
        "dqAdd.decTest",
        "dqSubtract.decTest",
        "dqMultiply.decTest",
        "dqDivide.decTest",
        "dqCompare.decTest",
        "dqBase.decTest",
    ] {
        for c in cases(file) {
            if std::env::var_os("DECTEST_TRACE").is_some() {
                eprintln!("{}", c.id);
            }
            match run(&c) {
                Outcome::Pass => passed += 1,
                Outcome::Skip => skipped += 1,
                Outcome::Fail(why) => failures
                    .push(format!("{} {} {:?} -> {} {:?}: {}", c.id, c.op, c.operands, c.result, c.conditions, why)),
            }
        }
    }
    println!("{} passed, {} failed, {} out of scope", passed, failures.len(), skipped);
    assert!(passed > 2000, "the files were read: {} cases passed", passed);
    assert!(
        failures.is_empty(),
        "{} of {} cases fail:\n{}",
        failures.len(),
        passed + failures.len(),
        failures.join("\n")
    );
}
