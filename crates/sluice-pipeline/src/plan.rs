//! The typed plan of a pipeline, and the walk over its stages that checks their order.

use sluice_mql::accumulator::Accumulator;
use sluice_mql::expr::{Expr, SortSpec};
use sluice_mql::query::Filter;
use sluice_mql::{Document, FieldPath, Str, Value};

use crate::enrich::{parse_https, parse_lookup, EnrichSpec};
use crate::fields::StageArgs;
use crate::projection::Projection;
use crate::{sink, source, stateless, window, PipelineError};

/// A validated pipeline: one source, the stages in between, and an optional sink (without one,
/// output is only sampled, as Atlas does for a processor without `$emit`/`$merge`).
#[derive(Debug, Clone)]
pub struct Plan {
    /// The `$source` stage.
    pub source: SourceSpec,
    /// Everything between source and sink, in order.
    pub stages: Vec<Stage>,
    /// The `$emit` or `$merge` stage, if any.
    pub sink: Option<SinkSpec>,
}

/// The `$source` stage.
#[derive(Debug, Clone)]
pub struct SourceSpec {
    /// `connectionName`, when the source is a connection.
    pub connection_name: Option<String>,
    /// `documents`, when the source is an inline array.
    pub documents: Option<Vec<Document>>,
    /// `timeField`: an expression giving each event's time; ingestion time without it.
    pub time_field: Option<Expr>,
    /// `tsFieldName`: the field the event time is written to (default `_ts`).
    pub ts_field_name: Str,
    /// `partitionIdleTimeout`: how long a partition may deliver nothing before it stops holding
    /// back the watermark; without it, a silent partition holds it back.
    pub partition_idle_timeout_ms: Option<i64>,
    /// The remaining connector-specific options (`topic`, `db`, `coll`, `config`, ...).
    pub options: Document,
}

/// What `$validate` does with a document that fails validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValidationAction {
    /// Drop it (counted).
    Discard,
    /// Send it to the dead-letter queue.
    Dlq,
}

/// `$unwind` arguments.
#[derive(Debug, Clone)]
pub struct UnwindSpec {
    /// The array field.
    pub path: FieldPath,
    /// `includeArrayIndex`: where to write the element index.
    pub include_array_index: Option<FieldPath>,
    /// `preserveNullAndEmptyArrays`.
    pub preserve_null_and_empty: bool,
}

/// A stage between source and sink.
#[derive(Debug, Clone)]
pub enum Stage {
    /// `$match`
    Match(Filter),
    /// `$project`
    Project(Projection),
    /// `$addFields` / `$set`: (path, expression) pairs, evaluated against the input document.
    AddFields(Vec<(FieldPath, Expr)>),
    /// `$unset`
    Unset(Vec<FieldPath>),
    /// `$replaceRoot` / `$replaceWith`
    ReplaceRoot(Expr),
    /// `$redact`
    Redact(Expr),
    /// `$unwind`
    Unwind(UnwindSpec),
    /// `$validate`
    Validate(Filter, ValidationAction),
    /// `$tumblingWindow`, `$hoppingWindow`, `$sessionWindow`
    Window(Box<WindowSpec>),
    /// `$sort` (only inside a window, after `$group`)
    Sort(SortSpec),
    /// `$limit` (only inside a window)
    Limit(u64),
    /// `$count` (only inside a window): the field name.
    Count(Str),
    /// `$https`, `$lookup`, `$cachedLookup`: each document enriched with what a connection answers.
    Enrich(Box<EnrichSpec>),
}

/// Which kind of window, with its sizes in milliseconds.
#[derive(Debug, Clone)]
pub enum WindowKind {
    /// Fixed, non-overlapping windows.
    Tumbling {
        /// Window length.
        size_ms: i64,
        /// Shift of the window boundaries from the epoch.
        offset_ms: i64,
    },
    /// Fixed windows that start every `hop_ms`.
    Hopping {
        /// Window length.
        size_ms: i64,
        /// Distance between window starts.
        hop_ms: i64,
        /// Shift of the window boundaries from the epoch.
        offset_ms: i64,
    },
    /// Per-partition windows that close after `gap_ms` without events.
    Session {
        /// The partition key expression.
        partition_by: Expr,
        /// The inactivity gap.
        gap_ms: i64,
    },
}

