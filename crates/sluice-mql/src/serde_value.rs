//! A serde `Deserializer` over a [`Value`]: a stage's options are read once into typed structs
//! (with `#[serde(deny_unknown_fields)]`), straight from the pipeline's values, and a failure
//! names the field where it happened (`config.acks: invalid type: ...`).
//!
//! Integers may come as BSON int32, int64 or as doubles with no fraction (what mongosh sends);
//! dates read as milliseconds since the epoch, ObjectIds as their hex string, binary data as
//! bytes. A field whose type is [`Raw`] keeps the value as it is (an expression to compile).

use std::fmt;

use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use crate::{Document, Value};

/// Reads a `T` from `v`.
pub fn from_value<'de, T: Deserialize<'de>>(v: &'de Value) -> Result<T, DeError> {
    T::deserialize(ValueDeserializer(v))
}

/// Reads a `T` from the fields of `d`.
pub fn from_document<'de, T: Deserialize<'de>>(d: &'de Document) -> Result<T, DeError> {
    T::deserialize(DocumentDeserializer(d))
}

/// Why a value could not be read, and where.
#[derive(Debug, Clone, PartialEq)]
pub struct DeError {
    /// Field names and array indexes from the top to the value that failed.
    pub path: Vec<String>,
    /// What was wrong with it.
    pub message: String,
}

impl DeError {
    /// The same error, one level further out (under `key`).
    fn under(mut self, key: &str) -> DeError {
        self.path.insert(0, key.to_string());
        self
    }

    /// The dotted path of the failing field under `prefix` (e.g. `$emit`), and what was wrong.
    pub fn describe(&self, prefix: &str) -> String {
        let mut at = prefix.to_string();
        for p in &self.path {
            if !at.is_empty() {
                at.push('.');
            }
            at.push_str(p);
        }
        if at.is_empty() {
            self.message.clone()
        } else {
            format!("{}: {}", at, self.message)
        }
    }
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe(""))
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DeError { path: Vec::new(), message: msg.to_string() }
    }

    fn unknown_field(field: &str, expected: &'static [&'static str]) -> Self {
        DeError {
            path: Vec::new(),
            message: format!("unknown field '{}'; the fields here are {}", field, expected.join(", ")),
        }
    }
}

/// A value kept as it is, for a field that holds an expression or a sub-pipeline.
#[derive(Debug, Clone, PartialEq)]
pub struct Raw(pub Value);

/// How [`ValueDeserializer`] hands a [`Raw`] its value: a one-entry map under this key, whose
/// value is the BSON of `{v: value}`.
const RAW_KEY: &str = "$__sluice_raw_value";

impl<'de> Deserialize<'de> for Raw {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Raw, D::Error> {
        struct RawVisitor;
        impl<'de> Visitor<'de> for RawVisitor {
            type Value = Raw;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Raw, A::Error> {
                let key: Option<String> = map.next_key()?;
                if key.as_deref() != Some(RAW_KEY) {
                    return Err(de::Error::custom("a value can only be kept from a pipeline's values"));
                }
                let RawBytes(bytes) = map.next_value()?;
                let doc = crate::bson::decode_document(&bytes).map_err(de::Error::custom)?;
                Ok(Raw(doc.get("v").cloned().unwrap_or(Value::Null)))
            }
        }
        d.deserialize_newtype_struct(RAW_KEY, RawVisitor)
    }
}

/// An object's fields in the order written (a `let` of variables, say), each read as a `T`.
#[derive(Debug, Clone, PartialEq)]
pub struct Entries<T>(pub Vec<(String, T)>);

impl<T> Default for Entries<T> {
    fn default() -> Self {
        Entries(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Entries<T> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Entries<T>, D::Error> {
        struct EntriesVisitor<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for EntriesVisitor<T> {
            type Value = Entries<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries<T>, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, T>()? {
                    out.push((k, v));
                }
                Ok(Entries(out))
            }
        }
        d.deserialize_map(EntriesVisitor(std::marker::PhantomData))
    }
}

/// The BSON bytes a [`Raw`] is handed.
struct RawBytes(Vec<u8>);

impl<'de> Deserialize<'de> for RawBytes {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<RawBytes, D::Error> {
        struct BytesVisitor;
        impl<'de> Visitor<'de> for BytesVisitor {
            type Value = RawBytes;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("bytes")
            }
            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<RawBytes, E> {
                Ok(RawBytes(v.to_vec()))
            }
        }
        d.deserialize_bytes(BytesVisitor)
    }
}

