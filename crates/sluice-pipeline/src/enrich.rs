//! Stages that enrich each document with what a connection answers: `$https`, `$lookup` and
//! `$cachedLookup`. The pipeline checks what is common (the connection, `as`, `onError`, a
//! `payload` pipeline of stateless stages); the connector parses its own fields, which stay in
//! [`EnrichSpec::options`].

use sluice_mql::{Document, FieldPath, Value};

use crate::fields::StageArgs;
use crate::plan::stage_parts;
use crate::{stateless, PipelineError, Stage};

/// What an enrichment stage does when the connection fails for one document (`onError`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnError {
    /// The document goes to the dead-letter queue (the default).
    Dlq,
    /// The document goes on without the enrichment.
    Ignore,
    /// The processor fails.
    Fail,
}

/// An enrichment stage.
#[derive(Debug, Clone)]
pub struct EnrichSpec {
    /// The stage name (`$https`, `$lookup`, `$cachedLookup`).
    pub stage: &'static str,
    /// The connection asked.
    pub connection_name: String,
    /// `as`: where the answer goes in the document.
    pub as_field: FieldPath,
    /// `onError`.
    pub on_error: OnError,
    /// `payload`: stateless stages that turn the document into the request's body.
    pub payload: Vec<Stage>,
    /// The connector's own fields (`path`, `method`, `headers`, `parameters`, `config`).
    pub options: Document,
}

/// `as`: a plain field path.
fn as_field(a: &StageArgs, d: &Document) -> Result<FieldPath, PipelineError> {
    let as_name = a.string(a.required(d, "as")?, "as")?;
    if as_name.starts_with('$') {
        return Err(a.err(format!("as '{}' must not start with '$'", as_name)));
    }
    FieldPath::parse(as_name).ok_or_else(|| a.err(format!("as '{}' is not a valid field path", as_name)))
}

/// Parses `$lookup` and `$cachedLookup` against a collection of a connection:
/// `from {connectionName, db, coll}`, `localField`/`foreignField` and (`$lookup` only) `let` and
/// `pipeline`; `$cachedLookup` adds `ttl` and `maxMemUsageBytes`. A document whose lookup cannot
/// be computed goes to the DLQ; a database that stays unreachable fails the processor.
pub(crate) fn parse_lookup(a: &StageArgs, arg: &Value) -> Result<EnrichSpec, PipelineError> {
    let d = a.doc(arg, a.stage)?;
    let cached = a.stage == "$cachedLookup";
    if cached {
        a.only(d, &["from", "localField", "foreignField", "as", "ttl", "maxMemUsageBytes"])?;
    } else {
        a.only(d, &["from", "localField", "foreignField", "let", "pipeline", "as"])?;
    }
    let from = a.doc(a.required(d, "from")?, "from")?;
    a.only(from, &["connectionName", "db", "coll"])?;
    let connection_name = a.string(a.required(from, "connectionName")?, "from.connectionName")?.to_string();
    for key in ["db", "coll"] {
        let v = from.get(key).ok_or_else(|| a.err(format!("from.{} is required", key)))?;
        if a.string(v, &format!("from.{}", key))?.is_empty() {
            return Err(a.err(format!("from.{} must not be empty", key)));
        }
    }
    match (d.get("localField"), d.get("foreignField")) {
        (Some(l), Some(f)) => {
            a.string(l, "localField")?;
            a.string(f, "foreignField")?;
        }
        (None, None) if d.contains_key("pipeline") => {}
        (None, None) => return Err(a.err("localField and foreignField, or a pipeline, are required")),
        (Some(_), None) => return Err(a.err("localField needs foreignField")),
        (None, Some(_)) => return Err(a.err("foreignField needs localField")),
    }
    if cached {
        a.interval(a.required(d, "ttl")?, "ttl", false)?;
        if let Some(v) = d.get("maxMemUsageBytes") {
            if v.as_exact_i64().is_none_or(|n| n <= 0) {
                return Err(a.err("maxMemUsageBytes must be a positive integer"));
            }
        }
    }
    let mut options = Document::new();
    for (k, v) in d.iter() {
        if k.as_str() != "as" {
            options.insert(k.clone(), v.clone());
        }
    }
    let stage = if cached { "$cachedLookup" } else { "$lookup" };
    Ok(EnrichSpec {
        stage,
        connection_name,
        as_field: as_field(a, d)?,
        on_error: OnError::Dlq,
        payload: Vec::new(),
        options,
    })
}

/// Parses `$https`.
pub(crate) fn parse_https(a: &StageArgs, arg: &Value) -> Result<EnrichSpec, PipelineError> {
    let d = a.doc(arg, "$https")?;
    a.only(d, &["connectionName", "path", "method", "headers", "parameters", "config", "onError", "payload", "as"])?;
    let connection_name = a.string(a.required(d, "connectionName")?, "connectionName")?.to_string();
    let as_field = as_field(a, d)?;
    let on_error = match d.get("onError").map(|v| a.string(v, "onError")).transpose()? {
        None | Some("dlq") => OnError::Dlq,
        Some("ignore") => OnError::Ignore,
        Some("fail") => OnError::Fail,
        Some(other) => return Err(a.err(format!("onError must be one of dlq, ignore, fail, got '{}'", other))),
    };
    let payload = match d.get("payload") {
        None => Vec::new(),
        Some(Value::Array(stages)) => stages
            .iter()
            .enumerate()
            .map(|(i, sv)| {
                let (name, inner) = stage_parts(i, sv).map_err(|e| a.err(format!("payload: {}", e)))?;
                if !matches!(
                    name,
                    "$project" | "$addFields" | "$set" | "$unset" | "$replaceRoot" | "$replaceWith" | "$match"
                ) {
                    return Err(a.err(format!(
                        "payload stage {} ({}) is not allowed: use $project, $addFields, $set, $unset, $replaceRoot, \
                         $replaceWith or $match",
                        i, name
                    )));
                }
                let inner_args = StageArgs { index: a.index, stage: name };
                stateless::parse(&inner_args, inner).map_err(|e| match e {
                    PipelineError::Stage { message, .. } => {
                        a.err(format!("payload stage {} ({}): {}", i, name, message))
                    }
                    other => other,
                })
            })
            .collect::<Result<_, _>>()?,
        Some(other) => {
            return Err(a.err(format!("payload must be an array of stages, found {}", other.bson_type().alias())))
        }
    };
    let mut options = Document::new();
    for (k, v) in d.iter() {
        if matches!(k.as_str(), "path" | "method" | "headers" | "parameters" | "config") {
            options.insert(k.clone(), v.clone());
        }
    }
    Ok(EnrichSpec { stage: "$https", connection_name, as_field, on_error, payload, options })
}

