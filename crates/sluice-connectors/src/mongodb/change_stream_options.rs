//! The MongoDB-specific fields of a `$source` stage: which change stream to open and how.
//!
//! ```json
//! {"$source": {"connectionName": "c", "db": "shop", "coll": "orders" | ["a", "b"],
//!              "config": {"fullDocument": "updateLookup", "fullDocumentOnly": true,
//!                         "fullDocumentBeforeChange": "whenAvailable",
//!                         "startAfter": {...} | "startAtOperationTime": <timestamp or date>,
//!                         "pipeline": [...], "maxAwaitTimeMS": 500}}}
//! ```

use serde::Deserialize;
use sluice_mql::parse_iso_datetime;
use sluice_mql::serde_value::{from_document, Raw};
use sluice_mql::{Document, Value};

/// What the change stream watches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchScope {
    /// Every database of the deployment (no `db`).
    Cluster,
    /// Every collection of one database (`db` without `coll`).
    Database(String),
    /// Some collections of one database (`coll`: one name or several).
    Collections(String, Vec<String>),
}

/// `config.fullDocument`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum FullDocument {
    /// Inserts and replaces carry the document; updates carry only their description.
    #[default]
    Default,
    /// Updates carry the document as it is when the event is read.
    UpdateLookup,
    /// Updates carry the post-image when the collection keeps them.
    WhenAvailable,
    /// Like `WhenAvailable`, but an event without its post-image is an error.
    Required,
}

/// `config.fullDocumentBeforeChange`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum BeforeChange {
    /// No pre-image.
    #[default]
    Off,
    /// The pre-image when the collection keeps them.
    WhenAvailable,
    /// The pre-image, or an error.
    Required,
}

/// Where a change stream without a checkpoint starts.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum StartPoint {
    /// With the changes made from now on (Atlas's default).
    #[default]
    Now,
    /// After the event of this resume token (`config.startAfter`).
    After(Document),
    /// At this cluster time (`config.startAtOperationTime`): seconds and increment.
    AtOperationTime(u32, u32),
}

/// `$source` on a MongoDB (`Cluster`) connection: a change stream.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChangeStreamOptions {
    /// `db` and `coll`.
    pub scope: Option<WatchScope>,
    /// `config.fullDocument`.
    pub full_document: FullDocument,
    /// `config.fullDocumentOnly`: the event is the changed document itself, not the change event.
    pub full_document_only: bool,
    /// `config.fullDocumentBeforeChange`.
    pub before_change: BeforeChange,
    /// `config.startAfter` or `config.startAtOperationTime`.
    pub start: StartPoint,
    /// `config.pipeline`: stages the server applies to the change events.
    pub pipeline: Vec<Document>,
    /// `config.maxAwaitTimeMS`: how long the server may hold a read that finds nothing.
    pub max_await_ms: u64,
}

/// How long the server may wait for new changes before answering an empty batch, by default:
/// short, so that pause and stop are obeyed quickly.
pub const DEFAULT_MAX_AWAIT_MS: u64 = 200;

impl ChangeStreamOptions {
    /// The scope, defaulting to the whole deployment.
    pub fn scope(&self) -> WatchScope {
        self.scope.clone().unwrap_or(WatchScope::Cluster)
    }

    /// Parses the connector options of a `$source` (what is left after the common fields).
    pub fn parse(options: &Document) -> Result<ChangeStreamOptions, String> {
        let f: Fields = from_document(options).map_err(|e| e.describe("$source"))?;
        let name = |v: Value, what: &str| match v {
            Value::String(s) if !s.is_empty() => Ok(s.to_string()),
            _ => Err(format!("$source.{} must be a non-empty string", what)),
        };
        let db = f.db.map(|v| name(v.0, "db")).transpose()?;
        let scope = match (db, f.coll.map(|r| r.0)) {
            (None, None) => None,
            (None, Some(_)) => return Err("$source.coll needs $source.db".into()),
            (Some(db), None) => Some(WatchScope::Database(db)),
            (Some(db), Some(Value::Array(items))) => {
                let colls = items.into_iter().map(|c| name(c, "coll")).collect::<Result<Vec<_>, _>>()?;
                if colls.is_empty() {
                    return Err("$source.coll must name at least one collection".into());
                }
                Some(WatchScope::Collections(db, colls))
            }
            (Some(db), Some(c)) => Some(WatchScope::Collections(db, vec![name(c, "coll")?])),
        };
        let c = f.config.unwrap_or_default();
        let start = match (c.start_after.map(|r| r.0), c.start_at_operation_time) {
            (Some(_), Some(_)) => {
                return Err("$source.config.startAfter and startAtOperationTime are mutually exclusive".into())
            }
            (Some(Value::Document(token)), None) => StartPoint::After(token),
            (Some(_), None) => return Err("$source.config.startAfter must be a resume token (an object)".into()),
            (None, Some(t)) => operation_time(&t.0)?,
            (None, None) => StartPoint::Now,
        };
        let pipeline = c
            .pipeline
            .unwrap_or_default()
            .into_iter()
            .enumerate()
            .map(|(i, s)| match s.0 {
                Value::Document(d) => Ok(d),
                _ => Err(format!("$source.config.pipeline.{} must be an object", i)),
            })
            .collect::<Result<_, _>>()?;
        let max_await_ms = match c.max_await_time_ms {
            None => DEFAULT_MAX_AWAIT_MS,
            Some(ms) if ms > 0 => ms as u64,
            Some(_) => return Err("$source.config.maxAwaitTimeMS must be a positive integer".into()),
        };
        let o = ChangeStreamOptions {
            scope,
            full_document: c.full_document.unwrap_or_default(),
            full_document_only: c.full_document_only.unwrap_or(false),
            before_change: c.full_document_before_change.unwrap_or_default(),
            start,
            pipeline,
            max_await_ms,
        };
        // Atlas: the event is the changed document, so there must be one for updates too.
        if o.full_document_only && o.full_document == FullDocument::Default {
            return Err(
                "$source.config.fullDocumentOnly needs fullDocument updateLookup, whenAvailable or required".into()
            );
        }
        Ok(o)
    }
}

