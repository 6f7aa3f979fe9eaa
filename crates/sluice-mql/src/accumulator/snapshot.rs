//! Accumulator states to and from [`Value`]s, for checkpoints. The encoding is a small document
//! tagged by `t`; it is part of the checkpoint format, so changes to it need a format version bump
//! (adding a tag, as `sized` and `js` were, leaves every earlier snapshot readable).

use super::AccState;
use crate::{Document, Str, Value};

fn tagged(tag: &str, fields: Vec<(&str, Value)>) -> Value {
    let mut d = Document::with_capacity(fields.len() + 1);
    d.push_unique(Str::from("t"), Value::str(tag));
    for (k, v) in fields {
        d.insert(k, v);
    }
    Value::Document(d)
}

fn opt(v: &Option<Value>) -> Value {
    match v {
        Some(x) => Value::Array(vec![x.clone()]),
        None => Value::Array(Vec::new()),
    }
}

fn un_opt(v: Option<&Value>) -> Option<Option<Value>> {
    match v?.as_array()? {
        [] => Some(None),
        [x] => Some(Some(x.clone())),
        _ => None,
    }
}

impl AccState {
    /// Encodes the state as a value.
    pub fn snapshot(&self) -> Value {
        match self {
            AccState::Sum(v) => tagged("sum", vec![("v", v.clone())]),
            AccState::Avg(v, n) => tagged("avg", vec![("v", v.clone()), ("n", Value::Int64(*n))]),
            AccState::Extreme(v) => tagged("ext", vec![("v", opt(v))]),
            AccState::First(v) => tagged("first", vec![("v", opt(v))]),
            AccState::Last(v) => tagged("last", vec![("v", v.clone())]),
            AccState::List(items) => tagged("list", vec![("v", Value::Array(items.clone()))]),
            AccState::Count(n) => tagged("count", vec![("n", Value::Int64(*n))]),
            AccState::Moments(n, mean, m2) => {
                tagged("mom", vec![("n", Value::Int64(*n)), ("mean", Value::Double(*mean)), ("m2", Value::Double(*m2))])
            }
            AccState::Samples(s) => {
                tagged("samples", vec![("v", Value::Array(s.iter().map(|x| Value::Double(*x)).collect()))])
            }
            AccState::Ranked(items) => tagged(
                "ranked",
                vec![(
                    "v",
                    Value::Array(
                        items.iter().map(|(k, o)| Value::Array(vec![Value::Array(k.clone()), o.clone()])).collect(),
                    ),
                )],
            ),
            AccState::Extremes(items) => tagged("exts", vec![("v", Value::Array(items.clone()))]),
            AccState::Sized(n, inner) => tagged("sized", vec![("n", Value::Int64(*n as i64)), ("v", inner.snapshot())]),
            // A state before `init` has no `v`.
            AccState::Js(v) => tagged("js", vec![("v", v.clone())]),
        }
    }

    /// Decodes a state written by [`AccState::snapshot`]; `None` when the value is not one.
    pub fn restore(v: &Value) -> Option<AccState> {
        let d = v.as_document()?;
        let get = |k: &str| d.get(k);
        let int = |k: &str| d.get(k).and_then(Value::as_exact_i64);
        let list = |k: &str| d.get(k).and_then(Value::as_array).map(<[Value]>::to_vec);
        Some(match d.get("t")?.as_str()? {
            "sum" => AccState::Sum(get("v")?.clone()),
            "avg" => AccState::Avg(get("v")?.clone(), int("n")?),
            "ext" => AccState::Extreme(un_opt(get("v"))?),
            "first" => AccState::First(un_opt(get("v"))?),
            "last" => AccState::Last(get("v")?.clone()),
            "list" => AccState::List(list("v")?),
            "count" => AccState::Count(int("n")?),
            "mom" => AccState::Moments(int("n")?, get("mean")?.as_f64()?, get("m2")?.as_f64()?),
            "samples" => AccState::Samples(list("v")?.iter().map(Value::as_f64).collect::<Option<Vec<_>>>()?),
            "ranked" => AccState::Ranked(
                list("v")?
                    .iter()
                    .map(|p| match p.as_array()? {
                        [k, o] => Some((k.as_array()?.to_vec(), o.clone())),
                        _ => None,
                    })
                    .collect::<Option<Vec<_>>>()?,
            ),
            "exts" => AccState::Extremes(list("v")?),
            "js" => AccState::Js(get("v").cloned().unwrap_or(Value::Missing)),
            "sized" => AccState::Sized(usize::try_from(int("n")?).ok()?, Box::new(AccState::restore(get("v")?)?)),
            _ => return None,
        })
    }
}
