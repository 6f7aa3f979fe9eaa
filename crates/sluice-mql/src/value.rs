//! The value model: every BSON type, plus `Missing` for "no such field".

use crate::{Decimal128, Document, ObjectId};

/// Strings and keys: short ones (up to 24 bytes) live inline without a heap allocation.
pub type Str = compact_str::CompactString;

/// A BSON value.
///
/// `Missing` is not a BSON type: it is what a field path yields when the field does not exist,
/// and what `$$REMOVE` evaluates to. Invariant: a [`Document`] never stores `Missing`; setting a
/// field to `Missing` removes it.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    /// No such field (never stored).
    #[default]
    Missing,
    /// BSON MinKey.
    MinKey,
    /// BSON undefined (deprecated, kept for lossless round trips).
    Undefined,
    /// BSON null.
    Null,
    /// BSON boolean.
    Bool(bool),
    /// BSON 32-bit integer.
    Int32(i32),
    /// BSON 64-bit integer.
    Int64(i64),
    /// BSON double.
    Double(f64),
    /// BSON Decimal128.
    Decimal(Decimal128),
    /// BSON UTF-8 string.
    String(Str),
    /// Embedded document.
    Document(Document),
    /// Array.
    Array(Vec<Value>),
    /// Binary data with its subtype.
    Binary(u8, Vec<u8>),
    /// ObjectId.
    ObjectId(ObjectId),
    /// UTC datetime, milliseconds since the Unix epoch.
    DateTime(i64),
    /// BSON timestamp (seconds, increment).
    Timestamp(u32, u32),
    /// Regular expression (pattern, options).
    Regex(Box<(Str, Str)>),
    /// BSON MaxKey.
    MaxKey,
}

/// The BSON type of a value, named as `$type` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BsonType {
    /// "missing" (only from the `$type` expression).
    Missing,
    /// "minKey"
    MinKey,
    /// "undefined"
    Undefined,
    /// "null"
    Null,
    /// "bool"
    Bool,
    /// "int"
    Int32,
    /// "long"
    Int64,
    /// "double"
    Double,
    /// "decimal"
    Decimal,
    /// "string"
    String,
    /// "object"
    Document,
    /// "array"
    Array,
    /// "binData"
    Binary,
    /// "objectId"
    ObjectId,
    /// "date"
    DateTime,
    /// "timestamp"
    Timestamp,
    /// "regex"
    Regex,
    /// "maxKey"
    MaxKey,
}

impl BsonType {
    /// Every type with a `$type` alias: (alias, BSON type number, type).
    pub const ALL: [(&'static str, i32, BsonType); 17] = [
        ("double", 1, BsonType::Double),
        ("string", 2, BsonType::String),
        ("object", 3, BsonType::Document),
        ("array", 4, BsonType::Array),
        ("binData", 5, BsonType::Binary),
        ("undefined", 6, BsonType::Undefined),
        ("objectId", 7, BsonType::ObjectId),
        ("bool", 8, BsonType::Bool),
        ("date", 9, BsonType::DateTime),
        ("null", 10, BsonType::Null),
        ("regex", 11, BsonType::Regex),
        ("int", 16, BsonType::Int32),
        ("timestamp", 17, BsonType::Timestamp),
        ("long", 18, BsonType::Int64),
        ("decimal", 19, BsonType::Decimal),
        ("minKey", -1, BsonType::MinKey),
        ("maxKey", 127, BsonType::MaxKey),
    ];

    /// The alias `$type` returns ("int", "string", "missing", ...).
    pub fn alias(self) -> &'static str {
        if self == BsonType::Missing {
            return "missing";
        }
        Self::ALL.iter().find(|(_, _, t)| *t == self).map(|(a, _, _)| *a).unwrap_or("missing")
    }

    /// Looks a type up by alias (`"int"`) or by BSON number (`16`).
    pub fn from_alias(alias: &str) -> Option<BsonType> {
        Self::ALL.iter().find(|(a, _, _)| *a == alias).map(|(_, _, t)| *t)
    }

    /// Looks a type up by its BSON type number.
    pub fn from_number(n: i64) -> Option<BsonType> {
        Self::ALL.iter().find(|(_, c, _)| i64::from(*c) == n).map(|(_, _, t)| *t)
    }
}

