//! BSON, the binary form MongoDB stores and sends: [`encode_document`] and [`decode_document`]
//! convert losslessly between it and [`Document`] (every type keeps its type; arrays become
//! documents keyed "0", "1", ...). Deprecated types (DBPointer, JavaScript code, symbol) are refused.

use crate::{Decimal128, Document, ObjectId, Str, Value};

/// Why bytes are not a BSON document, or a document cannot be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("BSON: {0}")]
pub struct BsonError(pub String);

fn err<T>(msg: impl Into<String>) -> Result<T, BsonError> {
    Err(BsonError(msg.into()))
}

/// Encodes a document as BSON.
pub fn encode_document(doc: &Document) -> Result<Vec<u8>, BsonError> {
    let mut out = Vec::with_capacity(64);
    write_document(&mut out, doc.iter().map(|(k, v)| (k.as_str(), v)))?;
    Ok(out)
}

/// Appends to `out` the BSON document made of `fields`, in order, without building a
/// [`Document`] of them first (a checkpoint's state is encoded where it lies, never copied).
pub fn encode_fields_into(out: &mut Vec<u8>, fields: &[(&str, &Value)]) -> Result<(), BsonError> {
    write_document(out, fields.iter().copied())
}

/// Streaming encoding, for state too large to build as one [`Value`] first: a document is
/// begun, its fields written one by one (nested documents and arrays begun and ended the same
/// way), then ended. The bytes are those [`encode_document`] writes for the same content.
pub mod stream {
    use super::{write_cstring, write_value, BsonError};
    use crate::Value;

    /// Begins a document (or an array's body) at the end of `out`; pass the result to [`end`].
    pub fn begin(out: &mut Vec<u8>) -> usize {
        let start = out.len();
        out.extend_from_slice(&[0; 4]);
        start
    }

    /// Ends the document or array begun at `start`.
    pub fn end(out: &mut Vec<u8>, start: usize) -> Result<(), BsonError> {
        out.push(0);
        let len = i32::try_from(out.len() - start).map_err(|_| BsonError("document larger than 2 GiB".into()))?;
        out[start..start + 4].copy_from_slice(&len.to_le_bytes());
        Ok(())
    }

    /// Writes the field `key: v`.
    pub fn field(out: &mut Vec<u8>, key: &str, v: &Value) -> Result<(), BsonError> {
        let tag_at = out.len();
        out.push(0);
        write_cstring(out, key)?;
        out[tag_at] = write_value(out, v)?;
        Ok(())
    }

    /// Begins the field `key` holding a document; its fields follow, then [`end`] of the result.
    pub fn begin_document(out: &mut Vec<u8>, key: &str) -> Result<usize, BsonError> {
        out.push(0x03);
        write_cstring(out, key)?;
        Ok(begin(out))
    }

    /// Begins the field `key` holding an array; its elements follow ([`field_at`],
    /// [`begin_array_at`]), then [`end`] of the result.
    pub fn begin_array(out: &mut Vec<u8>, key: &str) -> Result<usize, BsonError> {
        out.push(0x04);
        write_cstring(out, key)?;
        Ok(begin(out))
    }

    /// Writes an array's element `i`.
    pub fn field_at(out: &mut Vec<u8>, i: usize, v: &Value) -> Result<(), BsonError> {
        field(out, itoa::Buffer::new().format(i), v)
    }

    /// Begins an array's element `i` holding a document.
    pub fn begin_document_at(out: &mut Vec<u8>, i: usize) -> Result<usize, BsonError> {
        begin_document(out, itoa::Buffer::new().format(i))
    }

    /// Begins an array's element `i` holding an array.
    pub fn begin_array_at(out: &mut Vec<u8>, i: usize) -> Result<usize, BsonError> {
        begin_array(out, itoa::Buffer::new().format(i))
    }
}

