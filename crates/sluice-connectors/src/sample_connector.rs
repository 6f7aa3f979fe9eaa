//! The sample connector of the registry: the built-in solar stream as a `$source`.

use sluice_engine::Source;
use sluice_types::ConnectionType;

use crate::registry::{ConnectionRef, Connector, Role, StageOptions, Use};
use crate::{SolarConfig, SolarSource};

/// `Sample` connections (`sample_stream_solar`).
pub struct SampleConnector;

impl Connector for SampleConnector {
    fn connection_type(&self) -> ConnectionType {
        ConnectionType::Sample
    }

    fn plays(&self, role: Role) -> bool {
        role == Role::Source
    }

    fn check(&self, u: &Use<'_>) -> Result<StageOptions, String> {
        Ok(StageOptions::new(u.role(), ()))
    }

    /// The sample stream paces itself: a few readings per second, as Atlas's does.
    fn open_source(&self, _: &ConnectionRef<'_>, _: StageOptions, _: &str) -> Result<Box<dyn Source>, String> {
        Ok(Box::new(SolarSource::new(SolarConfig::default())))
    }
}
