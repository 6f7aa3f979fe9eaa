//! The table of eagerly evaluated operators, gathered from each family's file.

use super::{
    arithmetic, array, array_n, bitwise, comparison, convert, convert_binary, data, date, date_parts, hashed_key,
    object, set, stats, string, trig, FuncImpl,
};

/// How an operator takes its arguments.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Arity {
    /// Exactly n positional arguments.
    Exact(usize),
    /// Between lo and hi positional arguments.
    Range(usize, usize),
    /// Any number of positional arguments.
    Any,
    /// A document of named arguments, in this order; the first `usize` are required.
    Named(&'static [&'static str], usize),
    /// A date part: `date` or `{date, timezone}`; compiled to `[date, timezone]`.
    DatePart,
}

/// One operator: its name, how it takes arguments, and its implementation.
pub(crate) struct FuncDef {
    pub name: &'static str,
    pub arity: Arity,
    pub f: FuncImpl,
}

const FAMILIES: [&[FuncDef]; 16] = [
    arithmetic::FUNCS,
    comparison::FUNCS,
    string::FUNCS,
    array::FUNCS,
    convert::FUNCS,
    date::FUNCS,
    object::FUNCS,
    trig::FUNCS,
    set::FUNCS,
    bitwise::FUNCS,
    date_parts::FUNCS,
    array_n::FUNCS,
    stats::FUNCS,
    data::FUNCS,
    convert_binary::FUNCS,
    hashed_key::FUNCS,
];

/// Finds an operator by name (`"$add"`).
pub(crate) fn lookup(name: &str) -> Option<&'static FuncDef> {
    FAMILIES.iter().flat_map(|f| f.iter()).find(|d| d.name == name)
}

/// The alias of a value's type, for error messages.
pub(crate) fn type_name(v: &crate::Value) -> &'static str {
    v.bson_type().alias()
}

/// A value as mongod's messages print it (`5`, `"abc"`, `2.5`), for error messages.
pub(crate) fn value_text(v: &crate::Value) -> String {
    let mut out = String::new();
    crate::json::write_value(&mut out, v, crate::json::JsonMode::Relaxed);
    out
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::FAMILIES;
    use crate::{Decimal128, Document, Value};
    use proptest::prelude::*;

    /// Values of every kind an operator meets, edge cases included.
    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Missing),
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i32>().prop_map(Value::Int32),
            any::<i64>().prop_map(Value::Int64),
            any::<f64>().prop_map(Value::Double),
            prop_oneof![Just(f64::NAN), Just(f64::INFINITY), Just(-0.0), Just(1e308)].prop_map(Value::Double),
            (-3i32..40).prop_map(Value::Int32),
            any::<i64>().prop_map(|i| Value::Decimal(Decimal128::from_i64(i))),
            "[a-z0-9 +:.-]{0,12}".prop_map(|s| Value::str(&s)),
            any::<i64>().prop_map(Value::DateTime),
            (any::<u32>(), any::<u32>()).prop_map(|(t, i)| Value::Timestamp(t, i)),
            prop::collection::vec(any::<u8>(), 0..10).prop_map(|b| Value::Binary(0, b)),
        ];
        leaf.prop_recursive(2, 16, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec(("[a-z]{1,3}", inner), 0..3).prop_map(|fields| {
                    let mut d = Document::new();
                    for (k, v) in fields {
                        d.insert(k, v);
                    }
                    Value::Document(d)
                }),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Every registered operator answers any arguments with a value or an error: it never
        /// panics, whatever the types, counts or magnitudes it is given.
        #[test]
        fn no_operator_panics(args in prop::collection::vec(value(), 0..6)) {
            for def in FAMILIES.iter().flat_map(|f| f.iter()) {
                let cows: Vec<Cow<'_, Value>> = args.iter().map(Cow::Borrowed).collect();
                // Named and date-part operators always receive their full slot count.
                let n = match def.arity {
                    super::Arity::Exact(n) => n,
                    super::Arity::Range(lo, hi) => cows.len().clamp(lo, hi),
                    super::Arity::Any => cows.len(),
                    super::Arity::Named(names, _) => names.len(),
                    super::Arity::DatePart => 2,
                };
                let mut slots: Vec<Cow<'_, Value>> = cows.into_iter().take(n).collect();
                while slots.len() < n {
                    slots.push(Cow::Owned(Value::Missing));
                }
                let _ = (def.f)(&slots);
            }
        }
    }
}
