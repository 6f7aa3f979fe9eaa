//! Kafka message keys as values (Atlas `keyFormat`): read by `$source`, written by `$emit`.

use sluice_mql::json::{parse_value, to_json_string, write_value, JsonMode};
use sluice_mql::Value;

/// How a key's bytes map to a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyFormat {
    /// Raw bytes (binary data, subtype 0). Atlas's default.
    #[default]
    BinData,
    /// UTF-8 text.
    String,
    /// A JSON (Extended JSON) value.
    Json,
    /// A 4-byte big-endian integer.
    Int,
    /// An 8-byte big-endian integer.
    Long,
}

impl KeyFormat {
    /// The names Atlas accepts.
    pub const NAMES: &'static str = "binData, string, json, int, long";

    /// Parses Atlas's spelling.
    pub fn parse(s: &str) -> Option<KeyFormat> {
        Some(match s {
            "binData" => KeyFormat::BinData,
            "string" => KeyFormat::String,
            "json" => KeyFormat::Json,
            "int" => KeyFormat::Int,
            "long" => KeyFormat::Long,
            _ => return None,
        })
    }

    /// Decodes a key read from Kafka.
    pub fn decode(self, bytes: &[u8]) -> Result<Value, String> {
        match self {
            KeyFormat::BinData => Ok(Value::Binary(0, bytes.to_vec())),
            KeyFormat::String => std::str::from_utf8(bytes)
                .map(Value::str)
                .map_err(|_| "key is not valid UTF-8 (keyFormat string)".to_string()),
            KeyFormat::Json => {
                let text = std::str::from_utf8(bytes).map_err(|_| "key is not valid UTF-8 (keyFormat json)")?;
                parse_value(text).map_err(|e| format!("key is not valid JSON (keyFormat json): {}", e))
            }
            KeyFormat::Int => <[u8; 4]>::try_from(bytes)
                .map(|b| Value::Int32(i32::from_be_bytes(b)))
                .map_err(|_| format!("key has {} bytes, keyFormat int needs 4", bytes.len())),
            KeyFormat::Long => <[u8; 8]>::try_from(bytes)
                .map(|b| Value::Int64(i64::from_be_bytes(b)))
                .map_err(|_| format!("key has {} bytes, keyFormat long needs 8", bytes.len())),
        }
    }

    /// Encodes a key to write to Kafka.
    pub fn encode(self, v: &Value, out: &mut Vec<u8>) -> Result<(), String> {
        out.clear();
        match (self, v) {
            (KeyFormat::BinData, Value::Binary(_, b)) => out.extend_from_slice(b),
            (KeyFormat::BinData | KeyFormat::String, Value::String(s)) => out.extend_from_slice(s.as_bytes()),
            (KeyFormat::Json, Value::Document(d)) => {
                out.extend_from_slice(to_json_string(d, JsonMode::Relaxed).as_bytes())
            }
            (KeyFormat::Json, other) => {
                let mut s = String::new();
                write_value(&mut s, other, JsonMode::Relaxed);
                out.extend_from_slice(s.as_bytes());
            }
            (KeyFormat::Int, v) => {
                let n = v.as_exact_i64().and_then(|n| i32::try_from(n).ok()).ok_or("key must be a 32-bit integer")?;
                out.extend_from_slice(&n.to_be_bytes());
            }
            (KeyFormat::Long, v) => {
                let n = v.as_exact_i64().ok_or("key must be an integer")?;
                out.extend_from_slice(&n.to_be_bytes());
            }
            (f, v) => return Err(format!("key of type {} cannot be written as {:?}", v.bson_type().alias(), f)),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format_round_trips() {
        let cases = [
            (KeyFormat::BinData, Value::Binary(0, vec![0, 255, 7])),
            (KeyFormat::String, Value::str("device-7")),
            (KeyFormat::Json, parse_value(r#"{"a": 1, "b": "x"}"#).unwrap()),
            (KeyFormat::Int, Value::Int32(-5)),
            (KeyFormat::Long, Value::Int64(1 << 40)),
        ];
        for (f, v) in cases {
            let mut bytes = Vec::new();
            f.encode(&v, &mut bytes).unwrap();
            assert_eq!(f.decode(&bytes).unwrap(), v, "{:?}", f);
        }
    }

    #[test]
    fn bad_keys_say_why() {
        assert!(KeyFormat::Int.decode(b"abc").unwrap_err().contains("needs 4"));
        assert!(KeyFormat::String.decode(&[0xff, 0xfe]).unwrap_err().contains("UTF-8"));
        assert!(KeyFormat::Json.decode(b"{nope").unwrap_err().contains("JSON"));
        assert!(KeyFormat::Int.encode(&Value::str("x"), &mut Vec::new()).is_err());
    }
}
