//! Operators that evaluate arguments lazily or bind variables: `$and $or $cond $ifNull $switch $let
//! $filter $map $reduce $sortArray $convert $meta`, plus `$getField`'s default input
//! (`$convert`'s arguments and conversions are in convert_binary.rs).

use std::borrow::Cow;
use std::cmp::Ordering;

use super::compile::{compile_in, compile_named, positional, CompileScope};
use super::convert_binary::{compile_convert, ConvertSpec};
use super::registry::{lookup, type_name};
use super::{CompileError, Expr, ExprError, Input, Scope};
use crate::{compare_values, Document, FieldPath, Str, Value};

/// A lazily evaluated or variable-binding operator.
#[derive(Debug, Clone)]
pub enum Special {
    /// `$and`: false at the first falsy argument.
    And(Vec<Expr>),
    /// `$or`: true at the first truthy argument.
    Or(Vec<Expr>),
    /// `$cond`: if, then, else.
    Cond(Expr, Expr, Expr),
    /// `$ifNull`: the first argument that is not null or missing, else the last.
    IfNull(Vec<Expr>),
    /// `$switch`: (case, then) branches and an optional default.
    Switch(Vec<(Expr, Expr)>, Option<Expr>),
    /// `$let`: variables, then the body.
    Let(Vec<(Str, Expr)>, Expr),
    /// `$filter`: input, variable name, condition, optional limit.
    Filter(Expr, Str, Expr, Option<Expr>),
    /// `$map`: input, variable name, body.
    Map(Expr, Str, Expr),
    /// `$reduce`: input, initial value, body (with `$$this` and `$$value`).
    Reduce(Expr, Expr, Expr),
    /// `$sortArray`: input and sort specification.
    SortArray(Expr, SortSpec),
    /// `$convert`: input, target type expression, onError, onNull, format, byteOrder.
    Convert(Box<ConvertSpec>),
    /// `{$meta: "stream"}` or `{$meta: "stream.path"}`.
    Meta(Option<FieldPath>),
    /// `$function`: a JavaScript function of its evaluated arguments.
    Function(super::JsCall),
}

/// A sort specification: whole values (`1`/`-1`) or fields (`{a: 1, b: -1}`).
#[derive(Debug, Clone, PartialEq)]
pub enum SortSpec {
    /// Sort the values themselves, ascending when true.
    Whole(bool),
    /// Sort documents by fields in order, each ascending when true.
    Fields(Vec<(FieldPath, bool)>),
}

fn direction(v: &Value) -> Option<bool> {
    match v.as_exact_i64() {
        Some(1) => Some(true),
        Some(-1) => Some(false),
        _ => None,
    }
}

impl SortSpec {
    /// Parses `1`, `-1` or `{field: 1|-1, ...}`.
    pub fn parse(v: &Value) -> Result<SortSpec, CompileError> {
        if let Some(d) = direction(v) {
            return Ok(SortSpec::Whole(d));
        }
        let Value::Document(doc) = v else {
            return Err(CompileError("sort specification must be 1, -1 or an object of fields".into()));
        };
        if doc.is_empty() {
            return Err(CompileError("sort specification must not be empty".into()));
        }
        let mut fields = Vec::with_capacity(doc.len());
        for (k, dir) in doc.iter() {
            let path = FieldPath::parse(k).ok_or_else(|| CompileError(format!("invalid sort field '{}'", k)))?;
            let d = direction(dir).ok_or_else(|| CompileError(format!("sort order for '{}' must be 1 or -1", k)))?;
            fields.push((path, d));
        }
        Ok(SortSpec::Fields(fields))
    }

    /// Compares two values under this specification.
    pub fn compare(&self, a: &Value, b: &Value) -> Ordering {
        match self {
            SortSpec::Whole(asc) => {
                let o = compare_values(a, b);
                if *asc {
                    o
                } else {
                    o.reverse()
                }
            }
            SortSpec::Fields(fields) => {
                let empty = Document::new();
                let da = a.as_document().unwrap_or(&empty);
                let db = b.as_document().unwrap_or(&empty);
                self.compare_documents(da, db, fields)
            }
        }
    }

    fn compare_documents(&self, a: &Document, b: &Document, fields: &[(FieldPath, bool)]) -> Ordering {
        for (path, asc) in fields {
            let o = compare_values(&path.resolve(a), &path.resolve(b));
            if o != Ordering::Equal {
                return if *asc { o } else { o.reverse() };
            }
        }
        Ordering::Equal
    }

