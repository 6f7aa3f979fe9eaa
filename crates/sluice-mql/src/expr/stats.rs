//! Statistics as expressions: `$median $percentile $stdDevPop $stdDevSamp` over an array (or the
//! arguments), computed by the `$group` accumulators' own states so the two forms agree.
//! Non-numeric values are ignored, as the accumulators ignore them.

use std::borrow::Cow;

use super::array::operands;
use super::registry::{type_name, value_text, Arity, FuncDef};
use super::{CompileError, ExprError};
use crate::accumulator::{AccKind, AccState};
use crate::Value;

type Args<'a, 'b> = &'a [Cow<'b, Value>];

pub(crate) const FUNCS: &[FuncDef] = &[
    FuncDef { name: "$median", arity: Arity::Named(&["input", "method"], 2), f: median },
    FuncDef { name: "$percentile", arity: Arity::Named(&["input", "p", "method"], 3), f: percentile },
    FuncDef { name: "$stdDevPop", arity: Arity::Any, f: std_dev_pop },
    FuncDef { name: "$stdDevSamp", arity: Arity::Any, f: std_dev_samp },
];

/// Folds `values` into a fresh state of `kind` and returns its result.
fn accumulate<'v>(kind: &AccKind, values: impl Iterator<Item = &'v Value>) -> Value {
    let mut state = AccState::new(kind);
    for v in values {
        state.add(kind, v);
    }
    state.finish(kind)
}

/// The values of an `input`: an array's elements, or the value itself.
fn elements(v: &Value) -> &[Value] {
    match v {
        Value::Array(items) => items,
        other => std::slice::from_ref(other),
    }
}

/// Compile-time checks of `$percentile`, as mongod's `parseP` makes them: `p` is a constant,
/// non-empty array of numbers from [0.0, 1.0].
pub(super) fn check_percentile(arg: &Value) -> Result<(), CompileError> {
    let Some(p) = arg.as_document().and_then(|d| d.get("p")) else { return Ok(()) };
    let bad = |found: String| {
        Err(CompileError(format!(
            "The $percentile 'p' field must be an array of numbers from [0.0, 1.0], but found: {}",
            found
        )))
    };
    let text = value_text;
    match p {
        Value::Array(items) if !items.is_empty() => {
            for item in items {
                match item.as_f64().filter(|_| item.is_number()) {
                    None => return bad(text(item)),
                    Some(x) if !(0.0..=1.0).contains(&x) => return bad(text(item)),
                    Some(_) => {}
                }
            }
            Ok(())
        }
        Value::Array(_) => bad("[]".into()),
        Value::String(s) if s.starts_with('$') => Err(CompileError(format!(
            "The $percentile 'p' field must be an array of constant values, but found value: {}.",
            text(p)
        ))),
        other => bad(text(other)),
    }
}

/// `method`: MongoDB 8.0 accepts "approximate" only (mongod's `validatePercentileMethod`).
fn check_method(op: &'static str, v: &Value) -> Result<(), ExprError> {
    match v.as_str() {
        Some("approximate") => Ok(()),
        _ => Err(ExprError::new(op, "Currently only 'approximate' can be used as percentile 'method'.")),
    }
}

fn median(args: Args) -> Result<Value, ExprError> {
    check_method("$median", &args[1])?;
    Ok(accumulate(&AccKind::Median, elements(&args[0]).iter()))
}

fn percentile(args: Args) -> Result<Value, ExprError> {
    let op = "$percentile";
    check_method(op, &args[2])?;
    let bad_p = || {
        ExprError::new(
            op,
            format!("'p' must be an array of numbers between 0.0 and 1.0, found {}", type_name(&args[1])),
        )
    };
    let ps = args[1]
        .as_array()
        .ok_or_else(bad_p)?
        .iter()
        .map(|p| p.as_f64().filter(|x| p.is_number() && (0.0..=1.0).contains(x)).ok_or_else(bad_p))
        .collect::<Result<Vec<f64>, _>>()?;
    if ps.is_empty() {
        return Err(bad_p());
    }
    Ok(accumulate(&AccKind::Percentile(ps), elements(&args[0]).iter()))
}

fn std_dev_pop(args: Args) -> Result<Value, ExprError> {
    Ok(accumulate(&AccKind::StdDevPop, operands(args).into_iter()))
}

fn std_dev_samp(args: Args) -> Result<Value, ExprError> {
    Ok(accumulate(&AccKind::StdDevSamp, operands(args).into_iter()))
}

#[cfg(test)]
mod tests {
    use super::super::tests::{eval, ok, v};
    use crate::Value;
    use proptest::prelude::*;

