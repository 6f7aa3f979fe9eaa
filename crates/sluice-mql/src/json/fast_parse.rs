//! The fast path of JSON parsing: one pass over the bytes, for the plain JSON events are made
//! of. It gives up (None) on anything it does not handle the way the serde
//! path does (escapes in strings, syntax errors, numbers out of range, deep nesting), and the
//! caller then parses with serde, so results and error messages are the same either way.
//!
//! An object's field vector is allocated before its first field, at the size the object in the
//! same place of the previous event had (plus room for the fields the engine adds to a top-level
//! document), and the fields are parsed straight into it: events of one stream have one shape,
//! so it is nearly always the right size, and a small embedded object does not take a large
//! block.
//!
//! Events of one stream repeat the same keys in the same places, so each key is first compared
//! with the key seen in the same place (the same object of the event, the same position in it)
//! last time: when it matches, that key is reused rather than scanned and built again.

use std::cell::RefCell;

use super::ejson_types::typed_value;
use super::in_place::{push_in_place, push_number, push_object, push_string, Number};
use crate::key_eq::same_key;
use crate::{Document, Str, Value};

/// serde_json's own nesting limit is 128; deeper input goes to it for its error.
const MAX_DEPTH: u32 = 100;

/// Room left in a top-level document for the fields the engine adds (the timestamp field, a
/// computed field or two), so that adding them does not move the document.
const TOP_LEVEL_HEADROOM: usize = 2;

/// Integers of at most this many digits cannot overflow a u64 while their digits are summed.
const SAFE_DIGITS: usize = 19;

/// Places remembered for key prediction: (object of the event, position in it), hashed.
const KEY_SLOTS: usize = 128;

/// Objects of an event whose field count is remembered (by their order in the event).
const SIZE_SLOTS: usize = 16;

/// What a parse leaves for the next one on the same thread.
#[derive(Default)]
struct Scratch {
    /// The key last seen in each place; empty until a key is seen there.
    keys: Vec<Str>,
    /// The number of fields the object in each place had last time.
    sizes: [u8; SIZE_SLOTS],
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Parses `bytes` as one JSON value, or None when the serde path must decide.
///
/// Only the strings are checked for UTF-8, as they are taken: everything else the parser accepts
/// is ASCII it matched byte by byte (any other byte sends the input to serde, which rejects
/// invalid UTF-8 wherever it is).
pub(super) fn parse_fast(bytes: &[u8]) -> Option<Value> {
    with_parser(bytes, |p| p.whole())
}

/// [`parse_fast`] for a text that must be a document: None also when it is anything else (an
/// Extended JSON wrapper included), for the serde path to say what it is.
///
/// The document comes back as a `Document`, not inside an `Option<Value>`: a `Value` returned
/// through memory and copied on at once waits for the stores that wrote it.
pub(super) fn parse_fast_document(bytes: &[u8]) -> Option<Document> {
    with_parser(bytes, |p| p.whole_document())
}

fn with_parser<'a, T>(bytes: &'a [u8], parse: impl for<'s> FnOnce(&mut Parser<'a, 's>) -> Option<T>) -> Option<T> {
    // Borrowed where it lives rather than moved out and back: moving it back copies it with
    // wide loads right after the parser's narrow stores, which stalls.
    SCRATCH.with(|cell| {
        // No parse runs inside another on one thread (the parser calls nothing that parses), so
        // the scratch is never borrowed twice; if it were, the slower serde path answers.
        let Ok(mut scratch) = cell.try_borrow_mut() else { return None };
        if scratch.keys.is_empty() {
            scratch.keys = vec![Str::default(); KEY_SLOTS];
        }
        let mut p = Parser { b: bytes, i: 0, scratch: &mut scratch, objects: 0 };
        parse(&mut p)
    })
}

struct Parser<'a, 's> {
    /// The input.
    b: &'a [u8],
    i: usize,
    /// What earlier parses on this thread remembered.
    scratch: &'s mut Scratch,
    /// Objects opened so far in this parse (names the place of a key).
    objects: usize,
}

