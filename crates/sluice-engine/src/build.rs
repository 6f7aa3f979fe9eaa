//! From a plan's stages to operators.

use sluice_pipeline::{Plan, Stage, WindowKind};

use crate::ops::{EnrichOp, SessionWindowOp, StatelessOp, TimeWindowOp};
use crate::{Enricher, Operator};

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
        Stage::Enrich(e) => e.stage,
    }
}

/// Builds one operator per stage between source and sink, for a plan without enrichment stages.
pub fn build_operators(plan: &Plan) -> Result<Vec<Box<dyn Operator>>, BuildError> {
    build_operators_with(plan, Vec::new())
}

/// Builds one operator per stage between source and sink; `enrichers` holds the connector of
/// each enrichment stage (`$https`), in pipeline order.
pub fn build_operators_with(
    plan: &Plan,
    enrichers: Vec<Box<dyn Enricher>>,
) -> Result<Vec<Box<dyn Operator>>, BuildError> {
    let mut enrichers = enrichers.into_iter();
    plan.stages
        .iter()
        .map(|s| -> Result<Box<dyn Operator>, BuildError> {
            let name = stage_name(s);
            Ok(match s {
                Stage::Enrich(e) => {
                    let enricher = enrichers.next().ok_or_else(|| {
                        BuildError(format!("{} needs its connection {} opened", name, e.connection_name))
                    })?;
                    Box::new(EnrichOp::new((**e).clone(), enricher))
                }
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
