//! Writing a parsed field into its object's vector, where it will stay.
//!
//! A value built in one place and copied to another is assembled on the stack in pieces (tag,
//! payload) and copied in 16-byte loads that straddle them; the processor cannot forward such a
//! load from the stores and waits for them. In the JSON parser this was half of its time. So the
//! parser writes each field into the vector's next slot, each kind of value by itself, and
//! numbers come back from the scanner as a [`Number`], small enough to travel in registers.

use std::sync::atomic::{compiler_fence, Ordering};

use super::ejson_types::typed_value;
use super::parse::{int_value, uint_value};
use crate::document::{push_field, push_field_with};
use crate::{Document, Str, Value};

/// A number as scanned: sixteen bytes with its tag, so that it comes back in registers.
#[derive(Clone, Copy)]
pub(super) enum Number {
    Int(i64),
    UInt(u64),
    Double(f64),
}

impl Number {
    /// The value, as relaxed Extended JSON reads it (an int when it fits 32 bits).
    #[inline(always)]
    pub(super) fn value(self) -> Value {
        match self {
            Number::Int(i) => int_value(i),
            Number::UInt(u) => uint_value(u),
            Number::Double(f) => Value::Double(f),
        }
    }
}

/// Appends a field whose value is already built (a nested object or array).
#[inline(always)]
pub(super) fn push_in_place(fields: &mut Vec<(Str, Value)>, key: Str, value: Value) {
    push_field(fields, key, value);
}

/// Appends a field holding a parsed object, or the typed value it stands for when it is an
/// Extended JSON wrapper; None for a malformed wrapper. The document is moved into its slot by
/// words, not through a `Value` assembled on the stack (see the module's comment).
#[allow(unsafe_code)]
#[inline(always)]
pub(super) fn push_object(fields: &mut Vec<(Str, Value)>, key: Str, doc: Document) -> Option<()> {
    match typed_value(&doc) {
        Ok(None) => {}
        Ok(Some(v)) => {
            push_in_place(fields, key, v);
            return Some(());
        }
        Err(_) => return None,
    }
    // SAFETY: the value is written.
    unsafe {
        push_field_with(fields, key, |slot| {
            slot.write(Value::Document(doc));
            compiler_fence(Ordering::SeqCst);
        })
    }
    Some(())
}

/// Appends a string field, the string built in its slot.
#[allow(unsafe_code)]
#[inline(always)]
pub(super) fn push_string(fields: &mut Vec<(Str, Value)>, key: Str, s: &str) {
    // SAFETY: the value is written.
    unsafe {
        push_field_with(fields, key, |slot| {
            slot.write(Value::String(Str::from(s)));
            compiler_fence(Ordering::SeqCst);
        })
    }
}

/// Appends a number field. Each case writes its own value: a compiler fence in each keeps the
/// compiler from merging the cases into one temporary and a copy (the stall this avoids).
#[allow(unsafe_code)]
#[inline(always)]
pub(super) fn push_number(fields: &mut Vec<(Str, Value)>, key: Str, n: Number) {
    let put = |slot: *mut Value, v: Value| {
        // SAFETY: `slot` is the value of the field being pushed (see `push_field_with`).
        unsafe { slot.write(v) };
        compiler_fence(Ordering::SeqCst);
    };
    // SAFETY: every case writes the value.
    unsafe {
        push_field_with(fields, key, |slot| match n {
            Number::Int(i) => match i32::try_from(i) {
                Ok(x) => put(slot, Value::Int32(x)),
                Err(_) => put(slot, Value::Int64(i)),
            },
            Number::UInt(u) => match (i32::try_from(u), i64::try_from(u)) {
                (Ok(x), _) => put(slot, Value::Int32(x)),
                (_, Ok(l)) => put(slot, Value::Int64(l)),
                _ => put(slot, Value::Double(u as f64)),
            },
            Number::Double(f) => put(slot, Value::Double(f)),
        })
    }
}
