//! `$group` state of one window, and producing a window's output through its post-group stages.

use std::borrow::Cow;

use rustc_hash::FxHashMap;
use sluice_mql::accumulator::AccState;
use sluice_mql::expr::{ExprError, Input, Scope};
use sluice_mql::{Document, GroupKey, Str, Value};
use sluice_pipeline::{Stage, WindowSpec};
use smallvec::SmallVec;

use super::stateless::{apply_stage, count_doc};
use crate::{Event, OpContext};

/// The groups of one window, in the order their keys were first seen (so output is deterministic).
#[derive(Debug, Default)]
pub(crate) struct Groups {
    index: FxHashMap<GroupKey, usize>,
    entries: Vec<(GroupKey, Vec<AccState>)>,
}

impl Groups {
    /// Folds one document into its group. Every input is evaluated before any state changes, so a
    /// document whose expression fails (it goes to the DLQ) leaves no trace in the window.
    pub(crate) fn add(
        &mut self,
        spec: &WindowSpec,
        doc: &Document,
        meta: Option<&Document>,
        scope: &mut Scope,
    ) -> Result<(), ExprError> {
        let input = Input { root: doc, meta };
        // A key read from the document is copied only when its group is new.
        let computed;
        let key = match spec.group_id.value_ref(doc) {
            Some(v) => GroupKey::from_ref(v),
            None => {
                computed = GroupKey(spec.group_id.eval_owned(&input, scope)?);
                &computed
            }
        };
        if spec.accumulators.iter().all(|(_, acc)| acc.input_cannot_fail()) {
            // Nothing can fail from here (but creating the group, before anything is folded in):
            // each input is folded in as it is read.
            let states = self.states_of(spec, key, scope)?;
            for ((_, acc), state) in spec.accumulators.iter().zip(states.iter_mut()) {
                match acc.input_ref(doc) {
                    Some(v) => acc.apply_ref(state, v, &input),
                    None => {
                        let v = acc.evaluate(&input, scope)?;
                        acc.apply(state, v, &input);
                    }
                }
            }
            return Ok(());
        }
        let mut values: SmallVec<[Cow<'_, Value>; 4]> = SmallVec::with_capacity(spec.accumulators.len());
        for (_, acc) in &spec.accumulators {
            values.push(acc.evaluate(&input, scope)?);
        }
        if spec.accumulators.iter().any(|(_, acc)| acc.runs_javascript()) {
            return self.add_with_javascript(spec, key, values, &input, scope);
        }
        let states = self.states_of(spec, key, scope)?;
        for (((_, acc), state), v) in spec.accumulators.iter().zip(states.iter_mut()).zip(values) {
            acc.apply(state, v, &input);
        }
        Ok(())
    }

    /// [`Groups::add`] for a group with an `$accumulator`, whose step can fail: every
    /// `$accumulator` computes its next state before any state changes, so a throw or a
    /// JavaScript limit leaves every state as it was, and a group this document created is
    /// dropped again.
    fn add_with_javascript(
        &mut self,
        spec: &WindowSpec,
        key: &GroupKey,
        values: SmallVec<[Cow<'_, Value>; 4]>,
        input: &Input<'_>,
        scope: &mut Scope,
    ) -> Result<(), ExprError> {
        let is_new = !self.index.contains_key(key);
        let states = self.states_of(spec, key, scope)?;
        let computed: Result<SmallVec<[Option<AccState>; 4]>, ExprError> = spec
            .accumulators
            .iter()
            .zip(states.iter())
            .zip(&values)
            .map(|(((_, acc), state), v)| acc.next_state(state, v, scope))
            .collect();
        let next = match computed {
            Ok(next) => next,
            Err(e) => {
                if is_new {
                    self.drop_last(key);
                }
                return Err(e);
            }
        };
        for ((((_, acc), state), v), n) in spec.accumulators.iter().zip(states.iter_mut()).zip(values).zip(next) {
            match n {
                Some(n) => *state = n,
                None => acc.apply(state, v, input),
            }
        }
        Ok(())
    }

    /// Removes the group created last, whose key is `key`.
    fn drop_last(&mut self, key: &GroupKey) {
        self.entries.pop();
        self.index.remove(key);
    }

    /// The accumulator states of a group, created empty the first time its key is seen. Creating
    /// them fails when an accumulator's `n` computed from the key is not a positive integer; the
    /// group is then not created.
    fn states_of(
        &mut self,
        spec: &WindowSpec,
        key: &GroupKey,
        scope: &mut Scope,
    ) -> Result<&mut Vec<AccState>, ExprError> {
        let idx = match self.index.get(key) {
            Some(i) => *i,
            None => {
                let states = spec
                    .accumulators
                    .iter()
                    .map(|(_, a)| a.new_state_for_key(&key.0, scope))
                    .collect::<Result<Vec<_>, _>>()?;
                self.entries.push((key.clone(), states));
                self.index.insert(key.clone(), self.entries.len() - 1);
                self.entries.len() - 1
            }
        };
        Ok(&mut self.entries[idx].1)
    }

    /// How many groups there are.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when no document was added.
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Approximate bytes of state.
    pub(crate) fn approx_size(&self) -> usize {
        self.entries
            .iter()
            .map(|(k, s)| 48 + k.0.approx_size() + s.iter().map(AccState::approx_size).sum::<usize>())
            .sum()
    }

    /// The group documents `{_id, field: result, ...}`. A group whose `$accumulator` `finalize`
    /// fails is not among them: it is returned apart, as its `{_id}` and the error, for the DLQ.
    fn results(&self, spec: &WindowSpec) -> (Vec<Document>, Vec<(Document, ExprError)>) {
        let mut docs = Vec::with_capacity(self.entries.len());
        let mut failed = Vec::new();
        'groups: for (key, states) in &self.entries {
            let mut d = Document::with_capacity(states.len() + 1);
            d.push_unique(Str::from("_id"), key.output());
            for ((name, acc), state) in spec.accumulators.iter().zip(states) {
                match acc.finish(state) {
                    Ok(v) => d.insert(name.clone(), v),
                    Err(e) => {
                        let mut id = Document::with_capacity(1);
                        id.push_unique(Str::from("_id"), key.output());
                        failed.push((id, e));
                        continue 'groups;
                    }
                }
            }
            docs.push(d);
        }
        (docs, failed)
    }

    /// Encodes the groups for a checkpoint: `[[key, [state, ...]], ...]`.
    pub(crate) fn snapshot(&self) -> Value {
        Value::Array(
            self.entries
                .iter()
                .map(|(k, states)| {
                    Value::Array(vec![k.0.clone(), Value::Array(states.iter().map(AccState::snapshot).collect())])
                })
                .collect(),
        )
    }

    /// Writes [`Groups::snapshot`]'s value as the field `key`, one group at a time.
    pub(crate) fn write_snapshot(&self, out: &mut Vec<u8>, key: &str) -> Result<(), sluice_mql::bson::BsonError> {
        use sluice_mql::bson::stream;
        let at = stream::begin_array(out, key)?;
        for (i, (k, states)) in self.entries.iter().enumerate() {
            let group = stream::begin_array_at(out, i)?;
            stream::field(out, "0", &k.0)?;
            let st = stream::begin_array(out, "1")?;
            for (j, s) in states.iter().enumerate() {
                stream::field_at(out, j, &s.snapshot())?;
            }
            stream::end(out, st)?;
            stream::end(out, group)?;
        }
        stream::end(out, at)
    }

    /// Decodes groups written by [`Groups::snapshot`].
    pub(crate) fn restore(v: &Value) -> Result<Groups, String> {
        let mut g = Groups::default();
        for entry in v.as_array().ok_or("groups must be an array")? {
            g.restore_entry(entry)?;
        }
        Ok(g)
    }

    /// Decodes groups written by [`Groups::write_snapshot`] from a checkpoint's bytes, one
    /// group at a time.
    pub(crate) fn restore_raw(field: sluice_mql::bson::raw::RawField<'_>) -> Result<Groups, String> {
        use sluice_mql::bson::raw::{walk, RawField};
        let RawField::Nested { is_array: true, bytes } = field else { return Err("groups must be an array".into()) };
        let mut g = Groups::default();
        walk(bytes, |_, entry| {
            let entry = entry.to_value()?;
            g.restore_entry(&entry).map_err(sluice_mql::bson::BsonError)
        })
        .map_err(|e| e.to_string())?;
        Ok(g)
    }

    /// Adds one `[key, [state, ...]]` entry.
    fn restore_entry(&mut self, entry: &Value) -> Result<(), String> {
        let [key, states] = entry.as_array().ok_or("group entry must be an array")? else {
            return Err("group entry must be [key, states]".into());
        };
        let states = states
            .as_array()
            .ok_or("group states must be an array")?
            .iter()
            .map(|s| AccState::restore(s).ok_or_else(|| "invalid accumulator state".to_string()))
            .collect::<Result<Vec<_>, _>>()?;
        self.entries.push((GroupKey(key.clone()), states));
        self.index.insert(GroupKey(key.clone()), self.entries.len() - 1);
        Ok(())
    }
}

/// The `_stream_meta` of a window's output.
pub(crate) fn window_meta(start: i64, end: i64) -> Box<Document> {
    let mut w = Document::with_capacity(2);
    w.push_unique(Str::from("start"), Value::DateTime(start));
    w.push_unique(Str::from("end"), Value::DateTime(end));
    let mut m = Document::with_capacity(1);
    m.push_unique(Str::from("window"), Value::Document(w));
    Box::new(m)
}

/// Emits a closed window: group results through the post-group stages, with window metadata.
pub(crate) fn emit_window(
    spec: &WindowSpec,
    name: &str,
    groups: &Groups,
    start: i64,
    end: i64,
    out: &mut Vec<Event>,
    ctx: &mut OpContext,
) {
    let (mut docs, failed) = groups.results(spec);
    for (id, e) in failed {
        ctx.dlq.push(crate::DlqRecord {
            operator_name: name.to_string(),
            reason: e.to_string(),
            doc: Some(id),
            raw: None,
            meta: Some(*window_meta(start, end)),
        });
    }
    let mut events: Option<Vec<Event>> = None;
    let to_events = |docs: Vec<Document>| -> Vec<Event> {
        docs.into_iter()
            .map(|doc| Event { doc, time: end, watermark: end, meta: Some(window_meta(start, end)) })
            .collect()
    };
    for stage in &spec.post_group {
        match stage {
            Stage::Sort(sort) => {
                let mut evs = events.take().unwrap_or_else(|| to_events(std::mem::take(&mut docs)));
                // Stable: ties keep the groups' first-seen order.
                evs.sort_by(|a, b| sort.compare_docs(&a.doc, &b.doc));
                events = Some(evs);
            }
            Stage::Limit(n) => {
                let mut evs = events.take().unwrap_or_else(|| to_events(std::mem::take(&mut docs)));
                evs.truncate(usize::try_from(*n).unwrap_or(usize::MAX));
                events = Some(evs);
            }
            Stage::Count(field) => {
                let n = events.as_ref().map_or(docs.len(), Vec::len);
                events = Some(to_events(vec![count_doc(field, n)]));
            }
            other => {
                let evs = events.take().unwrap_or_else(|| to_events(std::mem::take(&mut docs)));
                let mut next = Vec::with_capacity(evs.len());
                for ev in evs {
                    apply_stage(other, name, ev, &mut next, ctx);
                }
                events = Some(next);
            }
        }
    }
    out.extend(events.unwrap_or_else(|| to_events(docs)));
}
