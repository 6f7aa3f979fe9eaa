//! A sink that writes only while its node holds the processor's lease: a node that was paused
//! past its lease and wakes up finds the lease gone at its next write, and writes nothing.

use std::sync::Arc;

use sluice_engine::{Health, Sink, SinkError, SinkReject, SinkResume};
use sluice_mql::{Document, Value};

use super::fence::{Fence, LEASE_LOST};

/// `inner`, fenced by the lease `fence` stands for.
pub(crate) struct FencedSink {
    inner: Box<dyn Sink>,
    fence: Arc<Fence>,
}

impl FencedSink {
    /// Wraps `inner`.
    pub fn wrap(inner: Box<dyn Sink>, fence: Arc<Fence>) -> Box<dyn Sink> {
        Box::new(FencedSink { inner, fence })
    }

    fn check(&self) -> Result<(), SinkError> {
        if self.fence.holds() {
            Ok(())
        } else {
            Err(SinkError::internal(self.inner.name(), LEASE_LOST))
        }
    }
}

impl Sink for FencedSink {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn write(&mut self, docs: &[Document]) -> Result<(), SinkError> {
        self.check()?;
        self.inner.write(docs)
    }

    fn take_rejected(&mut self) -> Vec<SinkReject> {
        self.inner.take_rejected()
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        self.check()?;
        self.inner.flush()
    }

    fn attach_health(&mut self, health: &Health) {
        self.inner.attach_health(health)
    }

    fn on_checkpoint_saved(&mut self) -> Result<(), SinkError> {
        self.check()?;
        self.inner.on_checkpoint_saved()
    }

    fn snapshot(&self) -> Value {
        self.inner.snapshot()
    }

    fn resume_from(&mut self, state: &Value) -> Result<SinkResume, SinkError> {
        self.inner.resume_from(state)
    }
}