fn write_cstring(out: &mut Vec<u8>, s: &str) -> Result<(), BsonError> {
    if s.as_bytes().contains(&0) {
        return err(format!("key or regex {:?} contains a NUL byte", s));
    }
    out.extend_from_slice(s.as_bytes());
    out.push(0);
    Ok(())
}

fn write_document<'a>(out: &mut Vec<u8>, fields: impl Iterator<Item = (&'a str, &'a Value)>) -> Result<(), BsonError> {
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    for (k, v) in fields {
        let tag_at = out.len();
        out.push(0);
        write_cstring(out, k)?;
        out[tag_at] = write_value(out, v)?;
    }
    out.push(0);
    let len = i32::try_from(out.len() - start).or_else(|_| err("document larger than 2 GiB"))?;
    out[start..start + 4].copy_from_slice(&len.to_le_bytes());
    Ok(())
}

/// An array is a document keyed "0", "1", ...; the keys are formatted on the stack (large
/// checkpoints hold millions of small arrays).
fn write_array(out: &mut Vec<u8>, items: &[Value]) -> Result<(), BsonError> {
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    let mut index = itoa::Buffer::new();
    for (i, v) in items.iter().enumerate() {
        let tag_at = out.len();
        out.push(0);
        out.extend_from_slice(index.format(i).as_bytes());
        out.push(0);
        out[tag_at] = write_value(out, v)?;
    }
    out.push(0);
    let len = i32::try_from(out.len() - start).or_else(|_| err("array larger than 2 GiB"))?;
    out[start..start + 4].copy_from_slice(&len.to_le_bytes());
    Ok(())
}

/// Writes a value's payload and returns its type tag.
fn write_value(out: &mut Vec<u8>, v: &Value) -> Result<u8, BsonError> {
    Ok(match v {
        Value::Double(d) => {
            out.extend_from_slice(&d.to_le_bytes());
            0x01
        }
        Value::String(s) => {
            let len = i32::try_from(s.len() + 1).or_else(|_| err("string larger than 2 GiB"))?;
            out.extend_from_slice(&len.to_le_bytes());
            out.extend_from_slice(s.as_bytes());
            out.push(0);
            0x02
        }
        Value::Document(d) => {
            write_document(out, d.iter().map(|(k, v)| (k.as_str(), v)))?;
            0x03
        }
        Value::Array(items) => {
            write_array(out, items)?;
            0x04
        }
        Value::Binary(sub, bytes) => {
            let len = i32::try_from(bytes.len()).or_else(|_| err("binary larger than 2 GiB"))?;
            out.extend_from_slice(&len.to_le_bytes());
            out.push(*sub);
            out.extend_from_slice(bytes);
            0x05
        }
        Value::Undefined => 0x06,
        Value::ObjectId(id) => {
            out.extend_from_slice(&id.0);
            0x07
        }
        Value::Bool(b) => {
            out.push(u8::from(*b));
            0x08
        }
        Value::DateTime(ms) => {
            out.extend_from_slice(&ms.to_le_bytes());
            0x09
        }
        // A document never stores Missing; in an array it can only mean null.
        Value::Null | Value::Missing => 0x0A,
        Value::Regex(r) => {
            write_cstring(out, &r.0)?;
            write_cstring(out, &r.1)?;
            0x0B
        }
        Value::Int32(i) => {
            out.extend_from_slice(&i.to_le_bytes());
            0x10
        }
        Value::Timestamp(t, i) => {
            out.extend_from_slice(&i.to_le_bytes());
            out.extend_from_slice(&t.to_le_bytes());
            0x11
        }
        Value::Int64(i) => {
            out.extend_from_slice(&i.to_le_bytes());
            0x12
        }
        Value::Decimal(d) => {
            out.extend_from_slice(&d.to_bytes());
            0x13
        }
        Value::MinKey => 0xFF,
        Value::MaxKey => 0x7F,
    })
}

struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], BsonError> {
        let end = self.pos.checked_add(n).filter(|e| *e <= self.b.len());
        match end {
            Some(e) => {
                let s = &self.b[self.pos..e];
                self.pos = e;
                Ok(s)
            }
            None => err(format!("truncated input at byte {}", self.pos)),
        }
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], BsonError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    fn i32(&mut self) -> Result<i32, BsonError> {
        Ok(i32::from_le_bytes(self.array()?))
    }

    fn cstring(&mut self) -> Result<&'a str, BsonError> {
        let rest = &self.b[self.pos..];
        let nul = rest.iter().position(|c| *c == 0).ok_or_else(|| BsonError("unterminated C string".into()))?;
        let s = std::str::from_utf8(&rest[..nul]).or_else(|_| err("C string is not UTF-8"))?;
        self.pos += nul + 1;
        Ok(s)
    }

    /// Reads a document's fields, or an array's elements (whose keys are skipped), handing each
    /// to `add`.
    fn fields(
        &mut self,
        depth: usize,
        is_array: bool,
        mut add: impl FnMut(Option<Str>, Value),
    ) -> Result<(), BsonError> {
        if depth > 100 {
            return err("documents nested deeper than 100 levels");
        }
        let start = self.pos;
        let len = self.i32()?;
        if len < 5 {
            return err(format!("invalid document length {}", len));
        }
        let end = start + len as usize;
        if end > self.b.len() {
            return err(format!("document length {} runs past the input", len));
        }
        loop {
            let tag = self.array::<1>()?[0];
            if tag == 0 {
                break;
            }
            let key = self.cstring()?;
            let key = (!is_array).then(|| Str::from(key));
            let v = self.value(tag, depth)?;
            add(key, v);
        }
        if self.pos != end {
            return err(format!("document length {} does not match its content ({} bytes)", len, self.pos - start));
        }
        Ok(())
    }

    fn document(&mut self, depth: usize) -> Result<Document, BsonError> {
        let mut d = Document::new();
        // Later duplicates replace earlier ones, as MongoDB's drivers read them.
        self.fields(depth, false, |k, v| d.insert(k.unwrap_or_default(), v))?;
        Ok(d)
    }

    fn array_items(&mut self, depth: usize) -> Result<Vec<Value>, BsonError> {
        let mut items = Vec::new();
        self.fields(depth, true, |_, v| items.push(v))?;
        Ok(items)
    }

    fn value(&mut self, tag: u8, depth: usize) -> Result<Value, BsonError> {
        Ok(match tag {
            0x01 => Value::Double(f64::from_le_bytes(self.array()?)),
            0x02 => {
                let len = self.i32()?;
                if len < 1 {
                    return err(format!("invalid string length {}", len));
                }
                let bytes = self.take(len as usize)?;
                if bytes.last() != Some(&0) {
                    return err("string is not NUL-terminated");
                }
                let s = std::str::from_utf8(&bytes[..bytes.len() - 1]).or_else(|_| err("string is not UTF-8"))?;
                Value::String(Str::from(s))
            }
            0x03 => Value::Document(self.document(depth + 1)?),
            0x04 => Value::Array(self.array_items(depth + 1)?),
            0x05 => {
                let len = self.i32()?;
                if len < 0 {
                    return err(format!("invalid binary length {}", len));
                }
                let sub = self.array::<1>()?[0];
                Value::Binary(sub, self.take(len as usize)?.to_vec())
            }
            0x06 => Value::Undefined,
            0x07 => Value::ObjectId(ObjectId(self.array()?)),
            0x08 => match self.array::<1>()?[0] {
                0 => Value::Bool(false),
                1 => Value::Bool(true),
                b => return err(format!("invalid boolean byte {}", b)),
            },
            0x09 => Value::DateTime(i64::from_le_bytes(self.array()?)),
            0x0A => Value::Null,
            0x0B => {
                let pattern = Str::from(self.cstring()?);
                let options = Str::from(self.cstring()?);
                Value::Regex(Box::new((pattern, options)))
            }
            0x10 => Value::Int32(self.i32()?),
            0x11 => {
                let i = u32::from_le_bytes(self.array()?);
                let t = u32::from_le_bytes(self.array()?);
                Value::Timestamp(t, i)
            }
            0x12 => Value::Int64(i64::from_le_bytes(self.array()?)),
            0x13 => Value::Decimal(Decimal128::from_bytes(self.array()?)),
            0xFF => Value::MinKey,
            0x7F => Value::MaxKey,
            0x0C..=0x0F => return err(format!("deprecated BSON type 0x{:02X} is not supported", tag)),
            other => return err(format!("unknown BSON type 0x{:02X}", other)),
        })
    }
}

