//! Ordered documents: fields keep their insertion order, as BSON does.

use crate::key_eq::same_key;
use crate::{Str, Value};

/// An ordered BSON document.
///
/// Fields are stored in a vector: events are small, and a linear scan over a handful of
/// inline keys beats hashing. Invariant: no key appears twice and no value is `Missing`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Document {
    fields: Vec<(Str, Value)>,
}

impl Document {
    /// An empty document.
    pub fn new() -> Document {
        Document { fields: Vec::new() }
    }

    /// An empty document with room for `n` fields.
    pub fn with_capacity(n: usize) -> Document {
        Document { fields: Vec::with_capacity(n) }
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// True when the document has no field.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The value of a top-level field.
    #[inline]
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.fields.iter().find(|(k, _)| same_key(k.as_bytes(), key.as_bytes())).map(|(_, v)| v)
    }

    /// The field at a position, if there is one.
    #[inline]
    pub fn field_at(&self, at: usize) -> Option<(&Str, &Value)> {
        self.fields.get(at).map(|(k, v)| (k, v))
    }

    /// A top-level field, named by its bytes, with its position.
    pub(crate) fn position_of(&self, key: &[u8]) -> Option<(usize, &Value)> {
        self.fields.iter().enumerate().find(|(_, (k, _))| same_key(k.as_bytes(), key)).map(|(i, (_, v))| (i, v))
    }

