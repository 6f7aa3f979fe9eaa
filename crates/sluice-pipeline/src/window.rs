//! `$tumblingWindow`, `$hoppingWindow` and `$sessionWindow`, with their inner pipeline.

/// The most windows one event may join: `interval / hopSize` of a `$hoppingWindow`.
pub const MAX_WINDOWS_PER_EVENT: i64 = 1000;

use sluice_mql::accumulator::Accumulator;
use sluice_mql::expr::compile;
use sluice_mql::{Str, Value};

use crate::fields::StageArgs;
use crate::plan::stage_parts;
use crate::{stateless, Boundary, PipelineError, Stage, WindowKind, WindowSpec};

const COMMON: [&str; 4] = ["pipeline", "allowedLateness", "idleTimeout", "boundary"];

pub(crate) fn parse(a: &StageArgs, arg: &Value) -> Result<WindowSpec, PipelineError> {
    let d = a.doc(arg, a.stage)?;
    let kind = match a.stage {
        "$tumblingWindow" => {
            a.only(d, &[&COMMON[..], &["interval", "offset"]].concat())?;
            let size = a.interval(a.required(d, "interval")?, "interval", false)?;
            WindowKind::Tumbling { size_ms: size.millis(), offset_ms: offset(a, d.get("offset"))? }
        }
        "$hoppingWindow" => {
            a.only(d, &[&COMMON[..], &["interval", "hopSize", "offset"]].concat())?;
            let size = a.interval(a.required(d, "interval")?, "interval", false)?;
            let hop = a.interval(a.required(d, "hopSize")?, "hopSize", false)?;
            if hop.millis() > size.millis() {
                return Err(a.err("hopSize must not be larger than interval"));
            }
            // Each event joins interval / hopSize windows: past the limit, one event could open
            // millions of windows.
            let hop_ms = hop.millis().max(1);
            let per_event = (size.millis() + hop_ms - 1) / hop_ms;
            if per_event > MAX_WINDOWS_PER_EVENT {
                return Err(a.err(format!(
                    "hopSize is too small for interval: each event would join {} windows (interval / hopSize), \
                     at most {} are allowed",
                    per_event, MAX_WINDOWS_PER_EVENT
                )));
            }
            WindowKind::Hopping { size_ms: size.millis(), hop_ms: hop.millis(), offset_ms: offset(a, d.get("offset"))? }
        }
        _ => {
            a.only(d, &[&COMMON[..], &["partitionBy", "gap"]].concat())?;
            let gap = a.interval(a.required(d, "gap")?, "gap", false)?;
            let partition_by =
                compile(a.required(d, "partitionBy")?).map_err(|e| a.err(format!("partitionBy: {}", e)))?;
            WindowKind::Session { partition_by, gap_ms: gap.millis() }
        }
    };
    let allowed_lateness_ms = match d.get("allowedLateness") {
        Some(v) => a.interval(v, "allowedLateness", true)?.millis(),
        None => 0,
    };
    let idle_timeout_ms =
        d.get("idleTimeout").map(|v| a.interval(v, "idleTimeout", false).map(|i| i.millis())).transpose()?;
    let boundary = match d.get("boundary").map(|v| a.string(v, "boundary")).transpose()? {
        None | Some("eventTime") => Boundary::EventTime,
        Some("processingTime") => Boundary::ProcessingTime,
        Some(other) => return Err(a.err(format!("boundary must be one of eventTime, processingTime, got '{}'", other))),
    };
    let (pre_group, group_id, accumulators, post_group) = inner_pipeline(a, a.required(d, "pipeline")?)?;
    Ok(WindowSpec {
        kind,
        allowed_lateness_ms,
        idle_timeout_ms,
        boundary,
        pre_group,
        group_id,
        accumulators,
        post_group,
    })
}

