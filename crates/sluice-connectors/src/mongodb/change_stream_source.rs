//! `$source` on a MongoDB change stream: one collection, several, one database or the whole
//! deployment. The position kept in checkpoints is the stream's resume token, so a processor
//! restarted from a checkpoint reads exactly the changes made after it.
//!
//! The stream is opened at the first poll, after any seek: from the checkpoint's resume token,
//! else from `:startWith`'s operation time, else from the stage's `startAfter` or
//! `startAtOperationTime`, else from now. Right after opening, the server's post-batch resume
//! token marks "now", so even a checkpoint taken before the first change resumes at the right
//! place.

use std::time::{Duration, Instant};

use crate::outage::Outage;
use mongodb::bson::{self, doc, Bson, RawDocumentBuf, Timestamp};
use mongodb::change_stream::event::ResumeToken;
use mongodb::error::{Error, ErrorKind};
use mongodb::options::{FullDocumentBeforeChangeType, FullDocumentType};
use mongodb::sync::{ChangeStream, Client};
use sluice_engine::{ResetTo, Source, SourceError, SourceRecord, SourceStatus};
use sluice_mql::bson::decode_document;
use sluice_mql::{Document, Str, Value};

use super::change_stream_options::{
    at_millis, BeforeChange, ChangeStreamOptions, FullDocument, StartPoint, WatchScope,
};
use super::change_stream_position::ChangeStreamPosition;
use super::convert::{from_driver, to_driver};
use super::MongoConnection;

/// How often to try again to open a stream while the deployment cannot be reached.
const RETRY_EVERY: Duration = Duration::from_secs(2);
/// How long the deployment may stay unreachable before the processor fails.
pub const UNREACHABLE_LIMIT: Duration = Duration::from_secs(60);

/// Server error codes after which the stream cannot go on: resuming would lose changes.
const FATAL_CODES: [i32; 3] = [
    260, // InvalidResumeToken
    280, // ChangeStreamFatalError
    286, // ChangeStreamHistoryLost
];

/// A MongoDB change stream `$source`.
pub struct ChangeStreamSource {
    name: String,
    client: Client,
    opts: ChangeStreamOptions,
    stream: Option<ChangeStream<RawDocumentBuf>>,
    /// Where to (re)open the stream: the last resume token seen, once there is one.
    token: Option<ResumeToken>,
    /// `:startWith`'s operation time, used when there is no token.
    start_override: Option<StartPoint>,
    /// The deployment unreachable, reported on the run's health board.
    outage: Outage,
    last_attempt: Option<Instant>,
}

impl ChangeStreamSource {
    /// Connects and checks that the deployment answers (the stream itself opens at the first
    /// poll, once the checkpoint's position is known).
    pub fn open(conn: &MongoConnection, opts: ChangeStreamOptions) -> Result<ChangeStreamSource, String> {
        let client = conn.connect()?;
        Ok(ChangeStreamSource {
            name: conn.name.clone(),
            client,
            opts,
            stream: None,
            token: None,
            start_override: None,
            outage: Outage::new(&conn.name, UNREACHABLE_LIMIT),
            last_attempt: None,
        })
    }

    /// How long the deployment may stay unreachable before [`Source::poll`] fails (tests
    /// shorten it).
    pub fn with_unreachable_limit(mut self, limit: Duration) -> ChangeStreamSource {
        self.outage.set_limit(limit);
        self
    }

    fn error(&self, message: impl Into<String>) -> SourceError {
        SourceError::external(&self.name, message)
    }

