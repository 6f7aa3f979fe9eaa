//! `$convert`'s arguments and evaluation, with the binary conversions Atlas Stream Processing
//! documents for Kafka headers (and MongoDB 8.0 for strings): binData to and from int, long and
//! double (`byteOrder`: `"little"`, the default, or `"big"`), and to and from string (`format`:
//! `base64`, the default, `base64url`, `hex`, `uuid` or `utf8`). Every other conversion is
//! [`convert_to`]'s. Also `$toUUID` (MongoDB 8.0), a string to a UUID.

use std::borrow::Cow;

use super::compile::{compile_in, CompileScope};
use super::convert::convert_to;
use super::registry::{type_name, Arity, FuncDef};
use super::{CompileError, Expr, ExprError, Input, Scope};
use crate::json::base64;
use crate::{BsonType, Str, Value};

pub(crate) const FUNCS: &[FuncDef] = &[FuncDef { name: "$toUUID", arity: Arity::Exact(1), f: to_uuid }];

/// `$toUUID`: a UUID string (`"123e4567-e89b-12d3-a456-426614174000"`) as binary subtype 4.
fn to_uuid(args: &[Cow<'_, Value>]) -> Result<Value, ExprError> {
    match &*args[0] {
        v if v.is_nullish() => Ok(Value::Null),
        Value::String(s) => decode(s, Format::Uuid).map_err(|m| ExprError::new("$toUUID", m)),
        v => Err(ExprError::new(
            "$toUUID",
            format!("Unsupported conversion from {} to UUID in $convert with no onError value", type_name(v)),
        )),
    }
}

/// A compiled `$convert`: its argument expressions.
#[derive(Debug, Clone)]
pub struct ConvertSpec {
    input: Expr,
    to: Expr,
    on_error: Option<Expr>,
    on_null: Option<Expr>,
    format: Option<Expr>,
    byte_order: Option<Expr>,
}

const KEYS: &[&str] = &["input", "to", "onError", "onNull", "format", "byteOrder", "base"];

/// Compiles `{$convert: {input, to, onError?, onNull?, format?, byteOrder?}}`.
pub(super) fn compile_convert(arg: &Value, scope: &mut CompileScope) -> Result<ConvertSpec, CompileError> {
    let d = arg.as_document().ok_or_else(|| CompileError("$convert expects an object as its argument".into()))?;
    if let Some(k) = d.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(CompileError(format!("Unrecognized parameter to $convert: {}", k)));
    }
    let mut opt = |k: &str| d.get(k).map(|v| compile_in(v, scope)).transpose();
    let input = opt("input")?.ok_or_else(|| CompileError("Missing 'input' parameter to $convert".into()))?;
    let to = opt("to")?.ok_or_else(|| CompileError("Missing 'to' parameter to $convert".into()))?;
    Ok(ConvertSpec {
        input,
        to,
        on_error: opt("onError")?,
        on_null: opt("onNull")?,
        format: opt("format")?,
        byte_order: opt("byteOrder")?,
    })
}

fn target_type(v: &Value) -> Result<BsonType, ExprError> {
    let t = match v {
        Value::String(s) => BsonType::from_alias(s),
        n if n.is_number() => n.as_exact_i64().and_then(BsonType::from_number),
        // MongoDB 8.0: `{type: "binData", subtype: n}`.
        Value::Document(d) => d.get("type").and_then(|t| target_type(t).ok()),
        _ => None,
    };
    t.ok_or_else(|| ExprError::new("$convert", format!("Unknown type name: {:?}", v)))
}

impl ConvertSpec {
    /// Evaluates the conversion: `onNull` for a null or missing input, `onError` for a failed one.
    pub(super) fn eval<'a>(&'a self, input: &Input<'a>, scope: &mut Scope) -> Result<Cow<'a, Value>, ExprError> {
        let v = self.input.eval(input, scope)?;
        if v.is_nullish() {
            return match &self.on_null {
                Some(e) => e.eval(input, scope),
                None => Ok(Cow::Owned(Value::Null)),
            };
        }
        let target = self.to.eval(input, scope)?;
        let mut option = |e: &Option<Expr>| -> Result<Option<Value>, ExprError> {
            e.as_ref().map(|e| e.eval_owned(input, scope)).transpose()
        };
        let (format, byte_order) = (option(&self.format)?, option(&self.byte_order)?);
        let result = target_type(&target).and_then(|t| {
            convert_binary(&v, t, format.as_ref(), byte_order.as_ref())
                .unwrap_or_else(|| convert_to(&v, t))
                .map_err(|m| ExprError::new("$convert", m))
        });
        match (result, &self.on_error) {
            (Ok(r), _) => Ok(Cow::Owned(r)),
            (Err(_), Some(e)) => e.eval(input, scope),
            (Err(e), None) => Err(e),
        }
    }
}