impl Value {
    /// The value's BSON type.
    pub fn bson_type(&self) -> BsonType {
        match self {
            Value::Missing => BsonType::Missing,
            Value::MinKey => BsonType::MinKey,
            Value::Undefined => BsonType::Undefined,
            Value::Null => BsonType::Null,
            Value::Bool(_) => BsonType::Bool,
            Value::Int32(_) => BsonType::Int32,
            Value::Int64(_) => BsonType::Int64,
            Value::Double(_) => BsonType::Double,
            Value::Decimal(_) => BsonType::Decimal,
            Value::String(_) => BsonType::String,
            Value::Document(_) => BsonType::Document,
            Value::Array(_) => BsonType::Array,
            Value::Binary(..) => BsonType::Binary,
            Value::ObjectId(_) => BsonType::ObjectId,
            Value::DateTime(_) => BsonType::DateTime,
            Value::Timestamp(..) => BsonType::Timestamp,
            Value::Regex(_) => BsonType::Regex,
            Value::MaxKey => BsonType::MaxKey,
        }
    }

    /// Builds a string value.
    pub fn str(s: &str) -> Value {
        Value::String(Str::from(s))
    }

    /// True for `Missing`.
    pub fn is_missing(&self) -> bool {
        matches!(self, Value::Missing)
    }

    /// True for null, undefined and missing: what `$ifNull` and most operators treat as "no value".
    pub fn is_nullish(&self) -> bool {
        matches!(self, Value::Missing | Value::Null | Value::Undefined)
    }

    /// True for the four numeric types.
    pub fn is_number(&self) -> bool {
        matches!(self, Value::Int32(_) | Value::Int64(_) | Value::Double(_) | Value::Decimal(_))
    }

    /// Truthiness as `$cond`/`$and` see it: false, null, undefined, missing and numeric zero are false.
    pub fn truthy(&self) -> bool {
        match self {
            Value::Missing | Value::Null | Value::Undefined => false,
            Value::Bool(b) => *b,
            Value::Int32(i) => *i != 0,
            Value::Int64(i) => *i != 0,
            Value::Double(d) => *d != 0.0,
            Value::Decimal(d) => !d.is_zero(),
            _ => true,
        }
    }

    /// The value as f64 for numeric types (Decimal128 rounds).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int32(i) => Some(f64::from(*i)),
            Value::Int64(i) => Some(*i as f64),
            Value::Double(d) => Some(*d),
            Value::Decimal(d) => Some(d.to_f64()),
            _ => None,
        }
    }

    /// The value as i64 when it is an integer type, or a double/decimal with an integral value in range.
    pub fn as_exact_i64(&self) -> Option<i64> {
        match self {
            Value::Int32(i) => Some(i64::from(*i)),
            Value::Int64(i) => Some(*i),
            Value::Double(d) => {
                if d.fract() == 0.0 && *d >= -9.223_372_036_854_776e18 && *d < 9.223_372_036_854_776e18 {
                    Some(*d as i64)
                } else {
                    None
                }
            }
            Value::Decimal(d) => d.to_exact_i64(),
            _ => None,
        }
    }

    /// The string slice of a string value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s.as_str()),
            _ => None,
        }
    }

    /// The document of an embedded-document value.
    pub fn as_document(&self) -> Option<&Document> {
        match self {
            Value::Document(d) => Some(d),
            _ => None,
        }
    }

    /// The elements of an array value.
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    /// An approximate in-memory size in bytes, for state-size and throughput statistics.
    pub fn approx_size(&self) -> usize {
        match self {
            Value::String(s) => 8 + s.len(),
            Value::Document(d) => d.approx_size(),
            Value::Array(a) => 8 + a.iter().map(Value::approx_size).sum::<usize>(),
            Value::Binary(_, b) => 8 + b.len(),
            Value::Regex(r) => 8 + r.0.len() + r.1.len(),
            Value::Decimal(_) => 16,
            Value::ObjectId(_) => 12,
            _ => 8,
        }
    }
}

impl From<Document> for Value {
    fn from(d: Document) -> Value {
        Value::Document(d)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::str(s)
    }
}

impl From<i32> for Value {
    fn from(i: i32) -> Value {
        Value::Int32(i)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Value {
        Value::Int64(i)
    }
}

impl From<f64> for Value {
    fn from(d: f64) -> Value {
        Value::Double(d)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}
