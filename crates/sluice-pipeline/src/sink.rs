//! `$emit` and `$merge`.

use sluice_mql::{Document, Value};

use crate::fields::StageArgs;
use crate::{PipelineError, SinkSpec};

pub(crate) fn parse(a: &StageArgs, arg: &Value) -> Result<SinkSpec, PipelineError> {
    let d = a.doc(arg, a.stage)?;
    let rest = |skip: &str| -> Document {
        d.iter().filter(|(k, _)| k.as_str() != skip).map(|(k, v)| (k.clone(), v.clone())).collect()
    };
    if a.stage == "$emit" {
        let name = a.string(a.required(d, "connectionName")?, "connectionName")?;
        return Ok(SinkSpec::Emit { connection_name: name.to_string(), options: rest("connectionName") });
    }
    a.only(d, &["into", "on", "let", "whenMatched", "whenNotMatched", "parallelism"])?;
    let into = a.doc(a.required(d, "into")?, "into")?;
    a.string(
        a.required(into, "connectionName").map_err(|_| a.err("into.connectionName is required"))?,
        "into.connectionName",
    )?;
    for key in ["db", "coll"] {
        if !into.contains_key(key) {
            return Err(a.err(format!("into.{} is required", key)));
        }
    }
    if let Some(w) = d.get("whenMatched") {
        if !matches!(w.as_str(), Some("merge" | "replace" | "keepExisting" | "fail")) && !matches!(w, Value::Array(_)) {
            return Err(a.err("whenMatched must be one of merge, replace, keepExisting, fail, or a pipeline"));
        }
    }
    if let Some(w) = d.get("whenNotMatched") {
        if !matches!(w.as_str(), Some("insert" | "discard")) {
            return Err(a.err("whenNotMatched must be one of insert, discard"));
        }
    }
    Ok(SinkSpec::Merge { into: into.clone(), options: rest("into") })
}
