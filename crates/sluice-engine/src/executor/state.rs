//! An executor's state for checkpoints: the whole pipeline's state as a value
//! ([`Executor::snapshot`]) or written straight into a checkpoint's buffer
//! ([`Executor::write_snapshot`]), and restored from either ([`Executor::restore`],
//! [`Executor::restore_raw`]).

use sluice_mql::{Document, Str, Value};
use sluice_types::EventTime;

use super::Executor;
use crate::stats::{counters_value, restore_counters};
use crate::{EngineError, Operator, SinkResume};

impl Executor {
    /// The whole pipeline's state as one value: source position, watermark, counters and the
    /// state of each stateful operator (in pipeline order, named by stage).
    pub fn snapshot(&self) -> Value {
        let ops = self
            .ops
            .iter()
            .filter(|o| o.stateful())
            .map(|o| {
                [(Str::from("stage"), Value::String(Str::from(o.name()))), (Str::from("state"), o.snapshot())]
                    .into_iter()
                    .collect::<Document>()
                    .into()
            })
            .collect();
        [
            (Str::from("source"), self.source.position()),
            (Str::from("maxSeen"), Value::Int64(self.max_seen)),
            (
                Str::from("partitionMaxSeen"),
                Value::Array(self.partitions.maxima().into_iter().map(Value::Int64).collect()),
            ),
            (Str::from("counters"), counters_value(&self.stats)),
            (Str::from("sink"), self.sink.snapshot()),
            (Str::from("operators"), Value::Array(ops)),
        ]
        .into_iter()
        .collect::<Document>()
        .into()
    }

    /// Writes [`Executor::snapshot`]'s value as the field `key` of a BSON document being built
    /// in `out`, each operator's state written where it lies (no value tree of the whole state):
    /// the same bytes as encoding the snapshot.
    pub fn write_snapshot(&self, out: &mut Vec<u8>, key: &str) -> Result<(), sluice_mql::bson::BsonError> {
        use sluice_mql::bson::stream;
        let doc = stream::begin_document(out, key)?;
        stream::field(out, "source", &self.source.position())?;
        stream::field(out, "maxSeen", &Value::Int64(self.max_seen))?;
        let maxima = Value::Array(self.partitions.maxima().into_iter().map(Value::Int64).collect());
        stream::field(out, "partitionMaxSeen", &maxima)?;
        stream::field(out, "counters", &counters_value(&self.stats))?;
        stream::field(out, "sink", &self.sink.snapshot())?;
        let ops = stream::begin_array(out, "operators")?;
        for (i, o) in self.ops.iter().filter(|o| o.stateful()).enumerate() {
            let op = stream::begin_document_at(out, i)?;
            stream::field(out, "stage", &Value::String(Str::from(o.name())))?;
            o.write_snapshot(out, "state")?;
            stream::end(out, op)?;
        }
        stream::end(out, ops)?;
        stream::end(out, doc)
    }

    /// Restores a state written by [`Executor::snapshot`]. Refused when the checkpoint's stateful
    /// stages are not this pipeline's.
    pub fn restore(&mut self, state: &Value) -> Result<(), EngineError> {
        let bad = |m: &str| EngineError::Restore(m.to_string());
        let d = state.as_document().ok_or_else(|| bad("state must be a document"))?;
        self.resume_sink(d)?;
        let saved = d.get("operators").and_then(Value::as_array).ok_or_else(|| bad("no operators"))?;
        let theirs: Vec<&str> = saved
            .iter()
            .map(|o| o.as_document().and_then(|o| o.get("stage")).and_then(Value::as_str).unwrap_or("?"))
            .collect();
        let mut ours = self.stateful_ops_matching(&theirs)?;
        for (op, s) in ours.iter_mut().zip(saved) {
            let st = s.as_document().and_then(|s| s.get("state")).unwrap_or(&Value::Null);
            op.restore(st).map_err(EngineError::Restore)?;
        }
        self.restore_header(d)
    }

