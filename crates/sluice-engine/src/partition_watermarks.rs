//! Event time of a partitioned source: each partition keeps its own maximum, and the source's
//! watermark is the minimum over the partitions that are not idle (Atlas `partitionIdleTimeout`:
//! an idle partition is left out of the watermark so it cannot hold windows open for ever).

use sluice_types::EventTime;

#[derive(Debug, Clone, Copy)]
struct Partition {
    /// The largest event time read from it, `i64::MIN` before its first event.
    max_seen: EventTime,
    /// When it last delivered an event (or when it was first known), by the processor's clock.
    last_active_ms: i64,
}

/// Per-partition event time and their merged watermark.
#[derive(Debug, Clone, Default)]
pub struct PartitionWatermarks {
    parts: Vec<Partition>,
    idle_timeout_ms: Option<i64>,
    merged: EventTime,
}

impl PartitionWatermarks {
    /// A tracker whose partitions count as idle after `idle_timeout_ms` without events
    /// (never, without a timeout).
    pub fn new(idle_timeout_ms: Option<i64>) -> PartitionWatermarks {
        PartitionWatermarks { parts: Vec::new(), idle_timeout_ms, merged: i64::MIN }
    }

    /// Whether the source has partitions at all (an unpartitioned source uses one clock).
    pub fn is_partitioned(&self) -> bool {
        !self.parts.is_empty()
    }

    /// The source now reads `count` partitions; new ones start with no events, so they hold
    /// the watermark back until they deliver or go idle.
    pub fn set_partitions(&mut self, count: u32, now_ms: i64) {
        let count = count as usize;
        if count > self.parts.len() {
            self.parts.resize(count, Partition { max_seen: i64::MIN, last_active_ms: now_ms });
            self.merged = self.compute(now_ms);
        }
    }

    /// An event with `time` was read from `partition`.
    pub fn observe(&mut self, partition: u32, time: EventTime, now_ms: i64) {
        let p = partition as usize;
        if p >= self.parts.len() {
            self.set_partitions(partition + 1, now_ms);
        }
        let part = &mut self.parts[p];
        part.last_active_ms = now_ms;
        if time > part.max_seen {
            let was = part.max_seen;
            part.max_seen = time;
            // Only a partition at the minimum can move the minimum.
            if was <= self.merged {
                self.merged = self.compute(now_ms);
            }
        }
    }

    /// Re-evaluates idleness at `now_ms` (once per batch) and returns the merged watermark.
    pub fn refresh(&mut self, now_ms: i64) -> EventTime {
        self.merged = self.compute(now_ms);
        self.merged
    }

    /// The merged watermark as last computed.
    pub fn watermark(&self) -> EventTime {
        self.merged
    }

    /// Each partition's maximum event time, for checkpoints.
    pub fn maxima(&self) -> Vec<EventTime> {
        self.parts.iter().map(|p| p.max_seen).collect()
    }

    /// Restores maxima written by [`PartitionWatermarks::maxima`]; their idle clocks start now.
    pub fn restore(&mut self, maxima: &[EventTime], now_ms: i64) {
        self.parts = maxima.iter().map(|&max_seen| Partition { max_seen, last_active_ms: now_ms }).collect();
        self.merged = self.compute(now_ms);
    }

    /// Whether each partition is idle at `now_ms` (left out of the watermark).
    pub fn idle(&self, now_ms: i64) -> Vec<bool> {
        self.parts.iter().map(|p| self.idle_timeout_ms.is_some_and(|t| now_ms - p.last_active_ms >= t)).collect()
    }

    /// Restarts every idle clock (after a pause, the paused time is not idleness).
    pub fn touch_all(&mut self, now_ms: i64) {
        for p in &mut self.parts {
            p.last_active_ms = now_ms;
        }
    }

    fn compute(&self, now_ms: i64) -> EventTime {
        let idle = |p: &Partition| self.idle_timeout_ms.is_some_and(|t| now_ms - p.last_active_ms >= t);
        let active = self.parts.iter().filter(|p| !idle(p)).map(|p| p.max_seen).min();
        match active {
            Some(w) => w,
            // Every partition is idle: nothing holds event time back but what was read.
            None => self.parts.iter().map(|p| p.max_seen).max().unwrap_or(i64::MIN),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_watermark_is_the_slowest_partition() {
        let mut w = PartitionWatermarks::new(None);
        w.set_partitions(2, 0);
        w.observe(0, 100, 0);
        assert_eq!(w.watermark(), i64::MIN, "partition 1 has delivered nothing yet");
        w.observe(1, 50, 0);
        assert_eq!(w.watermark(), 50);
        w.observe(1, 300, 0);
        assert_eq!(w.watermark(), 100);
        w.observe(0, 200, 0);
        assert_eq!(w.watermark(), 200);
        // Event time never goes back.
        w.observe(0, 10, 0);
        assert_eq!(w.watermark(), 200);
    }

    #[test]
    fn an_idle_partition_stops_holding_the_watermark() {
        let mut w = PartitionWatermarks::new(Some(1_000));
        w.set_partitions(2, 0);
        w.observe(0, 100, 500);
        assert_eq!(w.refresh(900), i64::MIN);
        // Partition 1 has been silent since it was known at 0.
        assert_eq!(w.refresh(1_000), 100);
        // It delivers again: it counts again.
        w.observe(1, 40, 1_100);
        assert_eq!(w.refresh(1_100), 40);
        // Both idle: the largest event time read stands.
        assert_eq!(w.refresh(5_000), 100);
    }

    #[test]
    fn without_a_timeout_a_silent_partition_holds_back() {
        let mut w = PartitionWatermarks::new(None);
        w.set_partitions(2, 0);
        w.observe(0, 100, 0);
        assert_eq!(w.refresh(1_000_000), i64::MIN);
    }

    #[test]
    fn restore_keeps_each_partition() {
        let mut w = PartitionWatermarks::new(None);
        w.observe(0, 7, 0);
        w.observe(2, 9, 0);
        let saved = w.maxima();
        assert_eq!(saved, vec![7, i64::MIN, 9]);
        let mut r = PartitionWatermarks::new(None);
        r.restore(&saved, 0);
        assert_eq!(r.watermark(), i64::MIN);
        r.observe(1, 8, 0);
        assert_eq!(r.watermark(), 7);
    }
}