    /// Opens the stream where it must start.
    fn open_stream(&mut self) -> Result<ChangeStream<RawDocumentBuf>, Error> {
        let o = &self.opts;
        let mut pipeline = Vec::with_capacity(o.pipeline.len() + 1);
        let scope = o.scope();
        if let WatchScope::Collections(_, colls) = &scope {
            if colls.len() > 1 {
                pipeline.push(doc! {"$match": {"ns.coll": {"$in": colls.clone()}}});
            }
        }
        for stage in &o.pipeline {
            pipeline.push(to_driver(stage).map_err(Error::custom)?);
        }
        let database = match &scope {
            WatchScope::Cluster => None,
            WatchScope::Database(db) | WatchScope::Collections(db, _) => Some(self.client.database(db)),
        };
        let collection = match (&scope, &database) {
            (WatchScope::Collections(_, colls), Some(d)) if colls.len() == 1 => {
                Some(d.collection::<bson::Document>(&colls[0]))
            }
            _ => None,
        };
        let watch = match (&collection, &database) {
            (Some(c), _) => c.watch(),
            (None, Some(d)) => d.watch(),
            (None, None) => self.client.watch(),
        };
        let mut watch = watch.pipeline(pipeline).max_await_time(Duration::from_millis(o.max_await_ms));
        watch = match o.full_document {
            FullDocument::Default => watch,
            FullDocument::UpdateLookup => watch.full_document(FullDocumentType::UpdateLookup),
            FullDocument::WhenAvailable => watch.full_document(FullDocumentType::WhenAvailable),
            FullDocument::Required => watch.full_document(FullDocumentType::Required),
        };
        watch = match o.before_change {
            BeforeChange::Off => watch,
            BeforeChange::WhenAvailable => {
                watch.full_document_before_change(FullDocumentBeforeChangeType::WhenAvailable)
            }
            BeforeChange::Required => watch.full_document_before_change(FullDocumentBeforeChangeType::Required),
        };
        watch = match (&self.token, self.start_override.as_ref().unwrap_or(&o.start)) {
            (Some(token), _) => watch.resume_after(token.clone()),
            (None, StartPoint::Now) => watch,
            (None, StartPoint::After(token)) => watch.start_after(parse_token(token).map_err(Error::custom)?),
            (None, StartPoint::AtOperationTime(time, increment)) => {
                watch.start_at_operation_time(Timestamp { time: *time, increment: *increment })
            }
        };
        Ok(watch.run()?.with_type::<RawDocumentBuf>())
    }

    /// A failure reading the stream: one that loses changes fails the processor at once; any
    /// other (the deployment gone, a failover) closes the stream, to be reopened from the last
    /// token until the deployment has been unreachable for too long.
    fn on_error(&mut self, e: Error) -> Result<(), SourceError> {
        self.stream = None;
        if let ErrorKind::Command(c) = e.kind.as_ref() {
            if FATAL_CODES.contains(&c.code) {
                return Err(self.error(format!("change stream cannot resume: {} ({})", c.message, c.code_name)));
            }
        }
        self.outage.failed(&format!("MongoDB change stream: {}", e.kind));
        if self.outage.exhausted() {
            return Err(self.error(format!(
                "MongoDB change stream failing for {} s: {}",
                self.outage.elapsed().unwrap_or_default().as_secs(),
                e.kind
            )));
        }
        Ok(())
    }

    /// Turns one change event into a record; `None` when `fullDocumentOnly` finds no document
    /// (a delete, or an update whose document is already gone).
    fn record(&self, raw: &RawDocumentBuf) -> Option<SourceRecord> {
        let bytes = raw.as_bytes().len();
        let event = match decode_document(raw.as_bytes()) {
            Ok(d) => d,
            Err(e) => {
                return Some(SourceRecord::Malformed {
                    raw: raw.as_bytes().to_vec(),
                    error: format!("change event is not valid BSON: {}", e),
                    meta: None,
                })
            }
        };
        let time = match (event.get("wallTime"), event.get("clusterTime")) {
            (Some(Value::DateTime(ms)), _) => Some(*ms),
            (_, Some(Value::Timestamp(secs, _))) => Some(*secs as i64 * 1000),
            _ => None,
        };
        let meta = Box::new(stream_meta(time));
        let doc = if self.opts.full_document_only {
            match event.get("fullDocument") {
                Some(Value::Document(d)) => d.clone(),
                _ => return None,
            }
        } else {
            event
        };
        Some(SourceRecord::FromPartition { doc, bytes, partition: 0, meta, time })
    }
}

/// `_stream_meta`: `{source: {type: "atlas", ts}}`, `ts` being the change's time.
fn stream_meta(time: Option<i64>) -> Document {
    let mut src = Document::with_capacity(2);
    src.push_unique(Str::from("type"), Value::str("atlas"));
    if let Some(ms) = time {
        src.push_unique(Str::from("ts"), Value::DateTime(ms));
    }
    let mut meta = Document::with_capacity(1);
    meta.push_unique(Str::from("source"), Value::Document(src));
    meta
}

/// A resume token as the driver takes it.
fn parse_token(token: &Document) -> Result<ResumeToken, String> {
    let d = to_driver(token)?;
    bson::from_bson(Bson::Document(d)).map_err(|e| format!("not a resume token: {}", e))
}

/// A resume token as a document of ours.
fn token_document(token: &ResumeToken) -> Option<Document> {
    match bson::to_bson(token).ok()? {
        Bson::Document(d) => from_driver(&d).ok(),
        _ => None,
    }
}

impl Source for ChangeStreamSource {
    fn name(&self) -> &str {
        &self.name
    }

