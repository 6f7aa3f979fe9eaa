//! Array operators that pick or combine elements: `$zip`, and the array forms of the `$firstN
//! $lastN $maxN $minN` accumulators (`{input, n}`), which run the accumulators' own code over the
//! array's elements so the two forms cannot disagree.

use std::borrow::Cow;

use super::registry::{type_name, value_text, Arity, FuncDef};
use super::{CompileError, ExprError};
use crate::accumulator::{n_value, AccKind, AccState};
use crate::Value;

type Args<'a, 'b> = &'a [Cow<'b, Value>];

const N_ARGS: &[&str] = &["input", "n"];

pub(crate) const FUNCS: &[FuncDef] = &[
    FuncDef { name: "$zip", arity: Arity::Named(&["inputs", "useLongestLength", "defaults"], 1), f: zip },
    FuncDef { name: "$firstN", arity: Arity::Named(N_ARGS, 2), f: first_n },
    FuncDef { name: "$lastN", arity: Arity::Named(N_ARGS, 2), f: last_n },
    FuncDef { name: "$maxN", arity: Arity::Named(N_ARGS, 2), f: max_n },
    FuncDef { name: "$minN", arity: Arity::Named(N_ARGS, 2), f: min_n },
];

/// Compile-time checks of `$zip`, as mongod makes them: `inputs` is a non-empty array of
/// expressions, `useLongestLength` a bool, and `defaults` an array of expressions as long as
/// `inputs`, allowed only with `useLongestLength: true`.
pub(super) fn check_zip(arg: &Value) -> Result<(), CompileError> {
    let Some(d) = arg.as_document() else { return Ok(()) };
    let err = |m: String| Err(CompileError(m));
    let inputs = match d.get("inputs") {
        Some(Value::Array(items)) if items.is_empty() => return err("$zip requires at least one input array".into()),
        Some(Value::Array(items)) => items.len(),
        Some(v) => return err(format!("inputs must be an array of expressions, found {}", type_name(v))),
        None => return err("Missing 'inputs' parameter to $zip".into()),
    };
    let longest = match d.get("useLongestLength") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(v) => return err(format!("useLongestLength must be a bool, found {}", type_name(v))),
    };
    match d.get("defaults") {
        None => Ok(()),
        Some(_) if !longest => err("cannot specify defaults unless useLongestLength is true".into()),
        Some(Value::Array(items)) if items.len() == inputs => Ok(()),
        Some(Value::Array(_)) => err("defaults and inputs must have the same length".into()),
        Some(v) => err(format!("defaults must be an array of expressions, found {}", type_name(v))),
    }
}

fn zip(args: Args) -> Result<Value, ExprError> {
    let op = "$zip";
    let inputs = match &*args[0] {
        Value::Array(items) => items,
        v => return Err(ExprError::new(op, format!("inputs must be an array of expressions, found {}", type_name(v)))),
    };
    let longest = match &*args[1] {
        Value::Missing => false,
        Value::Bool(b) => *b,
        v => return Err(ExprError::new(op, format!("useLongestLength must be a bool, found {}", type_name(v)))),
    };
    let defaults: Option<&[Value]> = match &*args[2] {
        Value::Missing => None,
        _ if !longest => return Err(ExprError::new(op, "cannot specify defaults unless useLongestLength is true")),
        Value::Array(d) if d.len() == inputs.len() => Some(d),
        Value::Array(_) => return Err(ExprError::new(op, "defaults and inputs must have the same length")),
        v => return Err(ExprError::new(op, format!("defaults must be an array, found {}", type_name(v)))),
    };
    let mut arrays = Vec::with_capacity(inputs.len());
    for input in inputs {
        match input {
            Value::Array(items) => arrays.push(items.as_slice()),
            v if v.is_nullish() => return Ok(Value::Null),
            v => {
                return Err(ExprError::new(
                    op,
                    format!("$zip found a non-array expression in input: {}", value_text(v)),
                ))
            }
        }
    }
    let lengths = arrays.iter().map(|a| a.len());
    let len = if longest { lengths.max() } else { lengths.min() }.unwrap_or(0);
    let out = (0..len)
        .map(|i| {
            let row = arrays.iter().enumerate().map(|(j, a)| match a.get(i) {
                Some(v) => v.clone(),
                None => defaults.and_then(|d| d.get(j)).cloned().unwrap_or(Value::Null),
            });
            Value::Array(row.collect())
        })
        .collect();
    Ok(Value::Array(out))
}

