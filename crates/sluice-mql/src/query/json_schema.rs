//! `$jsonSchema`: MongoDB's JSON Schema (draft 4 subset plus `bsonType`), compiled once.
//!
//! Keywords: `bsonType type required properties additionalProperties patternProperties
//! minProperties maxProperties enum minimum maximum exclusiveMinimum exclusiveMaximum multipleOf
//! minLength maxLength pattern items additionalItems minItems maxItems uniqueItems allOf anyOf oneOf
//! not`, with `title` and `description` ignored. Unknown keywords are refused, as MongoDB does.

use regex::Regex;

use super::{QueryError, TypeTest};
use crate::{compare_values, compile_regex, values_equal, BsonType, Document, Value};

/// A compiled schema.
#[derive(Debug, Clone, Default)]
pub struct Schema {
    types: Option<Vec<TypeTest>>,
    required: Vec<String>,
    properties: Vec<(String, Schema)>,
    additional: Option<Box<Additional>>,
    pattern_properties: Vec<(Regex, Schema)>,
    min_properties: Option<usize>,
    max_properties: Option<usize>,
    enumeration: Option<Vec<Value>>,
    minimum: Option<(Value, bool)>,
    maximum: Option<(Value, bool)>,
    multiple_of: Option<f64>,
    min_length: Option<usize>,
    max_length: Option<usize>,
    pattern: Option<Regex>,
    items: Option<Items>,
    additional_items: Option<Box<Additional>>,
    min_items: Option<usize>,
    max_items: Option<usize>,
    unique_items: bool,
    all_of: Vec<Schema>,
    any_of: Vec<Schema>,
    one_of: Vec<Schema>,
    not: Option<Box<Schema>>,
}

#[derive(Debug, Clone)]
enum Additional {
    Allowed(bool),
    Schema(Box<Schema>),
}

#[derive(Debug, Clone)]
enum Items {
    All(Box<Schema>),
    Tuple(Vec<Schema>),
}

fn err(msg: impl Into<String>) -> QueryError {
    QueryError(format!("$jsonSchema: {}", msg.into()))
}

fn count(v: &Value, kw: &str) -> Result<usize, QueryError> {
    v.as_exact_i64()
        .filter(|n| *n >= 0)
        .map(|n| n as usize)
        .ok_or_else(|| err(format!("{} must be a non-negative integer", kw)))
}

fn json_type(name: &str) -> Result<Vec<TypeTest>, QueryError> {
    Ok(match name {
        "object" => vec![TypeTest::Is(BsonType::Document)],
        "array" => vec![TypeTest::Is(BsonType::Array)],
        "number" => vec![TypeTest::Number],
        "boolean" => vec![TypeTest::Is(BsonType::Bool)],
        "string" => vec![TypeTest::Is(BsonType::String)],
        "null" => vec![TypeTest::Is(BsonType::Null)],
        other => return Err(err(format!("unknown type name '{}' (use bsonType for BSON types)", other))),
    })
}

fn bson_type(name: &str) -> Result<TypeTest, QueryError> {
    match name {
        "number" => Ok(TypeTest::Number),
        other => {
            BsonType::from_alias(other).map(TypeTest::Is).ok_or_else(|| err(format!("unknown bsonType '{}'", other)))
        }
    }
}

fn names(v: &Value, kw: &str) -> Result<Vec<String>, QueryError> {
    match v {
        Value::String(s) => Ok(vec![s.to_string()]),
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().map(str::to_string).ok_or_else(|| err(format!("{} must hold strings", kw))))
            .collect(),
        _ => Err(err(format!("{} must be a string or an array of strings", kw))),
    }
}

fn sub(v: &Value, kw: &str) -> Result<Schema, QueryError> {
    compile_schema(v.as_document().ok_or_else(|| err(format!("{} must be an object", kw)))?)
}

fn subs(v: &Value, kw: &str) -> Result<Vec<Schema>, QueryError> {
    v.as_array()
        .filter(|a| !a.is_empty())
        .ok_or_else(|| err(format!("{} must be a non-empty array", kw)))?
        .iter()
        .map(|s| sub(s, kw))
        .collect()
}

