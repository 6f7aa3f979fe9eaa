//! `$sessionWindow`: per-partition windows that close after `gap` without events.
//!
//! A session keeps its documents until it closes (sessions merge when an event bridges two of
//! them, and accumulator states cannot be merged in general), then groups them in arrival order.
//! The window's `start` is its first event time, its `end` the last event time plus the gap.

use rustc_hash::FxHashMap;
use sluice_mql::expr::Expr;
use sluice_mql::{Document, GroupKey, Str, Value};
use sluice_pipeline::{WindowKind, WindowSpec};
use sluice_types::EventTime;

use super::group::{emit_window, Groups};
use super::window_protocol::EventTimeWindows;
use crate::{Event, OpContext, Operator};

#[derive(Debug, Clone)]
struct Session {
    start: EventTime,
    last: EventTime,
    events: Vec<(Document, Option<Box<Document>>)>,
}

/// Bytes counted for each event held, beside its document.
const EVENT_OVERHEAD: usize = 32;

/// Approximate bytes of a session's documents.
fn session_bytes(s: &Session) -> usize {
    s.events.iter().map(|(d, _)| EVENT_OVERHEAD + d.approx_size()).sum()
}

/// A session window operator.
pub(crate) struct SessionWindowOp {
    name: String,
    spec: WindowSpec,
    partition_by: Expr,
    gap: i64,
    partitions: FxHashMap<GroupKey, Vec<Session>>,
    /// Partition keys in first-seen order, for deterministic output.
    order: Vec<GroupKey>,
    watermark: EventTime,
    /// Approximate bytes of the documents held, kept as they arrive and leave.
    held_bytes: usize,
}

impl SessionWindowOp {
    pub(crate) fn new(name: &str, spec: WindowSpec) -> SessionWindowOp {
        let (partition_by, gap) = match &spec.kind {
            WindowKind::Session { partition_by, gap_ms } => (partition_by.clone(), *gap_ms),
            _ => (Expr::Literal(Value::Null), 1),
        };
        SessionWindowOp {
            name: name.to_string(),
            spec,
            partition_by,
            gap,
            partitions: FxHashMap::default(),
            order: Vec::new(),
            watermark: i64::MIN,
            held_bytes: 0,
        }
    }

    fn session_value(s: &Session) -> Value {
        let events = s
            .events
            .iter()
            .map(|(d, m)| {
                Value::Array(vec![
                    Value::Document(d.clone()),
                    m.as_deref().map_or(Value::Null, |m| Value::Document(m.clone())),
                ])
            })
            .collect();
        Value::Array(vec![Value::Int64(s.start), Value::Int64(s.last), Value::Array(events)])
    }

    fn session_from(v: &Value) -> Result<Session, String> {
        let [start, last, events] = v.as_array().ok_or("session must be an array")? else {
            return Err("session must be [start, last, events]".into());
        };
        let events = events
            .as_array()
            .ok_or("session events must be an array")?
            .iter()
            .map(|e| match e.as_array() {
                Some([Value::Document(d), Value::Document(m)]) => Ok((d.clone(), Some(Box::new(m.clone())))),
                Some([Value::Document(d), _]) => Ok((d.clone(), None)),
                _ => Err("session event must be [doc, meta]".to_string()),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Session {
            start: start.as_exact_i64().ok_or("session start must be an integer")?,
            last: last.as_exact_i64().ok_or("session last must be an integer")?,
            events,
        })
    }
}

impl EventTimeWindows for SessionWindowOp {
    fn stage_name(&self) -> &str {
        &self.name
    }

    fn pre_group(&self) -> &[sluice_pipeline::Stage] {
        &self.spec.pre_group
    }

    fn advance(&mut self, wm: EventTime, out: &mut Vec<Event>, ctx: &mut OpContext) {
        if wm <= self.watermark {
            return;
        }
        self.watermark = wm;
        let mut closing: Vec<(usize, Session)> = Vec::new();
        for (rank, key) in self.order.iter().enumerate() {
            if let Some(sessions) = self.partitions.get_mut(key) {
                let (done, open): (Vec<Session>, Vec<Session>) = sessions
                    .drain(..)
                    .partition(|s| s.last.saturating_add(self.gap).saturating_add(self.spec.allowed_lateness_ms) <= wm);
                *sessions = open;
                closing.extend(done.into_iter().map(|s| (rank, s)));
            }
        }
        closing.sort_by_key(|(rank, s)| (s.last, s.start, *rank));
        for (_, s) in closing {
            self.held_bytes = self.held_bytes.saturating_sub(session_bytes(&s));
            let mut groups = Groups::default();
            let end = s.last.saturating_add(self.gap);
            for (doc, meta) in &s.events {
                if let Err(e) = groups.add(&self.spec, doc, meta.as_deref(), &mut ctx.scope) {
                    ctx.dlq.push(crate::DlqRecord {
                        operator_name: self.name.clone(),
                        reason: e.to_string(),
                        doc: Some(doc.clone()),
                        raw: None,
                        meta: meta.as_deref().cloned(),
                    });
                }
            }
            emit_window(&self.spec, &self.name, &groups, s.start, end, out, ctx);
        }
        let partitions = &self.partitions;
        self.order.retain(|k| partitions.get(k).is_some_and(|s| !s.is_empty()));
        self.partitions.retain(|_, s| !s.is_empty());
    }

