//! Stateless stages, applied event by event.

use sluice_mql::expr::{Input, Scope};
use sluice_mql::{Document, Str, Value};
use sluice_pipeline::{Stage, UnwindSpec, ValidationAction};

use super::project::project;
use crate::{Event, OpContext, Operator};

/// An operator for one stateless stage.
pub(crate) struct StatelessOp {
    name: String,
    stage: Stage,
}

impl StatelessOp {
    pub(crate) fn new(name: &str, stage: Stage) -> StatelessOp {
        StatelessOp { name: name.to_string(), stage }
    }
}

impl Operator for StatelessOp {
    fn name(&self) -> &str {
        &self.name
    }

    fn process(&mut self, batch: Vec<Event>, out: &mut Vec<Event>, ctx: &mut OpContext) {
        process_batch(&self.stage, &self.name, batch, out, ctx);
    }
}

/// Applies stateless stages in order to a whole batch (a window's stages before `$group`).
pub(crate) fn apply_stages(stages: &[Stage], name: &str, mut batch: Vec<Event>, ctx: &mut OpContext) -> Vec<Event> {
    for stage in stages {
        let mut next = Vec::new();
        process_batch(stage, name, batch, &mut next, ctx);
        batch = next;
    }
    batch
}

/// Applies one stateless stage to a batch, appending the results to `out`.
fn process_batch(stage: &Stage, name: &str, mut batch: Vec<Event>, out: &mut Vec<Event>, ctx: &mut OpContext) {
    // The two commonest stages keep the batch where it is: events are filtered out or changed in
    // place rather than moved one by one into `out`.
    match stage {
        Stage::Match(filter) => {
            batch.retain(|ev| filter.matches_input(&Input { root: &ev.doc, meta: ev.meta.as_deref() }, &mut ctx.scope))
        }
        Stage::AddFields(fields) => batch.retain_mut(|ev| match add_fields(fields, ev, &mut ctx.scope) {
            Ok(()) => true,
            Err(reason) => {
                ctx.dead_letter(name, reason, ev);
                false
            }
        }),
        _ => {
            out.reserve(batch.len());
            for ev in batch {
                apply_stage(stage, name, ev, out, ctx);
            }
            return;
        }
    }
    if out.is_empty() {
        *out = batch;
    } else {
        out.append(&mut batch);
    }
}

/// Applies one stateless stage to one event, appending results to `out`; failures go to the DLQ.
pub(crate) fn apply_stage(stage: &Stage, name: &str, mut ev: Event, out: &mut Vec<Event>, ctx: &mut OpContext) {
    let meta = ev.meta.as_deref();
    let result: Result<(), String> = match stage {
        Stage::Match(filter) => {
            if filter.matches_input(&Input { root: &ev.doc, meta }, &mut ctx.scope) {
                out.push(ev);
            }
            return;
        }
        Stage::Validate(filter, action) => {
            if filter.matches_input(&Input { root: &ev.doc, meta }, &mut ctx.scope) {
                out.push(ev);
            } else if *action == ValidationAction::Dlq {
                ctx.dead_letter(name, "Input document found to be invalid in $validate stage", &ev);
            }
            return;
        }
        Stage::Project(p) => project(p, &ev.doc, meta, &mut ctx.scope).map(|d| ev.doc = d).map_err(|e| e.to_string()),
        Stage::AddFields(fields) => add_fields(fields, &mut ev, &mut ctx.scope),
        Stage::Unset(paths) => {
            for p in paths {
                ev.doc.remove_path(p.parts());
            }
            Ok(())
        }
        Stage::ReplaceRoot(e) => match e.eval_owned(&Input { root: &ev.doc, meta }, &mut ctx.scope) {
            Ok(Value::Document(d)) => {
                ev.doc = d;
                Ok(())
            }
            Ok(other) => Err(format!(
                "'newRoot' expression must evaluate to an object, but resulting value was of type: {}",
                other.bson_type().alias()
            )),
            Err(e) => Err(e.to_string()),
        },
        Stage::Redact(e) => match redact(e, &ev.doc, meta, &mut ctx.scope) {
            Ok(Some(d)) => {
                ev.doc = d;
                Ok(())
            }
            Ok(None) => return,
            Err(m) => Err(m),
        },
        Stage::Unwind(spec) => {
            unwind(spec, ev, out);
            return;
        }
        Stage::Sort(_) | Stage::Limit(_) | Stage::Count(_) | Stage::Window(_) | Stage::Enrich(_) => Ok(()),
    };
    match result {
        Ok(()) => out.push(ev),
        Err(reason) => ctx.dead_letter(name, reason, &ev),
    }
}