/// Compile-time checks of the `{input, n}` forms (expressions and `$group` accumulators alike),
/// in `AccumulatorN::parseArgs`' words.
pub(crate) fn check_n_spec(op: &str, arg: &Value) -> Result<(), CompileError> {
    let Value::Document(d) = arg else {
        return Err(CompileError(format!("specification must be an object; found {}: {}", op, value_text(arg))));
    };
    if let Some(k) = d.keys().find(|k| !matches!(k.as_str(), "input" | "n")) {
        return Err(CompileError(format!("Unknown argument for 'n' operator: {}", k)));
    }
    for k in ["n", "input"] {
        if !d.contains_key(k) {
            return Err(CompileError(format!("Missing value for '{}'", k)));
        }
    }
    Ok(())
}

/// Runs the `$firstN`-style accumulator `kind(n)` over the elements of `input`, as mongod does:
/// `n` is checked first (as the accumulator checks it), then the input must be an array.
fn pick_n(op: &'static str, args: Args, kind: fn(usize) -> AccKind) -> Result<Value, ExprError> {
    let n = n_value(op, &args[1])?;
    let Value::Array(items) = &*args[0] else {
        return Err(ExprError::new(op, "Input must be an array"));
    };
    let kind = kind(n);
    let mut state = AccState::new(&kind);
    for item in items {
        state.add(&kind, item);
    }
    Ok(state.finish(&kind))
}

fn first_n(args: Args) -> Result<Value, ExprError> {
    pick_n("$firstN", args, AccKind::FirstN)
}

fn last_n(args: Args) -> Result<Value, ExprError> {
    pick_n("$lastN", args, AccKind::LastN)
}

fn max_n(args: Args) -> Result<Value, ExprError> {
    pick_n("$maxN", args, AccKind::MaxN)
}

fn min_n(args: Args) -> Result<Value, ExprError> {
    pick_n("$minN", args, AccKind::MinN)
}

#[cfg(test)]
mod tests {
    use super::super::tests::{eval, ok, v};
    use crate::Value;
    use proptest::prelude::*;

