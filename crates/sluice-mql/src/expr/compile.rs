//! From the JSON form of an expression to a compiled [`Expr`].

use super::registry::{lookup, Arity};
use super::{array_n, date, date_parts, special, stats};
use super::{CompileError, Expr};
use crate::{Document, FieldPath, Str, Value};

/// Names of variables in scope while compiling (`$let`, `$map`, ... bind more).
#[derive(Debug, Default)]
pub(crate) struct CompileScope {
    vars: Vec<Str>,
}

impl CompileScope {
    pub(crate) fn with_var<T>(&mut self, name: &str, f: impl FnOnce(&mut Self) -> T) -> T {
        self.vars.push(Str::from(name));
        let r = f(self);
        self.vars.pop();
        r
    }

    fn has(&self, name: &str) -> bool {
        self.vars.iter().any(|v| v == name)
    }
}

/// Compiles an aggregation expression from its Extended JSON value.
pub fn compile(v: &Value) -> Result<Expr, CompileError> {
    compile_in(v, &mut CompileScope::default())
}

pub(crate) fn compile_in(v: &Value, scope: &mut CompileScope) -> Result<Expr, CompileError> {
    match v {
        Value::String(s) if s.starts_with("$$") => compile_variable(&s[2..], scope),
        Value::String(s) if s.starts_with('$') => {
            let path =
                FieldPath::parse(&s[1..]).ok_or_else(|| CompileError(format!("'{}' is not a valid field path", s)))?;
            Ok(Expr::Field(path))
        }
        Value::Document(d) => match d.first() {
            Some((k, arg)) if k.starts_with('$') => {
                if d.len() != 1 {
                    return Err(CompileError(format!(
                        "an expression specification must contain exactly one field, the name of the expression, found {} fields",
                        d.len()
                    )));
                }
                compile_operator(k, arg, scope)
            }
            _ => compile_object(d, scope),
        },
        Value::Array(items) => {
            let compiled = items.iter().map(|i| compile_in(i, scope)).collect::<Result<Vec<_>, _>>()?;
            Ok(fold_array(compiled))
        }
        other => Ok(Expr::Literal(other.clone())),
    }
}

fn fold_array(items: Vec<Expr>) -> Expr {
    if items.iter().all(Expr::is_literal) {
        let values = items
            .into_iter()
            .map(|e| match e {
                Expr::Literal(v) if v.is_missing() => Value::Null,
                Expr::Literal(v) => v,
                _ => Value::Null,
            })
            .collect();
        Expr::Literal(Value::Array(values))
    } else {
        Expr::Array(items)
    }
}

fn compile_variable(rest: &str, scope: &CompileScope) -> Result<Expr, CompileError> {
    let (name, path) = match rest.split_once('.') {
        Some((n, p)) => {
            let fp = FieldPath::parse(p)
                .ok_or_else(|| CompileError(format!("'$${}' is not a valid variable path", rest)))?;
            (n, Some(fp))
        }
        None => (rest, None),
    };
    match name {
        "ROOT" | "CURRENT" => Ok(Expr::Root(path)),
        "REMOVE" => Ok(Expr::Literal(Value::Missing)),
        "NOW" => Ok(Expr::Now),
        // $redact's verdicts: compiled to marker strings the stage recognises.
        "DESCEND" | "PRUNE" | "KEEP" if path.is_none() => {
            Ok(Expr::Literal(Value::String(Str::from(format!("$${}", name)))))
        }
        _ if scope.has(name) => Ok(Expr::Var(Str::from(name), path)),
        _ => Err(CompileError(format!("Use of undefined variable: {}", name))),
    }
}

fn compile_object(d: &Document, scope: &mut CompileScope) -> Result<Expr, CompileError> {
    let mut fields = Vec::with_capacity(d.len());
    for (k, v) in d.iter() {
        if k.starts_with('$') {
            return Err(CompileError(format!("field names may not start with '$': '{}'", k)));
        }
        if k.contains('.') {
            return Err(CompileError(format!("field names may not contain '.': '{}'", k)));
        }
        fields.push((k.clone(), compile_in(v, scope)?));
    }
    if fields.iter().all(|(_, e)| e.is_literal()) {
        let doc = fields
            .into_iter()
            .map(|(k, e)| match e {
                Expr::Literal(v) => (k, v),
                _ => (k, Value::Missing),
            })
            .collect::<Document>();
        return Ok(Expr::Literal(Value::Document(doc)));
    }
    Ok(Expr::Object(fields))
}

/// The positional argument list of an operator: an array is the list, anything else one argument.
pub(crate) fn positional(arg: &Value) -> Vec<&Value> {
    match arg {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    }
}

