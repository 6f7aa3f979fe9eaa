//! Matching a compiled [`Filter`] against a document.

use std::cmp::Ordering;

use super::{Filter, Node, Pred, TypeTest};
use crate::expr::{Input, Scope};
use crate::{compare_values, values_equal, Document, FieldPath, Str, Value};

/// Rank of a value's type bracket: comparisons (`$gt` ...) only hold within one bracket.
fn bracket(v: &Value) -> u8 {
    match v {
        Value::Missing | Value::Null | Value::Undefined => 1,
        Value::Int32(_) | Value::Int64(_) | Value::Double(_) | Value::Decimal(_) => 2,
        Value::String(_) => 3,
        Value::Document(_) => 4,
        Value::Array(_) => 5,
        Value::Binary(..) => 6,
        Value::ObjectId(_) => 7,
        Value::Bool(_) => 8,
        Value::DateTime(_) => 9,
        Value::Timestamp(..) => 10,
        Value::Regex(_) => 11,
        Value::MinKey => 0,
        Value::MaxKey => 12,
    }
}

impl Filter {
    /// True when the document matches the query.
    pub fn matches(&self, doc: &Document) -> bool {
        self.matches_input(&Input::doc(doc), &mut Scope::default())
    }

    /// Matches with stream metadata and a scope (`$expr` may read `$$NOW` and `{$meta: "stream"}`).
    /// An `$expr` that raises an error does not match.
    #[inline]
    pub fn matches_input(&self, input: &Input<'_>, scope: &mut Scope) -> bool {
        node_matches(&self.root, input, scope)
    }
}

fn node_matches(n: &Node, input: &Input<'_>, scope: &mut Scope) -> bool {
    match n {
        Node::And(ns) => ns.iter().all(|n| node_matches(n, input, scope)),
        Node::Or(ns) => ns.iter().any(|n| node_matches(n, input, scope)),
        Node::Nor(ns) => !ns.iter().any(|n| node_matches(n, input, scope)),
        Node::Expr(e) => e.eval(input, scope).map(|v| v.truthy()).unwrap_or(false),
        Node::Schema(s) => s.validate_document(input.root),
        Node::Path(path, pred) => path_matches(input.root, path, pred),
    }
}

/// Collects the values a dotted path reaches, traversing arrays; `None` marks a missing branch.
fn collect<'a>(v: Option<&'a Value>, parts: &[Str], out: &mut Vec<Option<&'a Value>>) {
    let Some((first, rest)) = parts.split_first() else {
        out.push(v);
        return;
    };
    match v {
        Some(Value::Document(d)) => collect(d.get(first), rest, out),
        Some(Value::Array(items)) => {
            if let Ok(i) = first.parse::<usize>() {
                if let Some(item) = items.get(i) {
                    collect(Some(item), rest, out);
                }
            }
            for item in items {
                if matches!(item, Value::Document(_)) {
                    collect(Some(item), parts, out);
                }
            }
        }
        _ => out.push(None),
    }
}

fn path_matches(doc: &Document, path: &FieldPath, pred: &Pred) -> bool {
    // Fast path: a plain dotted path through documents only.
    if let Some(cur) = path.lookup_through_documents(doc) {
        return pred_matches_candidates(pred, &[cur]);
    }
    let parts = path.parts();
    let mut cands = Vec::new();
    collect(doc.get(&parts[0]), &parts[1..], &mut cands);
    pred_matches_candidates(pred, &cands)
}

fn pred_matches_candidates(pred: &Pred, cands: &[Option<&Value>]) -> bool {
    match pred {
        Pred::Not(inner) => !pred_matches_candidates(inner, cands),
        Pred::AllOf(ps) => ps.iter().all(|p| pred_matches_candidates(p, cands)),
        Pred::Exists(want) => cands.iter().any(Option::is_some) == *want,
        Pred::All(values) => {
            !values.is_empty()
                && values
                    .iter()
                    .all(|v| cands.iter().any(|c| scalar_or_elements(*c, |x| values_equal(x, v) && !x.is_missing())))
        }
        Pred::Size(n) => cands.iter().any(|c| matches!(c, Some(Value::Array(a)) if a.len() as i64 == *n)),
        Pred::ElemMatchQuery(node) => cands.iter().any(|c| match c {
            Some(Value::Array(items)) => items.iter().any(|i| match i {
                Value::Document(d) => node_matches(node, &Input::doc(d), &mut Scope::default()),
                _ => false,
            }),
            _ => false,
        }),
        Pred::ElemMatchOps(ps) => cands.iter().any(|c| match c {
            Some(Value::Array(items)) => {
                items.iter().any(|i| ps.iter().all(|p| pred_matches_candidates(p, &[Some(i)])))
            }
            _ => false,
        }),
        // As `{a: null}`: a null in `$in` matches a missing field.
        Pred::In(values, _) if cands.iter().any(Option::is_none) && values.iter().any(Value::is_nullish) => true,
        Pred::Eq(Value::Null) => cands.iter().any(|c| match c {
            None => true,
            Some(v) => scalar_or_elements(Some(v), |x| matches!(x, Value::Null | Value::Undefined)),
        }),
        _ => cands.iter().any(|c| match c {
            None => false,
            Some(v) => scalar_or_elements(Some(v), |x| leaf_matches(pred, x)),
        }),
    }
}

/// Tests the value itself and, for an array, each of its elements.
fn scalar_or_elements(v: Option<&Value>, test: impl Fn(&Value) -> bool) -> bool {
    match v {
        None => false,
        Some(v) => test(v) || matches!(v, Value::Array(items) if items.iter().any(&test)),
    }
}

fn cmp_in_bracket(v: &Value, operand: &Value) -> Option<Ordering> {
    let (bv, bo) = (bracket(v), bracket(operand));
    if bv == bo || matches!(operand, Value::MinKey | Value::MaxKey) {
        Some(compare_values(v, operand))
    } else {
        None
    }
}

fn leaf_matches(pred: &Pred, v: &Value) -> bool {
    match pred {
        Pred::Eq(x) => bracket(v) == bracket(x) && values_equal(v, x),
        Pred::Gt(x) => cmp_in_bracket(v, x) == Some(Ordering::Greater),
        Pred::Gte(x) => matches!(cmp_in_bracket(v, x), Some(Ordering::Greater | Ordering::Equal)),
        Pred::Lt(x) => cmp_in_bracket(v, x) == Some(Ordering::Less),
        Pred::Lte(x) => matches!(cmp_in_bracket(v, x), Some(Ordering::Less | Ordering::Equal)),
        Pred::In(values, regexes) => {
            values.iter().any(|x| {
                if x.is_nullish() {
                    v.is_nullish()
                } else {
                    bracket(v) == bracket(x) && values_equal(v, x)
                }
            }) || (!regexes.is_empty() && v.as_str().is_some_and(|s| regexes.iter().any(|r| r.is_match(s))))
        }
        Pred::Type(tests) => tests.iter().any(|t| match t {
            TypeTest::Number => v.is_number(),
            TypeTest::Is(bt) => v.bson_type() == *bt,
        }),
        Pred::Regex(r) => v.as_str().is_some_and(|s| r.is_match(s)),
        Pred::Mod(d, r) => v.as_f64().is_some_and(|f| f.is_finite() && (f.trunc() as i64).wrapping_rem(*d) == *r),
        _ => false,
    }
}
