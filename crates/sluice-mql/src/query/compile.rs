//! From a query document to a compiled [`Filter`].

use regex::Regex;

use super::{Filter, Node, Pred, QueryError, TypeTest};
use crate::expr::compile as compile_expr;
use crate::{compile_regex, BsonType, Document, FieldPath, Value};

/// Compiles a `$match` query document.
pub fn compile_filter(query: &Document) -> Result<Filter, QueryError> {
    Ok(Filter { root: compile_doc(query)? })
}

fn compile_doc(query: &Document) -> Result<Node, QueryError> {
    let mut nodes = Vec::with_capacity(query.len());
    for (k, v) in query.iter() {
        nodes.push(match k.as_str() {
            "$and" | "$or" | "$nor" => {
                let items = v
                    .as_array()
                    .filter(|a| !a.is_empty())
                    .ok_or_else(|| QueryError(format!("{} must be a nonempty array", k)))?;
                let subs = items
                    .iter()
                    .map(|i| {
                        i.as_document()
                            .ok_or_else(|| QueryError(format!("{} argument's entries must be objects", k)))
                            .and_then(compile_doc)
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                match k.as_str() {
                    "$and" => Node::And(subs),
                    "$or" => Node::Or(subs),
                    _ => Node::Nor(subs),
                }
            }
            "$expr" => Node::Expr(compile_expr(v).map_err(|e| QueryError(format!("$expr: {}", e)))?),
            "$jsonSchema" => {
                let schema = v.as_document().ok_or_else(|| QueryError("$jsonSchema must be an object".into()))?;
                Node::Schema(Box::new(super::json_schema::compile_schema(schema)?))
            }
            "$sampleRate" => Node::Expr(sample_rate(v)?),
            "$comment" => continue,
            op if op.starts_with('$') => return Err(QueryError(format!("unknown top level operator: {}", op))),
            path => {
                let Some(path) = FieldPath::parse(path) else {
                    return Err(QueryError(format!("invalid field path '{}'", path)));
                };
                Node::Path(path, compile_value_pred(v)?)
            }
        });
    }
    Ok(if nodes.len() == 1 { nodes.pop().unwrap_or(Node::And(Vec::new())) } else { Node::And(nodes) })
}

/// `{$sampleRate: p}`: each document matches with probability p, as `{$expr: {$lt: [{$rand: {}}, p]}}`
/// (MongoDB documents it so).
fn sample_rate(v: &Value) -> Result<crate::expr::Expr, QueryError> {
    let p = v
        .as_f64()
        .filter(|p| v.is_number() && (0.0..=1.0).contains(p))
        .ok_or_else(|| QueryError(format!("$sampleRate expects a number between 0 and 1, found {:?}", v)))?;
    let mut rand = Document::with_capacity(1);
    rand.insert("$rand", Value::Document(Document::new()));
    let mut lt = Document::with_capacity(1);
    lt.insert("$lt", Value::Array(vec![Value::Document(rand), Value::Double(p)]));
    compile_expr(&Value::Document(lt)).map_err(|e| QueryError(format!("$sampleRate: {}", e)))
}

fn is_operator_doc(v: &Value) -> bool {
    matches!(v, Value::Document(d) if d.first().is_some_and(|(k, _)| k.starts_with('$')))
}

/// The predicate of `{field: v}`: an operator document, a regex, or equality.
fn compile_value_pred(v: &Value) -> Result<Pred, QueryError> {
    match v {
        Value::Document(d) if is_operator_doc(v) => compile_ops(d),
        Value::Regex(r) => Ok(Pred::Regex(regex(&r.0, &r.1)?)),
        other => Ok(Pred::Eq(other.clone())),
    }
}

fn regex(pattern: &str, options: &str) -> Result<Regex, QueryError> {
    compile_regex(pattern, options).map_err(QueryError)
}

fn list<'v>(op: &str, v: &'v Value) -> Result<&'v [Value], QueryError> {
    v.as_array().ok_or_else(|| QueryError(format!("{} needs an array", op)))
}

