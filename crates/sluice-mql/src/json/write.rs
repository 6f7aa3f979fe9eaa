//! [`Value`]/[`Document`] to Extended JSON text.

use super::base64;
use crate::{format_iso_millis, Document, Value};

/// Which Extended JSON form to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum JsonMode {
    /// Relaxed: native JSON numbers where lossless, ISO dates.
    #[default]
    Relaxed,
    /// Canonical: every type explicit (`$numberInt`, `$numberLong`, `$date: {$numberLong}` ...).
    Canonical,
}

/// Writes a document as one line of JSON.
pub fn to_json_string(doc: &Document, mode: JsonMode) -> String {
    let mut out = String::with_capacity(128);
    write_document(&mut out, doc, mode);
    out
}

/// Appends a document as JSON to `out`.
pub fn write_document(out: &mut String, doc: &Document, mode: JsonMode) {
    out.push('{');
    for (i, (k, v)) in doc.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(out, k);
        out.push(':');
        write_value(out, v, mode);
    }
    out.push('}');
}

fn write_string(out: &mut String, s: &str) {
    out.push('"');
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let esc: Option<&str> = match b {
            b'"' => Some("\\\""),
            b'\\' => Some("\\\\"),
            b'\n' => Some("\\n"),
            b'\r' => Some("\\r"),
            b'\t' => Some("\\t"),
            0..=0x1f => None,
            _ => continue,
        };
        out.push_str(&s[start..i]);
        match esc {
            Some(e) => out.push_str(e),
            None => {
                out.push_str("\\u00");
                out.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
                out.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
            }
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

fn write_wrapped(out: &mut String, key: &str, inner: &str) {
    out.push_str("{\"");
    out.push_str(key);
    out.push_str("\":\"");
    out.push_str(inner);
    out.push_str("\"}");
}

fn double_repr(d: f64) -> String {
    if d.is_nan() {
        "NaN".into()
    } else if d.is_infinite() {
        if d > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        }
    } else {
        ryu::Buffer::new().format_finite(d).to_string()
    }
}

/// Appends one value as JSON to `out`. `Missing` is written as null (it never occurs in a document).
pub fn write_value(out: &mut String, v: &Value, mode: JsonMode) {
    let canonical = mode == JsonMode::Canonical;
    match v {
        Value::Missing | Value::Null => out.push_str("null"),
        Value::Undefined => out.push_str("{\"$undefined\":true}"),
        Value::MinKey => out.push_str("{\"$minKey\":1}"),
        Value::MaxKey => out.push_str("{\"$maxKey\":1}"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int32(i) => {
            let mut buf = itoa::Buffer::new();
            if canonical {
                write_wrapped(out, "$numberInt", buf.format(*i));
            } else {
                out.push_str(buf.format(*i));
            }
        }
        Value::Int64(i) => {
            let mut buf = itoa::Buffer::new();
            if canonical {
                write_wrapped(out, "$numberLong", buf.format(*i));
            } else {
                out.push_str(buf.format(*i));
            }
        }
        Value::Double(d) => {
            if canonical || !d.is_finite() {
                write_wrapped(out, "$numberDouble", &double_repr(*d));
            } else {
                out.push_str(ryu::Buffer::new().format_finite(*d));
            }
        }
        Value::Decimal(d) => write_wrapped(out, "$numberDecimal", &d.to_string()),
        Value::String(s) => write_string(out, s),
        Value::Document(d) => write_document(out, d, mode),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item, mode);
            }
            out.push(']');
        }
        Value::Binary(sub, bytes) => {
            out.push_str("{\"$binary\":{\"base64\":\"");
            out.push_str(&base64::encode(bytes));
            out.push_str("\",\"subType\":\"");
            out.push_str(&format!("{:02x}", sub));
            out.push_str("\"}}");
        }
        Value::ObjectId(id) => write_wrapped(out, "$oid", &id.to_hex()),
        Value::DateTime(ms) => {
            // Relaxed form uses ISO-8601 for years 1970..=9999, as the Extended JSON spec says.
            if !canonical && (0..=253_402_300_799_999).contains(ms) {
                write_wrapped(out, "$date", &format_iso_millis(*ms));
            } else {
                out.push_str("{\"$date\":");
                write_wrapped(out, "$numberLong", itoa::Buffer::new().format(*ms));
                out.push('}');
            }
        }
        Value::Timestamp(t, i) => {
            out.push_str(&format!("{{\"$timestamp\":{{\"t\":{},\"i\":{}}}}}", t, i));
        }
        Value::Regex(r) => {
            out.push_str("{\"$regularExpression\":{\"pattern\":");
            write_string(out, &r.0);
            out.push_str(",\"options\":");
            write_string(out, &r.1);
            out.push_str("}}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::parse_document;

    #[test]
    fn relaxed_and_canonical_round_trip() {
        let text = r#"{"i":1,"l":3000000000,"d":1.5,"w":2.0,"s":"a\"b\n","t":{"$date":"2024-08-12T21:41:01.788Z"},"o":{"$oid":"5f1d7a5e0000000000000001"},"x":{"$numberDecimal":"1.10"},"b":{"$binary":{"base64":"AAE=","subType":"00"}},"a":[null,true,{"$numberDouble":"Infinity"}]}"#;
        let d = parse_document(text).expect("valid");
        assert_eq!(to_json_string(&d, JsonMode::Relaxed), text);
        let canonical = to_json_string(&d, JsonMode::Canonical);
        assert!(canonical.contains(r#""i":{"$numberInt":"1"}"#));
        assert!(canonical.contains(r#""t":{"$date":{"$numberLong":"1723498861788"}}"#));
        assert_eq!(parse_document(&canonical).expect("valid"), d);
    }
}
