//! A value usable as a hash-map key with MongoDB's grouping equality: `1`, `1.0` and
//! `NumberLong(1)` are one group; null and missing are one group.

use std::hash::{Hash, Hasher};

use crate::{values_equal, Value};

/// A `$group` key or `partitionBy` value.
#[derive(Debug, Clone)]
#[repr(transparent)]
pub struct GroupKey(pub Value);

impl GroupKey {
    /// A value seen as a key without copying it, to look a group up by a field of an event.
    #[allow(unsafe_code)]
    #[inline]
    pub fn from_ref(v: &Value) -> &GroupKey {
        // SAFETY: `GroupKey` is `repr(transparent)` over `Value`: the two have one layout.
        unsafe { &*(v as *const Value as *const GroupKey) }
    }
}

fn hash_value<H: Hasher>(v: &Value, h: &mut H) {
    match v {
        Value::Missing | Value::Null | Value::Undefined => 0u8.hash(h),
        Value::Int32(_) | Value::Int64(_) | Value::Double(_) | Value::Decimal(_) => {
            1u8.hash(h);
            // Equal numbers of different types must hash alike: hash the f64 value, with -0 and NaN
            // normalised. Large integers that collide as f64 still compare exactly in `eq`.
            let f = v.as_f64().unwrap_or(0.0);
            let f = if f == 0.0 {
                0.0
            } else if f.is_nan() {
                f64::NAN
            } else {
                f
            };
            f.to_bits().hash(h);
        }
        Value::String(s) => {
            2u8.hash(h);
            s.as_bytes().hash(h);
        }
        Value::Document(d) => {
            3u8.hash(h);
            for (k, x) in d.iter() {
                k.as_bytes().hash(h);
                hash_value(x, h);
            }
        }
        Value::Array(items) => {
            4u8.hash(h);
            items.len().hash(h);
            for x in items {
                hash_value(x, h);
            }
        }
        Value::Bool(b) => b.hash(h),
        Value::DateTime(ms) => {
            5u8.hash(h);
            ms.hash(h);
        }
        Value::ObjectId(id) => id.0.hash(h),
        Value::Binary(s, b) => {
            s.hash(h);
            b.hash(h);
        }
        Value::Timestamp(t, i) => {
            t.hash(h);
            i.hash(h);
        }
        Value::Regex(r) => r.hash(h),
        Value::MinKey => 6u8.hash(h),
        Value::MaxKey => 7u8.hash(h),
    }
}

impl Hash for GroupKey {
    fn hash<H: Hasher>(&self, h: &mut H) {
        hash_value(&self.0, h);
    }
}

impl PartialEq for GroupKey {
    fn eq(&self, other: &GroupKey) -> bool {
        if let (Value::String(a), Value::String(b)) = (&self.0, &other.0) {
            return a.as_bytes() == b.as_bytes();
        }
        values_equal(&self.0, &other.0)
    }
}

impl Eq for GroupKey {}

impl GroupKey {
    /// The key as an output value: missing becomes null, as `$group` writes `_id`.
    pub fn output(&self) -> Value {
        if self.0.is_missing() {
            Value::Null
        } else {
            self.0.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustc_hash::FxHashSet;

    #[test]
    fn numeric_types_and_null_missing_group_together() {
        let mut set = FxHashSet::default();
        set.insert(GroupKey(Value::Int32(1)));
        assert!(set.contains(&GroupKey(Value::Double(1.0))));
        assert!(set.contains(&GroupKey(Value::Int64(1))));
        set.insert(GroupKey(Value::Null));
        assert!(set.contains(&GroupKey(Value::Missing)));
        assert!(!set.contains(&GroupKey(Value::str("1"))));
    }
}
