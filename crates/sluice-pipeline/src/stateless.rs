//! Stateless stages: `$match $project $addFields $set $unset $replaceRoot $replaceWith $redact
//! $unwind $validate`, and the window-only `$sort $limit $count`.

use sluice_mql::expr::{compile, SortSpec};
use sluice_mql::query::compile_filter;
use sluice_mql::{FieldPath, Str, Value};

use crate::fields::StageArgs;
use crate::{projection, PipelineError, Stage, UnwindSpec, ValidationAction};

fn path(a: &StageArgs, s: &str, what: &str) -> Result<FieldPath, PipelineError> {
    if s.starts_with('$') {
        return Err(a.err(format!("{} '{}' must not start with '$'", what, s)));
    }
    FieldPath::parse(s).ok_or_else(|| a.err(format!("{} '{}' is not a valid field path", what, s)))
}

/// Parses a stage that may appear in the main pipeline (and, for most, inside a window).
pub(crate) fn parse(a: &StageArgs, arg: &Value) -> Result<Stage, PipelineError> {
    match a.stage {
        "$match" => {
            let q = a.doc(arg, "$match")?;
            Ok(Stage::Match(compile_filter(q).map_err(|e| a.err(e.to_string()))?))
        }
        "$project" => Ok(Stage::Project(projection::parse(a, arg)?)),
        "$addFields" | "$set" => {
            let d = a.doc(arg, a.stage)?;
            if d.is_empty() {
                return Err(a.err(format!("{} specification must have at least one field", a.stage)));
            }
            let mut out = Vec::with_capacity(d.len());
            for (k, v) in d.iter() {
                let p = path(a, k, "field")?;
                out.push((p, compile(v).map_err(|e| a.err(format!("{}: {}", k, e)))?));
            }
            Ok(Stage::AddFields(out))
        }
        "$unset" => {
            let names: Vec<&Value> = match arg {
                Value::Array(items) if !items.is_empty() => items.iter().collect(),
                Value::String(_) => vec![arg],
                _ => return Err(a.err("$unset specification must be a string or a non-empty array of strings")),
            };
            let paths =
                names.into_iter().map(|n| path(a, a.string(n, "$unset")?, "field")).collect::<Result<Vec<_>, _>>()?;
            Ok(Stage::Unset(paths))
        }
        "$replaceRoot" => {
            let d = a.doc(arg, "$replaceRoot")?;
            a.only(d, &["newRoot"])?;
            let e = compile(a.required(d, "newRoot")?).map_err(|e| a.err(format!("newRoot: {}", e)))?;
            Ok(Stage::ReplaceRoot(e))
        }
        "$replaceWith" => Ok(Stage::ReplaceRoot(compile(arg).map_err(|e| a.err(e.to_string()))?)),
        "$redact" => Ok(Stage::Redact(compile(arg).map_err(|e| a.err(e.to_string()))?)),
        "$unwind" => parse_unwind(a, arg),
        "$validate" => {
            let d = a.doc(arg, "$validate")?;
            a.only(d, &["validator", "validationAction"])?;
            let validator = a.doc(a.required(d, "validator")?, "validator")?;
            let filter = compile_filter(validator).map_err(|e| a.err(format!("validator: {}", e)))?;
            let action = match d.get("validationAction").map(|v| a.string(v, "validationAction")).transpose()? {
                None | Some("discard") => ValidationAction::Discard,
                Some("dlq") => ValidationAction::Dlq,
                Some(other) => {
                    return Err(a.err(format!("validationAction must be one of discard, dlq, got '{}'", other)))
                }
            };
            Ok(Stage::Validate(filter, action))
        }
        "$sort" => Ok(Stage::Sort(match SortSpec::parse(arg) {
            Ok(s @ SortSpec::Fields(_)) => s,
            Ok(_) => return Err(a.err("$sort specification must be an object of fields")),
            Err(e) => return Err(a.err(e.to_string())),
        })),
        "$limit" => match arg.as_exact_i64() {
            Some(n) if n > 0 => Ok(Stage::Limit(n as u64)),
            _ => Err(a.err("the limit must be a positive integer")),
        },
        "$count" => {
            let name = a.string(arg, "$count")?;
            if name.is_empty() || name.starts_with('$') || name.contains('.') {
                return Err(a.err("the count field must be a non-empty name without '$' or '.'"));
            }
            Ok(Stage::Count(Str::from(name)))
        }
        "$https" | "$lookup" | "$cachedLookup" => {
            Err(a.err(format!("{} is not allowed here: it may only appear in the main pipeline", a.stage)))
        }
        "$externalFunction" => {
            Err(a.err(format!("{} needs a connector that this build of Sluice does not provide yet", a.stage)))
        }
        other => Err(a.err(format!("Unrecognized pipeline stage name: '{}'", other))),
    }
}

fn parse_unwind(a: &StageArgs, arg: &Value) -> Result<Stage, PipelineError> {
    let (p, index, preserve) = match arg {
        Value::String(s) => (s.as_str(), None, false),
        Value::Document(d) => {
            a.only(d, &["path", "includeArrayIndex", "preserveNullAndEmptyArrays"])?;
            let p = a.string(a.required(d, "path")?, "path")?;
            let index = d.get("includeArrayIndex").map(|v| a.string(v, "includeArrayIndex")).transpose()?;
            let preserve =
                d.get("preserveNullAndEmptyArrays").map(|v| a.bool(v, "preserveNullAndEmptyArrays")).transpose()?;
            (p, index, preserve.unwrap_or(false))
        }
        _ => return Err(a.err("$unwind expects a string or an object")),
    };
    let p = p
        .strip_prefix('$')
        .ok_or_else(|| a.err(format!("path option to $unwind stage should be prefixed with a '$': {}", p)))?;
    let include_array_index = index.map(|i| path(a, i, "includeArrayIndex")).transpose()?;
    Ok(Stage::Unwind(UnwindSpec { path: path(a, p, "path")?, include_array_index, preserve_null_and_empty: preserve }))
}
