//! `$project` specifications: inclusion, exclusion and computed fields, nested by path.

use sluice_mql::expr::{compile, Expr};
use sluice_mql::{Document, Str, Value};

use crate::fields::StageArgs;
use crate::PipelineError;

/// What a projection does with one field.
#[derive(Debug, Clone)]
pub enum ProjNode {
    /// Keep the field.
    Include,
    /// Drop the field.
    Exclude,
    /// Set the field to an expression's value.
    Computed(Expr),
    /// Apply a nested projection to the embedded document (or each document of an array).
    Nested(Vec<(Str, ProjNode)>),
}

/// A parsed `$project`.
#[derive(Debug, Clone)]
pub struct Projection {
    /// Inclusion mode (keep only what is named) or exclusion mode (drop what is named).
    pub inclusion: bool,
    /// The projection tree, in specification order (`_id` handled separately).
    pub fields: Vec<(Str, ProjNode)>,
    /// Whether `_id` is kept (it is unless the spec says `_id: 0`).
    pub keep_id: bool,
    /// A computed `_id`, if the spec computes one.
    pub computed_id: Option<Expr>,
}

fn is_flag(v: &Value) -> bool {
    matches!(v, Value::Bool(_) | Value::Int32(_) | Value::Int64(_) | Value::Double(_) | Value::Decimal(_))
}

fn insert(
    tree: &mut Vec<(Str, ProjNode)>,
    path: &[&str],
    node: ProjNode,
    a: &StageArgs,
    full: &str,
) -> Result<(), PipelineError> {
    let (first, rest) = path.split_first().ok_or_else(|| a.err("empty field path"))?;
    let pos = tree.iter().position(|(k, _)| k == first);
    if rest.is_empty() {
        if pos.is_some() {
            return Err(a.err(format!("Invalid $project :: caused by :: Path collision at {}", full)));
        }
        tree.push((Str::from(*first), node));
        return Ok(());
    }
    let idx = match pos {
        Some(i) => i,
        None => {
            tree.push((Str::from(*first), ProjNode::Nested(Vec::new())));
            tree.len() - 1
        }
    };
    match &mut tree[idx].1 {
        ProjNode::Nested(children) => insert(children, rest, node, a, full),
        _ => Err(a.err(format!("Invalid $project :: caused by :: Path collision at {}", full))),
    }
}

fn parse_into(
    tree: &mut Vec<(Str, ProjNode)>,
    prefix: &str,
    spec: &Document,
    a: &StageArgs,
    modes: &mut (bool, bool),
) -> Result<(), PipelineError> {
    for (k, v) in spec.iter() {
        if k.starts_with('$') {
            return Err(
                a.err(format!("Invalid $project :: caused by :: FieldPath field names may not start with '$': {}", k))
            );
        }
        let full = if prefix.is_empty() { k.to_string() } else { format!("{}.{}", prefix, k) };
        let parts: Vec<&str> = k.split('.').collect();
        if parts.iter().any(|p| p.is_empty()) {
            return Err(a.err(format!("Invalid $project :: caused by :: invalid field path '{}'", full)));
        }
        let node = match v {
            flag if is_flag(flag) => {
                if flag.truthy() {
                    modes.0 = true;
                    ProjNode::Include
                } else {
                    modes.1 = true;
                    ProjNode::Exclude
                }
            }
            Value::Document(d) if d.first().is_some_and(|(k, _)| !k.starts_with('$')) => {
                let mut children = Vec::new();
                parse_into(&mut children, &full, d, a, modes)?;
                ProjNode::Nested(children)
            }
            Value::Document(d) if d.is_empty() => {
                return Err(a.err(format!("Invalid $project :: caused by :: An empty sub-projection is not a valid value. Found empty object at path {}", full)));
            }
            other => {
                modes.0 = true;
                ProjNode::Computed(compile(other).map_err(|e| a.err(format!("{}: {}", full, e)))?)
            }
        };
        insert(tree, &parts, node, a, &full)?;
    }
    Ok(())
}

/// Parses a `$project` specification.
pub(crate) fn parse(a: &StageArgs, arg: &Value) -> Result<Projection, PipelineError> {
    let spec = a.doc(arg, "$project")?;
    if spec.is_empty() {
        return Err(a.err("Invalid $project :: caused by :: projection specification must have at least one field"));
    }
    let mut keep_id = true;
    let mut computed_id = None;
    let mut rest = Document::new();
    for (k, v) in spec.iter() {
        if k == "_id" {
            if is_flag(v) {
                keep_id = v.truthy();
            } else {
                computed_id = Some(compile(v).map_err(|e| a.err(format!("_id: {}", e)))?);
            }
        } else {
            rest.insert(k.clone(), v.clone());
        }
    }
    let mut fields = Vec::new();
    let mut modes = (computed_id.is_some(), false);
    parse_into(&mut fields, "", &rest, a, &mut modes)?;
    let (has_include, has_exclude) = modes;
    if has_include && has_exclude {
        return Err(a.err("Invalid $project :: caused by :: Cannot do exclusion on a field in inclusion projection (only _id may be excluded)"));
    }
    // `{_id: 0}` alone is an exclusion projection.
    let inclusion = has_include;
    Ok(Projection { inclusion, fields, keep_id, computed_id })
}
