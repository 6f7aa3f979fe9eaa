//! Evaluation of a compiled expression tree.

use std::borrow::Cow;
use std::sync::atomic::{compiler_fence, Ordering};

use smallvec::SmallVec;

use super::{Expr, ExprError, FuncImpl, Input, Scope};
use crate::{Document, Value};

pub(super) fn eval<'a>(e: &'a Expr, input: &Input<'a>, scope: &mut Scope) -> Result<Cow<'a, Value>, ExprError> {
    Ok(match e {
        Expr::Literal(v) => Cow::Borrowed(v),
        Expr::Field(p) => p.resolve(input.root),
        Expr::Root(None) => Cow::Owned(Value::Document(input.root.clone())),
        Expr::Root(Some(p)) => p.resolve(input.root),
        Expr::Var(name, path) => {
            let v = scope.get(name).cloned().unwrap_or(Value::Missing);
            match path {
                None => Cow::Owned(v),
                Some(p) => Cow::Owned(p.resolve_in(&v).into_owned()),
            }
        }
        Expr::Now => Cow::Owned(Value::DateTime(scope.now)),
        Expr::Object(fields) => {
            let mut d = Document::with_capacity(fields.len());
            for (k, fe) in fields {
                let v = eval(fe, input, scope)?;
                d.push_unique(k.clone(), v.into_owned());
            }
            Cow::Owned(Value::Document(d))
        }
        Expr::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for ie in items {
                let v = eval(ie, input, scope)?.into_owned();
                out.push(if v.is_missing() { Value::Null } else { v });
            }
            Cow::Owned(Value::Array(out))
        }
        Expr::Call(_, f, args) => Cow::Owned(call(*f, args, input, scope)?),
        Expr::IsoDateOf(p) => Cow::Owned(super::date::iso_date_of(&p.resolve(input.root))?),
        Expr::Special(s) => s.eval(input, scope)?,
    })
}

/// Sets `slot` to an operator's argument. A constant or a plain field path is borrowed through
/// [`Expr::value_ref`] and written into the slot directly; anything else is evaluated.
///
/// The argument is written where it stays, each case by itself (the fence keeps the compiler
/// from merging them): a `Cow` assembled in one place and copied into the argument array at once
/// is read back with 16-byte loads that wait for the narrower stores that built it.
#[inline(always)]
fn set_argument<'a>(
    slot: &mut Cow<'a, Value>,
    e: &'a Expr,
    input: &Input<'a>,
    scope: &mut Scope,
) -> Result<(), ExprError> {
    match e.value_ref(input.root) {
        Some(v) => *slot = Cow::Borrowed(v),
        None => *slot = e.eval(input, scope)?,
    }
    compiler_fence(Ordering::SeqCst);
    Ok(())
}

/// What an argument slot holds before it is set.
static MISSING: Value = Value::Missing;

/// Calls an eagerly evaluated operator on its evaluated arguments.
#[inline(always)]
pub(super) fn call<'a>(
    f: FuncImpl,
    args: &'a [Expr],
    input: &Input<'a>,
    scope: &mut Scope,
) -> Result<Value, ExprError> {
    match args {
        // One or two arguments (most calls) in an array: no vector to build, move and drop.
        [a] => {
            let mut vals = [Cow::Borrowed(&MISSING)];
            set_argument(&mut vals[0], a, input, scope)?;
            f(&vals)
        }
        [a, b] => {
            let mut vals = [Cow::Borrowed(&MISSING), Cow::Borrowed(&MISSING)];
            set_argument(&mut vals[0], a, input, scope)?;
            set_argument(&mut vals[1], b, input, scope)?;
            f(&vals)
        }
        _ => {
            // Inline room for every registered operator's argument count (named ones take up to
            // 5), so no call allocates for its arguments.
            let mut vals: SmallVec<[Cow<'a, Value>; 5]> = SmallVec::with_capacity(args.len());
            for a in args {
                vals.push(a.eval(input, scope)?);
            }
            f(&vals)
        }
    }
}
