//! `$source`.

use sluice_mql::expr::compile;
use sluice_mql::{Document, Str, Value};

use crate::fields::StageArgs;
use crate::{PipelineError, SourceSpec};

pub(crate) fn parse(a: &StageArgs, arg: &Value) -> Result<SourceSpec, PipelineError> {
    let d = a.doc(arg, "$source")?;
    let connection_name =
        d.get("connectionName").map(|v| a.string(v, "connectionName").map(str::to_string)).transpose()?;
    let documents = match d.get("documents") {
        None => None,
        Some(Value::Array(items)) => Some(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    v.as_document().cloned().ok_or_else(|| a.err(format!("documents.{} must be an object", i)))
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
        Some(other) => return Err(a.err(format!("documents must be an array, found {}", other.bson_type().alias()))),
    };
    match (&connection_name, &documents) {
        (None, None) => return Err(a.err("connectionName or documents is required")),
        (Some(_), Some(_)) => return Err(a.err("connectionName and documents are mutually exclusive")),
        _ => {}
    }
    let time_field =
        d.get("timeField").map(|v| compile(v).map_err(|e| a.err(format!("timeField: {}", e)))).transpose()?;
    let ts_field_name = match d.get("tsFieldName") {
        None => Str::from("_ts"),
        Some(v) => {
            let s = a.string(v, "tsFieldName")?;
            if s.is_empty() || s.starts_with('$') || s.contains('.') {
                return Err(a.err("tsFieldName must be a plain field name"));
            }
            Str::from(s)
        }
    };
    let partition_idle_timeout_ms = d
        .get("partitionIdleTimeout")
        .map(|v| a.interval(v, "partitionIdleTimeout", false).map(|i| i.millis()))
        .transpose()?;
    let mut options = Document::new();
    for (k, v) in d.iter() {
        if !matches!(k.as_str(), "connectionName" | "documents" | "timeField" | "tsFieldName" | "partitionIdleTimeout")
        {
            options.insert(k.clone(), v.clone());
        }
    }
    Ok(SourceSpec { connection_name, documents, time_field, ts_field_name, partition_idle_timeout_ms, options })
}
