//! MongoDB documents and the MongoDB Query Language, as Atlas Stream Processing uses them.
//!
//! - [`Value`] and [`Document`]: ordered, BSON-compatible values that keep their numeric types.
//! - [`json`]: MongoDB Extended JSON v2 in and out (relaxed by default, canonical on request).
//! - [`query`]: the `$match` query language.
//! - [`expr`]: aggregation expressions, compiled once and evaluated per document.
//! - [`accumulator`]: `$group` accumulators.
//! - [`js`]: JavaScript for `$function` and `$accumulator` (QuickJS, with memory and time caps).
//!
//! Semantics follow MongoDB: BSON comparison order across types, numeric type promotion,
//! null versus missing, implicit array traversal on dotted paths in queries.

pub mod accumulator;
pub mod bson;
mod compare;
mod datetime;
mod decimal;
mod document;
pub mod expr;
mod group_key;
pub mod js;
pub mod json;
mod key_eq;
mod objectid;
mod path;
pub mod query;
mod regex_cache;
pub mod serde_value;
mod value;

pub use compare::{compare_values, values_equal};
pub use datetime::{days_in_month, format_iso_millis, parse_iso_datetime, parse_iso_local, CivilDateTime};
pub use decimal::Decimal128;
pub use document::Document;
pub use group_key::GroupKey;
pub use objectid::ObjectId;
pub use path::FieldPath;
pub use regex_cache::compile_regex;
pub use value::{BsonType, Str, Value};