/// The fields of a change stream `$source` (the common ones taken out).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Fields {
    db: Option<Raw>,
    coll: Option<Raw>,
    config: Option<Config>,
}

/// `$source.config` of a change stream.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Config {
    full_document: Option<FullDocument>,
    full_document_only: Option<bool>,
    full_document_before_change: Option<BeforeChange>,
    start_after: Option<Raw>,
    start_at_operation_time: Option<Raw>,
    pipeline: Option<Vec<Raw>>,
    #[serde(rename = "maxAwaitTimeMS")]
    max_await_time_ms: Option<i64>,
}

/// A cluster time: a BSON timestamp, a date or an ISO 8601 date-time (whole seconds).
pub fn operation_time(v: &Value) -> Result<StartPoint, String> {
    let bad = || "$source.config.startAtOperationTime must be a timestamp, a date or an ISO 8601 date-time".to_string();
    match v {
        Value::Timestamp(t, i) => Ok(StartPoint::AtOperationTime(*t, *i)),
        Value::DateTime(ms) => at_millis(*ms).ok_or_else(bad),
        Value::String(s) => parse_iso_datetime(s).and_then(at_millis).ok_or_else(bad),
        _ => Err(bad()),
    }
}

/// The cluster time of a moment given in milliseconds since the epoch.
pub fn at_millis(ms: i64) -> Option<StartPoint> {
    u32::try_from(ms.div_euclid(1000)).ok().map(|s| StartPoint::AtOperationTime(s, 0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_mql::json::parse_document;

    fn parse(json: &str) -> Result<ChangeStreamOptions, String> {
        ChangeStreamOptions::parse(&parse_document(json).unwrap())
    }

    #[test]
    fn scopes() {
        assert_eq!(parse("{}").unwrap().scope(), WatchScope::Cluster);
        assert_eq!(parse(r#"{"db": "d"}"#).unwrap().scope(), WatchScope::Database("d".into()));
        assert_eq!(
            parse(r#"{"db": "d", "coll": ["a", "b"]}"#).unwrap().scope(),
            WatchScope::Collections("d".into(), vec!["a".into(), "b".into()])
        );
        assert!(parse(r#"{"coll": "a"}"#).unwrap_err().contains("needs $source.db"));
        assert!(parse(r#"{"db": "d", "coll": []}"#).unwrap_err().contains("at least one"));
    }

    #[test]
    fn config_fields() {
        let o = parse(
            r#"{"db": "d", "config": {"fullDocument": "updateLookup", "fullDocumentOnly": true,
                "fullDocumentBeforeChange": "whenAvailable", "startAtOperationTime": "2026-05-04T09:42:00Z",
                "pipeline": [{"$match": {"operationType": "insert"}}], "maxAwaitTimeMS": 50}}"#,
        )
        .unwrap();
        assert_eq!(o.full_document, FullDocument::UpdateLookup);
        assert!(o.full_document_only);
        assert_eq!(o.before_change, BeforeChange::WhenAvailable);
        assert_eq!(o.start, StartPoint::AtOperationTime(1_777_887_720, 0));
        assert_eq!(o.pipeline.len(), 1);
        assert_eq!(o.max_await_ms, 50);
        let t = parse(r#"{"config": {"startAtOperationTime": {"$timestamp": {"t": 5, "i": 2}}}}"#).unwrap();
        assert_eq!(t.start, StartPoint::AtOperationTime(5, 2));
    }

    #[test]
    fn refusals_name_the_field() {
        for (json, field) in [
            (r#"{"topic": "x"}"#, "$source.topic"),
            (r#"{"config": {"fullDocument": "always"}}"#, "fullDocument"),
            (r#"{"config": {"fullDocumentOnly": true}}"#, "fullDocumentOnly"),
            (r#"{"config": {"startAfter": {}, "startAtOperationTime": {"$date": 0}}}"#, "mutually exclusive"),
            (r#"{"config": {"startAtOperationTime": "yesterday"}}"#, "startAtOperationTime"),
            (r#"{"config": {"pipeline": [1]}}"#, "pipeline.0"),
            (r#"{"config": {"batch": 1}}"#, "config.batch"),
        ] {
            let e = parse(json).unwrap_err();
            assert!(e.contains(field), "{} -> {}", json, e);
        }
    }
}
