//! `$lookup` and `$cachedLookup` against a MongoDB collection: each document gets the array of
//! the collection's documents that match it.
//!
//! By `localField`/`foreignField` alone, a batch costs one query: the local values of every
//! document not answered from the cache go into one `$in`, and each document then keeps the
//! answers that match its own values, with MongoDB's equality (an array matches by its
//! elements, null matches null and missing, numbers match across types). With a `pipeline`, each
//! document runs it on the collection with its `let` variables, up to [`PARALLEL`] at a time.
//! A database that stays unreachable past the retries fails the processor.

use std::time::{Duration, Instant};

use mongodb::bson;
use mongodb::error::ErrorKind;
use mongodb::sync::Client;
use sluice_engine::{EnrichRequest, Enriched, Enricher, Health};
use sluice_mql::expr::{compile, Expr, Input, Scope};
use sluice_mql::query::{compile_filter, Filter};
use sluice_mql::{Document, GroupKey, Str, Value};

use super::convert::{from_driver, to_driver};
use super::lookup_cache::LookupCache;
use super::lookup_options::LookupOptions;
use super::MongoConnection;
use crate::outage::now_ms;

/// Pipeline lookups run at once.
pub const PARALLEL: usize = 8;
/// Values per `$in` query.
const IN_CHUNK: usize = 10_000;
/// How long reads are retried while the deployment cannot be reached.
const RETRY_FOR: Duration = Duration::from_secs(30);

/// A `$lookup` or `$cachedLookup` connector.
pub struct LookupEnricher {
    name: String,
    client: Client,
    opts: LookupOptions,
    /// `"$" + localField`: evaluated as an aggregation path, so it reaches through arrays.
    local: Option<Expr>,
    cache: Option<LookupCache>,
    /// The run's health board.
    health: Health,
}

impl LookupEnricher {
    /// Connects and checks that the deployment answers.
    pub fn open(conn: &MongoConnection, opts: LookupOptions) -> Result<LookupEnricher, String> {
        let client = conn.connect()?;
        let local = match &opts.fields {
            Some((path, _)) => Some(
                compile(&Value::String(Str::from(format!("${}", path.dotted()))))
                    .map_err(|e| format!("$lookup.localField: {}", e))?,
            ),
            None => None,
        };
        let cache = opts.cache.map(LookupCache::new);
        Ok(LookupEnricher { name: conn.name.clone(), client, opts, local, cache, health: Health::default() })
    }

    /// `(hits, misses, bytes)` of the cache, for `$cachedLookup`.
    pub fn cache_stats(&self) -> Option<(u64, u64, usize)> {
        self.cache.as_ref().map(|c| (c.hits, c.misses, c.bytes()))
    }

    /// The document's local values: the field's elements if it is an array, null if missing.
    fn local_values(&self, doc: &Document, scope: &mut Scope) -> Result<Vec<Value>, String> {
        let Some(e) = &self.local else { return Ok(Vec::new()) };
        let v = e.eval(&Input::doc(doc), scope).map_err(|e| format!("localField: {}", e))?;
        Ok(match &*v {
            Value::Array(items) if !items.is_empty() => items.clone(),
            Value::Array(_) | Value::Missing | Value::Undefined => vec![Value::Null],
            other => vec![other.clone()],
        })
    }

    /// `{foreignField: {$in: values}}`.
    fn in_query(&self, values: &[Value]) -> Document {
        let field = self.opts.fields.as_ref().map(|(_, f)| f.as_str()).unwrap_or("_id");
        let inner: Document = [(Str::from("$in"), Value::Array(values.to_vec()))].into_iter().collect();
        [(Str::from(field), Value::Document(inner))].into_iter().collect()
    }

