//! The unit that flows between operators.

use sluice_mql::Document;
use sluice_types::EventTime;

/// One event: a document, its event time, the source watermark before it, and stream metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The document.
    pub doc: Document,
    /// Event time (or processing time, with `boundary: processingTime`), in ms since the epoch.
    pub time: EventTime,
    /// The source watermark as it stood just before this event was read.
    pub watermark: EventTime,
    /// Stream metadata (`_stream_meta`): source details, window bounds.
    pub meta: Option<Box<Document>>,
}