/// Decodes one BSON document; the input must be exactly that document.
/// Streaming decoding, for state too large to decode as one [`Value`] first: a document's
/// fields are walked in order, nested documents and arrays handed over as their bytes (to be
/// walked in turn, or decoded), scalars decoded.
pub mod raw {
    use super::{BsonError, Reader};
    use crate::Value;

    /// One field of a document being walked.
    #[derive(Debug, Clone, Copy)]
    pub enum RawField<'a> {
        /// A nested document (`is_array` false) or array, as its bytes.
        Nested {
            /// Whether it is an array.
            is_array: bool,
            /// The nested document's bytes, length prefix included.
            bytes: &'a [u8],
        },
        /// Any other value, at its position in the input.
        Scalar(&'a [u8], usize, u8),
    }

    impl RawField<'_> {
        /// The field's value, decoded whole.
        pub fn to_value(&self) -> Result<Value, BsonError> {
            match *self {
                RawField::Nested { is_array: false, bytes } => Ok(Value::Document(super::decode_document(bytes)?)),
                RawField::Nested { is_array: true, bytes } => {
                    let mut r = Reader { b: bytes, pos: 0 };
                    Ok(Value::Array(r.array_items(1)?))
                }
                RawField::Scalar(input, pos, tag) => Reader { b: input, pos }.value(tag, 1),
            }
        }
    }

    /// Calls `f` with each field of the document (or array) `bytes`, in order.
    pub fn walk<'a>(
        bytes: &'a [u8],
        mut f: impl FnMut(&'a str, RawField<'a>) -> Result<(), BsonError>,
    ) -> Result<(), BsonError> {
        let mut r = Reader { b: bytes, pos: 0 };
        let len = r.i32()?;
        if len < 5 || len as usize > bytes.len() {
            return Err(BsonError(format!("invalid document length {}", len)));
        }
        let end = len as usize;
        loop {
            let tag = r.array::<1>()?[0];
            if tag == 0 {
                break;
            }
            let key = r.cstring()?;
            let field = if tag == 0x03 || tag == 0x04 {
                let at = r.pos;
                let n = r.i32()?;
                if n < 5 {
                    return Err(BsonError(format!("invalid document length {}", n)));
                }
                r.pos = at;
                let nested = r.take(n as usize)?;
                RawField::Nested { is_array: tag == 0x04, bytes: nested }
            } else {
                let at = r.pos;
                // Decoded once to find where the next field starts; decoded again if wanted.
                r.value(tag, 1)?;
                RawField::Scalar(bytes, at, tag)
            };
            f(key, field)?;
        }
        if r.pos != end {
            return Err(BsonError(format!("document length {} does not match its content ({} bytes)", len, r.pos)));
        }
        Ok(())
    }
}

