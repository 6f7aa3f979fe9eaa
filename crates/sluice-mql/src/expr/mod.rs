//! Aggregation expressions: compiled once from their JSON form into an [`Expr`] tree, then
//! evaluated per document with MongoDB semantics.

mod arithmetic;
mod array;
mod array_n;
mod bitwise;
mod comparison;
mod compile;
mod convert;
mod convert_binary;
mod data;
mod date;
mod date_parts;
mod eval;
mod function;
mod hashed_key;
mod memory;
mod numeric;
mod object;
mod registry;
mod set;
mod special;
mod stats;
mod string;
mod timezone;
mod trig;

use std::borrow::Cow;

use crate::{parse_iso_local, BsonType, Document, FieldPath, Str, Value};

pub(crate) use array_n::check_n_spec;
pub use compile::compile;
pub(crate) use convert::to_string_value;
pub use function::JsCall;
pub(crate) use function::{check_lang, compile_failure, js_source};
pub use memory::MAX_EXPRESSION_BYTES;
pub(crate) use numeric::{add_numbers, divide_numbers};
pub(crate) use registry::value_text;
pub use special::SortSpec;
pub use timezone::Timezone;

/// Signature of an eagerly evaluated operator: arguments in, value out.
pub(crate) type FuncImpl = fn(&[Cow<'_, Value>]) -> Result<Value, ExprError>;

/// A compiled aggregation expression.
#[derive(Debug, Clone)]
pub enum Expr {
    /// A constant (also the result of constant folding).
    Literal(Value),
    /// `"$a.b"`: a field path from the current document.
    Field(FieldPath),
    /// `"$$ROOT"` / `"$$CURRENT"`, optionally followed by a path.
    Root(Option<FieldPath>),
    /// `"$$name"` or `"$$name.path"`: a variable bound by `$let`, `$map`, `$filter`, `$reduce`.
    Var(Str, Option<FieldPath>),
    /// `"$$NOW"`: the time the evaluation started.
    Now,
    /// `{a: expr, b: expr}`: a document built from expressions; missing values drop their field.
    Object(Vec<(Str, Expr)>),
    /// `[expr, ...]`: an array built from expressions; missing elements become null.
    Array(Vec<Expr>),
    /// An eagerly evaluated operator over positional arguments.
    Call(&'static str, FuncImpl, Vec<Expr>),
    /// `{$dateFromString: {dateString: "$path"}}`, the usual `timeField` of a stream: compiled
    /// apart so that [`Expr::eval_date`] reads the date straight from the field.
    IsoDateOf(FieldPath),
    /// An operator that evaluates its arguments lazily or binds variables.
    Special(Box<special::Special>),
}

/// An error raised while evaluating an expression: the event goes to the DLQ with this reason.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{op}: {message}")]
pub struct ExprError {
    /// The operator that failed (`$divide`).
    pub op: &'static str,
    /// What went wrong, in MongoDB's words where it has them.
    pub message: String,
}

impl ExprError {
    /// Builds an error for an operator.
    pub fn new(op: &'static str, message: impl Into<String>) -> ExprError {
        ExprError { op, message: message.into() }
    }
}

/// An expression that cannot be compiled: unknown operator, wrong arguments, undefined variable.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct CompileError(pub String);

/// What an expression reads: the current document and its stream metadata.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    /// The current document (`$$ROOT`).
    pub root: &'a Document,
    /// The stream metadata (`{$meta: "stream"}`), if the engine attached any.
    pub meta: Option<&'a Document>,
}

impl<'a> Input<'a> {
    /// An input with no stream metadata.
    pub fn doc(root: &'a Document) -> Input<'a> {
        Input { root, meta: None }
    }
}

/// Variable bindings and evaluation-wide values (`$$NOW`).
#[derive(Debug, Clone, Default)]
pub struct Scope {
    vars: Vec<(Str, Value)>,
    /// `$$NOW` in milliseconds since the epoch.
    pub now: i64,
}

impl Scope {
    /// A scope with no variables and the given `$$NOW`.
    pub fn new(now: i64) -> Scope {
        Scope { vars: Vec::new(), now }
    }

    pub(crate) fn push(&mut self, name: Str, v: Value) {
        self.vars.push((name, v));
    }

    pub(crate) fn pop(&mut self) {
        self.vars.pop();
    }

    pub(crate) fn set_top(&mut self, v: Value) {
        if let Some(last) = self.vars.last_mut() {
            last.1 = v;
        }
    }

    pub(crate) fn get(&self, name: &str) -> Option<&Value> {
        self.vars.iter().rev().find(|(n, _)| n == name).map(|(_, v)| v)
    }
}

impl Expr {
    /// Evaluates the expression against one input document.
    /// Constants and field paths, the most common expressions by far, are answered here without
    /// entering the general evaluator.
    #[inline]
    pub fn eval<'a>(&'a self, input: &Input<'a>, scope: &mut Scope) -> Result<Cow<'a, Value>, ExprError> {
        match self {
            Expr::Literal(v) => Ok(Cow::Borrowed(v)),
            Expr::Field(p) => Ok(p.resolve(input.root)),
            _ => eval::eval(self, input, scope),
        }
    }

    /// Evaluates and returns an owned value.
    #[inline]
    pub fn eval_owned(&self, input: &Input<'_>, scope: &mut Scope) -> Result<Value, ExprError> {
        // An operator's result is handed on as it is, not wrapped in a `Cow` and unwrapped again
        // (each move of a value just written copies it back out of memory).
        if let Expr::Call(_, f, args) = self {
            return eval::call(*f, args, input, scope);
        }
        self.eval(input, scope).map(Cow::into_owned)
    }

    /// The value of a constant or of a field path reached through embedded documents only,
    /// borrowed; `None` when the expression needs [`Expr::eval`] (anything else, or an array on
    /// the path). Nothing comes back through memory, as a `Result<Cow<Value>>` does.
    #[inline]
    pub fn value_ref<'a>(&'a self, doc: &'a Document) -> Option<&'a Value> {
        static MISSING: Value = Value::Missing;
        match self {
            Expr::Literal(v) => Some(v),
            Expr::Field(path) => path.lookup_through_documents(doc).map(|found| found.unwrap_or(&MISSING)),
            _ => None,
        }
    }

    /// Evaluates an expression that should give a date (a `timeField`): its milliseconds since
    /// the epoch, or the type of the value it gave instead.
    #[inline]
    pub fn eval_date(&self, input: &Input<'_>, scope: &mut Scope) -> Result<Result<i64, BsonType>, ExprError> {
        if let Expr::IsoDateOf(path) = self {
            if let Value::String(s) = &*path.resolve(input.root) {
                if let Some((local, offset)) = parse_iso_local(s) {
                    return Ok(Ok(local - offset.unwrap_or(0)));
                }
            }
            // Anything else takes the general path, which says what is wrong.
        }
        match &*self.eval(input, scope)? {
            Value::DateTime(ms) => Ok(Ok(*ms)),
            other => Ok(Err(other.bson_type())),
        }
    }

    /// True when the expression is a constant.
    pub fn is_literal(&self) -> bool {
        matches!(self, Expr::Literal(_))
    }
}

#[cfg(test)]
mod tests;
