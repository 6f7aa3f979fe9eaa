//! Processing latency: from the moment a batch was read to the moment its output was written,
//! over the last [`KEPT`] batches that wrote output; p50 and p99 in microseconds.

use std::collections::VecDeque;

/// Batches kept for the percentiles.
pub const KEPT: usize = 1024;

/// The latency figures of the stats.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Latency {
    /// Median, microseconds.
    pub p50_us: u64,
    /// 99th percentile, microseconds.
    pub p99_us: u64,
    /// When the first and the last of the batches measured were written (ms since the epoch).
    pub start_ms: i64,
    /// See `start_ms`.
    pub end_ms: i64,
}

/// The last batches' latencies.
#[derive(Debug, Default)]
pub(crate) struct LatencyWindow {
    samples: VecDeque<(i64, u64)>,
}

impl LatencyWindow {
    /// A batch written at `at_ms` took `micros` from read to written.
    pub(crate) fn record(&mut self, at_ms: i64, micros: u64) {
        if self.samples.len() == KEPT {
            self.samples.pop_front();
        }
        self.samples.push_back((at_ms, micros));
    }

    /// The percentiles over the kept batches, once there is one.
    pub(crate) fn figures(&self) -> Option<Latency> {
        let (first, last) = (self.samples.front()?, self.samples.back()?);
        let mut us: Vec<u64> = self.samples.iter().map(|s| s.1).collect();
        us.sort_unstable();
        let at = |p: f64| us[((p * us.len() as f64).ceil() as usize).clamp(1, us.len()) - 1];
        Some(Latency { p50_us: at(0.5), p99_us: at(0.99), start_ms: first.0, end_ms: last.0 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_over_the_last_batches() {
        let mut w = LatencyWindow::default();
        assert_eq!(w.figures(), None);
        for i in 1..=100 {
            w.record(i, i as u64 * 10);
        }
        assert_eq!(w.figures(), Some(Latency { p50_us: 500, p99_us: 990, start_ms: 1, end_ms: 100 }));
        for i in 0..KEPT as i64 {
            w.record(1000 + i, 7);
        }
        let f = w.figures().unwrap();
        assert_eq!((f.p50_us, f.p99_us, f.start_ms), (7, 7, 1000), "only the last {} batches count", KEPT);
    }
}
