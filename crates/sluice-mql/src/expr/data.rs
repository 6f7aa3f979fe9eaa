//! Data size, timestamp and random operators: `$binarySize $bsonSize $tsSecond $tsIncrement $rand`.

use std::borrow::Cow;
use std::cell::Cell;
use std::hash::{BuildHasher, Hasher};

use super::registry::{type_name, Arity, FuncDef};
use super::ExprError;
use crate::bson::encode_document;
use crate::Value;

type Args<'a, 'b> = &'a [Cow<'b, Value>];

pub(crate) const FUNCS: &[FuncDef] = &[
    FuncDef { name: "$binarySize", arity: Arity::Exact(1), f: binary_size },
    FuncDef { name: "$bsonSize", arity: Arity::Exact(1), f: bson_size },
    FuncDef { name: "$tsSecond", arity: Arity::Exact(1), f: ts_second },
    FuncDef { name: "$tsIncrement", arity: Arity::Exact(1), f: ts_increment },
    FuncDef { name: "$rand", arity: Arity::Exact(1), f: rand },
];

/// A size as MongoDB returns it: an int when it fits, else a long.
fn size_value(n: usize) -> Value {
    i32::try_from(n).map(Value::Int32).unwrap_or(Value::Int64(n as i64))
}

fn binary_size(args: Args) -> Result<Value, ExprError> {
    match &*args[0] {
        v if v.is_nullish() => Ok(Value::Null),
        Value::String(s) => Ok(size_value(s.len())),
        Value::Binary(_, bytes) => Ok(size_value(bytes.len())),
        v => Err(ExprError::new(
            "$binarySize",
            format!("$binarySize requires a string or BinData argument, found: {}", type_name(v)),
        )),
    }
}

fn bson_size(args: Args) -> Result<Value, ExprError> {
    match &*args[0] {
        v if v.is_nullish() => Ok(Value::Null),
        Value::Document(d) => {
            encode_document(d).map(|b| size_value(b.len())).map_err(|e| ExprError::new("$bsonSize", e.to_string()))
        }
        v => Err(ExprError::new("$bsonSize", format!("$bsonSize requires a document input, found: {}", type_name(v)))),
    }
}

fn timestamp_part(op: &'static str, v: &Value, part: fn(u32, u32) -> u32) -> Result<Value, ExprError> {
    match v {
        v if v.is_nullish() => Ok(Value::Null),
        Value::Timestamp(t, i) => Ok(Value::Int64(i64::from(part(*t, *i)))),
        v => Err(ExprError::new(op, format!("Argument to {} must be a timestamp, but is {}", op, type_name(v)))),
    }
}

fn ts_second(args: Args) -> Result<Value, ExprError> {
    timestamp_part("$tsSecond", &args[0], |t, _| t)
}

fn ts_increment(args: Args) -> Result<Value, ExprError> {
    timestamp_part("$tsIncrement", &args[0], |_, i| i)
}

thread_local! {
    /// The state of this thread's xorshift64* generator, seeded from the process's random hash
    /// keys (never zero, which xorshift cannot leave).
    static RNG: Cell<u64> = Cell::new({
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(0x9e37_79b9_7f4a_7c15);
        h.finish() | 1
    });
}

/// A uniformly distributed double in [0, 1).
fn next_unit() -> f64 {
    RNG.with(|state| {
        let mut x = state.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        state.set(x);
        // The top 53 bits of the scrambled state, scaled into [0, 1).
        (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    })
}

/// `{$rand: {}}`: a random double in [0, 1), different at every evaluation.
fn rand(args: Args) -> Result<Value, ExprError> {
    match &*args[0] {
        Value::Document(d) if d.is_empty() => Ok(Value::Double(next_unit())),
        _ => Err(ExprError::new("$rand", "$rand does not currently accept arguments")),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{eval, ok};
    use crate::Value;

    #[test]
    fn sizes() {
        assert_eq!(ok(r#"{"$binarySize": "Hello World!"}"#), Value::Int32(12));
        assert_eq!(ok(r#"{"$binarySize": "ñ"}"#), Value::Int32(2));
        assert_eq!(ok(r#"{"$binarySize": {"$binary": {"base64": "AAEC", "subType": "00"}}}"#), Value::Int32(3));
        assert_eq!(ok(r#"{"$binarySize": null}"#), Value::Null);
        assert!(eval(r#"{"$binarySize": 1}"#).is_err());
        // int32 length + (type byte, "a\0", int32) + terminator.
        assert_eq!(ok(r#"{"$bsonSize": {"$literal": {"a": 1}}}"#), Value::Int32(12));
        assert_eq!(ok(r#"{"$bsonSize": {"$literal": {}}}"#), Value::Int32(5));
        // 4 + (1 + "watts\0" + 4) + (1 + "temp\0" + 4) + 1.
        assert_eq!(ok(r#"{"$bsonSize": "$obs"}"#), Value::Int32(26));
        assert_eq!(ok(r#"{"$bsonSize": "$nope"}"#), Value::Null);
        let e = eval(r#"{"$bsonSize": "$s"}"#).expect_err("a string");
        assert_eq!(e.message, "$bsonSize requires a document input, found: string");
    }

    #[test]
    fn timestamps() {
        let ts = r#"{"$timestamp": {"t": 1622731060, "i": 2}}"#;
        assert_eq!(ok(&format!(r#"{{"$tsSecond": {}}}"#, ts)), Value::Int64(1_622_731_060));
        assert_eq!(ok(&format!(r#"{{"$tsIncrement": {}}}"#, ts)), Value::Int64(2));
        assert_eq!(ok(r#"{"$tsSecond": null}"#), Value::Null);
        let e = eval(r#"{"$tsIncrement": "$t"}"#).expect_err("a date");
        assert_eq!(e.message, "Argument to $tsIncrement must be a timestamp, but is date");
    }

    #[test]
    fn rand_is_a_fresh_double_in_the_unit_interval() {
        let mut seen = Vec::new();
        for _ in 0..1000 {
            let Value::Double(x) = ok(r#"{"$rand": {}}"#) else { panic!("a double") };
            assert!((0.0..1.0).contains(&x), "{}", x);
            seen.push(x);
        }
        seen.sort_by(f64::total_cmp);
        seen.dedup();
        assert!(seen.len() > 990, "values repeat: {}", seen.len());
        // Roughly uniform: about half below one half.
        let low = seen.iter().filter(|x| **x < 0.5).count();
        assert!((350..650).contains(&low), "{}", low);
        assert!(eval(r#"{"$rand": {"seed": 1}}"#).is_err());
    }
}
