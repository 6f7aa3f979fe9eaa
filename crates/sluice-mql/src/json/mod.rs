//! MongoDB Extended JSON v2: parsing (relaxed and canonical forms both accepted) and writing
//! (relaxed by default, canonical on request). Types survive the round trip: dates, ObjectId,
//! Int32/Int64/Double/Decimal128, binary, timestamps, regexes.

pub mod base64;
mod ejson_types;
mod fast_parse;
mod in_place;
mod parse;
mod write;

pub use parse::{parse_document, parse_document_bytes, parse_value, JsonError};
pub use write::{to_json_string, write_document, write_value, JsonMode};
