//! The fast path of JSON parsing: one pass over bytes already known to be UTF-8, for the plain
//! JSON events are made of. It gives up (None) on anything it does not handle the way the serde
//! path does (escapes in strings, syntax errors, numbers out of range, deep nesting), and the
//! caller then parses with serde, so results and error messages are the same either way.

use super::ejson_types::typed_value;
use super::parse::{int_value, uint_value};
use crate::{Document, Str, Value};

/// serde_json's own nesting limit is 128; deeper input goes to it for its error.
const MAX_DEPTH: u32 = 100;

/// Parses `bytes` as one JSON value, or None when the serde path must decide.
pub(super) fn parse_fast(bytes: &[u8]) -> Option<Value> {
    let text = std::str::from_utf8(bytes).ok()?;
    let mut p = Parser { text, b: bytes, i: 0 };
    p.ws();
    let v = p.value(0)?;
    p.ws();
    (p.i == bytes.len()).then_some(v)
}

struct Parser<'a> {
    /// The input, validated once; `b` is the same bytes.
    text: &'a str,
    b: &'a [u8],
    i: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        (self.peek()? == c).then(|| self.i += 1)
    }

    fn value(&mut self, depth: u32) -> Option<Value> {
        match self.peek()? {
            b'{' => self.object(depth + 1),
            b'[' => self.array(depth + 1),
            b'"' => self.string().map(|s| Value::String(Str::from(s))),
            b't' => self.word(b"true", Value::Bool(true)),
            b'f' => self.word(b"false", Value::Bool(false)),
            b'n' => self.word(b"null", Value::Null),
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }

    fn word(&mut self, w: &[u8], v: Value) -> Option<Value> {
        self.b[self.i..].starts_with(w).then(|| {
            self.i += w.len();
            v
        })
    }

    /// A string without escapes (the input is valid UTF-8 and `"` is ASCII, so the slice is too).
    fn string(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let start = self.i;
        loop {
            match self.peek()? {
                b'"' => break,
                b'\\' | 0..=0x1f => return None,
                _ => self.i += 1,
            }
        }
        // Both ends are ASCII quotes, so both are character boundaries.
        let s = self.text.get(start..self.i)?;
        self.i += 1;
        Some(s)
    }

    fn object(&mut self, depth: u32) -> Option<Value> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.eat(b'{')?;
        let mut doc = Document::with_capacity(8);
        // Keys seen, by length and first byte: a duplicate (rare) costs a full lookup only when
        // its signature was seen before.
        let mut seen = 0u64;
        self.ws();
        if self.eat(b'}').is_none() {
            loop {
                self.ws();
                let key = self.string()?;
                self.ws();
                self.eat(b':')?;
                self.ws();
                let value = self.value(depth)?;
                let bit = 1u64 << ((key.len() * 31 + key.bytes().next().map_or(0, usize::from)) & 63);
                if seen & bit == 0 {
                    doc.push_unique(Str::from(key), value);
                } else {
                    doc.insert(key, value);
                }
                seen |= bit;
                self.ws();
                match self.peek()? {
                    b',' => self.i += 1,
                    b'}' => {
                        self.i += 1;
                        break;
                    }
                    _ => return None,
                }
            }
        }
        match typed_value(&doc) {
            Ok(Some(v)) => Some(v),
            Ok(None) => Some(Value::Document(doc)),
            Err(_) => None,
        }
    }

    fn array(&mut self, depth: u32) -> Option<Value> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.eat(b'[')?;
        let mut items = Vec::new();
        self.ws();
        if self.eat(b']').is_some() {
            return Some(Value::Array(items));
        }
        loop {
            self.ws();
            items.push(self.value(depth)?);
            self.ws();
            match self.peek()? {
                b',' => self.i += 1,
                b']' => {
                    self.i += 1;
                    return Some(Value::Array(items));
                }
                _ => return None,
            }
        }
    }

    /// A number as JSON's grammar has it: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    fn number(&mut self) -> Option<Value> {
        let start = self.i;
        let negative = self.eat(b'-').is_some();
        match self.peek()? {
            b'0' => self.i += 1,
            b'1'..=b'9' => self.digits(),
            _ => return None,
        }
        let mut integer = true;
        if self.peek() == Some(b'.') {
            self.i += 1;
            self.digits_required()?;
            integer = false;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.i += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.i += 1;
            }
            self.digits_required()?;
            integer = false;
        }
        let text = self.text.get(start..self.i)?;
        // `-0` is the double -0.0 (an integer has no negative zero), as serde_json reads it.
        if integer && text != "-0" {
            // As serde_json: integers beyond 64 bits become doubles.
            let parsed = if negative {
                text.parse::<i64>().ok().map(int_value)
            } else {
                text.parse::<u64>().ok().map(uint_value)
            };
            if let Some(v) = parsed {
                return Some(v);
            }
        }
        let f: f64 = text.parse().ok()?;
        // serde_json refuses numbers out of range; let it say so.
        f.is_finite().then_some(Value::Double(f))
    }

    fn digits(&mut self) {
        while let Some(b'0'..=b'9') = self.peek() {
            self.i += 1;
        }
    }

    fn digits_required(&mut self) -> Option<()> {
        let start = self.i;
        self.digits();
        (self.i > start).then_some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// JSON texts: nested objects and arrays of numbers of every shape, strings with and
    /// without escapes or non-ASCII, literals, spacing, and duplicate keys.
    fn arb_json() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            any::<i64>().prop_map(|n| n.to_string()),
            any::<u64>().prop_map(|n| n.to_string()),
            any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| format!("{:e}", f)),
            any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| f.to_string()),
            "-?[0-9]{1,25}(\\.[0-9]{1,5})?([eE][+-]?[0-9]{1,3})?",
            "[a-zé ]{0,8}".prop_map(|s| format!("\"{}\"", s)),
            "[a-z\\\\n\"]{0,6}".prop_map(|s| serde_json::to_string(&s).expect("a string")),
            Just("true".to_string()),
            Just("null".to_string()),
        ];
        leaf.prop_recursive(4, 40, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(|v| format!("[{}]", v.join(" , "))),
                prop::collection::vec(("[ab$]{1,2}", inner), 0..5).prop_map(|kv| {
                    let fields: Vec<String> = kv.iter().map(|(k, v)| format!("\"{}\":{}", k, v)).collect();
                    format!("{{ {} }}", fields.join(","))
                }),
            ]
        })
    }

    proptest! {
        #[test]
        fn the_fast_path_agrees_with_serde_wherever_it_answers(text in arb_json()) {
            let fast = parse_fast(text.as_bytes());
            let slow = serde_json::from_str::<Value>(&text).ok();
            if let Some(f) = fast {
                prop_assert_eq!(Some(f), slow, "{}", text);
            } else if !text.contains('\\') && !text.contains('$') {
                // Without escapes or Extended JSON wrappers, only what serde refuses is left to it.
                prop_assert!(slow.is_none() || text.contains('e') || text.contains('E'), "fast refused {}", text);
            }
        }
    }

    /// Whatever the fast path accepts, it must give exactly what the serde path gives.
    fn same_as_serde(text: &str) {
        let fast = parse_fast(text.as_bytes());
        let slow = serde_json::from_str::<Value>(text).ok();
        if let Some(f) = &fast {
            assert_eq!(Some(f), slow.as_ref(), "{}", text);
        }
    }

    #[test]
    fn plain_json_parses_as_the_serde_path_does() {
        for text in [
            r#"{"device_id":"device_8","group_id":7,"obs":{"watts":252,"temp":17.5},"ok":true,"n":null}"#,
            r#"{"a": [1, -2, 3000000000, -3000000000, 18446744073709551615, 1e3, -0.0, 2.5E-3]}"#,
            r#"{"big": 123456789012345678901234567890, "neg": -123456789012345678901234567890}"#,
            r#"{"a": 1, "a": 2, "b": {"a": 3}}"#,
            r#"{"t": {"$date": "2024-01-01T00:00:00Z"}, "n": {"$numberLong": "7"}}"#,
            r#"{"é": "ü", "empty": {}, "none": []}"#,
            " { \"spaced\" : [ 1 , 2 ] } ",
        ] {
            assert!(parse_fast(text.as_bytes()).is_some(), "the fast path takes {}", text);
            same_as_serde(text);
        }
    }

    #[test]
    fn duplicate_keys_keep_the_last_value_in_the_first_place() {
        let v = parse_fast(br#"{"a": 1, "b": 2, "a": 3}"#).expect("parsed");
        let Value::Document(d) = v else { panic!("a document") };
        let keys: Vec<&str> = d.keys().map(|k| k.as_str()).collect();
        assert_eq!(keys, ["a", "b"]);
        assert_eq!(d.get("a"), Some(&Value::Int32(3)));
    }

    #[test]
    fn what_it_does_not_handle_goes_to_the_serde_path() {
        for text in [
            r#"{"a": "line\nbreak"}"#,
            r#"{"a": 01}"#,
            r#"{"a": 1e400}"#,
            r#"{"a": 1,}"#,
            r#"{"a": {"$oid": "nothex"}}"#,
            r#"{"a": tru}"#,
            r#"{"a": 1} x"#,
            r#"{"a": .5}"#,
            r#"{"a": 1.}"#,
        ] {
            assert!(parse_fast(text.as_bytes()).is_none(), "{}", text);
        }
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        assert!(parse_fast(deep.as_bytes()).is_none());
        assert!(parse_fast(b"{\"a\": \"\xff\"}").is_none());
    }
}