/// Deserializes one [`Value`].
#[derive(Clone, Copy)]
pub struct ValueDeserializer<'de>(pub &'de Value);

/// Deserializes the fields of a [`Document`] as a map.
#[derive(Clone, Copy)]
pub struct DocumentDeserializer<'de>(pub &'de Document);

impl<'de> de::Deserializer<'de> for DocumentDeserializer<'de> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_map(Fields { iter: self.0.iter(), pending: None })
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
        unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier ignored_any
    }
}

/// A whole number held by `v`, whichever way BSON holds it.
fn whole(v: &Value) -> Option<i64> {
    match v {
        Value::Int32(n) => Some(i64::from(*n)),
        Value::Int64(n) => Some(*n),
        Value::Double(d) if d.fract() == 0.0 && d.abs() < 9.0e15 => Some(*d as i64),
        _ => None,
    }
}

macro_rules! integer {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
            match whole(self.0) {
                Some(n) => visitor.visit_i64(n),
                None => self.deserialize_any(visitor),
            }
        }
    )*};
}

impl<'de> de::Deserializer<'de> for ValueDeserializer<'de> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.0 {
            Value::Missing | Value::Null | Value::Undefined | Value::MinKey | Value::MaxKey => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Int32(n) => visitor.visit_i32(*n),
            Value::Int64(n) | Value::DateTime(n) => visitor.visit_i64(*n),
            Value::Double(d) => visitor.visit_f64(*d),
            Value::Decimal(d) => visitor.visit_string(d.to_string()),
            Value::String(s) => visitor.visit_borrowed_str(s.as_str()),
            Value::Document(d) => visitor.visit_map(Fields { iter: d.iter(), pending: None }),
            Value::Array(items) => visitor.visit_seq(Items { iter: items.iter().enumerate() }),
            Value::Binary(_, b) => visitor.visit_borrowed_bytes(b),
            Value::ObjectId(id) => visitor.visit_string(id.to_hex()),
            Value::Timestamp(t, i) => visitor.visit_u64((u64::from(*t) << 32) | u64::from(*i)),
            Value::Regex(r) => visitor.visit_string(format!("/{}/{}", r.0.as_str(), r.1.as_str())),
        }
    }

    integer! { deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.0 {
            Value::Missing | Value::Null | Value::Undefined => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, name: &'static str, visitor: V) -> Result<V::Value, DeError> {
        if name != RAW_KEY {
            return visitor.visit_newtype_struct(self);
        }
        let mut doc = Document::new();
        doc.insert("v", self.0.clone());
        let bytes = crate::bson::encode_document(&doc).map_err(de::Error::custom)?;
        visitor.visit_map(RawEntry { bytes: Some(bytes) })
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        match self.0 {
            // A unit variant by its name.
            Value::String(s) => visitor.visit_enum(s.as_str().into_deserializer()),
            other => Err(de::Error::custom(format!("expected a string, found {}", other.bson_type().alias()))),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i128 u128 f32 f64 char str string bytes byte_buf unit unit_struct seq tuple tuple_struct map
        struct identifier ignored_any
    }
}

/// A document's fields, each error put under its field's name.
struct Fields<'de, I: Iterator<Item = (&'de crate::Str, &'de Value)>> {
    iter: I,
    pending: Option<(&'de str, &'de Value)>,
}

impl<'de, I: Iterator<Item = (&'de crate::Str, &'de Value)>> MapAccess<'de> for Fields<'de, I> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, DeError> {
        let Some((k, v)) = self.iter.next() else { return Ok(None) };
        self.pending = Some((k.as_str(), v));
        let key: de::value::BorrowedStrDeserializer<'de, DeError> = de::value::BorrowedStrDeserializer::new(k.as_str());
        seed.deserialize(key).map(Some).map_err(|e| e.under(k.as_str()))
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, DeError> {
        let (k, v) = self.pending.take().ok_or_else(|| de::Error::custom("a value without its key"))?;
        seed.deserialize(ValueDeserializer(v)).map_err(|e| e.under(k))
    }
}