/// Decodes one whole BSON document; bytes left after it are an error.
pub fn decode_document(bytes: &[u8]) -> Result<Document, BsonError> {
    let mut r = Reader { b: bytes, pos: 0 };
    let d = r.document(0)?;
    if r.pos != bytes.len() {
        return err(format!("{} trailing bytes after the document", bytes.len() - r.pos));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::parse_document;
    use proptest::prelude::*;

    #[test]
    fn matches_the_specification_examples() {
        // bsonspec.org: {"hello": "world"}.
        let hello = parse_document(r#"{"hello": "world"}"#).expect("valid");
        assert_eq!(
            encode_document(&hello).expect("encodes"),
            b"\x16\x00\x00\x00\x02hello\x00\x06\x00\x00\x00world\x00\x00"
        );
        // {"BSON": ["awesome", 5.05, 1986]}.
        let awesome = parse_document(r#"{"BSON": ["awesome", 5.05, 1986]}"#).expect("valid");
        let expected: &[u8] = b"\x31\x00\x00\x00\x04BSON\x00\x26\x00\x00\x00\x020\x00\x08\x00\x00\x00awesome\x00\x011\x00\x33\x33\x33\x33\x33\x33\x14\x40\x102\x00\xc2\x07\x00\x00\x00\x00";
        assert_eq!(encode_document(&awesome).expect("encodes"), expected);
        assert_eq!(decode_document(expected).expect("decodes"), awesome);
    }

    #[test]
    fn every_type_round_trips() {
        let d = parse_document(
            r#"{"d": 1.5, "s": "x\u0000y", "o": {"a": [1, {"$numberLong": "2"}]}, "b": {"$binary": {"base64": "AAE=", "subType": "04"}},
                "u": {"$undefined": true}, "id": {"$oid": "5f1d7a5e0000000000000001"}, "t": true, "dt": {"$date": "2024-01-01T00:00:00Z"},
                "n": null, "r": {"$regularExpression": {"pattern": "^a", "options": "i"}}, "ts": {"$timestamp": {"t": 7, "i": 3}},
                "dec": {"$numberDecimal": "1.10"}, "min": {"$minKey": 1}, "max": {"$maxKey": 1}}"#,
        )
        .expect("valid");
        assert_eq!(decode_document(&encode_document(&d).expect("encodes")).expect("decodes"), d);
    }

    #[test]
    fn malformed_bytes_are_errors() {
        let good = encode_document(&parse_document(r#"{"a": "bc"}"#).expect("valid")).expect("encodes");
        assert!(decode_document(&good[..good.len() - 1]).is_err(), "truncated");
        let mut bad_len = good.clone();
        bad_len[0] = 200;
        assert!(decode_document(&bad_len).is_err(), "length past the end");
        let mut bad_tag = good.clone();
        bad_tag[4] = 0x0E;
        assert!(decode_document(&bad_tag).is_err(), "deprecated type");
        let mut trailing = good.clone();
        trailing.push(0);
        assert!(decode_document(&trailing).is_err(), "trailing bytes");
        let nul_key: Document = [("a\u{0}b", Value::Int32(1))].into_iter().collect();
        assert!(encode_document(&nul_key).is_err());
    }

    fn arb_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            any::<i32>().prop_map(Value::Int32),
            any::<i64>().prop_map(Value::Int64),
            any::<f64>().prop_filter("NaN never equals itself", |f| !f.is_nan()).prop_map(Value::Double),
            "[^\u{0}]{0,10}".prop_map(|s| Value::str(&s)),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::DateTime),
            any::<[u8; 12]>().prop_map(|b| Value::ObjectId(ObjectId(b))),
            (any::<u8>(), prop::collection::vec(any::<u8>(), 0..8)).prop_map(|(s, b)| Value::Binary(s, b)),
            (any::<u32>(), any::<u32>()).prop_map(|(t, i)| Value::Timestamp(t, i)),
            (-1_000_000i64..1_000_000).prop_map(|i| Value::Decimal(Decimal128::from_i64(i))),
            Just(Value::Null),
            Just(Value::MinKey),
            Just(Value::MaxKey),
        ];
        leaf.prop_recursive(3, 32, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::vec(("[a-z]{1,4}", inner), 0..5)
                    .prop_map(|kv| Value::Document(kv.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn arbitrary_documents_round_trip(v in prop::collection::vec(("[a-z]{1,4}", arb_value()), 0..6)) {
            let doc: Document = v.into_iter().collect();
            let bytes = encode_document(&doc).expect("encodes");
            prop_assert_eq!(decode_document(&bytes).expect("decodes"), doc);
        }
    }
}