fn additional(v: &Value, kw: &str) -> Result<Box<Additional>, QueryError> {
    Ok(Box::new(match v {
        Value::Bool(b) => Additional::Allowed(*b),
        other => Additional::Schema(Box::new(sub(other, kw)?)),
    }))
}

/// Compiles a `$jsonSchema` document.
pub fn compile_schema(d: &Document) -> Result<Schema, QueryError> {
    let mut s = Schema::default();
    let exclusive = |k: &str| d.get(k).map(Value::truthy).unwrap_or(false);
    for (k, v) in d.iter() {
        match k.as_str() {
            "bsonType" => {
                let tests = names(v, "bsonType")?.iter().map(|n| bson_type(n)).collect::<Result<Vec<_>, _>>()?;
                s.types.get_or_insert_with(Vec::new).extend(tests);
            }
            "type" => {
                for n in names(v, "type")? {
                    s.types.get_or_insert_with(Vec::new).extend(json_type(&n)?);
                }
            }
            "required" => s.required = names(v, "required")?,
            "properties" => {
                let props = v.as_document().ok_or_else(|| err("properties must be an object"))?;
                for (name, schema) in props.iter() {
                    s.properties.push((name.to_string(), sub(schema, "properties")?));
                }
            }
            "additionalProperties" => s.additional = Some(additional(v, k)?),
            "patternProperties" => {
                let props = v.as_document().ok_or_else(|| err("patternProperties must be an object"))?;
                for (p, schema) in props.iter() {
                    s.pattern_properties.push((compile_regex(p, "").map_err(err)?, sub(schema, "patternProperties")?));
                }
            }
            "minProperties" => s.min_properties = Some(count(v, k)?),
            "maxProperties" => s.max_properties = Some(count(v, k)?),
            "enum" => {
                s.enumeration = Some(
                    v.as_array()
                        .filter(|a| !a.is_empty())
                        .ok_or_else(|| err("enum must be a non-empty array"))?
                        .to_vec(),
                )
            }
            "minimum" | "maximum" if !v.is_number() => return Err(err(format!("{} must be a number", k))),
            "minimum" => s.minimum = Some((v.clone(), exclusive("exclusiveMinimum"))),
            "maximum" => s.maximum = Some((v.clone(), exclusive("exclusiveMaximum"))),
            "exclusiveMinimum" | "exclusiveMaximum" => {
                let base = if k == "exclusiveMinimum" { "minimum" } else { "maximum" };
                if !matches!(v, Value::Bool(_)) || !d.contains_key(base) {
                    return Err(err(format!("{} must be a boolean next to {}", k, base)));
                }
            }
            "multipleOf" => match v.as_f64() {
                Some(m) if v.is_number() && m > 0.0 => s.multiple_of = Some(m),
                _ => return Err(err("multipleOf must be a positive number")),
            },
            "minLength" => s.min_length = Some(count(v, k)?),
            "maxLength" => s.max_length = Some(count(v, k)?),
            "pattern" => {
                s.pattern =
                    Some(compile_regex(v.as_str().ok_or_else(|| err("pattern must be a string"))?, "").map_err(err)?)
            }
            "items" => {
                s.items = Some(match v {
                    Value::Array(_) => Items::Tuple(subs(v, k)?),
                    other => Items::All(Box::new(sub(other, k)?)),
                })
            }
            "additionalItems" => s.additional_items = Some(additional(v, k)?),
            "minItems" => s.min_items = Some(count(v, k)?),
            "maxItems" => s.max_items = Some(count(v, k)?),
            "uniqueItems" => s.unique_items = v.truthy(),
            "allOf" => s.all_of = subs(v, k)?,
            "anyOf" => s.any_of = subs(v, k)?,
            "oneOf" => s.one_of = subs(v, k)?,
            "not" => s.not = Some(Box::new(sub(v, k)?)),
            "title" | "description" => {}
            other => return Err(err(format!("unsupported keyword: {}", other))),
        }
    }
    Ok(s)
}

impl Schema {
    /// True when the document satisfies the schema.
    pub fn validate_document(&self, d: &Document) -> bool {
        if let Some(types) = &self.types {
            if !types.contains(&TypeTest::Is(BsonType::Document)) {
                return false;
            }
        }
        self.object_ok(d) && self.combinators_ok(|s| s.validate_document(d))
    }

