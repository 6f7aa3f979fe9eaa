//! Shared vocabulary of Sluice: time units, intervals and event time.
//!
//! Everything else may depend on this crate; it depends on nothing that does I/O.

mod interval;
mod time;

pub use interval::{Interval, IntervalError, TimeUnit};
pub use time::{EventTime, Watermark};