fn compile_ops(d: &Document) -> Result<Pred, QueryError> {
    let mut preds = Vec::with_capacity(d.len());
    // $regex takes its options from a sibling $options.
    let options = d.get("$options").and_then(Value::as_str).unwrap_or("");
    for (k, v) in d.iter() {
        preds.push(match k.as_str() {
            "$eq" => Pred::Eq(v.clone()),
            "$ne" => Pred::Not(Box::new(Pred::Eq(v.clone()))),
            "$gt" => Pred::Gt(v.clone()),
            "$gte" => Pred::Gte(v.clone()),
            "$lt" => Pred::Lt(v.clone()),
            "$lte" => Pred::Lte(v.clone()),
            "$in" => in_pred(list("$in", v)?)?,
            "$nin" => Pred::Not(Box::new(in_pred(list("$nin", v)?)?)),
            "$exists" => Pred::Exists(v.truthy()),
            "$type" => Pred::Type(type_tests(v)?),
            "$regex" => match v {
                Value::String(p) => Pred::Regex(regex(p, options)?),
                Value::Regex(r) => Pred::Regex(regex(&r.0, if options.is_empty() { &r.1 } else { options })?),
                _ => return Err(QueryError("$regex has to be a string".into())),
            },
            "$options" => continue,
            "$mod" => {
                let a = list("$mod", v)?;
                let nums: Vec<i64> = a.iter().filter_map(|x| x.as_f64().map(|f| f.trunc() as i64)).collect();
                match nums.as_slice() {
                    [0, _] => return Err(QueryError("divisor cannot be 0".into())),
                    [d, r] if a.len() == 2 => Pred::Mod(*d, *r),
                    _ => return Err(QueryError("malformed mod, needs to be an array of 2 numbers".into())),
                }
            }
            "$all" => Pred::All(list("$all", v)?.to_vec()),
            "$size" => match v.as_exact_i64() {
                Some(n) if n >= 0 => Pred::Size(n),
                _ => return Err(QueryError("$size needs a non-negative integer".into())),
            },
            "$elemMatch" => {
                let sub = v.as_document().ok_or_else(|| QueryError("$elemMatch needs an Object".into()))?;
                let ops_only =
                    sub.keys().all(|k| k.starts_with('$') && !matches!(k.as_str(), "$and" | "$or" | "$nor" | "$expr"));
                if ops_only && !sub.is_empty() {
                    match compile_ops(sub)? {
                        Pred::AllOf(p) => Pred::ElemMatchOps(p),
                        p => Pred::ElemMatchOps(vec![p]),
                    }
                } else {
                    Pred::ElemMatchQuery(Box::new(compile_doc(sub)?))
                }
            }
            "$not" => match v {
                Value::Regex(r) => Pred::Not(Box::new(Pred::Regex(regex(&r.0, &r.1)?))),
                Value::Document(sub) if is_operator_doc(v) => Pred::Not(Box::new(compile_ops(sub)?)),
                _ => return Err(QueryError("$not needs a regex or a document".into())),
            },
            other => return Err(QueryError(format!("unknown operator: {}", other))),
        });
    }
    Ok(if preds.len() == 1 { preds.pop().unwrap_or(Pred::AllOf(Vec::new())) } else { Pred::AllOf(preds) })
}

fn in_pred(items: &[Value]) -> Result<Pred, QueryError> {
    let mut values = Vec::with_capacity(items.len());
    let mut regexes = Vec::new();
    for i in items {
        match i {
            Value::Regex(r) => regexes.push(regex(&r.0, &r.1)?),
            Value::Document(_) if is_operator_doc(i) => return Err(QueryError("cannot nest $ under $in".into())),
            other => values.push(other.clone()),
        }
    }
    Ok(Pred::In(values, regexes))
}

fn type_tests(v: &Value) -> Result<Vec<TypeTest>, QueryError> {
    let one = |t: &Value| -> Result<TypeTest, QueryError> {
        match t {
            Value::String(s) if s == "number" => Ok(TypeTest::Number),
            Value::String(s) => BsonType::from_alias(s)
                .map(TypeTest::Is)
                .ok_or_else(|| QueryError(format!("unknown type name alias: {}", s))),
            n => n
                .as_exact_i64()
                .and_then(BsonType::from_number)
                .map(TypeTest::Is)
                .ok_or_else(|| QueryError(format!("invalid numerical type code: {:?}", n))),
        }
    };
    match v {
        Value::Array(items) => items.iter().map(one).collect(),
        other => Ok(vec![one(other)?]),
    }
}
