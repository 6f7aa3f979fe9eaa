//! Shared vocabulary of Sluice: time units, intervals, event time, and the management API's
//! closed vocabularies (processor states, tiers, connection types).
//!
//! Everything else may depend on this crate; it depends on nothing that does I/O.

mod interval;
mod role;
pub mod secrets;
mod time;
mod vocabulary;

pub use interval::{Interval, IntervalError, TimeUnit};
pub use role::Role;
pub use time::{EventTime, Watermark};
pub use vocabulary::{ConnectionType, ProcessorState, Tier};
