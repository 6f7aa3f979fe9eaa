//! Runs source → operators → sink, one batch at a time, with event time and watermarks.

use std::sync::Arc;

use sluice_mql::expr::{Expr, Input, Scope};
use sluice_mql::{Document, Str, Value};
use sluice_pipeline::{Boundary, Plan, SinkSpec, Stage};
use sluice_types::EventTime;

use crate::error_domain::ErrorDomain;
use crate::health::Health;
use crate::latency::LatencyWindow;
use crate::partition_watermarks::PartitionWatermarks;
use crate::stats::ExecutorStats;
use crate::{
    build_operators_with, BuildError, DlqRecord, Enricher, Event, OpContext, Operator, OperatorStats, ResetTo, Sink,
    SinkError, Source, SourceError, SourceRecord, SourceStatus,
};

mod state;

/// A clock in milliseconds since the epoch; injectable so tests control time.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// Settings of one executor.
#[derive(Clone)]
pub struct ExecutorConfig {
    /// The processor name written into DLQ records.
    pub processor_name: String,
    /// How many records to read per batch.
    pub batch_size: usize,
    /// The clock for ingestion time, `$$NOW`, idle timeouts and `dlqTime`.
    pub clock: Clock,
    /// The most state, in bytes, one stateful operator may hold; past it the run fails.
    pub max_state_bytes: Option<u64>,
    /// Where that limit comes from, for the failure's message (`the option maxStateBytes`).
    pub state_limit_source: String,
    /// The run's health board, given to every connector: how long they retry an unreachable
    /// system, and where they report it.
    pub health: Health,
}

impl ExecutorConfig {
    /// Defaults: batches of 1024, the system clock.
    pub fn new(processor_name: &str) -> ExecutorConfig {
        ExecutorConfig {
            processor_name: processor_name.to_string(),
            batch_size: 1024,
            clock: Arc::new(system_now),
            max_state_bytes: None,
            state_limit_source: String::new(),
            health: Health::default(),
        }
    }
}

/// The system's clock, the one a run keeps time by unless a test gives another.
pub fn system_clock() -> Clock {
    Arc::new(system_now)
}

fn system_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// What one step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepOutcome {
    /// A batch was processed.
    Progress,
    /// The source had nothing; call again later.
    Idle,
    /// The source ended and everything was flushed.
    Finished,
}