    /// Retries `read` while the deployment cannot be reached, up to the run's retry limit (else
    /// [`RETRY_FOR`]), each failed attempt on the run's health board; a stopping run gives up.
    fn with_retries<T>(&self, mut read: impl FnMut() -> mongodb::error::Result<T>) -> Result<T, String> {
        let started = Instant::now();
        let mut pause = Duration::from_millis(100);
        let limit = self.health.retry_for().unwrap_or(RETRY_FOR);
        let mut failed = false;
        loop {
            match read() {
                Ok(v) => {
                    if failed {
                        self.health.recovered(&self.name, now_ms());
                    }
                    return Ok(v);
                }
                Err(e) => {
                    let transient = matches!(
                        *e.kind,
                        ErrorKind::Io(_) | ErrorKind::ServerSelection { .. } | ErrorKind::ConnectionPoolCleared { .. }
                    ) || e.contains_label("RetryableReadError");
                    let message = format!(
                        "connection {}: lookup in {}.{} failed: {}",
                        self.name, self.opts.db, self.opts.coll, e.kind
                    );
                    if !transient || started.elapsed() >= limit {
                        return Err(message);
                    }
                    failed = true;
                    self.health.failing(&self.name, &message, now_ms());
                    if !self.health.wait_to_retry(pause) {
                        return Err(format!("{} (the processor is stopping)", message));
                    }
                    pause = (pause * 2).min(Duration::from_secs(2));
                }
            }
        }
    }

    /// The collection's documents matching any of `values` on the foreign field.
    fn find_in(&self, values: &[Value]) -> Result<Vec<Document>, String> {
        let coll = self.client.database(&self.opts.db).collection::<bson::Document>(&self.opts.coll);
        let mut found = Vec::new();
        for chunk in values.chunks(IN_CHUNK) {
            let filter = to_driver(&self.in_query(chunk))?;
            let docs = self.with_retries(|| coll.find(filter.clone()).run()?.collect::<Result<Vec<_>, _>>())?;
            for d in docs {
                found.push(from_driver(&d)?);
            }
        }
        Ok(found)
    }

