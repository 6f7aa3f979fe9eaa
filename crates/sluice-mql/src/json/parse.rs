//! JSON text to [`Value`]/[`Document`], straight from the serde_json tokenizer (no intermediate tree).

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use super::ejson_types::typed_value;
use super::fast_parse::{parse_fast, parse_fast_document};
use crate::{Document, Str, Value};

/// A JSON text that is not valid JSON, not a document where one is required, or a malformed
/// Extended JSON wrapper.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct JsonError(pub String);

/// Parses a JSON object into a document.
pub fn parse_document(text: &str) -> Result<Document, JsonError> {
    parse_document_bytes(text.as_bytes())
}

/// Parses a JSON object, given as bytes, into a document.
pub fn parse_document_bytes(bytes: &[u8]) -> Result<Document, JsonError> {
    if let Some(d) = parse_fast_document(bytes) {
        return Ok(d);
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Document(d)) => Ok(d),
        Ok(other) => Err(JsonError(format!("expected a JSON object, got {}", other.bson_type().alias()))),
        Err(e) => Err(JsonError(e.to_string())),
    }
}

/// Parses any JSON value.
pub fn parse_value(text: &str) -> Result<Value, JsonError> {
    if let Some(v) = parse_fast(text.as_bytes()) {
        return Ok(v);
    }
    serde_json::from_str::<Value>(text).map_err(|e| JsonError(e.to_string()))
}

/// Relaxed Extended JSON: an integer that fits 32 bits is an int, else a long.
pub(super) fn int_value(v: i64) -> Value {
    match i32::try_from(v) {
        Ok(i) => Value::Int32(i),
        Err(_) => Value::Int64(v),
    }
}

/// An unsigned integer: an int or a long when it fits, else a double.
pub(super) fn uint_value(v: u64) -> Value {
    match (i32::try_from(v), i64::try_from(v)) {
        (Ok(i), _) => Value::Int32(i),
        (_, Ok(l)) => Value::Int64(l),
        _ => Value::Double(v as f64),
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(int_value(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(uint_value(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Double(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(Str::from(v)))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(4));
        while let Some(v) = seq.next_element::<Value>()? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut doc = Document::with_capacity(map.size_hint().unwrap_or(8));
        while let Some(key) = map.next_key::<Key>()? {
            let value = map.next_value::<Value>()?;
            doc.insert(key.0, value);
        }
        match typed_value(&doc) {
            Ok(Some(v)) => Ok(v),
            Ok(None) => Ok(Value::Document(doc)),
            Err(msg) => Err(de::Error::custom(msg)),
        }
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

impl<'de> Deserialize<'de> for Document {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Document, D::Error> {
        match d.deserialize_any(ValueVisitor)? {
            Value::Document(doc) => Ok(doc),
            other => Err(de::Error::custom(format!("expected an object, got {}", other.bson_type().alias()))),
        }
    }
}

struct Key(Str);

struct KeyVisitor;

impl Visitor<'_> for KeyVisitor {
    type Value = Key;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object key")
    }
    fn visit_str<E>(self, v: &str) -> Result<Key, E> {
        Ok(Key(Str::from(v)))
    }
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Key, D::Error> {
        d.deserialize_str(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Decimal128, ObjectId};

    #[test]
    fn numbers_keep_their_types() {
        let d = parse_document(r#"{"i": 1, "l": 3000000000, "d": 1.5, "e": 1.0}"#).expect("valid");
        assert_eq!(d.get("i"), Some(&Value::Int32(1)));
        assert_eq!(d.get("l"), Some(&Value::Int64(3_000_000_000)));
        assert_eq!(d.get("d"), Some(&Value::Double(1.5)));
        assert_eq!(d.get("e"), Some(&Value::Double(1.0)));
    }

    #[test]
    fn extended_json_wrappers_become_typed_values() {
        let d = parse_document(
            r#"{"id": {"$oid": "5f1d7a5e0000000000000001"}, "t": {"$date": "2024-01-01T00:00:00Z"},
                "n": {"$numberLong": "7"}, "x": {"$numberDecimal": "1.10"}, "c": {"$date": {"$numberLong": "5"}},
                "nan": {"$numberDouble": "NaN"}, "i": {"$numberInt": "3"}}"#,
        )
        .expect("valid");
        assert_eq!(d.get("id"), ObjectId::parse_hex("5f1d7a5e0000000000000001").map(Value::ObjectId).as_ref());
        assert_eq!(d.get("t"), Some(&Value::DateTime(1_704_067_200_000)));
        assert_eq!(d.get("n"), Some(&Value::Int64(7)));
        assert_eq!(d.get("x"), Decimal128::parse("1.10").map(Value::Decimal).as_ref());
        assert_eq!(d.get("c"), Some(&Value::DateTime(5)));
        assert!(matches!(d.get("nan"), Some(Value::Double(x)) if x.is_nan()));
        assert_eq!(d.get("i"), Some(&Value::Int32(3)));
    }

    #[test]
    fn malformed_input_is_an_error() {
        assert!(parse_document("{").is_err());
        assert!(parse_document("[1]").is_err());
        assert!(parse_document(r#"{"a": {"$oid": "nothex"}}"#).is_err());
    }
}
