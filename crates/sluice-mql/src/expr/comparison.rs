//! Comparison operators `$eq $ne $gt $gte $lt $lte $cmp` and `$not` (`$and`/`$or` are lazy, in special.rs).

use std::borrow::Cow;
use std::cmp::Ordering;

use super::registry::{Arity, FuncDef};
use super::ExprError;
use crate::{compare_values, Value};

type Args<'a, 'b> = &'a [Cow<'b, Value>];

pub(crate) const FUNCS: &[FuncDef] = &[
    FuncDef { name: "$eq", arity: Arity::Exact(2), f: eq },
    FuncDef { name: "$ne", arity: Arity::Exact(2), f: ne },
    FuncDef { name: "$gt", arity: Arity::Exact(2), f: gt },
    FuncDef { name: "$gte", arity: Arity::Exact(2), f: gte },
    FuncDef { name: "$lt", arity: Arity::Exact(2), f: lt },
    FuncDef { name: "$lte", arity: Arity::Exact(2), f: lte },
    FuncDef { name: "$cmp", arity: Arity::Exact(2), f: cmp },
    FuncDef { name: "$not", arity: Arity::Exact(1), f: not },
];

/// Aggregation comparison: the BSON order, except that a missing value sorts before null.
pub(crate) fn agg_compare(a: &Value, b: &Value) -> Ordering {
    match (a.is_missing(), b.is_missing()) {
        (true, true) => Ordering::Equal,
        (true, false) if matches!(b, Value::Null | Value::Undefined) => Ordering::Less,
        (false, true) if matches!(a, Value::Null | Value::Undefined) => Ordering::Greater,
        _ => compare_values(a, b),
    }
}

fn ord(args: Args) -> Ordering {
    agg_compare(&args[0], &args[1])
}

fn eq(args: Args) -> Result<Value, ExprError> {
    Ok(Value::Bool(ord(args) == Ordering::Equal))
}
fn ne(args: Args) -> Result<Value, ExprError> {
    Ok(Value::Bool(ord(args) != Ordering::Equal))
}
fn gt(args: Args) -> Result<Value, ExprError> {
    Ok(Value::Bool(ord(args) == Ordering::Greater))
}
fn gte(args: Args) -> Result<Value, ExprError> {
    Ok(Value::Bool(ord(args) != Ordering::Less))
}
fn lt(args: Args) -> Result<Value, ExprError> {
    Ok(Value::Bool(ord(args) == Ordering::Less))
}
fn lte(args: Args) -> Result<Value, ExprError> {
    Ok(Value::Bool(ord(args) != Ordering::Greater))
}
fn cmp(args: Args) -> Result<Value, ExprError> {
    Ok(Value::Int32(match ord(args) {
        Ordering::Less => -1,
        Ordering::Equal => 0,
        Ordering::Greater => 1,
    }))
}
fn not(args: Args) -> Result<Value, ExprError> {
    Ok(Value::Bool(!args[0].truthy()))
}
