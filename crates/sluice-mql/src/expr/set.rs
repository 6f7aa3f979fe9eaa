//! Set operators: `$setIntersection $setUnion $setDifference $setEquals $setIsSubset
//! $allElementsTrue $anyElementTrue`.
//!
//! Arrays are read as sets: duplicates count once and order does not matter. Elements are equal
//! as `$eq` finds them (`1` and `1.0` are one element). `$setUnion` and `$setIntersection` return
//! their elements in BSON order, as MongoDB's ordered value set does; `$setDifference` keeps the
//! order of its first argument.

use std::borrow::Cow;
use std::cmp::Ordering;

use super::registry::{type_name, Arity, FuncDef};
use super::ExprError;
use crate::{compare_values, Value};

type Args<'a, 'b> = &'a [Cow<'b, Value>];

pub(crate) const FUNCS: &[FuncDef] = &[
    FuncDef { name: "$setIntersection", arity: Arity::Any, f: set_intersection },
    FuncDef { name: "$setUnion", arity: Arity::Any, f: set_union },
    FuncDef { name: "$setDifference", arity: Arity::Exact(2), f: set_difference },
    FuncDef { name: "$setEquals", arity: Arity::Any, f: set_equals },
    FuncDef { name: "$setIsSubset", arity: Arity::Exact(2), f: set_is_subset },
    FuncDef { name: "$allElementsTrue", arity: Arity::Exact(1), f: all_elements_true },
    FuncDef { name: "$anyElementTrue", arity: Arity::Exact(1), f: any_element_true },
];

/// The distinct elements of an array, sorted in BSON order (the first of equal elements kept).
fn to_set(items: &[Value]) -> Vec<Value> {
    let mut out: Vec<Value> = items.to_vec();
    out.sort_by(compare_values);
    out.dedup_by(|later, earlier| compare_values(later, earlier) == Ordering::Equal);
    out
}

fn contains(sorted: &[Value], v: &Value) -> bool {
    sorted.binary_search_by(|x| compare_values(x, v)).is_ok()
}

/// The operands of an n-ary set operator as arrays; `Ok(None)` when one is null or missing.
/// Operands are read left to right, as mongod reads them: a null before a non-array makes the
/// result null, a non-array before a null is an error.
fn array_operands<'a>(op: &'static str, args: &'a [Cow<'_, Value>]) -> Result<Option<Vec<&'a [Value]>>, ExprError> {
    let mut out = Vec::with_capacity(args.len());
    for a in args {
        match &**a {
            Value::Array(items) => out.push(items.as_slice()),
            v if v.is_nullish() => return Ok(None),
            v => {
                return Err(ExprError::new(
                    op,
                    format!("All operands of {} must be arrays. One argument is of type: {}", op, type_name(v)),
                ))
            }
        }
    }
    Ok(Some(out))
}

fn set_intersection(args: Args) -> Result<Value, ExprError> {
    let Some(arrays) = array_operands("$setIntersection", args)? else { return Ok(Value::Null) };
    let Some((first, rest)) = arrays.split_first() else { return Ok(Value::Array(Vec::new())) };
    let others: Vec<Vec<Value>> = rest.iter().map(|a| to_set(a)).collect();
    let out = to_set(first).into_iter().filter(|v| others.iter().all(|s| contains(s, v))).collect();
    Ok(Value::Array(out))
}

fn set_union(args: Args) -> Result<Value, ExprError> {
    let Some(arrays) = array_operands("$setUnion", args)? else { return Ok(Value::Null) };
    let all: Vec<Value> = arrays.iter().flat_map(|a| a.iter().cloned()).collect();
    Ok(Value::Array(to_set(&all)))
}

fn set_difference(args: Args) -> Result<Value, ExprError> {
    let (a, b) = (&*args[0], &*args[1]);
    if a.is_nullish() || b.is_nullish() {
        return Ok(Value::Null);
    }
    let (Value::Array(a), Value::Array(b)) = (a, b) else {
        let (which, bad) = if a.as_array().is_none() { ("First", a) } else { ("Second", b) };
        return Err(ExprError::new(
            "$setDifference",
            format!(
                "both operands of $setDifference must be arrays. {} argument is of type: {}",
                which,
                type_name(bad)
            ),
        ));
    };
    let exclude = to_set(b);
    let mut out: Vec<Value> = Vec::new();
    for v in a {
        if !contains(&exclude, v) && !out.iter().any(|o| compare_values(o, v) == Ordering::Equal) {
            out.push(v.clone());
        }
    }
    Ok(Value::Array(out))
}

