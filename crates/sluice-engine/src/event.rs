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

impl Event {
    /// Appends an event to `out`, each field written straight into the vector's next slot.
    ///
    /// `out.push(Event { .. })` builds the event on the stack in 8-byte pieces and copies it on at
    /// once with 16-byte loads, which wait for those stores (perf: half of `step`'s own samples).
    #[allow(unsafe_code)]
    #[inline(always)]
    pub(crate) fn push_to(
        out: &mut Vec<Event>,
        doc: Document,
        time: EventTime,
        watermark: EventTime,
        meta: Option<Box<Document>>,
    ) {
        if out.len() == out.capacity() {
            out.reserve(1);
        }
        let len = out.len();
        // SAFETY: `reserve` left room for one more event at `len`; every field is written before
        // the length grows to cover it.
        unsafe {
            let slot = out.as_mut_ptr().add(len);
            std::ptr::addr_of_mut!((*slot).doc).write(doc);
            std::ptr::addr_of_mut!((*slot).time).write(time);
            std::ptr::addr_of_mut!((*slot).watermark).write(watermark);
            std::ptr::addr_of_mut!((*slot).meta).write(meta);
            out.set_len(len + 1);
        }
    }
}