impl<'a> Parser<'a, '_> {
    fn whole(&mut self) -> Option<Value> {
        self.ws();
        let v = self.value(0)?;
        self.ws();
        (self.i == self.b.len()).then_some(v)
    }

    fn whole_document(&mut self) -> Option<Document> {
        self.ws();
        if self.peek()? != b'{' {
            return None;
        }
        let doc = self.object_fields(1)?;
        if !matches!(typed_value(&doc), Ok(None)) {
            return None;
        }
        self.ws();
        (self.i == self.b.len()).then_some(doc)
    }

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
            b'-' | b'0'..=b'9' => self.number().map(Number::value),
            _ => None,
        }
    }

    fn word(&mut self, w: &[u8], v: Value) -> Option<Value> {
        self.b[self.i..].starts_with(w).then(|| {
            self.i += w.len();
            v
        })
    }

    /// Reads an object key into `scratch.keys[slot]`, where the key last seen in the same place
    /// is: when the input repeats it, nothing is built.
    ///
    /// The caller clones the key from there into the field it pushes. Handing the key back by
    /// value instead costs more than the clone: the compiler moves it through the stack in
    /// pieces, and reading a whole value just written in pieces stalls the processor.
    fn key(&mut self, slot: usize) -> Option<()> {
        let known = &self.scratch.keys[slot];
        let rest = self.b.get(self.i + 1..)?;
        // A remembered key holds no quote, backslash or control character (it was scanned), so
        // its bytes followed by a quote are exactly the string the scan would find.
        if !known.is_empty()
            && self.b[self.i] == b'"'
            && rest.get(known.len()) == Some(&b'"')
            && same_key(&rest[..known.len()], known.as_bytes())
        {
            self.i += known.len() + 2;
            return Some(());
        }
        self.scratch.keys[slot] = Str::from(self.string()?);
        Some(())
    }

    /// Parses a field's value straight into `fields`, after `key` (strings and numbers are built
    /// in place, not returned through the stack: see [`Parser::key`]).
    #[inline(always)]
    fn push_field(&mut self, fields: &mut Vec<(Str, Value)>, key: Str, depth: u32) -> Option<()> {
        match self.peek()? {
            b'"' => {
                let s = self.string()?;
                push_string(fields, key, s);
            }
            b'-' | b'0'..=b'9' => {
                let n = self.number()?;
                push_number(fields, key, n);
            }
            b'{' => {
                let doc = self.object_fields(depth + 1)?;
                push_object(fields, key, doc)?;
            }
            _ => {
                let v = self.value(depth)?;
                push_in_place(fields, key, v);
            }
        }
        Some(())
    }

    /// A string without escapes, if its bytes are UTF-8.
    #[allow(unsafe_code)]
    fn string(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let start = self.i;
        let (len, ascii) = string_end(&self.b[start..])?;
        if self.b[start + len] != b'"' {
            return None;
        }
        self.i = start + len + 1;
        let bytes = &self.b[start..start + len];
        if ascii {
            // SAFETY: every byte is below 0x80, and ASCII bytes are valid UTF-8 on their own.
            Some(unsafe { std::str::from_utf8_unchecked(bytes) })
        } else {
            std::str::from_utf8(bytes).ok()
        }
    }

    // Kept out of `value` so that what it calls is small enough to be inlined into it (a string
    // built by a call comes back through memory, and reading it back stalls: see `push_number`).
    fn object(&mut self, depth: u32) -> Option<Value> {
        let doc = self.object_fields(depth)?;
        match typed_value(&doc) {
            Ok(Some(v)) => Some(v),
            Ok(None) => Some(Value::Document(doc)),
            Err(_) => None,
        }
    }

    /// An object's fields, before any Extended JSON wrapper is read from them (the caller does
    /// that where the value is to stay: see `push_object`).
    #[inline(never)]
    fn object_fields(&mut self, depth: u32) -> Option<Document> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.eat(b'{')?;
        let object = self.objects;
        let size_slot = object.min(SIZE_SLOTS - 1);
        let headroom = if depth == 1 { TOP_LEVEL_HEADROOM } else { 0 };
        let mut fields: Vec<(Str, Value)> = Vec::with_capacity(usize::from(self.scratch.sizes[size_slot]) + headroom);
        self.objects += 1;
        let mut position = 0usize;
        // Keys seen, by length and first byte: a duplicate (rare) costs a full lookup only when
        // its signature was seen before.
        let mut seen = 0u64;
        self.ws();
        if self.eat(b'}').is_none() {
            loop {
                self.ws();
                let slot = (object * 16 + position) % KEY_SLOTS;
                self.key(slot)?;
                position += 1;
                self.ws();
                self.eat(b':')?;
                self.ws();
                let key = &self.scratch.keys[slot];
                let bit = 1u64 << ((key.len() * 31 + key.bytes().next().map_or(0, usize::from)) & 63);
                let earlier = match seen & bit {
                    0 => None,
                    _ => fields.iter().position(|(k, _)| k == key),
                };
                seen |= bit;
                match earlier {
                    // As serde's map visitor: the last value wins, in the first one's place.
                    Some(at) => fields[at].1 = self.value(depth)?,
                    None => {
                        let key = key.clone();
                        self.push_field(&mut fields, key, depth)?;
                    }
                }
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
        self.scratch.sizes[size_slot] = u8::try_from(fields.len()).unwrap_or(u8::MAX);
        Some(Document::from_unique_fields(fields))
    }

    #[inline(never)]
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
    /// Integers short enough not to overflow are summed while they are scanned.
    fn number(&mut self) -> Option<Number> {
        let start = self.i;
        let negative = self.eat(b'-').is_some();
        let digits_start = self.i;
        let mut magnitude = 0u64;
        match self.peek()? {
            b'0' => self.i += 1,
            b'1'..=b'9' => {
                while let Some(c @ b'0'..=b'9') = self.peek() {
                    magnitude = magnitude.wrapping_mul(10).wrapping_add(u64::from(c - b'0'));
                    self.i += 1;
                }
            }
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
        if integer && self.i - digits_start < SAFE_DIGITS {
            return Some(match (negative, magnitude) {
                // `-0` is the double -0.0 (an integer has no negative zero), as serde_json reads it.
                (true, 0) => Number::Double(-0.0),
                // Fewer than 19 digits: the magnitude fits an i64, and so does its negation.
                (true, m) => Number::Int(-(m as i64)),
                (false, m) => Number::UInt(m),
            });
        }
        // Digits, sign, point and exponent: ASCII, so valid UTF-8.
        let text = std::str::from_utf8(&self.b[start..self.i]).ok()?;
        if integer {
            // As serde_json: integers beyond 64 bits become doubles.
            let parsed = if negative {
                text.parse::<i64>().ok().map(Number::Int)
            } else {
                text.parse::<u64>().ok().map(Number::UInt)
            };
            if let Some(v) = parsed {
                return Some(v);
            }
        }
        let f: f64 = text.parse().ok()?;
        // serde_json refuses numbers out of range; let it say so.
        f.is_finite().then_some(Number::Double(f))
    }

    fn digits_required(&mut self) -> Option<()> {
        let start = self.i;
        while let Some(b'0'..=b'9') = self.peek() {
            self.i += 1;
        }
        (self.i > start).then_some(())
    }
}

/// Where a string's bytes stop: the index of the first `"`, `\\` or control character in `s`,
/// and whether every byte before it is ASCII.
/// Eight bytes at a time: in each word, a byte that matches sets its high bit. A borrow can set
/// the high bit of a byte that does not match, but only above one that does, so the lowest bit
/// set is always the first match.
fn string_end(s: &[u8]) -> Option<(usize, bool)> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero_byte = |w: u64| w.wrapping_sub(ONES) & !w & HIGH;
    let mut high = 0u64;
    let mut words = s.chunks_exact(8);
    for (n, chunk) in words.by_ref().enumerate() {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let w = u64::from_le_bytes(word);
        let quote = zero_byte(w ^ (ONES * u64::from(b'"')));
        let backslash = zero_byte(w ^ (ONES * u64::from(b'\\')));
        let control = w.wrapping_sub(ONES * 0x20) & !w & HIGH;
        let hits = quote | backslash | control;
        if hits != 0 {
            // The high bits of the bytes below the first match (whose own high bit is clear).
            let below = (1u64 << hits.trailing_zeros()) - 1;
            return Some((n * 8 + (hits.trailing_zeros() / 8) as usize, (high | (w & below & HIGH)) == 0));
        }
        high |= w & HIGH;
    }
    let tail = words.remainder();
    let at = tail.iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20)?;
    Some((s.len() - tail.len() + at, high == 0 && tail[..at].is_ascii()))
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

    proptest! {
        /// The document-only entry answers as `parse_fast` does for documents, and nothing for
        /// any other value (Extended JSON wrappers included).
        #[test]
        fn the_document_entry_agrees_with_the_value_entry(text in arb_json()) {
            let doc = parse_fast_document(text.as_bytes());
            match parse_fast(text.as_bytes()) {
                Some(Value::Document(d)) => prop_assert_eq!(doc, Some(d)),
                _ => prop_assert_eq!(doc, None),
            }
            for wrapper in [r#"{"$date": "2024-01-01T00:00:00Z"}"#, "[1]", "7", r#" {"a": 1} x"#] {
                prop_assert_eq!(parse_fast_document(wrapper.as_bytes()), None);
            }
        }
    }

    proptest! {
        /// Bytes that are not UTF-8, in a string or anywhere else, never come out of the fast
        /// path (it checks strings only): whatever it accepts, serde accepts the same.
        #[test]
        fn a_corrupted_byte_is_never_accepted_where_serde_refuses(
            text in arb_json(),
            at in any::<prop::sample::Index>(),
            byte in 0x80u8..=0xff,
        ) {
            let mut bytes = text.into_bytes();
            let i = at.index(bytes.len());
            bytes[i] = byte;
            let fast = parse_fast(&bytes);
            let slow = serde_json::from_slice::<Value>(&bytes).ok();
            if fast.is_some() {
                prop_assert_eq!(fast, slow);
            }
        }
    }

    #[test]
    fn invalid_utf8_goes_to_the_serde_path() {
        for bytes in [
            &b"{\"k\": \"a\xffb\"}"[..],
            &b"{\"k\xc3\": 1}"[..],
            &b"{\"k\": 1}\xe2"[..],
            &b"{\"k\": \"\xed\xa0\x80\"}"[..],
        ] {
            assert_eq!(parse_fast(bytes), None, "{:?}", bytes);
            assert!(serde_json::from_slice::<Value>(bytes).is_err(), "{:?}", bytes);
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

    proptest! {
        #[test]
        fn string_end_finds_the_first_quote_backslash_or_control_and_sees_non_ascii(bytes in prop::collection::vec(
            prop_oneof![Just(b'"'), Just(b'\\'), 0u8..0x20, 0x20u8..=0xff], 0..40)
        ) {
            let naive = bytes.iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20);
            let ascii = naive.map(|at| bytes[..at].is_ascii());
            prop_assert_eq!(string_end(&bytes), naive.zip(ascii));
        }
    }

    #[test]
    fn keys_remembered_from_one_event_do_not_leak_into_the_next() {
        // Each text puts a different key where the previous one had another: a prefix, a longer
        // key, one of the same length, an escape, non-ASCII, a duplicate, a deeper object.
        for text in [
            r#"{"device_id": 1, "obs": {"watts": 2}}"#,
            r#"{"device": 1, "obs": {"watts": 2}}"#,
            r#"{"device_idx": 1, "obs": {"watt": 2}}"#,
            r#"{"device_ie": 1, "obs": {"wattz": 2}}"#,
            r#"{"device_id": 1, "device_id": 3, "obs": {"watts": 2}}"#,
            r#"{"dévice_id": 1, "obs": {"watts": {"deep": 2}}}"#,
            r#"{"device_id": 1, "o": {"watts": 2}, "obs": 3}"#,
            r#"{"device_id": 1, "obs": {"watts": 2}}"#,
            r#"{"device_id\"x": 1}"#,
            r#"{"device_id": 1, "obs": {"watts": 2}}"#,
        ] {
            same_as_serde(text);
            assert!(text.contains('\\') || parse_fast(text.as_bytes()).is_some(), "{}", text);
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
