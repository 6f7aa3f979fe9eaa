//! The hand-written baseline for `sluice bench`: serde_json into typed structs, then the same
//! filter, computed field and 10 s tumbling window by device, with no generic documents.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;
use serde::Deserialize;
use sluice_connectors::line_split::line_ranges;
use sluice_mql::parse_iso_datetime;

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

const WINDOW_MS: i64 = 10_000;

/// The baseline's state: open windows by start, groups by device, and what it emitted.
pub struct Baseline {
    windows: BTreeMap<i64, FxHashMap<String, Agg>>,
    watermark: i64,
    /// Window results emitted.
    pub outputs: u64,
    checksum: f64,
    /// The current chunk's lines (kept to reuse the allocation).
    lines: Vec<(usize, usize)>,
}

impl Baseline {
    /// A baseline with no window open.
    pub fn new() -> Baseline {
        Baseline { windows: BTreeMap::new(), watermark: i64::MIN, outputs: 0, checksum: 0.0, lines: Vec::new() }
    }

    /// Processes a chunk of JSON lines. (Never inlined, so that a profiler can single it out.)
    #[inline(never)]
    pub fn feed(&mut self, chunk: &str) {
        let mut lines = std::mem::take(&mut self.lines);
        lines.clear();
        line_ranges(chunk.as_bytes(), &mut lines);
        for &(start, end) in &lines {
            let Ok(ev) = serde_json::from_str::<SolarEvent>(&chunk[start..end]) else { continue };
            let Some(t) = parse_iso_datetime(ev.timestamp) else { continue };
            // Close windows the watermark passed before this event, as the engine does.
            while let Some((&start, _)) = self.windows.first_key_value() {
                if start + WINDOW_MS > self.watermark {
                    break;
                }
                if let Some(w) = self.windows.remove(&start) {
                    for agg in w.values() {
                        self.outputs += 1;
                        self.checksum += agg.sum_ratio / agg.count as f64 + agg.max_watts as f64;
                    }
                }
            }
            self.watermark = self.watermark.max(t);
            if ev.obs.watts <= 50 {
                continue;
            }
            let ratio = ev.obs.watts as f64 / ev.max_watts as f64;
            let start = t - t.rem_euclid(WINDOW_MS);
            let w = self.windows.entry(start).or_default();
            let agg = match w.get_mut(ev.device_id) {
                Some(a) => a,
                None => w.entry(ev.device_id.to_string()).or_default(),
            };
            agg.sum_ratio += ratio;
            agg.max_watts = agg.max_watts.max(ev.obs.watts);
            agg.count += 1;
        }
        self.lines = lines;
    }

    /// The end of the input: every open window is emitted.
    pub fn finish(&mut self) {
        for w in std::mem::take(&mut self.windows).values() {
            for agg in w.values() {
                self.outputs += 1;
                self.checksum += agg.sum_ratio / agg.count as f64;
            }
        }
        std::hint::black_box(self.checksum);
    }
}