/// The byte order of numbers in binData: true for big-endian.
fn big_endian(v: Option<&Value>) -> Result<bool, String> {
    match v.map(|v| (v, v.as_str())) {
        None | Some((_, Some("little"))) => Ok(false),
        Some((_, Some("big"))) => Ok(true),
        Some((v, _)) => Err(format!("byteOrder must be \"little\" or \"big\", found {:?}", v)),
    }
}

/// A string format of binData.
#[derive(Clone, Copy, PartialEq)]
enum Format {
    Base64,
    Base64Url,
    Hex,
    Uuid,
    Utf8,
}

fn format_of(v: Option<&Value>) -> Result<Format, String> {
    match v.map(|v| (v, v.as_str())) {
        None | Some((_, Some("base64"))) => Ok(Format::Base64),
        Some((_, Some("base64url"))) => Ok(Format::Base64Url),
        Some((_, Some("hex"))) => Ok(Format::Hex),
        Some((_, Some("uuid"))) => Ok(Format::Uuid),
        Some((_, Some("utf8"))) => Ok(Format::Utf8),
        Some((v, _)) => Err(format!("format must be base64, base64url, hex, uuid or utf8, found {:?}", v)),
    }
}

/// A conversion involving binData, or `None` when neither side is binData (or it is binData to
/// binData) and [`convert_to`] decides.
fn convert_binary(
    v: &Value,
    target: BsonType,
    format: Option<&Value>,
    byte_order: Option<&Value>,
) -> Option<Result<Value, String>> {
    match (v, target) {
        (Value::Binary(_, bytes), BsonType::Int32 | BsonType::Int64 | BsonType::Double) => {
            Some(big_endian(byte_order).and_then(|big| binary_to_number(bytes, target, big)))
        }
        (Value::Binary(_, bytes), BsonType::String) => Some(format_of(format).and_then(|f| encode(bytes, f))),
        (Value::Int32(_) | Value::Int64(_) | Value::Double(_), BsonType::Binary) => {
            Some(big_endian(byte_order).map(|big| number_to_binary(v, big)))
        }
        (Value::String(s), BsonType::Binary) => Some(format_of(format).and_then(|f| decode(s, f))),
        (Value::Binary(..), BsonType::Binary) => Some(Ok(v.clone())),
        (_, BsonType::Binary) => Some(Err(format!(
            "Unsupported conversion from {} to binData in $convert with no onError value",
            type_name(v)
        ))),
        _ => None,
    }
}

/// Sign-extends big-endian bytes to an i64.
fn signed(bytes: &[u8]) -> i64 {
    let mut buf = [if bytes.first().is_some_and(|b| b & 0x80 != 0) { 0xff } else { 0 }; 8];
    buf[8 - bytes.len()..].copy_from_slice(bytes);
    i64::from_be_bytes(buf)
}

fn binary_to_number(bytes: &[u8], target: BsonType, big: bool) -> Result<Value, String> {
    let mut b = bytes.to_vec();
    if !big {
        b.reverse();
    }
    let bad = |allowed: &str| {
        Err(format!(
            "Failed to convert binData of length {} to {}: the length must be {}",
            bytes.len(),
            target.alias(),
            allowed
        ))
    };
    match target {
        BsonType::Int32 if matches!(b.len(), 1 | 2 | 4) => Ok(Value::Int32(signed(&b) as i32)),
        BsonType::Int32 => bad("1, 2 or 4"),
        BsonType::Int64 if matches!(b.len(), 1 | 2 | 4 | 8) => Ok(Value::Int64(signed(&b))),
        BsonType::Int64 => bad("1, 2, 4 or 8"),
        _ => match <[u8; 8]>::try_from(b.as_slice()) {
            Ok(eight) => Ok(Value::Double(f64::from_be_bytes(eight))),
            Err(_) => match <[u8; 4]>::try_from(b.as_slice()) {
                Ok(four) => Ok(Value::Double(f64::from(f32::from_be_bytes(four)))),
                Err(_) => bad("4 or 8"),
            },
        },
    }
}

