//! Generated solar events as JSON lines for the benchmarks, and the sources that decode them.
//! Rendering is timed apart, so that only decoding and processing count as the engine's work.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use sluice_connectors::line_split::line_ranges;
use sluice_connectors::{SolarConfig, SolarSource};
use sluice_engine::{Source, SourceError, SourceRecord, SourceStatus};
use sluice_mql::json::{parse_document_bytes, write_document, JsonMode};
use sluice_mql::Value;

/// Renders solar events as JSON lines, a chunk at a time, so memory does not grow with N.
pub(crate) struct LineGenerator {
    solar: SolarSource,
    remaining: u64,
    pub(crate) buf: String,
    /// Nanoseconds spent rendering, shared with the caller.
    pub(crate) render_nanos: Arc<AtomicU64>,
}

const CHUNK: u64 = 16_384;

impl LineGenerator {
    pub(crate) fn new(events: u64, devices: u32) -> LineGenerator {
        let solar = SolarSource::new(SolarConfig {
            rate_per_sec: None,
            limit: Some(events),
            devices,
            ..SolarConfig::default()
        });
        LineGenerator { solar, remaining: events, buf: String::new(), render_nanos: Arc::new(AtomicU64::new(0)) }
    }

    /// Fills `self.buf` with the next chunk of lines; None when done.
    #[inline(never)]
    pub(crate) fn next_chunk(&mut self) -> Option<&str> {
        if self.remaining == 0 {
            return None;
        }
        let started = Instant::now();
        let n = self.remaining.min(CHUNK);
        let mut recs = Vec::with_capacity(n as usize);
        let _ = self.solar.poll(n as usize, &mut recs);
        self.buf.clear();
        for r in recs {
            if let SourceRecord::Doc(d, _) = r {
                write_document(&mut self.buf, &d, JsonMode::Relaxed);
                self.buf.push('\n');
            }
        }
        self.remaining -= n;
        self.render_nanos.fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
        Some(&self.buf)
    }
}

/// Lines of a chunk, as (start, end) byte ranges without the newline.
#[derive(Default)]
struct Lines {
    text: String,
    ranges: Vec<(usize, usize)>,
    /// True once `ranges` holds the lines of `text`.
    split: bool,
    next: usize,
}

impl Lines {
    /// Takes a new chunk; its lines are found when first read (that is decoding work).
    fn load(&mut self, text: &mut String) {
        std::mem::swap(&mut self.text, text);
        self.ranges.clear();
        self.split = false;
        self.next = 0;
    }

    /// True when every line was read (or there is no chunk).
    fn exhausted(&self) -> bool {
        self.text.is_empty() || (self.split && self.next >= self.ranges.len())
    }

    /// Decodes up to `max` more lines into `out`.
    fn decode(&mut self, max: usize, out: &mut Vec<SourceRecord>) {
        if !self.split {
            self.split = true;
            // As the file source and the baseline: newlines found by the same vectorised search.
            line_ranges(self.text.as_bytes(), &mut self.ranges);
        }
        let end = (self.next + max).min(self.ranges.len());
        for &(s, e) in &self.ranges[self.next..end] {
            let bytes = &self.text.as_bytes()[s..e];
            out.push(match parse_document_bytes(bytes) {
                Ok(d) => SourceRecord::Doc(d, bytes.len()),
                Err(err) => SourceRecord::Malformed { raw: bytes.to_vec(), error: err.to_string(), meta: None },
            });
        }
        self.next = end;
    }
}

/// A source that renders its own events and decodes them (the decoding is part of what is
/// measured); its render time is counted apart.
struct GeneratedSource {
    gen: LineGenerator,
    lines: Lines,
}

impl Source for GeneratedSource {
    fn name(&self) -> &str {
        "bench"
    }

    fn poll(&mut self, max: usize, out: &mut Vec<SourceRecord>) -> Result<SourceStatus, SourceError> {
        if self.lines.exhausted() {
            match self.gen.next_chunk() {
                None => return Ok(SourceStatus::End),
                // Take the rendered chunk without copying it (copying is harness cost, not engine cost).
                Some(_) => self.lines.load(&mut self.gen.buf),
            }
        }
        self.lines.decode(max, out);
        Ok(SourceStatus::Ready)
    }

    fn position(&self) -> Value {
        Value::Null
    }

    fn seek(&mut self, _: &Value) -> Result<(), SourceError> {
        Ok(())
    }
}

/// The generated JSON-lines source over `events` solar events, and its render-time counter.
pub(crate) fn generated_source(events: u64, devices: u32) -> (Box<dyn Source>, Arc<AtomicU64>) {
    let gen = LineGenerator::new(events, devices);
    let render_nanos = gen.render_nanos.clone();
    (Box::new(GeneratedSource { gen, lines: Lines::default() }), render_nanos)
}

/// The chunk the caller hands over, shared with a [`FedSource`].
#[derive(Default)]
struct Feed {
    lines: Lines,
    ended: bool,
}

/// A source fed one chunk at a time by the caller, so that the engine, the decoder alone and the
/// baseline can take turns over the same chunk, under the same machine conditions.
#[derive(Clone, Default)]
pub(crate) struct FedSource(Arc<Mutex<Feed>>);

impl FedSource {
    /// Hands over the next chunk (the string is swapped out, not copied). The previous one must
    /// have been read.
    pub(crate) fn load(&self, text: &mut String) {
        self.feed().lines.load(text);
    }

    /// Gives the last chunk back once read, to reuse its buffer.
    pub(crate) fn take_back(&self, text: &mut String) {
        std::mem::swap(&mut self.feed().lines.text, text);
    }

    /// True when the engine has read the whole chunk.
    pub(crate) fn consumed(&self) -> bool {
        self.feed().lines.exhausted()
    }

    /// No more chunks: the source ends once the last is read.
    pub(crate) fn end(&self) {
        self.feed().ended = true;
    }

    fn feed(&self) -> std::sync::MutexGuard<'_, Feed> {
        // A panic while the lock is held ends the bench anyway; the data is still usable.
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Source for FedSource {
    fn name(&self) -> &str {
        "bench"
    }

    fn poll(&mut self, max: usize, out: &mut Vec<SourceRecord>) -> Result<SourceStatus, SourceError> {
        let mut feed = self.feed();
        if feed.lines.exhausted() {
            return Ok(if feed.ended { SourceStatus::End } else { SourceStatus::Ready });
        }
        feed.lines.decode(max, out);
        Ok(SourceStatus::Ready)
    }

    fn position(&self) -> Value {
        Value::Null
    }

    fn seek(&mut self, _: &Value) -> Result<(), SourceError> {
        Ok(())
    }
}
