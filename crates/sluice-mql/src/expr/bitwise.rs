//! Bitwise operators: `$bitAnd $bitOr $bitXor $bitNot`.
//!
//! As MongoDB: operands are ints or longs only; the result is an int when every operand is an
//! int, else a long; null or missing anywhere gives null.

use std::borrow::Cow;

use super::registry::{type_name, Arity, FuncDef};
use super::ExprError;
use crate::Value;

type Args<'a, 'b> = &'a [Cow<'b, Value>];

pub(crate) const FUNCS: &[FuncDef] = &[
    FuncDef { name: "$bitAnd", arity: Arity::Any, f: bit_and },
    FuncDef { name: "$bitOr", arity: Arity::Any, f: bit_or },
    FuncDef { name: "$bitXor", arity: Arity::Any, f: bit_xor },
    FuncDef { name: "$bitNot", arity: Arity::Exact(1), f: bit_not },
];

/// Folds the operands with `f`, starting from `identity` (the result of no operands).
fn fold(op: &'static str, args: Args, identity: i64, f: fn(i64, i64) -> i64) -> Result<Value, ExprError> {
    let mut acc = identity;
    let mut all_int = true;
    let mut saw_null = false;
    for a in args {
        match &**a {
            Value::Int32(i) => acc = f(acc, i64::from(*i)),
            Value::Int64(l) => {
                acc = f(acc, *l);
                all_int = false;
            }
            v if v.is_nullish() => saw_null = true,
            // mongod names no type here (it does for `$bitNot`).
            _ => return Err(ExprError::new(op, format!("{} only supports int and long operands.", op))),
        }
    }
    if saw_null {
        return Ok(Value::Null);
    }
    // Every operand an int: the result fits an int (bitwise operations do not widen).
    Ok(if all_int { Value::Int32(acc as i32) } else { Value::Int64(acc) })
}

fn bit_and(args: Args) -> Result<Value, ExprError> {
    fold("$bitAnd", args, -1, |a, b| a & b)
}

fn bit_or(args: Args) -> Result<Value, ExprError> {
    fold("$bitOr", args, 0, |a, b| a | b)
}

fn bit_xor(args: Args) -> Result<Value, ExprError> {
    fold("$bitXor", args, 0, |a, b| a ^ b)
}

fn bit_not(args: Args) -> Result<Value, ExprError> {
    match &*args[0] {
        Value::Int32(i) => Ok(Value::Int32(!i)),
        Value::Int64(l) => Ok(Value::Int64(!l)),
        v if v.is_nullish() => Ok(Value::Null),
        v if v.is_number() => {
            Err(ExprError::new("$bitNot", format!("$bitNot only supports int and long, not: {}.", type_name(v))))
        }
        v => Err(ExprError::new("$bitNot", format!("$bitNot only supports numeric types, not {}", type_name(v)))),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{eval, ok, v};
    use crate::Value;
    use proptest::prelude::*;

    #[test]
    fn int_and_long_results() {
        assert_eq!(ok(r#"{"$bitAnd": [{"$numberInt": "3"}, 5]}"#), Value::Int32(1));
        assert_eq!(ok(r#"{"$bitOr": [3, 5]}"#), Value::Int32(7));
        assert_eq!(ok(r#"{"$bitXor": [3, 5]}"#), Value::Int32(6));
        assert_eq!(ok(r#"{"$bitAnd": [3, {"$numberLong": "63"}]}"#), Value::Int64(3));
        assert_eq!(ok(r#"{"$bitNot": 0}"#), Value::Int32(-1));
        assert_eq!(ok(r#"{"$bitNot": {"$numberLong": "2"}}"#), Value::Int64(-3));
        // No operands: the identity of each operation, an int.
        assert_eq!(ok(r#"{"$bitAnd": []}"#), Value::Int32(-1));
        assert_eq!(ok(r#"{"$bitOr": []}"#), Value::Int32(0));
        assert_eq!(ok(r#"{"$bitXor": []}"#), Value::Int32(0));
    }

    #[test]
    fn nulls_and_wrong_types() {
        assert_eq!(ok(r#"{"$bitAnd": [1, null]}"#), Value::Null);
        assert_eq!(ok(r#"{"$bitOr": [1, "$nope"]}"#), Value::Null);
        assert_eq!(ok(r#"{"$bitNot": "$nope"}"#), Value::Null);
        assert!(eval(r#"{"$bitAnd": [1, 1.0]}"#).is_err());
        assert!(eval(r#"{"$bitOr": [1, {"$numberDecimal": "1"}]}"#).is_err());
        let e = eval(r#"{"$bitXor": [1, "a"]}"#).expect_err("a string");
        // mongod 8.2's wordings, measured.
        assert_eq!(e.message, "$bitXor only supports int and long operands.");
        assert_eq!(
            eval(r#"{"$bitNot": 2.5}"#).expect_err("a double").message,
            "$bitNot only supports int and long, not: double."
        );
        assert_eq!(
            eval(r#"{"$bitNot": "a"}"#).expect_err("a string").message,
            "$bitNot only supports numeric types, not string"
        );
        assert_eq!(ok(r#"{"$bitAnd": ["$a", "$b"]}"#), v("0"));
    }

    proptest! {
        /// `$bitNot` twice is the identity, for ints and longs.
        #[test]
        fn bit_not_twice_is_identity(i in any::<i32>(), l in any::<i64>()) {
            prop_assert_eq!(ok(&format!(r#"{{"$bitNot": {{"$bitNot": {}}}}}"#, i)), Value::Int32(i));
            let long = format!(r#"{{"$bitNot": {{"$bitNot": {{"$numberLong": "{}"}}}}}}"#, l);
            prop_assert_eq!(ok(&long), Value::Int64(l));
        }

        /// De Morgan: not(a and b) = (not a) or (not b).
        #[test]
        fn de_morgan(a in any::<i32>(), b in any::<i32>()) {
            let lhs = ok(&format!(r#"{{"$bitNot": {{"$bitAnd": [{}, {}]}}}}"#, a, b));
            let rhs = ok(&format!(r#"{{"$bitOr": [{{"$bitNot": {}}}, {{"$bitNot": {}}}]}}"#, a, b));
            prop_assert_eq!(lhs, rhs);
        }
    }
}
