//! Event time and watermarks, in milliseconds since the Unix epoch (the resolution of BSON dates).

/// A point in event time: milliseconds since 1970-01-01T00:00:00Z, as a BSON date holds it.
pub type EventTime = i64;

/// The engine's promise that no event with an earlier event time is still to come
/// (except late events, which windows handle by `allowedLateness` and the DLQ).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Watermark(pub EventTime);

impl Watermark {
    /// The watermark before any event was seen: everything is still to come.
    pub const MIN: Watermark = Watermark(i64::MIN);
    /// The watermark of a finished, bounded input: every window may close.
    pub const MAX: Watermark = Watermark(i64::MAX);
}