    /// True when the value satisfies the schema.
    pub fn validate(&self, v: &Value) -> bool {
        if let Some(types) = &self.types {
            let ok = types.iter().any(|t| match t {
                TypeTest::Number => v.is_number(),
                TypeTest::Is(bt) => v.bson_type() == *bt,
            });
            if !ok {
                return false;
            }
        }
        if let Some(e) = &self.enumeration {
            if !e
                .iter()
                .any(|x| values_equal(x, v) && (x.bson_type() == v.bson_type() || (x.is_number() && v.is_number())))
            {
                return false;
            }
        }
        let ok = match v {
            Value::Document(d) => self.object_ok(d),
            Value::Array(items) => self.array_ok(items),
            Value::String(s) => self.string_ok(s),
            n if n.is_number() => self.number_ok(n),
            _ => true,
        };
        ok && self.combinators_ok(|s| s.validate(v))
    }

    fn combinators_ok(&self, check: impl Fn(&Schema) -> bool) -> bool {
        self.all_of.iter().all(&check)
            && (self.any_of.is_empty() || self.any_of.iter().any(&check))
            && (self.one_of.is_empty() || self.one_of.iter().filter(|s| check(s)).count() == 1)
            && self.not.as_ref().is_none_or(|n| !check(n))
    }

    fn object_ok(&self, d: &Document) -> bool {
        if self.required.iter().any(|r| !d.contains_key(r)) {
            return false;
        }
        if self.min_properties.is_some_and(|m| d.len() < m) || self.max_properties.is_some_and(|m| d.len() > m) {
            return false;
        }
        for (k, v) in d.iter() {
            let mut matched = false;
            if let Some((_, s)) = self.properties.iter().find(|(n, _)| n == k.as_str()) {
                matched = true;
                if !s.validate(v) {
                    return false;
                }
            }
            for (re, s) in &self.pattern_properties {
                if re.is_match(k) {
                    matched = true;
                    if !s.validate(v) {
                        return false;
                    }
                }
            }
            if !matched {
                match self.additional.as_deref() {
                    Some(Additional::Allowed(false)) => return false,
                    Some(Additional::Schema(s)) if !s.validate(v) => return false,
                    _ => {}
                }
            }
        }
        true
    }

    fn array_ok(&self, items: &[Value]) -> bool {
        if self.min_items.is_some_and(|m| items.len() < m) || self.max_items.is_some_and(|m| items.len() > m) {
            return false;
        }
        if self.unique_items {
            for (i, a) in items.iter().enumerate() {
                if items[i + 1..].iter().any(|b| compare_values(a, b).is_eq()) {
                    return false;
                }
            }
        }
        match &self.items {
            None => true,
            Some(Items::All(s)) => items.iter().all(|i| s.validate(i)),
            Some(Items::Tuple(schemas)) => {
                let head_ok = schemas.iter().zip(items).all(|(s, i)| s.validate(i));
                let rest = items.get(schemas.len()..).unwrap_or(&[]);
                head_ok
                    && match self.additional_items.as_deref() {
                        Some(Additional::Allowed(false)) => rest.is_empty(),
                        Some(Additional::Schema(s)) => rest.iter().all(|i| s.validate(i)),
                        _ => true,
                    }
            }
        }
    }

    fn string_ok(&self, s: &str) -> bool {
        let n = s.chars().count();
        !(self.min_length.is_some_and(|m| n < m) || self.max_length.is_some_and(|m| n > m))
            && self.pattern.as_ref().is_none_or(|re| re.is_match(s))
    }

    fn number_ok(&self, n: &Value) -> bool {
        if let Some((min, excl)) = &self.minimum {
            let o = compare_values(n, min);
            if o.is_lt() || (*excl && o.is_eq()) {
                return false;
            }
        }
        if let Some((max, excl)) = &self.maximum {
            let o = compare_values(n, max);
            if o.is_gt() || (*excl && o.is_eq()) {
                return false;
            }
        }
        match (self.multiple_of, n.as_f64()) {
            (Some(m), Some(x)) => (x / m - (x / m).round()).abs() < 1e-9,
            _ => true,
        }
    }
}