fn compile_operator(name: &str, arg: &Value, scope: &mut CompileScope) -> Result<Expr, CompileError> {
    if name == "$literal" {
        return Ok(Expr::Literal(arg.clone()));
    }
    if name == "$currentDate" {
        // Atlas Stream Processing: the system time at evaluation, the same clock as `$$NOW`.
        return match arg {
            Value::Document(d) if d.is_empty() => Ok(Expr::Now),
            _ => Err(CompileError("$currentDate takes an empty object: {$currentDate: {}}".into())),
        };
    }
    if let Some(e) = special::compile_special(name, arg, scope)? {
        return Ok(e);
    }
    let def = lookup(name).ok_or_else(|| CompileError(format!("Unrecognized expression '{}'", name)))?;
    let args: Vec<Expr> = match def.arity {
        Arity::Exact(n) => {
            let list = positional(arg);
            if list.len() != n {
                return Err(CompileError(format!(
                    "Expression {} takes exactly {} arguments. {} were passed in.",
                    def.name,
                    n,
                    list.len()
                )));
            }
            compile_list(&list, scope)?
        }
        Arity::Range(lo, hi) => {
            let list = positional(arg);
            if list.len() < lo || list.len() > hi {
                return Err(CompileError(format!(
                    "Expression {} takes at least {} arguments, and at most {}. {} were passed in.",
                    def.name,
                    lo,
                    hi,
                    list.len()
                )));
            }
            compile_list(&list, scope)?
        }
        Arity::Any => {
            let list = positional(arg);
            // mongod checks $setEquals' argument count when it parses it.
            if def.name == "$setEquals" && list.len() < 2 {
                return Err(CompileError(format!("$setEquals needs at least two arguments had: {}", list.len())));
            }
            compile_list(&list, scope)?
        }
        Arity::Named(names, required) => {
            // Checks mongod makes when it parses these operators, before any document is seen.
            match def.name {
                "$dateFromParts" => date_parts::check_from_parts(arg)?,
                "$dateToParts" => date_parts::check_to_parts(arg)?,
                "$zip" => array_n::check_zip(arg)?,
                "$percentile" => stats::check_percentile(arg)?,
                "$firstN" | "$lastN" | "$maxN" | "$minN" => array_n::check_n_spec(def.name, arg)?,
                _ => {}
            }
            let mut args = compile_named(def.name, names, required, arg, scope)?;
            let optional_absent = args[required..].iter().all(|a| matches!(a, Expr::Literal(Value::Missing)));
            if let (true, Some(f)) = (optional_absent, date::required_only(def.name)) {
                args.truncate(required);
                return Ok(match (def.name, args.as_slice()) {
                    ("$dateFromString", [Expr::Field(path)]) => Expr::IsoDateOf(path.clone()),
                    _ => Expr::Call(def.name, f, args),
                });
            }
            args
        }
        Arity::DatePart => {
            // {$year: date}, {$year: [date]} or {$year: {date, timezone}}.
            match arg {
                Value::Document(d) if d.contains_key("date") => {
                    compile_named(def.name, &["date", "timezone"], 1, arg, scope)?
                }
                _ => {
                    let list = positional(arg);
                    if list.len() != 1 {
                        return Err(CompileError(format!(
                            "Expression {} takes exactly 1 arguments. {} were passed in.",
                            def.name,
                            list.len()
                        )));
                    }
                    vec![compile_in(list[0], scope)?, Expr::Literal(Value::Missing)]
                }
            }
        }
    };
    Ok(Expr::Call(def.name, def.f, args))
}

fn compile_list(list: &[&Value], scope: &mut CompileScope) -> Result<Vec<Expr>, CompileError> {
    list.iter().map(|v| compile_in(v, scope)).collect()
}

/// Compiles a `{name: expr, ...}` argument into positional slots in the order of `names`;
/// absent optional arguments become a `Missing` literal.
pub(crate) fn compile_named(
    op: &str,
    names: &[&str],
    required: usize,
    arg: &Value,
    scope: &mut CompileScope,
) -> Result<Vec<Expr>, CompileError> {
    let Value::Document(d) = arg else {
        return Err(CompileError(format!("{} only supports an object as its argument", op)));
    };
    for k in d.keys() {
        if !names.contains(&k.as_str()) {
            return Err(CompileError(format!("{} found an unknown argument: {}", op, k)));
        }
    }
    let mut out = Vec::with_capacity(names.len());
    for (i, n) in names.iter().enumerate() {
        match d.get(n) {
            Some(v) => out.push(compile_in(v, scope)?),
            None if i < required => return Err(CompileError(format!("Missing '{}' parameter to {}", n, op))),
            None => out.push(Expr::Literal(Value::Missing)),
        }
    }
    Ok(out)
}