    /// Compares two documents under this specification (whole-value specs compare the documents).
    pub fn compare_docs(&self, a: &Document, b: &Document) -> Ordering {
        match self {
            SortSpec::Whole(asc) => {
                let o = compare_values(&Value::Document(a.clone()), &Value::Document(b.clone()));
                if *asc {
                    o
                } else {
                    o.reverse()
                }
            }
            SortSpec::Fields(fields) => self.compare_documents(a, b, fields),
        }
    }
}

fn doc_arg<'v>(op: &str, arg: &'v Value) -> Result<&'v Document, CompileError> {
    arg.as_document().ok_or_else(|| CompileError(format!("{} expects an object as its argument", op)))
}

fn var_name(op: &str, v: Option<&Value>, default: &str) -> Result<Str, CompileError> {
    match v {
        None => Ok(Str::from(default)),
        Some(Value::String(s)) if !s.is_empty() && !s.starts_with('$') && !s.contains('.') => Ok(s.clone()),
        Some(other) => Err(CompileError(format!("{}: invalid variable name {:?}", op, other))),
    }
}

fn opt(d: &Document, key: &str, scope: &mut CompileScope) -> Result<Option<Expr>, CompileError> {
    d.get(key).map(|v| compile_in(v, scope)).transpose()
}

fn req<'v>(op: &str, d: &'v Document, key: &str) -> Result<&'v Value, CompileError> {
    d.get(key).ok_or_else(|| CompileError(format!("Missing '{}' parameter to {}", key, op)))
}

fn check_keys(op: &str, d: &Document, allowed: &[&str]) -> Result<(), CompileError> {
    match d.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(CompileError(format!("Unrecognized parameter to {}: {}", op, k))),
        None => Ok(()),
    }
}

/// Compiles a special operator; `Ok(None)` when `name` is not one.
pub(crate) fn compile_special(name: &str, arg: &Value, scope: &mut CompileScope) -> Result<Option<Expr>, CompileError> {
    let list = |scope: &mut CompileScope| -> Result<Vec<Expr>, CompileError> {
        positional(arg).into_iter().map(|v| compile_in(v, scope)).collect()
    };
    let special = match name {
        "$and" => Special::And(list(scope)?),
        "$or" => Special::Or(list(scope)?),
        "$ifNull" => {
            let args = list(scope)?;
            if args.len() < 2 {
                return Err(CompileError("$ifNull needs at least two arguments".into()));
            }
            Special::IfNull(args)
        }
        "$cond" => match arg {
            Value::Document(d) => {
                check_keys(name, d, &["if", "then", "else"])?;
                Special::Cond(
                    compile_in(req(name, d, "if")?, scope)?,
                    compile_in(req(name, d, "then")?, scope)?,
                    compile_in(req(name, d, "else")?, scope)?,
                )
            }
            _ => {
                let mut a = list(scope)?;
                if a.len() != 3 {
                    return Err(CompileError(format!(
                        "Expression $cond takes exactly 3 arguments. {} were passed in.",
                        a.len()
                    )));
                }
                let e = a.pop().unwrap_or(Expr::Literal(Value::Null));
                let t = a.pop().unwrap_or(Expr::Literal(Value::Null));
                let i = a.pop().unwrap_or(Expr::Literal(Value::Null));
                Special::Cond(i, t, e)
            }
        },
        "$switch" => {
            let d = doc_arg(name, arg)?;
            check_keys(name, d, &["branches", "default"])?;
            let branches = req(name, d, "branches")?
                .as_array()
                .ok_or_else(|| CompileError("$switch expected an array for 'branches'".into()))?;
            let mut out = Vec::with_capacity(branches.len());
            for b in branches {
                let bd = b
                    .as_document()
                    .ok_or_else(|| CompileError("$switch expected each branch to be an object".into()))?;
                check_keys(name, bd, &["case", "then"])?;
                out.push((compile_in(req(name, bd, "case")?, scope)?, compile_in(req(name, bd, "then")?, scope)?));
            }
            Special::Switch(out, opt(d, "default", scope)?)
        }
        "$let" => {
            let d = doc_arg(name, arg)?;
            check_keys(name, d, &["vars", "in"])?;
            let vars = req(name, d, "vars")?
                .as_document()
                .ok_or_else(|| CompileError("invalid parameter: expected an object (vars)".into()))?;
            let mut bound = Vec::with_capacity(vars.len());
            for (k, v) in vars.iter() {
                bound.push((var_name(name, Some(&Value::String(k.clone())), "")?, compile_in(v, scope)?));
            }
            let names: Vec<Str> = bound.iter().map(|(n, _)| n.clone()).collect();
            let body = with_vars(scope, &names, |s| compile_in(req(name, d, "in")?, s))?;
            Special::Let(bound, body)
        }
        "$filter" => {
            let d = doc_arg(name, arg)?;
            check_keys(name, d, &["input", "as", "cond", "limit"])?;
            let input = compile_in(req(name, d, "input")?, scope)?;
            let var = var_name(name, d.get("as"), "this")?;
            let cond = scope.with_var(&var, |s| compile_in(req(name, d, "cond")?, s))?;
            Special::Filter(input, var, cond, opt(d, "limit", scope)?)
        }
        "$map" => {
            let d = doc_arg(name, arg)?;
            check_keys(name, d, &["input", "as", "in"])?;
            let input = compile_in(req(name, d, "input")?, scope)?;
            let var = var_name(name, d.get("as"), "this")?;
            let body = scope.with_var(&var, |s| compile_in(req(name, d, "in")?, s))?;
            Special::Map(input, var, body)
        }
        "$reduce" => {
            let d = doc_arg(name, arg)?;
            check_keys(name, d, &["input", "initialValue", "in"])?;
            let input = compile_in(req(name, d, "input")?, scope)?;
            let init = compile_in(req(name, d, "initialValue")?, scope)?;
            let names = [Str::from("value"), Str::from("this")];
            let body = with_vars(scope, &names, |s| compile_in(req(name, d, "in")?, s))?;
            Special::Reduce(input, init, body)
        }
        "$sortArray" => {
            let d = doc_arg(name, arg)?;
            check_keys(name, d, &["input", "sortBy"])?;
            Special::SortArray(compile_in(req(name, d, "input")?, scope)?, SortSpec::parse(req(name, d, "sortBy")?)?)
        }
        "$function" => Special::Function(super::function::compile(arg, scope)?),
        "$convert" => Special::Convert(Box::new(compile_convert(arg, scope)?)),
        "$meta" => match arg.as_str() {
            Some("stream") => Special::Meta(None),
            Some(s) if s.starts_with("stream.") => Special::Meta(FieldPath::parse(&s[7..])),
            _ => {
                return Err(CompileError(format!(
                    "$meta: unsupported metadata {:?}; Atlas Stream Processing supports \"stream\"",
                    arg
                )))
            }
        },
        "$getField" => {
            // `{$getField: "name"}` and an absent `input` read the current document.
            let def = lookup("$getField").ok_or_else(|| CompileError("$getField is not registered".into()))?;
            let mut args = match arg {
                Value::Document(d) if d.contains_key("field") => {
                    compile_named(name, &["field", "input"], 1, arg, scope)?
                }
                other => vec![compile_in(other, scope)?, Expr::Literal(Value::Missing)],
            };
            if matches!(args.get(1), Some(Expr::Literal(Value::Missing))) {
                args[1] = Expr::Root(None);
            }
            return Ok(Some(Expr::Call(def.name, def.f, args)));
        }
        _ => return Ok(None),
    };
    Ok(Some(Expr::Special(Box::new(special))))
}

