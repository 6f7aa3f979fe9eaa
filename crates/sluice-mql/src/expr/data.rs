//! Data size, timestamp and random operators: `$binarySize $bsonSize $tsSecond $tsIncrement $rand`,
//! and Atlas Stream Processing's `$createUUID`.

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
    FuncDef { name: "$rand", arity: Arity::Any, f: rand },
    FuncDef { name: "$createUUID", arity: Arity::Any, f: create_uuid },
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
        // The leading space is mongod's.
        v => Err(ExprError::new(op, format!(" Argument to {} must be a timestamp, but is {}", op, type_name(v)))),
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

/// The next 64 random bits of this thread's generator.
fn next_u64() -> u64 {
    RNG.with(|state| {
        let mut x = state.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        state.set(x);
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    })
}

/// A uniformly distributed double in [0, 1): the top 53 random bits, scaled.
fn next_unit() -> f64 {
    (next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// Checks the argument of an operator that takes none: `{}` or `[]` (no positional argument).
fn no_arguments(op: &'static str, args: Args) -> Result<(), ExprError> {
    match args {
        [] => Ok(()),
        [one] => match &**one {
            Value::Document(d) if d.is_empty() => Ok(()),
            Value::Document(_) => Err(ExprError::new(op, format!("{} does not currently accept arguments", op))),
            _ => Err(ExprError::new(op, format!("invalid parameter: expected an object ({})", op))),
        },
        _ => Err(ExprError::new(op, format!("{} does not currently accept arguments", op))),
    }
}

/// `{$rand: {}}`: a random double in [0, 1), different at every evaluation.
fn rand(args: Args) -> Result<Value, ExprError> {
    no_arguments("$rand", args)?;
    Ok(Value::Double(next_unit()))
}

/// `{$createUUID: {}}` (Atlas Stream Processing): a random (version 4) UUID, as binary subtype 4.
fn create_uuid(args: Args) -> Result<Value, ExprError> {
    no_arguments("$createUUID", args)?;
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&next_u64().to_be_bytes());
    bytes[8..].copy_from_slice(&next_u64().to_be_bytes());
    bytes[6] = (bytes[6] & 0x0f) | 0x40; // version 4
    bytes[8] = (bytes[8] & 0x3f) | 0x80; // RFC 4122 variant
    Ok(Value::Binary(4, bytes.to_vec()))
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
        assert_eq!(e.message, " Argument to $tsIncrement must be a timestamp, but is date");
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
        assert!(matches!(ok(r#"{"$rand": []}"#), Value::Double(_)));
        let e = eval(r#"{"$rand": {"seed": 1}}"#).expect_err("an argument");
        assert_eq!(e.message, "$rand does not currently accept arguments");
        assert!(eval(r#"{"$rand": [1]}"#).is_err());
        let e = eval(r#"{"$rand": "x"}"#).expect_err("not an object");
        assert_eq!(e.message, "invalid parameter: expected an object ($rand)");
    }

    #[test]
    fn create_uuid_gives_distinct_version_4_uuids() {
        let a = ok(r#"{"$createUUID": {}}"#);
        let b = ok(r#"{"$createUUID": {}}"#);
        assert_ne!(a, b);
        let Value::Binary(4, bytes) = a else { panic!("a UUID: {:?}", a) };
        assert_eq!(bytes.len(), 16);
        assert_eq!(bytes[6] >> 4, 4);
        assert_eq!(bytes[8] >> 6, 0b10);
        assert!(eval(r#"{"$createUUID": {"x": 1}}"#).is_err());
    }

    #[test]
    fn current_date_is_the_evaluation_clock() {
        // The test scope's clock is 1000 ms after the epoch.
        assert_eq!(ok(r#"{"$currentDate": {}}"#), Value::DateTime(1_000));
        assert!(super::super::compile(&crate::json::parse_value(r#"{"$currentDate": 1}"#).expect("json")).is_err());
    }
}
