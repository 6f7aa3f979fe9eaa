//! Object operators: `$mergeObjects $getField $setField $unsetField $objectToArray $arrayToObject`.

use std::borrow::Cow;

use super::registry::{type_name, Arity, FuncDef};
use super::ExprError;
use crate::{Document, Str, Value};

type Args<'a, 'b> = &'a [Cow<'b, Value>];

pub(crate) const FUNCS: &[FuncDef] = &[
    FuncDef { name: "$mergeObjects", arity: Arity::Any, f: merge_objects },
    FuncDef { name: "$getField", arity: Arity::Named(&["field", "input"], 1), f: get_field },
    FuncDef { name: "$setField", arity: Arity::Named(&["field", "input", "value"], 3), f: set_field },
    FuncDef { name: "$unsetField", arity: Arity::Named(&["field", "input"], 2), f: unset_field },
    FuncDef { name: "$objectToArray", arity: Arity::Exact(1), f: object_to_array },
    FuncDef { name: "$arrayToObject", arity: Arity::Exact(1), f: array_to_object },
];

fn merge_objects(args: Args) -> Result<Value, ExprError> {
    let mut out = Document::new();
    for a in args {
        match &**a {
            v if v.is_nullish() => {}
            Value::Document(d) => {
                for (k, v) in d.iter() {
                    out.insert(k.clone(), v.clone());
                }
            }
            v => {
                return Err(ExprError::new(
                    "$mergeObjects",
                    format!("$mergeObjects requires object inputs, but input is of type {}", type_name(v)),
                ))
            }
        }
    }
    Ok(Value::Document(out))
}

fn field_name(op: &'static str, v: &Value) -> Result<Str, ExprError> {
    match v {
        Value::String(s) => Ok(s.clone()),
        other => Err(ExprError::new(op, format!("'field' must evaluate to a string, found {}", type_name(other)))),
    }
}

fn get_field(args: Args) -> Result<Value, ExprError> {
    let field = field_name("$getField", &args[0])?;
    // Without `input` the compiler passes $$CURRENT (see compile.rs).
    match &*args[1] {
        Value::Document(d) => Ok(d.get(&field).cloned().unwrap_or(Value::Missing)),
        v if v.is_nullish() => Ok(Value::Null),
        _ => Ok(Value::Missing),
    }
}

fn set_field(args: Args) -> Result<Value, ExprError> {
    let field = field_name("$setField", &args[0])?;
    match &*args[1] {
        Value::Document(d) => {
            let mut d = d.clone();
            d.insert(field, args[2].clone().into_owned());
            Ok(Value::Document(d))
        }
        v if v.is_nullish() => Ok(Value::Null),
        v => Err(ExprError::new("$setField", format!("'input' must evaluate to an object, found {}", type_name(v)))),
    }
}

fn unset_field(args: Args) -> Result<Value, ExprError> {
    let field = field_name("$unsetField", &args[0])?;
    match &*args[1] {
        Value::Document(d) => {
            let mut d = d.clone();
            d.remove(&field);
            Ok(Value::Document(d))
        }
        v if v.is_nullish() => Ok(Value::Null),
        v => Err(ExprError::new("$unsetField", format!("'input' must evaluate to an object, found {}", type_name(v)))),
    }
}

fn object_to_array(args: Args) -> Result<Value, ExprError> {
    match &*args[0] {
        v if v.is_nullish() => Ok(Value::Null),
        Value::Document(d) => Ok(Value::Array(
            d.iter()
                .map(|(k, v)| {
                    let mut kv = Document::with_capacity(2);
                    kv.push_unique(Str::from("k"), Value::String(k.clone()));
                    kv.push_unique(Str::from("v"), v.clone());
                    Value::Document(kv)
                })
                .collect(),
        )),
        v => Err(ExprError::new(
            "$objectToArray",
            format!("$objectToArray requires a document input, found: {}", type_name(v)),
        )),
    }
}

fn array_to_object(args: Args) -> Result<Value, ExprError> {
    let items = match &*args[0] {
        v if v.is_nullish() => return Ok(Value::Null),
        Value::Array(items) => items,
        v => return Err(ExprError::new("$arrayToObject", format!("requires an array input, found: {}", type_name(v)))),
    };
    let mut out = Document::new();
    for item in items {
        let (k, v) = match item {
            Value::Array(pair) if pair.len() == 2 => (&pair[0], pair[1].clone()),
            Value::Document(d) if d.len() == 2 && d.contains_key("k") && d.contains_key("v") => {
                (d.get("k").unwrap_or(&Value::Null), d.get("v").cloned().unwrap_or(Value::Null))
            }
            _ => {
                return Err(ExprError::new(
                    "$arrayToObject",
                    "requires an array of size-2 arrays or of {k, v} documents",
                ))
            }
        };
        let Value::String(k) = k else {
            return Err(ExprError::new(
                "$arrayToObject",
                format!("requires keys of type string, found: {}", type_name(k)),
            ));
        };
        out.insert(k.clone(), v);
    }
    Ok(Value::Document(out))
}
