//! `$toHashedIndexKey`: the 64-bit key a MongoDB hashed index stores for a value, computed as
//! mongod's `BSONElementHasher::hash64` does (MD5 over the value's canonical type and bytes, seed
//! 0, numbers squashed to 64-bit integers; the first 8 digest bytes, little-endian).
//!
//! MD5 is written out here (RFC 1321) rather than taken from a crate: it is used for this key
//! only, never for security.

use std::borrow::Cow;

use super::registry::{Arity, FuncDef};
use super::ExprError;
use crate::Value;

pub(crate) const FUNCS: &[FuncDef] =
    &[FuncDef { name: "$toHashedIndexKey", arity: Arity::Exact(1), f: to_hashed_index_key }];

fn to_hashed_index_key(args: &[Cow<'_, Value>]) -> Result<Value, ExprError> {
    // mongod hashes a missing value as null.
    let v = if args[0].is_missing() { &Value::Null } else { &*args[0] };
    Ok(Value::Int64(hash64(v)))
}

/// mongod's hashed-index key of a value (seed 0).
pub(crate) fn hash64(v: &Value) -> i64 {
    let mut h = Md5::new();
    h.update(&0i32.to_le_bytes());
    hash_element(&mut h, v, None);
    let digest = h.finish();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    i64::from_le_bytes(first)
}

/// BSON's canonical type order, as `canonicalizeBSONType` numbers it.
fn canonical_type(v: &Value) -> i32 {
    match v {
        Value::MinKey => -1,
        Value::Missing | Value::Undefined => 0,
        Value::Null => 5,
        Value::Int32(_) | Value::Int64(_) | Value::Double(_) | Value::Decimal(_) => 10,
        Value::String(_) => 15,
        Value::Document(_) => 20,
        Value::Array(_) => 25,
        Value::Binary(..) => 30,
        Value::ObjectId(_) => 35,
        Value::Bool(_) => 40,
        Value::DateTime(_) => 45,
        Value::Timestamp(..) => 47,
        Value::Regex(_) => 50,
        Value::MaxKey => 127,
    }
}

/// A number as `safeNumberLongForHash` squashes it: truncated toward zero, clamped, NaN as 0.
fn number_for_hash(v: &Value) -> i64 {
    match v {
        Value::Int32(i) => i64::from(*i),
        Value::Int64(l) => *l,
        other => {
            let d = other.as_f64().unwrap_or(0.0);
            // `as` truncates toward zero, saturates at the bounds and maps NaN to 0.
            d as i64
        }
    }
}

/// `recursiveHash`: the canonical type, the field name (inside documents), then the value.
fn hash_element(h: &mut Md5, v: &Value, field: Option<&str>) {
    h.update(&canonical_type(v).to_le_bytes());
    if let Some(name) = field {
        h.update(name.as_bytes());
        h.update(&[0]);
    }
    match v {
        Value::Document(d) => {
            for (k, x) in d.iter() {
                hash_element(h, x, Some(k));
            }
            end_of_object(h);
        }
        Value::Array(items) => {
            for (i, x) in items.iter().enumerate() {
                hash_element(h, x, Some(&i.to_string()));
            }
            end_of_object(h);
        }
        Value::Int32(_) | Value::Int64(_) | Value::Double(_) | Value::Decimal(_) => {
            h.update(&number_for_hash(v).to_le_bytes())
        }
        Value::String(s) => {
            h.update(&(s.len() as i32 + 1).to_le_bytes());
            h.update(s.as_bytes());
            h.update(&[0]);
        }
        Value::Bool(b) => h.update(&[u8::from(*b)]),
        Value::DateTime(ms) => h.update(&ms.to_le_bytes()),
        // BSON stores the increment in the low four bytes, then the seconds.
        Value::Timestamp(t, i) => {
            h.update(&i.to_le_bytes());
            h.update(&t.to_le_bytes());
        }
        Value::ObjectId(id) => h.update(&id.0),
        Value::Binary(sub, bytes) => {
            h.update(&(bytes.len() as i32).to_le_bytes());
            h.update(&[*sub]);
            h.update(bytes);
        }
        Value::Regex(re) => {
            for part in [&re.0, &re.1] {
                h.update(part.as_bytes());
                h.update(&[0]);
            }
        }
        Value::Missing | Value::Undefined | Value::Null | Value::MinKey | Value::MaxKey => {}
    }
}

/// The EOO element that ends every embedded document: type 0 and an empty name.
fn end_of_object(h: &mut Md5) {
    h.update(&0i32.to_le_bytes());
    h.update(&[0]);
}

/// A streaming MD5 (RFC 1321).
struct Md5 {
    state: [u32; 4],
    buffer: Vec<u8>,
    length: u64,
}

const SHIFTS: [u32; 64] = [
    7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
    4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15,
    21,
];

impl Md5 {
    fn new() -> Md5 {
        Md5 { state: [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476], buffer: Vec::with_capacity(64), length: 0 }
    }

    fn update(&mut self, data: &[u8]) {
        self.length = self.length.wrapping_add(data.len() as u64);
        self.buffer.extend_from_slice(data);
        let full = self.buffer.len() / 64 * 64;
        let blocks: Vec<u8> = self.buffer.drain(..full).collect();
        for block in blocks.chunks_exact(64) {
            self.compress(block);
        }
    }

    fn finish(mut self) -> [u8; 16] {
        let bits = self.length.wrapping_mul(8);
        let mut pad = vec![0x80u8];
        while (self.buffer.len() + pad.len()) % 64 != 56 {
            pad.push(0);
        }
        pad.extend_from_slice(&bits.to_le_bytes());
        // The length is already counted: feed the padding without counting it.
        self.buffer.extend_from_slice(&pad);
        let blocks = std::mem::take(&mut self.buffer);
        for block in blocks.chunks_exact(64) {
            self.compress(block);
        }
        let mut out = [0u8; 16];
        for (i, word) in self.state.iter().enumerate() {
            out[i * 4..i * 4 + 4].copy_from_slice(&word.to_le_bytes());
        }
        out
    }

    fn compress(&mut self, block: &[u8]) {
        let mut m = [0u32; 16];
        for (i, w) in m.iter_mut().enumerate() {
            *w = u32::from_le_bytes([block[i * 4], block[i * 4 + 1], block[i * 4 + 2], block[i * 4 + 3]]);
        }
        let [mut a, mut b, mut c, mut d] = self.state;
        for (i, shift) in SHIFTS.iter().enumerate() {
            let (f, g) = match i / 16 {
                0 => ((b & c) | (!b & d), i),
                1 => ((d & b) | (!d & c), (5 * i + 1) % 16),
                2 => (b ^ c ^ d, (3 * i + 5) % 16),
                _ => (c ^ (b | !d), (7 * i) % 16),
            };
            // K[i] = floor(|sin(i + 1)| * 2^32).
            let k = ((i as f64 + 1.0).sin().abs() * 4_294_967_296.0) as u32;
            let rotated = a.wrapping_add(f).wrapping_add(k).wrapping_add(m[g]).rotate_left(*shift);
            a = d;
            d = c;
            c = b;
            b = b.wrapping_add(rotated);
        }
        for (s, x) in self.state.iter_mut().zip([a, b, c, d]) {
            *s = s.wrapping_add(x);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::ok;
    use super::*;

    fn md5_hex(data: &[u8]) -> String {
        let mut h = Md5::new();
        h.update(data);
        h.finish().iter().map(|b| format!("{:02x}", b)).collect()
    }

    #[test]
    fn md5_matches_rfc_1321() {
        assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(md5_hex(b"abc"), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(md5_hex(b"message digest"), "f96b697d7cb7938d525a2f31aaf161d0");
        let long = b"12345678901234567890123456789012345678901234567890123456789012345678901234567890";
        assert_eq!(md5_hex(long), "57edf4a22be3c955ac49da2e2107b67a");
        // Fed in pieces, the same digest.
        let mut h = Md5::new();
        for chunk in long.chunks(7) {
            h.update(chunk);
        }
        let pieces: String = h.finish().iter().map(|b| format!("{:02x}", b)).collect();
        assert_eq!(pieces, "57edf4a22be3c955ac49da2e2107b67a");
    }

    #[test]
    fn hashes_as_mongod_does() {
        // mongod's own start-up check: BSON("check" << 42) hashes to -944302157085130861.
        assert_eq!(hash64(&Value::Int32(42)), -944_302_157_085_130_861);
        // Numbers hash alike whatever their type, and a double's fraction is dropped.
        assert_eq!(hash64(&Value::Int64(42)), hash64(&Value::Int32(42)));
        assert_eq!(hash64(&Value::Double(42.9)), hash64(&Value::Int32(42)));
        assert_ne!(hash64(&Value::str("42")), hash64(&Value::Int32(42)));
        // MongoDB's $toHashedIndexKey documentation example.
        assert_eq!(hash64(&Value::str("string to hash")), 763_543_691_661_428_748);
        assert_eq!(ok(r#"{"$toHashedIndexKey": 42}"#), Value::Int64(-944_302_157_085_130_861));
        assert_eq!(ok(r#"{"$toHashedIndexKey": "$nope"}"#), ok(r#"{"$toHashedIndexKey": null}"#));
        assert!(matches!(ok(r#"{"$toHashedIndexKey": {"$literal": {"a": [1, "x"]}}}"#), Value::Int64(_)));
    }
}