/// An array's items, each error put under its index.
struct Items<I: Iterator> {
    iter: I,
}

impl<'de, I: Iterator<Item = (usize, &'de Value)>> SeqAccess<'de> for Items<I> {
    type Error = DeError;

    fn next_element_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<Option<S::Value>, DeError> {
        let Some((i, v)) = self.iter.next() else { return Ok(None) };
        seed.deserialize(ValueDeserializer(v)).map(Some).map_err(|e| e.under(&i.to_string()))
    }
}

/// The one entry [`Raw`] reads.
struct RawEntry {
    bytes: Option<Vec<u8>>,
}

impl<'de> MapAccess<'de> for RawEntry {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, DeError> {
        if self.bytes.is_none() {
            return Ok(None);
        }
        seed.deserialize(de::value::BorrowedStrDeserializer::<DeError>::new(RAW_KEY)).map(Some)
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, DeError> {
        let bytes = self.bytes.take().ok_or_else(|| de::Error::custom("no value left"))?;
        seed.deserialize(de::value::BytesDeserializer::<DeError>::new(&bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::parse_document;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Config {
        acks: Option<i32>,
        #[serde(rename = "keyFormat")]
        key_format: Option<String>,
        flag: Option<bool>,
        #[serde(default)]
        topics: Vec<String>,
        key: Option<Raw>,
        mode: Option<Mode>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "camelCase")]
    enum Mode {
        AtLeastOnce,
        ExactlyOnce,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Stage {
        topic: String,
        #[serde(default)]
        config: Option<Config>,
    }

    fn read(json: &str) -> Result<Stage, DeError> {
        let d = parse_document(json).unwrap();
        from_document(&d)
    }

    #[test]
    fn reads_fields_of_every_kind() {
        let s = read(
            r#"{"topic": "t", "config": {"acks": 1.0, "keyFormat": "string", "flag": true, "topics": ["a", "b"],
                "key": {"$concat": ["$a", "-"]}, "mode": "exactlyOnce"}}"#,
        )
        .unwrap();
        let c = s.config.unwrap();
        assert_eq!((c.acks, c.key_format.as_deref(), c.flag), (Some(1), Some("string"), Some(true)));
        assert_eq!(c.topics, vec!["a", "b"]);
        assert_eq!(c.mode, Some(Mode::ExactlyOnce));
        let key = parse_document(r#"{"k": {"$concat": ["$a", "-"]}}"#).unwrap();
        assert_eq!(c.key, Some(Raw(key.get("k").cloned().unwrap())), "kept as it was");
        assert_eq!(read(r#"{"topic": "t"}"#).unwrap().config, None);
    }

    #[test]
    fn errors_name_the_field_where_they_happened() {
        let e = read(r#"{"topic": "t", "config": {"acks": "all"}}"#).unwrap_err();
        assert_eq!(e.path, vec!["config", "acks"]);
        assert!(e.describe("$emit").starts_with("$emit.config.acks: invalid type: string \"all\""), "{}", e);
        let e = read(r#"{"topic": "t", "config": {"fetch.max.bytes": "1"}}"#).unwrap_err();
        assert!(e.describe("$source").starts_with("$source.config.fetch.max.bytes: unknown field"), "{}", e);
        let e = read(r#"{"topic": "t", "config": {"topics": ["a", 3]}}"#).unwrap_err();
        assert_eq!(e.path, vec!["config", "topics", "1"]);
        let e = read(r#"{"topic": "t", "config": {"acks": 1.5}}"#).unwrap_err();
        assert_eq!(e.path, vec!["config", "acks"]);
        let e = read(r#"{"topic": "t", "config": {"mode": "twice"}}"#).unwrap_err();
        assert!(e.to_string().contains("twice"), "{}", e);
        assert!(read(r#"{"config": {}}"#).unwrap_err().to_string().contains("topic"));
    }
}