    #[test]
    fn zip_shortest_longest_and_defaults() {
        assert_eq!(ok(r#"{"$zip": {"inputs": [[1, 2], [2, 3], [3, 4]]}}"#), v("[[1, 2, 3], [2, 3, 4]]"));
        assert_eq!(ok(r#"{"$zip": {"inputs": [["a"], ["b", "c"]]}}"#), v(r#"[["a", "b"]]"#));
        assert_eq!(
            ok(r#"{"$zip": {"inputs": [["a"], ["b", "c"]], "useLongestLength": true}}"#),
            v(r#"[["a", "b"], [null, "c"]]"#)
        );
        assert_eq!(
            ok(r#"{"$zip": {"inputs": [["a"], ["b", "c"]], "useLongestLength": true, "defaults": ["x", "y"]}}"#),
            v(r#"[["a", "b"], ["x", "c"]]"#)
        );
        assert_eq!(ok(r#"{"$zip": {"inputs": ["$arr", "$nope"]}}"#), Value::Null);
    }

    #[test]
    fn zip_errors() {
        let e = eval(r#"{"$zip": {"inputs": [[1], "$a"]}}"#).expect_err("an int input");
        assert_eq!(e.message, "$zip found a non-array expression in input: 5");
        // Left to right: a null input before a non-array one gives null.
        assert_eq!(ok(r#"{"$zip": {"inputs": [null, 2]}}"#), Value::Null);
        let compile = |s: &str| super::super::compile(&v(s)).map(|_| ()).map_err(|e| e.0);
        assert_eq!(
            compile(r#"{"$zip": {"inputs": [[1]], "defaults": [0]}}"#),
            Err("cannot specify defaults unless useLongestLength is true".into())
        );
        assert_eq!(
            compile(r#"{"$zip": {"inputs": [[1]], "useLongestLength": true, "defaults": [0, 1]}}"#),
            Err("defaults and inputs must have the same length".into())
        );
        assert_eq!(
            compile(r#"{"$zip": {"inputs": [[1]], "useLongestLength": 1}}"#),
            Err("useLongestLength must be a bool, found int".into())
        );
        assert_eq!(
            compile(r#"{"$zip": {"inputs": "$arr"}}"#),
            Err("inputs must be an array of expressions, found string".into())
        );
        assert_eq!(compile(r#"{"$zip": {"inputs": []}}"#), Err("$zip requires at least one input array".into()));
    }

    #[test]
    fn n_operators_over_arrays() {
        assert_eq!(ok(r#"{"$firstN": {"n": 3, "input": [12, 90, 7, 89, 8]}}"#), v("[12, 90, 7]"));
        assert_eq!(ok(r#"{"$firstN": {"n": 3, "input": [null]}}"#), v("[null]"));
        assert_eq!(ok(r#"{"$lastN": {"n": 3, "input": [1293, null, 3489, 9]}}"#), v("[null, 3489, 9]"));
        assert_eq!(ok(r#"{"$maxN": {"n": 2, "input": [1293, "2", 3489, 9]}}"#), v(r#"["2", 3489]"#));
        assert_eq!(
            ok(r#"{"$minN": {"n": 2, "input": [null, 7, 1.5, {"$numberLong": "3"}]}}"#),
            v(r#"[1.5, {"$numberLong": "3"}]"#)
        );
        assert_eq!(ok(r#"{"$maxN": {"n": 2, "input": [null]}}"#), v("[]"));
        assert_eq!(ok(r#"{"$firstN": {"n": {"$numberLong": "2"}, "input": "$arr"}}"#), v("[3, 1]"));
        assert_eq!(ok(r#"{"$lastN": {"n": 2.0, "input": []}}"#), v("[]"));
    }

    #[test]
    fn n_operator_errors() {
        let e = eval(r#"{"$firstN": {"n": 0, "input": [1]}}"#).expect_err("n = 0");
        assert_eq!(e.message, "'n' must be greater than 0, found 0");
        let e = eval(r#"{"$lastN": {"n": 1.5, "input": [1]}}"#).expect_err("n = 1.5");
        assert_eq!(e.message, "Value for 'n' must be of integral type, but found 1.5");
        let e = eval(r#"{"$maxN": {"n": "2", "input": "$a"}}"#).expect_err("n = \"2\"");
        assert_eq!(e.message, r#"Value for 'n' must be of integral type, but found "2""#);
        let e = eval(r#"{"$minN": {"n": 2, "input": "$a"}}"#).expect_err("an int input");
        assert_eq!(e.message, "Input must be an array");
        assert!(eval(r#"{"$minN": {"n": 2, "input": "$a"}}"#).is_err());
        assert!(eval(r#"{"$minN": {"n": 2, "input": "$nope"}}"#).is_err());
        let compile = |s: &str| super::super::compile(&v(s)).map(|_| ()).map_err(|e| e.0);
        assert_eq!(compile(r#"{"$firstN": {"input": [1]}}"#), Err("Missing value for 'n'".into()));
        assert_eq!(
            compile(r#"{"$firstN": {"n": 1, "input": [1], "sortBy": {"a": 1}}}"#),
            Err("Unknown argument for 'n' operator: sortBy".into())
        );
        assert_eq!(compile(r#"{"$maxN": 0}"#), Err("specification must be an object; found $maxN: 0".into()));
    }

    proptest! {
        /// `$firstN` and `$lastN` are `$slice` from the front and the back.
        #[test]
        fn first_and_last_n_are_slices(xs in prop::collection::vec(-100i32..100, 0..10), n in 1usize..12) {
            let arr = format!("{:?}", xs);
            let first = ok(&format!(r#"{{"$firstN": {{"n": {}, "input": {}}}}}"#, n, arr));
            prop_assert_eq!(first, ok(&format!(r#"{{"$slice": [{}, {}]}}"#, arr, n)));
            let last = ok(&format!(r#"{{"$lastN": {{"n": {}, "input": {}}}}}"#, n, arr));
            prop_assert_eq!(last, ok(&format!(r#"{{"$slice": [{}, -{}]}}"#, arr, n)));
        }

        /// `$maxN` is the first n of the array sorted descending.
        #[test]
        fn max_n_is_a_sorted_prefix(xs in prop::collection::vec(-100i32..100, 0..10), n in 1usize..12) {
            let arr = format!("{:?}", xs);
            let mut sorted = xs.clone();
            sorted.sort_by(|a, b| b.cmp(a));
            sorted.truncate(n);
            let got = ok(&format!(r#"{{"$maxN": {{"n": {}, "input": {}}}}}"#, n, arr));
            prop_assert_eq!(got, Value::Array(sorted.into_iter().map(Value::Int32).collect()));
        }
    }
}