fn offset(a: &StageArgs, v: Option<&Value>) -> Result<i64, PipelineError> {
    let Some(v) = v else { return Ok(0) };
    let d = a.doc(v, "offset")?;
    a.only(d, &["offsetFromUtc", "unit"])?;
    let size = a
        .required(d, "offsetFromUtc")
        .map_err(|_| a.err("offset.offsetFromUtc is required"))?
        .as_exact_i64()
        .ok_or_else(|| a.err("offset.offsetFromUtc must be an integer"))?;
    let unit_v = a.required(d, "unit").map_err(|_| a.err("offset.unit is required"))?;
    let unit = unit_v.as_str().and_then(sluice_types::TimeUnit::parse).ok_or_else(|| {
        a.err(format!(
            "offset.unit must be one of {}, got {}",
            sluice_types::TimeUnit::NAMES,
            crate::fields::show(unit_v)
        ))
    })?;
    size.checked_mul(unit.millis()).ok_or_else(|| a.err("offset overflows"))
}

type Inner = (Vec<Stage>, sluice_mql::expr::Expr, Vec<(Str, Accumulator)>, Vec<Stage>);

fn inner_pipeline(a: &StageArgs, v: &Value) -> Result<Inner, PipelineError> {
    let stages = v.as_array().ok_or_else(|| a.err("pipeline must be an array of stages"))?;
    let mut pre = Vec::new();
    let mut post = Vec::new();
    let mut group = None;
    for (i, sv) in stages.iter().enumerate() {
        let (name, arg) = stage_parts(a.index, sv).map_err(|e| a.err(format!("pipeline.{}: {}", i, e)))?;
        let inner = StageArgs { index: a.index, stage: a.stage };
        let prefix = |e: PipelineError| match e {
            PipelineError::Stage { message, .. } => a.err(format!("pipeline.{} ({}): {}", i, name, message)),
            other => other,
        };
        match name {
            "$group" => {
                if group.is_some() {
                    return Err(a.err(format!("pipeline.{}: a window may have only one $group", i)));
                }
                group = Some(parse_group(&inner, i, arg)?);
            }
            "$source" | "$emit" | "$merge" | "$tumblingWindow" | "$hoppingWindow" | "$sessionWindow" => {
                return Err(a.err(format!("pipeline.{}: {} is not allowed inside a window", i, name)));
            }
            "$sort" | "$limit" | "$count" if group.is_none() => {
                return Err(a.err(format!("pipeline.{}: {} is only allowed after $group in a window", i, name)));
            }
            _ => {
                let stage = stateless::parse(&StageArgs { index: a.index, stage: name }, arg).map_err(prefix)?;
                if group.is_none() {
                    pre.push(stage)
                } else {
                    post.push(stage)
                }
            }
        }
    }
    let (id, accs) = group.ok_or_else(|| a.err("pipeline must contain a $group stage"))?;
    Ok((pre, id, accs, post))
}

fn parse_group(
    a: &StageArgs,
    i: usize,
    arg: &Value,
) -> Result<(sluice_mql::expr::Expr, Vec<(Str, Accumulator)>), PipelineError> {
    let d = a.doc(arg, &format!("pipeline.{}.$group", i))?;
    let id_v = d
        .get("_id")
        .ok_or_else(|| a.err(format!("pipeline.{}.$group: a group specification must include an _id", i)))?;
    let id = compile(id_v).map_err(|e| a.err(format!("pipeline.{}.$group._id: {}", i, e)))?;
    let mut accs = Vec::with_capacity(d.len());
    for (k, v) in d.iter() {
        if k == "_id" {
            continue;
        }
        if k.contains('.') {
            return Err(a.err(format!("pipeline.{}.$group.{}: the group field name cannot contain '.'", i, k)));
        }
        let spec = v
            .as_document()
            .filter(|s| s.len() == 1)
            .ok_or_else(|| a.err(format!("pipeline.{}.$group.{}: the field must be an accumulator object", i, k)))?;
        let (op, op_arg) = spec.first().ok_or_else(|| a.err("empty accumulator"))?;
        let acc = Accumulator::compile(op, op_arg).map_err(|e| a.err(format!("pipeline.{}.$group.{}: {}", i, k, e)))?;
        accs.push((k.clone(), acc));
    }
    Ok((id, accs))
}
