//! The `$match` query language: compiled once into a [`Filter`], then matched per document with
//! MongoDB semantics (implicit array traversal on dotted paths, null matching missing, type
//! brackets for comparisons).

mod compile;
mod json_schema;
mod matcher;

use regex::Regex;

use crate::expr::Expr;
use crate::{BsonType, FieldPath, Value};

pub use compile::compile_filter;
pub use json_schema::{compile_schema, Schema};

/// A compiled query.
#[derive(Debug, Clone)]
pub struct Filter {
    root: Node,
}

/// An error in a query: unknown operator, bad argument.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct QueryError(pub String);

#[derive(Debug, Clone)]
enum Node {
    And(Vec<Node>),
    Or(Vec<Node>),
    Nor(Vec<Node>),
    Expr(Expr),
    /// `$jsonSchema` on the whole document.
    Schema(Box<json_schema::Schema>),
    /// A predicate on the values found at a dotted path.
    Path(FieldPath, Pred),
}

/// A type test of `$type`: one BSON type, or the "number" alias.
#[derive(Debug, Clone, Copy, PartialEq)]
enum TypeTest {
    Is(BsonType),
    Number,
}

#[derive(Debug, Clone)]
enum Pred {
    Eq(Value),
    Gt(Value),
    Gte(Value),
    Lt(Value),
    Lte(Value),
    In(Vec<Value>, Vec<Regex>),
    Exists(bool),
    Type(Vec<TypeTest>),
    Regex(Regex),
    Mod(i64, i64),
    All(Vec<Value>),
    /// `$elemMatch` over a query on element documents, or over operators applied to each element.
    ElemMatchQuery(Box<Node>),
    ElemMatchOps(Vec<Pred>),
    Size(i64),
    /// Several operators on one path: all must hold.
    AllOf(Vec<Pred>),
    /// `$not`, `$ne`, `$nin`: the negation of the positive predicate over the whole path.
    Not(Box<Pred>),
}

#[cfg(test)]
mod tests;
