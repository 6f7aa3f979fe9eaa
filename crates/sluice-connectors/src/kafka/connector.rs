//! The Kafka connector of the registry: `$source` (a consumer of its topics) and `$emit`.

use std::any::Any;

use sluice_engine::{Sink, Source};
use sluice_pipeline::SinkSpec;
use sluice_types::ConnectionType;

use super::{KafkaConnection, KafkaEmitOptions, KafkaSink, KafkaSource, KafkaSourceOptions};
use crate::registry::{cannot_play, ConnectionRef, Connector, Role, StageOptions, Use};

/// Kafka connections.
pub struct KafkaConnector;

impl Connector for KafkaConnector {
    fn connection_type(&self) -> ConnectionType {
        ConnectionType::Kafka
    }

    fn plays(&self, role: Role) -> bool {
        matches!(role, Role::Source | Role::Emit)
    }

    fn check(&self, u: &Use<'_>) -> Result<StageOptions, String> {
        match u {
            Use::Source(spec) => Ok(StageOptions::new(Role::Source, KafkaSourceOptions::parse(&spec.options)?)),
            Use::Sink(SinkSpec::Emit { options, .. }) => {
                Ok(StageOptions::new(Role::Emit, KafkaEmitOptions::parse(options)?))
            }
            other => Err(format!("a Kafka connection cannot be used as {}", other.role().stage())),
        }
    }

    fn prepare_source(&self, c: &ConnectionRef<'_>, options: &StageOptions) -> Option<Box<dyn Any + Send>> {
        let opts = options.get::<KafkaSourceOptions>()?;
        let conn = KafkaConnection::from_settings(c.name, c.config).ok()?;
        KafkaSource::prepare(&conn, opts).ok().map(|held| Box::new(held) as Box<dyn Any + Send>)
    }

    fn probe(&self, c: &ConnectionRef<'_>) -> Result<(), String> {
        KafkaConnection::from_settings(c.name, c.config)?.probe()
    }

    fn open_source(
        &self,
        c: &ConnectionRef<'_>,
        options: StageOptions,
        processor_id: &str,
    ) -> Result<Box<dyn Source>, String> {
        let opts: KafkaSourceOptions = options.take(c)?;
        // Atlas's default consumer group of a processor.
        let group = format!("asp-{}-consumer", processor_id);
        Ok(Box::new(KafkaSource::open(&KafkaConnection::from_settings(c.name, c.config)?, &opts, &group)?))
    }

    fn open_sink(
        &self,
        c: &ConnectionRef<'_>,
        options: StageOptions,
        processor_id: &str,
    ) -> Result<Box<dyn Sink>, String> {
        if options.role() != Role::Emit {
            return Err(cannot_play(c, options.role()));
        }
        let opts: KafkaEmitOptions = options.take(c)?;
        Ok(Box::new(KafkaSink::open(&KafkaConnection::from_settings(c.name, c.config)?, opts, processor_id)?))
    }
}
