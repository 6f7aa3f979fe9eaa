//! Recognises the Extended JSON type wrappers (`{"$oid": ...}`, `{"$date": ...}`, ...) in a parsed object.

use super::base64;
use crate::{parse_iso_datetime, Decimal128, Document, ObjectId, Str, Value};

/// If `doc` is an Extended JSON type wrapper, returns the typed value it stands for;
/// `Ok(None)` when it is an ordinary document; `Err` when it is a malformed wrapper.
pub fn typed_value(doc: &Document) -> Result<Option<Value>, String> {
    let Some((key, v)) = doc.first() else { return Ok(None) };
    if !key.starts_with('$') {
        return Ok(None);
    }
    let single = doc.len() == 1;
    let s = v.as_str();
    let bad = |what: &str| {
        let mut shown = String::new();
        super::write_value(&mut shown, v, super::JsonMode::Relaxed);
        Err(format!("invalid Extended JSON {}: {}", what, shown))
    };
    let value = match (key.as_str(), single) {
        ("$oid", true) => match s.and_then(ObjectId::parse_hex) {
            Some(id) => Value::ObjectId(id),
            None => return bad("$oid"),
        },
        ("$numberInt", true) => match s.and_then(|s| s.parse::<i32>().ok()) {
            Some(i) => Value::Int32(i),
            None => return bad("$numberInt"),
        },
        ("$numberLong", true) => match s.and_then(|s| s.parse::<i64>().ok()) {
            Some(i) => Value::Int64(i),
            None => return bad("$numberLong"),
        },
        ("$numberDouble", true) => match s.and_then(parse_double_string) {
            Some(d) => Value::Double(d),
            None => return bad("$numberDouble"),
        },
        ("$numberDecimal", true) => match s.and_then(Decimal128::parse) {
            Some(d) => Value::Decimal(d),
            None => return bad("$numberDecimal"),
        },
        ("$date", true) => match v {
            Value::String(s) => match parse_iso_datetime(s) {
                Some(ms) => Value::DateTime(ms),
                None => return bad("$date"),
            },
            Value::Int32(i) => Value::DateTime(i64::from(*i)),
            Value::Int64(i) => Value::DateTime(*i),
            Value::Double(d) if d.fract() == 0.0 => Value::DateTime(*d as i64),
            _ => return bad("$date"),
        },
        ("$binary", true) => {
            let Some(inner) = v.as_document() else { return bad("$binary") };
            let bytes = inner.get("base64").and_then(Value::as_str).and_then(base64::decode);
            let sub = inner.get("subType").and_then(Value::as_str).and_then(|s| u8::from_str_radix(s, 16).ok());
            match (bytes, sub) {
                (Some(b), Some(t)) => Value::Binary(t, b),
                _ => return bad("$binary"),
            }
        }
        ("$uuid", true) => {
            let hex: String = s.unwrap_or("").chars().filter(|c| *c != '-').collect();
            let bytes: Option<Vec<u8>> =
                (0..hex.len() / 2).map(|i| u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()).collect();
            match bytes {
                Some(b) if b.len() == 16 => Value::Binary(4, b),
                _ => return bad("$uuid"),
            }
        }
        ("$timestamp", true) => {
            let Some(inner) = v.as_document() else { return bad("$timestamp") };
            let t = inner.get("t").and_then(Value::as_exact_i64).and_then(|x| u32::try_from(x).ok());
            let i = inner.get("i").and_then(Value::as_exact_i64).and_then(|x| u32::try_from(x).ok());
            match (t, i) {
                (Some(t), Some(i)) => Value::Timestamp(t, i),
                _ => return bad("$timestamp"),
            }
        }
        ("$regularExpression", true) => {
            let Some(inner) = v.as_document() else { return bad("$regularExpression") };
            let p = inner.get("pattern").and_then(Value::as_str);
            let o = inner.get("options").and_then(Value::as_str);
            match (p, o) {
                (Some(p), Some(o)) => Value::Regex(Box::new((Str::from(p), Str::from(o)))),
                _ => return bad("$regularExpression"),
            }
        }
        ("$minKey", true) => Value::MinKey,
        ("$maxKey", true) => Value::MaxKey,
        ("$undefined", true) => Value::Undefined,
        ("$regex", false) if doc.len() == 2 && doc.contains_key("$options") => {
            // Legacy form {"$regex": "...", "$options": "..."} only when both are strings;
            // otherwise it is a query operator and stays a document.
            match (s, doc.get("$options").and_then(Value::as_str)) {
                (Some(p), Some(o)) => Value::Regex(Box::new((Str::from(p), Str::from(o)))),
                _ => return Ok(None),
            }
        }
        _ => return Ok(None),
    };
    Ok(Some(value))
}

fn parse_double_string(s: &str) -> Option<f64> {
    match s {
        "Infinity" => Some(f64::INFINITY),
        "-Infinity" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        _ => s.parse().ok(),
    }
}
