//! Field paths as aggregation expressions resolve them (`"$obs.watts"`), split once at compile time.

use std::borrow::Cow;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU32, Ordering};

use crate::key_eq::KeyProbe;
use crate::{Document, Str, Value};

/// A dotted path split into its components once, so evaluation does no string work.
///
/// It also remembers where each component was found last: the events of a stream share one
/// shape, so the next document nearly always has the field at the same position, and one key
/// comparison replaces a scan. A hint is only a guess, checked before use.
pub struct FieldPath {
    parts: Vec<Str>,
    /// Each part prepared for comparison, with its hint.
    steps: Box<[Step]>,
}

/// One component of a path as lookups use it.
struct Step {
    probe: KeyProbe,
    /// Position of the part in the document it was last found in (a relaxed atomic: a hint
    /// shared by threads may be stale, never wrong, since it is checked).
    hint: AtomicU32,
}

impl std::fmt::Debug for FieldPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FieldPath").field("parts", &self.parts).finish()
    }
}

impl Clone for FieldPath {
    fn clone(&self) -> FieldPath {
        FieldPath::from_parts(self.parts.clone())
    }
}

impl PartialEq for FieldPath {
    fn eq(&self, other: &FieldPath) -> bool {
        self.parts == other.parts
    }
}

impl Eq for FieldPath {}

impl Hash for FieldPath {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.parts.hash(h);
    }
}

impl FieldPath {
    /// Splits a dotted path (`"obs.watts"`, without the `$`). Returns `None` for an empty path or
    /// an empty component.
    pub fn parse(path: &str) -> Option<FieldPath> {
        if path.is_empty() {
            return None;
        }
        let parts: Vec<Str> = path.split('.').map(Str::from).collect();
        if parts.iter().any(|p| p.is_empty()) {
            return None;
        }
        Some(FieldPath::from_parts(parts))
    }

    fn from_parts(parts: Vec<Str>) -> FieldPath {
        let steps =
            parts.iter().map(|p| Step { probe: KeyProbe::new(p.as_bytes()), hint: AtomicU32::new(0) }).collect();
        FieldPath { parts, steps }
    }

    /// The components.
    pub fn parts(&self) -> &[Str] {
        &self.parts
    }

    /// The dotted form.
    pub fn dotted(&self) -> String {
        self.parts.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(".")
    }

    /// Resolves the path with aggregation semantics: through embedded documents, and through
    /// arrays by mapping the rest of the path over their elements (missing results dropped).
    #[inline]
    pub fn resolve<'a>(&self, doc: &'a Document) -> Cow<'a, Value> {
        let mut cur = doc;
        for (i, step) in self.steps.iter().enumerate() {
            let Some(v) = get_hinted(cur, step) else { return Cow::Owned(Value::Missing) };
            match v {
                _ if i + 1 == self.parts.len() => return Cow::Borrowed(v),
                Value::Document(d) => cur = d,
                // Arrays take the general path from here.
                _ => return resolve_value(v, &self.parts[i + 1..]),
            }
        }
        Cow::Owned(Value::Missing)
    }

    /// The value at the path as a query sees it when no array is on the way: `Some(None)` when
    /// a component is missing or a scalar stands where a document should, `None` when an array
    /// is met before the last component (a query then matches through its elements).
    pub fn lookup_through_documents<'a>(&self, doc: &'a Document) -> Option<Option<&'a Value>> {
        let mut cur = doc;
        let last = self.parts.len() - 1;
        for (i, step) in self.steps.iter().enumerate() {
            let found = get_hinted(cur, step);
            match found {
                Some(Value::Document(d)) if i < last => cur = d,
                Some(Value::Array(_)) if i < last => return None,
                _ if i < last => return Some(None),
                found => return Some(found),
            }
        }
        Some(None)
    }

    /// Resolves the path starting from a value (for `$$var.path`).
    pub fn resolve_in<'a>(&self, v: &'a Value) -> Cow<'a, Value> {
        resolve_value(v, &self.parts)
    }
}

/// A top-level field of `doc`, looked for first where the step's hint says it was last time.
#[inline]
fn get_hinted<'a>(doc: &'a Document, step: &Step) -> Option<&'a Value> {
    let guess = step.hint.load(Ordering::Relaxed) as usize;
    if let Some((k, v)) = doc.field_at(guess) {
        if step.probe.matches(k.as_bytes()) {
            return Some(v);
        }
    }
    let (at, v) = doc.position_of(step.probe.as_bytes())?;
    step.hint.store(at as u32, Ordering::Relaxed);
    Some(v)
}