/// Whether windows follow event time or processing time (`boundary`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Boundary {
    /// Windows by the events' time (default).
    EventTime,
    /// Windows by the time events are processed.
    ProcessingTime,
}

/// A window stage with its inner pipeline.
#[derive(Debug, Clone)]
pub struct WindowSpec {
    /// Tumbling, hopping or session, with sizes.
    pub kind: WindowKind,
    /// How long after its end a window still accepts events.
    pub allowed_lateness_ms: i64,
    /// Close windows when the source has been idle this long (processing time).
    pub idle_timeout_ms: Option<i64>,
    /// Event time or processing time.
    pub boundary: Boundary,
    /// Stages of the inner pipeline before `$group` (`$match`, `$project`, `$addFields` ...).
    pub pre_group: Vec<Stage>,
    /// The `$group` key.
    pub group_id: Expr,
    /// The `$group` output fields and their accumulators.
    pub accumulators: Vec<(Str, Accumulator)>,
    /// Stages of the inner pipeline after `$group` (`$sort`, `$limit`, `$count`, `$match`, ...).
    pub post_group: Vec<Stage>,
}

/// The terminal stage.
#[derive(Debug, Clone, PartialEq)]
pub enum SinkSpec {
    /// `$emit` to a connection (Kafka, or `__testLog` for the in-memory log).
    Emit {
        /// The connection.
        connection_name: String,
        /// The remaining options (`topic`, `config`, ...).
        options: Document,
    },
    /// `$merge` into a collection.
    Merge {
        /// The `into` document (`connectionName`, `db`, `coll`).
        into: Document,
        /// The remaining options (`on`, `whenMatched`, `whenNotMatched`).
        options: Document,
    },
}

/// Splits a stage document into its name and argument.
pub(crate) fn stage_parts(index: usize, v: &Value) -> Result<(&str, &Value), PipelineError> {
    let d = v.as_document().ok_or_else(|| {
        PipelineError::Pipeline(format!("stage {} must be an object, found {}", index, v.bson_type().alias()))
    })?;
    match d.first() {
        Some((k, arg)) if d.len() == 1 => Ok((k.as_str(), arg)),
        _ => Err(PipelineError::Pipeline(format!(
            "stage {} must have exactly one field (the stage name), found {}",
            index,
            d.len()
        ))),
    }
}

pub(crate) fn parse(v: &Value) -> Result<Plan, PipelineError> {
    let stages = v.as_array().ok_or_else(|| {
        PipelineError::Pipeline(format!("a pipeline must be an array of stages, found {}", v.bson_type().alias()))
    })?;
    if stages.is_empty() {
        return Err(PipelineError::Pipeline("a pipeline must not be empty; it starts with $source".into()));
    }
    let mut source = None;
    let mut middle = Vec::new();
    let mut sink = None;
    let mut window_at: Option<usize> = None;
    for (index, sv) in stages.iter().enumerate() {
        let (name, arg) = stage_parts(index, sv)?;
        let a = StageArgs { index, stage: name };
        if sink.is_some() {
            return Err(a.err("no stage may follow $emit or $merge: the sink must be the last stage"));
        }
        match name {
            "$source" => {
                if index != 0 {
                    return Err(a.err("$source must be the first stage"));
                }
                source = Some(source::parse(&a, arg)?);
            }
            _ if index == 0 => {
                return Err(a.err("the first stage must be $source"));
            }
            "$emit" | "$merge" => sink = Some(sink::parse(&a, arg)?),
            "$tumblingWindow" | "$hoppingWindow" | "$sessionWindow" => {
                if let Some(first) = window_at {
                    return Err(
                        a.err(format!("a pipeline may have only one window stage; stage {} is already one", first))
                    );
                }
                window_at = Some(index);
                middle.push(Stage::Window(Box::new(window::parse(&a, arg)?)));
            }
            "$https" => middle.push(Stage::Enrich(Box::new(parse_https(&a, arg)?))),
            "$lookup" | "$cachedLookup" => middle.push(Stage::Enrich(Box::new(parse_lookup(&a, arg)?))),
            "$group" | "$sort" | "$limit" | "$count" => {
                return Err(a.err(format!("{} is only allowed inside a window's pipeline", name)));
            }
            _ => middle.push(stateless::parse(&a, arg)?),
        }
    }
    let source = source.ok_or_else(|| PipelineError::Pipeline("the first stage must be $source".into()))?;
    Ok(Plan { source, stages: middle, sink })
}
