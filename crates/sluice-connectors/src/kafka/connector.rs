//! The Kafka connector of the registry: `$source` (a consumer of its topics) and `$emit`.

use sluice_engine::{Sink, Source};
use sluice_pipeline::{SinkSpec, SourceSpec};
use sluice_types::ConnectionType;

use super::{KafkaConnection, KafkaEmitOptions, KafkaSink, KafkaSource, KafkaSourceOptions};
use crate::registry::{cannot_play, ConnectionRef, Connector, Role, Use};

/// Kafka connections.
pub struct KafkaConnector;

impl Connector for KafkaConnector {
    fn connection_type(&self) -> ConnectionType {
        ConnectionType::Kafka
    }

    fn plays(&self, role: Role) -> bool {
        matches!(role, Role::Source | Role::Emit)
    }

    fn check(&self, u: &Use<'_>) -> Result<(), String> {
        match u {
            Use::Source(spec) => KafkaSourceOptions::parse(&spec.options).map(|_| ()),
            Use::Sink(SinkSpec::Emit { options, .. }) => KafkaEmitOptions::parse(options).map(|_| ()),
            _ => Ok(()),
        }
    }

    fn probe(&self, c: &ConnectionRef<'_>) -> Result<(), String> {
        KafkaConnection::from_settings(c.name, c.config)?.probe()
    }

    fn open_source(
        &self,
        c: &ConnectionRef<'_>,
        spec: &SourceSpec,
        processor_id: &str,
    ) -> Result<Box<dyn Source>, String> {
        let opts = KafkaSourceOptions::parse(&spec.options)?;
        // Atlas's default consumer group of a processor.
        let group = format!("asp-{}-consumer", processor_id);
        Ok(Box::new(KafkaSource::open(&KafkaConnection::from_settings(c.name, c.config)?, &opts, &group)?))
    }

    fn open_sink(&self, c: &ConnectionRef<'_>, u: &Use<'_>, processor_id: &str) -> Result<Box<dyn Sink>, String> {
        match u {
            Use::Sink(SinkSpec::Emit { options, .. }) => Ok(Box::new(KafkaSink::open(
                &KafkaConnection::from_settings(c.name, c.config)?,
                KafkaEmitOptions::parse(options)?,
                processor_id,
            )?)),
            other => Err(cannot_play(c, other.role())),
        }
    }
}
