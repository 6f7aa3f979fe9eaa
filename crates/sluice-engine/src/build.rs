//! From a plan's stages to operators.

use sluice_pipeline::{Plan, Stage, WindowKind};

use crate::ops::{SessionWindowOp, StatelessOp, TimeWindowOp};
use crate::Operator;

/// A plan that cannot be turned into operators.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct BuildError(pub String);

fn stage_name(s: &Stage) -> &'static str {
    match s {
        Stage::Match(_) => "$match",
        Stage::Project(_) => "$project",
        Stage::AddFields(_) => "$addFields",
        Stage::Unset(_) => "$unset",
        Stage::ReplaceRoot(_) => "$replaceRoot",
        Stage::Redact(_) => "$redact",
        Stage::Unwind(_) => "$unwind",
        Stage::Validate(..) => "$validate",
        Stage::Window(w) => match w.kind {
            WindowKind::Tumbling { .. } => "$tumblingWindow",
            WindowKind::Hopping { .. } => "$hoppingWindow",
            WindowKind::Session { .. } => "$sessionWindow",
        },
        Stage::Sort(_) => "$sort",
        Stage::Limit(_) => "$limit",
        Stage::Count(_) => "$count",
    }
}

/// Builds one operator per stage between source and sink.
pub fn build_operators(plan: &Plan) -> Result<Vec<Box<dyn Operator>>, BuildError> {
    plan.stages
        .iter()
        .map(|s| -> Result<Box<dyn Operator>, BuildError> {
            let name = stage_name(s);
            Ok(match s {
                Stage::Window(w) => match w.kind {
                    WindowKind::Session { .. } => Box::new(SessionWindowOp::new(name, (**w).clone())),
                    _ => Box::new(TimeWindowOp::new(name, (**w).clone())),
                },
                Stage::Sort(_) | Stage::Limit(_) | Stage::Count(_) => {
                    return Err(BuildError(format!("{} is only allowed inside a window", name)))
                }
                other => Box::new(StatelessOp::new(name, other.clone())),
            })
        })
        .collect()
}