fn set_equals(args: Args) -> Result<Value, ExprError> {
    let op = "$setEquals";
    if args.len() < 2 {
        return Err(ExprError::new(op, format!("$setEquals needs at least two arguments had: {}", args.len())));
    }
    let mut sets = Vec::with_capacity(args.len());
    for (i, a) in args.iter().enumerate() {
        match &**a {
            Value::Array(items) => sets.push(to_set(items)),
            // mongod numbers the argument from 1 ("2-th").
            v => {
                return Err(ExprError::new(
                    op,
                    format!(
                        "All operands of $setEquals must be arrays. {}-th argument is of type: {}",
                        i + 1,
                        type_name(v)
                    ),
                ))
            }
        }
    }
    let first = &sets[0];
    Ok(Value::Bool(
        sets[1..].iter().all(|s| {
            s.len() == first.len() && s.iter().zip(first).all(|(x, y)| compare_values(x, y) == Ordering::Equal)
        }),
    ))
}

fn set_is_subset(args: Args) -> Result<Value, ExprError> {
    let (a, b) = (&*args[0], &*args[1]);
    let Value::Array(a) = a else {
        return Err(ExprError::new(
            "$setIsSubset",
            format!("both operands of $setIsSubset must be arrays. First argument is of type: {}", type_name(a)),
        ));
    };
    let Value::Array(b) = b else {
        return Err(ExprError::new(
            "$setIsSubset",
            format!("both operands of $setIsSubset must be arrays. Second argument is of type: {}", type_name(b)),
        ));
    };
    let superset = to_set(b);
    Ok(Value::Bool(a.iter().all(|v| contains(&superset, v))))
}

fn elements<'v>(op: &'static str, v: &'v Value) -> Result<&'v [Value], ExprError> {
    v.as_array()
        .ok_or_else(|| ExprError::new(op, format!("{}'s argument must be an array, but is {}", op, type_name(v))))
}

fn all_elements_true(args: Args) -> Result<Value, ExprError> {
    Ok(Value::Bool(elements("$allElementsTrue", &args[0])?.iter().all(Value::truthy)))
}

fn any_element_true(args: Args) -> Result<Value, ExprError> {
    Ok(Value::Bool(elements("$anyElementTrue", &args[0])?.iter().any(Value::truthy)))
}

#[cfg(test)]
mod tests {
    use super::super::tests::{eval, ok, v};
    use crate::Value;
    use proptest::prelude::*;