/// Why a run stopped with an error.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EngineError {
    /// The plan could not be built.
    #[error(transparent)]
    Build(#[from] BuildError),
    /// The source failed.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// A sink failed.
    #[error(transparent)]
    Sink(#[from] SinkError),
    /// A checkpoint could not be restored.
    #[error("cannot restore checkpoint: {0}")]
    Restore(String),
    /// The output a checkpoint records as written was never committed (a transactional sink):
    /// an earlier checkpoint must be restored instead. Nothing was restored.
    #[error("the output of this checkpoint was not committed: {0}")]
    OutputNotCommitted(String),
    /// A stage stopped the processor (`onError: fail`).
    #[error("{0}")]
    Operator(String),
}

impl EngineError {
    /// Whose failure it is: a plan that does not build and a stage's `onError: "fail"` are the
    /// user's; a connector says for its own; a checkpoint that cannot be restored is Sluice's.
    pub fn domain(&self) -> ErrorDomain {
        match self {
            EngineError::Build(_) | EngineError::Operator(_) => ErrorDomain::User,
            EngineError::Source(e) => e.domain,
            EngineError::Sink(e) => e.domain,
            EngineError::Restore(_) | EngineError::OutputNotCommitted(_) => ErrorDomain::Internal,
        }
    }
}

/// Runs one pipeline.
pub struct Executor {
    config: ExecutorConfig,
    source: Box<dyn Source>,
    ops: Vec<Box<dyn Operator>>,
    op_stats: Vec<OperatorStats>,
    sink: Box<dyn Sink>,
    dlq: Box<dyn Sink>,
    time_field: Option<Expr>,
    ts_field: Str,
    processing_time: bool,
    idle_timeout_ms: Option<i64>,
    max_seen: EventTime,
    partitions: PartitionWatermarks,
    sink_stage: &'static str,
    last_input_at: Option<i64>,
    stats: ExecutorStats,
    records: Vec<SourceRecord>,
    latency: LatencyWindow,
    /// When the batch being processed was read.
    batch_read_at: std::time::Instant,
    ctx: OpContext,
}

impl Executor {
    /// Builds an executor for a plan with its connectors already resolved.
    pub fn new(
        plan: &Plan,
        source: Box<dyn Source>,
        sink: Box<dyn Sink>,
        dlq: Box<dyn Sink>,
        config: ExecutorConfig,
    ) -> Result<Executor, EngineError> {
        Executor::with_enrichers(plan, source, sink, dlq, Vec::new(), config)
    }

    /// Like [`Executor::new`], with the connector of each enrichment stage (`$https`), in
    /// pipeline order.
    pub fn with_enrichers(
        plan: &Plan,
        source: Box<dyn Source>,
        sink: Box<dyn Sink>,
        dlq: Box<dyn Sink>,
        mut enrichers: Vec<Box<dyn Enricher>>,
        config: ExecutorConfig,
    ) -> Result<Executor, EngineError> {
        let (mut source, mut sink, mut dlq) = (source, sink, dlq);
        source.attach_health(&config.health);
        source.attach_clock(&config.clock);
        sink.attach_health(&config.health);
        dlq.attach_health(&config.health);
        for e in &mut enrichers {
            e.attach_health(&config.health);
        }
        let ops = build_operators_with(plan, enrichers)?;
        let op_stats = ops.iter().map(|o| OperatorStats { name: o.name().to_string(), ..Default::default() }).collect();
        let window = plan.stages.iter().find_map(|s| match s {
            Stage::Window(w) => Some(w),
            _ => None,
        });
        Ok(Executor {
            source,
            ops,
            op_stats,
            sink,
            dlq,
            time_field: plan.source.time_field.clone(),
            ts_field: plan.source.ts_field_name.clone(),
            processing_time: window.is_some_and(|w| w.boundary == Boundary::ProcessingTime),
            idle_timeout_ms: window.and_then(|w| w.idle_timeout_ms),
            max_seen: i64::MIN,
            partitions: PartitionWatermarks::new(plan.source.partition_idle_timeout_ms),
            sink_stage: match plan.sink {
                Some(SinkSpec::Merge { .. }) => "$merge",
                _ => "$emit",
            },
            last_input_at: None,
            stats: ExecutorStats::default(),
            records: Vec::with_capacity(config.batch_size),
            latency: LatencyWindow::default(),
            batch_read_at: std::time::Instant::now(),
            ctx: OpContext {
                state_budget_bytes: config.max_state_bytes,
                state_budget_source: config.state_limit_source.clone(),
                ..OpContext::default()
            },
            config,
        })
    }

    /// Documents written to the sink so far (cheap, unlike [`Executor::stats`]).
    pub fn output_messages(&self) -> u64 {
        self.stats.output_messages
    }

    /// The counters so far without operator state sizes (left at zero): computing those walks
    /// every key of every open window, too much to do several times a second.
    pub fn counters(&self) -> ExecutorStats {
        let mut s = self.stats.clone();
        let watermark = self.source_watermark();
        s.watermark = (watermark != i64::MIN).then_some(watermark);
        s.operators = self
            .op_stats
            .iter()
            .zip(&self.ops)
            .map(|(st, op)| OperatorStats { watermark: op.watermark().filter(|w| *w != i64::MIN), ..st.clone() })
            .collect();
        s.partitions = self.source.partition_offsets();
        s.latency = self.latency.figures();
        let idle = self.partitions.idle((self.config.clock)());
        for (p, idle) in s.partitions.iter_mut().zip(idle) {
            p.idle = idle;
        }
        s
    }

    /// The counters so far, with each operator's state size.
    pub fn stats(&self) -> ExecutorStats {
        let mut s = self.counters();
        for (st, op) in s.operators.iter_mut().zip(&self.ops) {
            st.state_size_bytes = op.state_size() as u64;
        }
        s
    }

    /// Reads and processes one batch.
    pub fn step(&mut self) -> Result<StepOutcome, EngineError> {
        let now = (self.config.clock)();
        self.ctx.scope = Scope::new(now);
        // The record buffer is taken and given back, so its capacity is reused across batches.
        let mut records = std::mem::take(&mut self.records);
        records.clear();
        let read_started = std::time::Instant::now();
        let status = self.source.poll(self.config.batch_size, &mut records)?;
        self.stats.source_read_nanos += read_started.elapsed().as_nanos() as u64;
        self.batch_read_at = std::time::Instant::now();
        let partitions = self.source.partitions();
        if partitions > 0 {
            self.partitions.set_partitions(partitions, now);
            self.partitions.refresh(now);
        }
        let had_input = !records.is_empty();
        let mut events = Vec::with_capacity(records.len());
        for rec in records.drain(..) {
            self.stats.input_messages += 1;
            match rec {
                SourceRecord::Doc(doc, bytes) => {
                    self.stats.input_bytes += bytes as u64;
                    self.admit(doc, now, None, None, &mut events);
                }
                SourceRecord::FromPartition { doc, bytes, partition, meta, time } => {
                    self.stats.input_bytes += bytes as u64;
                    self.admit(doc, now, time, Some((partition, meta)), &mut events);
                }
                SourceRecord::Malformed { raw, error, meta } => {
                    self.stats.input_bytes += raw.len() as u64;
                    self.ctx.dlq.push(DlqRecord {
                        operator_name: "$source".into(),
                        reason: error,
                        doc: None,
                        raw: Some(raw),
                        meta: meta.map(|m| *m),
                    });
                }
            }
        }
        self.records = records;
        if had_input {
            self.last_input_at = Some(now);
        }
        let mut watermark = self.source_watermark();
        if status == SourceStatus::End {
            watermark = i64::MAX;
        } else if !had_input {
            // Atlas idleTimeout: while the source is quiet, event time advances with the clock so
            // open windows can close.
            if let (Some(timeout), Some(since)) = (self.idle_timeout_ms, self.last_input_at) {
                let idle = now - since;
                if idle >= timeout && self.max_seen != i64::MIN {
                    watermark = self.max_seen.saturating_add(idle);
                }
            }
        }
        self.run_ops(events, watermark)?;
        Ok(match status {
            SourceStatus::End => {
                self.flush_sink()?;
                self.dlq.flush()?;
                StepOutcome::Finished
            }
            _ if had_input => StepOutcome::Progress,
            _ => StepOutcome::Idle,
        })
    }

    /// The source's watermark: the largest event time read, or for a partitioned source the
    /// minimum over its partitions.
    fn source_watermark(&self) -> EventTime {
        if self.partitions.is_partitioned() {
            self.partitions.watermark()
        } else {
            self.max_seen
        }
    }

    /// Assigns event time and the watermark before the event and appends it to `out`, or sends
    /// it to the DLQ. Without a `timeField`, event time is the source's time for the record, else
    /// ingestion time.
    ///
    /// The event is pushed here rather than returned: a returned event is written in 8-byte pieces
    /// and copied on at once with 16-byte loads, which wait for those stores (perf: most of
    /// `step`'s own samples).
    fn admit(
        &mut self,
        mut doc: Document,
        now: i64,
        source_time: Option<i64>,
        origin: Option<(u32, Box<Document>)>,
        out: &mut Vec<Event>,
    ) {
        let time = if self.processing_time {
            now
        } else {
            match &self.time_field {
                None => source_time.unwrap_or(now),
                Some(e) => match e.eval_date(&Input::doc(&doc), &mut self.ctx.scope) {
                    Ok(v) => match v {
                        Ok(ms) => ms,
                        Err(other) => {
                            let reason = format!("timeField must evaluate to a date, found {}", other.alias());
                            self.ctx.dlq.push(DlqRecord {
                                operator_name: "$source".into(),
                                reason,
                                doc: Some(doc),
                                raw: None,
                                meta: origin.map(|(_, m)| *m),
                            });
                            return;
                        }
                    },
                    Err(e) => {
                        self.ctx.dlq.push(DlqRecord {
                            operator_name: "$source".into(),
                            reason: e.to_string(),
                            doc: Some(doc),
                            raw: None,
                            meta: origin.map(|(_, m)| *m),
                        });
                        return;
                    }
                },
            }
        };
        doc.insert(self.ts_field.clone(), Value::DateTime(time));
        let watermark = self.source_watermark();
        self.max_seen = self.max_seen.max(time);
        let meta = origin.map(|(partition, meta)| {
            self.partitions.observe(partition, time, now);
            meta
        });
        Event::push_to(out, doc, time, watermark, meta);
    }

    fn run_ops(&mut self, events: Vec<Event>, watermark: EventTime) -> Result<(), EngineError> {
        let mut batch = events;
        for (op, st) in self.ops.iter_mut().zip(self.op_stats.iter_mut()) {
            let dlq_before = self.ctx.dlq.len();
            st.input_messages += batch.len() as u64;
            let mut out = Vec::with_capacity(batch.len());
            op.process(batch, &mut out, &mut self.ctx);
            if let Some(reason) = self.ctx.failure.take() {
                // Nothing of this batch is written; the last checkpoint precedes it.
                return Err(EngineError::Operator(reason));
            }
            if watermark != i64::MIN {
                op.on_watermark(watermark, &mut out, &mut self.ctx);
            }
            st.output_messages += out.len() as u64;
            st.dlq_messages += (self.ctx.dlq.len() - dlq_before) as u64;
            batch = out;
        }
        if !batch.is_empty() {
            let docs: Vec<Document> = batch.into_iter().map(output_document).collect();
            self.stats.output_messages += docs.len() as u64;
            self.stats.output_bytes += docs.iter().map(|d| d.approx_size() as u64).sum::<u64>();
            let write_started = std::time::Instant::now();
            let written = self.sink.write(&docs);
            self.stats.sink_write_nanos += write_started.elapsed().as_nanos() as u64;
            written?;
            self.latency.record((self.config.clock)(), self.batch_read_at.elapsed().as_micros() as u64);
            let rejected = self.sink.take_rejected();
            if !rejected.is_empty() {
                self.stats.output_messages -= rejected.len() as u64;
                self.stats.output_bytes -= rejected.iter().map(|r| r.doc.approx_size() as u64).sum::<u64>();
                let operator_name = self.sink_stage.to_string();
                self.ctx.dlq.extend(rejected.into_iter().map(|r| DlqRecord {
                    operator_name: operator_name.clone(),
                    reason: r.reason,
                    doc: Some(r.doc),
                    raw: None,
                    meta: None,
                }));
            }
        }
        if !self.ctx.dlq.is_empty() {
            let now = (self.config.clock)();
            let docs: Vec<Document> =
                self.ctx.dlq.drain(..).map(|r| r.to_document(&self.config.processor_name, now)).collect();
            self.stats.dlq_messages += docs.len() as u64;
            self.stats.dlq_bytes += docs.iter().map(|d| d.approx_size() as u64).sum::<u64>();
            self.dlq.write(&docs)?;
        }
        Ok(())
    }

    /// Runs until the source ends or `keep_going` returns false; idles by calling `on_idle`.
    pub fn run(
        &mut self,
        mut keep_going: impl FnMut(&ExecutorStats) -> bool,
        mut on_idle: impl FnMut(),
    ) -> Result<ExecutorStats, EngineError> {
        loop {
            match self.step()? {
                StepOutcome::Finished => return Ok(self.stats()),
                StepOutcome::Idle => on_idle(),
                StepOutcome::Progress => {}
            }
            if !keep_going(&self.stats) {
                self.flush_sink()?;
                self.dlq.flush()?;
                return Ok(self.stats());
            }
        }
    }

    /// Makes everything written so far durable, then returns the whole pipeline's state: the
    /// state a checkpoint keeps. Called between batches, so source position, operator state and
    /// sink output agree (the executor is the only thread that touches them).
    pub fn checkpoint(&mut self) -> Result<Value, EngineError> {
        self.flush_for_checkpoint()?;
        Ok(self.snapshot())
    }

    /// Flushes the sink and the DLQ: what a checkpoint taken now records as read is written.
    pub fn flush_for_checkpoint(&mut self) -> Result<(), EngineError> {
        self.flush_sink()?;
        self.dlq.flush()?;
        Ok(())
    }

    /// The source's position now: what a checkpoint taken now records.
    pub fn source_position(&self) -> Value {
        self.source.position()
    }

    /// Flushes the sink, counting the time as sink time.
    fn flush_sink(&mut self) -> Result<(), EngineError> {
        let started = std::time::Instant::now();
        let flushed = self.sink.flush();
        self.stats.sink_write_nanos += started.elapsed().as_nanos() as u64;
        Ok(flushed?)
    }

    /// `:resetOffsets`: moves the (restored) source to where `to` says; the next checkpoint
    /// keeps it there.
    pub fn reset_source(&mut self, to: &ResetTo) -> Result<(), EngineError> {
        let position = self.source.reset_position(to)?;
        Ok(self.source.seek(&position)?)
    }

    /// Replaces the operator of stage `index` (among the stages between source and sink) with
    /// `op`, a fresh one of the same stage: its state is dropped.
    pub fn replace_operator(&mut self, index: usize, op: Box<dyn Operator>) -> Result<(), EngineError> {
        match self.ops.get(index) {
            Some(old) if old.name() == op.name() && old.stateful() => {
                self.ops[index] = op;
                Ok(())
            }
            _ => Err(EngineError::Restore(format!("stage {} holds no state of a {}", index, op.name()))),
        }
    }

    /// `:startWith {startAtOperationTime}`: the source starts reading at this time (ms since the
    /// epoch) instead of its restored position. Call after [`Executor::restore`].
    pub fn start_source_at(&mut self, time_ms: i64) -> Result<(), EngineError> {
        Ok(self.source.start_at(time_ms)?)
    }

    /// The processor resumes after a pause: the paused time does not count as source idleness
    /// (a paused processor must not close windows by idle timeout), and a paced source starts
    /// pacing anew.
    pub fn resume_after_pause(&mut self) {
        let now = (self.config.clock)();
        if self.last_input_at.is_some() {
            self.last_input_at = Some(now);
        }
        self.partitions.touch_all(now);
        self.source.on_resume();
    }

    /// The checkpoint holding `state` (from [`Executor::checkpoint`]) is durable: the source may
    /// commit its position upstream and transactional sinks commit their output.
    pub fn checkpoint_saved(&mut self, state: &Value) -> Result<(), EngineError> {
        let position = state.as_document().and_then(|d| d.get("source")).unwrap_or(&Value::Null);
        self.position_saved(position)
    }

    /// A checkpoint recording the source at `position` is durable: the source may commit it
    /// upstream, sinks and the DLQ what they hold.
    pub fn position_saved(&mut self, position: &Value) -> Result<(), EngineError> {
        self.source.on_checkpoint_saved(position);
        self.sink.on_checkpoint_saved()?;
        self.dlq.on_checkpoint_saved()?;
        Ok(())
    }
}

/// The document a sink receives: the event's document with `_stream_meta` when it has metadata.
fn output_document(ev: Event) -> Document {
    let mut doc = ev.doc;
    if let Some(meta) = ev.meta {
        doc.insert("_stream_meta", Value::Document(*meta));
    }
    doc
}
