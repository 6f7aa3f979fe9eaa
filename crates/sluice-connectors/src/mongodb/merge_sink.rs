//! `$merge` into MongoDB collections: each batch becomes one unordered `update` (or `insert`)
//! command per target collection. A document the server rejects goes to the DLQ with the
//! server's message; the rest of the batch is written. Network failures are retried with backoff
//! (every statement is an idempotent upsert, or an insert whose duplicate is recognised), then the
//! processor fails naming the connection.

use std::time::{Duration, Instant};

use crate::outage::now_ms;
use mongodb::bson::{self, Bson, RawArrayBuf, RawDocumentBuf};
use mongodb::error::ErrorKind;
use sluice_engine::{Health, Sink, SinkError, SinkReject};
use sluice_mql::expr::{Input, Scope};
use sluice_mql::{Document, ObjectId, Str, Value};

use super::convert::to_driver_raw;
use super::{MergeOptions, MongoConnection, NameSpec, WhenMatched};

/// The server's code for an operation the user may not do.
const UNAUTHORIZED: i32 = 13;

/// How long writes are retried while the deployment cannot be reached.
pub const RETRY_FOR: Duration = Duration::from_secs(30);
/// Encoded bytes per command, well under the server's 16 MiB message limit.
const COMMAND_BYTES: usize = 8 << 20;
/// MongoDB's duplicate key error.
const DUPLICATE_KEY: i32 = 11000;

/// One statement of a batch: the incoming document's index and its write.
struct Statement {
    index: usize,
    /// The statement, already encoded: commands are built from these bytes without a tree.
    write: RawDocumentBuf,
}

/// A `$merge` into MongoDB.
pub struct MergeSink {
    name: String,
    client: mongodb::sync::Client,
    opts: MergeOptions,
    rejected: Vec<SinkReject>,
    retry_for: Duration,
    /// The run's health board.
    health: Health,
}

impl MergeSink {
    /// Connects and checks that the deployment answers.
    pub fn open(conn: &MongoConnection, opts: MergeOptions) -> Result<MergeSink, String> {
        let client = conn.connect()?;
        Ok(MergeSink {
            name: conn.name.clone(),
            client,
            opts,
            rejected: Vec::new(),
            retry_for: RETRY_FOR,
            health: Health::default(),
        })
    }

    /// How long a write is retried while the deployment cannot be reached (tests shorten it).
    pub fn with_retry_for(mut self, retry_for: Duration) -> MergeSink {
        self.retry_for = retry_for;
        self
    }

    fn error(&self, message: impl Into<String>) -> SinkError {
        SinkError::external(&self.name, message)
    }

    fn target(&self, spec: &NameSpec, doc: &Document, scope: &mut Scope, what: &str) -> Result<String, String> {
        match spec {
            NameSpec::Fixed(n) => Ok(n.clone()),
            NameSpec::Computed(e) => {
                let v = e.eval(&Input::doc(doc), scope).map_err(|e| format!("into.{}: {}", what, e))?;
                match v.as_str() {
                    Some(s) if !s.is_empty() => Ok(s.to_string()),
                    _ => Err(format!(
                        "into.{} must evaluate to a non-empty string, found {}",
                        what,
                        v.bson_type().alias()
                    )),
                }
            }
        }
    }

    /// The query that finds the document's match: its `on` fields (an `_id` is given when the
    /// document has none, as MongoDB's `$merge` does).
    fn match_query(&self, doc: &mut Document) -> Result<Document, String> {
        let mut q = Document::with_capacity(self.opts.on.len());
        for f in &self.opts.on {
            let v = match doc.get_path(f.as_str()) {
                Some(v) => v.clone(),
                None if f.as_str() == "_id" => {
                    let id = Value::ObjectId(ObjectId::generate());
                    doc.insert("_id", id.clone());
                    id
                }
                None => return Err(format!("$merge: the document has no value for the on field {}", f)),
            };
            q.insert(f.clone(), v);
        }
        Ok(q)
    }

    /// The update of a whenMatched pipeline: `$$new` and the `let` variables replaced by the
    /// incoming document's values.
    fn pipeline_update(&self, stages: &[Value], doc: &Document, scope: &mut Scope) -> Result<Value, String> {
        let mut vars: Vec<(Str, Value)> = Vec::new();
        if self.opts.vars.is_empty() {
            vars.push((Str::from("new"), Value::Document(doc.clone())));
        }
        for (name, e) in &self.opts.vars {
            vars.push((
                name.clone(),
                e.eval_owned(&Input::doc(doc), scope).map_err(|e| format!("let.{}: {}", name, e))?,
            ));
        }
        Ok(Value::Array(stages.iter().map(|s| substitute(s, &vars)).collect()))
    }

