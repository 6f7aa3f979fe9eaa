//! The built-in sample solar stream (`sample_stream_solar`): documents shaped like Atlas's sample,
//! `{device_id: "device_8", group_id: 7, timestamp: "2024-08-12T21:41:01.788+00:00", max_watts: 450,
//! event_type: 0, obs: {watts: 252, temp: 17}}`, deterministic under a seed.

use std::sync::Arc;

use sluice_engine::{Clock, Source, SourceError, SourceRecord, SourceStatus};
use sluice_mql::{CivilDateTime, Document, Str, Value};

/// How the sample stream behaves.
#[derive(Clone)]
pub struct SolarConfig {
    /// Seed of the generator: the same seed gives the same stream.
    pub seed: u64,
    /// Events per second, paced by the clock; `None` emits as fast as asked (benchmarks), with
    /// synthetic timestamps 1 ms apart starting at `start_ms`.
    pub rate_per_sec: Option<f64>,
    /// Stop after this many events (`None`: never).
    pub limit: Option<u64>,
    /// Number of devices (`device_0` ..).
    pub devices: u32,
    /// First timestamp of an unpaced stream.
    pub start_ms: i64,
    /// The clock for paced streams.
    pub clock: Clock,
}

impl Default for SolarConfig {
    /// A realistic trickle: 5 events per second from 10 devices.
    fn default() -> SolarConfig {
        SolarConfig {
            seed: 42,
            rate_per_sec: Some(5.0),
            limit: None,
            devices: 10,
            start_ms: 1_723_498_861_788,
            clock: Arc::new(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_millis() as i64)
                    .unwrap_or(0)
            }),
        }
    }
}

/// The sample solar source.
pub struct SolarSource {
    config: SolarConfig,
    state: u64,
    emitted: u64,
    // Pacing: when it began and how many events had been emitted then (a resumed or restored
    // stream paces from where it is instead of catching up on the time it was not running).
    started_at: Option<i64>,
    emitted_at_start: u64,
}

impl SolarSource {
    /// A source with the given configuration.
    pub fn new(config: SolarConfig) -> SolarSource {
        let state = config.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        SolarSource { config, state, emitted: 0, started_at: None, emitted_at_start: 0 }
    }

    fn next_u64(&mut self) -> u64 {
        // xorshift64*: small, fast, deterministic.
        let mut x = self.state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Generates the next document with the given timestamp.
    fn generate(&mut self, ts: i64) -> Document {
        let device = (self.next_u64() % u64::from(self.config.devices.max(1))) as i32;
        let watts = (self.next_u64() % 450) as i32;
        let temp = 5 + (self.next_u64() % 30) as i32;
        let event_type = i32::from(self.next_u64().is_multiple_of(100));
        let c = CivilDateTime::from_millis(ts);
        let stamp = format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}+00:00",
            c.year, c.month, c.day, c.hour, c.minute, c.second, c.millis
        );
        let mut obs = Document::with_capacity(2);
        obs.push_unique(Str::from("watts"), Value::Int32(watts));
        obs.push_unique(Str::from("temp"), Value::Int32(temp));
        let mut d = Document::with_capacity(6);
        d.push_unique(Str::from("device_id"), Value::String(Str::from(format!("device_{}", device))));
        d.push_unique(Str::from("group_id"), Value::Int32(device % 10));
        d.push_unique(Str::from("timestamp"), Value::String(Str::from(stamp)));
        d.push_unique(Str::from("max_watts"), Value::Int32(450));
        d.push_unique(Str::from("event_type"), Value::Int32(event_type));
        d.push_unique(Str::from("obs"), Value::Document(obs));
        d
    }
}

/// Where the sample stream stands: readings emitted and its generator's state, kept in
/// checkpoints as `{emitted, state}` (the state's bits as a signed 64-bit integer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SolarPosition {
    emitted: u64,
    state: u64,
}

impl SolarPosition {
    fn to_value(self) -> Value {
        [
            (Str::from("emitted"), Value::Int64(self.emitted as i64)),
            (Str::from("state"), Value::Int64(self.state as i64)),
        ]
        .into_iter()
        .collect::<Document>()
        .into()
    }

    fn from_value(v: &Value) -> Result<SolarPosition, String> {
        let field = |k: &str| v.as_document().and_then(|d| d.get(k)).and_then(Value::as_exact_i64);
        match (field("emitted"), field("state")) {
            (Some(e), Some(s)) if e >= 0 => Ok(SolarPosition { emitted: e as u64, state: s as u64 }),
            _ => Err(format!("invalid position {:?}: it needs emitted (0 or more) and state", v)),
        }
    }
}

impl Source for SolarSource {
    fn name(&self) -> &str {
        crate::SAMPLE_SOLAR
    }