fn add_fields(
    fields: &[(sluice_mql::FieldPath, sluice_mql::expr::Expr)],
    ev: &mut Event,
    scope: &mut Scope,
) -> Result<(), String> {
    // Every expression sees the input document, so evaluate all before setting any.
    if let [(path, expr)] = fields {
        let v =
            expr.eval_owned(&Input { root: &ev.doc, meta: ev.meta.as_deref() }, scope).map_err(|e| e.to_string())?;
        ev.doc.set_path(path.parts(), v);
        return Ok(());
    }
    let mut values = Vec::with_capacity(fields.len());
    for (_, expr) in fields {
        values.push(
            expr.eval_owned(&Input { root: &ev.doc, meta: ev.meta.as_deref() }, scope).map_err(|e| e.to_string())?,
        );
    }
    for ((path, _), v) in fields.iter().zip(values) {
        ev.doc.set_path(path.parts(), v);
    }
    Ok(())
}

fn redact(
    e: &sluice_mql::expr::Expr,
    doc: &Document,
    meta: Option<&Document>,
    scope: &mut Scope,
) -> Result<Option<Document>, String> {
    let verdict = e.eval_owned(&Input { root: doc, meta }, scope).map_err(|e| e.to_string())?;
    match verdict.as_str() {
        Some("$$KEEP") => Ok(Some(doc.clone())),
        Some("$$PRUNE") => Ok(None),
        Some("$$DESCEND") => {
            let mut out = Document::with_capacity(doc.len());
            for (k, v) in doc.iter() {
                match v {
                    Value::Document(sub) => {
                        if let Some(kept) = redact(e, sub, meta, scope)? {
                            out.push_unique(k.clone(), Value::Document(kept));
                        }
                    }
                    Value::Array(items) => {
                        let mut kept = Vec::with_capacity(items.len());
                        for item in items {
                            match item {
                                Value::Document(sub) => {
                                    if let Some(d) = redact(e, sub, meta, scope)? {
                                        kept.push(Value::Document(d));
                                    }
                                }
                                other => kept.push(other.clone()),
                            }
                        }
                        out.push_unique(k.clone(), Value::Array(kept));
                    }
                    other => out.push_unique(k.clone(), other.clone()),
                }
            }
            Ok(Some(out))
        }
        _ => Err(format!("$redact's expression should not return anything aside from the variables $$KEEP, $$DESCEND, and $$PRUNE, but returned {:?}", verdict)),
    }
}

fn unwind(spec: &UnwindSpec, ev: Event, out: &mut Vec<Event>) {
    let value = spec.path.resolve(&ev.doc).into_owned();
    let set_index = |doc: &mut Document, idx: Value| {
        if let Some(p) = &spec.include_array_index {
            doc.set_path(p.parts(), idx);
        }
    };
    match value {
        Value::Array(items) if !items.is_empty() => {
            for (i, item) in items.into_iter().enumerate() {
                let mut e = ev.clone();
                e.doc.set_path(spec.path.parts(), item);
                set_index(&mut e.doc, Value::Int64(i as i64));
                out.push(e);
            }
        }
        Value::Array(_) | Value::Null | Value::Missing | Value::Undefined => {
            if spec.preserve_null_and_empty {
                let mut e = ev;
                if matches!(spec.path.resolve(&e.doc).as_ref(), Value::Array(_)) {
                    e.doc.set_path(spec.path.parts(), Value::Missing);
                }
                set_index(&mut e.doc, Value::Null);
                out.push(e);
            }
        }
        _ => {
            // A non-array value is treated as a single-element array.
            let mut e = ev;
            set_index(&mut e.doc, Value::Null);
            out.push(e);
        }
    }
}

/// The `$count` field name as a key.
pub(crate) fn count_doc(field: &Str, n: usize) -> Document {
    let mut d = Document::with_capacity(1);
    d.push_unique(field.clone(), i32::try_from(n).map(Value::Int32).unwrap_or(Value::Int64(n as i64)));
    d
}