    fn add(&mut self, ev: Event, ctx: &mut OpContext) {
        let t = ev.time;
        if t.saturating_add(self.gap).saturating_add(self.spec.allowed_lateness_ms) <= self.watermark {
            ctx.dead_letter(&self.name, "late event: its session window had already closed", &ev);
            return;
        }
        let key = match self
            .partition_by
            .eval_owned(&sluice_mql::expr::Input { root: &ev.doc, meta: ev.meta.as_deref() }, &mut ctx.scope)
        {
            Ok(k) => GroupKey(k),
            Err(e) => {
                ctx.dead_letter(&self.name, e.to_string(), &ev);
                return;
            }
        };
        if !self.partitions.contains_key(&key) {
            self.order.push(key.clone());
        }
        let gap = self.gap;
        let sessions = self.partitions.entry(key).or_default();
        // Merge every session the event touches (within the gap on either side) into one.
        let (touching, mut rest): (Vec<Session>, Vec<Session>) =
            sessions.drain(..).partition(|s| t > s.start - gap && t < s.last + gap);
        let mut merged = Session { start: t, last: t, events: Vec::new() };
        for s in touching {
            merged.start = merged.start.min(s.start);
            merged.last = merged.last.max(s.last);
            merged.events.extend(s.events);
        }
        self.held_bytes += EVENT_OVERHEAD + ev.doc.approx_size();
        merged.events.push((ev.doc, ev.meta));
        rest.push(merged);
        rest.sort_by_key(|s| s.start);
        *sessions = rest;
        ctx.check_state(&self.name, self.held_bytes);
    }
}

impl Operator for SessionWindowOp {
    fn name(&self) -> &str {
        &self.name
    }

    fn process(&mut self, batch: Vec<Event>, out: &mut Vec<Event>, ctx: &mut OpContext) {
        self.process_batch(batch, out, ctx);
    }

    fn on_watermark(&mut self, watermark: EventTime, out: &mut Vec<Event>, ctx: &mut OpContext) {
        self.advance(watermark, out, ctx);
    }

    fn state_size(&self) -> usize {
        self.partitions.values().flat_map(|v| v.iter()).map(session_bytes).sum()
    }

    fn watermark(&self) -> Option<EventTime> {
        Some(self.watermark)
    }

    fn stateful(&self) -> bool {
        true
    }

    fn snapshot(&self) -> Value {
        let parts = self
            .order
            .iter()
            .filter_map(|k| self.partitions.get(k).map(|s| (k, s)))
            .map(|(k, sessions)| {
                Value::Array(vec![k.0.clone(), Value::Array(sessions.iter().map(Self::session_value).collect())])
            })
            .collect();
        [(Str::from("watermark"), Value::Int64(self.watermark)), (Str::from("partitions"), Value::Array(parts))]
            .into_iter()
            .collect::<Document>()
            .into()
    }

    fn restore(&mut self, state: &Value) -> Result<(), String> {
        let d = state.as_document().ok_or("session state must be a document")?;
        self.watermark = d.get("watermark").and_then(Value::as_exact_i64).ok_or("session state lacks a watermark")?;
        self.partitions.clear();
        self.order.clear();
        for p in d.get("partitions").and_then(Value::as_array).ok_or("session state lacks partitions")? {
            let [key, sessions] = p.as_array().ok_or("partition must be an array")? else {
                return Err("partition must be [key, sessions]".into());
            };
            let sessions = sessions
                .as_array()
                .ok_or("sessions must be an array")?
                .iter()
                .map(Self::session_from)
                .collect::<Result<Vec<_>, _>>()?;
            self.order.push(GroupKey(key.clone()));
            self.partitions.insert(GroupKey(key.clone()), sessions);
        }
        self.held_bytes = self.state_size();
        Ok(())
    }
}
