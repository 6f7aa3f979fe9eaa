//! The hand-written baseline for `sluice bench`: serde_json into typed structs, then the same
//! filter, computed field and 10 s tumbling window by device, with no generic documents.

use std::time::{Duration, Instant};

use rustc_hash::FxHashMap;
use serde::Deserialize;
use sluice_mql::parse_iso_datetime;

use crate::bench::LineGenerator;

#[derive(Deserialize)]
struct Obs {
    watts: i64,
}

#[derive(Deserialize)]
struct SolarEvent<'a> {
    device_id: &'a str,
    timestamp: &'a str,
    max_watts: i64,
    obs: Obs,
}

#[derive(Default)]
struct Agg {
    sum_ratio: f64,
    max_watts: i64,
    count: u64,
}

/// What the baseline measured.
pub struct BaselineResult {
    /// Time spent decoding and processing (rendering excluded).
    pub elapsed: Duration,
    /// Window results emitted.
    pub outputs: u64,
}

const WINDOW_MS: i64 = 10_000;

/// Runs the baseline over the same generated events.
pub fn run_baseline(events: u64, devices: u32) -> BaselineResult {
    let mut gen = LineGenerator::new(events, devices);
    let mut windows: std::collections::BTreeMap<i64, FxHashMap<String, Agg>> = Default::default();
    let mut outputs = 0u64;
    let mut checksum = 0f64;
    let mut watermark = i64::MIN;
    let mut busy = Duration::ZERO;
    while let Some(chunk) = gen.next_chunk() {
        let started = Instant::now();
        for line in chunk.lines() {
            let Ok(ev) = serde_json::from_str::<SolarEvent>(line) else { continue };
            let Some(t) = parse_iso_datetime(ev.timestamp) else { continue };
            // Close windows the watermark passed before this event, as the engine does.
            while let Some((&start, _)) = windows.first_key_value() {
                if start + WINDOW_MS > watermark {
                    break;
                }
                if let Some(w) = windows.remove(&start) {
                    for agg in w.values() {
                        outputs += 1;
                        checksum += agg.sum_ratio / agg.count as f64 + agg.max_watts as f64;
                    }
                }
            }
            watermark = watermark.max(t);
            if ev.obs.watts <= 50 {
                continue;
            }
            let ratio = ev.obs.watts as f64 / ev.max_watts as f64;
            let start = t - t.rem_euclid(WINDOW_MS);
            let w = windows.entry(start).or_default();
            let agg = match w.get_mut(ev.device_id) {
                Some(a) => a,
                None => w.entry(ev.device_id.to_string()).or_default(),
            };
            agg.sum_ratio += ratio;
            agg.max_watts = agg.max_watts.max(ev.obs.watts);
            agg.count += 1;
        }
        busy += started.elapsed();
    }
    let started = Instant::now();
    for w in windows.values() {
        for agg in w.values() {
            outputs += 1;
            checksum += agg.sum_ratio / agg.count as f64;
        }
    }
    busy += started.elapsed();
    std::hint::black_box(checksum);
    BaselineResult { elapsed: busy, outputs }
}