    fn poll(&mut self, max: usize, out: &mut Vec<SourceRecord>) -> Result<SourceStatus, SourceError> {
        let remaining = self.config.limit.map_or(u64::MAX, |l| l.saturating_sub(self.emitted));
        if remaining == 0 {
            return Ok(SourceStatus::End);
        }
        let (count, paced_now) = match self.config.rate_per_sec {
            None => (remaining.min(max as u64), None),
            Some(rate) => {
                let now = (self.config.clock)();
                let start = *self.started_at.get_or_insert(now);
                let due = self.emitted_at_start + ((now - start) as f64 / 1000.0 * rate) as u64 + 1;
                (due.saturating_sub(self.emitted).min(remaining).min(max as u64), Some(now))
            }
        };
        for _ in 0..count {
            let ts = paced_now.unwrap_or(self.config.start_ms + self.emitted as i64);
            let d = self.generate(ts);
            let size = d.approx_size();
            out.push(SourceRecord::Doc(d, size));
            self.emitted += 1;
        }
        Ok(if count == 0 { SourceStatus::Idle } else { SourceStatus::Ready })
    }

    fn position(&self) -> Value {
        SolarPosition { emitted: self.emitted, state: self.state }.to_value()
    }

    fn on_resume(&mut self) {
        self.started_at = None;
        self.emitted_at_start = self.emitted;
    }

    /// A paced stream keeps time by the run's clock.
    fn attach_clock(&mut self, clock: &Clock) {
        self.config.clock = clock.clone();
    }

    fn seek(&mut self, position: &Value) -> Result<(), SourceError> {
        let p = SolarPosition::from_value(position).map_err(|e| SourceError::internal(crate::SAMPLE_SOLAR, e))?;
        self.emitted = p.emitted;
        self.state = p.state;
        self.on_resume();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unpaced(seed: u64) -> SolarSource {
        SolarSource::new(SolarConfig { seed, rate_per_sec: None, limit: Some(100), ..SolarConfig::default() })
    }

    #[test]
    fn deterministic_under_a_seed_and_shaped_like_atlas() {
        let (mut a, mut b, mut c) = (unpaced(7), unpaced(7), unpaced(8));
        let (mut ra, mut rb, mut rc) = (Vec::new(), Vec::new(), Vec::new());
        assert_eq!(a.poll(1000, &mut ra), Ok(SourceStatus::Ready));
        b.poll(1000, &mut rb).expect("poll");
        c.poll(1000, &mut rc).expect("poll");
        assert_eq!(ra.len(), 100);
        assert_eq!(ra, rb);
        assert_ne!(ra, rc);
        let SourceRecord::Doc(d, _) = &ra[0] else { panic!("a document") };
        for key in ["device_id", "group_id", "timestamp", "max_watts", "event_type", "obs"] {
            assert!(d.contains_key(key), "missing {}", key);
        }
        assert!(d.get_path("obs.watts").and_then(Value::as_exact_i64).is_some_and(|w| (0..450).contains(&w)));
        assert_eq!(a.poll(10, &mut ra), Ok(SourceStatus::End));
    }

    #[test]
    fn seek_resumes_the_same_stream() {
        let mut a = unpaced(3);
        let mut first = Vec::new();
        a.poll(40, &mut first).expect("poll");
        let pos = a.position();
        let mut rest_a = Vec::new();
        a.poll(60, &mut rest_a).expect("poll");
        let mut b = unpaced(3);
        b.seek(&pos).expect("seek");
        let mut rest_b = Vec::new();
        b.poll(60, &mut rest_b).expect("poll");
        assert_eq!(rest_a, rest_b);
    }

    #[test]
    fn a_restored_paced_stream_paces_from_its_position_without_a_burst() {
        use std::sync::atomic::{AtomicI64, Ordering};
        let now = Arc::new(AtomicI64::new(1_000_000));
        let clock_now = now.clone();
        let paced = || {
            let n = clock_now.clone();
            SolarSource::new(SolarConfig {
                rate_per_sec: Some(10.0),
                clock: Arc::new(move || n.load(Ordering::SeqCst)),
                ..SolarConfig::default()
            })
        };
        let mut a = paced();
        let mut out = Vec::new();
        a.poll(1000, &mut out).expect("poll");
        now.fetch_add(2_000, Ordering::SeqCst);
        a.poll(1000, &mut out).expect("poll");
        assert_eq!(out.len(), 21, "10 per second for 2 s, plus the first");
        let pos = a.position();
        // Restored an hour later: it goes on at 10 per second, not 36,000 at once.
        now.fetch_add(3_600_000, Ordering::SeqCst);
        let mut b = paced();
        b.seek(&pos).expect("seek");
        let mut more = Vec::new();
        b.poll(1000, &mut more).expect("poll");
        assert_eq!(more.len(), 1);
        now.fetch_add(1_000, Ordering::SeqCst);
        b.poll(1000, &mut more).expect("poll");
        assert_eq!(more.len(), 11);
    }
}
