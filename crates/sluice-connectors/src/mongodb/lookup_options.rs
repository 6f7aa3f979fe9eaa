//! The connector's fields of `$lookup` and `$cachedLookup`: where to look, how to match, and
//! for `$cachedLookup` how long and how much to keep.

use std::time::Duration;

use serde::Deserialize;
use sluice_mql::expr::{compile, Expr};
use sluice_mql::serde_value::{from_document, Entries, Raw};
use sluice_mql::{Document, FieldPath, Value};
use sluice_types::{Interval, TimeUnit};

/// The query cache of `$cachedLookup`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheLimits {
    /// `ttl`: how long an answer is reused.
    pub ttl: Duration,
    /// `maxMemUsageBytes`: how much the cached answers may take.
    pub max_bytes: usize,
}

/// The cache size when `maxMemUsageBytes` is not given.
pub const DEFAULT_CACHE_BYTES: usize = 64 << 20;

/// `$lookup` / `$cachedLookup` on a MongoDB collection.
#[derive(Debug, Clone)]
pub struct LookupOptions {
    /// `from.db`.
    pub db: String,
    /// `from.coll`.
    pub coll: String,
    /// `localField` and `foreignField`, when matching by equality.
    pub fields: Option<(FieldPath, String)>,
    /// `let`: variables evaluated against the document, for `pipeline`.
    pub vars: Vec<(String, Expr)>,
    /// `pipeline`: run on the collection for each document (after the equality match, if any).
    pub pipeline: Vec<Document>,
    /// `$cachedLookup`'s cache.
    pub cache: Option<CacheLimits>,
}

/// The fields of `$lookup` / `$cachedLookup` the connector reads (`as` taken out).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Fields {
    from: From,
    #[serde(rename = "localField")]
    local_field: Option<String>,
    #[serde(rename = "foreignField")]
    foreign_field: Option<String>,
    #[serde(rename = "let", default)]
    vars: Entries<Raw>,
    #[serde(default)]
    pipeline: Vec<Raw>,
    ttl: Option<Ttl>,
    #[serde(rename = "maxMemUsageBytes")]
    max_mem_usage_bytes: Option<u64>,
}

/// `from`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct From {
    #[serde(rename = "connectionName")]
    _connection_name: Option<String>,
    db: String,
    coll: String,
}

/// `$cachedLookup.ttl`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Ttl {
    size: i64,
    unit: String,
}

impl LookupOptions {
    /// Parses what the pipeline kept of the stage (everything but `as`); `cached` for
    /// `$cachedLookup`.
    pub fn parse(options: &Document, cached: bool) -> Result<LookupOptions, String> {
        let stage = if cached { "$cachedLookup" } else { "$lookup" };
        let f: Fields = from_document(options).map_err(|e| e.describe(stage))?;
        let fields = match (f.local_field, f.foreign_field) {
            (Some(local), Some(foreign)) => {
                let path = FieldPath::parse(local.strip_prefix('$').unwrap_or(&local))
                    .ok_or_else(|| format!("$lookup.localField '{}' is not a field path", local))?;
                Some((path, foreign))
            }
            _ => None,
        };
        let vars = f
            .vars
            .0
            .into_iter()
            .map(|(k, e)| Ok((k.clone(), compile(&e.0).map_err(|err| format!("$lookup.let.{}: {}", k, err))?)))
            .collect::<Result<_, String>>()?;
        let pipeline = f
            .pipeline
            .into_iter()
            .enumerate()
            .map(|(i, s)| match s.0 {
                Value::Document(d) => Ok(d),
                _ => Err(format!("$lookup.pipeline.{} must be an object", i)),
            })
            .collect::<Result<Vec<_>, _>>()?;
        if fields.is_none() && pipeline.is_empty() {
            return Err("$lookup needs localField and foreignField, or a pipeline".into());
        }
        let cache = if cached {
            let ttl = f.ttl.ok_or("$cachedLookup.ttl is required")?;
            let unit =
                TimeUnit::parse(&ttl.unit).ok_or("$cachedLookup.ttl.unit must be ms, second, minute, hour or day")?;
            let ttl = Interval::new(ttl.size, unit).map_err(|e| format!("$cachedLookup.ttl: {}", e))?;
            let max_bytes = match f.max_mem_usage_bytes {
                None => DEFAULT_CACHE_BYTES,
                Some(0) => return Err("$cachedLookup.maxMemUsageBytes must be a positive integer".into()),
                Some(n) => n as usize,
            };
            Some(CacheLimits { ttl: Duration::from_millis(ttl.millis().max(0) as u64), max_bytes })
        } else {
            None
        };
        Ok(LookupOptions { db: f.from.db, coll: f.from.coll, fields, vars, pipeline, cache })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_mql::json::parse_document;

    fn parse(json: &str, cached: bool) -> Result<LookupOptions, String> {
        LookupOptions::parse(&parse_document(json).unwrap(), cached)
    }

    #[test]
    fn reads_both_forms_and_keeps_let_in_order() {
        let o = parse(
            r#"{"from": {"connectionName": "c", "db": "d", "coll": "k"}, "localField": "$a.b", "foreignField": "x"}"#,
            false,
        )
        .unwrap();
        assert_eq!((o.db.as_str(), o.coll.as_str()), ("d", "k"));
        assert_eq!(o.fields.as_ref().map(|(_, f)| f.as_str()), Some("x"));
        let o = parse(
            r#"{"from": {"db": "d", "coll": "k"}, "let": {"z": "$a", "y": {"$add": [1, 2]}},
                "pipeline": [{"$match": {"$expr": {"$eq": ["$k", "$$z"]}}}], "ttl": {"size": 5, "unit": "second"}}"#,
            true,
        )
        .unwrap();
        assert_eq!(o.vars.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(), vec!["z", "y"]);
        assert_eq!(o.pipeline.len(), 1);
        assert_eq!(o.cache, Some(CacheLimits { ttl: Duration::from_secs(5), max_bytes: DEFAULT_CACHE_BYTES }));
    }

    #[test]
    fn errors_name_the_field() {
        let from = r#""from": {"db": "d", "coll": "k"}"#;
        let e =
            parse(&format!(r#"{{{}, "localField": "a", "foreignField": "b", "sort": 1}}"#, from), false).unwrap_err();
        assert!(e.starts_with("$lookup.sort: unknown field"), "{}", e);
        let e = parse(&format!(r#"{{{}, "localField": 3, "foreignField": "b"}}"#, from), false).unwrap_err();
        assert!(e.starts_with("$lookup.localField: invalid type"), "{}", e);
        let e = parse(&format!(r#"{{{}, "localField": "a", "foreignField": "b"}}"#, from), true).unwrap_err();
        assert!(e.contains("ttl is required"), "{}", e);
        let e = parse(&format!(r#"{{{}, "pipeline": [3]}}"#, from), false).unwrap_err();
        assert!(e.contains("pipeline.0"), "{}", e);
        assert!(parse(r#"{"from": {"db": "d"}, "pipeline": [{}]}"#, false).unwrap_err().contains("coll"));
    }
}
