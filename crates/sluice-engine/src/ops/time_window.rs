//! `$tumblingWindow` and `$hoppingWindow`: fixed windows on event time, closed by the watermark.

use std::collections::BTreeMap;

use sluice_mql::{Str, Value};
use sluice_pipeline::{WindowKind, WindowSpec};
use sluice_types::EventTime;

use super::group::{emit_window, Groups};
use super::window_protocol::EventTimeWindows;
use crate::{Event, OpContext, Operator};

/// A tumbling or hopping window operator.
pub(crate) struct TimeWindowOp {
    name: String,
    spec: WindowSpec,
    size: i64,
    hop: i64,
    offset: i64,
    /// Open windows by start time.
    windows: BTreeMap<i64, Groups>,
    watermark: EventTime,
    /// Groups in all open windows, kept as they open and close.
    open_groups: usize,
    /// The least a group can take (its entry, key and accumulators): with `open_groups`, a
    /// bound on the state checked at every event.
    group_floor: usize,
}

impl TimeWindowOp {
    pub(crate) fn new(name: &str, spec: WindowSpec) -> TimeWindowOp {
        let (size, hop, offset) = match spec.kind {
            WindowKind::Tumbling { size_ms, offset_ms } => (size_ms, size_ms, offset_ms),
            WindowKind::Hopping { size_ms, hop_ms, offset_ms } => (size_ms, hop_ms, offset_ms),
            WindowKind::Session { .. } => (1, 1, 0),
        };
        let group_floor = 64 + 16 * spec.accumulators.len();
        TimeWindowOp {
            name: name.to_string(),
            spec,
            size,
            hop,
            offset,
            windows: BTreeMap::new(),
            watermark: i64::MIN,
            open_groups: 0,
            group_floor,
        }
    }

    fn closed(&self, start: i64) -> bool {
        start.saturating_add(self.size).saturating_add(self.spec.allowed_lateness_ms) <= self.watermark
    }
}

impl EventTimeWindows for TimeWindowOp {
    fn stage_name(&self) -> &str {
        &self.name
    }

    fn pre_group(&self) -> &[sluice_pipeline::Stage] {
        &self.spec.pre_group
    }

    /// Closes every window whose end plus allowed lateness the watermark has reached.
    fn advance(&mut self, wm: EventTime, out: &mut Vec<Event>, ctx: &mut OpContext) {
        if wm <= self.watermark {
            return;
        }
        self.watermark = wm;
        while let Some((&start, _)) = self.windows.first_key_value() {
            let end = start.saturating_add(self.size);
            if end.saturating_add(self.spec.allowed_lateness_ms) > wm {
                break;
            }
            if let Some(groups) = self.windows.remove(&start) {
                self.open_groups = self.open_groups.saturating_sub(groups.len());
                emit_window(&self.spec, &self.name, &groups, start, end, out, ctx);
            }
        }
    }

    fn add(&mut self, ev: Event, ctx: &mut OpContext) {
        // The latest window containing t starts at the hop boundary at or before t.
        let t = ev.time;
        let last_start = (t - self.offset).div_euclid(self.hop) * self.hop + self.offset;
        let mut start = last_start;
        let mut any_open = false;
        let mut error = None;
        while start > t - self.size {
            if !self.closed(start) {
                any_open = true;
                let groups = self.windows.entry(start).or_default();
                let before = groups.len();
                let added = groups.add(&self.spec, &ev.doc, ev.meta.as_deref(), &mut ctx.scope);
                self.open_groups += groups.len() - before;
                if let Err(e) = added {
                    error = Some(e.to_string());
                    if groups.is_empty() {
                        self.windows.remove(&start);
                    }
                    break;
                }
            }
            start -= self.hop;
        }
        ctx.check_state(&self.name, self.open_groups * self.group_floor);
        match error {
            Some(reason) => ctx.dead_letter(&self.name, reason, &ev),
            None if !any_open => ctx.dead_letter(&self.name, "late event: its window had already closed", &ev),
            None => {}
        }
    }
}