fn number_to_binary(v: &Value, big: bool) -> Value {
    let mut bytes = match v {
        Value::Int32(i) => i.to_be_bytes().to_vec(),
        Value::Int64(l) => l.to_be_bytes().to_vec(),
        other => other.as_f64().unwrap_or(0.0).to_be_bytes().to_vec(),
    };
    if !big {
        bytes.reverse();
    }
    Value::Binary(0, bytes)
}

fn encode(bytes: &[u8], format: Format) -> Result<Value, String> {
    let hex = |b: &[u8]| b.iter().map(|x| format!("{:02x}", x)).collect::<String>();
    let s = match format {
        Format::Base64 => base64::encode(bytes),
        Format::Base64Url => base64::encode(bytes).replace('+', "-").replace('/', "_"),
        Format::Hex => hex(bytes).to_uppercase(),
        Format::Uuid if bytes.len() == 16 => {
            let h = hex(bytes);
            format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
        }
        Format::Uuid => return Err(format!("a UUID is 16 bytes, found {}", bytes.len())),
        Format::Utf8 => String::from_utf8(bytes.to_vec()).map_err(|_| "binData is not valid UTF-8".to_string())?,
    };
    Ok(Value::String(Str::from(s)))
}

fn decode(s: &str, format: Format) -> Result<Value, String> {
    let bad = || format!("Failed to parse BinData '{}' in $convert with no onError value", s);
    let from_hex = |h: &str| -> Option<Vec<u8>> {
        h.as_bytes()
            .chunks(2)
            .map(|pair| match pair {
                [a, b] if a.is_ascii_hexdigit() && b.is_ascii_hexdigit() => {
                    u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()
                }
                _ => None,
            })
            .collect()
    };
    match format {
        Format::Base64 => base64::decode(s).map(|b| Value::Binary(0, b)).ok_or_else(bad),
        Format::Base64Url => {
            base64::decode(&s.replace('-', "+").replace('_', "/")).map(|b| Value::Binary(0, b)).ok_or_else(bad)
        }
        Format::Hex => from_hex(s).map(|b| Value::Binary(0, b)).ok_or_else(bad),
        Format::Uuid => {
            let dashes = [8, 13, 18, 23].iter().all(|i| s.as_bytes().get(*i) == Some(&b'-'));
            let bytes = if s.len() == 36 && dashes { from_hex(&s.replace('-', "")) } else { None };
            bytes.filter(|b| b.len() == 16).map(|b| Value::Binary(4, b)).ok_or_else(bad)
        }
        Format::Utf8 => Ok(Value::Binary(0, s.as_bytes().to_vec())),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{eval, ok, v};
    use crate::Value;

    fn bin(base64: &str) -> String {
        format!(r#"{{"$binary": {{"base64": "{}", "subType": "00"}}}}"#, base64)
    }

    fn convert(input: &str, to: &str, extra: &str) -> Value {
        ok(&format!(r#"{{"$convert": {{"input": {}, "to": "{}"{}}}}}"#, input, to, extra))
    }

    #[test]
    fn binary_to_numbers_in_either_byte_order() {
        // 0x00000001 big-endian is 1; little-endian it is 16777216.
        assert_eq!(convert(&bin("AAAAAQ=="), "int", r#", "byteOrder": "big""#), Value::Int32(1));
        assert_eq!(convert(&bin("AAAAAQ=="), "int", ""), Value::Int32(16_777_216));
        assert_eq!(convert(&bin("/w=="), "int", ""), Value::Int32(-1));
        assert_eq!(convert(&bin("AQA="), "long", r#", "byteOrder": "little""#), Value::Int64(1));
        // 1.0 as a big-endian double (3FF0...) and single (3F80 0000).
        assert_eq!(convert(&bin("P/AAAAAAAAA="), "double", r#", "byteOrder": "big""#), v("1.0"));
        assert_eq!(convert(&bin("P4AAAA=="), "double", r#", "byteOrder": "big""#), v("1.0"));
        assert!(eval(&format!(r#"{{"$convert": {{"input": {}, "to": "int"}}}}"#, bin("AAAA"))).is_err());
        assert_eq!(convert(&bin("AAAA"), "int", r#", "onError": "bad""#), v(r#""bad""#));
    }

    #[test]
    fn numbers_to_binary_and_back() {
        assert_eq!(convert("1", "binData", r#", "byteOrder": "big""#), v(&bin("AAAAAQ==")));
        assert_eq!(convert(r#"{"$numberLong": "1"}"#, "binData", ""), v(&bin("AQAAAAAAAAA=")));
        assert_eq!(convert("1.0", "binData", r#", "byteOrder": "big""#), v(&bin("P/AAAAAAAAA=")));
        let round = r#"{"$convert": {"input": {"$convert": {"input": -123456, "to": "binData"}}, "to": "int"}}"#;
        assert_eq!(ok(round), Value::Int32(-123_456));
        assert!(eval(r#"{"$convert": {"input": 1, "to": "binData", "byteOrder": "middle"}}"#).is_err());
        assert!(eval(r#"{"$convert": {"input": true, "to": "binData"}}"#).is_err());
    }

    #[test]
    fn binary_and_strings() {
        let hello = bin("aGVsbG8=");
        assert_eq!(convert(&hello, "string", ""), v(r#""aGVsbG8=""#));
        assert_eq!(convert(&hello, "string", r#", "format": "utf8""#), v(r#""hello""#));
        assert_eq!(convert(&hello, "string", r#", "format": "hex""#), v(r#""68656C6C6F""#));
        assert_eq!(convert(r#""68656c6c6f""#, "binData", r#", "format": "hex""#), v(&hello));
        assert_eq!(convert(r#""hello""#, "binData", r#", "format": "utf8""#), v(&hello));
        assert_eq!(convert(r#""aGVsbG8=""#, "binData", r#", "format": "base64""#), v(&hello));
        let uuid = r#""123e4567-e89b-12d3-a456-426614174000""#;
        let as_uuid = convert(uuid, "binData", r#", "format": "uuid""#);
        assert!(matches!(&as_uuid, Value::Binary(4, b) if b.len() == 16));
        let back = ok(&format!(
            r#"{{"$convert": {{"input": {{"$convert": {{"input": {}, "to": "binData", "format": "uuid"}}}}, "to": "string", "format": "uuid"}}}}"#,
            uuid
        ));
        assert_eq!(back, v(uuid));
        assert!(eval(r#"{"$convert": {"input": "zz", "to": "binData", "format": "hex"}}"#).is_err());
        assert!(eval(r#"{"$convert": {"input": "+f", "to": "binData", "format": "hex"}}"#).is_err());
        assert!(eval(r#"{"$convert": {"input": "abc", "to": "binData", "format": "hex"}}"#).is_err());
        assert!(eval(r#"{"$convert": {"input": "x", "to": "binData", "format": "uuid"}}"#).is_err());
    }

    #[test]
    fn to_uuid() {
        let uuid = ok(r#"{"$toUUID": "123e4567-e89b-12d3-a456-426614174000"}"#);
        assert_eq!(uuid, v(r#"{"$binary": {"base64": "Ej5FZ+ibEtOkVkJmFBdAAA==", "subType": "04"}}"#));
        assert_eq!(ok(r#"{"$toUUID": null}"#), Value::Null);
        assert!(eval(r#"{"$toUUID": "123e4567"}"#).is_err());
        assert!(eval(r#"{"$toUUID": 1}"#).is_err());
    }

    #[test]
    fn other_conversions_are_unchanged() {
        assert_eq!(convert(r#""12""#, "int", ""), Value::Int32(12));
        assert_eq!(convert(r#""$nope""#, "int", r#", "onNull": 0"#), v("0"));
        assert_eq!(ok(r#"{"$convert": {"input": "12", "to": {"type": "long"}}}"#), Value::Int64(12));
        assert!(super::super::compile(&v(r#"{"$convert": {"input": 1, "to": "int", "bytes": 1}}"#)).is_err());
    }
}