/// Resolves `parts` from a document with aggregation semantics.
pub(crate) fn resolve_parts<'a>(doc: &'a Document, parts: &[Str]) -> Cow<'a, Value> {
    let Some((first, rest)) = parts.split_first() else {
        return Cow::Owned(Value::Missing);
    };
    match doc.get(first) {
        None => Cow::Owned(Value::Missing),
        Some(v) => resolve_value(v, rest),
    }
}

fn resolve_value<'a>(v: &'a Value, rest: &[Str]) -> Cow<'a, Value> {
    if rest.is_empty() {
        return Cow::Borrowed(v);
    }
    match v {
        Value::Document(d) => resolve_parts(d, rest),
        Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                let r = match item {
                    Value::Document(d) => resolve_parts(d, rest),
                    Value::Array(_) => resolve_value(item, rest),
                    _ => continue,
                };
                if !r.is_missing() {
                    out.push(r.into_owned());
                }
            }
            Cow::Owned(Value::Array(out))
        }
        _ => Cow::Owned(Value::Missing),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::parse_document;

    #[test]
    fn resolves_through_documents_and_arrays() {
        let d = parse_document(r#"{"a": {"b": 1}, "arr": [{"x": 1}, {"y": 2}, {"x": 3}, 4]}"#).expect("valid json");
        let p = FieldPath::parse("a.b").expect("valid path");
        assert_eq!(*p.resolve(&d), Value::Int32(1));
        let p = FieldPath::parse("arr.x").expect("valid path");
        assert_eq!(*p.resolve(&d), Value::Array(vec![Value::Int32(1), Value::Int32(3)]));
        let p = FieldPath::parse("a.c").expect("valid path");
        assert!(p.resolve(&d).is_missing());
        assert!(FieldPath::parse("a..b").is_none());
    }

    #[test]
    fn a_hint_from_one_shape_does_not_mislead_on_another() {
        let p = FieldPath::parse("obs.watts").expect("valid path");
        for (text, want) in [
            (r#"{"a": 1, "obs": {"temp": 3, "watts": 2}}"#, Some(2)),
            (r#"{"obs": {"watts": 5}}"#, Some(5)),
            (r#"{"x": 0, "y": 0, "obs": {"t": 0, "u": 0, "watts": 7}}"#, Some(7)),
            (r#"{"x": 0, "y": 0, "obs": {"t": 0, "u": 0, "watt": 7}}"#, None),
            (r#"{"x": 0, "y": 0, "sbo": {"t": 0, "u": 0, "watts": 7}}"#, None),
            (r#"{"obs": [{"watts": 1}, {"watts": 4}]}"#, None),
            (r#"{"obs": {"watts": 9}}"#, Some(9)),
        ] {
            let d = parse_document(text).expect("valid json");
            let got = p.resolve(&d);
            match want {
                Some(n) => assert_eq!(*got, Value::Int32(n), "{}", text),
                None if text.contains('[') => {
                    assert_eq!(*got, Value::Array(vec![Value::Int32(1), Value::Int32(4)]), "{}", text)
                }
                None => assert!(got.is_missing(), "{}", text),
            }
        }
    }

    #[test]
    fn a_query_lookup_stops_at_arrays_and_remembers_positions_safely() {
        let p = FieldPath::parse("obs.watts").expect("valid path");
        for (text, want) in [
            (r#"{"a": 1, "obs": {"temp": 3, "watts": 2}}"#, Some(Some(Value::Int32(2)))),
            (r#"{"obs": {"watts": 5}}"#, Some(Some(Value::Int32(5)))),
            (r#"{"obs": {"watt": 5}}"#, Some(None)),
            (r#"{"obs": 5}"#, Some(None)),
            (r#"{"nope": {"watts": 5}}"#, Some(None)),
            (r#"{"obs": [{"watts": 1}]}"#, None),
            (r#"{"obs": {"watts": [1, 2]}}"#, Some(Some(Value::Array(vec![Value::Int32(1), Value::Int32(2)])))),
            (r#"{"x": 0, "obs": {"t": 0, "watts": 7}}"#, Some(Some(Value::Int32(7)))),
        ] {
            let d = parse_document(text).expect("valid json");
            assert_eq!(p.lookup_through_documents(&d).map(|v| v.cloned()), want, "{}", text);
        }
    }
}
