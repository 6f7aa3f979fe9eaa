//! The table of eagerly evaluated operators, gathered from each family's file.

use super::{
    arithmetic, array, array_n, bitwise, comparison, convert, convert_binary, data, date, date_parts, object, set,
    stats, string, trig, FuncImpl,
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

const FAMILIES: [&[FuncDef]; 15] = [
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