    fn poll(&mut self, max: usize, out: &mut Vec<SourceRecord>) -> Result<SourceStatus, SourceError> {
        if self.stream.is_none() {
            if self.last_attempt.is_some_and(|t| t.elapsed() < RETRY_EVERY) && self.outage.ongoing() {
                return Ok(SourceStatus::Idle);
            }
            self.last_attempt = Some(Instant::now());
            match self.open_stream() {
                Ok(s) => {
                    // The post-batch token of the opening: "now", durable from the first checkpoint.
                    if let Some(t) = s.resume_token() {
                        self.token = Some(t);
                    }
                    self.stream = Some(s);
                }
                Err(e) => {
                    self.on_error(e)?;
                    return Ok(SourceStatus::Idle);
                }
            }
        }
        let mut n = 0;
        while n < max {
            let Some(stream) = self.stream.as_mut() else { break };
            match stream.next_if_any() {
                Ok(Some(raw)) => {
                    self.token = stream.resume_token();
                    out.extend(self.record(&raw));
                    n += 1;
                }
                Ok(None) => {
                    // An empty batch still moves the token past changes the pipeline filtered out.
                    if let Some(t) = stream.resume_token() {
                        self.token = Some(t);
                    }
                    // A cursor the server closed (the driver gave up resuming it after an
                    // outage) answers nothing forever: reopen it from the token.
                    if !stream.is_alive() {
                        self.stream = None;
                        self.outage.failed("MongoDB change stream: the server closed the cursor");
                    }
                    break;
                }
                Err(e) => {
                    self.on_error(e)?;
                    break;
                }
            }
        }
        if self.stream.is_some() {
            self.outage.ok();
        } else if self.outage.exhausted() {
            let lasted = self.outage.elapsed().unwrap_or_default().as_secs();
            return Err(self.error(format!("MongoDB change stream unavailable for {} s", lasted)));
        }
        Ok(if n == 0 { SourceStatus::Idle } else { SourceStatus::Ready })
    }

    fn attach_health(&mut self, health: &sluice_engine::Health) {
        self.outage.attach(health);
    }

    /// One ordered stream, with an event-time clock of its own (idle after `partitionIdleTimeout`).
    fn partitions(&self) -> u32 {
        1
    }

    /// `{resumeToken: {...}}`; before the stream has given one, `{startAtOperationTime}` when
    /// it is to start at a time; else null (it starts now).
    fn position(&self) -> Value {
        let p = match (self.token.as_ref().and_then(token_document), &self.start_override) {
            (Some(t), _) => ChangeStreamPosition::After(t),
            (None, Some(StartPoint::AtOperationTime(t, i))) => ChangeStreamPosition::AtOperationTime(*t, *i),
            _ => ChangeStreamPosition::Now,
        };
        p.to_value()
    }

    fn seek(&mut self, position: &Value) -> Result<(), SourceError> {
        match ChangeStreamPosition::from_value(position).map_err(|e| self.error(format!("checkpointed {}", e)))? {
            // Nothing read yet: it starts as its options say.
            ChangeStreamPosition::Now => {}
            ChangeStreamPosition::AtOperationTime(t, i) => {
                self.start_override = Some(StartPoint::AtOperationTime(t, i));
                self.token = None;
                self.stream = None;
            }
            ChangeStreamPosition::After(token) => {
                self.token = Some(parse_token(&token).map_err(|e| self.error(e))?);
                self.stream = None;
            }
        }
        Ok(())
    }

    /// A time is a cluster time to start at; latest is the stream's position now. A change
    /// stream has no earliest position and no offsets.
    fn reset_position(&mut self, to: &ResetTo) -> Result<Value, SourceError> {
        match to {
            ResetTo::Time(ms) => {
                self.start_at(*ms)?;
                Ok(self.position())
            }
            ResetTo::Latest => {
                self.token = None;
                self.start_override = Some(StartPoint::Now);
                let stream =
                    self.open_stream().map_err(|e| self.error(format!("cannot open the change stream: {}", e.kind)))?;
                self.token = stream.resume_token();
                if self.token.is_none() {
                    return Err(self.error("the server gave no resume token for now"));
                }
                Ok(self.position())
            }
            ResetTo::Earliest | ResetTo::Offsets(_) => Err(self.error(
                "a change stream can be reset to latest or to a time (its oplog has no earliest position or offsets)",
            )),
        }
    }

    /// `:startWith {startAtOperationTime}`: the stream starts at that cluster time, whatever
    /// the checkpoint holds.
    fn start_at(&mut self, time_ms: i64) -> Result<(), SourceError> {
        self.start_override = Some(at_millis(time_ms).ok_or_else(|| self.error("startAtOperationTime out of range"))?);
        self.token = None;
        self.stream = None;
        Ok(())
    }
}