    /// Restores a state written by [`Executor::write_snapshot`], read from a checkpoint's bytes
    /// (the `state` document): each operator reads its own part where it lies, so the restore
    /// holds no value tree of the whole state.
    pub fn restore_raw(&mut self, state: &[u8]) -> Result<(), EngineError> {
        use sluice_mql::bson::raw::{walk, RawField};
        use sluice_mql::bson::BsonError;
        let bad = |e: BsonError| EngineError::Restore(e.to_string());
        let mut header = Document::new();
        let mut saved: Vec<(String, Option<RawField<'_>>)> = Vec::new();
        let mut has_operators = false;
        walk(state, |key, field| {
            if key != "operators" {
                header.insert(Str::from(key), field.to_value()?);
                return Ok(());
            }
            has_operators = true;
            let RawField::Nested { is_array: true, bytes } = field else {
                return Err(BsonError("operators must be an array".into()));
            };
            walk(bytes, |_, op| {
                let RawField::Nested { is_array: false, bytes } = op else {
                    return Err(BsonError("an operator's state must be a document".into()));
                };
                let (mut stage, mut st) = (String::from("?"), None);
                walk(bytes, |k, f| {
                    match k {
                        "stage" => stage = f.to_value()?.as_str().unwrap_or("?").to_string(),
                        "state" => st = Some(f),
                        _ => {}
                    }
                    Ok(())
                })?;
                saved.push((stage, st));
                Ok(())
            })
        })
        .map_err(bad)?;
        if !has_operators {
            return Err(EngineError::Restore("no operators".into()));
        }
        self.resume_sink(&header)?;
        let theirs: Vec<&str> = saved.iter().map(|(s, _)| s.as_str()).collect();
        let mut ours = self.stateful_ops_matching(&theirs)?;
        for (op, (_, st)) in ours.iter_mut().zip(&saved) {
            match st {
                Some(st) => op.restore_raw(*st).map_err(EngineError::Restore)?,
                None => op.restore(&Value::Null).map_err(EngineError::Restore)?,
            }
        }
        self.restore_header(&header)
    }

    /// Tells the sink which checkpoint the run resumes from, before anything is restored: a
    /// transactional sink refuses one whose output never committed.
    fn resume_sink(&mut self, d: &Document) -> Result<(), EngineError> {
        match self.sink.resume_from(d.get("sink").unwrap_or(&Value::Null))? {
            SinkResume::Resumed => Ok(()),
            SinkResume::OutputLost(why) => Err(EngineError::OutputNotCommitted(why)),
        }
    }

    /// The stateful operators, refused unless they are the stages `theirs` names, in order.
    fn stateful_ops_matching(&mut self, theirs: &[&str]) -> Result<Vec<&mut Box<dyn Operator>>, EngineError> {
        let ours: Vec<&mut Box<dyn Operator>> = self.ops.iter_mut().filter(|o| o.stateful()).collect();
        let names: Vec<&str> = ours.iter().map(|o| o.name()).collect();
        if theirs != names.as_slice() {
            return Err(EngineError::Restore(format!(
                "the checkpoint holds the state of [{}], the pipeline has [{}]",
                theirs.join(", "),
                names.join(", ")
            )));
        }
        Ok(ours)
    }

    /// Restores what a snapshot holds besides the operators: event time, counters, partition
    /// watermarks and the source's position.
    fn restore_header(&mut self, d: &Document) -> Result<(), EngineError> {
        let bad = |m: &str| EngineError::Restore(m.to_string());
        self.max_seen = d.get("maxSeen").and_then(Value::as_exact_i64).ok_or_else(|| bad("no maxSeen"))?;
        if let Some(c) = d.get("counters") {
            restore_counters(&mut self.stats, c);
        }
        if let Some(Value::Array(maxima)) = d.get("partitionMaxSeen") {
            let maxima: Vec<EventTime> = maxima.iter().filter_map(Value::as_exact_i64).collect();
            self.partitions.restore(&maxima, (self.config.clock)());
        }
        self.source.seek(d.get("source").unwrap_or(&Value::Null))?;
        Ok(())
    }
}