    /// The writes of one document: an update statement, an insert, or nothing.
    fn statement(&self, mut doc: Document, scope: &mut Scope) -> Result<(Option<Document>, Option<Document>), String> {
        let q = self.match_query(&mut doc)?;
        let upsert = self.opts.insert_unmatched;
        let update = |u: Value, upsert: bool| -> Document {
            [
                (Str::from("q"), Value::Document(q.clone())),
                (Str::from("u"), u),
                (Str::from("upsert"), Value::Bool(upsert)),
                (Str::from("multi"), Value::Bool(false)),
            ]
            .into_iter()
            .collect()
        };
        let op = |name: &str, d: Document| -> Value {
            Value::Document([(Str::from(name), Value::Document(d))].into_iter().collect())
        };
        Ok(match &self.opts.when_matched {
            WhenMatched::Merge => (Some(update(op("$set", doc), upsert)), None),
            WhenMatched::Replace => (Some(update(Value::Document(doc), upsert)), None),
            WhenMatched::KeepExisting if upsert => (Some(update(op("$setOnInsert", doc), true)), None),
            WhenMatched::KeepExisting => (None, None),
            WhenMatched::Fail => (None, Some(doc)),
            // Matched: the pipeline. Not matched: the incoming document itself, inserted.
            WhenMatched::Pipeline(stages) => {
                let u = self.pipeline_update(stages, &doc, scope)?;
                (Some(update(u, false)), upsert.then_some(doc))
            }
        })
    }

    /// Runs `cmd` (whose statements are `kind`: `updates` or `documents`) with retries; the
    /// indices of the statements the server refused, with its messages.
    fn run(
        &self,
        db: &str,
        coll: &str,
        kind: &str,
        stmts: &[Statement],
    ) -> Result<Vec<(usize, i32, String)>, SinkError> {
        let verb = if kind == "updates" { "update" } else { "insert" };
        let mut refused = Vec::new();
        let mut start = 0;
        while start < stmts.len() {
            // Split so that no command passes the size limit.
            let mut end = start;
            let mut bytes = 0;
            while end < stmts.len() && (end == start || bytes + stmts[end].write.as_bytes().len() < COMMAND_BYTES) {
                bytes += stmts[end].write.as_bytes().len();
                end += 1;
            }
            let chunk = &stmts[start..end];
            let mut list = RawArrayBuf::new();
            for st in chunk {
                list.push(st.write.clone());
            }
            let mut cmd = RawDocumentBuf::new();
            cmd.append(verb, coll.to_string());
            cmd.append(kind, list);
            cmd.append("ordered", false);
            let reply = self.with_retries(db, cmd)?;
            if let Ok(errors) = reply.get_array("writeErrors") {
                for e in errors.iter().filter_map(Bson::as_document) {
                    let i = e.get_i32("index").unwrap_or(0) as usize;
                    let code = e.get_i32("code").unwrap_or(0);
                    let msg = e.get_str("errmsg").unwrap_or("refused by the server").to_string();
                    if let Some(s) = chunk.get(i) {
                        refused.push((s.index, code, msg));
                    }
                }
            }
            start = end;
        }
        Ok(refused)
    }

    /// Runs `cmd`, retrying while the deployment cannot be reached: each failed attempt is on
    /// the run's health board, and the retries end after the limit or when the run stops.
    fn with_retries(&self, db: &str, cmd: RawDocumentBuf) -> Result<bson::Document, SinkError> {
        let started = Instant::now();
        let mut pause = Duration::from_millis(100);
        let limit = self.health.retry_for().unwrap_or(self.retry_for);
        let mut failed = false;
        loop {
            match self.client.database(db).run_raw_command(cmd.clone()).run() {
                Ok(reply) => {
                    if failed {
                        self.health.recovered(&self.name, now_ms());
                    }
                    return Ok(reply);
                }
                Err(e) => {
                    let transient = matches!(
                        *e.kind,
                        ErrorKind::Io(_) | ErrorKind::ServerSelection { .. } | ErrorKind::ConnectionPoolCleared { .. }
                    ) || e.contains_label("RetryableWriteError");
                    let message = format!("write to {} failed: {}", db, e.kind);
                    if !transient || started.elapsed() >= limit {
                        // A refused user or password is the configuration's to fix.
                        let refused = matches!(*e.kind, ErrorKind::Authentication { .. })
                            || matches!(&*e.kind, ErrorKind::Command(c) if c.code == UNAUTHORIZED);
                        return Err(if refused { SinkError::user(&self.name, message) } else { self.error(message) });
                    }
                    failed = true;
                    self.health.failing(&self.name, &message, now_ms());
                    if !self.health.wait_to_retry(pause) {
                        return Err(self.error(format!("{} (the processor is stopping)", message)));
                    }
                    pause = (pause * 2).min(Duration::from_secs(2));
                }
            }
        }
    }
}