    /// A mutable reference to the value of a top-level field.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        self.fields.iter_mut().find(|(k, _)| same_key(k.as_bytes(), key.as_bytes())).map(|(_, v)| v)
    }

    /// True when the document has the field.
    pub fn contains_key(&self, key: &str) -> bool {
        self.fields.iter().any(|(k, _)| same_key(k.as_bytes(), key.as_bytes()))
    }

    /// Sets a field: replaces the value in place if the key exists, else appends it.
    /// Setting `Missing` removes the field.
    pub fn insert(&mut self, key: impl Into<Str>, value: Value) {
        let key = key.into();
        if value.is_missing() {
            self.remove(&key);
            return;
        }
        match self.fields.iter_mut().find(|(k, _)| same_key(k.as_bytes(), key.as_bytes())) {
            Some(slot) => slot.1 = value,
            None => push_field(&mut self.fields, key, value),
        }
    }

    /// Appends a field known not to exist yet (the caller guarantees uniqueness, e.g. a parser
    /// that already checked). Missing values are skipped.
    pub fn push_unique(&mut self, key: Str, value: Value) {
        if !value.is_missing() {
            push_field(&mut self.fields, key, value);
        }
    }

    /// A document of fields already known to be unique and present (a parser that checked both).
    /// The vector is kept as it is, spare capacity included.
    pub(crate) fn from_unique_fields(fields: Vec<(Str, Value)>) -> Document {
        debug_assert!(fields.iter().all(|(_, v)| !v.is_missing()));
        Document { fields }
    }

    /// Removes a top-level field and returns its value.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let pos = self.fields.iter().position(|(k, _)| k == key)?;
        Some(self.fields.remove(pos).1)
    }

    /// Iterates over (key, value) in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&Str, &Value)> {
        self.fields.iter().map(|(k, v)| (k, v))
    }

    /// Iterates over (key, value) in order, with mutable values.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&Str, &mut Value)> {
        self.fields.iter_mut().map(|(k, v)| (&*k, v))
    }

    /// The keys in order.
    pub fn keys(&self) -> impl Iterator<Item = &Str> {
        self.fields.iter().map(|(k, _)| k)
    }

    /// The first field, if any.
    pub fn first(&self) -> Option<(&Str, &Value)> {
        self.fields.first().map(|(k, v)| (k, v))
    }

    /// Keeps only the fields for which `f` returns true.
    pub fn retain(&mut self, mut f: impl FnMut(&Str, &mut Value) -> bool) {
        self.fields.retain_mut(|(k, v)| f(k, v));
    }

    /// Approximate in-memory size in bytes.
    pub fn approx_size(&self) -> usize {
        16 + self.fields.iter().map(|(k, v)| 8 + k.len() + v.approx_size()).sum::<usize>()
    }

    /// Gets a dotted path (`"obs.watts"`) through embedded documents only, without array
    /// traversal. Numeric components index arrays. For expression semantics use [`crate::FieldPath`].
    pub fn get_path(&self, path: &str) -> Option<&Value> {
        let mut parts = path.split('.');
        let mut cur = self.get(parts.next()?)?;
        for part in parts {
            cur = match cur {
                Value::Document(d) => d.get(part)?,
                Value::Array(a) => a.get(part.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(cur)
    }

    /// Sets a dotted path, creating embedded documents as needed (as `$addFields` does).
    /// A non-document in the way is replaced by a document.
    pub fn set_path(&mut self, path: &[Str], value: Value) {
        match path {
            [] => {}
            [last] => self.insert(last.clone(), value),
            [first, rest @ ..] => {
                if value.is_missing() {
                    if let Some(Value::Document(d)) = self.get_mut(first) {
                        d.set_path(rest, value);
                    }
                    return;
                }
                if !matches!(self.get(first), Some(Value::Document(_))) {
                    self.insert(first.clone(), Value::Document(Document::new()));
                }
                if let Some(Value::Document(d)) = self.get_mut(first) {
                    d.set_path(rest, value);
                }
            }
        }
    }

    /// Removes a dotted path; through arrays of documents it removes the field from each element,
    /// as `$unset` and exclusion `$project` do.
    pub fn remove_path(&mut self, path: &[Str]) {
        match path {
            [] => {}
            [last] => {
                self.remove(last);
            }
            [first, rest @ ..] => match self.get_mut(first) {
                Some(Value::Document(d)) => d.remove_path(rest),
                Some(Value::Array(items)) => {
                    for item in items {
                        if let Value::Document(d) = item {
                            d.remove_path(rest);
                        }
                    }
                }
                _ => {}
            },
        }
    }
}

impl<K: Into<Str>> FromIterator<(K, Value)> for Document {
    fn from_iter<I: IntoIterator<Item = (K, Value)>>(iter: I) -> Document {
        let mut d = Document::new();
        for (k, v) in iter {
            d.insert(k, v);
        }
        d
    }
}

impl IntoIterator for Document {
    type Item = (Str, Value);
    type IntoIter = std::vec::IntoIter<(Str, Value)>;
    fn into_iter(self) -> Self::IntoIter {
        self.fields.into_iter()
    }
}

/// Appends a field, its key and value written into the vector's next slot one after the other.
///
/// `fields.push((key, value))` assembles the pair on the stack first and copies it on with
/// 16-byte loads, each spanning two of the stores that just built it: the processor cannot
/// forward such a load and waits (perf: ~40% of `insert`'s samples).
#[allow(unsafe_code)]
#[inline(always)]
pub(crate) fn push_field(fields: &mut Vec<(Str, Value)>, key: Str, value: Value) {
    // SAFETY: the value is written.
    unsafe { push_field_with(fields, key, |slot| slot.write(value)) }
}

/// Appends `key` and a value that `write` puts in place (the JSON parser builds strings and
/// numbers straight in their slot this way).
///
/// # Safety
/// `write` must initialise the value it is given (it is uninitialised memory in the vector).
#[allow(unsafe_code)]
#[inline(always)]
pub(crate) unsafe fn push_field_with(fields: &mut Vec<(Str, Value)>, key: Str, write: impl FnOnce(*mut Value)) {
    if fields.len() == fields.capacity() {
        fields.reserve(1);
    }
    let len = fields.len();
    // SAFETY: `reserve` left room for one more field at `len`; the key is written here, the
    // value by `write` (the caller's promise), both before the length grows to cover them.
    unsafe {
        let slot = fields.as_mut_ptr().add(len);
        std::ptr::addr_of_mut!((*slot).0).write(key);
        write(std::ptr::addr_of_mut!((*slot).1));
        fields.set_len(len + 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_keeps_order_and_replaces_in_place() {
        let mut d = Document::new();
        d.insert("a", Value::Int32(1));
        d.insert("b", Value::Int32(2));
        d.insert("a", Value::Int32(3));
        let keys: Vec<&str> = d.keys().map(|k| k.as_str()).collect();
        assert_eq!(keys, ["a", "b"]);
        assert_eq!(d.get("a"), Some(&Value::Int32(3)));
        d.insert("a", Value::Missing);
        assert!(!d.contains_key("a"));
    }

    #[test]
    fn set_path_creates_and_remove_path_walks_arrays() {
        let mut d = Document::new();
        d.set_path(&["x".into(), "y".into()], Value::Int32(1));
        assert_eq!(d.get_path("x.y"), Some(&Value::Int32(1)));
        let inner: Document = [("k", Value::Int32(1)), ("j", Value::Int32(2))].into_iter().collect();
        d.insert("arr", Value::Array(vec![Value::Document(inner.clone()), Value::Document(inner)]));
        d.remove_path(&["arr".into(), "k".into()]);
        assert_eq!(d.get_path("arr.0.k"), None);
        assert_eq!(d.get_path("arr.1.j"), Some(&Value::Int32(2)));
    }
}