    #[test]
    fn set_results() {
        assert_eq!(ok(r#"{"$setIntersection": [["red", "blue"], ["blue", "red", "blue"]]}"#), v(r#"["blue", "red"]"#));
        assert_eq!(ok(r#"{"$setIntersection": [["red", "blue"], [["red"], ["blue"]]]}"#), v("[]"));
        assert_eq!(ok(r#"{"$setIntersection": []}"#), v("[]"));
        assert_eq!(ok(r#"{"$setUnion": [[2, 1], [1.0, 3], []]}"#), v("[1, 2, 3]"));
        assert_eq!(ok(r#"{"$setDifference": [["b", "a", "b", "c"], ["c"]]}"#), v(r#"["b", "a"]"#));
        assert_eq!(ok(r#"{"$setEquals": [[1, 2, 2], [2, 1], [1.0, 2]]}"#), v("true"));
        assert_eq!(ok(r#"{"$setEquals": [[1], [1, 2]]}"#), v("false"));
        assert_eq!(ok(r#"{"$setIsSubset": [["a", "a"], ["a", "b"]]}"#), v("true"));
        assert_eq!(ok(r#"{"$setIsSubset": [[[1]], [1]]}"#), v("false"));
        assert_eq!(ok(r#"{"$allElementsTrue": [[1, true, "x"]]}"#), v("true"));
        assert_eq!(ok(r#"{"$allElementsTrue": [[]]}"#), v("true"));
        assert_eq!(ok(r#"{"$allElementsTrue": [[1, null]]}"#), v("false"));
        assert_eq!(ok(r#"{"$anyElementTrue": [[0, false, null]]}"#), v("false"));
        assert_eq!(ok(r#"{"$anyElementTrue": [[0, [false]]]}"#), v("true"));
    }

    #[test]
    fn nulls_and_errors() {
        assert_eq!(ok(r#"{"$setUnion": [[1], null]}"#), Value::Null);
        assert_eq!(ok(r#"{"$setIntersection": ["$nope", [1]]}"#), Value::Null);
        assert_eq!(ok(r#"{"$setDifference": [[1], "$nope"]}"#), Value::Null);
        let e = eval(r#"{"$setUnion": [[1], "a"]}"#).expect_err("a string");
        assert_eq!(e.message, "All operands of $setUnion must be arrays. One argument is of type: string");
        let e = eval(r#"{"$setDifference": [1, [1]]}"#).expect_err("an int");
        assert_eq!(e.message, "both operands of $setDifference must be arrays. First argument is of type: int");
        let e = eval(r#"{"$setEquals": [[1], null]}"#).expect_err("null");
        assert_eq!(e.message, "All operands of $setEquals must be arrays. 2-th argument is of type: null");
        // Read left to right: the first of a null and a non-array decides.
        assert_eq!(ok(r#"{"$setUnion": [null, 1]}"#), Value::Null);
        assert!(eval(r#"{"$setUnion": [1, null]}"#).is_err());
        let compile = |s: &str| super::super::compile(&v(s)).map(|_| ()).map_err(|e| e.0);
        assert_eq!(compile(r#"{"$setEquals": [[1]]}"#), Err("$setEquals needs at least two arguments had: 1".into()));
        assert_eq!(compile(r#"{"$setEquals": []}"#), Err("$setEquals needs at least two arguments had: 0".into()));
        let e = eval(r#"{"$setIsSubset": [[1], "$nope"]}"#).expect_err("missing");
        assert_eq!(e.message, "both operands of $setIsSubset must be arrays. Second argument is of type: missing");
        let e = eval(r#"{"$allElementsTrue": [null]}"#).expect_err("null");
        assert_eq!(e.message, "$allElementsTrue's argument must be an array, but is null");
    }

    fn ints() -> impl Strategy<Value = Vec<i32>> {
        prop::collection::vec(-5i32..5, 0..8)
    }

    fn arr(xs: &[i32]) -> String {
        format!("{:?}", xs)
    }

    proptest! {
        /// Union and intersection are commutative; a set equals itself; each is a subset of the union.
        #[test]
        fn set_laws(a in ints(), b in ints()) {
            let (a, b) = (arr(&a), arr(&b));
            let union_ab = ok(&format!(r#"{{"$setUnion": [{}, {}]}}"#, a, b));
            prop_assert_eq!(&union_ab, &ok(&format!(r#"{{"$setUnion": [{}, {}]}}"#, b, a)));
            let inter_ab = ok(&format!(r#"{{"$setIntersection": [{}, {}]}}"#, a, b));
            prop_assert_eq!(&inter_ab, &ok(&format!(r#"{{"$setIntersection": [{}, {}]}}"#, b, a)));
            prop_assert_eq!(ok(&format!(r#"{{"$setEquals": [{}, {}]}}"#, a, a)), Value::Bool(true));
            let subset = format!(r#"{{"$setIsSubset": [{}, {{"$setUnion": [{}, {}]}}]}}"#, a, a, b);
            prop_assert_eq!(ok(&subset), Value::Bool(true));
            // (a - b) and b share nothing.
            let disjoint = format!(
                r#"{{"$setIntersection": [{{"$setDifference": [{}, {}]}}, {}]}}"#, a, b, b
            );
            prop_assert_eq!(ok(&disjoint), Value::Array(Vec::new()));
        }
    }
}
