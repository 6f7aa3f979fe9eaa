//! Operators: one per stage kind.

mod enrich;
mod group;
mod project;
mod session_window;
mod stateless;
mod time_window;
mod window_protocol;

pub(crate) use enrich::EnrichOp;
pub(crate) use session_window::SessionWindowOp;
pub(crate) use stateless::StatelessOp;
pub(crate) use time_window::TimeWindowOp;
