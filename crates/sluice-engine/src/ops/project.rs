//! Applying a `$project` to a document.

use sluice_mql::expr::{ExprError, Input, Scope};
use sluice_mql::{Document, Str, Value};
use sluice_pipeline::{ProjNode, Projection};

/// Applies a projection; expression errors are returned for the DLQ.
pub(crate) fn project(
    p: &Projection,
    doc: &Document,
    meta: Option<&Document>,
    scope: &mut Scope,
) -> Result<Document, ExprError> {
    let input = Input { root: doc, meta };
    if !p.inclusion {
        let mut out = doc.clone();
        if !p.keep_id {
            out.remove("_id");
        }
        exclude(&mut out, &p.fields);
        return Ok(out);
    }
    let mut out = Document::with_capacity(p.fields.len() + 1);
    match &p.computed_id {
        Some(e) => out.insert("_id", e.eval_owned(&input, scope)?),
        None if p.keep_id => {
            if let Some(id) = doc.get("_id") {
                out.push_unique(Str::from("_id"), id.clone());
            }
        }
        None => {}
    }
    include(&mut out, doc, &p.fields, &input, scope)?;
    Ok(out)
}

fn exclude(doc: &mut Document, fields: &[(Str, ProjNode)]) {
    for (k, node) in fields {
        match node {
            ProjNode::Exclude => {
                doc.remove(k);
            }
            ProjNode::Nested(children) => match doc.get_mut(k) {
                Some(Value::Document(d)) => exclude(d, children),
                Some(Value::Array(items)) => {
                    for item in items {
                        if let Value::Document(d) = item {
                            exclude(d, children);
                        }
                    }
                }
                _ => {}
            },
            _ => {}
        }
    }
}

/// Inclusion: included fields in the input document's order, then computed fields in spec order.
fn include(
    out: &mut Document,
    doc: &Document,
    fields: &[(Str, ProjNode)],
    input: &Input<'_>,
    scope: &mut Scope,
) -> Result<(), ExprError> {
    for (k, v) in doc.iter() {
        if k == "_id" && out.contains_key("_id") {
            continue;
        }
        let Some((_, node)) = fields.iter().find(|(f, _)| f == k) else { continue };
        match node {
            ProjNode::Include => out.insert(k.clone(), v.clone()),
            ProjNode::Nested(children) => {
                if let Some(projected) = include_nested(v, children, input, scope)? {
                    out.insert(k.clone(), projected);
                }
            }
            _ => {}
        }
    }
    for (k, node) in fields {
        match node {
            ProjNode::Computed(e) => out.insert(k.clone(), e.eval_owned(input, scope)?),
            ProjNode::Nested(children) if !doc.contains_key(k) && has_computed(children) => {
                let mut sub = Document::new();
                include(&mut sub, &Document::new(), children, input, scope)?;
                out.insert(k.clone(), Value::Document(sub));
            }
            ProjNode::Nested(children)
                if has_computed(children) && !matches!(doc.get(k), Some(Value::Document(_) | Value::Array(_))) =>
            {
                // A scalar in the way of computed sub-fields is replaced by a document, as MongoDB does.
                let mut sub = Document::new();
                include(&mut sub, &Document::new(), children, input, scope)?;
                out.insert(k.clone(), Value::Document(sub));
            }
            _ => {}
        }
    }
    Ok(())
}

fn has_computed(children: &[(Str, ProjNode)]) -> bool {
    children.iter().any(|(_, n)| match n {
        ProjNode::Computed(_) => true,
        ProjNode::Nested(c) => has_computed(c),
        _ => false,
    })
}

fn include_nested(
    v: &Value,
    children: &[(Str, ProjNode)],
    input: &Input<'_>,
    scope: &mut Scope,
) -> Result<Option<Value>, ExprError> {
    Ok(match v {
        Value::Document(d) => {
            let mut sub = Document::new();
            include(&mut sub, d, children, input, scope)?;
            Some(Value::Document(sub))
        }
        Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                if let Some(x) = include_nested(item, children, input, scope)? {
                    out.push(x);
                }
            }
            Some(Value::Array(out))
        }
        // Scalars under a nested inclusion are dropped, unless computed fields replace them.
        _ => None,
    })
}