fn with_vars<T>(scope: &mut CompileScope, names: &[Str], f: impl FnOnce(&mut CompileScope) -> T) -> T {
    match names.split_first() {
        None => f(scope),
        Some((first, rest)) => scope.with_var(first, |s| with_vars(s, rest, f)),
    }
}

impl Special {
    pub(super) fn eval<'a>(&'a self, input: &Input<'a>, scope: &mut Scope) -> Result<Cow<'a, Value>, ExprError> {
        Ok(match self {
            Special::And(args) => {
                for a in args {
                    if !a.eval(input, scope)?.truthy() {
                        return Ok(Cow::Owned(Value::Bool(false)));
                    }
                }
                Cow::Owned(Value::Bool(true))
            }
            Special::Or(args) => {
                for a in args {
                    if a.eval(input, scope)?.truthy() {
                        return Ok(Cow::Owned(Value::Bool(true)));
                    }
                }
                Cow::Owned(Value::Bool(false))
            }
            Special::Cond(i, t, e) => {
                if i.eval(input, scope)?.truthy() {
                    t.eval(input, scope)?
                } else {
                    e.eval(input, scope)?
                }
            }
            Special::IfNull(args) => {
                let (last, rest) = args.split_last().ok_or_else(|| ExprError::new("$ifNull", "needs arguments"))?;
                for a in rest {
                    let v = a.eval(input, scope)?;
                    if !v.is_nullish() {
                        return Ok(v);
                    }
                }
                last.eval(input, scope)?
            }
            Special::Switch(branches, default) => {
                for (case, then) in branches {
                    if case.eval(input, scope)?.truthy() {
                        return then.eval(input, scope);
                    }
                }
                match default {
                    Some(d) => d.eval(input, scope)?,
                    None => {
                        return Err(ExprError::new(
                            "$switch",
                            "$switch could not find a matching branch for an input, and no default was specified.",
                        ))
                    }
                }
            }
            Special::Let(vars, body) => {
                let values = vars.iter().map(|(_, e)| e.eval_owned(input, scope)).collect::<Result<Vec<_>, _>>()?;
                for ((name, _), v) in vars.iter().zip(values) {
                    scope.push(name.clone(), v);
                }
                let r = body.eval_owned(input, scope);
                for _ in vars {
                    scope.pop();
                }
                Cow::Owned(r?)
            }
            Special::Filter(inp, var, cond, limit) => {
                let arr = inp.eval(input, scope)?;
                let items = match &*arr {
                    v if v.is_nullish() => return Ok(Cow::Owned(Value::Null)),
                    Value::Array(items) => items,
                    v => {
                        return Err(ExprError::new(
                            "$filter",
                            format!("input to $filter must be an array not {}", type_name(v)),
                        ))
                    }
                };
                let limit = match limit {
                    None => usize::MAX,
                    Some(l) => match l.eval(input, scope)?.as_exact_i64() {
                        Some(n) if n > 0 => n as usize,
                        _ => return Err(ExprError::new("$filter", "limit must be a positive integer")),
                    },
                };
                let mut out = Vec::new();
                scope.push(var.clone(), Value::Null);
                for item in items {
                    if out.len() >= limit {
                        break;
                    }
                    scope.set_top(item.clone());
                    match cond.eval(input, scope) {
                        Ok(c) if c.truthy() => out.push(item.clone()),
                        Ok(_) => {}
                        Err(e) => {
                            scope.pop();
                            return Err(e);
                        }
                    }
                }
                scope.pop();
                Cow::Owned(Value::Array(out))
            }
            Special::Map(inp, var, body) => {
                let arr = inp.eval(input, scope)?;
                let items = match &*arr {
                    v if v.is_nullish() => return Ok(Cow::Owned(Value::Null)),
                    Value::Array(items) => items,
                    v => {
                        return Err(ExprError::new(
                            "$map",
                            format!("input to $map must be an array not {}", type_name(v)),
                        ))
                    }
                };
                let mut out = Vec::with_capacity(items.len());
                let mut bytes = 0usize;
                scope.push(var.clone(), Value::Null);
                for item in items {
                    scope.set_top(item.clone());
                    let v = body.eval_owned(input, scope).and_then(|v| {
                        bytes += v.approx_size();
                        super::memory::check("$map", bytes).map(|_| v)
                    });
                    match v {
                        Ok(v) => out.push(if v.is_missing() { Value::Null } else { v }),
                        Err(e) => {
                            scope.pop();
                            return Err(e);
                        }
                    }
                }
                scope.pop();
                Cow::Owned(Value::Array(out))
            }
            Special::Reduce(inp, init, body) => {
                let arr = inp.eval(input, scope)?;
                let items = match &*arr {
                    v if v.is_nullish() => return Ok(Cow::Owned(Value::Null)),
                    Value::Array(items) => items,
                    v => {
                        return Err(ExprError::new(
                            "$reduce",
                            format!("input to $reduce must be an array not {}", type_name(v)),
                        ))
                    }
                };
                let mut acc = init.eval_owned(input, scope)?;
                for item in items {
                    scope.push(Str::from("value"), acc);
                    scope.push(Str::from("this"), item.clone());
                    let r = body.eval_owned(input, scope);
                    scope.pop();
                    scope.pop();
                    acc = r?;
                    super::memory::check_value("$reduce", &acc)?;
                }
                Cow::Owned(acc)
            }
            Special::SortArray(inp, spec) => {
                let arr = inp.eval(input, scope)?;
                match &*arr {
                    v if v.is_nullish() => Cow::Owned(Value::Null),
                    Value::Array(items) => {
                        let mut sorted = items.clone();
                        sorted.sort_by(|a, b| spec.compare(a, b));
                        Cow::Owned(Value::Array(sorted))
                    }
                    v => {
                        return Err(ExprError::new(
                            "$sortArray",
                            format!("$sortArray requires an array, found {}", type_name(v)),
                        ))
                    }
                }
            }
            Special::Convert(spec) => spec.eval(input, scope)?,
            Special::Function(call) => call.eval(input, scope)?,
            Special::Meta(path) => match input.meta {
                None => Cow::Owned(Value::Missing),
                Some(m) => match path {
                    None => Cow::Owned(Value::Document(m.clone())),
                    Some(p) => p.resolve(m),
                },
            },
        })
    }
}