/// `v` with `$$name` and `$$name.path` of each variable replaced by a literal of its value.
fn substitute(v: &Value, vars: &[(Str, Value)]) -> Value {
    match v {
        Value::String(s) if s.starts_with("$$") => {
            let rest = &s[2..];
            for (name, value) in vars {
                let path = if rest == name.as_str() {
                    Some("")
                } else {
                    rest.strip_prefix(name.as_str()).and_then(|r| r.strip_prefix('.'))
                };
                if let Some(path) = path {
                    let found = if path.is_empty() {
                        value.clone()
                    } else {
                        value.as_document().and_then(|d| d.get_path(path)).cloned().unwrap_or(Value::Null)
                    };
                    return Value::Document([(Str::from("$literal"), found)].into_iter().collect());
                }
            }
            v.clone()
        }
        Value::Document(d) => Value::Document(d.iter().map(|(k, v)| (k.clone(), substitute(v, vars))).collect()),
        Value::Array(items) => Value::Array(items.iter().map(|v| substitute(v, vars)).collect()),
        other => other.clone(),
    }
}

/// Statements of one batch for one target collection.
#[derive(Default)]
struct Target {
    updates: Vec<Statement>,
    inserts: Vec<Statement>,
}

impl Sink for MergeSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn write(&mut self, docs: &[Document]) -> Result<(), SinkError> {
        let mut scope = Scope::new(now_ms());
        let mut targets: Vec<((String, String), Target)> = Vec::new();
        for (index, doc) in docs.iter().enumerate() {
            let planned = (|| -> Result<_, String> {
                let db = self.target(&self.opts.db, doc, &mut scope, "db")?;
                let coll = self.target(&self.opts.coll, doc, &mut scope, "coll")?;
                let (update, insert) = self.statement(doc.clone(), &mut scope)?;
                let stmt =
                    |d: Document| -> Result<Statement, String> { Ok(Statement { index, write: to_driver_raw(&d)? }) };
                Ok(((db, coll), update.map(stmt).transpose()?, insert.map(stmt).transpose()?))
            })();
            match planned {
                Err(reason) => self.rejected.push(SinkReject { doc: doc.clone(), reason }),
                Ok((key, update, insert)) => {
                    let pos = match targets.iter().position(|(k, _)| *k == key) {
                        Some(p) => p,
                        None => {
                            targets.push((key, Target::default()));
                            targets.len() - 1
                        }
                    };
                    let t = &mut targets[pos].1;
                    t.updates.extend(update);
                    t.inserts.extend(insert);
                }
            }
        }
        let pipeline_mode = matches!(self.opts.when_matched, WhenMatched::Pipeline(_));
        for ((db, coll), t) in &targets {
            let mut refused = self.run(db, coll, "updates", &t.updates)?;
            for (index, code, msg) in self.run(db, coll, "documents", &t.inserts)? {
                match (code, pipeline_mode) {
                    // Matched, and the pipeline has already updated it.
                    (DUPLICATE_KEY, true) => {}
                    (DUPLICATE_KEY, false) => refused.push((
                        index,
                        code,
                        format!("$merge: a document with the same on fields exists (whenMatched: fail): {}", msg),
                    )),
                    _ => refused.push((index, code, msg)),
                }
            }
            for (index, _, reason) in refused {
                self.rejected.push(SinkReject { doc: docs[index].clone(), reason });
            }
        }
        Ok(())
    }

    fn take_rejected(&mut self) -> Vec<SinkReject> {
        std::mem::take(&mut self.rejected)
    }

    fn attach_health(&mut self, health: &sluice_engine::Health) {
        self.health = health.clone();
    }
}