#[cfg(test)]
mod tests {
    use crate::{parse_pipeline_json, OnError, PipelineError, Stage};

    fn parse(stage: &str) -> Result<crate::Plan, PipelineError> {
        parse_pipeline_json(&format!(r#"[{{"$source": {{"documents": []}}}}, {}]"#, stage))
    }

    #[test]
    fn https_keeps_the_connectors_fields_and_parses_the_rest() {
        let plan = parse(
            r#"{"$https": {"connectionName": "api", "path": "/x", "method": "POST", "as": "r.answer",
                "onError": "ignore", "payload": [{"$project": {"a": 1}}], "config": {"requestTimeoutSec": 2}}}"#,
        )
        .unwrap();
        let Stage::Enrich(e) = &plan.stages[0] else { panic!("an enrichment stage") };
        assert_eq!((e.stage, e.connection_name.as_str(), e.on_error), ("$https", "api", OnError::Ignore));
        assert_eq!(e.as_field.parts().len(), 2);
        assert_eq!(e.payload.len(), 1);
        let kept: Vec<&str> = e.options.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(kept, ["path", "method", "config"]);
    }

    #[test]
    fn lookups_keep_their_fields_and_refuse_what_does_not_fit() {
        let plan = parse(
            r#"{"$cachedLookup": {"from": {"connectionName": "m", "db": "d", "coll": "c"}, "localField": "a",
                "foreignField": "b", "as": "x", "ttl": {"size": 5, "unit": "second"}, "maxMemUsageBytes": 1000}}"#,
        )
        .unwrap();
        let Stage::Enrich(e) = &plan.stages[0] else { panic!("an enrichment stage") };
        assert_eq!((e.stage, e.connection_name.as_str()), ("$cachedLookup", "m"));
        assert!(!e.options.contains_key("as"));
        for (stage, says) in [
            (r#"{"$lookup": {"as": "x", "localField": "a", "foreignField": "b"}}"#, "from"),
            (
                r#"{"$lookup": {"from": {"connectionName": "m", "db": "d"}, "localField": "a", "foreignField": "b", "as": "x"}}"#,
                "from.coll",
            ),
            (
                r#"{"$lookup": {"from": {"connectionName": "m", "db": "d", "coll": "c"}, "as": "x"}}"#,
                "localField and foreignField, or a pipeline",
            ),
            (
                r#"{"$lookup": {"from": {"connectionName": "m", "db": "d", "coll": "c"}, "localField": "a", "as": "x"}}"#,
                "needs foreignField",
            ),
            (
                r#"{"$cachedLookup": {"from": {"connectionName": "m", "db": "d", "coll": "c"}, "localField": "a", "foreignField": "b", "as": "x"}}"#,
                "ttl",
            ),
            (
                r#"{"$cachedLookup": {"from": {"connectionName": "m", "db": "d", "coll": "c"}, "localField": "a", "foreignField": "b", "as": "x", "ttl": {"size": 1, "unit": "second"}, "let": {}}}"#,
                "let",
            ),
            (
                r#"{"$cachedLookup": {"from": {"connectionName": "m", "db": "d", "coll": "c"}, "localField": "a", "foreignField": "b", "as": "x", "ttl": {"size": 1, "unit": "second"}, "maxMemUsageBytes": 0}}"#,
                "maxMemUsageBytes",
            ),
        ] {
            let e = parse(stage).unwrap_err().to_string();
            assert!(e.starts_with("stage 1 ($") && e.contains(says), "{} -> {}", stage, e);
        }
    }

    #[test]
    fn https_refusals_name_the_field() {
        for (stage, says) in [
            (r#"{"$https": {"as": "r"}}"#, "connectionName"),
            (r#"{"$https": {"connectionName": "api"}}"#, "as"),
            (r#"{"$https": {"connectionName": "api", "as": "$r"}}"#, "as '$r'"),
            (r#"{"$https": {"connectionName": "api", "as": "r", "onError": "retry"}}"#, "onError"),
            (
                r#"{"$https": {"connectionName": "api", "as": "r", "payload": [{"$group": {"_id": 1}}]}}"#,
                "payload stage 0",
            ),
            (
                r#"{"$https": {"connectionName": "api", "as": "r", "payload": [{"$project": 5}]}}"#,
                "payload stage 0 ($project)",
            ),
            (r#"{"$https": {"connectionName": "api", "as": "r", "url": "x"}}"#, "url"),
        ] {
            let e = parse(stage).unwrap_err().to_string();
            assert!(e.starts_with("stage 1 ($https): ") && e.contains(says), "{} -> {}", stage, e);
        }
    }
}