    #[test]
    fn median_and_percentile() {
        let m = r#"{"$median": {"input": [62, 81, 80], "method": "approximate"}}"#;
        assert_eq!(ok(m), v("80.0"));
        let p = r#"{"$percentile": {"input": [62, 81, 80], "p": [0.5, 0.95], "method": "approximate"}}"#;
        assert_eq!(ok(p), v("[80.0, 81.0]"));
        assert_eq!(ok(r#"{"$median": {"input": "$a", "method": "approximate"}}"#), v("5.0"));
        assert_eq!(ok(r#"{"$median": {"input": ["a", null], "method": "approximate"}}"#), Value::Null);
        assert_eq!(ok(r#"{"$median": {"input": "$nope", "method": "approximate"}}"#), Value::Null);
        // No numeric input: a null for each percentile, as mongod answers.
        let none = r#"{"$percentile": {"input": ["a"], "p": [0.1, 0.9], "method": "approximate"}}"#;
        assert_eq!(ok(none), v("[null, null]"));
        let scalar = r#"{"$percentile": {"input": 7, "p": [0.1, 0.9], "method": "approximate"}}"#;
        assert_eq!(ok(scalar), v("[7.0, 7.0]"));
    }

    #[test]
    fn percentile_errors() {
        let compile = |s: &str| super::super::compile(&v(s)).map(|_| ()).map_err(|e| e.0);
        assert_eq!(
            compile(r#"{"$percentile": {"input": [1], "p": [1.5], "method": "approximate"}}"#),
            Err("The $percentile 'p' field must be an array of numbers from [0.0, 1.0], but found: 1.5".into())
        );
        assert!(compile(r#"{"$percentile": {"input": [1], "p": 0.5, "method": "approximate"}}"#).is_err());
        assert!(compile(r#"{"$percentile": {"input": [1], "p": [], "method": "approximate"}}"#).is_err());
        assert!(compile(r#"{"$percentile": {"input": [1], "p": "$ps", "method": "approximate"}}"#).is_err());
        let e = eval(r#"{"$median": {"input": [1], "method": "continuous"}}"#).expect_err("not in 8.0");
        assert_eq!(e.message, "Currently only 'approximate' can be used as percentile 'method'.");
        assert!(super::super::compile(&v(r#"{"$median": {"input": [1]}}"#)).is_err());
    }

    #[test]
    fn standard_deviations() {
        let pop = ok(r#"{"$stdDevPop": [[85, 90, 71]]}"#).as_f64().expect("a double");
        assert!((pop - 8.041_558_721_209_88).abs() < 1e-12, "{}", pop);
        assert_eq!(ok(r#"{"$stdDevPop": [2, 4, 4, 4, 5, 5, 7, 9]}"#), v("2.0"));
        assert_eq!(ok(r#"{"$stdDevSamp": [1]}"#), Value::Null);
        assert_eq!(ok(r#"{"$stdDevSamp": [1, 3]}"#), Value::Double(std::f64::consts::SQRT_2));
        assert_eq!(ok(r#"{"$stdDevPop": "$nope"}"#), Value::Null);
        assert_eq!(ok(r#"{"$stdDevPop": ["a", null]}"#), Value::Null);
        assert_eq!(ok(r#"{"$stdDevPop": "$a"}"#), v("0.0"));
    }

    proptest! {
        /// Each form agrees with the `$group` accumulator over the same values.
        #[test]
        fn expression_and_accumulator_agree(xs in prop::collection::vec(-1000i32..1000, 0..12)) {
            use crate::accumulator::Accumulator;
            use crate::expr::{Input, Scope};
            let arr = format!("{:?}", xs);
            for (expr, acc) in [
                (format!(r#"{{"$stdDevSamp": [{}]}}"#, arr), r#"{"$stdDevSamp": "$x"}"#),
                (format!(r#"{{"$median": {{"input": {}, "method": "approximate"}}}}"#, arr),
                 r#"{"$median": {"input": "$x", "method": "approximate"}}"#),
            ] {
                let d = crate::json::parse_document(acc).expect("valid spec");
                let (op, arg) = d.first().expect("one field");
                let acc = Accumulator::compile(op, arg).expect("valid accumulator");
                let mut state = acc.new_state();
                for x in &xs {
                    let mut doc = crate::Document::new();
                    doc.insert("x", Value::Int32(*x));
                    acc.accumulate(&mut state, &Input::doc(&doc), &mut Scope::default()).expect("no error");
                }
                prop_assert_eq!(ok(&expr), acc.finish(&state).expect("finishes"));
            }
        }
    }
}
