//! How every window operator consumes a batch. Keeping this in one place keeps the invariant
//! that makes output independent of batching: an event is added only after its window state has
//! advanced to the watermark the event was read under.

use sluice_pipeline::Stage;
use sluice_types::EventTime;

use super::stateless::apply_stages;
use crate::{Event, OpContext};

/// What a window operator provides; [`EventTimeWindows::process_batch`] drives it.
pub(crate) trait EventTimeWindows {
    /// The stage name, for DLQ records of the inner stages.
    fn stage_name(&self) -> &str;

    /// The window's inner stages before `$group`.
    fn pre_group(&self) -> &[Stage];

    /// Moves the window's watermark to `watermark`, emitting the windows that closes.
    fn advance(&mut self, watermark: EventTime, out: &mut Vec<Event>, ctx: &mut OpContext);

    /// Adds one event (or sends it to the DLQ as late).
    fn add(&mut self, ev: Event, ctx: &mut OpContext);

    /// Processes a batch: the stateless inner stages run over the whole batch first (each event
    /// keeps its watermark), then each event advances the window and is added.
    fn process_batch(&mut self, batch: Vec<Event>, out: &mut Vec<Event>, ctx: &mut OpContext) {
        let staged = apply_stages(self.pre_group(), self.stage_name(), batch, ctx);
        for ev in staged {
            self.advance(ev.watermark, out, ctx);
            self.add(ev, ctx);
        }
    }
}
