//! A slow sink slows the source: the engine reads a batch only after the last one was written,
//! so an endless source is read at the sink's pace, and the stats show where the time went.

use std::time::{Duration, Instant};

use sluice_engine::{Executor, ExecutorConfig, Sink, SinkError, Source, SourceError, SourceRecord, SourceStatus};
use sluice_mql::{Document, Str, Value};
use sluice_pipeline::parse_pipeline_json;

/// Always has more: `{n}` for n = 0, 1, 2, ...
struct Endless(i64);

impl Source for Endless {
    fn name(&self) -> &str {
        "endless"
    }
    fn poll(&mut self, max: usize, out: &mut Vec<SourceRecord>) -> Result<SourceStatus, SourceError> {
        for _ in 0..max {
            let d: Document = [(Str::from("n"), Value::Int64(self.0))].into_iter().collect();
            self.0 += 1;
            out.push(SourceRecord::Doc(d, 8));
        }
        Ok(SourceStatus::Ready)
    }
    fn position(&self) -> Value {
        Value::Int64(self.0)
    }
    fn seek(&mut self, _: &Value) -> Result<(), SourceError> {
        Ok(())
    }
}

/// Takes `delay` per write.
struct Slow {
    delay: Duration,
    written: u64,
}

impl Sink for Slow {
    fn name(&self) -> &str {
        "slow"
    }
    fn write(&mut self, docs: &[Document]) -> Result<(), SinkError> {
        std::thread::sleep(self.delay);
        self.written += docs.len() as u64;
        Ok(())
    }
}

/// Runs for `for_` and returns (documents read, share of the time spent in the sink).
fn run(delay: Duration, for_: Duration) -> (u64, f64) {
    let plan = parse_pipeline_json(r#"[{"$source": {"documents": []}}, {"$match": {"n": {"$gte": 0}}}]"#).unwrap();
    let mut config = ExecutorConfig::new("backpressure");
    config.batch_size = 100;
    let sink = Slow { delay, written: 0 };
    let mut exec = Executor::new(
        &plan,
        Box::new(Endless(0)),
        Box::new(sink),
        Box::new(Slow { delay: Duration::ZERO, written: 0 }),
        config,
    )
    .unwrap();
    let started = Instant::now();
    while started.elapsed() < for_ {
        exec.step().unwrap();
    }
    let s = exec.counters();
    (s.input_messages, s.sink_write_nanos as f64 / started.elapsed().as_nanos() as f64)
}

#[test]
fn the_source_is_read_at_the_pace_of_a_slow_sink_and_the_stats_say_so() {
    let (read, sink_share) = run(Duration::from_millis(20), Duration::from_millis(400));
    // 400 ms at 20 ms per batch of 100: about 20 batches, never more than the sink allowed.
    assert!(read <= 21 * 100, "read {} while the sink took 20 ms per batch", read);
    assert!(read >= 100, "read {}", read);
    assert!(sink_share > 0.8, "the sink's share of the time: {}", sink_share);

    let (fast_read, fast_share) = run(Duration::ZERO, Duration::from_millis(400));
    assert!(fast_read > 10 * read, "a fast sink lets the source run: {} vs {}", fast_read, read);
    assert!(fast_share < sink_share, "{} vs {}", fast_share, sink_share);
}