    /// Equality lookups of a batch: cached answers, then one query for the rest.
    fn by_fields(
        &mut self,
        requests: &[EnrichRequest<'_>],
        scope: &mut Scope,
    ) -> Result<Vec<Result<Enriched, String>>, String> {
        // The run's clock, which tests drive.
        let now = scope.now;
        let mut answers: Vec<Option<Result<Vec<Document>, String>>> = Vec::with_capacity(requests.len());
        let mut keys: Vec<Option<(GroupKey, Vec<Value>)>> = Vec::with_capacity(requests.len());
        let mut wanted: Vec<Value> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for r in requests {
            match self.local_values(r.doc, scope) {
                Err(e) => {
                    answers.push(Some(Err(e)));
                    keys.push(None);
                }
                Ok(values) => {
                    let key = GroupKey(Value::Array(values.clone()));
                    if let Some(hit) = self.cache.as_mut().and_then(|c| c.get(&key, now)) {
                        answers.push(Some(Ok(hit)));
                        keys.push(None);
                        continue;
                    }
                    for v in &values {
                        if seen.insert(GroupKey(v.clone())) {
                            wanted.push(v.clone());
                        }
                    }
                    answers.push(None);
                    keys.push(Some((key, values)));
                }
            }
        }
        let candidates = if wanted.is_empty() { Vec::new() } else { self.find_in(&wanted)? };
        let mut out = Vec::with_capacity(requests.len());
        for (answer, key) in answers.into_iter().zip(keys) {
            let docs = match (answer, key) {
                (Some(a), _) => a,
                (None, Some((key, values))) => {
                    let filter: Filter = compile_filter(&self.in_query(&values)).map_err(|e| e.to_string())?;
                    let matched: Vec<Document> = candidates.iter().filter(|c| filter.matches(c)).cloned().collect();
                    if let Some(c) = self.cache.as_mut() {
                        c.put(key, matched.clone(), now);
                    }
                    Ok(matched)
                }
                (None, None) => Err("no lookup key".to_string()),
            };
            out.push(
                docs.map(|d| Enriched {
                    value: Value::Array(d.into_iter().map(Value::Document).collect()),
                    meta: None,
                }),
            );
        }
        Ok(out)
    }

    /// The `aggregate` pipeline of one document: the equality match, if any, then `pipeline`.
    fn pipeline_for(&self, doc: &Document, scope: &mut Scope) -> Result<(Vec<bson::Document>, bson::Document), String> {
        let mut stages = Vec::with_capacity(self.opts.pipeline.len() + 1);
        if self.opts.fields.is_some() {
            let values = self.local_values(doc, scope)?;
            let m: Document = [(Str::from("$match"), Value::Document(self.in_query(&values)))].into_iter().collect();
            stages.push(to_driver(&m)?);
        }
        for s in &self.opts.pipeline {
            stages.push(to_driver(s)?);
        }
        let mut vars = Document::with_capacity(self.opts.vars.len());
        for (k, e) in &self.opts.vars {
            let v = e.eval(&Input::doc(doc), scope).map_err(|e| format!("let.{}: {}", k, e))?;
            vars.insert(Str::from(k.as_str()), (*v).clone());
        }
        Ok((stages, to_driver(&vars)?))
    }

    /// Pipeline lookups of a batch, [`PARALLEL`] at a time.
    fn by_pipeline(
        &self,
        requests: &[EnrichRequest<'_>],
        scope: &mut Scope,
    ) -> Result<Vec<Result<Enriched, String>>, String> {
        let prepared: Vec<Result<(Vec<bson::Document>, bson::Document), String>> =
            requests.iter().map(|r| self.pipeline_for(r.doc, scope)).collect();
        let coll = self.client.database(&self.opts.db).collection::<bson::Document>(&self.opts.coll);
        let run = |p: &(Vec<bson::Document>, bson::Document)| -> Result<Vec<Document>, String> {
            let docs = self.with_retries(|| {
                coll.aggregate(p.0.clone()).let_vars(p.1.clone()).run()?.collect::<Result<Vec<_>, _>>()
            })?;
            docs.iter().map(from_driver).collect()
        };
        let mut results = Vec::with_capacity(prepared.len());
        for chunk in prepared.chunks(PARALLEL) {
            // Per document: Ok(the database's answer, or its failure), or Err(why there is no
            // query for this document).
            let outcomes: Vec<Result<Result<Vec<Document>, String>, String>> = std::thread::scope(|s| {
                let handles: Vec<_> = chunk.iter().map(|p| p.as_ref().ok().map(|p| s.spawn(|| run(p)))).collect();
                handles
                    .into_iter()
                    .zip(chunk)
                    .map(|(h, p)| match (h, p) {
                        (Some(h), _) => Ok(h.join().unwrap_or_else(|_| Err("the lookup thread panicked".into()))),
                        (None, Err(e)) => Err(e.clone()),
                        (None, Ok(_)) => Err("no query was made".into()),
                    })
                    .collect()
            });
            for o in outcomes {
                match o {
                    Ok(Ok(docs)) => results.push(Ok(Enriched {
                        value: Value::Array(docs.into_iter().map(Value::Document).collect()),
                        meta: None,
                    })),
                    // The database failed past its retries: the processor fails.
                    Ok(Err(e)) => return Err(e),
                    Err(e) => results.push(Err(e)),
                }
            }
        }
        Ok(results)
    }
}

impl Enricher for LookupEnricher {
    fn meta_key(&self) -> &str {
        "lookup"
    }

    fn attach_health(&mut self, health: &Health) {
        self.health = health.clone();
    }

    fn enrich(
        &mut self,
        requests: &[EnrichRequest<'_>],
        scope: &mut Scope,
    ) -> Result<Vec<Result<Enriched, String>>, String> {
        if self.opts.pipeline.is_empty() {
            self.by_fields(requests, scope)
        } else {
            self.by_pipeline(requests, scope)
        }
    }
}