impl Operator for TimeWindowOp {
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
        self.windows.values().map(Groups::approx_size).sum()
    }

    fn watermark(&self) -> Option<EventTime> {
        Some(self.watermark)
    }

    fn stateful(&self) -> bool {
        true
    }

    fn snapshot(&self) -> Value {
        let windows =
            self.windows.iter().map(|(start, g)| Value::Array(vec![Value::Int64(*start), g.snapshot()])).collect();
        [(Str::from("watermark"), Value::Int64(self.watermark)), (Str::from("windows"), Value::Array(windows))]
            .into_iter()
            .collect::<sluice_mql::Document>()
            .into()
    }

    fn write_snapshot(&self, out: &mut Vec<u8>, key: &str) -> Result<(), sluice_mql::bson::BsonError> {
        use sluice_mql::bson::stream;
        let doc = stream::begin_document(out, key)?;
        stream::field(out, "watermark", &Value::Int64(self.watermark))?;
        let windows = stream::begin_array(out, "windows")?;
        for (i, (start, groups)) in self.windows.iter().enumerate() {
            let w = stream::begin_array_at(out, i)?;
            stream::field(out, "0", &Value::Int64(*start))?;
            groups.write_snapshot(out, "1")?;
            stream::end(out, w)?;
        }
        stream::end(out, windows)?;
        stream::end(out, doc)
    }

    fn restore_raw(&mut self, state: sluice_mql::bson::raw::RawField<'_>) -> Result<(), String> {
        use sluice_mql::bson::raw::{walk, RawField};
        use sluice_mql::bson::BsonError;
        let RawField::Nested { is_array: false, bytes } = state else {
            return Err("window state must be a document".into());
        };
        let mut watermark = None;
        let mut windows = BTreeMap::new();
        let mut has_windows = false;
        walk(bytes, |key, field| {
            match (key, field) {
                ("watermark", f) => watermark = f.to_value()?.as_exact_i64(),
                ("windows", RawField::Nested { is_array: true, bytes }) => {
                    has_windows = true;
                    walk(bytes, |_, w| {
                        let RawField::Nested { is_array: true, bytes } = w else {
                            return Err(BsonError("window entry must be [start, groups]".into()));
                        };
                        let mut start = None;
                        let mut groups = None;
                        walk(bytes, |k, f| {
                            match k {
                                "0" => start = f.to_value()?.as_exact_i64(),
                                "1" => groups = Some(Groups::restore_raw(f).map_err(BsonError)?),
                                _ => return Err(BsonError("window entry must be [start, groups]".into())),
                            }
                            Ok(())
                        })?;
                        match (start, groups) {
                            (Some(s), Some(g)) => {
                                windows.insert(s, g);
                                Ok(())
                            }
                            _ => Err(BsonError("window entry must be [start, groups]".into())),
                        }
                    })?
                }
                _ => {}
            }
            Ok(())
        })
        .map_err(|e| e.to_string())?;
        self.watermark = watermark.ok_or("window state lacks a watermark")?;
        if !has_windows {
            return Err("window state lacks windows".into());
        }
        self.windows = windows;
        self.open_groups = self.windows.values().map(Groups::len).sum();
        Ok(())
    }

    fn restore(&mut self, state: &Value) -> Result<(), String> {
        let d = state.as_document().ok_or("window state must be a document")?;
        self.watermark = d.get("watermark").and_then(Value::as_exact_i64).ok_or("window state lacks a watermark")?;
        self.windows.clear();
        for w in d.get("windows").and_then(Value::as_array).ok_or("window state lacks windows")? {
            let [start, groups] = w.as_array().ok_or("window entry must be an array")? else {
                return Err("window entry must be [start, groups]".into());
            };
            let start = start.as_exact_i64().ok_or("window start must be an integer")?;
            self.windows.insert(start, Groups::restore(groups)?);
        }
        self.open_groups = self.windows.values().map(Groups::len).sum();
        Ok(())
    }
}
