//! Field paths as aggregation expressions resolve them (`"$obs.watts"`), split once at compile time.

use std::borrow::Cow;

use crate::{Document, Str, Value};

/// A dotted path split into its components once, so evaluation does no string work.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FieldPath {
    parts: Vec<Str>,
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
        Some(FieldPath { parts })
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
    pub fn resolve<'a>(&self, doc: &'a Document) -> Cow<'a, Value> {
        resolve_parts(doc, &self.parts)
    }

    /// Resolves the path starting from a value (for `$$var.path`).
    pub fn resolve_in<'a>(&self, v: &'a Value) -> Cow<'a, Value> {
        resolve_value(v, &self.parts)
    }
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
}
