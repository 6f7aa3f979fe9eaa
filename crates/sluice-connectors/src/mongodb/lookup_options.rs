//! The connector's fields of `$lookup` and `$cachedLookup`: where to look, how to match, and
//! for `$cachedLookup` how long and how much to keep.

use std::time::Duration;

use sluice_mql::expr::{compile, Expr};
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

fn text<'d>(d: &'d Document, key: &str) -> Result<&'d str, String> {
    d.get(key).and_then(Value::as_str).ok_or_else(|| format!("$lookup.{} must be a string", key))
}

impl LookupOptions {
    /// Parses what the pipeline kept of the stage (everything but `as`); `cached` for
    /// `$cachedLookup`.
    pub fn parse(options: &Document, cached: bool) -> Result<LookupOptions, String> {
        let from = options.get("from").and_then(Value::as_document).ok_or("$lookup.from must be an object")?;
        let fields = match (options.get("localField"), options.get("foreignField")) {
            (Some(_), Some(_)) => {
                let local = text(options, "localField")?;
                let local = FieldPath::parse(local.strip_prefix('$').unwrap_or(local))
                    .ok_or_else(|| format!("$lookup.localField '{}' is not a field path", local))?;
                Some((local, text(options, "foreignField")?.to_string()))
            }
            _ => None,
        };
        let vars = match options.get("let") {
            None => Vec::new(),
            Some(v) => v
                .as_document()
                .ok_or("$lookup.let must be an object")?
                .iter()
                .map(|(k, e)| Ok((k.to_string(), compile(e).map_err(|err| format!("$lookup.let.{}: {}", k, err))?)))
                .collect::<Result<_, String>>()?,
        };
        let pipeline = match options.get("pipeline") {
            None => Vec::new(),
            Some(v) => v
                .as_array()
                .ok_or("$lookup.pipeline must be an array of stages")?
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    s.as_document().cloned().ok_or_else(|| format!("$lookup.pipeline.{} must be an object", i))
                })
                .collect::<Result<_, _>>()?,
        };
        if fields.is_none() && pipeline.is_empty() {
            return Err("$lookup needs localField and foreignField, or a pipeline".into());
        }
        let cache = if cached {
            let ttl = options.get("ttl").and_then(Value::as_document).ok_or("$cachedLookup.ttl is required")?;
            let size =
                ttl.get("size").and_then(Value::as_exact_i64).ok_or("$cachedLookup.ttl.size must be an integer")?;
            let unit = ttl
                .get("unit")
                .and_then(Value::as_str)
                .and_then(TimeUnit::parse)
                .ok_or("$cachedLookup.ttl.unit must be ms, second, minute, hour or day")?;
            let ttl = Interval::new(size, unit).map_err(|e| format!("$cachedLookup.ttl: {}", e))?;
            let max_bytes = match options.get("maxMemUsageBytes") {
                None => DEFAULT_CACHE_BYTES,
                Some(v) => v
                    .as_exact_i64()
                    .filter(|n| *n > 0)
                    .ok_or("$cachedLookup.maxMemUsageBytes must be a positive integer")?
                    as usize,
            };
            Some(CacheLimits { ttl: Duration::from_millis(ttl.millis().max(0) as u64), max_bytes })
        } else {
            None
        };
        Ok(LookupOptions {
            db: text(from, "db")?.to_string(),
            coll: text(from, "coll")?.to_string(),
            fields,
            vars,
            pipeline,
            cache,
        })
    }
}
